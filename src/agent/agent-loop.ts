// The agent's sync loop: snapshots in, syncs out, latest wins.
//
// Inputs: an async source of SyncInput snapshots (the Kubernetes wiring yields one whenever the node's NodeDataplane
// or one of its view's RouteTable shards changes), an optional kernel watcher (ip monitor) and timers.
// Behaviour: a sync runs when there is a new snapshot, when the watcher saw drift (debounced, then the kernel is
// reread), when the periodic resync is due (FelixConfiguration routeRefreshInterval, reread), or when a failed
// sync's backoff expires. Snapshots that arrive during a sync collapse into the newest. Each report goes to
// `onReport` with `statusChanged` telling whether status.applied / Programmed would change since the last status
// `onReport` completed without throwing, `triggers` naming every cause that made this sync run, and `retryInMs` the
// backoff after which a failed sync runs again (undefined: none scheduled): the log says why the agent looked at the
// kernel and whether it will look again on its own, so nobody has to infer either from timing. A throwing `onReport`
// (the status write failed) is called again with the same report after a doubling backoff, without a new sync, until
// it succeeds or a newer report replaces it.
// Invariants: one sync at a time; a throwing sync or callback never ends the loop; a status counts as written only
// once `onReport` returned; the loop ends when the signal aborts, or when the source ends and its last snapshot has
// been synced.
import type { Logger } from '../log/logger.js';
import type { AgentSyncer, SyncInput } from './agent-syncer.js';
import { type ApplyReport, appliedStatusKey } from './apply-report.js';

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/**
 * Why a sync ran: a new snapshot, drift the kernel watcher saw, the periodic resync, or the backoff retry of a failed
 * sync. Several can hold at once (they collapse into one sync).
 */
export type SyncTrigger = 'snapshot' | 'kernel' | 'resync' | 'retry';

export interface ReportInfo {
  /** Whether status.applied / Programmed would change since the last status onReport accepted. */
  statusChanged: boolean;
  /** A repeated delivery of the same report after onReport threw (no new sync ran). */
  retry: boolean;
  /** What made the sync behind this report run, in the order snapshot, kernel, resync, retry. */
  triggers: SyncTrigger[];
  /** The sync failed (fatal, asked for a retry, or threw) and runs again after this backoff; undefined otherwise. */
  retryInMs: number | undefined;
}

export interface AgentLoopOptions {
  syncer: Pick<AgentSyncer, 'syncOnce' | 'invalidate'>;
  snapshots: AsyncIterable<SyncInput>;
  signal?: AbortSignal;
  /** Period of full kernel rereads; default the latest desired.felix.routeRefreshIntervalSeconds (0: never). */
  resyncIntervalMs?: number;
  /** Subscribes to kernel changes; returns an unsubscribe function. */
  watchKernel?: (onChange: () => void) => () => void;
  /** Throwing means the status write failed: the loop calls again later (`retry: true`) with the same report. */
  onReport?: (report: ApplyReport, info: ReportInfo) => void | Promise<void>;
  /** Quiet time after a kernel event before the sync (default 50 ms). */
  debounceMs?: number;
  backoff?: { initialMs: number; maxMs: number };
  timers?: Timers;
  logger?: Logger;
}

type SyncFacts = Pick<ReportInfo, 'triggers' | 'retryInMs'>;

const realTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

