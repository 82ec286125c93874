import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Event } from './core-kinds.js';
import { createEventRecorder, type EventClient, type EventInput } from './events.js';
import { createTokenBucket } from './token-bucket.js';
import { FakeClock, flushPromises } from './test-support/fake-clock.js';

describe('token bucket', () => {
  it('gives the burst at once, then one token per 1/rate seconds (hand-counted)', () => {
    const b = createTokenBucket({ perSecond: 2, burst: 3 }, 0);
    expect([b.take(0), b.take(0), b.take(0), b.take(0)]).toEqual([true, true, true, false]);
    // 2/s: a token every 500 ms.
    expect(b.waitMs(0)).toBe(500);
    expect(b.take(499)).toBe(false);
    expect(b.take(500)).toBe(true);
    expect(b.take(500)).toBe(false);
    // A long quiet period refills to the burst, no further.
    expect([b.take(60_000), b.take(60_000), b.take(60_000), b.take(60_000)]).toEqual([true, true, true, false]);
  });

  it('a clock stepping back neither refills nor breaks it', () => {
    const b = createTokenBucket({ perSecond: 1, burst: 1 }, 10_000);
    expect(b.take(10_000)).toBe(true);
    expect(b.take(5_000)).toBe(false);
    expect(b.take(10_999)).toBe(false);
    expect(b.take(11_000)).toBe(true);
  });

  it('refuses a rate or burst that could never let anything through', () => {
    expect(() => createTokenBucket({ perSecond: 0, burst: 1 }, 0)).toThrow(/perSecond/);
    expect(() => createTokenBucket({ perSecond: 1, burst: 0 }, 0)).toThrow(/burst/);
    expect(() => createTokenBucket({ perSecond: Number.NaN, burst: 1 }, 0)).toThrow(/perSecond/);
  });

  it('over any window, at most burst + window·rate takes succeed', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 1, max: 50 }),
        fc.array(fc.integer({ min: 0, max: 2_000 }), { minLength: 1, maxLength: 300 }),
        (perSecond, burst, gaps) => {
          const b = createTokenBucket({ perSecond, burst }, 0);
          let t = 0;
          const granted: number[] = [];
          for (const g of gaps) {
            t += g;
            if (b.take(t)) granted.push(t);
          }
          for (let i = 0; i < granted.length; i++) {
            for (let j = i; j < granted.length; j++) {
              const window = granted[j]! - granted[i]!;
              expect(j - i + 1).toBeLessThanOrEqual(burst + Math.floor((window * perSecond) / 1000) + 1);
            }
          }
        },
      ),
    );
  });
});

describe('event recorder rate limit', () => {
  function setup(rate = { perSecond: 1, burst: 2 }) {
    const clock = new FakeClock(1_700_000_000_000);
    const creates: string[] = [];
    const patches: string[] = [];
    const dropped: string[] = [];
    const events: EventClient = {
      async create(e) {
        creates.push(`${e.regarding?.name} count=${e.series?.count ?? 1}`);
        return e;
      },
      async mergePatch(name, patch) {
        patches.push(`${name.split('.')[0]} count=${(patch['series'] as { count: number }).count}`);
        return {} as Event;
      },
    };
    const rec = createEventRecorder({
      events,
      reportingController: 'tabby.dev/agent',
      reportingInstance: 'node-1',
      clock,
      rateLimit: rate,
      seriesUpdateIntervalMs: 30_000,
      metrics: { eventWritten: () => undefined, eventDropped: (r) => dropped.push(r) },
    });
    return { clock, rec, creates, patches, dropped };
  }
  const ev = (name: string): EventInput => ({
    regarding: { apiVersion: 'v1', kind: 'Pod', namespace: 'default', name },
    type: 'Normal',
    reason: 'AddressAssigned',
    action: 'Allocate',
    note: `${name} got an address`,
  });

  it('writes the burst, drops and counts what is over it, and writes again once tokens are back', async () => {
    const { clock, rec, creates, dropped } = setup();
    for (const n of ['p1', 'p2', 'p3', 'p4']) rec.record(ev(n));
    await rec.flush();
    expect(creates).toEqual(['p1 count=1', 'p2 count=1']);
    expect(dropped).toEqual(['rateLimited', 'rateLimited']);
    expect(rec.stats()).toMatchObject({ created: 2, rateLimited: 2, failed: 0 });
    await clock.advance(1_000);
    rec.record(ev('p5'));
    await rec.flush();
    expect(creates).toEqual(['p1 count=1', 'p2 count=1', 'p5 count=1']);
  });

  it('a dropped Event that repeats is created later, with every occurrence counted', async () => {
    const { clock, rec, creates } = setup({ perSecond: 1, burst: 1 });
    rec.record(ev('p1'));
    rec.record(ev('p2')); // dropped: the one token went to p1
    await flushPromises();
    rec.record(ev('p2'));
    await clock.advance(30_000);
    await rec.flush();
    expect(creates).toEqual(['p1 count=1', 'p2 count=2']);
  });

  it('a series update waits for a token instead of being lost', async () => {
    const { clock, rec, creates, patches } = setup({ perSecond: 1, burst: 1 });
    rec.record(ev('p1'));
    await flushPromises();
    rec.record(ev('p1')); // a repeat: folded, written by the series timer 30 s on
    await clock.advance(29_999);
    rec.record(ev('p2')); // a new Event takes the token refilled meanwhile
    await clock.advance(1);
    expect(creates).toEqual(['p1 count=1', 'p2 count=1']);
    expect(patches).toEqual([]);
    await clock.advance(1_000);
    expect(patches).toEqual(['p1 count=2']);
  });
});
