// The operator process: caches → controllers → writers (ARCHITECTURE.md, one picture). Wiring only; each piece is
// its own module. Every replica keeps its caches warm; only the leader (coordination.k8s.io Lease) runs the
// controllers that write, so two replicas never fight and a new leader starts from a full cache.
//
//   informers (caches.ts) ──event──► PlanInputs (plan-inputs.ts: the planner's record of each object; unchanged
//        │                              records, such as Node heartbeats and pod starts, stop here)
//        │                                 └─change─► plan controller (plan-sync.ts: incremental planner → the
//        │                                            RouteTables and NodeDataplanes the change touched)
//        ├────────► pool controller  (pool-status.ts: IPPool conditions + usage, Events)
//        └────────► ipam controller  (ipam-sync.ts: block claims, tunnel addresses, GC)
// Full plan passes run when a term starts and as the periodic drift check (`driftCheckIntervalMs`), writing only what
// differs. Each leadership term gets fresh controllers (a replica that loses the lease and wins it back starts clean).
// Plan and pool passes wait (briefly) for IPAM to finish with the nodes a change sent it, so a join is written once.
import { Counter, Gauge, Histogram } from 'prom-client';
import { formatPath } from '../api/errors.js';
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
import { createClusterCaches, type CacheName, type ChangeEvent } from './caches.js';
import { blockClaimedOrReleased, generationOf, nodeMetaChanged, pathMtuChanged } from './event-news.js';
import type { OperatorSettings } from './config.js';
import { ensureClusterDefaults } from './cluster-defaults.js';
import { createIpamSync, type IpamSync } from './ipam-sync.js';
import type { GcMemory } from '../ipam/gc.js';
import { decodeGcMemory, encodeGcMemory } from '../ipam/gc-memory-codec.js';
import { isPlanCache, PlanInputs } from './plan-inputs.js';
import { createPlanSync, type PlanSync, type PlannedRevisions } from './plan-sync.js';
import { createPoolStatus } from './pool-status.js';
import { createRouteGate, type RouteGate } from './route-gate.js';

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
  /** Period of the full plan pass that checks the incremental plan and the cluster against a rebuild (0: never). */
  driftCheckIntervalMs?: number;
  /**
   * How long IPAM GC waits before it releases an address whose pod is gone on a live node (Calico's
   * KubeControllersConfiguration leakGracePeriod; default 15 min, 0: never).
   */
  ipamLeakGracePeriodMs?: number;
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
  /**
   * Resolves once the operator has nothing left to do for what it has seen: no key waiting, delayed or running in any
   * controller (periodic passes aside) and every IPAM write shown by the caches (so no event of its own is still on
   * its way to start more work). For tests, benchmarks and the chaos run: "converged" without guessing a duration.
   */
  settled(opts?: {
    signal?: AbortSignal;
    /**
     * First wait until these caches have seen these resourceVersions (e.g. of writes the caller just made), so a
     * change whose event is still on its way is not taken for "nothing to do". resourceVersions are compared as
     * etcd revisions, which every etcd-backed apiserver gives.
     */
    seen?: Partial<Record<CacheName, string>>;
  }): Promise<void>;
  /**
   * The revisions of everything the leader planned (NodeDataplanes, RouteTables by view): what every agent ends up
   * holding. Undefined while not leading. For benchmarks and diagnostics.
   */
  plannedRevisions(): PlannedRevisions | undefined;
  /** Runs the drift check (a full plan pass) now instead of at its next period; resolves when it has run. */
  checkDrift(): Promise<void>;
}

/**
 * Lease timings when the caller gives none. client-go's 15 s / 10 s / 2 s lets a replica take over from one that died
 * without releasing up to ~20 s later (the lease runs from when the follower last saw it renewed, plus a jittered
 * retry on each side); the operator's bar is a takeover within 15 s, so: 8 s lease, renew deadline 6 s, retry every
 * 1.5 s — at most ~12 s, for about one Lease read per replica and one write by the leader every 1.5 s.
 */
export const LEADER_ELECTION_DEFAULTS = { leaseDurationMs: 8_000, renewDeadlineMs: 6_000, retryPeriodMs: 1_500 };

