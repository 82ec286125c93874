// The operator process: caches → controllers → writers (ARCHITECTURE.md, one picture). Wiring only; each piece is
// its own module. Every replica keeps its caches warm; only the leader (coordination.k8s.io Lease) runs the
// controllers that write, so two replicas never fight and a new leader starts from a full cache.
//
//   informers (caches.ts) ──change──► plan controller  (plan-sync.ts: RouteTables + NodeDataplane.status.desired)
//                         ├────────► pool controller  (pool-status.ts: IPPool conditions + usage, Events)
//                         └────────► ipam controller  (ipam-sync.ts: block claims, tunnel addresses, GC)
import { Gauge, Histogram } from 'prom-client';
import {
  createController,
  createEventRecorder,
  createLeaderElector,
  type Controller,
  type KubeClient,
  type LeaderElector,
} from '../kube/index.js';
import type { Logger } from '../log/logger.js';
import { createPromMetrics, type PromMetrics } from '../observe/prom-metrics.js';
import { createClusterCaches, type CacheName } from './caches.js';
import type { OperatorSettings } from './config.js';
import { ensureDefaultPool } from './default-pool.js';
import { createIpamSync, type IpamSync } from './ipam-sync.js';
import { createPlanSync } from './plan-sync.js';
import { createPoolStatus } from './pool-status.js';

export interface OperatorOptions {
  client: KubeClient;
  logger: Logger;
  settings: OperatorSettings;
  /** Lease namespace/name; no leader election when absent (a single replica). */
  leaderElection?: {
    namespace: string;
    name: string;
    identity: string;
    leaseDurationMs?: number;
    renewDeadlineMs?: number;
    retryPeriodMs?: number;
  };
  metrics?: PromMetrics;
  now?: () => number;
  random?: () => number;
  /** Coalescing delay for plan passes after a change (ms). */
  planDelayMs?: number;
}

export interface Operator {
  readonly metrics: PromMetrics;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Caches synced (and, with leader election, the lease state known). */
  ready(): string | undefined;
  isLeader(): boolean;
  /** Resolves when no controller has work queued or running. */
  idle(): Promise<void>;
}

/**
 * Lease timings when the caller gives none. client-go's 15 s / 10 s / 2 s lets a replica take over from one that died
 * without releasing up to ~20 s later (the lease runs from when the follower last saw it renewed, plus a jittered
 * retry on each side); the operator's bar is a takeover within 15 s, so: 8 s lease, renew deadline 6 s, retry every
 * 1.5 s — at most ~12 s, for about one Lease read per replica and one write by the leader every 1.5 s.
 */
export const LEADER_ELECTION_DEFAULTS = { leaseDurationMs: 8_000, renewDeadlineMs: 6_000, retryPeriodMs: 1_500 };

const PLAN_KEY = 'cluster';
const POOLS_KEY = 'pools';

