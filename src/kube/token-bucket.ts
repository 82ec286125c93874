// A token bucket (the shape of client-go's flowcontrol token bucket limiter and of the kubelet's eventRecordQPS /
// eventBurst): `burst` tokens to start with, one more every 1/`perSecond` s up to `burst`. `take(now)` spends one if
// there is one. Time is an argument, so the bucket is a pure value over the caller's clock.
// Invariants: never more than `burst` tokens; over any window of T ms at most burst + T·perSecond/1000 takes succeed.

/** Refills add fractions: a sum meant to be 1 may come out a hair below it. */
const EPSILON = 1e-9;

export interface RateLimit {
  /** Sustained rate: tokens added per second. */
  perSecond: number;
  /** Bucket size: how many may go at once after a quiet period. */
  burst: number;
}

export interface TokenBucket {
  /** Spends a token if one is there at `now`. */
  take(now: number): boolean;
  /** Milliseconds from `now` until a token will be there (0 when one is). */
  waitMs(now: number): number;
}

export function createTokenBucket(limit: RateLimit, now: number): TokenBucket {
  if (!(limit.perSecond > 0) || !Number.isFinite(limit.perSecond)) {
    throw new RangeError(`rate limit perSecond must be a positive number (got ${limit.perSecond})`);
  }
  if (!Number.isInteger(limit.burst) || limit.burst < 1) {
    throw new RangeError(`rate limit burst must be an integer of at least 1 (got ${limit.burst})`);
  }
  let tokens = limit.burst;
  let last = now;
  const refill = (t: number): void => {
    // A clock that steps back refills nothing (and does not move `last` back).
    if (t <= last) return;
    tokens = Math.min(limit.burst, tokens + ((t - last) * limit.perSecond) / 1000);
    last = t;
  };
  return {
    take(t) {
      refill(t);
      if (tokens < 1 - EPSILON) return false;
      tokens -= 1;
      return true;
    },
    waitMs(t) {
      refill(t);
      return tokens >= 1 - EPSILON ? 0 : Math.ceil(((1 - tokens) * 1000) / limit.perSecond);
    },
  };
}
