// Leader election on a coordination.k8s.io/v1 Lease (client-go `tools/leaderelection` semantics). Inputs: a Lease
// client, the lease's namespace/name, this candidate's identity, durations, a clock, callbacks. Outputs:
// `onStartedLeading(signal)` when this candidate takes the lease, `onStoppedLeading()` when it loses or gives it up
// (the signal aborts at the same moment), `onNewLeader(identity)` when the observed holder changes.
// Invariants:
// - Every write of the Lease is a compare-and-swap on its resourceVersion (create when absent); a lost race is a
//   failed attempt, never an overwrite.
// - Another holder's lease counts as expired only `leaseDuration` after this process saw its record change, on this
//   process's clock — never by comparing clocks across machines.
// - A leader that cannot renew for `renewDeadline`, or sees another holder, stops leading at once; renewDeadline <
//   leaseDuration, so it stops before anyone else may take over.
// - `stop({ release: true })` (the default) clears the holder so a successor takes over at its next attempt.
// - The leader can carry annotations on the Lease (`carry`): they ride on its renewals (no request of their own) and
//   the next leader finds them on the Lease it takes over (`annotation`) — state a term hands to the next, such as
//   the first-seen times of IPAM GC's grace periods. A new leader's first write leaves them as they are.
import type { Logger } from '../log/logger.js';
import { silentLogger } from '../log/logger.js';
import { sleep, systemClock, type Clock } from './clock.js';
import type { ResourceClient } from './client.js';
import { microTime, type Lease } from './core-kinds.js';
import { ConflictError, NotFoundError } from './errors.js';
import { noopMetrics, type LeaderElectionMetrics } from './metrics.js';

/** The Lease calls the elector makes (`KubeClient.leases()` provides them). */
export type LeaseClient = Pick<ResourceClient<Lease>, 'get' | 'create' | 'replace'>;

export interface LeaderElectionOptions {
  leases: LeaseClient;
  namespace: string;
  name: string;
  /** Unique per candidate, e.g. the pod name. */
  identity: string;
  /** How long a lease stays valid without renewal (client-go default 15 s). */
  leaseDurationMs?: number;
  /** How long the leader keeps trying to renew before it gives up (default 10 s). */
  renewDeadlineMs?: number;
  /** Time between attempts (default 2 s). */
  retryPeriodMs?: number;
  onStartedLeading?(signal: AbortSignal): void;
  onStoppedLeading?(): void;
  onNewLeader?(identity: string | undefined): void;
  clock?: Clock;
  random?: () => number;
  logger?: Logger;
  metrics?: LeaderElectionMetrics;
}

export interface LeaderElector {
  start(): void;
  /** An annotation of the Lease as last seen: after taking it over, what the previous leader carried. */
  annotation(key: string): string | undefined;
  /** While leading: set (null: remove) this annotation with the next renewals. Forgotten when leadership ends. */
  carry(key: string, value: string | null): void;
  /** Ends the loop; `release` (default true) gives the lease up if held. Resolves after onStoppedLeading. */
  stop(opts?: { release?: boolean }): Promise<void>;
  isLeader(): boolean;
  /** The holder last observed (undefined: nobody or not yet known). */
  leader(): string | undefined;
}

type Attempt = 'acquired' | 'held-by-other' | 'failed';

const JITTER = 1.2;

