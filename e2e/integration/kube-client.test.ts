// src/kube's typed client against a real kube-apiserver: CRUD with compare-and-swap, every typed error class from
// real answers (NotFound, Conflict, AlreadyExists, Invalid with field paths, Forbidden, Transient), schema checks on
// what comes back, merge patch and server-side apply on the status subresource with field managers, paging.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { freePort, startControlPlane, type ControlPlane } from '../harness/index.js';
import {
  AlreadyExistsError,
  ConflictError,
  ForbiddenError,
  InvalidError,
  InvalidObjectError,
  NotFoundError,
  ObjectMetaSchema,
  TransientError,
  clusterResource,
  createKubeClient,
  type KubeClient,
} from '../../src/kube/index.js';

const CRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.kubetest.tabby.dev
spec:
  group: kubetest.tabby.dev
  scope: Cluster
  names: { plural: widgets, singular: widget, kind: Widget }
  versions:
  - name: v1
    served: true
    storage: true
    subresources: { status: {} }
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: { type: integer, minimum: 1 }
          status:
            type: object
            x-kubernetes-preserve-unknown-fields: true
`;

// Stricter than the CRD on purpose: the server accepts size 50, our schema does not.
const WidgetSchema = z.looseObject({
  apiVersion: z.string().optional(),
  kind: z.string().optional(),
  metadata: ObjectMetaSchema,
  spec: z.looseObject({ size: z.number().int().max(10, { error: 'must be at most 10' }) }),
  status: z.record(z.string(), z.unknown()).optional(),
});
type Widget = z.infer<typeof WidgetSchema>;
const WIDGETS = clusterResource('kubetest.tabby.dev', 'v1', 'widgets', 'Widget');

const widget = (name: string, size: number): Widget => ({ metadata: { name }, spec: { size } });

describe('kube client against a real apiserver', () => {
  let cp: ControlPlane;
  let client: KubeClient;

  beforeAll(async () => {
    cp = await startControlPlane({ name: 'kube-client', controllerManager: false });
    expect((await cp.kubectl(['apply', '-f', '-'], { input: CRD })).code).toBe(0);
    expect(
      (await cp.kubectl(['wait', '--for=condition=Established', '--timeout=30s', 'crd/widgets.kubetest.tabby.dev']))
        .code,
    ).toBe(0);
    client = createKubeClient({ source: { kubeconfigPath: cp.kubeconfigPath }, fieldManager: 'kube-client-test' });
  });

  afterAll(async () => {
    client?.close();
    await cp?.stop();
  });

  it('creates, reads, replaces with compare-and-swap, and deletes with preconditions', async () => {
    const widgets = client.resource(WIDGETS, WidgetSchema);
    const created = await widgets.create(widget('w1', 3));
    expect(created.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.kind).toBe('Widget');
    const read = await widgets.get('w1');
    expect(read.spec.size).toBe(3);

    const replaced = await widgets.replace({ ...read, spec: { size: 4 } });
    expect(replaced.spec.size).toBe(4);
    expect(replaced.metadata.resourceVersion).not.toBe(read.metadata.resourceVersion);

    // The same stale resourceVersion again: the server refuses, nothing is overwritten.
    const stale = widgets.replace({ ...read, spec: { size: 9 } });
    await expect(stale).rejects.toBeInstanceOf(ConflictError);
    await expect(stale).rejects.toThrow(
      /replace widgets.kubetest.tabby.dev w1: 409 Conflict: .*the object has been modified/,
    );
    expect((await widgets.get('w1')).spec.size).toBe(4);

    const dup = widgets.create(widget('w1', 1));
    await expect(dup).rejects.toBeInstanceOf(AlreadyExistsError);
    await expect(dup).rejects.toBeInstanceOf(ConflictError);

    await expect(
      widgets.delete('w1', { preconditions: { uid: '00000000-0000-0000-0000-000000000000' } }),
    ).rejects.toBeInstanceOf(ConflictError);
    await expect(
      widgets.delete('w1', { preconditions: { resourceVersion: read.metadata.resourceVersion! } }),
    ).rejects.toBeInstanceOf(ConflictError);
    await widgets.delete('w1', {
      preconditions: { uid: created.metadata.uid!, resourceVersion: replaced.metadata.resourceVersion! },
    });
    const gone = widgets.get('w1');
    await expect(gone).rejects.toBeInstanceOf(NotFoundError);
    await expect(gone).rejects.toThrow(
      'get widgets.kubetest.tabby.dev w1: 404 NotFound: widgets.kubetest.tabby.dev "w1" not found',
    );
  });

  it('reports the server’s validation causes as field paths and issues', async () => {
    const widgets = client.resource(WIDGETS, WidgetSchema);
    const err = await widgets.create(widget('tiny', 0)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidError);
    const inv = err as InvalidError;
    expect(inv.status).toBe(422);
    expect(inv.fieldPaths()).toEqual(['spec.size']);
    expect(inv.issues({ kind: 'Widget', name: 'tiny' })).toEqual([
      {
        code: 'FieldValueInvalid',
        object: { kind: 'Widget', name: 'tiny' },
        path: ['spec', 'size'],
        message: 'Invalid value: 0: spec.size in body should be greater than or equal to 1',
      },
    ]);
  });

  it('parses what the server returns: an object our schema rejects is an InvalidObjectError, and a list keeps the rest', async () => {
    expect(
      (
        await cp.kubectl(['apply', '-f', '-'], {
          input: 'apiVersion: kubetest.tabby.dev/v1\nkind: Widget\nmetadata: { name: big }\nspec: { size: 50 }\n',
        })
      ).code,
    ).toBe(0);
    expect(
      (
        await cp.kubectl(['apply', '-f', '-'], {
          input: 'apiVersion: kubetest.tabby.dev/v1\nkind: Widget\nmetadata: { name: fine }\nspec: { size: 5 }\n',
        })
      ).code,
    ).toBe(0);
    const widgets = client.resource(WIDGETS, WidgetSchema);
    const err = await widgets.get('big').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidObjectError);
    expect((err as InvalidObjectError).issues).toEqual([
      {
        code: 'too_big',
        object: { kind: 'Widget', name: 'big' },
        path: ['spec', 'size'],
        message: 'must be at most 10 (got 50)',
      },
    ]);
    const list = await widgets.list();
    expect(list.items.map((w) => w.metadata.name)).toEqual(['fine']);
    expect(list.invalid.map((i) => [i.key, i.issues[0]?.message])).toEqual([['big', 'must be at most 10 (got 50)']]);
    expect(Number(list.resourceVersion)).toBeGreaterThan(0);
    // Untyped access still sees both.
    expect((await client.resource(WIDGETS).list()).items.map((w) => w.metadata.name)).toEqual(['big', 'fine']);
  });

  it('writes status by merge patch and by server-side apply, each under its own field manager', async () => {
    const widgets = client.resource(WIDGETS, WidgetSchema);
    await widgets.create(widget('st', 2));
    let bytes = 0;
    const merged = await widgets.patchStatus(
      'st',
      { phase: 'Ready', note: 'hi' },
      { fieldManager: 'merger', onRequestBytes: (n) => (bytes = n) },
    );
    expect(merged.status).toEqual({ phase: 'Ready', note: 'hi' });
    expect(bytes).toBe(Buffer.byteLength(JSON.stringify({ status: { phase: 'Ready', note: 'hi' } })));

    const applied = await widgets.applyStatus('st', { observedSize: 2 }, { fieldManager: 'tabby-operator' });
    expect(applied.status).toEqual({ phase: 'Ready', note: 'hi', observedSize: 2 });
    // Status writes never touch the spec.
    expect(applied.spec.size).toBe(2);
    const raw = (await client.resource(WIDGETS).get('st')) as {
      metadata: { managedFields?: { manager: string; subresource?: string }[] };
    };
    const managers = (raw.metadata.managedFields ?? [])
      .filter((f) => f.subresource === 'status')
      .map((f) => f.manager)
      .sort();
    expect(managers).toEqual(['merger', 'tabby-operator']);

    // Applying a field another manager owns conflicts unless forced.
    const conflict = widgets.applyStatus('st', { phase: 'Mine' }, { fieldManager: 'tabby-operator', force: false });
    await expect(conflict).rejects.toBeInstanceOf(ConflictError);
    const forced = await widgets.applyStatus(
      'st',
      { observedSize: 2, phase: 'Mine' },
      { fieldManager: 'tabby-operator' },
    );
    expect(forced.status?.['phase']).toBe('Mine');

    // Apply drops what this manager no longer sends.
    const dropped = await widgets.applyStatus('st', { phase: 'Mine' }, { fieldManager: 'tabby-operator' });
    expect(dropped.status).toEqual({ phase: 'Mine', note: 'hi' });

    // Server-side apply and a merge patch on the object itself.
    const a = await widgets.apply({ metadata: { name: 'st', labels: { team: 'net' } } }, { fieldManager: 'labeller' });
    expect(a.metadata.labels).toEqual({ team: 'net' });
    const p = await widgets.mergePatch('st', { metadata: { labels: { team: null } } });
    expect(p.metadata.labels).toBeUndefined();
  });

  it('lists page by page, or everything at once', async () => {
    const cms = client.configMaps();
    expect((await cp.kubectl(['create', 'namespace', 'paging'])).code).toBe(0);
    for (let i = 0; i < 5; i++)
      await cms.create({ metadata: { name: `cm-${i}`, namespace: 'paging' }, data: { i: String(i) } });
    const first = await cms.list({ namespace: 'paging', limit: 2 });
    expect(first.items.map((c) => c.metadata.name)).toEqual(['cm-0', 'cm-1']);
    expect(first.continueToken).toBeTruthy();
    const second = await cms.list({ namespace: 'paging', limit: 2, continueToken: first.continueToken! });
    expect(second.items.map((c) => c.metadata.name)).toEqual(['cm-2', 'cm-3']);
    const all = await cms.list({ namespace: 'paging' });
    expect(all.items.length).toBe(5);
    expect(all.continueToken).toBeUndefined();
    const selected = await cms.list({ namespace: 'paging', fieldSelector: 'metadata.name=cm-3' });
    expect(selected.items.map((c) => c.data?.['i'])).toEqual(['3']);
  });

  it('typed helpers for built-in kinds: Nodes, Secrets, Leases', async () => {
    const node = await client.nodes().create({
      metadata: { name: 'node-1', annotations: { 'projectcalico.org/IPv4Address': '192.168.0.11/24' } },
      status: { addresses: [{ type: 'InternalIP', address: '192.168.0.11' }] },
    });
    expect(node.metadata.annotations?.['projectcalico.org/IPv4Address']).toBe('192.168.0.11/24');
    expect((await client.nodes().list()).items.map((n) => n.metadata.name)).toContain('node-1');

    const secret = await client
      .secrets()
      .create({ metadata: { name: 'bgp-pw', namespace: 'default' }, stringData: { password: 's3cret' } });
    expect(Buffer.from(secret.data?.['password'] ?? '', 'base64').toString()).toBe('s3cret');

    const lease = await client.leases().create({
      metadata: { name: 'l1', namespace: 'default' },
      spec: { holderIdentity: 'me', leaseDurationSeconds: 10 },
    });
    expect(lease.spec?.holderIdentity).toBe('me');
  });

  it('an identity without RBAC gets ForbiddenError', async () => {
    const kubeconfigPath = await cp.kubeconfigForUser('nobody', []);
    const denied = createKubeClient({ source: { kubeconfigPath } });
    try {
      const err = await denied
        .nodes()
        .list()
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ForbiddenError);
      expect((err as ForbiddenError).status).toBe(403);
      expect((err as ForbiddenError).message).toContain('User "nobody" cannot list resource "nodes"');
    } finally {
      denied.close();
    }
  });

  it('no server at the address: TransientError', async () => {
    const port = await freePort();
    const yaml = `apiVersion: v1
kind: Config
clusters: [{ name: c, cluster: { server: "https://127.0.0.1:${port}", certificate-authority: "${cp.caCertPath}" } }]
users: [{ name: u, user: { token: x } }]
contexts: [{ name: ctx, context: { cluster: c, user: u } }]
current-context: ctx
`;
    const dead = createKubeClient({ source: { kubeconfigYaml: yaml } });
    try {
      const err = await dead
        .nodes()
        .get('x')
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TransientError);
      expect((err as TransientError).reason).toBe('ECONNREFUSED');
    } finally {
      dead.close();
    }
  });
});
