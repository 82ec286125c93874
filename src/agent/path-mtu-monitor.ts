// Runs the path-MTU probes (path-mtu.ts) beside the sync loop and reports what they find.
//
// Inputs: after each sync, the paths the node's routes use (`update`); a CommandRunner for `ping` in the node's
// network namespace; timers. Outputs: `report(condition, summary)` when the PathMTU condition or status.pathMTU would
// change, and per-result path counts for /metrics.
// Behaviour: a round probes at most `maxPathsPerRound` paths, `concurrency` at a time, never-probed paths first,
// then the oldest; a round starts when update() brings a path not probed yet (a new peer, a changed MTU or
// encapsulation), every `intervalMs` after the last round, and again at once while paths are still unprobed.
// Invariants: update() never waits (the sync loop is never held by a probe); one round at a time; a failing probe or
// report is logged and retried by the next round, never thrown; verdicts are kept only for the current paths; stop()
// waits for the probes in flight only.
import type { Logger } from '../log/logger.js';
import type { Timers } from './agent-loop.js';
import type { CommandRunner } from './linux/command-runner.js';
import {
  nextProbeSize,
  parseProbe,
  pathChecks,
  pathMtuCondition,
  pathMtuSummary,
  pathVerdict,
  pickPaths,
  probeArgv,
  probeIdentity,
  recordProbe,
  startSearch,
  type PathCheck,
  type PathInput,
  type PathMtuCondition,
  type PathMtuSummary,
  type PathResult,
  type PathSearch,
} from './path-mtu.js';

export interface PathMtuCounts {
  ok: number;
  tooSmall: number;
  unreachable: number;
}

export interface PathMtuMonitorOptions {
  runner: CommandRunner;
  /** Writes the condition and summary; a throw means "not written" (the next round tries again). */
  report(condition: PathMtuCondition, summary: PathMtuSummary): Promise<void>;
  onCounts?(counts: PathMtuCounts): void;
  logger?: Logger;
  /** Period between rounds (default 90 s, Felix's routeRefreshInterval). */
  intervalMs?: number;
  maxPathsPerRound?: number;
  concurrency?: number;
  timers?: Timers;
  now?: () => number;
}

export interface PathMtuMonitor {
  /** The paths as of the last sync; starts a round when one of them has not been probed yet. Never waits. */
  update(input: PathInput): void;
  /** Resolves when no round is running or due at once (for tests and shutdown). */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

const realTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

export function createPathMtuMonitor(opts: PathMtuMonitorOptions): PathMtuMonitor {
  const timers = opts.timers ?? realTimers;
  const now = opts.now ?? (() => Date.now());
  const intervalMs = opts.intervalMs ?? 90_000;
  const maxPaths = opts.maxPathsPerRound ?? 32;
  const concurrency = Math.max(1, opts.concurrency ?? 4);
  const log = opts.logger;

  let checks: PathCheck[] | undefined;
  /** Verdict and probe time per path identity (probeIdentity). */
  const results = new Map<string, { result: PathResult; at: number }>();
  let lastReported: string | undefined;
  let running: Promise<void> | undefined;
  let again = false;
  let timer: unknown;
  let stopped = false;

  const unprobed = (): boolean => (checks ?? []).some((c) => !results.has(probeIdentity(c)));

  async function probe(check: PathCheck): Promise<PathResult | undefined> {
    let search: PathSearch = startSearch();
    for (let size = nextProbeSize(check, search); size !== undefined; size = nextProbeSize(check, search)) {
      // Stopping ends the search after the probe in flight (at most 1 s), not after up to 16 of them per path.
      if (stopped) return undefined;
      const argv = probeArgv(check, size);
      try {
        const r = await opts.runner.run(argv);
        search = recordProbe(search, size, parseProbe(r.code, r.stdout, r.stderr));
      } catch (e) {
        search = recordProbe(search, size, { kind: 'error', message: (e as Error).message });
      }
    }
    return { check, verdict: pathVerdict(check, search) };
  }

  async function round(): Promise<void> {
    const current = checks ?? [];
    const lastProbed = new Map([...results].map(([k, v]) => [k, v.at]));
    const picked = pickPaths(current, lastProbed, maxPaths);
    const queue = [...picked];
    const worker = async (): Promise<void> => {
      for (let c = queue.shift(); c !== undefined && !stopped; c = queue.shift()) {
        const r = await probe(c);
        if (r) results.set(probeIdentity(c), { result: r, at: now() });
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, picked.length) }, worker));
    if (stopped) return;

    // Only the paths of the latest plan count (update() may have replaced them during the round).
    const latest = checks ?? [];
    const keep = new Set(latest.map(probeIdentity));
    for (const k of results.keys()) if (!keep.has(k)) results.delete(k);
    const known = latest.flatMap((c) => results.get(probeIdentity(c))?.result ?? []);
    opts.onCounts?.({
      ok: known.filter((r) => r.verdict.result === 'ok').length,
      tooSmall: known.filter((r) => r.verdict.result === 'too-small').length,
      unreachable: known.filter((r) => r.verdict.result === 'unreachable').length,
    });
    // Until every path has a verdict, a True would speak for paths nobody looked at: wait for them.
    if (known.length < latest.length) return;
    const condition = pathMtuCondition(known);
    const summary = pathMtuSummary(known);
    const key = JSON.stringify([condition, summary]);
    if (key === lastReported) return;
    await opts.report(condition, summary);
    lastReported = key;
    log?.info(
      { status: condition.status, reason: condition.reason, paths: summary.paths, failing: summary.failing.length },
      'path MTU reported',
    );
  }

  function schedule(ms: number): void {
    if (stopped) return;
    if (timer !== undefined) timers.clearTimeout(timer);
    timer = timers.setTimeout(() => {
      timer = undefined;
      kick();
    }, ms);
  }

  function kick(): void {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    again = false;
    running = round()
      .catch((e: unknown) => log?.warn({ err: (e as Error).message }, 'path MTU round failed; retrying next round'))
      .finally(() => {
        running = undefined;
        if (stopped) return;
        if (again || unprobed()) kick();
        else schedule(intervalMs);
      });
  }

  return {
    update(input) {
      checks = pathChecks(input);
      if (unprobed()) kick();
      else if (timer === undefined && running === undefined) schedule(intervalMs);
    },
    async idle() {
      while (running) await running;
    },
    async stop() {
      stopped = true;
      if (timer !== undefined) timers.clearTimeout(timer);
      timer = undefined;
      while (running) await running;
    },
  };
}
