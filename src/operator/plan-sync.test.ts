// PlanSync against real informer caches fed by fake list+watch sources, with a recording fake apiserver at the I/O
// edge: what a pass writes when the caches lag behind this term's own writes. The apiserver fake keeps each object's
// versions (generation 1 on create, resourceVersions that grow, status writes merged as server-side apply merges them:
// conditions by type), so the test can hand the caches exactly what a watch would have delivered, when it chooses.
import { afterEach, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import type { KindDefinition } from '../api/index.js';
import type { Condition } from '../api/common.js';
import {
  AlreadyExistsError,
  NODES,
  NodeSchema,
  PODS,
  PodSchema,
  kindResource,
  type KubeClient,
  type ResourceType,
} from '../kube/index.js';
import { FakeClock, flushPromises } from '../kube/test-support/fake-clock.js';
import { FakeListWatch } from '../kube/test-support/fake-list-watch.js';
import { silentLogger } from '../log/logger.js';
import { createClusterCaches } from './caches.js';
import { PlanInputs, isPlanCache } from './plan-inputs.js';
import { createPlanSync } from './plan-sync.js';

type Obj = Record<string, unknown> & { metadata: Record<string, unknown> & { name: string } };

/** One kind on the fake apiserver: its objects, every version in order (for the watch), and its list+watch source. */
interface FakeKind {
  source: FakeListWatch;
  objects: Map<string, Obj>;
  versions: Obj[];
  delivered: number;
  rv: number;
}

function fakeApiserver() {
  const kinds = new Map<string, FakeKind>();
  /** Every write request, as `verb Kind/name`. */
  const requests: string[] = [];
  /** The status bodies applied, per `Kind/name`, in order. */
  const applied = new Map<string, Record<string, unknown>[]>();
  const kindOf = (kind: string): FakeKind => {
    const k = kinds.get(kind) ?? { source: new FakeListWatch(), objects: new Map(), versions: [], delivered: 0, rv: 0 };
    kinds.set(kind, k);
    return k;
  };
  const store = (k: FakeKind, obj: Obj): Obj => {
    const stored = { ...obj, metadata: { ...obj.metadata, resourceVersion: String(++k.rv) } };
    k.objects.set(obj.metadata.name, stored);
    k.versions.push(stored);
    return stored;
  };
  const resource = (type: ResourceType, schema: z.ZodType) => {
    const k = kindOf(type.kind);
    return {
      type,
      schema,
      listWatch: () => k.source,
      create: (obj: Obj) => {
        const name = obj.metadata.name;
        requests.push(`create ${type.kind}/${name}`);
        if (k.objects.has(name)) {
          return Promise.reject(
            new AlreadyExistsError({
              status: 409,
              reason: 'AlreadyExists',
              serverMessage: `${type.plural} "${name}" already exists`,
              target: { verb: 'create', resource: type.plural, name },
            }),
          );
        }
        return Promise.resolve(
          schema.parse(store(k, { ...obj, metadata: { ...obj.metadata, uid: `uid-${name}`, generation: 1 } })),
        );
      },
      applyStatus: (name: string, status: Record<string, unknown>) => {
        requests.push(`applyStatus ${type.kind}/${name}`);
        applied.set(`${type.kind}/${name}`, [...(applied.get(`${type.kind}/${name}`) ?? []), status]);
        const cur = k.objects.get(name);
        if (!cur) return Promise.reject(new Error(`applyStatus: no ${type.kind} ${name}`));
        // Server-side apply on /status: a status write leaves the generation alone; conditions merge by type.
        const before = (cur['status'] ?? {}) as Record<string, unknown>;
        const mine = (status['conditions'] ?? []) as Condition[];
        const others = ((before['conditions'] ?? []) as Condition[]).filter(
          (c) => !mine.some((m) => m.type === c.type),
        );
        const merged = { ...before, ...status, ...(status['conditions'] ? { conditions: [...others, ...mine] } : {}) };
        return Promise.resolve(schema.parse(store(k, { ...cur, status: merged })));
      },
      delete: (name: string) => {
        requests.push(`delete ${type.kind}/${name}`);
        return Promise.reject(new Error('delete: not expected in this test'));
      },
    };
  };
  const client = {
    server: 'fake',
    namespace: undefined,
    kind: (d: KindDefinition) => resource(kindResource(d), d.schema),
    resource: (type: ResourceType, schema: z.ZodType) => resource(type, schema),
    nodes: () => resource(NODES, NodeSchema),
    pods: () => resource(PODS, PodSchema),
    close: () => undefined,
  } as unknown as KubeClient;
  return {
    client,
    requests,
    applied,
    source: (kind: string) => kindOf(kind).source,
    /** Hands every version the caches have not seen to their watches, in order, as the apiserver would. */
    deliver(): void {
      for (const k of kinds.values()) {
        for (const v of k.versions.slice(k.delivered)) expect(k.source.put(v)).toBe(v.metadata.resourceVersion);
        k.delivered = k.versions.length;
      }
    },
  };
}

async function until(what: string, cond: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !cond(); i++) await flushPromises(1);
  if (!cond()) throw new Error(`never happened: ${what}`);
}

const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
});

