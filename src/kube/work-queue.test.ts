import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FakeClock, flushPromises } from './test-support/fake-clock.js';
import { WorkQueue, type WorkQueueOptions, type WorkResult } from './work-queue.js';

interface Run {
  key: string;
  at: number;
  signal: AbortSignal;
  finish(result?: WorkResult): void;
}

/** A queue whose process calls are recorded and finished by the test. */
function harness(opts: Partial<WorkQueueOptions<string>> = {}) {
  const clock = new FakeClock(0);
  const runs: Run[] = [];
  const open: Run[] = [];
  let active = 0;
  let maxActive = 0;
  const activeKeys = new Set<string>();
  let overlap = false;
  const q = new WorkQueue<string>({
    clock,
    random: () => 0.5,
    backoff: { initialMs: 100, maxMs: 1000, factor: 2, jitter: 0 },
    rateLimit: null,
    process: (key, signal) =>
      new Promise<WorkResult>((resolve) => {
        if (activeKeys.has(key)) overlap = true;
        activeKeys.add(key);
        active++;
        maxActive = Math.max(maxActive, active);
        const run: Run = {
          key,
          at: clock.now(),
          signal,
          finish: (result = { type: 'done' }) => {
            open.splice(open.indexOf(run), 1);
            activeKeys.delete(key);
            active--;
            resolve(result);
          },
        };
        runs.push(run);
        open.push(run);
      }),
    ...opts,
  });
  return {
    clock,
    q,
    runs,
    open,
    maxActive: () => maxActive,
    overlap: () => overlap,
    /** Finishes the oldest open run of `key` and lets the queue react. */
    async finish(key: string, result?: WorkResult) {
      const run = open.find((r) => r.key === key);
      if (!run) throw new Error(`no open run of ${key}`);
      run.finish(result);
      await flushPromises();
    },
  };
}

