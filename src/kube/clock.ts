// Time as a dependency. Inputs: none. Outputs: `Clock` (now + one-shot timers) and `sleep` on top of it.
// Everything in src/kube that waits (backoff, resync, lease renewal, work-queue delays, event series) takes a Clock,
// so unit tests drive it with `FakeClock` instead of real time; `systemClock` is the only place that reads it.
// Invariant: a cancelled timer never fires; `sleep` settles exactly once (fully slept, or aborted).

export interface Timer {
  cancel(): void;
}

export interface Clock {
  /** Milliseconds since the epoch (or since the fake clock's origin). */
  now(): number;
  /** Runs `fn` once after `ms` milliseconds (0 or less: on the next turn, never synchronously). */
  setTimer(fn: () => void, ms: number): Timer;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(fn, ms) {
    const handle = setTimeout(fn, Math.max(0, ms));
    return { cancel: () => clearTimeout(handle) };
  },
};

/** Resolves `true` after `ms`, or `false` as soon as `signal` aborts (immediately when it already has). */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = (): void => {
      timer.cancel();
      resolve(false);
    };
    const timer = clock.setTimer(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
