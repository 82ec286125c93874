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
import { createIpamSync } from './ipam-sync.js';
import { createPlanSync } from './plan-sync.js';
import { createPoolStatus } from './pool-status.js';

export interface OperatorOptions {
  client: KubeClient;
  logger: Logger;
  settings: OperatorSettings;
  /** Lease namespace/name; no leader election when absent (a single replica). */
  leaderElection?: { namespace: string; name: string; identity: string; leaseDurationMs?: number; renewDeadlineMs?: number; retryPeriodMs?: number };
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

const PLAN_KEY = 'cluster';
const POOLS_KEY = 'pools';

export function createOperator(opts: OperatorOptions): Operator {
  const log = opts.logger;
  const now = opts.now ?? Date.now;
  const random = opts.random ?? Math.random;
  const metrics = opts.metrics ?? createPromMetrics('operator');
  const registry = metrics.registry;
  const nodesPlanned = new Gauge({ name: 'tabby_plan_nodes', help: 'Nodes in the last plan.', registers: [registry] });
  const shards = new Gauge({ name: 'tabby_plan_route_tables', help: 'RouteTable shards in the last plan.', registers: [registry] });
  const convergence = new Histogram({
    name: 'tabby_plan_convergence_seconds',
    help: 'Time from a cluster change to every desired state written.',
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const poolAllocated = new Gauge({ name: 'tabby_ipam_pool_allocated_ips', help: 'Addresses allocated per pool.', labelNames: ['pool'], registers: [registry] });
  const poolBlocks = new Gauge({ name: 'tabby_ipam_pool_allocated_blocks', help: 'Blocks claimed per pool.', labelNames: ['pool'], registers: [registry] });
  const poolTotal = new Gauge({ name: 'tabby_ipam_pool_total_ips', help: 'Addresses in each pool.', labelNames: ['pool'], registers: [registry] });

  let firstUnplannedChange: number | undefined;
  let leading = opts.leaderElection === undefined;
  let elector: LeaderElector | undefined;
  let controllers: Controller[] = [];

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
      log.warn({ cache, name: key, issues: issues.map((i) => `${i.path.join('.')}: ${i.message}`) }, 'invalid object kept out of the cache'),
  });

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

  const planController = createController({
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
  const poolController = createController({ name: 'ippool', logger: log, metrics, maxConcurrency: 1, reconcile: () => poolStatus.run() });
  const ipamController = createController({
    name: 'ipam',
    logger: log,
    metrics,
    maxConcurrency: 4,
    reconcile: async (key) => {
      const r = await ipamSync.reconcileNode(key);
      return r.requeueAfterMs !== undefined ? { requeueAfterMs: r.requeueAfterMs } : undefined;
    },
  });

  function onChange(cache: CacheName, key: string): void {
    if (!leading || !caches.all.every((i) => i.hasSynced())) return;
    if (cache !== 'nodeDataplanes' && cache !== 'routeTables') {
      firstUnplannedChange ??= now();
      planController.enqueueAfter(PLAN_KEY, opts.planDelayMs ?? 20);
    } else {
      // Our own outputs changed (or were edited by someone): re-check them.
      planController.enqueueAfter(PLAN_KEY, opts.planDelayMs ?? 20);
    }
    if (cache === 'ippools' || cache === 'ipamBlocks') poolController.enqueueAfter(POOLS_KEY, 50);
    if (cache === 'nodes') ipamController.enqueue(key);
    if (cache === 'ippools' || cache === 'ipamConfigurations') for (const n of caches.nodes.store.keys()) ipamController.enqueue(n);
    if (cache === 'blockAffinities' || cache === 'ipamBlocks') {
      for (const n of ipamSync.nodesAffectedBy(cache, key)) ipamController.enqueue(n);
    }
  }

  async function startLeading(): Promise<void> {
    leading = true;
    log.info({}, 'leading: starting controllers');
    controllers = [planController, poolController, ipamController];
    for (const c of controllers) c.start();
    try {
      await ensureDefaultPool(opts.client, caches, opts.settings.defaultPool, log);
    } catch (err) {
      log.error({ err: (err as Error).message }, 'default pool not created');
    }
    planController.enqueue(PLAN_KEY);
    poolController.enqueue(POOLS_KEY);
    for (const n of caches.nodes.store.keys()) ipamController.enqueue(n);
    ipamController.enqueue(ipamSync.GC_KEY);
  }

  async function stopLeading(): Promise<void> {
    leading = false;
    await Promise.all(controllers.map((c) => c.stop({ drain: false })));
    controllers = [];
  }

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
          ...(le.leaseDurationMs ? { leaseDurationMs: le.leaseDurationMs } : {}),
          ...(le.renewDeadlineMs ? { renewDeadlineMs: le.renewDeadlineMs } : {}),
          ...(le.retryPeriodMs ? { retryPeriodMs: le.retryPeriodMs } : {}),
          logger: log,
          metrics,
          onStartedLeading: () => void startLeading(),
          onStoppedLeading: () => void stopLeading(),
        });
        elector.start();
      } else {
        await startLeading();
      }
    },
    async stop() {
      await elector?.stop({ release: true });
      await stopLeading();
      await events.flush().catch(() => undefined);
      await Promise.all(caches.all.map((i) => i.stop()));
    },
    ready() {
      const unsynced = caches.all.filter((i) => !i.hasSynced()).map((i) => i.name);
      return unsynced.length > 0 ? `caches not synced: ${unsynced.join(', ')}` : undefined;
    },
    isLeader: () => leading,
    async idle() {
      for (let i = 0; i < 3; i++) {
        await Promise.all(controllers.map((c) => c.idle()));
      }
    },
  };
}
