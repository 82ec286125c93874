// Exponential backoff with jitter and a cap, and an overall token bucket. Pure: randomness and time are arguments.
// Inputs: a policy, the attempt number (1 = first retry) or the current time. Outputs: a delay in milliseconds.
// Invariants: 0 <= delay <= maxMs; the un-jittered delay never decreases with the attempt number; jitter spreads the
// delay to [base·(1-jitter), base·(1+jitter)] before the cap, so many clients failing together do not retry together.

export interface BackoffPolicy {
  /** Delay before the first retry. */
  initialMs: number;
  /** Upper bound of any delay. */
  maxMs: number;
  /** Growth per attempt (2 doubles). */
  factor: number;
  /** 0..1: fraction of the delay randomised either way. */
  jitter: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 500, maxMs: 60_000, factor: 2, jitter: 0.2 };

/** `random` returns a number in [0, 1), like Math.random. */
export function backoffDelay(policy: BackoffPolicy, attempt: number, random: () => number): number {
  const n = Math.max(1, Math.floor(attempt));
  // Computing factor^(n-1) for a large n overflows to Infinity, which the cap handles; NaN cannot arise for factor >= 1.
  const base = Math.min(policy.maxMs, policy.initialMs * Math.pow(Math.max(1, policy.factor), n - 1));
  const jitter = Math.min(1, Math.max(0, policy.jitter));
  const spread = 1 - jitter + 2 * jitter * random();
  return Math.max(0, Math.min(policy.maxMs, base * spread));
}

/** A counter over `backoffDelay`: `next()` after each failure, `reset()` after a success. */
export class Backoff {
  private attempt = 0;

  constructor(
    private readonly policy: BackoffPolicy,
    private readonly random: () => number,
  ) {}

  next(): number {
    this.attempt++;
    return backoffDelay(this.policy, this.attempt, this.random);
  }

  reset(): void {
    this.attempt = 0;
  }

  get attempts(): number {
    return this.attempt;
  }
}

export interface TokenBucketPolicy {
  /** Tokens added per second. */
  perSecond: number;
  /** Tokens the bucket holds at most (and starts with). */
  burst: number;
}

/**
 * client-go's overall retry limiter (`workqueue.DefaultControllerRateLimiter`'s bucket): each `reserve` takes a token
 * and returns how long the caller must wait for it; reservations queue up, so waits grow while the bucket is empty.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly policy: TokenBucketPolicy,
    now: number,
  ) {
    this.tokens = policy.burst;
    this.last = now;
  }

  reserve(now: number): number {
    const elapsed = Math.max(0, now - this.last) / 1000;
    this.last = Math.max(this.last, now);
    this.tokens = Math.min(this.policy.burst, this.tokens + elapsed * this.policy.perSecond);
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : (-this.tokens / this.policy.perSecond) * 1000;
  }
}
