import { describe, expect, it } from 'vitest';
import { clusterResource } from './resources.js';
import { TransientError } from './errors.js';
import { createStatusWriter, type StatusPatcher, type StatusStrategy } from './status-writer.js';

interface Call {
  how: 'apply' | 'merge';
  name: string;
  status: unknown;
  fieldManager: string | undefined;
}

/** Records calls; answers like the apiserver would, with a new resourceVersion each time. */
function fakePatcher(opts: { fail?: () => boolean } = {}) {
  const calls: Call[] = [];
  let rv = 100;
  const answer = (name: string, status: unknown, onBytes?: (n: number) => void) => {
    const body = JSON.stringify({ status });
    onBytes?.(Buffer.byteLength(body));
    if (opts.fail?.())
      throw new TransientError({
        status: 503,
        reason: 'ServiceUnavailable',
        serverMessage: 'down',
        target: { verb: 'patch', resource: 'things' },
      });
    return { metadata: { name, resourceVersion: String(++rv) }, status };
  };
  const patcher: StatusPatcher = {
    type: clusterResource('example.dev', 'v1', 'things', 'Thing'),
    async patchStatus(name, status, o) {
      calls.push({ how: 'merge', name, status, fieldManager: o?.fieldManager });
      return answer(name, status, o?.onRequestBytes);
    },
    async applyStatus(name, status, o) {
      calls.push({ how: 'apply', name, status, fieldManager: o.fieldManager });
      return answer(name, status, o.onRequestBytes);
    },
  };
  return { patcher, calls };
}

const observed = (rv: string, status: unknown) => ({ metadata: { name: 'n1', resourceVersion: rv }, status });

describe.each<StatusStrategy>(['apply', 'merge'])('status writer (%s)', (strategy) => {
  it('writes once for identical content, again when it changes, and counts writes and bytes', async () => {
    const { patcher, calls } = fakePatcher();
    const w = createStatusWriter({ resource: patcher, fieldManager: 'tabby-operator', strategy });
    const a = { desired: { revision: 'r1', routes: [1, 2] } };
    expect((await w.write({ name: 'n1' }, a)).written).toBe(true);
    expect((await w.write({ name: 'n1' }, { desired: { routes: [1, 2], revision: 'r1' } })).written).toBe(false);
    expect((await w.write({ name: 'n1' }, { desired: { revision: 'r2', routes: [1] } })).written).toBe(true);
    expect(calls.map((c) => [c.how, c.fieldManager])).toEqual([
      [strategy, 'tabby-operator'],
      [strategy, 'tabby-operator'],
    ]);
    const stats = w.stats();
    expect(stats.writes).toBe(2);
    expect(stats.skipped).toBe(1);
    expect(stats.bytes).toBe(
      Buffer.byteLength(JSON.stringify({ status: a })) +
        Buffer.byteLength(JSON.stringify({ status: { desired: { revision: 'r2', routes: [1] } } })),
    );
  });

  it('skips when the observed object already holds the content (a restarted writer does not churn)', async () => {
    const { patcher, calls } = fakePatcher();
    const w = createStatusWriter({ resource: patcher, fieldManager: 'op', strategy });
    const r = await w.write(
      { name: 'n1' },
      { desired: { revision: 'r1' } },
      observed('7', { desired: { revision: 'r1' }, applied: { revision: 'r0' } }),
    );
    expect(r).toEqual({ written: false, bytes: 0 });
    expect(calls).toEqual([]);
  });

  it('does not write again while the cache still shows the object from before its own write', async () => {
    const { patcher, calls } = fakePatcher();
    const w = createStatusWriter({ resource: patcher, fieldManager: 'op', strategy });
    const before = observed('7', { desired: { revision: 'r0' } });
    const first = await w.write({ name: 'n1' }, { desired: { revision: 'r1' } }, before);
    expect(first.written).toBe(true);
    // The informer has not delivered the write yet: same resourceVersion as before.
    expect((await w.write({ name: 'n1' }, { desired: { revision: 'r1' } }, before)).written).toBe(false);
    // It has: the resourceVersion the write produced.
    expect(
      (
        await w.write(
          { name: 'n1' },
          { desired: { revision: 'r1' } },
          observed(first.resourceVersion!, { desired: { revision: 'r1' } }),
        )
      ).written,
    ).toBe(false);
    // Someone else changed the status since: write it back.
    expect(
      (
        await w.write(
          { name: 'n1' },
          { desired: { revision: 'r1' } },
          observed('999', { desired: { revision: 'tampered' } }),
        )
      ).written,
    ).toBe(true);
    expect(calls.length).toBe(2);
  });

  it('a failed write is counted, rethrown and not remembered as written', async () => {
    let fail = true;
    const { patcher, calls } = fakePatcher({ fail: () => fail });
    const w = createStatusWriter({ resource: patcher, fieldManager: 'op', strategy });
    await expect(w.write({ name: 'n1' }, { a: 1 })).rejects.toBeInstanceOf(TransientError);
    fail = false;
    expect((await w.write({ name: 'n1' }, { a: 1 })).written).toBe(true);
    expect(w.stats()).toMatchObject({ writes: 1, failures: 1 });
    expect(calls.length).toBe(2);
  });

  it('keeps what was written per object, and forgets a deleted one', async () => {
    const { patcher } = fakePatcher();
    const w = createStatusWriter({ resource: patcher, fieldManager: 'op', strategy });
    await w.write({ name: 'n1' }, { a: 1 });
    expect((await w.write({ name: 'n2' }, { a: 1 })).written).toBe(true);
    expect((await w.write({ name: 'n1' }, { a: 1 })).written).toBe(false);
    w.forget({ name: 'n1' });
    expect((await w.write({ name: 'n1' }, { a: 1 })).written).toBe(true);
  });
});