export function createLeaderElector(opts: LeaderElectionOptions): LeaderElector {
  const clock = opts.clock ?? systemClock;
  const random = opts.random ?? Math.random;
  const leaseDurationMs = opts.leaseDurationMs ?? 15_000;
  const renewDeadlineMs = opts.renewDeadlineMs ?? 10_000;
  const retryPeriodMs = opts.retryPeriodMs ?? 2_000;
  if (!(leaseDurationMs > renewDeadlineMs)) throw new Error('leader election: leaseDuration must exceed renewDeadline');
  if (!(renewDeadlineMs > JITTER * retryPeriodMs)) {
    throw new Error(`leader election: renewDeadline must exceed ${JITTER} × retryPeriod`);
  }
  if (opts.identity === '') throw new Error('leader election: identity must not be empty');
  const leaseSeconds = Math.max(1, Math.ceil(leaseDurationMs / 1000));
  const lease = `${opts.namespace}/${opts.name}`;
  const log = (opts.logger ?? silentLogger()).child({ lease, identity: opts.identity });
  const metrics = opts.metrics ?? noopMetrics;

  let observed: Lease | undefined;
  /** Annotations this leader sets on its renewals (null: removes). */
  const carried = new Map<string, string | null>();
  let observedKey = '';
  let observedAt = 0;
  let observedHolder: string | undefined;
  let leading = false;
  let leadAbort: AbortController | undefined;
  let loopAbort: AbortController | undefined;
  let running: Promise<void> | undefined;
  metrics.leaderStatus(lease, false);

  function observe(l: Lease, now: number): void {
    const spec = l.spec ?? {};
    const key = `${spec.holderIdentity ?? ''}|${spec.renewTime ?? ''}|${l.metadata.resourceVersion ?? ''}`;
    observed = l;
    if (key !== observedKey) {
      observedKey = key;
      observedAt = now;
    }
    const holder = spec.holderIdentity ? spec.holderIdentity : undefined;
    if (holder !== observedHolder) {
      observedHolder = holder;
      log.info({ holder }, 'lease holder changed');
      try {
        opts.onNewLeader?.(holder);
      } catch (err) {
        log.error({ err: err instanceof Error ? err.message : String(err) }, 'onNewLeader failed');
      }
    }
  }

  async function tryAcquireOrRenew(signal: AbortSignal): Promise<Attempt> {
    let current: Lease;
    try {
      current = await opts.leases.get(opts.name, { namespace: opts.namespace, signal });
    } catch (err) {
      if (!(err instanceof NotFoundError)) {
        log.warn({ err: err instanceof Error ? err.message : String(err) }, 'lease read failed');
        return 'failed';
      }
      const now = clock.now();
      try {
        const created = await opts.leases.create(
          {
            metadata: { name: opts.name, namespace: opts.namespace },
            spec: {
              holderIdentity: opts.identity,
              leaseDurationSeconds: leaseSeconds,
              acquireTime: microTime(now),
              renewTime: microTime(now),
              leaseTransitions: 0,
            },
          },
          { namespace: opts.namespace, signal },
        );
        observe(created, now);
        return 'acquired';
      } catch (createErr) {
        if (!(createErr instanceof ConflictError)) {
          log.warn({ err: createErr instanceof Error ? createErr.message : String(createErr) }, 'lease create failed');
        }
        return 'failed';
      }
    }
    // The holder's record is as old as the read's answer, not its request: a renewal that happened while the read
    // was in flight is seen now, and the lease duration runs from here (client-go observes after Get returns too).
    const now = clock.now();
    observe(current, now);
    const spec = current.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    const validForMs = (spec.leaseDurationSeconds ?? leaseSeconds) * 1000;
    if (holder !== '' && holder !== opts.identity && observedAt + validForMs > now) return 'held-by-other';
    const renewing = holder === opts.identity;
    const transitions = spec.leaseTransitions ?? 0;
    try {
      const updated = await opts.leases.replace(
        {
          ...current,
          metadata: withCarried(current.metadata),
          spec: {
            ...spec,
            holderIdentity: opts.identity,
            leaseDurationSeconds: leaseSeconds,
            acquireTime: renewing ? (spec.acquireTime ?? microTime(now)) : microTime(now),
            renewTime: microTime(now),
            leaseTransitions: renewing ? transitions : transitions + 1,
          },
        },
        { namespace: opts.namespace, signal },
      );
      observe(updated, now);
      return 'acquired';
    } catch (err) {
      if (!(err instanceof ConflictError)) {
        log.warn({ err: err instanceof Error ? err.message : String(err) }, 'lease update failed');
      }
      return 'failed';
    }
  }

  function withCarried(meta: Lease['metadata']): Lease['metadata'] {
    if (carried.size === 0) return meta;
    const annotations: Record<string, string> = { ...(meta.annotations ?? {}) };
    for (const [k, v] of carried) {
      if (v === null) delete annotations[k];
      else annotations[k] = v;
    }
    return { ...meta, annotations };
  }

  function startLeading(): void {
    leading = true;
    leadAbort = new AbortController();
    metrics.leaderStatus(lease, true);
    log.info({}, 'started leading');
    try {
      opts.onStartedLeading?.(leadAbort.signal);
    } catch (err) {
      log.error({ err: err instanceof Error ? err.message : String(err) }, 'onStartedLeading failed');
    }
  }

  function stopLeading(): void {
    if (!leading) return;
    leading = false;
    carried.clear();
    leadAbort?.abort();
    metrics.leaderStatus(lease, false);
    log.info({}, 'stopped leading');
    try {
      opts.onStoppedLeading?.();
    } catch (err) {
      log.error({ err: err instanceof Error ? err.message : String(err) }, 'onStoppedLeading failed');
    }
  }

  /** An attempt that gives up when `deadline` (clock time) passes or the loop stops. */
  async function attemptUntil(deadline: number, signal: AbortSignal): Promise<Attempt> {
    const ctl = new AbortController();
    const timer = clock.setTimer(() => ctl.abort(), Math.max(0, deadline - clock.now()));
    try {
      return await tryAcquireOrRenew(AbortSignal.any([signal, ctl.signal]));
    } finally {
      timer.cancel();
    }
  }

  async function run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      // Candidate: try until the lease is ours.
      for (;;) {
        if (signal.aborted) return;
        const r = await attemptUntil(clock.now() + renewDeadlineMs, signal);
        if (r === 'acquired' && !signal.aborted) break;
        await sleep(clock, retryPeriodMs * (1 + (JITTER - 1) * random()), signal);
      }
      startLeading();
      // Leader: renew every retryPeriod; give up after renewDeadline without success.
      let lastRenew = clock.now();
      while (!signal.aborted) {
        if (!(await sleep(clock, retryPeriodMs, signal))) break;
        const r = await attemptUntil(lastRenew + renewDeadlineMs, signal);
        if (signal.aborted) break;
        if (r === 'acquired') {
          lastRenew = clock.now();
          continue;
        }
        if (r === 'held-by-other') {
          log.warn({ holder: observedHolder }, 'lease taken by another holder');
          stopLeading();
          break;
        }
        if (clock.now() - lastRenew >= renewDeadlineMs) {
          log.warn({ renewDeadlineMs }, 'lease not renewed in time');
          stopLeading();
          break;
        }
      }
    }
  }

  async function release(): Promise<void> {
    const l = observed;
    if (!l || (l.spec?.holderIdentity ?? '') !== opts.identity) return;
    const now = clock.now();
    try {
      const updated = await opts.leases.replace(
        {
          ...l,
          spec: { ...l.spec, holderIdentity: null, leaseDurationSeconds: 1, renewTime: microTime(now) },
        },
        { namespace: opts.namespace },
      );
      observe(updated, now);
    } catch (err) {
      log.warn({ err: err instanceof Error ? err.message : String(err) }, 'lease release failed');
    }
  }

  return {
    start() {
      if (running) return;
      loopAbort = new AbortController();
      const signal = loopAbort.signal;
      running = run(signal).catch((err: unknown) => {
        log.error({ err: err instanceof Error ? err.message : String(err) }, 'leader election loop ended');
      });
    },

    async stop(o = {}) {
      loopAbort?.abort();
      await running;
      // The leader's work stops before the lease is given up, so a successor never overlaps it.
      leadAbort?.abort();
      if (leading && (o.release ?? true)) await release();
      stopLeading();
    },

    isLeader: () => leading,
    leader: () => observedHolder,
    annotation: (key) => observed?.metadata.annotations?.[key],
    carry(key, value) {
      if (leading) carried.set(key, value);
    },
  };
}
