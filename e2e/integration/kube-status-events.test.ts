// Status writers and Events against a real kube-apiserver: identical content is written once (counted on our side
// and confirmed by the object's resourceVersion not moving), another manager's fields never cause a rewrite, a
// restarted writer reading the cache does not churn, server-side apply leaves each manager owning its own fields;
// Events are created for the regarding object and repeats fold into one Event's series (as `kubectl` shows it).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { startControlPlane, type ControlPlane, eventually } from '../harness/index.js';
import {
  ObjectMetaSchema,
  clusterResource,
  createEventRecorder,
  createInformer,
  createKubeClient,
  createStatusWriter,
  type Informer,
  type KubeClient,
} from '../../src/kube/index.js';

const CRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: gadgets.kubetest.tabby.dev
spec:
  group: kubetest.tabby.dev
  scope: Cluster
  names: { plural: gadgets, singular: gadget, kind: Gadget }
  versions:
  - name: v1
    served: true
    storage: true
    subresources: { status: {} }
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec: { type: object, x-kubernetes-preserve-unknown-fields: true }
          status:
            type: object
            properties:
              desired: { type: object, x-kubernetes-preserve-unknown-fields: true }
              applied: { type: object, x-kubernetes-preserve-unknown-fields: true }
              conditions:
                type: array
                x-kubernetes-list-type: map
                x-kubernetes-list-map-keys: [type]
                items:
                  type: object
                  required: [type, status]
                  properties:
                    type: { type: string }
                    status: { type: string }
                    reason: { type: string }
