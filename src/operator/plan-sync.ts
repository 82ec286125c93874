// Planner → API: from the caches, plan every node (src/plan) and write what changed — the per-view RouteTable
// shards and each node's NodeDataplane.status.desired — each only when its content differs from what the cluster
// holds (status writers compare with the cached object). One key, "cluster": bursts of changes coalesce into one
// pass, and a pass never runs twice at once (the work queue's guarantee).
// Writes per node join are bounded by the plan's sharding: the new node's NodeDataplane and one shard per view.
// Within a pass, writes go out with bounded concurrency (`writeConcurrency`): every shard first, then the dataplanes,
// so an agent that sees a new revision finds the routes it refers to.
import type { Condition } from '../api/common.js';
import {
  NodeDataplaneKind,
  RouteTableKind,
  ROUTE_SHARD_LABEL,
  ROUTE_VIEW_LABEL,
  type NodeDataplane,
  type RouteTable,
} from '../api/index.js';
import type { InputKindObject } from '../plan/snapshot-from-objects.js';
import { snapshotFromObjects } from '../plan/snapshot-from-objects.js';
import { planCluster } from '../plan/pipeline.js';
import {
  AlreadyExistsError,
  NotFoundError,
  createStatusWriter,
  type KubeClient,
  type Metrics,
  type ResourceClient,
  type StatusWriter,
} from '../kube/index.js';
import type { Logger } from '../log/logger.js';
import { resourceOf, type ClusterCaches } from './caches.js';
import { setCondition } from './conditions.js';

export const OPERATOR_FIELD_MANAGER = 'tabby-operator';

export interface PlanSyncStats {
  passes: number;
  nodesPlanned: number;
  routeTables: number;
  /** Objects created or deleted (status writes are counted by the writers). */
  objectWrites: number;
  lastPassMs: number;
  snapshotIssues: number;
}

export interface PlanSync {
  run(): Promise<PlanSyncStats>;
  stats(): Readonly<PlanSyncStats>;
  writerStats(): { nodeDataplanes: ReturnType<StatusWriter['stats']>; routeTables: ReturnType<StatusWriter['stats']> };
}

export interface PlanSyncDeps {
  client: KubeClient;
  caches: ClusterCaches;
  logger: Logger;
  metrics?: Metrics;
  now: () => number;
  /** Writes in flight at once within a pass (default 16): a pass over N nodes costs ~N/16 round trips, not N. */
  writeConcurrency?: number;
}

/** Runs `fn` over `items` with at most `limit` calls in flight (fn never throws: callers collect failures). */
async function forEachLimit<T>(items: Iterable<T>, limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  const it = items[Symbol.iterator]();
  const worker = async (): Promise<void> => {
    for (let next = it.next(); !next.done; next = it.next()) await fn(next.value);
  };
  await Promise.all(Array.from({ length: Math.max(1, limit) }, worker));
}

/** List items of core kinds come without apiVersion/kind; the snapshot builder dispatches on them. */
function withKind<T extends object>(obj: T, apiVersion: string, kind: string): T {
  return { ...obj, apiVersion, kind };
}

