// Polling for dataplane tests: waits until a probe holds, and says how long it took (convergence figures) or, on
// timeout, what the probe last saw.

export interface WaitResult<T> {
  value: T;
  /** Time from the call until the probe first held. */
  ms: number;
}

/**
 * Calls `probe` every `everyMs` until it returns something other than undefined (a probe that throws counts as not
 * yet). Throws after `timeoutMs` with `what` and the last error or `describe()` of the last state.
 */
export async function waitUntil<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  opts: { timeoutMs?: number; everyMs?: number; describe?: () => Promise<string> | string } = {},
): Promise<WaitResult<T>> {
  const start = performance.now();
  const timeoutMs = opts.timeoutMs ?? 120_000;
  let last = '';
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return { value: v, ms: performance.now() - start };
      last = '';
    } catch (e) {
      last = (e as Error).message;
    }
    if (performance.now() - start > timeoutMs) {
      const state = opts.describe ? await opts.describe() : last;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${state ? `:\n${state}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, opts.everyMs ?? 100));
  }
}
