// List-then-watch as a state machine (after kube-rs `kube-runtime/src/watcher.rs`). Inputs: a ListWatchSource, an
// AbortSignal, a clock, randomness and a backoff policy. Output: an async iterable of five events:
//   init → initApply* → initDone   (a complete list; the consumer swaps its cache at initDone)
//   apply | delete                 (watch events after that list)
// and again `init ...` whenever it must relist.
// Invariants: the watch resumes from the last resourceVersion seen (events and bookmarks); 410 Gone (a version the
// server no longer keeps) leads to a relist, never to a gap; every other failure — refused connections, resets, 5xx,
// ERROR events, a server closing the stream at once — waits a jittered exponential backoff (reset once a watch has
// delivered anything) and then resumes; nothing but the signal ends the iteration.
import type { Logger } from '../log/logger.js';
import { silentLogger } from '../log/logger.js';
import { Backoff, DEFAULT_BACKOFF, type BackoffPolicy } from './backoff.js';
import { sleep, systemClock, type Clock } from './clock.js';
import { GoneError, errorFromResponse, parseStatus } from './errors.js';
import type { ListWatchSource, RawWatchEvent } from './list-watch-source.js';
import { readMeta } from './object-meta.js';

export type WatcherEvent =
  | { type: 'init' }
  | { type: 'initApply'; object: unknown }
  | { type: 'initDone'; resourceVersion: string }
  | { type: 'apply'; object: unknown }
  | { type: 'delete'; object: unknown };

/** Counters the watcher keeps, for tests and metrics. */
export interface WatcherStats {
  lists: number;
  watches: number;
  /** 410 Gone answers (each one causes a relist). */
  gone: number;
  /** Failures waited out with backoff. */
  errors: number;
  lastError: Error | undefined;
}

export function newWatcherStats(): WatcherStats {
  return { lists: 0, watches: 0, gone: 0, errors: 0, lastError: undefined };
}

export interface WatcherOptions {
  signal: AbortSignal;
  clock?: Clock;
  random?: () => number;
  backoff?: BackoffPolicy;
  pageSize?: number;
  /** The server ends each watch after a random time in this range (client-go: 5–10 min). */
  watchTimeoutSeconds?: { min: number; max: number };
  /** A watch that ends cleanly sooner than this without delivering anything counts as a failure. */
  minHealthyWatchMs?: number;
  logger?: Logger;
  stats?: WatcherStats;
  /** Told each time a counter in `stats` moves (metrics hook). */
  observe?: (what: 'list' | 'watch' | 'gone' | 'error') => void;
}

export async function* watchObjects(source: ListWatchSource, opts: WatcherOptions): AsyncGenerator<WatcherEvent> {
  const clock = opts.clock ?? systemClock;
  const random = opts.random ?? Math.random;
  const log = (opts.logger ?? silentLogger()).child({ watch: source.description });
  const stats = opts.stats ?? newWatcherStats();
  const backoff = new Backoff(opts.backoff ?? DEFAULT_BACKOFF, random);
  const timeouts = opts.watchTimeoutSeconds ?? { min: 300, max: 600 };
  const minHealthy = opts.minHealthyWatchMs ?? 1000;
  const { signal } = opts;
  const observe = opts.observe ?? ((): void => undefined);
  let rv: string | undefined;
  /** `rv` is the version a list just returned and no watch has moved it on since. */
  let rvFromList = false;

  const fail = async (err: unknown, phase: 'list' | 'watch'): Promise<void> => {
    stats.errors++;
    observe('error');
    stats.lastError = err instanceof Error ? err : new Error(String(err));
    const delayMs = Math.round(backoff.next());
    log.warn({ phase, err: stats.lastError.message, delayMs }, 'watch failed; retrying');
    await sleep(clock, delayMs, signal);
  };

  while (!signal.aborted) {
    if (rv === undefined) {
      stats.lists++;
      observe('list');
      try {
        yield { type: 'init' };
        let cont: string | undefined;
        let listRv = '';
        do {
          const page = await source.list({
            limit: opts.pageSize ?? 500,
            signal,
            ...(cont !== undefined ? { continueToken: cont } : {}),
          });
          for (const object of page.items) yield { type: 'initApply', object };
          cont = page.continueToken;
          listRv = page.resourceVersion;
        } while (cont !== undefined && !signal.aborted);
        if (signal.aborted) return;
        rv = listRv;
        rvFromList = true;
        log.debug({ resourceVersion: rv }, 'listed');
        yield { type: 'initDone', resourceVersion: rv };
      } catch (err) {
        if (signal.aborted) return;
        if (err instanceof GoneError) {
          // An expired continue token: the next list starts over from the first page.
          stats.gone++;
          observe('gone');
          continue;
        }
        await fail(err, 'list');
        continue;
      }
    }

    // Watch from `rv`. Events arrive on a callback; they are queued and yielded in order.
    stats.watches++;
    observe('watch');
    const queue: RawWatchEvent[] = [];
    let ended: { error?: unknown } | undefined;
    let wake: (() => void) | undefined;
    const stop = new AbortController();
    const onAbort = (): void => stop.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    const startedAt = clock.now();
    const span = Math.max(0, timeouts.max - timeouts.min);
    const timeoutSeconds = Math.round(timeouts.min + span * random());
    let delivered = 0;
    void source
      .watch({ resourceVersion: rv, timeoutSeconds, signal: stop.signal }, (ev) => {
        queue.push(ev);
        wake?.();
      })
      .then(
        () => (ended = {}),
        (error: unknown) => (ended = { error }),
      )
      .finally(() => wake?.());

    try {
      for (;;) {
        while (queue.length > 0) {
          const ev = queue.shift() as RawWatchEvent;
          if (ev.type === 'ERROR') {
            const status = parseStatus(ev.object);
            throw errorFromResponse(status?.code ?? 0, ev.object, { verb: 'watch', resource: source.description });
          }
          delivered++;
          rvFromList = false;
          const eventRv = readMeta(ev.object)?.resourceVersion;
          if (eventRv !== undefined) rv = eventRv;
          if (ev.type === 'ADDED' || ev.type === 'MODIFIED') yield { type: 'apply', object: ev.object };
          else if (ev.type === 'DELETED') yield { type: 'delete', object: ev.object };
          if (signal.aborted) return;
        }
        if (ended) {
          if (ended.error !== undefined) throw ended.error;
          break;
        }
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
      if (delivered > 0) backoff.reset();
      else if (clock.now() - startedAt < minHealthy) await fail(new Error('watch ended at once'), 'watch');
    } catch (err) {
      if (signal.aborted) return;
      if (delivered > 0) backoff.reset();
      if (err instanceof GoneError) {
        stats.gone++;
        observe('gone');
        log.info({ resourceVersion: rv }, 'watch expired; relisting');
        // Relist at once, unless the version a list just returned is already gone: then something is wrong, wait.
        // A version that events moved on is expected to expire — e.g. a restarted apiserver starts its watch cache
        // at a newer version — and waiting out a backoff grown by the outage would only delay convergence.
        const wait = rvFromList && delivered === 0;
        rv = undefined;
        if (wait) await sleep(clock, Math.round(backoff.next()), signal);
        continue;
      }
      await fail(err, 'watch');
    } finally {
      stop.abort();
      signal.removeEventListener('abort', onAbort);
    }
  }
}
