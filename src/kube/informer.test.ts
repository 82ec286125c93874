import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { FakeClock, flushPromises } from './test-support/fake-clock.js';
import { FakeListWatch } from './test-support/fake-list-watch.js';
import { createInformer, type InformerHandler } from './informer.js';
import { ObjectMetaSchema } from './object-meta.js';

const PoolSchema = z.looseObject({
  metadata: ObjectMetaSchema,
  spec: z.looseObject({
    cidr: z.string().regex(/^\d+\.\d+\.\d+\.\d+\/\d+$/, { error: 'must be a CIDR' }),
    node: z.string().optional(),
  }),
});
type Pool = z.infer<typeof PoolSchema>;

const pool = (name: string, cidr: string, node = 'n1') => ({ metadata: { name }, spec: { cidr, node } });

function setup(opts: { resyncPeriodMs?: number; keepLastValid?: boolean; stripManagedFields?: boolean } = {}) {
  const src = new FakeListWatch();
  const clock = new FakeClock(0);
  const log: string[] = [];
  const handler: InformerHandler<Pool> = {
    onAdd: (o, k) => log.push(`add ${k} ${o.spec.cidr}`),
    onUpdate: (o, n, k) => log.push(`update ${k} ${o.spec.cidr}->${n.spec.cidr}`),
    onDelete: (o, k) => log.push(`delete ${k}${o ? '' : ' (was invalid)'}`),
    onInvalid: (_raw, issues, k) =>
      log.push(`invalid ${k} ${issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`),
    onSynced: () => log.push('synced'),
    onResync: (objs) => log.push(`resync ${objs.length}`),
  };
  const inf = createInformer<Pool>({
    source: src,
    schema: PoolSchema,
    kind: 'IPPool',
    indexes: { byNode: (p) => (p.spec.node ? [p.spec.node] : []) },
    handlers: handler,
    clock,
    random: () => 0.5,
    backoff: { initialMs: 100, maxMs: 1000, factor: 2, jitter: 0 },
    ...(opts.resyncPeriodMs ? { resyncPeriodMs: opts.resyncPeriodMs } : {}),
    ...(opts.keepLastValid ? { keepLastValid: true } : {}),
    ...(opts.stripManagedFields ? { stripManagedFields: true } : {}),
  });
  return { src, clock, log, inf };
}