export function createPlanSync(deps: PlanSyncDeps): PlanSync {
  const { client, caches } = deps;
  const log = deps.logger.child({ controller: 'plan' });
  const ndpClient = client.resource(resourceOf(NodeDataplaneKind)) as unknown as ResourceClient<NodeDataplane>;
  const rtClient = client.resource(resourceOf(RouteTableKind)) as unknown as ResourceClient<RouteTable>;
  const common = {
    fieldManager: OPERATOR_FIELD_MANAGER,
    mapLists: { conditions: ['type'] },
    ...(deps.metrics ? { metrics: deps.metrics } : {}),
    logger: log,
  };
  const ndpWriter = createStatusWriter({ resource: ndpClient, name: 'nodedataplane', ...common });
  const rtWriter = createStatusWriter({ resource: rtClient, name: 'routetable', ...common });
  const stats: PlanSyncStats = {
    passes: 0,
    nodesPlanned: 0,
    routeTables: 0,
    objectWrites: 0,
    lastPassMs: 0,
    snapshotIssues: 0,
  };

  /** The object as the cache holds it, else as just created (undefined when someone else created it first). */
  async function ensureCreated<T>(cached: T | undefined, create: () => Promise<T>): Promise<T | undefined> {
    if (cached !== undefined) return cached;
    try {
      const created = await create();
      stats.objectWrites++;
      return created;
    } catch (err) {
      if (!(err instanceof AlreadyExistsError)) throw err;
      return undefined;
    }
  }

  /** `Kind/name` → uid of objects this writer deleted that the cache may still show. */
  const deleted = new Map<string, string | undefined>();

  async function run(): Promise<PlanSyncStats> {
    const started = deps.now();
    // One object the apiserver refuses must not starve every other node of its plan: each write is tried, failures
    // are collected, and the pass fails at the end (the controller retries it with backoff).
    const failures: string[] = [];
    const attempt = async (what: string, write: () => Promise<unknown>): Promise<void> => {
      try {
        await write();
      } catch (err) {
        failures.push(`${what}: ${(err as Error).message}`);
      }
    };
    const objects: InputKindObject[] = [
      ...caches.nodes.store.list().map((n) => withKind(n, 'v1', 'Node')),
      ...caches.pods.store.list().map((p) => withKind(p, 'v1', 'Pod')),
      ...caches.ippools.store.list(),
      ...caches.bgpConfigurations.store.list(),
      ...caches.bgpPeers.store.list(),
      ...caches.felixConfigurations.store.list(),
      ...caches.ipamBlocks.store.list(),
      ...caches.blockAffinities.store.list(),
    ] as InputKindObject[];
    const { snapshot, issues } = snapshotFromObjects(objects);
    stats.snapshotIssues = issues.length;
    for (const issue of issues.slice(0, 20)) {
      log.warn(
        { kind: issue.object.kind, name: issue.object.name, path: issue.path.join('.'), reason: issue.message },
        'object left out of the plan',
      );
    }
    const plan = planCluster(snapshot);
    const nowIso = new Date(deps.now()).toISOString();

    // Route shards first: an agent that sees its new desired revision finds the routes it refers to.
    const width = deps.writeConcurrency ?? 16;
    await forEachLimit(plan.routeTables, width, async ([name, status]) => {
      const cached = caches.routeTables.store.get(name);
      await attempt(`RouteTable ${name}`, async () => {
        await ensureCreated(cached, () =>
          rtClient.create(
            {
              apiVersion: 'dataplane.tabby.dev/v1alpha1',
              kind: 'RouteTable',
              metadata: {
                name,
                labels: { [ROUTE_VIEW_LABEL]: status.view, [ROUTE_SHARD_LABEL]: String(status.shard) },
              },
              spec: {},
            } as RouteTable,
            { fieldManager: OPERATOR_FIELD_MANAGER },
          ),
        );
        await rtWriter.write({ name }, status as unknown as Record<string, unknown>, cached);
      });
    });

    await forEachLimit(plan.nodes, width, async ([name, desired]) => {
      const cached = caches.nodeDataplanes.store.get(name);
      const node = caches.nodes.store.get(name);
      if (!node) return;
      await attempt(`NodeDataplane ${name}`, async () => {
        // A dataplane created in this pass is observed as created (generation 1), so its first status already
        // carries observedGeneration and the next pass does not write it again.
        const current = await ensureCreated(cached, () =>
          ndpClient.create(
            {
              apiVersion: 'dataplane.tabby.dev/v1alpha1',
              kind: 'NodeDataplane',
              metadata: {
                name,
                // The Node owns its dataplane: deleting the Node deletes it (garbage collector).
                ownerReferences: [
                  { apiVersion: 'v1', kind: 'Node', name, uid: node.metadata.uid ?? '', blockOwnerDeletion: false },
                ],
              },
              spec: { nodeName: name },
            } as NodeDataplane,
            { fieldManager: OPERATOR_FIELD_MANAGER },
          ),
        );
        const existing = (current?.status?.conditions ?? []) as Condition[];
        const planned = setCondition(
          existing,
          {
            type: 'Planned',
            status: 'True',
            reason: 'Planned',
            message: `revision ${desired.revision}: ${desired.blocks.length} own block(s), view ${desired.view}`,
            ...(current?.metadata.generation !== undefined
              ? { observedGeneration: current.metadata.generation as number }
              : {}),
          },
          nowIso,
        );
        await ndpWriter.write({ name }, { desired, conditions: [planned] }, current);
      });
    });

    // Shards that no longer exist in the plan (a view emptied, fewer shards) and dataplanes of deleted nodes.
    for (const key of [...deleted.keys()]) {
      const [kind, name] = key.split('/') as [string, string];
      const still = kind === 'RouteTable' ? caches.routeTables.store.get(name) : caches.nodeDataplanes.store.get(name);
      if (still?.metadata.uid !== deleted.get(key)) deleted.delete(key);
    }
    for (const rt of caches.routeTables.store.list()) {
      if (plan.routeTables.has(rt.metadata.name) || rt.metadata.labels?.[ROUTE_VIEW_LABEL] === undefined) continue;
      await deleteOnce('RouteTable', rt, () => rtClient.delete(rt.metadata.name), attempt);
      rtWriter.forget({ name: rt.metadata.name });
    }
    for (const ndp of caches.nodeDataplanes.store.list()) {
      if (caches.nodes.store.get(ndp.metadata.name)) continue;
      await deleteOnce('NodeDataplane', ndp, () => ndpClient.delete(ndp.metadata.name), attempt);
      ndpWriter.forget({ name: ndp.metadata.name });
    }

    stats.passes++;
    stats.nodesPlanned = plan.nodes.size;
    stats.routeTables = plan.routeTables.size;
    stats.lastPassMs = deps.now() - started;
    if (failures.length > 0) {
      const more = failures.length > 3 ? ` (and ${failures.length - 3} more)` : '';
      throw new Error(`plan pass: ${failures.length} write(s) failed: ${failures.slice(0, 3).join('; ')}${more}`);
    }
    log.debug({ nodes: plan.nodes.size, shards: plan.routeTables.size, ms: stats.lastPassMs }, 'plan pass done');
    return { ...stats };
  }

  /**
   * Deletes an object once: a pass that runs before the cache shows the deletion does not send it again (the uid
   * tells a deleted object from a new one of the same name).
   */
  async function deleteOnce(
    kind: 'RouteTable' | 'NodeDataplane',
    obj: { metadata: { name: string; uid?: string | undefined } },
    del: () => Promise<void>,
    attempt: (what: string, write: () => Promise<unknown>) => Promise<void>,
  ): Promise<void> {
    const key = `${kind}/${obj.metadata.name}`;
    if (deleted.has(key) && deleted.get(key) === obj.metadata.uid) return;
    await attempt(`${kind} ${obj.metadata.name} (delete)`, async () => {
      await deleteQuietly(del);
      deleted.set(key, obj.metadata.uid);
    });
  }

  async function deleteQuietly(del: () => Promise<void>): Promise<void> {
    try {
      await del();
      stats.objectWrites++;
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
    }
  }

  return {
    run,
    stats: () => stats,
    writerStats: () => ({ nodeDataplanes: ndpWriter.stats(), routeTables: rtWriter.stats() }),
  };
}