`;

const GadgetSchema = z.looseObject({
  metadata: ObjectMetaSchema,
  spec: z.record(z.string(), z.unknown()).optional(),
  status: z.record(z.string(), z.unknown()).optional(),
});
const GADGETS = clusterResource('kubetest.tabby.dev', 'v1', 'gadgets', 'Gadget');

describe('status writer and events against a real apiserver', () => {
  let cp: ControlPlane;
  let client: KubeClient;
  let cache: Informer<z.infer<typeof GadgetSchema>>;

  beforeAll(async () => {
    cp = await startControlPlane({ name: 'kube-status', controllerManager: false });
    expect((await cp.kubectl(['apply', '-f', '-'], { input: CRD })).code).toBe(0);
    expect(
      (await cp.kubectl(['wait', '--for=condition=Established', '--timeout=30s', 'crd/gadgets.kubetest.tabby.dev']))
        .code,
    ).toBe(0);
    client = createKubeClient({ source: { kubeconfigPath: cp.kubeconfigPath } });
    const gadgets = client.resource(GADGETS, GadgetSchema);
    cache = createInformer({ source: gadgets.listWatch(), schema: GadgetSchema, kind: 'Gadget' });
    cache.start();
    await cache.waitForSync();
  });

  afterAll(async () => {
    await cache?.stop();
    client?.close();
    await cp?.stop();
  });

  it('writes identical content once, whoever else writes the status, and a restarted writer does not churn', async () => {
    const gadgets = client.resource(GADGETS, GadgetSchema);
    const created = await gadgets.create({ metadata: { name: 'g1' }, spec: {} });
    await eventually('cached', () => cache.store.has('g1'));
    const operator = createStatusWriter({
      resource: gadgets,
      fieldManager: 'tabby-operator',
      mapLists: { conditions: ['type'] },
    });
    const desired = {
      desired: { revision: 'r1', blocks: ['10.0.0.0/26', '10.0.0.64/26'] },
      conditions: [{ type: 'Planned', status: 'True', reason: 'Planned' }],
    };

    const first = await operator.write({ name: 'g1' }, desired, cache.store.get('g1'));
    expect(first.written).toBe(true);
    expect(first.bytes).toBeGreaterThan(0);
    expect(first.resourceVersion).not.toBe(created.metadata.resourceVersion);

    // Ten more reconciles with the same content, reading whatever the cache holds at the time: no writes.
    for (let i = 0; i < 10; i++) {
      expect((await operator.write({ name: 'g1' }, desired, cache.store.get('g1'))).written).toBe(false);
    }
    await eventually(
      'cache caught up',
      () => cache.store.get('g1')?.metadata.resourceVersion === first.resourceVersion,
    );
    expect((await operator.write({ name: 'g1' }, desired, cache.store.get('g1'))).written).toBe(false);
    expect((await gadgets.get('g1')).metadata.resourceVersion).toBe(first.resourceVersion);

    // The agent writes its own part of the status (and its own condition): the operator's content is still there.
    const agent = createStatusWriter({
      resource: gadgets,
      fieldManager: 'tabby-agent',
      mapLists: { conditions: ['type'] },
    });
    const agentWrite = await agent.write(
      { name: 'g1' },
      { applied: { revision: 'r1' }, conditions: [{ type: 'Programmed', status: 'True', reason: 'Applied' }] },
      cache.store.get('g1'),
    );
    expect(agentWrite.written).toBe(true);
    await eventually(
      'agent write cached',
      () => cache.store.get('g1')?.metadata.resourceVersion === agentWrite.resourceVersion,
    );
    expect((await operator.write({ name: 'g1' }, desired, cache.store.get('g1'))).written).toBe(false);

    // A fresh writer (the operator restarted) decides from the cache alone: still nothing to write.
    const restarted = createStatusWriter({
      resource: gadgets,
      fieldManager: 'tabby-operator',
      mapLists: { conditions: ['type'] },
    });
    expect((await restarted.write({ name: 'g1' }, desired, cache.store.get('g1'))).written).toBe(false);
    expect((await gadgets.get('g1')).metadata.resourceVersion).toBe(agentWrite.resourceVersion);

    const live = (await gadgets.get('g1')) as {
      status?: Record<string, unknown>;
      metadata: { managedFields?: { manager: string; subresource?: string; fieldsV1?: Record<string, unknown> }[] };
    };
    expect(live.status).toEqual({
      desired: desired.desired,
      applied: { revision: 'r1' },
      conditions: [
        { type: 'Planned', status: 'True', reason: 'Planned' },
        { type: 'Programmed', status: 'True', reason: 'Applied' },
      ],
    });
    const owned = (manager: string): string =>
      JSON.stringify(
        live.metadata.managedFields?.find((f) => f.manager === manager && f.subresource === 'status')?.fieldsV1 ?? {},
      );
    expect(owned('tabby-operator')).toContain('"f:desired"');
    expect(owned('tabby-operator')).not.toContain('"f:applied"');
    expect(owned('tabby-agent')).toContain('"f:applied"');

    // New content is written, once.
    const next = { ...desired, desired: { revision: 'r2', blocks: ['10.0.0.0/26'] } };
    expect((await operator.write({ name: 'g1' }, next, cache.store.get('g1'))).written).toBe(true);
    expect((await operator.write({ name: 'g1' }, next, cache.store.get('g1'))).written).toBe(false);
    expect(operator.stats()).toMatchObject({ writes: 2, failures: 0 });
    expect(operator.stats().skipped).toBe(13);
    expect(((await gadgets.get('g1')).status?.['desired'] as { blocks: string[] }).blocks).toEqual(['10.0.0.0/26']);
  });

  it('a merge-patch writer also writes identical content only once', async () => {
    const gadgets = client.resource(GADGETS, GadgetSchema);
    await gadgets.create({ metadata: { name: 'g2' }, spec: {} });
    const writer = createStatusWriter({ resource: gadgets, fieldManager: 'tabby-ipam', strategy: 'merge' });
    const usage = { desired: { allocated: 12, total: 256 } };
    const results = [];
    for (let i = 0; i < 5; i++) results.push((await writer.write({ name: 'g2' }, usage)).written);
    expect(results).toEqual([true, false, false, false, false]);
    expect(writer.stats()).toMatchObject({ writes: 1, skipped: 4 });
    expect((await gadgets.get('g2')).status).toEqual(usage);
  });

  it('creates Events about an object and folds repeats into one series', async () => {
    const gadgets = client.resource(GADGETS, GadgetSchema);
    const g = await gadgets.create({ metadata: { name: 'pool-a' }, spec: {} });
    const recorder = createEventRecorder({
      events: client.events(),
      reportingController: 'tabby.dev/operator',
      reportingInstance: 'operator-0',
    });
    const regarding = { apiVersion: 'kubetest.tabby.dev/v1', kind: 'Gadget', name: 'pool-a', uid: g.metadata.uid! };
    const overlap = {
      regarding,
      type: 'Warning' as const,
      reason: 'Overlap',
      action: 'Validate',
      note: 'IPPool pool-a: spec.cidr: overlaps IPPool pool-b (10.0.0.0/16)',
    };
    recorder.record(overlap);
    await recorder.flush();
    recorder.record(overlap);
    recorder.record(overlap);
    recorder.record({ ...overlap, type: 'Normal', reason: 'Valid', note: 'IPPool pool-a is valid' });
    await recorder.flush();
    expect(recorder.stats()).toEqual({ created: 2, seriesUpdates: 1, failed: 0, rateLimited: 0 });

    const events = (await client.events().list({ namespace: 'default' })).items.filter(
      (e) => e.regarding?.name === 'pool-a',
    );
    expect(events.map((e) => [e.reason, e.type, e.series?.count ?? 1, e.reportingController]).sort()).toEqual([
      ['Overlap', 'Warning', 3, 'tabby.dev/operator'],
      ['Valid', 'Normal', 1, 'tabby.dev/operator'],
    ]);
    const overlapEvent = events.find((e) => e.reason === 'Overlap');
    expect(overlapEvent?.note).toBe(overlap.note);
    expect(overlapEvent?.regarding).toMatchObject({ kind: 'Gadget', name: 'pool-a', uid: g.metadata.uid });

    // The core/v1 view (what `kubectl describe` reads) shows the same, with the series count (`x3`).
    const core = await cp.kubectl([
      'get',
      'events',
      '-n',
      'default',
      '--field-selector',
      'involvedObject.name=pool-a,reason=Overlap',
      '-o',
      'json',
    ]);
    const items = (
      JSON.parse(core.stdout) as { items: { message: string; series?: { count: number }; type: string }[] }
    ).items;
    expect(items.map((i) => [i.type, i.message, i.series?.count])).toEqual([['Warning', overlap.note, 3]]);
  });
});
