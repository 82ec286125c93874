import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Backoff, TokenBucket, backoffDelay, type BackoffPolicy } from './backoff.js';

const policy: BackoffPolicy = { initialMs: 100, maxMs: 10_000, factor: 2, jitter: 0.2 };
const noJitter: BackoffPolicy = { ...policy, jitter: 0 };

describe('backoffDelay', () => {
  it.each([
    { name: 'first retry waits the initial delay', attempt: 1, want: 100 },
    { name: 'second doubles', attempt: 2, want: 200 },
    { name: 'seventh is 100·2^6', attempt: 7, want: 6_400 },
    { name: 'eighth (100·2^7 = 12,800) is capped at max', attempt: 8, want: 10_000 },
    { name: 'huge attempt numbers stay at the cap', attempt: 5000, want: 10_000 },
    { name: 'attempt 0 is treated as the first', attempt: 0, want: 100 },
  ])('$name', ({ attempt, want }) => {
    expect(backoffDelay(noJitter, attempt, () => 0.5)).toBe(want);
  });

  it('jitter spreads the delay to ±jitter of the base, never past the cap', () => {
    expect(backoffDelay(policy, 1, () => 0)).toBeCloseTo(80);
    expect(backoffDelay(policy, 1, () => 0.999999)).toBeCloseTo(120, 3);
    expect(backoffDelay(policy, 20, () => 0.999999)).toBe(10_000);
  });

  it('property: 0 <= delay <= max, and the un-jittered delay never decreases', () => {
    fc.assert(
      fc.property(
        fc.record({
          initialMs: fc.integer({ min: 1, max: 10_000 }),
          maxMs: fc.integer({ min: 1, max: 1_000_000 }),
          factor: fc.double({ min: 1, max: 10, noNaN: true }),
          jitter: fc.double({ min: 0, max: 1, noNaN: true }),
        }),
        fc.integer({ min: 1, max: 200 }),
        fc.double({ min: 0, max: 0.9999999, noNaN: true }),
        (p, attempt, r) => {
          const d = backoffDelay(p, attempt, () => r);
          expect(d).toBeGreaterThanOrEqual(0);
          expect(d).toBeLessThanOrEqual(p.maxMs);
          const flat = { ...p, jitter: 0 };
          expect(backoffDelay(flat, attempt + 1, () => r)).toBeGreaterThanOrEqual(backoffDelay(flat, attempt, () => r));
        },
      ),
    );
  });
});

describe('Backoff', () => {
  it('grows per failure and starts over after reset', () => {
    const b = new Backoff(noJitter, () => 0.5);
    expect([b.next(), b.next(), b.next()]).toEqual([100, 200, 400]);
    expect(b.attempts).toBe(3);
    b.reset();
    expect(b.next()).toBe(100);
  });
});

describe('TokenBucket', () => {
  it('lets a burst through, then spaces reservations by 1/rate', () => {
    const bucket = new TokenBucket({ perSecond: 10, burst: 3 }, 0);
    expect([bucket.reserve(0), bucket.reserve(0), bucket.reserve(0)]).toEqual([0, 0, 0]);
    expect(bucket.reserve(0)).toBeCloseTo(100);
    expect(bucket.reserve(0)).toBeCloseTo(200);
  });

  it('refills over time up to the burst', () => {
    const bucket = new TokenBucket({ perSecond: 10, burst: 2 }, 0);
    bucket.reserve(0);
    bucket.reserve(0);
    expect(bucket.reserve(10_000)).toBe(0);
    expect(bucket.reserve(10_000)).toBe(0);
    expect(bucket.reserve(10_000)).toBeCloseTo(100);
  });
});