export async function runAgentLoop(options: AgentLoopOptions): Promise<void> {
  const timers = options.timers ?? realTimers;
  const backoff = options.backoff ?? { initialMs: 200, maxMs: 10_000 };
  const debounceMs = options.debounceMs ?? 50;
  const log = options.logger;

  let latest: SyncInput | undefined;
  let inputSeq = 0;
  let syncedSeq = 0;
  let kernelDirty = false;
  let resyncDue = false;
  let retryDue = false;
  let reportDue = false;
  let sourceDone = false;
  let retryDelay = backoff.initialMs;
  let reportDelay = backoff.initialMs;
  /** Key of the last status onReport accepted; a failed write leaves it, so the next report counts as a change. */
  let lastStatusKey: string | undefined;
  /** The report whose delivery failed, waiting for its retry, with what its sync said about itself. */
  let unreported: { report: ApplyReport; about: SyncFacts } | undefined;
  let wake: (() => void) | undefined;
  const handles = {
    resync: undefined as unknown,
    retry: undefined as unknown,
    debounce: undefined as unknown,
    report: undefined as unknown,
  };

  const poke = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const aborted = () => options.signal?.aborted === true;
  const clear = (k: keyof typeof handles) => {
    if (handles[k] !== undefined) timers.clearTimeout(handles[k]);
    handles[k] = undefined;
  };
  options.signal?.addEventListener('abort', poke, { once: true });

  const iterator = options.snapshots[Symbol.asyncIterator]();
  const consumer = (async () => {
    try {
      while (!aborted()) {
        const next = await iterator.next();
        if (next.done === true) break;
        latest = next.value;
        inputSeq++;
        poke();
      }
    } catch (e) {
      log?.error({ err: e }, 'agent snapshot source failed');
    } finally {
      sourceDone = true;
      poke();
    }
  })();

  const unwatch = options.watchKernel?.(() => {
    clear('debounce');
    handles.debounce = timers.setTimeout(() => {
      handles.debounce = undefined;
      kernelDirty = true;
      options.syncer.invalidate();
      poke();
    }, debounceMs);
  });

  const resyncMs = () => options.resyncIntervalMs ?? (latest?.desired.felix.routeRefreshIntervalSeconds ?? 0) * 1000;

  const deliver = async (report: ApplyReport, about: SyncFacts, retry: boolean): Promise<void> => {
    if (options.onReport === undefined) return;
    clear('report');
    unreported = undefined;
    const key = appliedStatusKey(report);
    try {
      await options.onReport(report, { statusChanged: key !== lastStatusKey, retry, ...about });
      lastStatusKey = key;
      reportDelay = backoff.initialMs;
    } catch (e) {
      log?.error({ err: e, retryInMs: reportDelay }, 'agent report callback failed');
      unreported = { report, about };
      handles.report = timers.setTimeout(() => {
        handles.report = undefined;
        reportDue = true;
        poke();
      }, reportDelay);
      reportDelay = Math.min(reportDelay * 2, backoff.maxMs);
    }
  };

  try {
    while (!aborted()) {
      const input = latest;
      const due = input !== undefined && (inputSeq !== syncedSeq || kernelDirty || resyncDue || retryDue);
      if (!due && reportDue) {
        reportDue = false;
        if (unreported !== undefined) await deliver(unreported.report, unreported.about, true);
        continue;
      }
      if (!due) {
        if (sourceDone && inputSeq === syncedSeq) break;
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        continue;
      }
      const reread = kernelDirty || resyncDue;
      const triggers: SyncTrigger[] = [];
      if (inputSeq !== syncedSeq) triggers.push('snapshot');
      if (kernelDirty) triggers.push('kernel');
      if (resyncDue) triggers.push('resync');
      if (retryDue) triggers.push('retry');
      kernelDirty = resyncDue = retryDue = false;
      const seq = inputSeq;
      let report: (ApplyReport & { retry?: boolean }) | undefined;
      try {
        report = await options.syncer.syncOnce(input, { reread });
      } catch (e) {
        log?.error({ err: e }, 'agent sync threw');
      }
      syncedSeq = seq;

      clear('retry');
      let retryInMs: number | undefined;
      if (report === undefined || report.fatal || report.retry === true) {
        retryInMs = retryDelay;
        handles.retry = timers.setTimeout(() => {
          handles.retry = undefined;
          retryDue = true;
          poke();
        }, retryDelay);
        retryDelay = Math.min(retryDelay * 2, backoff.maxMs);
      } else retryDelay = backoff.initialMs;

      // The resync period runs from the last kernel read; syncs in between (new snapshots) do not postpone it.
      const every = resyncMs();
      if (report?.reread === true || every <= 0) clear('resync');
      if (every > 0 && handles.resync === undefined) {
        handles.resync = timers.setTimeout(() => {
          handles.resync = undefined;
          resyncDue = true;
          poke();
        }, every);
      }

      // A newer report supersedes one whose write is still waiting for its retry.
      if (report !== undefined) {
        reportDue = false;
        await deliver(report, { triggers, retryInMs }, false);
      }
    }
  } finally {
    clear('resync');
    clear('retry');
    clear('debounce');
    clear('report');
    unwatch?.();
    options.signal?.removeEventListener('abort', poke);
    if (!sourceDone) void iterator.return?.();
    if (sourceDone) await consumer;
  }
}
