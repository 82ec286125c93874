import { describe, expect, it } from 'vitest';
import { createController, defaultErrorPolicy, TerminalError, type Reconcile } from './controller.js';
import { ConflictError, TransientError } from './errors.js';
import { FakeClock, flushPromises } from './test-support/fake-clock.js';
import { noopMetrics, type ControllerMetrics, type ReconcileResult } from './metrics.js';

function recordingMetrics() {
  const registered: string[] = [];
  const results: [string, ReconcileResult, number][] = [];
  const depths: number[] = [];
  const metrics: ControllerMetrics = {
    controllerRegistered: (c) => registered.push(c),
    reconcileCompleted: (c, r, s) => results.push([c, r, s]),
    queueDepth: (_c, d) => depths.push(d),
  };
  return { metrics, registered, results, depths };
}

function setup(reconcile: Reconcile, extra: { timeoutMs?: number } = {}) {
  const clock = new FakeClock(0);
  const m = recordingMetrics();
  const c = createController({
    name: 'things',
    reconcile,
    clock,
    random: () => 0.5,
    backoff: { initialMs: 1000, maxMs: 8000, factor: 2, jitter: 0 },
    rateLimit: null,
    metrics: m.metrics,
    ...extra,
  });
  c.start();
  return { clock, c, ...m };
}

describe('controller', () => {
  it('registers its series before any reconcile, then counts results with durations', async () => {
    const { clock, c, registered, results } = setup(async () => {
      await new Promise<void>((r) => clock.setTimer(r, 250));
    });
    expect(registered).toEqual(['things']);
    c.enqueue('a');
    await clock.advance(250);
    expect(results).toEqual([['things', 'success', 0.25]]);
  });

  it('requeueAfterMs runs the key again later and counts as requeue, not as an error', async () => {
    const calls: number[] = [];
    const { clock, c, results } = setup(async () => {
      calls.push(clock.now());
      return calls.length === 1 ? { requeueAfterMs: 5000 } : {};
    });
    c.enqueue('a');
    await clock.advance(5000);
    expect(calls).toEqual([0, 5000]);
    expect(results.map((r) => r[1])).toEqual(['requeue', 'success']);
    expect(c.failures('a')).toBe(0);
  });

  it('retries a thrown error with growing backoff, and stops retrying after success', async () => {
    const calls: number[] = [];
    const { clock, c, results } = setup(async (_key, ctx) => {
      calls.push(clock.now());
      expect(ctx.attempt).toBe(calls.length - 1);
      if (calls.length < 4) throw new Error('apiserver said no');
    });
    c.enqueue('a');
    await clock.advance(20_000);
    expect(calls).toEqual([0, 1000, 3000, 7000]);
    expect(results.map((r) => r[1])).toEqual(['error', 'error', 'error', 'success']);
    expect(c.failures('a')).toBe(0);
  });

  it('a TerminalError is counted and never retried', async () => {
    let calls = 0;
    const { clock, c, results } = setup(async () => {
      calls++;
      throw new TerminalError('spec.cidr is invalid; reported in a condition');
    });
    c.enqueue('a');
    await clock.advance(60_000);
    expect(calls).toBe(1);
    expect(results.map((r) => r[1])).toEqual(['terminal']);
  });

  it('a reconcile that runs past its timeout sees its signal abort', async () => {
    let sawAbort = false;
    const { clock, c, results } = setup(
      (_key, ctx) =>
        new Promise((resolve, reject) => {
          ctx.signal.addEventListener('abort', () => {
            sawAbort = true;
            reject(new Error('aborted'));
          });
        }),
      { timeoutMs: 2000 },
    );
    c.enqueue('a');
    await clock.advance(1999);
    expect(sawAbort).toBe(false);
    await clock.advance(1);
    expect(sawAbort).toBe(true);
    expect(results.map((r) => r[1])).toEqual(['error']);
    await c.stop({ drain: false });
  });

  it('gives each reconcile its own id', async () => {
    const ids: string[] = [];
    const { clock, c } = setup(async (_k, ctx) => {
      ids.push(ctx.reconcileId);
    });
    c.enqueue('a');
    c.enqueue('b');
    await clock.advance(0);
    expect(new Set(ids).size).toBe(2);
  });

  it('stop drains ready keys and then takes no more', async () => {
    const seen: string[] = [];
    const { c } = setup(async (key) => {
      seen.push(key);
    });
    c.enqueue('a');
    c.enqueue('b');
    await c.stop();
    c.enqueue('c');
    await flushPromises();
    expect(seen).toEqual(['a', 'b']);
  });

  it('works with the no-op metrics', async () => {
    const clock = new FakeClock();
    const c = createController({ name: 'x', reconcile: async () => ({}), clock, metrics: noopMetrics });
    c.start();
    c.enqueue('k');
    await clock.advance(0);
    await c.idle();
    expect(c.depth).toBe(0);
  });
});

describe('defaultErrorPolicy', () => {
  const target = { verb: 'patch', resource: 'ippools.projectcalico.org', name: 'p' };
  it.each([
    { name: 'terminal: no retry', err: new TerminalError('bad'), want: { retry: false } },
    { name: 'plain error: retry with backoff', err: new Error('x'), want: { retry: true } },
    {
      name: 'conflict: retry with backoff',
      err: new ConflictError({ status: 409, reason: 'Conflict', serverMessage: 'modified', target }),
      want: { retry: true },
    },
    {
      name: 'transient with Retry-After: retry no sooner',
      err: new TransientError({
        status: 429,
        reason: 'TooManyRequests',
        serverMessage: 'slow down',
        target,
        retryAfterMs: 3000,
      }),
      want: { retry: true, afterMs: 3000 },
    },
  ])('$name', ({ err, want }) => {
    expect(defaultErrorPolicy(err, 'p')).toEqual(want);
  });
});