export function createOperator(opts: OperatorOptions): Operator {
  const log = opts.logger;
  const now = opts.now ?? Date.now;
  const random = opts.random ?? Math.random;
  const metrics = opts.metrics ?? createPromMetrics('operator');
  const registry = metrics.registry;
  const nodesPlanned = new Gauge({ name: 'tabby_plan_nodes', help: 'Nodes in the last plan.', registers: [registry] });
  const shards = new Gauge({
    name: 'tabby_plan_route_tables',
    help: 'RouteTable shards in the last plan.',
    registers: [registry],
  });
  const convergence = new Histogram({
    name: 'tabby_plan_convergence_seconds',
    help: 'Time from a cluster change to every desired state written.',
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const poolAllocated = new Gauge({
    name: 'tabby_ipam_pool_allocated_ips',
    help: 'Addresses allocated per pool.',
    labelNames: ['pool'],
    registers: [registry],
  });
  const poolBlocks = new Gauge({
    name: 'tabby_ipam_pool_allocated_blocks',
    help: 'Blocks claimed per pool.',
    labelNames: ['pool'],
    registers: [registry],
  });
  const poolTotal = new Gauge({
    name: 'tabby_ipam_pool_total_ips',
    help: 'Addresses in each pool.',
    labelNames: ['pool'],
    registers: [registry],
  });

  let firstUnplannedChange: number | undefined;
  let elector: LeaderElector | undefined;
  /** The controllers of the current leadership term; undefined while not leading. */
  let term: Term | undefined;
  /** Start/stop of terms, one after another: a new term never overlaps the end of the previous one. */
  let transitions: Promise<void> = Promise.resolve();

  const events = createEventRecorder({
    events: opts.client.events(),
    reportingController: 'tabby.dev/operator',
    reportingInstance: opts.leaderElection?.identity ?? 'tabby-operator',
    metrics,
    logger: log,
  });

  const caches = createClusterCaches({
    client: opts.client,
    logger: log,
    metrics,
    onChange: (e) => onChange(e.cache, e.key),
    onInvalid: (cache, key, issues) =>
      log.warn(
        { cache, name: key, issues: issues.map((i) => `${i.path.join('.')}: ${i.message}`) },
        'invalid object kept out of the cache',
      ),
  });

  interface Term {
    plan: Controller;
    pool: Controller;
    ipam: Controller;
    ipamSync: IpamSync;
    all: Controller[];
  }

  /**
   * Fresh controllers and reconciler state for one leadership term. A work queue that was shut down takes no more
   * keys, and what a previous term remembered (last writes, pending annotations, GC candidates) may have been
   * overtaken by another leader meanwhile — so a replica that loses the lease and wins it back starts like a new
   * process, from its (still warm) caches.
   */
  function newTerm(): Term {
    const planSync = createPlanSync({ client: opts.client, caches, logger: log, metrics, now });
    const poolStatus = createPoolStatus({
      client: opts.client,
      caches,
      events,
      logger: log,
      metrics,
      now,
      onUsage: (pool, u) => {
        poolAllocated.set({ pool }, u.allocatedIPs);
        poolBlocks.set({ pool }, u.allocatedBlocks);
        poolTotal.set({ pool }, Number(u.totalIPs));
      },
    });
    const ipamSync = createIpamSync({ client: opts.client, caches, logger: log, now, random });
    const plan = createController({
      name: 'plan',
      logger: log,
      metrics,
      maxConcurrency: 1,
      reconcile: async () => {
        const since = firstUnplannedChange;
        firstUnplannedChange = undefined;
        const s = await planSync.run();
        nodesPlanned.set(s.nodesPlanned);
        shards.set(s.routeTables);
        if (since !== undefined) convergence.observe((now() - since) / 1000);
      },
    });
    const pool = createController({
      name: 'ippool',
      logger: log,
      metrics,
      maxConcurrency: 1,
      reconcile: () => poolStatus.run(),
    });
    const ipam = createController({
      name: 'ipam',
      logger: log,
      metrics,
      maxConcurrency: 4,
      reconcile: async (key) => {
        const r = await ipamSync.reconcileNode(key);
        return r.requeueAfterMs !== undefined ? { requeueAfterMs: r.requeueAfterMs } : undefined;
      },
    });
    return { plan, pool, ipam, ipamSync, all: [plan, pool, ipam] };
  }

  function onChange(cache: CacheName, key: string): void {
    const t = term;
    if (!t || !caches.all.every((i) => i.hasSynced())) return;
    // Our own outputs (NodeDataplane, RouteTable) changing, or edited by someone, only needs a re-check.
    if (cache !== 'nodeDataplanes' && cache !== 'routeTables') firstUnplannedChange ??= now();
    t.plan.enqueueAfter(PLAN_KEY, opts.planDelayMs ?? 20);
    if (cache === 'ippools' || cache === 'ipamBlocks') t.pool.enqueueAfter(POOLS_KEY, 50);
    if (cache === 'nodes') {
      t.ipam.enqueue(key);
      // A deleted Node's tunnel addresses, affinities and blocks go back now, not at the next periodic GC pass
      // (calico: kube-controllers node controller runs IPAM GC on node deletion).
      if (!caches.nodes.store.has(key)) t.ipam.enqueue(t.ipamSync.GC_KEY);
    }
    if (cache === 'ippools' || cache === 'ipamConfigurations') {
      for (const n of caches.nodes.store.keys()) t.ipam.enqueue(n);
    }
    if (cache === 'blockAffinities' || cache === 'ipamBlocks') {
      for (const n of t.ipamSync.nodesAffectedBy(cache, key)) t.ipam.enqueue(n);
    }
  }

  async function startLeading(): Promise<void> {
    if (term) return;
    log.info({}, 'leading: starting controllers');
    const t = newTerm();
    for (const c of t.all) c.start();
    term = t;
    try {
      await ensureDefaultPool(opts.client, caches, opts.settings.defaultPool, log);
    } catch (err) {
      log.error({ err: (err as Error).message }, 'default pool not created');
    }
    if (term !== t) return;
    t.plan.enqueue(PLAN_KEY);
    t.pool.enqueue(POOLS_KEY);
    for (const n of caches.nodes.store.keys()) t.ipam.enqueue(n);
    t.ipam.enqueue(t.ipamSync.GC_KEY);
  }

  async function stopLeading(): Promise<void> {
    const t = term;
    if (!t) return;
    term = undefined;
    log.info({}, 'not leading: stopping controllers');
    await Promise.all(t.all.map((c) => c.stop({ drain: false })));
  }

  const transition = (step: () => Promise<void>): Promise<void> => {
    transitions = transitions.then(step).catch((err: unknown) => {
      log.error({ err: err instanceof Error ? err.message : String(err) }, 'leadership transition failed');
    });
    return transitions;
  };

  return {
    metrics,
    async start() {
      for (const i of caches.all) i.start();
      const synced = await Promise.all(caches.all.map((i) => i.waitForSync()));
      if (!synced.every(Boolean)) throw new Error('operator: caches stopped before syncing');
      log.info({ caches: caches.all.length }, 'caches synced');
      if (opts.leaderElection) {
        const le = opts.leaderElection;
        elector = createLeaderElector({
          leases: opts.client.leases(),
          namespace: le.namespace,
          name: le.name,
          identity: le.identity,
          leaseDurationMs: le.leaseDurationMs ?? LEADER_ELECTION_DEFAULTS.leaseDurationMs,
          renewDeadlineMs: le.renewDeadlineMs ?? LEADER_ELECTION_DEFAULTS.renewDeadlineMs,
          retryPeriodMs: le.retryPeriodMs ?? LEADER_ELECTION_DEFAULTS.retryPeriodMs,
          logger: log,
          metrics,
          onStartedLeading: () => void transition(startLeading),
          onStoppedLeading: () => void transition(stopLeading),
        });
        elector.start();
      } else {
        await transition(startLeading);
      }
    },
    async stop() {
      // Our writes stop before the lease is given up, so a successor never overlaps them.
      await transition(stopLeading);
      await elector?.stop({ release: true });
      await transition(stopLeading);
      await events.flush().catch(() => undefined);
      await Promise.all(caches.all.map((i) => i.stop()));
    },
    ready() {
      const unsynced = caches.all.filter((i) => !i.hasSynced()).map((i) => i.name);
      return unsynced.length > 0 ? `caches not synced: ${unsynced.join(', ')}` : undefined;
    },
    isLeader: () => term !== undefined,
    async idle() {
      for (let i = 0; i < 3; i++) {
        await Promise.all((term?.all ?? []).map((c) => c.idle()));
      }
    },
  };
}
