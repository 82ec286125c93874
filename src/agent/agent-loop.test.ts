import { describe, expect, it } from 'vitest';
import type { SyncInput, SyncOptions } from './agent-syncer.js';
import { runAgentLoop, type SyncTrigger, type Timers } from './agent-loop.js';
import type { ApplyReport } from './apply-report.js';
import { buildNodeDesired } from './test-support/desired-builder.js';

/** Timers driven by hand: `fire()` runs everything due. */
function manualTimers() {
  let now = 0;
  let id = 0;
  const pending = new Map<number, { at: number; fn: () => void }>();
  const timers: Timers = {
    setTimeout(fn, ms) {
      pending.set(++id, { at: now + ms, fn });
      return id;
    },
    clearTimeout(h) {
      pending.delete(h as number);
    },
  };
  return {
    timers,
    advance(ms: number) {
      now += ms;
      for (const [k, t] of [...pending].sort((a, b) => a[1].at - b[1].at)) {
        if (t.at <= now) {
          pending.delete(k);
          t.fn();
        }
      }
    },
    pendingCount: () => pending.size,
  };
}

/** An async iterable fed by hand. */
function source<T>() {
  const queue: T[] = [];
  let done = false;
  let wake: (() => void) | undefined;
  return {
    push(v: T) {
      queue.push(v);
      wake?.();
    },
    end() {
      done = true;
      wake?.();
    },
    async *[Symbol.asyncIterator]() {
      for (;;) {
        while (queue.length > 0) yield queue.shift() as T;
        if (done) return;
        await new Promise<void>((r) => (wake = r));
        wake = undefined;
      }
    },
  };
}

const snap = (revision: string, refresh = 0): SyncInput => ({
  desired: buildNodeDesired({ revision, felix: { routeRefreshIntervalSeconds: refresh } }),
  shards: [],
});

function report(
  revision: string,
  over: Partial<ApplyReport & { retry: boolean }> = {},
): ApplyReport & { retry: boolean } {
  return {
    revision,
    viewRevisions: [],
    time: 't',
    programmed: true,
    fatal: false,
    changed: true,
    reread: false,
    counts: { routes: 0, blackholes: 0, neighbours: 0, fdbEntries: 0, devices: 0 },
    errors: [],
    warnings: [],
    operations: { ipLines: 0, bridgeLines: 0, processes: 0, sysctlWrites: 0, natReplaced: false, birdReloaded: false },
    reason: 'Programmed',
    message: '',
    durationMs: 0,
    retry: false,
    lastProgrammedRevision: revision,
    ...over,
  };
}

const tick = () => new Promise((r) => setImmediate(r));

function fakeSyncer(
  behaviour: (input: SyncInput, opts: SyncOptions, n: number) => Promise<ApplyReport & { retry: boolean }>,
) {
  const calls: { revision: string; reread: boolean }[] = [];
  let invalidations = 0;
  return {
    calls,
    invalidations: () => invalidations,
    syncer: {
      syncOnce(input: SyncInput, opts: SyncOptions = {}) {
        calls.push({ revision: input.desired.revision, reread: opts.reread === true });
        return behaviour(input, opts, calls.length);
      },
      invalidate() {
        invalidations++;
      },
    },
  };
}