describe('WorkQueue', () => {
  it('runs a key added several times before it starts only once', async () => {
    const h = harness();
    h.q.add('a');
    h.q.add('a');
    h.q.add('a');
    expect(h.q.depth).toBe(1);
    h.q.start();
    await flushPromises();
    await h.finish('a');
    await h.clock.advance(10_000);
    expect(h.runs.map((r) => r.key)).toEqual(['a']);
  });

  it('runs a key re-added while running again afterwards, never concurrently', async () => {
    const h = harness({ maxConcurrency: 4 });
    h.q.start();
    h.q.add('a');
    await flushPromises();
    h.q.add('a');
    h.q.add('a');
    await flushPromises();
    expect(h.open.length).toBe(1);
    await h.finish('a');
    expect(h.open.length).toBe(1);
    await h.finish('a');
    await h.clock.advance(10_000);
    expect(h.runs.length).toBe(2);
    expect(h.overlap()).toBe(false);
  });

  it('never runs more than maxConcurrency keys at once, in FIFO order', async () => {
    const h = harness({ maxConcurrency: 2 });
    for (const k of ['a', 'b', 'c', 'd', 'e']) h.q.add(k);
    h.q.start();
    await flushPromises();
    expect(h.open.map((r) => r.key)).toEqual(['a', 'b']);
    await h.finish('b');
    expect(h.open.map((r) => r.key)).toEqual(['a', 'c']);
    await h.finish('a');
    await h.finish('c');
    await h.finish('d');
    await h.finish('e');
    expect(h.runs.map((r) => r.key)).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(h.maxActive()).toBe(2);
  });

  it('backs off per key exponentially up to the cap, and a success clears it', async () => {
    const h = harness();
    h.q.start();
    h.q.add('a');
    await flushPromises();
    for (let i = 0; i < 6; i++) {
      await h.finish('a', { type: 'retry' });
      await h.clock.advance(h.clock.nextTimerAt()! - h.clock.now());
    }
    const gaps = h.runs.slice(1).map((r, i) => r.at - h.runs[i]!.at);
    expect(gaps).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect(h.q.failures('a')).toBe(6);
    await h.finish('a', { type: 'done' });
    expect(h.q.failures('a')).toBe(0);
    h.q.add('a');
    await flushPromises();
    await h.finish('a', { type: 'retry' });
    expect(h.clock.nextTimerAt()! - h.clock.now()).toBe(100);
  });

  it('keeps backoff per key: one failing key does not delay another', async () => {
    const h = harness({ maxConcurrency: 2 });
    h.q.start();
    h.q.add('bad');
    h.q.add('good');
    await flushPromises();
    await h.finish('bad', { type: 'retry' });
    await h.finish('good');
    h.q.add('good');
    await flushPromises();
    expect(h.open.map((r) => r.key)).toEqual(['good']);
    expect(h.q.failures('good')).toBe(0);
    expect(h.q.failures('bad')).toBe(1);
  });

  it('honours a retry hint longer than the backoff', async () => {
    const h = harness();
    h.q.start();
    h.q.add('a');
    await flushPromises();
    await h.finish('a', { type: 'retry', afterMs: 5000 });
    await h.clock.advance(4999);
    expect(h.runs.length).toBe(1);
    await h.clock.advance(1);
    expect(h.runs.length).toBe(2);
  });

  it('requeueAfter runs the key again after exactly that delay, with no backoff', async () => {
    const h = harness();
    h.q.start();
    h.q.add('a');
    await flushPromises();
    await h.finish('a', { type: 'requeueAfter', delayMs: 3000 });
    expect(h.q.failures('a')).toBe(0);
    await h.clock.advance(2999);
    expect(h.runs.length).toBe(1);
    await h.clock.advance(1);
    expect(h.runs.map((r) => r.at)).toEqual([0, 3000]);
  });

  it('a requeue and an event-triggered add merge to the earliest time', async () => {
    const h = harness();
    h.q.start();
    h.q.add('a');
    await flushPromises();
    h.q.add('a', 500);
    await h.finish('a', { type: 'requeueAfter', delayMs: 3000 });
    await h.clock.advance(10_000);
    expect(h.runs.map((r) => r.at)).toEqual([0, 500]);
  });

  it('a delayed key moved earlier runs once, at the earlier time', async () => {
    const h = harness();
    h.q.start();
    h.q.add('a', 1000);
    h.q.add('a', 200);
    h.q.add('a', 5000);
    await h.clock.advance(200);
    expect(h.runs.map((r) => r.at)).toEqual([200]);
    await h.finish('a');
    await h.clock.advance(10_000);
    expect(h.runs.length).toBe(1);
  });

  it('spaces retries of many keys with the overall token bucket', async () => {
    const h = harness({ maxConcurrency: 10, rateLimit: { perSecond: 10, burst: 2 } });
    h.q.start();
    for (const k of ['a', 'b', 'c', 'd']) h.q.add(k);
    await flushPromises();
    for (const k of ['a', 'b', 'c', 'd']) await h.finish(k, { type: 'retry' });
    await h.clock.advance(1000);
    const retried = h.runs.slice(4).map((r) => r.at);
    // Per-key backoff is 100 ms; the bucket lets 2 through at once, then one per 100 ms.
    expect(retried).toEqual([100, 100, 100, 200]);
  });

  it('shutdown drains: ready keys still run, delayed ones and new adds are dropped', async () => {
    const h = harness();
    h.q.start();
    h.q.add('a');
    h.q.add('b');
    h.q.add('later', 5000);
    await flushPromises();
    let done = false;
    const stopped = h.q.shutdown().then(() => (done = true));
    h.q.add('new');
    await flushPromises();
    expect(done).toBe(false);
    expect(h.open[0]?.signal.aborted).toBe(false);
    await h.finish('a', { type: 'retry' });
    await h.finish('b', { type: 'requeueAfter', delayMs: 10 });
    await stopped;
    await h.clock.advance(60_000);
    expect(h.runs.map((r) => r.key)).toEqual(['a', 'b']);
    expect(h.clock.pendingTimers()).toBe(0);
  });

  it('shutdown without drain aborts running keys and drops ready ones', async () => {
    const h = harness();
    h.q.start();
    h.q.add('a');
    h.q.add('b');
    await flushPromises();
    const stopped = h.q.shutdown({ drain: false });
    await flushPromises();
    expect(h.open[0]?.signal.aborted).toBe(true);
    await h.finish('a');
    await stopped;
    expect(h.runs.map((r) => r.key)).toEqual(['a']);
  });

  it('a process that rejects is retried with backoff, and reported', async () => {
    const errors: string[] = [];
    let calls = 0;
    const clock = new FakeClock();
    const q = new WorkQueue<string>({
      clock,
      rateLimit: null,
      backoff: { initialMs: 100, maxMs: 1000, factor: 2, jitter: 0 },
      onProcessError: (key) => errors.push(key),
      process: () => (++calls === 1 ? Promise.reject(new Error('boom')) : Promise.resolve({ type: 'done' })),
    });
    q.start();
    q.add('a');
    await clock.advance(100);
    expect(calls).toBe(2);
    expect(errors).toEqual(['a']);
  });

  it('reports depth changes', async () => {
    const depths: number[] = [];
    const h = harness({ onDepth: (d) => depths.push(d) });
    h.q.add('a');
    h.q.add('b', 100);
    h.q.start();
    await flushPromises();
    await h.finish('a');
    await h.clock.advance(100);
    await h.finish('b');
    expect(depths).toEqual([1, 2, 1, 0]);
  });

  it('property: a key never runs concurrently, never more than maxConcurrency run, every add is followed by a run', async () => {
    const keys = ['a', 'b', 'c'];
    const cmd = fc.oneof(
      fc.record({
        t: fc.constant('add' as const),
        key: fc.constantFrom(...keys),
        delay: fc.constantFrom(0, 0, 50, 300),
      }),
      fc.record({
        t: fc.constant('finish' as const),
        result: fc.constantFrom<WorkResult>(
          { type: 'done' },
          { type: 'retry' },
          { type: 'requeueAfter', delayMs: 40 },
          { type: 'drop' },
        ),
      }),
      fc.record({ t: fc.constant('tick' as const), ms: fc.integer({ min: 1, max: 400 }) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(cmd, { maxLength: 60 }), fc.integer({ min: 1, max: 3 }), async (cmds, max) => {
        const h = harness({ maxConcurrency: max });
        h.q.start();
        const lastAdd = new Map<string, number>();
        for (const c of cmds) {
          if (c.t === 'add') {
            lastAdd.set(c.key, h.runs.length);
            h.q.add(c.key, c.delay);
            await flushPromises();
          } else if (c.t === 'finish') {
            const run = h.open[0];
            if (run) await h.finish(run.key, c.result);
          } else {
            await h.clock.advance(c.ms);
          }
        }
        // Drain: finish everything (successfully) until nothing is left.
        for (let i = 0; i < 200 && (h.open.length > 0 || h.q.depth > 0); i++) {
          const run = h.open[0];
          if (run) await h.finish(run.key);
          else await h.clock.advance(2000);
        }
        expect(h.overlap()).toBe(false);
        expect(h.maxActive()).toBeLessThanOrEqual(max);
        for (const [key, runsBefore] of lastAdd) {
          expect(h.runs.slice(runsBefore).some((r) => r.key === key)).toBe(true);
        }
      }),
      { numRuns: 150 },
    );
  });
});
