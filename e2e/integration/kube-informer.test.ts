// src/kube's informer against a real kube-apiserver: list+watch sees creates, updates and deletes (with label and
// field selectors); objects that fail the caller's schema are reported, not cached, never fatal; after the apiserver
// restarts the informer reconnects and converges; a watch from a compacted resourceVersion gets a real 410 and the
// informer relists, swapping in the new content and reporting exactly the differences it missed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { startControlPlane, type ControlPlane, eventually } from '../harness/index.js';
import {
  ConfigMapSchema,
  GoneError,
  createInformer,
  createKubeClient,
  type Informer,
  type KubeClient,
  type ListWatchSource,
  type RawWatchEvent,
} from '../../src/kube/index.js';

/** Compacts etcd's history up to now, as the apiserver does every few minutes. */
async function compactEtcd(cp: ControlPlane): Promise<void> {
  const range = await fetch(`${cp.etcdEndpoint}/v3/kv/range`, {
    method: 'POST',
    body: JSON.stringify({ key: Buffer.from('/').toString('base64') }),
  });
  const { header } = (await range.json()) as { header: { revision: string } };
  const res = await fetch(`${cp.etcdEndpoint}/v3/kv/compaction`, {
    method: 'POST',
    body: JSON.stringify({ revision: header.revision, physical: true }),
  });
  expect(res.status).toBe(200);
}

/** Passes calls through, but can cut the watch and hold reconnects (a network partition between us and the server). */
function partitionable(inner: ListWatchSource) {
  let gate: Promise<void> | undefined;
  let release = (): void => undefined;
  const cuts = new Set<AbortController>();
  const source: ListWatchSource = {
    description: inner.description,
    list: async (o) => {
      if (gate) await gate;
      return inner.list(o);
    },
    watch: async (o, onEvent) => {
      if (gate) await gate;
      const cut = new AbortController();
      cuts.add(cut);
      try {
        await inner.watch({ ...o, signal: AbortSignal.any([o.signal, cut.signal]) }, onEvent);
        if (cut.signal.aborted) throw new Error('partitioned');
      } finally {
        cuts.delete(cut);
      }
    },
  };
  return {
    source,
    partition() {
      gate = new Promise((r) => (release = r));
      for (const c of cuts) c.abort();
    },
    heal() {
      gate = undefined;
      release();
    },
  };
}

const FAST = { backoff: { initialMs: 100, maxMs: 1000, factor: 2, jitter: 0.2 } };
const names = <T extends { metadata: { name: string } }>(inf: Informer<T>): string[] =>
  inf.store.list().map((c) => c.metadata.name);