describe('runAgentLoop', () => {
  it('syncs each snapshot, collapses snapshots that arrive during a sync into the newest, and ends with the source', async () => {
    const src = source<SyncInput>();
    let release: (() => void) | undefined;
    const f = fakeSyncer(async (input, _o, n) => {
      if (n === 1) await new Promise<void>((r) => (release = r));
      return report(input.desired.revision);
    });
    const reports: [string, boolean][] = [];
    const done = runAgentLoop({
      syncer: f.syncer,
      snapshots: src,
      timers: manualTimers().timers,
      onReport: (r, info) => void reports.push([r.revision, info.statusChanged]),
    });
    src.push(snap('r1'));
    await tick();
    src.push(snap('r2'));
    src.push(snap('r3'));
    await tick();
    release?.();
    await tick();
    src.end();
    await done;
    expect(f.calls.map((c) => c.revision)).toEqual(['r1', 'r3']);
    expect(reports).toEqual([
      ['r1', true],
      ['r3', true],
    ]);
  });

  it('kernel drift: debounced, invalidates and rereads', async () => {
    const src = source<SyncInput>();
    const t = manualTimers();
    let notify: (() => void) | undefined;
    const f = fakeSyncer(async (input) => report(input.desired.revision, { changed: false }));
    const done = runAgentLoop({
      syncer: f.syncer,
      snapshots: src,
      timers: t.timers,
      debounceMs: 50,
      watchKernel: (cb) => {
        notify = cb;
        return () => (notify = undefined);
      },
    });
    src.push(snap('r1'));
    await tick();
    notify?.();
    notify?.();
    await tick();
    expect(f.calls).toHaveLength(1);
    t.advance(50);
    await tick();
    expect(f.calls).toEqual([
      { revision: 'r1', reread: false },
      { revision: 'r1', reread: true },
    ]);
    expect(f.invalidations()).toBe(1);
    src.end();
    await done;
    expect(notify).toBeUndefined();
  });

  it('resyncs on routeRefreshInterval with a kernel reread', async () => {
    const src = source<SyncInput>();
    const t = manualTimers();
    const f = fakeSyncer(async (input) => report(input.desired.revision));
    const done = runAgentLoop({ syncer: f.syncer, snapshots: src, timers: t.timers });
    src.push(snap('r1', 90));
    await tick();
    t.advance(89_999);
    await tick();
    expect(f.calls).toHaveLength(1);
    t.advance(1);
    await tick();
    expect(f.calls.at(-1)).toEqual({ revision: 'r1', reread: true });
    src.end();
    await done;
  });

  it('new snapshots do not postpone the periodic resync', async () => {
    const src = source<SyncInput>();
    const t = manualTimers();
    const f = fakeSyncer(async (input, o, n) =>
      report(input.desired.revision, { reread: n === 1 || o.reread === true }),
    );
    const done = runAgentLoop({ syncer: f.syncer, snapshots: src, timers: t.timers });
    src.push(snap('r1', 90));
    await tick();
    for (const rev of ['r2', 'r3']) {
      t.advance(30_000);
      src.push(snap(rev, 90));
      await tick();
    }
    t.advance(30_000);
    await tick();
    expect(f.calls).toEqual([
      { revision: 'r1', reread: false },
      { revision: 'r2', reread: false },
      { revision: 'r3', reread: false },
      { revision: 'r3', reread: true },
    ]);
    src.end();
    await done;
  });

  it('retries failed syncs with doubling backoff, survives a throwing sync, and resets on success', async () => {
    const src = source<SyncInput>();
    const t = manualTimers();
    const f = fakeSyncer(async (input, _o, n) => {
      if (n === 1) throw new Error('boom');
      if (n === 2) return report(input.desired.revision, { fatal: true, programmed: false });
      return report(input.desired.revision);
    });
    const done = runAgentLoop({
      syncer: f.syncer,
      snapshots: src,
      timers: t.timers,
      backoff: { initialMs: 100, maxMs: 1000 },
    });
    src.push(snap('r1'));
    await tick();
    expect(f.calls).toHaveLength(1);
    t.advance(100);
    await tick();
    expect(f.calls).toHaveLength(2);
    t.advance(199);
    await tick();
    expect(f.calls).toHaveLength(2);
    t.advance(1);
    await tick();
    expect(f.calls).toHaveLength(3);
    expect(t.pendingCount()).toBe(0);
    src.end();
    await done;
  });

  it('retries a failed status write with doubling backoff, without re-syncing, until it succeeds', async () => {
    const src = source<SyncInput>();
    const t = manualTimers();
    const f = fakeSyncer(async (input) => report('same', { revision: input.desired.revision }));
    // Each delivery: [revision, statusChanged, time on the fake clock]; the first three writes fail.
    const deliveries: [string, boolean, number][] = [];
    let now = 0;
    const advance = async (ms: number) => {
      now += ms;
      t.advance(ms);
      await tick();
    };
    const done = runAgentLoop({
      syncer: f.syncer,
      snapshots: src,
      timers: t.timers,
      backoff: { initialMs: 100, maxMs: 250 },
      onReport: (r, info) => {
        deliveries.push([r.revision, info.statusChanged, now]);
        if (deliveries.length <= 3) throw new Error('status write failed');
      },
    });
    src.push(snap('r1'));
    await tick();
    expect(deliveries).toEqual([['r1', true, 0]]);
    await advance(99);
    expect(deliveries).toHaveLength(1);
    await advance(1); // 100 ms after the first failure
    await advance(199);
    expect(deliveries).toHaveLength(2);
    await advance(1); // 200 ms after the second
    await advance(250); // capped at 250 ms after the third, which succeeds
    expect(deliveries).toEqual([
      ['r1', true, 0],
      ['r1', true, 100],
      ['r1', true, 300],
      ['r1', true, 550],
    ]);
    // A status write is retried on its own: the kernel was programmed once.
    expect(f.calls).toEqual([{ revision: 'r1', reread: false }]);
    expect(t.pendingCount()).toBe(0);
    await advance(10_000);
    expect(deliveries).toHaveLength(4);
    // Written now, so the next report with the same status is not a change.
    src.push(snap('r2'));
    await tick();
    expect(deliveries.at(-1)).toEqual(['r2', false, 10_550]);
    src.end();
    await done;
  });

  it('a status write that failed is redone by the next report, even when that report is the same status', async () => {
    const src = source<SyncInput>();
    const t = manualTimers();
    const f = fakeSyncer(async (input) => report('same', { revision: input.desired.revision }));
    const changed: [string, boolean][] = [];
    const done = runAgentLoop({
      syncer: f.syncer,
      snapshots: src,
      timers: t.timers,
      backoff: { initialMs: 100, maxMs: 1000 },
      onReport: (r, info) => {
        changed.push([r.revision, info.statusChanged]);
        if (changed.length === 1) throw new Error('status write failed');
      },
    });
    src.push(snap('a'));
    await tick();
    src.push(snap('b'));
    await tick();
    expect(changed).toEqual([
      ['a', true],
      ['b', true],
    ]);
    // b's write succeeded: the pending retry of a's is dropped, not replayed over it.
    t.advance(10_000);
    await tick();
    expect(changed).toHaveLength(2);
    expect(t.pendingCount()).toBe(0);
    src.end();
    await done;
  });

  it('names what made each sync run and whether it scheduled a retry', async () => {
    const src = source<SyncInput>();
    const t = manualTimers();
    let notify: (() => void) | undefined;
    // Sync 3 waits until released; syncs 4 and 5 fail (fatal, then asking for a retry); the rest succeed.
    let release: (() => void) | undefined;
    const f = fakeSyncer(async (input, o, n) => {
      if (n === 3) await new Promise<void>((r) => (release = r));
      return report(input.desired.revision, {
        reread: o.reread === true,
        ...(n === 4 ? { fatal: true, programmed: false } : {}),
        ...(n === 5 ? { retry: true, programmed: false } : {}),
      });
    });
    const seen: [string, SyncTrigger[], number | undefined][] = [];
    const done = runAgentLoop({
      syncer: f.syncer,
      snapshots: src,
      timers: t.timers,
      debounceMs: 50,
      backoff: { initialMs: 100, maxMs: 1000 },
      watchKernel: (cb) => {
        notify = cb;
        return () => (notify = undefined);
      },
      onReport: (r, info) => void seen.push([r.revision, info.triggers, info.retryInMs]),
    });
    src.push(snap('r1', 90));
    await tick();
    notify?.();
    t.advance(50);
    await tick();
    t.advance(90_000); // the period runs from the last kernel read (the kernel sync)
    await tick();
    // Kernel drift and a snapshot that arrive during a sync make one sync with both causes.
    expect(f.calls).toHaveLength(3);
    notify?.();
    t.advance(50);
    src.push(snap('r2', 90));
    await tick();
    release?.();
    await tick();
    t.advance(100);
    await tick();
    t.advance(200);
    await tick();
    expect(seen).toEqual([
      ['r1', ['snapshot'], undefined],
      ['r1', ['kernel'], undefined],
      ['r1', ['resync'], undefined],
      ['r2', ['snapshot', 'kernel'], 100],
      ['r2', ['retry'], 200],
      ['r2', ['retry'], undefined],
    ]);
    src.end();
    await done;
  });

  it('a sync that threw reports nothing, and the retry it scheduled says so', async () => {
    const src = source<SyncInput>();
    const t = manualTimers();
    const f = fakeSyncer(async (input, _o, n) => {
      if (n === 1) throw new Error('boom');
      return report(input.desired.revision);
    });
    const seen: [SyncTrigger[], number | undefined][] = [];
    const done = runAgentLoop({
      syncer: f.syncer,
      snapshots: src,
      timers: t.timers,
      backoff: { initialMs: 100, maxMs: 1000 },
      onReport: (_r, info) => void seen.push([info.triggers, info.retryInMs]),
    });
    src.push(snap('r1'));
    await tick();
    expect(seen).toEqual([]);
    t.advance(100);
    await tick();
    expect(seen).toEqual([[['retry'], undefined]]);
    src.end();
    await done;
  });

  it('a repeated status delivery carries the triggers of the sync it reports', async () => {
    const src = source<SyncInput>();
    const t = manualTimers();
    const f = fakeSyncer(async (input) => report(input.desired.revision));
    const seen: [boolean, SyncTrigger[], number | undefined][] = [];
    const done = runAgentLoop({
      syncer: f.syncer,
      snapshots: src,
      timers: t.timers,
      backoff: { initialMs: 100, maxMs: 1000 },
      onReport: (_r, info) => {
        seen.push([info.retry, info.triggers, info.retryInMs]);
        if (seen.length === 1) throw new Error('status write failed');
      },
    });
    src.push(snap('r1'));
    await tick();
    t.advance(100);
    await tick();
    expect(seen).toEqual([
      [false, ['snapshot'], undefined],
      [true, ['snapshot'], undefined],
    ]);
    expect(f.calls).toHaveLength(1);
    src.end();
    await done;
  });

  it('stops when aborted', async () => {
    const src = source<SyncInput>();
    const ac = new AbortController();
    const f = fakeSyncer(async (input) => report(input.desired.revision));
    const done = runAgentLoop({ syncer: f.syncer, snapshots: src, timers: manualTimers().timers, signal: ac.signal });
    src.push(snap('r1'));
    await tick();
    ac.abort();
    await done;
    expect(f.calls).toHaveLength(1);
  });

  it('reports statusChanged only when the status would change', async () => {
    const src = source<SyncInput>();
    const f = fakeSyncer(async (input) => report('same', { revision: input.desired.revision }));
    const changed: boolean[] = [];
    const done = runAgentLoop({
      syncer: f.syncer,
      snapshots: src,
      timers: manualTimers().timers,
      onReport: (_r, info) => void changed.push(info.statusChanged),
    });
    src.push(snap('a'));
    await tick();
    src.push(snap('b'));
    await tick();
    src.end();
    await done;
    expect(changed).toEqual([true, false]);
  });
});