async function setup() {
  const api = fakeApiserver();
  const clock = new FakeClock(Date.parse('2026-01-01T00:00:00Z'));
  const caches = createClusterCaches({
    client: api.client,
    logger: silentLogger(),
    // As the operator wires it: a plan input's event becomes a pending plan change.
    onChange: (e) => {
      if (isPlanCache(e.cache) && e.type !== 'invalid') inputs.observe(e.cache, e.key);
    },
  });
  const inputs = new PlanInputs(caches);
  for (const i of caches.all) i.start();
  stops.push(async () => {
    for (const i of caches.all) await i.stop();
  });
  await Promise.all(caches.all.map((i) => i.waitForSync()));
  const sync = createPlanSync({ client: api.client, caches, inputs, logger: silentLogger(), now: () => clock.now() });
  return { api, clock, caches, sync };
}

/** One pool and one Node n1 on the apiserver, and in the caches. */
async function seedNodeAndPool(
  api: ReturnType<typeof fakeApiserver>,
  caches: Awaited<ReturnType<typeof setup>>['caches'],
): Promise<void> {
  api.source('IPPool').put({
    apiVersion: 'projectcalico.org/v3',
    kind: 'IPPool',
    metadata: { name: 'pool-a' },
    spec: { cidr: '10.244.0.0/16' },
  });
  api.source('Node').put({
    metadata: { name: 'n1', uid: 'uid-node-n1', annotations: { 'projectcalico.org/IPv4Address': '172.18.0.2/16' } },
    status: { addresses: [{ type: 'InternalIP', address: '172.18.0.2' }] },
  });
  await until('node and pool cached', () => caches.nodes.store.has('n1') && caches.ippools.store.has('pool-a'));
}

describe('plan sync', () => {
  it('a pass that runs before the cache shows its created NodeDataplane keeps the Planned condition, so the drift check writes nothing', async () => {
    const { api, clock, caches, sync } = await setup();
    const t0 = new Date(clock.now()).toISOString();
    await seedNodeAndPool(api, caches);

    // The term's start pass: no NodeDataplane yet, so it is created (generation 1) and its status written.
    await sync.full('start');
    expect(api.requests.filter((r) => r.endsWith('NodeDataplane/n1'))).toEqual([
      'create NodeDataplane/n1',
      'applyStatus NodeDataplane/n1',
    ]);
    const [first] = api.applied.get('NodeDataplane/n1') ?? [];
    expect(first?.['conditions']).toMatchObject([{ type: 'Planned', lastTransitionTime: t0, observedGeneration: 1 }]);

    // 90 ms later IPAM's first claim gives n1 a block; the plan pass runs before the cache has seen the dataplane.
    await clock.advance(90);
    api.source('IPAMBlock').put({
      apiVersion: 'projectcalico.org/v3',
      kind: 'IPAMBlock',
      metadata: { name: '10-244-1-0-26' },
      spec: {
        cidr: '10.244.1.0/26',
        affinity: 'host:n1',
        allocations: Array.from({ length: 64 }, () => null),
        unallocated: Array.from({ length: 64 }, (_, i) => i),
        attributes: [],
      },
    });
    await until('block cached', () => caches.ipamBlocks.store.has('10-244-1-0-26'));
    expect(caches.nodeDataplanes.store.has('n1')).toBe(false);
    const before = api.requests.length;
    await sync.run();
    // The dataplane this term created is not created again (that would only earn an AlreadyExists).
    expect(api.requests.slice(before).filter((r) => r.endsWith('NodeDataplane/n1'))).toEqual([
      'applyStatus NodeDataplane/n1',
    ]);
    const [, second] = api.applied.get('NodeDataplane/n1') ?? [];
    const secondPlanned = (second?.['conditions'] as Condition[] | undefined)?.find((c) => c.type === 'Planned');

    // The watch catches up with everything written; a minute later the drift check runs in a converged cluster.
    api.deliver();
    await until('outputs cached as written', () =>
      (['nodeDataplanes', 'routeTables'] as const).every(
        (c) =>
          caches[c].resourceVersion() ===
          api.source(c === 'nodeDataplanes' ? 'NodeDataplane' : 'RouteTable').resourceVersion,
      ),
    );
    await clock.advance(60_000);
    const atDrift = api.requests.length;
    await sync.full('drift');
    expect(api.requests.slice(atDrift)).toEqual([]);

    // Hand-derived: the condition stayed True throughout, so (metav1.Condition) its lastTransitionTime is the start
    // pass's; the dataplane this term created is at generation 1, which the condition says it observed.
    expect(secondPlanned).toEqual({
      type: 'Planned',
      status: 'True',
      reason: 'Planned',
      message: expect.stringContaining('1 own block(s)') as unknown,
      lastTransitionTime: t0,
      observedGeneration: 1,
    });
  });

  it("forgets what it created at the object's next cache event: a dataplane deleted before the cache showed it is created again", async () => {
    const { api, caches, sync } = await setup();
    await seedNodeAndPool(api, caches);
    await sync.full('start');
    const creates = () => api.requests.filter((r) => r === 'create NodeDataplane/n1').length;
    expect(creates()).toBe(1);
    // A delete event for it (the operator calls outputChanged for every NodeDataplane event): the pass creates it again.
    expect(sync.outputChanged('nodeDataplanes', 'n1')).toBe(true);
    await sync.run();
    expect(creates()).toBe(2);
  });
});