describe('informer against a real apiserver', () => {
  let cp: ControlPlane;
  let client: KubeClient;
  const informers: { stop(): Promise<void> }[] = [];

  beforeAll(async () => {
    cp = await startControlPlane({ name: 'kube-informer', controllerManager: false });
    client = createKubeClient({ source: { kubeconfigPath: cp.kubeconfigPath } });
    for (const ns of ['watch', 'bad', 'restart', 'relist'])
      expect((await cp.kubectl(['create', 'namespace', ns])).code).toBe(0);
  });

  afterAll(async () => {
    for (const i of informers) await i.stop();
    client?.close();
    await cp?.stop();
  });

  it('lists, then follows creates, updates and deletes, honouring label and field selectors', async () => {
    const cms = client.configMaps();
    await cms.create({ metadata: { name: 'pre', namespace: 'watch', labels: { app: 'tabby' } }, data: { v: '0' } });
    await cms.create({ metadata: { name: 'other', namespace: 'watch', labels: { app: 'else' } } });
    const events: string[] = [];
    const inf = createInformer({
      source: cms.listWatch({ namespace: 'watch', labelSelector: 'app=tabby' }),
      schema: ConfigMapSchema,
      kind: 'ConfigMap',
      ...FAST,
      handlers: {
        onAdd: (_o, k) => events.push(`add ${k}`),
        onUpdate: (o, n, k) => events.push(`update ${k} ${o.data?.['v']}->${n.data?.['v']}`),
        onDelete: (_o, k) => events.push(`delete ${k}`),
        onSynced: () => events.push('synced'),
      },
    });
    informers.push(inf);
    const byName = createInformer({
      source: cms.listWatch({ namespace: 'watch', fieldSelector: 'metadata.name=other' }),
      schema: ConfigMapSchema,
      kind: 'ConfigMap',
      ...FAST,
    });
    informers.push(byName);
    inf.start();
    byName.start();
    expect(await inf.waitForSync()).toBe(true);
    expect(await byName.waitForSync()).toBe(true);
    expect(events).toEqual(['add watch/pre', 'synced']);
    expect(names(byName)).toEqual(['other']);

    const pre = await cms.get('pre', { namespace: 'watch' });
    await cms.replace({ ...pre, data: { v: '1' } });
    await cms.create({ metadata: { name: 'new', namespace: 'watch', labels: { app: 'tabby' } } });
    await cms.create({ metadata: { name: 'ignored', namespace: 'watch', labels: { app: 'else' } } });
    await cms.delete('pre', { namespace: 'watch' });
    await eventually('events seen', () => events.length >= 5);
    expect(events).toEqual(['add watch/pre', 'synced', 'update watch/pre 0->1', 'add watch/new', 'delete watch/pre']);
    expect(names(inf)).toEqual(['new']);
    expect(inf.store.get('watch/new')?.metadata.namespace).toBe('watch');
    expect(names(byName)).toEqual(['other']);
  });

  it('reports objects that fail the schema, keeps them out of the cache, and keeps going', async () => {
    const Sized = ConfigMapSchema.extend({
      data: z.looseObject({ size: z.string().regex(/^\d+$/, { error: 'must be digits' }) }),
    });
    const invalid: string[] = [];
    const inf = createInformer({
      source: client.configMaps().listWatch({ namespace: 'bad' }),
      schema: Sized,
      kind: 'ConfigMap',
      ...FAST,
      handlers: {
        onInvalid: (_raw, issues, key) =>
          invalid.push(`${key}: ${issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; ')}`),
      },
    });
    informers.push(inf);
    const cms = client.configMaps();
    await cms.create({ metadata: { name: 'ok', namespace: 'bad' }, data: { size: '3' } });
    await cms.create({ metadata: { name: 'words', namespace: 'bad' }, data: { size: 'three' } });
    inf.start();
    await inf.waitForSync();
    expect(names(inf)).toEqual(['ok']);
    expect(invalid).toEqual(['bad/words: data.size must be digits (got "three")']);

    await cms.create({ metadata: { name: 'empty', namespace: 'bad' } });
    await cms.create({ metadata: { name: 'later', namespace: 'bad' }, data: { size: '7' } });
    await eventually('later cached', () => inf.store.has('bad/later'));
    expect(invalid[1]).toMatch(/^bad\/empty: data /);
    expect(inf.store.invalid('bad/empty')?.issues[0]?.object).toEqual({ kind: 'ConfigMap', name: 'empty' });

    // Fixed by the user: it joins the cache.
    const words = await cms.get('words', { namespace: 'bad' });
    await cms.replace({ ...words, data: { size: '3' } });
    await eventually('fixed object cached', () => inf.store.has('bad/words'));
    expect(inf.store.invalid('bad/words')).toBeUndefined();
    expect(inf.stats()).toMatchObject({ invalid: 1, handlerErrors: 0 });
  });

  it('reconnects after the apiserver restarts and converges on changes made after it', async () => {
    const cms = client.configMaps();
    for (const n of ['r1', 'r2', 'r3']) await cms.create({ metadata: { name: n, namespace: 'restart' } });
    const inf = createInformer({
      source: cms.listWatch({ namespace: 'restart' }),
      schema: ConfigMapSchema,
      kind: 'ConfigMap',
      ...FAST,
    });
    informers.push(inf);
    inf.start();
    await inf.waitForSync();
    expect(names(inf)).toEqual(['r1', 'r2', 'r3']);
    const watchesBefore = inf.stats().watches;

    await cp.restartApiserver();
    await cms.delete('r2', { namespace: 'restart' });
    await cms.create({ metadata: { name: 'r4', namespace: 'restart' } });
    const r1 = await cms.get('r1', { namespace: 'restart' });
    await cms.replace({ ...r1, data: { after: 'restart' } });

    await eventually(
      'converged after restart',
      () => names(inf).join(',') === 'r1,r3,r4' && inf.store.get('restart/r1')?.data?.['after'] === 'restart',
    );
    expect(inf.stats().watches).toBeGreaterThan(watchesBefore);
    expect(inf.stats().errors + inf.stats().gone).toBeGreaterThan(0);
  });

  it('a watch from a compacted resourceVersion gets 410, and the informer relists to what it missed', async () => {
    const cms = client.configMaps();
    for (const n of ['keep', 'change', 'drop'])
      await cms.create({ metadata: { name: n, namespace: 'relist' }, data: { v: '0' } });
    const p = partitionable(cms.listWatch({ namespace: 'relist' }));
    const events: string[] = [];
    const inf = createInformer({
      source: p.source,
      schema: ConfigMapSchema,
      kind: 'ConfigMap',
      ...FAST,
      handlers: {
        onAdd: (_o, k) => events.push(`add ${k}`),
        onUpdate: (_o, _n, k) => events.push(`update ${k}`),
        onDelete: (_o, k) => events.push(`delete ${k}`),
      },
    });
    informers.push(inf);
    inf.start();
    await inf.waitForSync();
    const seenRv = inf.resourceVersion();
    expect(seenRv).toBeDefined();
    events.length = 0;

    // Cut off, the informer misses these changes; then history is compacted and the apiserver's watch cache restarts.
    p.partition();
    await cms.delete('drop', { namespace: 'relist' });
    const change = await cms.get('change', { namespace: 'relist' });
    await cms.replace({ ...change, data: { v: '1' } });
    await cms.create({ metadata: { name: 'born', namespace: 'relist' } });
    await compactEtcd(cp);
    await cp.restartApiserver();

    // The real server answers a watch from the old version with 410 Gone: as the answer, or as an ERROR event.
    const seen: RawWatchEvent[] = [];
    const outcome = await cms
      .listWatch({ namespace: 'relist' })
      .watch({ resourceVersion: seenRv!, timeoutSeconds: 5, signal: AbortSignal.timeout(120_000) }, (e) => seen.push(e))
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    const goneEvent = seen.find((e) => e.type === 'ERROR' && (e.object as { code?: unknown }).code === 410);
    expect(outcome instanceof GoneError || goneEvent !== undefined).toBe(true);
    expect(seen.filter((e) => e.type !== 'ERROR' && e.type !== 'BOOKMARK')).toEqual([]);

    expect(names(inf)).toEqual(['change', 'drop', 'keep']);
    p.heal();
    await eventually('relisted', () => names(inf).join(',') === 'born,change,keep');
    expect(inf.store.get('relist/change')?.data?.['v']).toBe('1');
    expect(inf.stats().gone).toBeGreaterThanOrEqual(1);
    expect(inf.stats().lists).toBe(2);
    expect([...events].sort()).toEqual(['add relist/born', 'delete relist/drop', 'update relist/change']);
  });
});
