// Waiting for an observable condition in a test: poll it with a generous ceiling instead of sleeping a fixed time or
// bounding how long it may take (timing claims belong in `npm run bench`).
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * How long a wait may take before it fails: generous, because a wait ends as soon as its condition holds and a loaded
 * 2-core machine can be many times slower than an idle one. Timing claims live in `npm run bench`, not here.
 */
export const DEFAULT_CEILING_MS = 120_000;

/**
 * Polls `probe` until it returns a value that is not undefined/false, or throws after `timeoutMs` with `what` and the
 * last thing `describe` says (so a timeout shows the state that did not converge).
 */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  o: { timeoutMs?: number; intervalMs?: number; describe?: () => unknown } = {},
): Promise<{ value: T; ms: number }> {
  const started = Date.now();
  const deadline = started + (o.timeoutMs ?? DEFAULT_CEILING_MS);
  let lastError: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return { value: v, ms: Date.now() - started };
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const detail = lastError !== undefined ? `; last error: ${String(lastError)}` : '';
      const state = o.describe ? `; last state: ${JSON.stringify(o.describe(), null, 1)}` : '';
      throw new Error(`${what}: not within ${o.timeoutMs ?? DEFAULT_CEILING_MS} ms${detail}${state}`);
    }
    await sleep(o.intervalMs ?? 100);
  }
}
