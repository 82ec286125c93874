// The reconcile runtime (STYLE.md §1, §4; controller-runtime's `reconcileHandler`). Inputs: keys from informer
// handlers (`enqueue`), a `reconcile(key, ctx)` function, an error policy, a clock, a logger and metrics. Outputs:
// reconcile calls — one at a time per key, at most `maxConcurrency` at once — and metrics per result.
// Contract: `reconcile` gets only a key, reads current state, may run twice safely, and returns an Outcome:
// `{}` (done) or `{ requeueAfterMs }` (done, look again later). Throwing means retry with per-key backoff; throwing a
// `TerminalError` (e.g. an invalid spec already reported in a condition) means do not retry.
// Invariants: an exception never escapes the loop; every reconcile gets its own child logger (`controller`, `name`,
// `reconcileId`) and an AbortSignal that fires on its timeout and on a non-draining stop; every result series starts
// at zero (`controllerRegistered`).
import type { Logger } from '../log/logger.js';
import { silentLogger } from '../log/logger.js';
import type { BackoffPolicy, TokenBucketPolicy } from './backoff.js';
import { systemClock, type Clock } from './clock.js';
import { ConflictError, TransientError } from './errors.js';
import { noopMetrics, type ControllerMetrics, type ReconcileResult } from './metrics.js';
import { WorkQueue, type WorkResult } from './work-queue.js';

export interface Outcome {
  /** Look again after this many milliseconds (a poll, not a failure: no backoff). */
  requeueAfterMs?: number;
}

/** A failure that retrying cannot fix: counted and logged, never retried. */
export class TerminalError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TerminalError';
  }
}

export interface ReconcileContext {
  /** Aborts on the reconcile's timeout and when the controller stops without draining. */
  signal: AbortSignal;
  log: Logger;
  reconcileId: string;
  /** Failures in a row before this run (0 normally). */
  attempt: number;
}

export type Reconcile = (key: string, ctx: ReconcileContext) => Promise<Outcome | void>;

export type ErrorAction = { retry: true; afterMs?: number } | { retry: false };

/** Decides what a thrown error means; pure, so each controller can unit-test its own. */
export type ErrorPolicy = (err: unknown, key: string) => ErrorAction;

export const defaultErrorPolicy: ErrorPolicy = (err) => {
  if (err instanceof TerminalError) return { retry: false };
  if (err instanceof TransientError && err.retryAfterMs !== undefined)
    return { retry: true, afterMs: err.retryAfterMs };
  return { retry: true };
};

export interface ControllerOptions {
  /** Metric label and log field, e.g. `ippool`. */
  name: string;
  reconcile: Reconcile;
  maxConcurrency?: number;
  backoff?: BackoffPolicy;
  rateLimit?: TokenBucketPolicy | null;
  /** Per-reconcile timeout (the signal aborts); default 60 s. */
  timeoutMs?: number;
  errorPolicy?: ErrorPolicy;
  clock?: Clock;
  random?: () => number;
  logger?: Logger;
  metrics?: ControllerMetrics;
}

export interface Controller {
  readonly name: string;
  enqueue(key: string): void;
  enqueueAfter(key: string, delayMs: number): void;
  start(): void;
  /** Stops taking keys; `drain` (default true) finishes ready keys first, else running ones are aborted. */
  stop(opts?: { drain?: boolean }): Promise<void>;
  /** Keys waiting to run. */
  readonly depth: number;
  /** Keys waiting (also those delayed) or running. */
  keys(): string[];
  /** Resolves when no key is ready or running. */
  idle(): Promise<void>;
  failures(key: string): number;
}

export function createController(opts: ControllerOptions): Controller {
  const clock = opts.clock ?? systemClock;
  const metrics = opts.metrics ?? noopMetrics;
  const log = (opts.logger ?? silentLogger()).child({ controller: opts.name });
  const errorPolicy = opts.errorPolicy ?? defaultErrorPolicy;
  const timeoutMs = opts.timeoutMs ?? 60_000;
  let seq = 0;
  metrics.controllerRegistered(opts.name);

  const finish = (result: ReconcileResult, startedAt: number): void => {
    metrics.reconcileCompleted(opts.name, result, Math.max(0, clock.now() - startedAt) / 1000);
  };

  async function process(key: string, queueSignal: AbortSignal): Promise<WorkResult> {
    const reconcileId = `${opts.name}-${++seq}`;
    const rlog = log.child({ name: key, reconcileId });
    const timeout = new AbortController();
    const timer = clock.setTimer(
      () => timeout.abort(new Error(`reconcile timed out after ${timeoutMs} ms`)),
      timeoutMs,
    );
    const signal = AbortSignal.any([queueSignal, timeout.signal]);
    const startedAt = clock.now();
    try {
      const outcome = await opts.reconcile(key, { signal, log: rlog, reconcileId, attempt: queue.failures(key) });
      const after = outcome?.requeueAfterMs;
      if (after !== undefined && after >= 0) {
        finish('requeue', startedAt);
        return { type: 'requeueAfter', delayMs: after };
      }
      finish('success', startedAt);
      return { type: 'done' };
    } catch (err) {
      const action = errorPolicy(err, key);
      const message = err instanceof Error ? err.message : String(err);
      if (!action.retry) {
        finish('terminal', startedAt);
        rlog.warn({ err: message }, 'reconcile failed; not retrying');
        return { type: 'drop' };
      }
      finish('error', startedAt);
      if (err instanceof ConflictError || err instanceof TransientError)
        rlog.info({ err: message }, 'reconcile failed; retrying');
      else
        rlog.error({ err: message, stack: err instanceof Error ? err.stack : undefined }, 'reconcile failed; retrying');
      return action.afterMs !== undefined ? { type: 'retry', afterMs: action.afterMs } : { type: 'retry' };
    } finally {
      timer.cancel();
    }
  }

  const queue: WorkQueue<string> = new WorkQueue<string>({
    process,
    clock,
    ...(opts.random ? { random: opts.random } : {}),
    ...(opts.maxConcurrency !== undefined ? { maxConcurrency: opts.maxConcurrency } : {}),
    ...(opts.backoff ? { backoff: opts.backoff } : {}),
    ...(opts.rateLimit !== undefined ? { rateLimit: opts.rateLimit } : {}),
    onDepth: (depth) => metrics.queueDepth(opts.name, depth),
  });

  return {
    name: opts.name,
    enqueue: (key) => queue.add(key),
    enqueueAfter: (key, delayMs) => queue.add(key, delayMs),
    start: () => queue.start(),
    stop: (o) => queue.shutdown(o),
    keys: () => queue.keys(),
    get depth() {
      return queue.depth;
    },
    idle: () => queue.idle(),
    failures: (key) => queue.failures(key),
  };
}