const CONTROLLERS = ['plan', 'ippool', 'ipam', 'routegate'] as const;
/** Longest a plan or pool pass waits for IPAM to finish with the nodes a change concerns. */
const IPAM_SETTLE_MAX_MS = 1000;
const PLAN_KEY = 'cluster';
/** The route gate controller's one key: every pass looks only at the nodes events marked. */
const GATE_KEY = 'gate';
/** The plan controller's periodic full pass. */
const DRIFT_KEY = '\u0000drift';
/** Default drift check period: long enough to cost nothing at scale, short enough to repair a hand edit soon. */
export const DRIFT_CHECK_INTERVAL_MS = 5 * 60_000;
const POOLS_KEY = 'pools';
/** The pool controller's key for the objects an install starts with (cluster-defaults.ts). */
const DEFAULTS_KEY = 'defaults';
/** How often `settled()` looks again (it has no event to wait for: "nothing queued" is the absence of one). */
const SETTLED_POLL_MS = 10;
/** The leader's Lease annotation carrying IPAM GC's first-seen times to the next leader (gc-memory-codec.ts). */
export const GC_MEMORY_ANNOTATION = 'tabby.dev/ipam-gc-first-seen';
/** How long a block change waits for others before pool usage is written again. */
const POOL_USAGE_COALESCE_MS = 1000;

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
  const passes = new Counter({
    name: 'tabby_plan_passes_total',
    help: 'Plan passes, by kind (incremental: what changed; full: leadership start and drift checks).',
    labelNames: ['kind'],
    registers: [registry],
  });
  const drift = new Counter({
    name: 'tabby_plan_drift_total',
    help: 'Nodes and shards whose incremental plan differed from a full rebuild (a missed event).',
    registers: [registry],
  });
  const inputProblems = new Gauge({
    name: 'tabby_plan_input_problems',
    help: 'Objects the planner uses at their last good version, or leaves out, because the current one is unusable.',
    registers: [registry],
  });
  for (const kind of ['incremental', 'full']) passes.inc({ kind }, 0);
  const joinConverged = new Histogram({
    name: 'tabby_node_join_converged_seconds',
    help: 'Time from a Node joining to every other agent having applied the routes to it (the route gate opening).',
    buckets: [0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
    registers: [registry],
  });
  const gatePending = new Gauge({
    name: 'tabby_route_gate_pending_nodes',
    help: 'Nodes waiting for their route gate: own dataplane or peer agents not yet programmed with their routes.',
    registers: [registry],
  });
  /** When this process saw each Node added after its caches synced (ms): join times finer than creationTimestamp. */
  const nodeAdded = new Map<string, number>();
  const joinedAt = (node: string): number | undefined => {
    const seen = nodeAdded.get(node);
    if (seen !== undefined) return seen;
    const created = caches.nodes.store.get(node)?.metadata.creationTimestamp;
    const ms = typeof created === 'string' ? Date.parse(created) : NaN;
    return Number.isNaN(ms) ? undefined : ms;
  };
  drift.inc(0);
  const poolTotal = new Gauge({
    name: 'tabby_ipam_pool_total_ips',
    help: 'Addresses in each pool.',
    labelNames: ['pool'],
    registers: [registry],
  });

  // Every replica exports its controllers' series from the start (at zero while it is not leading), so a standby's
  // /metrics has the same shape as the leader's.
  for (const c of CONTROLLERS) metrics.controllerRegistered(c);

  let firstUnplannedChange: number | undefined;
  /** `checkDrift()` callers waiting for the next drift pass to finish. */
  const driftWaiters: (() => void)[] = [];
  let lastPassMs = 0;
  let lastPassEnd = 0;
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
    onChange: (e) => onChange(e),
    onInvalid: (cache, key, issues) => {
      log.warn(
        { cache, name: key, issues: issues.map((i) => `${i.path.join('.')}: ${i.message}`) },
        'invalid object kept out of the cache',
      );
      if (isPlanCache(cache)) inputs.refused(cache, key, issues);
    },
  });
  /** The planner's record of every object, kept by every replica (so a new leader knows each one's last good version). */
  const inputs = new PlanInputs(caches);

  interface Term {
    planSync: PlanSync;
    plan: Controller;
    pool: Controller;
    ipam: Controller;
    ipamSync: IpamSync;
    gate: Controller;
    routeGate: RouteGate;
    all: Controller[];
    /** Nodes queued for (or in) an IPAM pass, with how often each was queued (see `holdForIpam`). */
    ipamPending: Map<string, number>;
    /** Controllers holding their pass until IPAM settles, and since when. */
    waiting: Map<Controller, number>;
  }

  /**
   * Fresh controllers and reconciler state for one leadership term. A work queue that was shut down takes no more
   * keys, and what a previous term remembered (last writes, pending annotations, GC candidates) may have been
   * overtaken by another leader meanwhile — so a replica that loses the lease and wins it back starts like a new
   * process, from its (still warm) caches.
   */
  function newTerm(): Term {
    const planSync = createPlanSync({
      client: opts.client,
      caches,
      inputs,
      logger: log,
      metrics,
      now,
      onDrift: (n) => drift.inc(n),
    });
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
    const handover = gcHandover();
    const ipamSync = createIpamSync({
      client: opts.client,
      caches,
      logger: log,
      now,
      random,
      events,
      ...(handover !== undefined ? { gcHandover: handover } : {}),
      ...(opts.ipamLeakGracePeriodMs !== undefined ? { leakGracePeriodMs: opts.ipamLeakGracePeriodMs } : {}),
    });
    const ipamPending = new Map<string, number>();
    const waiting = new Map<Controller, number>();
    const plan: Controller = createController({
      name: 'plan',
      logger: log,
      metrics,
      maxConcurrency: 1,
      reconcile: async (key) => {
        if (key === DRIFT_KEY) {
          const waiters = driftWaiters.splice(0);
          const s = await planSync.full('drift');
          for (const w of waiters) w();
          passes.inc({ kind: 'full' });
          nodesPlanned.set(s.nodesPlanned);
          shards.set(s.routeTables);
          reportProblems(t);
          // Pool usage counts addresses too, which pod starts change without a block event: refreshed here.
          pool.enqueue(POOLS_KEY);
          const every = opts.driftCheckIntervalMs ?? DRIFT_CHECK_INTERVAL_MS;
          return every > 0 ? { requeueAfterMs: every } : undefined;
        }
        const hold = holdForIpam(plan);
        if (hold !== undefined) return { requeueAfterMs: hold };
        const since = firstUnplannedChange;
        firstUnplannedChange = undefined;
        const started = now();
        const s = await planSync.run().finally(() => {
          lastPassEnd = now();
          lastPassMs = lastPassEnd - started;
        });
        passes.inc({ kind: s.kind });
        nodesPlanned.set(s.nodesPlanned);
        shards.set(s.routeTables);
        if (s.kind === 'full') reportProblems(t);
        if (since !== undefined) convergence.observe((now() - since) / 1000);
        return undefined;
      },
    });
    const pool: Controller = createController({
      name: 'ippool',
      logger: log,
      metrics,
      maxConcurrency: 1,
      reconcile: async (key) => {
        if (key === DEFAULTS_KEY) {
          // A failure throws: the controller retries with backoff for as long as the term lasts.
          await ensureClusterDefaults(opts.client, caches, opts.settings, log);
          return undefined;
        }
        const hold = holdForIpam(pool);
        if (hold !== undefined) return { requeueAfterMs: hold };
        await poolStatus.run();
        return undefined;
      },
    });
    const ipam = createController({
      name: 'ipam',
      logger: log,
      metrics,
      maxConcurrency: 4,
      reconcile: async (key) => {
        const queued = ipamPending.get(key);
        try {
          const r = await ipamSync.reconcileNode(key);
          return r.requeueAfterMs !== undefined ? { requeueAfterMs: r.requeueAfterMs } : undefined;
        } finally {
          // Queued again meanwhile: that pass is still to come. A failed pass counts as done (it retries with
          // backoff, and must not hold the planner).
          if (ipamPending.get(key) === queued) ipamPending.delete(key);
          if (ipamPending.size === 0) for (const c of waiting.keys()) c.enqueue(c === plan ? PLAN_KEY : POOLS_KEY);
        }
      },
    });
    /**
     * A change that sends nodes to IPAM (a join, a pool edit) is planned once IPAM is done with them and the caches
     * show what it wrote — the joining node's block and tunnel address in one pass, one write per view, instead of
     * one pass per step — but never held longer than IPAM_SETTLE_MAX_MS, so a node whose IPAM keeps failing delays
     * nobody's plan for long. (The cache events of IPAM's writes enqueue the held pass again.)
     */
    function holdForIpam(c: Controller): number | undefined {
      if (ipamPending.size === 0 && ipamSync.caughtUp()) {
        waiting.delete(c);
        return undefined;
      }
      const since = waiting.get(c) ?? now();
      const left = IPAM_SETTLE_MAX_MS - (now() - since);
      if (left <= 0) {
        waiting.delete(c);
        return undefined;
      }
      waiting.set(c, since);
      return left;
    }
    const routeGate = createRouteGate({
      client: opts.client,
      caches,
      events,
      logger: log,
      metrics,
      now,
      joinedAt,
      onConverged: (s) => joinConverged.observe(s),
      onPending: (n) => gatePending.set(n),
    });
    const gate = createController({
      name: 'routegate',
      logger: log,
      metrics,
      maxConcurrency: 1,
      reconcile: async () => {
        await routeGate.run();
        return undefined;
      },
    });
    const t: Term = {
      planSync,
      plan,
      pool,
      ipam,
      ipamSync,
      gate,
      routeGate,
      all: [plan, pool, ipam, gate],
      ipamPending,
      waiting,
    };
    return t;
  }

  /**
   * Input problems that appeared, changed or cleared: a Warning Event on each object now unusable (the recorder folds
   * repeats), and the affected NodeDataplanes' Planned condition rewritten. True when that needs a plan pass.
   */
  function reportProblems(t: Term): boolean {
    // Called at every event (an agent's status report included): nothing to do unless a problem came or went.
    const changed = inputs.takeProblemChanges();
    if (changed.length === 0) return false;
    inputProblems.set(inputs.problems().length);
    for (const { problem } of changed) {
      // IPPools are judged (conditions, Events) by the pool controller; here they only enter NodeDataplanes.
      if (!problem || problem.cache === 'ippools') continue;
      const note = problem.issues.map((i) => `${formatPath(i.path)}: ${i.message}`).join('; ');
      events.record({
        regarding: {
          apiVersion: problem.apiVersion,
          kind: problem.kind,
          name: problem.name,
          ...(problem.uid !== undefined ? { uid: problem.uid } : {}),
        },
        type: 'Warning',
        reason: problem.keptResourceVersion !== undefined ? 'InputKeptAtLastGood' : 'InputUnusable',
        action: 'Plan',
        note:
          problem.keptResourceVersion !== undefined
            ? `${note}; planned from resourceVersion ${problem.keptResourceVersion}, routes unchanged`
            : `${note}; left out of the plan`,
      });
      log.warn(
        { kind: problem.kind, name: problem.name, issues: note, kept: problem.keptResourceVersion },
        'object kept at its last good version in the plan',
      );
    }
    t.planSync.problemsChanged(changed);
    return t.planSync.hasWork();
  }

  function enqueueIpam(t: Term, key: string): void {
    if (key !== t.ipamSync.GC_KEY) t.ipamPending.set(key, (t.ipamPending.get(key) ?? 0) + 1);
    t.ipam.enqueue(key);
  }

  /**
   * How long a change waits for others to join it before a plan pass. A pass rewrites whole RouteTable shards, so
   * during a burst (a pool created over many nodes, a mass join) back-to-back passes would rewrite the same shards
   * over and over while IPAM is still handing out blocks: the next pass starts no sooner than the last one took
   * (at most 1 s) after it ended, keeping the planner's share of the apiserver's time at about half. A change after
   * a quiet spell waits only `planDelayMs`.
   */
  function planDelay(): number {
    const base = opts.planDelayMs ?? 20;
    return Math.max(base, lastPassEnd + Math.min(1000, lastPassMs) - now());
  }

  function onChange(e: ChangeEvent): void {
    const { cache, key } = e;
    // Every replica keeps the planner's record of each object (a new leader then knows each one's last good version).
    let planChanged = isPlanCache(cache) && e.type !== 'invalid' ? inputs.observe(cache, key) : false;
    const synced = caches.all.every((i) => i.hasSynced());
    if (cache === 'nodes' && e.type === 'add' && synced) nodeAdded.set(key, now());
    if (cache === 'nodes' && e.type === 'delete') nodeAdded.delete(key);
    const t = term;
    if (!t || !synced) return;
    if (t.routeGate.observe(e)) t.gate.enqueue(GATE_KEY);
    if (cache === 'nodeDataplanes' || cache === 'routeTables') planChanged = t.planSync.outputChanged(cache, key);
    if (reportProblems(t)) planChanged = true;
    if (planChanged) {
      if (cache !== 'nodeDataplanes' && cache !== 'routeTables') firstUnplannedChange ??= now();
      t.plan.enqueueAfter(PLAN_KEY, planDelay());
    }
    // A pool edit shows in its conditions at once; usage follows block claims and releases (not the addresses pods
    // take inside a block: the drift check refreshes those), so a node starting pods writes nothing.
    // Our own IPPool status writes come back as events too: only a spec change (a new generation), an add or a delete
    // is news to the pool and IPAM controllers — otherwise one usage write would send every node through IPAM.
    const specChanged = e.type !== 'update' || generationOf(e.old) !== generationOf(e.obj);
    if (cache === 'ippools' && specChanged) t.pool.enqueueAfter(POOLS_KEY, 50);
    // An agent's path-MTU finding changes the PathMTU condition of the pools its paths belong to.
    if (cache === 'nodeDataplanes' && pathMtuChanged(e)) t.pool.enqueueAfter(POOLS_KEY, POOL_USAGE_COALESCE_MS);
    if (cache === 'ipamBlocks' && blockClaimedOrReleased(e)) t.pool.enqueueAfter(POOLS_KEY, POOL_USAGE_COALESCE_MS);
    if (cache === 'nodes') {
      // A deleted Node's tunnel addresses, affinities and blocks go back now, not at the next periodic GC pass
      // (calico: kube-controllers node controller runs IPAM GC on node deletion). A status update (heartbeat,
      // conditions) changes nothing IPAM reads.
      if (!caches.nodes.store.has(key)) t.ipam.enqueue(t.ipamSync.GC_KEY);
      else if (e.type !== 'update' || nodeMetaChanged(e.old, e.obj)) enqueueIpam(t, key);
    }
    // A reservation can fill a node's block (its free addresses all reserved): every node's claims look again.
    if ((cache === 'ippools' || cache === 'ipamConfigurations' || cache === 'ipReservations') && specChanged) {
      for (const n of caches.nodes.store.keys()) enqueueIpam(t, n);
    }
    if (cache === 'blockAffinities' || cache === 'ipamBlocks') {
      for (const n of t.ipamSync.nodesAffectedBy(cache, key)) enqueueIpam(t, n);
    }
  }

  /** GC's first-seen times, carried on the leader's Lease from term to term (none without leader election). */
  function gcHandover(): { initial: GcMemory; save(memory: GcMemory): void } | undefined {
    const e = elector;
    if (e === undefined) return undefined;
    let last = e.annotation(GC_MEMORY_ANNOTATION) ?? '';
    const { memory, error } = decodeGcMemory(last);
    if (error !== undefined)
      log.warn(
        { kind: 'Lease', name: opts.leaderElection?.name, annotation: GC_MEMORY_ANNOTATION, err: error },
        'IPAM GC first-seen times on the lease unusable: their grace periods start again',
      );
    else if (last !== '')
      log.info(
        { leaks: memory.leakCandidates.size, overcounts: memory.handleOvercounts.size },
        'IPAM GC first-seen times taken over from the previous leader',
      );
    return {
      initial: memory,
      save(m) {
        const text = encodeGcMemory(m);
        if (text === last) return;
        last = text;
        e.carry(GC_MEMORY_ANNOTATION, text === '' ? null : text);
      },
    };
  }

  async function startLeading(): Promise<void> {
    if (term) return;
    log.info({}, 'leading: starting controllers');
    const t = newTerm();
    for (const c of t.all) c.start();
    term = t;
    t.pool.enqueue(DEFAULTS_KEY);
    // The first plan pass of a term is a full one (the planner is built from the caches); the drift check follows.
    t.plan.enqueue(PLAN_KEY);
    const every = opts.driftCheckIntervalMs ?? DRIFT_CHECK_INTERVAL_MS;
    if (every > 0) t.plan.enqueueAfter(DRIFT_KEY, every);
    t.pool.enqueue(POOLS_KEY);
    for (const n of caches.nodes.store.keys()) enqueueIpam(t, n);
    t.ipam.enqueue(t.ipamSync.GC_KEY);
    t.gate.enqueue(GATE_KEY);
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
    plannedRevisions: () => term?.planSync.revisions(),
    async checkDrift() {
      const t = term;
      if (!t) throw new Error('checkDrift: not leading');
      const done = new Promise<void>((resolve) => driftWaiters.push(resolve));
      t.plan.enqueue(DRIFT_KEY);
      await done;
    },
    async settled(o = {}) {
      const periodic = (t: Term, k: string) => k === t.ipamSync.GC_KEY || k === DRIFT_KEY;
      const quiet = (t: Term) => t.all.every((c) => c.keys().every((k) => periodic(t, k))) && t.ipamSync.caughtUp();
      const caughtUp = () =>
        Object.entries(o.seen ?? {}).every(([cache, rv]) => {
          const have = caches[cache as CacheName].resourceVersion();
          return have !== undefined && rv !== undefined && BigInt(have) >= BigInt(rv);
        });
      for (;;) {
        const t = term;
        if (t !== undefined && caughtUp() && quiet(t)) return;
        if (o.signal?.aborted) {
          const queued = t?.all.flatMap((c) =>
            c
              .keys()
              .filter((k) => !periodic(t, k))
              .map((k) => `${c.name}/${k}`),
          );
          throw new Error(
            `operator not settled: ${t === undefined ? 'not leading' : `queued ${JSON.stringify(queued)}, IPAM writes shown: ${t.ipamSync.caughtUp()}`}, caches caught up: ${caughtUp()}`,
          );
        }
        await new Promise((r) => setTimeout(r, SETTLED_POLL_MS));
      }
    },
  };
}