describe('status writer specifics', () => {
  it('apply: content this writer stops owning is sent even though the observed status still covers the rest', async () => {
    const { patcher, calls } = fakePatcher();
    const w = createStatusWriter({ resource: patcher, fieldManager: 'op', strategy: 'apply' });
    const first = await w.write({ name: 'n1' }, { a: 1, b: 2 });
    const r = await w.write({ name: 'n1' }, { a: 1 }, observed(first.resourceVersion!, { a: 1, b: 2 }));
    expect(r.written).toBe(true);
    expect(calls.map((c) => c.status)).toEqual([{ a: 1, b: 2 }, { a: 1 }]);
  });

  it('merge: a subset of the observed status needs no write (a merge patch would change nothing)', async () => {
    const { patcher } = fakePatcher();
    const w = createStatusWriter({ resource: patcher, fieldManager: 'op', strategy: 'merge' });
    const first = await w.write({ name: 'n1' }, { a: 1, b: 2 });
    expect((await w.write({ name: 'n1' }, { a: 1 }, observed(first.resourceVersion!, { a: 1, b: 2 }))).written).toBe(
      false,
    );
  });

  it('conditions merged by type: the agent’s condition in the observed list does not cause a write', async () => {
    const { patcher } = fakePatcher();
    const w = createStatusWriter({
      resource: patcher,
      fieldManager: 'op',
      strategy: 'apply',
      mapLists: { conditions: ['type'] },
    });
    const planned = { type: 'Planned', status: 'True', reason: 'Planned', message: '', lastTransitionTime: 't0' };
    const programmed = { type: 'Programmed', status: 'True', reason: 'Applied', message: '', lastTransitionTime: 't1' };
    expect(
      (await w.write({ name: 'n1' }, { conditions: [planned] }, observed('5', { conditions: [programmed, planned] })))
        .written,
    ).toBe(false);
    expect(
      (
        await w.write(
          { name: 'n1' },
          { conditions: [{ ...planned, status: 'False' }] },
          observed('5', { conditions: [programmed, planned] }),
        )
      ).written,
    ).toBe(true);
  });

  it('namespaced objects are kept apart by namespace', async () => {
    const { patcher } = fakePatcher();
    const w = createStatusWriter({ resource: patcher, fieldManager: 'op' });
    await w.write({ name: 'x', namespace: 'a' }, { v: 1 });
    expect((await w.write({ name: 'x', namespace: 'b' }, { v: 1 })).written).toBe(true);
    expect((await w.write({ name: 'x', namespace: 'a' }, { v: 1 })).written).toBe(false);
  });
});