describe('informer', () => {
  it('fills the store from the first list, then reports synced; later events update it', async () => {
    const { src, log, inf } = setup();
    src.put(pool('a', '10.0.0.0/24'));
    src.put(pool('b', '10.0.1.0/24', 'n2'));
    expect(inf.hasSynced()).toBe(false);
    inf.start();
    expect(await inf.waitForSync()).toBe(true);
    expect(log).toEqual(['add a 10.0.0.0/24', 'add b 10.0.1.0/24', 'synced']);
    expect(inf.store.keys()).toEqual(['a', 'b']);
    expect(inf.store.byIndex('byNode', 'n2').map((p) => p.metadata.name)).toEqual(['b']);

    src.put(pool('a', '10.0.2.0/24', 'n2'));
    src.remove('b');
    src.put(pool('c', '10.0.3.0/24'));
    await flushPromises();
    expect(log.slice(3)).toEqual(['update a 10.0.0.0/24->10.0.2.0/24', 'delete b', 'add c 10.0.3.0/24']);
    expect(inf.store.keysByIndex('byNode', 'n2')).toEqual(['a']);
    expect(inf.resourceVersion()).toBe(src.resourceVersion);
    await inf.stop();
  });

  it('keeps an invalid object out of the typed cache, reports it with its issues, and takes it back once fixed', async () => {
    const { src, log, inf } = setup();
    src.put(pool('good', '10.0.0.0/24'));
    src.put(pool('bad', 'not-a-cidr'));
    inf.start();
    await inf.waitForSync();
    expect(log).toEqual(['add good 10.0.0.0/24', 'invalid bad spec.cidr: must be a CIDR (got "not-a-cidr")', 'synced']);
    expect(inf.store.get('bad')).toBeUndefined();
    expect(inf.store.invalid('bad')?.issues[0]).toMatchObject({
      object: { kind: 'IPPool', name: 'bad' },
      path: ['spec', 'cidr'],
    });
    expect(inf.stats().invalid).toBe(1);

    src.put(pool('good', 'broken'));
    await flushPromises();
    expect(inf.store.get('good')).toBeUndefined();
    expect(inf.store.invalid('good')).toBeDefined();
    src.put(pool('bad', '10.9.0.0/16'));
    await flushPromises();
    expect(inf.store.get('bad')?.spec.cidr).toBe('10.9.0.0/16');
    src.remove('good');
    await flushPromises();
    expect(log.slice(3)).toEqual([
      'invalid good spec.cidr: must be a CIDR (got "broken")',
      'add bad 10.9.0.0/16',
      'delete good (was invalid)',
    ]);
    expect(inf.stats().invalid).toBe(0);
    await inf.stop();
  });

  it('stripManagedFields: cached objects (listed, watched, invalid) come without managedFields, the rest intact', async () => {
    const managed = [{ manager: 'kubectl', operation: 'Update', fieldsV1: { 'f:spec': {} } }];
    const withManaged = (name: string, cidr: string) => {
      const p = pool(name, cidr);
      return { ...p, metadata: { ...p.metadata, labels: { a: 'b' }, managedFields: managed } };
    };
    const { src, inf } = setup({ stripManagedFields: true });
    const listed = withManaged('a', '10.0.0.0/24');
    src.put(listed);
    inf.start();
    await inf.waitForSync();
    src.put(withManaged('b', '10.0.1.0/24'));
    src.put(withManaged('c', 'not-a-cidr'));
    await flushPromises();
    for (const name of ['a', 'b']) {
      expect(inf.store.get(name)?.metadata).toEqual({ name, labels: { a: 'b' }, resourceVersion: expect.any(String) });
    }
    expect(inf.store.get('b')?.spec).toEqual({ cidr: '10.0.1.0/24', node: 'n1' });
    expect((inf.store.invalid('c')?.raw as { metadata: object }).metadata).not.toHaveProperty('managedFields');
    // Without the option they are kept as the server sent them.
    const plain = setup();
    plain.src.put(withManaged('a', '10.0.0.0/24'));
    plain.inf.start();
    await plain.inf.waitForSync();
    expect(plain.inf.store.get('a')?.metadata).toHaveProperty('managedFields', managed);
    await inf.stop();
    await plain.inf.stop();
  });

  it('keepLastValid: a bad edit is reported while the last valid version stays, across relists, until fixed or deleted', async () => {
    const { src, clock, log, inf } = setup({ keepLastValid: true });
    src.put(pool('good', '10.0.0.0/24'));
    src.put(pool('new-bad', 'nope'));
    inf.start();
    await inf.waitForSync();
    // Never valid: nothing to keep.
    expect(inf.store.get('new-bad')).toBeUndefined();

    src.put(pool('good', 'broken'));
    await flushPromises();
    expect(inf.store.get('good')?.spec.cidr).toBe('10.0.0.0/24');
    expect(inf.store.invalid('good')?.issues[0]?.path).toEqual(['spec', 'cidr']);
    // A relist (history expired) keeps it too, and reports nothing new.
    log.length = 0;
    src.expire();
    await clock.advance(1000);
    expect(inf.store.get('good')?.spec.cidr).toBe('10.0.0.0/24');
    expect(log).toEqual([]);

    src.put(pool('good', '10.0.7.0/24'));
    await flushPromises();
    expect(inf.store.invalid('good')).toBeUndefined();
    src.put(pool('good', 'broken again'));
    src.remove('good');
    await flushPromises();
    expect(log).toEqual([
      'update good 10.0.0.0/24->10.0.7.0/24',
      'invalid good spec.cidr: must be a CIDR (got "broken again")',
      'delete good',
    ]);
    expect(inf.store.get('good')).toBeUndefined();
    expect(inf.store.invalid('good')).toBeUndefined();
    await inf.stop();
  });

  it('an object without a name is reported, never stored, and the loop goes on', async () => {
    const { src, log, inf } = setup();
    inf.start();
    await inf.waitForSync();
    src.emitRaw({ type: 'ADDED', object: { metadata: { resourceVersion: '99' }, spec: { cidr: '10.0.0.0/24' } } });
    src.put(pool('a', '10.0.0.0/24'));
    await flushPromises();
    expect(log).toEqual(['synced', 'invalid  metadata.name: is required', 'add a 10.0.0.0/24']);
    expect(inf.store.keys()).toEqual(['a']);
    await inf.stop();
  });

  it('a relist after 410 swaps the cache in one step and reports only the differences', async () => {
    const { src, clock, log, inf } = setup();
    src.put(pool('keep', '10.0.0.0/24'));
    src.put(pool('change', '10.0.1.0/24'));
    src.put(pool('gone', '10.0.2.0/24'));
    inf.start();
    await inf.waitForSync();
    log.length = 0;

    // Changes the watch never delivers, then history expires: only a relist can find them.
    src.silently(() => {
      src.put(pool('change', '10.0.9.0/24'));
      src.remove('gone');
      src.put(pool('new', '10.0.3.0/24'));
      src.put(pool('broken', 'x'));
    });
    const release = src.holdLists();
    src.expire();
    await flushPromises();
    // Relisting has started but not finished: readers still see the old, complete content.
    expect(inf.store.keys()).toEqual(['change', 'gone', 'keep']);
    expect(log).toEqual([]);
    release();
    await clock.advance(1000);
    expect(inf.store.keys()).toEqual(['change', 'keep', 'new']);
    expect(log.sort()).toEqual(
      [
        'add new 10.0.3.0/24',
        'delete gone',
        'invalid broken spec.cidr: must be a CIDR (got "x")',
        'update change 10.0.1.0/24->10.0.9.0/24',
      ].sort(),
    );
    expect(inf.stats().gone).toBe(1);
    expect(inf.stats().lists).toBe(2);
    await inf.stop();
  });

  it('a handler that throws is counted and does not stop other handlers or the loop', async () => {
    const { src, log, inf } = setup();
    inf.addHandler({
      onAdd: () => {
        throw new Error('handler bug');
      },
    });
    inf.start();
    src.put(pool('a', '10.0.0.0/24'));
    await inf.waitForSync();
    src.put(pool('b', '10.0.1.0/24'));
    await flushPromises();
    expect(log).toContain('add b 10.0.1.0/24');
    expect(inf.stats().handlerErrors).toBe(2);
    await inf.stop();
  });

  it('a handler added after sync gets the current objects, then synced', async () => {
    const { src, inf } = setup();
    src.put(pool('a', '10.0.0.0/24'));
    inf.start();
    await inf.waitForSync();
    const late: string[] = [];
    const remove = inf.addHandler({ onAdd: (_o, k) => late.push(`add ${k}`), onSynced: () => late.push('synced') });
    expect(late).toEqual(['add a', 'synced']);
    remove();
    src.put(pool('b', '10.0.1.0/24'));
    await flushPromises();
    expect(late).toEqual(['add a', 'synced']);
    await inf.stop();
  });

  it('resyncs on its period after the first sync, until stopped', async () => {
    const { src, clock, log, inf } = setup({ resyncPeriodMs: 60_000 });
    src.put(pool('a', '10.0.0.0/24'));
    inf.start();
    await inf.waitForSync();
    await clock.advance(59_999);
    expect(log.filter((l) => l.startsWith('resync'))).toEqual([]);
    await clock.advance(1);
    await clock.advance(60_000);
    expect(log.filter((l) => l.startsWith('resync'))).toEqual(['resync 1', 'resync 1']);
    await inf.stop();
    await clock.advance(600_000);
    expect(log.filter((l) => l.startsWith('resync')).length).toBe(2);
  });

  it('waitForSync answers false when the informer stops or the signal aborts first', async () => {
    const { src, inf } = setup();
    src.failLists.push(new Error('down'));
    inf.start();
    const ac = new AbortController();
    const aborted = inf.waitForSync(ac.signal);
    ac.abort();
    expect(await aborted).toBe(false);
    const stopped = inf.waitForSync();
    await inf.stop();
    expect(await stopped).toBe(false);
  });
});
