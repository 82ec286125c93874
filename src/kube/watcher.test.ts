import { describe, expect, it } from 'vitest';
import { TransientError, GoneError } from './errors.js';
import { FakeClock, flushPromises } from './test-support/fake-clock.js';
import { FakeListWatch } from './test-support/fake-list-watch.js';
import { readMeta } from './object-meta.js';
import { newWatcherStats, watchObjects, type WatcherEvent } from './watcher.js';

const cm = (name: string, data = '1') => ({ metadata: { name }, data: { v: data } });
const transient = (): TransientError =>
  new TransientError({
    status: 0,
    reason: 'ECONNREFUSED',
    serverMessage: 'connect ECONNREFUSED',
    target: { verb: 'watch', resource: 'fake' },
  });

function run(source: FakeListWatch, pageSize = 500) {
  const clock = new FakeClock(0);
  const stats = newWatcherStats();
  const events: WatcherEvent[] = [];
  const ac = new AbortController();
  const done = (async () => {
    for await (const e of watchObjects(source, {
      signal: ac.signal,
      clock,
      random: () => 0.5,
      backoff: { initialMs: 100, maxMs: 1000, factor: 2, jitter: 0 },
      pageSize,
      stats,
    })) {
      events.push(e);
    }
  })();
  const summary = (): string[] =>
    events.map((e) =>
      e.type === 'init'
        ? 'init'
        : e.type === 'initDone'
          ? `initDone@${e.resourceVersion}`
          : `${e.type}:${readMeta(e.object)?.name ?? '?'}`,
    );
  return {
    clock,
    stats,
    events,
    summary,
    async stop() {
      ac.abort();
      await done;
    },
  };
}

describe('watchObjects', () => {
  it('lists page by page, then streams changes from the list’s resourceVersion', async () => {
    const src = new FakeListWatch();
    for (const n of ['a', 'b', 'c', 'd', 'e']) src.put(cm(n));
    const w = run(src, 2);
    await flushPromises();
    expect(src.listCalls.map((c) => c.continueToken)).toEqual([undefined, '2', '4']);
    expect(w.summary()).toEqual([
      'init',
      'initApply:a',
      'initApply:b',
      'initApply:c',
      'initApply:d',
      'initApply:e',
      'initDone@5',
    ]);
    expect(src.watchCalls).toEqual(['5']);
    src.put(cm('f'));
    src.put(cm('a', '2'));
    src.remove('b');
    await flushPromises();
    expect(w.summary().slice(7)).toEqual(['apply:f', 'apply:a', 'delete:b']);
    await w.stop();
    expect(src.openWatches).toBe(0);
  });

  it('resumes a dropped watch from the last version seen (events and bookmarks), after a backoff, without relisting', async () => {
    const src = new FakeListWatch();
    src.put(cm('a'));
    const w = run(src);
    await flushPromises();
    src.put(cm('b'));
    src.bookmark();
    await flushPromises();
    src.endWatches(transient());
    await flushPromises();
    expect(src.watchCalls).toEqual(['1']);
    // The watch had delivered events, so the backoff starts from its initial delay.
    await w.clock.advance(99);
    expect(src.watchCalls).toEqual(['1']);
    await w.clock.advance(1);
    expect(src.watchCalls).toEqual(['1', '2']);
    expect(src.listCalls.length).toBe(1);
    expect(w.stats).toMatchObject({ lists: 1, watches: 2, errors: 1, gone: 0 });
    await w.stop();
  });

  it('backs off exponentially while the server refuses, and recovers', async () => {
    const src = new FakeListWatch();
    src.failLists.push(transient(), transient(), transient());
    const w = run(src);
    await flushPromises();
    const times: number[] = [];
    let calls = src.listCalls.length;
    for (let t = 0; t < 2000; t += 10) {
      await w.clock.advance(10);
      if (src.listCalls.length !== calls) {
        calls = src.listCalls.length;
        times.push(w.clock.now());
      }
    }
    expect(times).toEqual([100, 300, 700]);
    expect(w.summary().filter((s) => s.startsWith('initDone')).length).toBe(1);
    await w.stop();
  });

  it('relists after a 410 ERROR event, and after a 410 answer to the watch request', async () => {
    const src = new FakeListWatch();
    src.put(cm('a'));
    const w = run(src);
    await flushPromises();
    src.put(cm('b'));
    await flushPromises();
    src.expire();
    await flushPromises();
    expect(src.listCalls.length).toBe(2);
    expect(w.stats.gone).toBe(1);
    expect(w.summary().slice(-4)).toEqual(['init', 'initApply:a', 'initApply:b', 'initDone@2']);

    // Now the watch request itself is answered 410 (the fake's history is gone below the version asked for).
    src.failWatches.push(
      new GoneError({
        status: 410,
        reason: 'Expired',
        serverMessage: 'gone',
        target: { verb: 'watch', resource: 'fake' },
      }),
    );
    src.endWatches(transient());
    await w.clock.advance(100);
    expect(w.stats.gone).toBe(2);
    // That watch delivered nothing before its 410, so the relist waits a backoff step (200 ms) instead of looping.
    expect(src.listCalls.length).toBe(2);
    await w.clock.advance(200);
    expect(src.listCalls.length).toBe(3);
    await w.stop();
  });

  it('relists at once when a version that events moved on expires, even after failed reconnects', async () => {
    const src = new FakeListWatch();
    src.put(cm('a'));
    const w = run(src);
    await flushPromises();
    src.put(cm('b'));
    await flushPromises();
    // The server goes away (the watch breaks, a reconnect fails: the backoff grows), then answers the resumed watch
    // with 410, as a restarted kube-apiserver does: its watch cache starts at a newer version.
    src.failWatches.push(transient());
    src.endWatches(transient());
    await w.clock.advance(100);
    expect(src.watchCalls.length).toBe(2);
    src.failWatches.push(
      new GoneError({
        status: 410,
        reason: 'Expired',
        serverMessage: 'gone',
        target: { verb: 'watch', resource: 'fake' },
      }),
    );
    await w.clock.advance(200);
    expect(w.stats.gone).toBe(1);
    // No further backoff step: the list follows the 410 at once, and a watch from its version after it.
    expect(src.listCalls.length).toBe(2);
    expect(src.watchCalls.length).toBe(4);
    expect(w.summary().slice(-4)).toEqual(['init', 'initApply:a', 'initApply:b', 'initDone@2']);
    await w.stop();
  });

  it('a watch the server ends at once, with nothing delivered, counts as a failure (no hot loop)', async () => {
    const src = new FakeListWatch();
    const w = run(src);
    await flushPromises();
    src.endWatches();
    await flushPromises();
    expect(src.watchCalls.length).toBe(1);
    await w.clock.advance(100);
    expect(src.watchCalls.length).toBe(2);
    src.endWatches();
    await w.clock.advance(199);
    expect(src.watchCalls.length).toBe(2);
    await w.clock.advance(1);
    expect(src.watchCalls.length).toBe(3);
    await w.stop();
  });

  it('a watch that ends cleanly after delivering events is resumed at once', async () => {
    const src = new FakeListWatch();
    const w = run(src);
    await flushPromises();
    src.put(cm('a'));
    await flushPromises();
    src.endWatches();
    await flushPromises();
    expect(src.watchCalls).toEqual(['0', '1']);
    expect(w.stats.errors).toBe(0);
    await w.stop();
  });

  it('stops when aborted, even while backing off', async () => {
    const src = new FakeListWatch();
    src.failLists.push(transient());
    const w = run(src);
    await flushPromises();
    await w.stop();
    expect(w.clock.pendingTimers()).toBe(0);
  });
});
