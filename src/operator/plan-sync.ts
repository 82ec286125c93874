// Planner → API (ARCHITECTURE.md "How a change flows"). One incremental planner per leadership term:
//
//   informer event ──► PlanInputs.observe ──► PlanChange (none when the planner's record is unchanged)
//                                                │   batched by the plan controller's single key
//                                                ▼
//                              IncrementalPlanner.apply ──► PlanDelta (shards and nodes whose revision changed)
//                                                │
//                                                ▼
//        RouteTable status writes for the changed shards, then NodeDataplane status writes for the changed nodes,
//        deletes for what left the plan — nothing else.
//
// A full pass (`full`) rebuilds the planner from the caches: when a term starts and as the periodic drift check. It
// writes only objects whose content differs from what the cluster holds (the status writers compare with the
// cached object), so a drift check in a converged cluster writes nothing; a difference between the incremental plan
// and the rebuilt one is counted (`tabby_plan_drift_total`) and logged, because it means an event was missed.
// Writes within a pass go out with bounded concurrency (`writeConcurrency`): shards first, then dataplanes, so an agent
// that sees a new revision finds the routes it refers to. Each NodeDataplane's `Planned` condition names the input
// problems that concern the node (an object kept at its last good version), so a typo is visible where its effect is.
import type { Condition } from '../api/common.js';
import { formatIssue } from '../api/errors.js';
import {
  NodeDataplaneKind,
  RouteTableKind,
  ROUTE_SHARD_LABEL,
  ROUTE_VIEW_LABEL,
  type NodeDesired,
  type RouteTableStatus,
} from '../api/index.js';
import { IncrementalPlanner, type PlanDelta } from '../plan/incremental-planner.js';
import type { ClusterPlan } from '../plan/pipeline.js';
import { GLOBAL_CONFIG_NAME, PER_NODE_CONFIG_PREFIX } from '../plan/snapshot.js';
import {
  AlreadyExistsError,
  NotFoundError,
  createStatusWriter,
  type KubeClient,
  type Metrics,
  type StatusWriter,
} from '../kube/index.js';
import type { Logger } from '../log/logger.js';
import type { ClusterCaches } from './caches.js';
import { setCondition, type ConditionInput } from './conditions.js';
import type { InputProblem, PlanInputs } from './plan-inputs.js';

export const OPERATOR_FIELD_MANAGER = 'tabby-operator';

export interface PlanPassStats {
  kind: 'incremental' | 'full';
  /** Changes the planner took in this pass. */
  changes: number;
  nodesWritten: number;
  shardsWritten: number;
  deletes: number;
  /** Full passes: nodes and shards whose incremental plan differed from the rebuilt one. */
  drift: number;
  nodesPlanned: number;
  routeTables: number;
  ms: number;
}

export interface PlanSync {
  /** An incremental pass (a full one if the term has none yet). */
  run(): Promise<PlanPassStats>;
  /** A full pass: the planner rebuilt from the caches; writes what differs from the cluster. */
  full(reason: 'start' | 'drift'): Promise<PlanPassStats>;
  /** Our own object changed or vanished (someone deleted a NodeDataplane or RouteTable): true when it needs a write. */
  outputChanged(kind: 'nodeDataplanes' | 'routeTables', name: string): boolean;
  /** The input problems changed: the nodes whose Planned condition they concern get rewritten at the next pass. */
  problemsChanged(changed: readonly { problem?: InputProblem; previous?: InputProblem }[]): void;
  /** Whether a pass has work to do besides pending input changes. */
  hasWork(): boolean;
  /** The revisions of the current plan (undefined before the term's first pass): what agents should end up with. */
  revisions(): PlannedRevisions | undefined;
  writerStats(): { nodeDataplanes: ReturnType<StatusWriter['stats']>; routeTables: ReturnType<StatusWriter['stats']> };
}

export interface PlannedRevisions {
  /** node → its NodeDataplane's desired revision. */
  nodes: Map<string, string>;
  /** view → RouteTable name → revision. */
  views: Map<string, Map<string, string>>;
}

export interface PlanSyncDeps {
  client: KubeClient;
  caches: ClusterCaches;
  inputs: PlanInputs;
  logger: Logger;
  metrics?: Metrics;
  now: () => number;
  /** Counts full-pass differences between the incremental plan and the rebuilt one. */
  onDrift?(count: number): void;
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

/** The nodes an input problem concerns (every node for cluster-wide objects). */
function concerns(p: InputProblem, inputs: PlanInputs): { all: true } | { nodes: string[] } {
  switch (p.cache) {
    case 'nodes':
      return { nodes: [p.name] };
    case 'ipamBlocks': {
      const r = inputs.recordOf('ipamBlocks', p.name);
      const owner = r?.kind === 'block' ? r.record.affinity : undefined;
      return owner !== undefined ? { nodes: [owner] } : { all: true };
    }
    case 'bgpConfigurations':
    case 'felixConfigurations':
      return p.name !== GLOBAL_CONFIG_NAME && p.name.startsWith(PER_NODE_CONFIG_PREFIX)
        ? { nodes: [p.name.slice(PER_NODE_CONFIG_PREFIX.length)] }
        : { all: true };
    default:
      return { all: true };
  }
}

function problemText(p: InputProblem): string {
  const what = p.issues.map((i) => formatIssue({ ...i, object: { kind: p.kind, name: p.name } })).join('; ');
  const kept =
    p.keptResourceVersion !== undefined
      ? `planned from its last good version (resourceVersion ${p.keptResourceVersion})`
      : 'left out of the plan (no good version seen)';
  return `${what}; ${kept}`;
}

export function createPlanSync(deps: PlanSyncDeps): PlanSync {
  const { client, caches, inputs } = deps;
  const log = deps.logger.child({ controller: 'plan' });
  const ndpClient = client.kind(NodeDataplaneKind);
  const rtClient = client.kind(RouteTableKind);
  const common = {
    fieldManager: OPERATOR_FIELD_MANAGER,
    mapLists: { conditions: ['type'] },
    ...(deps.metrics ? { metrics: deps.metrics } : {}),
    logger: log,
  };
  const ndpWriter = createStatusWriter({ resource: ndpClient, name: 'nodedataplane', ...common });
  const rtWriter = createStatusWriter({ resource: rtClient, name: 'routetable', ...common });
  const width = deps.writeConcurrency ?? 16;

  let planner: IncrementalPlanner | undefined;
  /** Nodes and shards to write at the next pass although their revision did not change. */
  const rewriteNodes = new Set<string>();
  const rewriteShards = new Set<string>();
  /** Problems that concern every node, and those that concern only some. */
  const globalProblems = new Map<string, InputProblem>();
  const nodeProblems = new Map<string, Map<string, InputProblem>>();
  /** `Kind/name` → uid of objects this writer deleted that the cache may still show. */
  const deleted = new Map<string, string | undefined>();
  /**
   * `Kind/name` → objects this writer created that the cache may not show yet (its watch can lag, or be down for a
   * while: a fresh apiserver answers watches of new CRDs with 429 until their storage is ready). Without it, every
   * pass in that time sent the create again and got AlreadyExists — a write nobody reads. Dropped at the object's
   * next cache event (an add showing it, or a delete: then it is created again).
   */
  const created = new Map<string, unknown>();
  const outputKey = (kind: 'nodeDataplanes' | 'routeTables', name: string): string =>
    `${kind === 'nodeDataplanes' ? 'NodeDataplane' : 'RouteTable'}/${name}`;
  /**
   * Per node, what this term last wrote into its NodeDataplane: the Planned condition and the generation it observed.
   * A pass can run before the cache shows the previous pass's create or write (tens of milliseconds after a term
   * starts, when IPAM's first claims replan every node); building the condition from that stale copy gave it a new
   * lastTransitionTime and no observedGeneration, and the next drift check rewrote it back.
   */
  const written = new Map<string, { planned: Condition; generation: number | undefined }>();

  /** Files a problem under the nodes it concerns. */
  function file(p: InputProblem): void {
    const key = `${p.cache}/${p.name}`;
    const scope = concerns(p, inputs);
    if ('all' in scope) {
      globalProblems.set(key, p);
      return;
    }
    for (const n of scope.nodes) {
      const m = nodeProblems.get(n) ?? new Map<string, InputProblem>();
      m.set(key, p);
      nodeProblems.set(n, m);
    }
  }

  function problemsOf(node: string): InputProblem[] {
    return [...globalProblems.values(), ...(nodeProblems.get(node)?.values() ?? [])];
  }

  function plannedCondition(node: string, desired: NodeDesired, generation: number | undefined): ConditionInput {
    const gen = generation !== undefined ? { observedGeneration: generation } : {};
    const problems = problemsOf(node);
    const summary = `revision ${desired.revision}: ${desired.blocks.length} own block(s), view ${desired.view}`;
    if (problems.length === 0) return { type: 'Planned', status: 'True', reason: 'Planned', message: summary, ...gen };
    return {
      type: 'Planned',
      status: 'True',
      reason: 'InputKeptAtLastGood',
      message: `${summary}; ${problems.map(problemText).join(' | ')}`,
      ...gen,
    };
  }

  /**
   * The object as the cache holds it, else as this writer created it (now, or earlier when the cache has not shown
   * it yet); undefined when someone else created it first.
   */
  async function ensureCreated<T>(
    key: string,
    cached: T | undefined,
    create: () => Promise<T>,
  ): Promise<T | undefined> {
    if (cached !== undefined) return cached;
    if (created.has(key)) return created.get(key) as T;
    try {
      const obj = await create();
      created.set(key, obj);
      return obj;
    } catch (err) {
      if (!(err instanceof AlreadyExistsError)) throw err;
      return undefined;
    }
  }

  async function writeShard(name: string, status: RouteTableStatus): Promise<void> {
    const cached = caches.routeTables.store.get(name);
    await ensureCreated(outputKey('routeTables', name), cached, () =>
      rtClient.create(
        {
          apiVersion: 'dataplane.tabby.dev/v1alpha1',
          kind: 'RouteTable',
          metadata: {
            name,
            labels: { [ROUTE_VIEW_LABEL]: status.view, [ROUTE_SHARD_LABEL]: String(status.shard) },
          },
          spec: {},
        },
        { fieldManager: OPERATOR_FIELD_MANAGER },
      ),
    );
    await rtWriter.write({ name }, status, cached);
  }

  async function writeNode(name: string, desired: NodeDesired, nowIso: string): Promise<void> {
    const node = caches.nodes.store.get(name);
    if (!node) return;
    const cached = caches.nodeDataplanes.store.get(name);
    // A dataplane created here is observed as created (generation 1), so its first status already carries
    // observedGeneration and the next pass does not write it again.
    const current = await ensureCreated(outputKey('nodeDataplanes', name), cached, () =>
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
        },
        { fieldManager: OPERATOR_FIELD_MANAGER },
      ),
    );
    const mine = written.get(name);
    const existing = mine ? [mine.planned] : ((current?.status?.conditions ?? []) as Condition[]);
    const generation =
      typeof current?.metadata.generation === 'number' ? current.metadata.generation : mine?.generation;
    const planned = setCondition(existing, plannedCondition(name, desired, generation), nowIso);
    await ndpWriter.write({ name }, { desired, conditions: [planned] }, current);
    written.set(name, { planned, generation });
  }

  /**
   * Deletes an object once: a pass that runs before the cache shows the deletion does not send it again (the uid
   * tells a deleted object from a new one of the same name).
   */
  async function deleteOnce(
    kind: 'RouteTable' | 'NodeDataplane',
    obj: { metadata: { name: string; uid?: string | undefined } },
    del: () => Promise<void>,
  ): Promise<boolean> {
    const key = `${kind}/${obj.metadata.name}`;
    if (deleted.has(key) && deleted.get(key) === obj.metadata.uid) return false;
    try {
      await del();
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
    }
    deleted.set(key, obj.metadata.uid);
    created.delete(key);
    return true;
  }

  /** Writes what `targets` names; returns counts. Every write is tried; failures fail the pass at the end. */
  /** What `write` reads of a plan: one object at a time (an incremental pass must not copy the whole plan). */
  interface PlanLookup {
    node(name: string): NodeDesired | undefined;
    routeTable(name: string): RouteTableStatus | undefined;
  }

  async function write(
    plan: PlanLookup,
    targets: {
      shards: Iterable<string>;
      nodes: Iterable<string>;
      removedShards: Iterable<string>;
      removedNodes: Iterable<string>;
    },
  ): Promise<{ nodesWritten: number; shardsWritten: number; deletes: number }> {
    const failures: string[] = [];
    const counts = { nodesWritten: 0, shardsWritten: 0, deletes: 0 };
    const attempt = async (what: string, fn: () => Promise<void>): Promise<void> => {
      try {
        await fn();
      } catch (err) {
        failures.push(`${what}: ${(err as Error).message}`);
      }
    };
    const nowIso = new Date(deps.now()).toISOString();
    await forEachLimit(targets.shards, width, async (name) => {
      const status = plan.routeTable(name);
      if (!status) return;
      await attempt(`RouteTable ${name}`, () => writeShard(name, status));
      rewriteShards.delete(name);
      counts.shardsWritten++;
    });
    await forEachLimit(targets.nodes, width, async (name) => {
      const desired = plan.node(name);
      if (!desired) return;
      await attempt(`NodeDataplane ${name}`, () => writeNode(name, desired, nowIso));
      rewriteNodes.delete(name);
      counts.nodesWritten++;
    });
    for (const name of targets.removedShards) {
      const rt = caches.routeTables.store.get(name);
      if (!rt) continue;
      await attempt(`RouteTable ${name} (delete)`, async () => {
        if (await deleteOnce('RouteTable', rt, () => rtClient.delete(name))) counts.deletes++;
      });
      rtWriter.forget({ name });
    }
    for (const name of targets.removedNodes) {
      const ndp = caches.nodeDataplanes.store.get(name);
      if (!ndp || caches.nodes.store.has(name)) continue;
      await attempt(`NodeDataplane ${name} (delete)`, async () => {
        if (await deleteOnce('NodeDataplane', ndp, () => ndpClient.delete(name))) counts.deletes++;
      });
      ndpWriter.forget({ name });
      written.delete(name);
    }
    // Forget deletions the cache has caught up with.
    for (const key of [...deleted.keys()]) {
      const [kind, name] = key.split('/') as [string, string];
      const still = kind === 'RouteTable' ? caches.routeTables.store.get(name) : caches.nodeDataplanes.store.get(name);
      if (still?.metadata.uid !== deleted.get(key)) deleted.delete(key);
    }
    if (failures.length > 0) {
      const more = failures.length > 3 ? ` (and ${failures.length - 3} more)` : '';
      throw new Error(`plan pass: ${failures.length} write(s) failed: ${failures.slice(0, 3).join('; ')}${more}`);
    }
    return counts;
  }

  function driftBetween(before: ClusterPlan, after: ClusterPlan): number {
    let n = 0;
    for (const [name, d] of after.nodes) if (before.nodes.get(name)?.revision !== d.revision) n++;
    for (const name of before.nodes.keys()) if (!after.nodes.has(name)) n++;
    for (const [name, s] of after.routeTables) if (before.routeTables.get(name)?.revision !== s.revision) n++;
    for (const name of before.routeTables.keys()) if (!after.routeTables.has(name)) n++;
    return n;
  }

  return {
    async run() {
      if (!planner) return this.full('start');
      const started = deps.now();
      const changes = inputs.takeChanges();
      const delta: PlanDelta = planner.apply(changes);
      const shards = new Set([...delta.changedRouteTables, ...rewriteShards]);
      const nodes = new Set([...delta.changedNodes, ...rewriteNodes]);
      const counts = await write(planner, {
        shards,
        nodes,
        removedShards: delta.removedRouteTables,
        removedNodes: delta.removedNodes,
      });
      const stats: PlanPassStats = {
        kind: 'incremental',
        changes: changes.length,
        ...counts,
        drift: 0,
        nodesPlanned: planner.size.nodes,
        routeTables: planner.size.routeTables,
        ms: deps.now() - started,
      };
      log.debug({ ...stats }, 'plan pass done');
      return stats;
    },

    async full(reason) {
      const started = deps.now();
      const snapshot = inputs.rebuild();
      // Every node's Planned condition is written from the problems as they are now, in this same pass.
      globalProblems.clear();
      nodeProblems.clear();
      for (const p of inputs.problems()) file(p);
      const before = planner?.plan();
      planner = new IncrementalPlanner(snapshot);
      const plan = planner.plan();
      const drift = before ? driftBetween(before, plan) : 0;
      if (drift > 0) {
        log.error({ drift, reason }, 'incremental plan differed from a full rebuild');
        deps.onDrift?.(drift);
      }
      // Everything planned is offered to the writers, which send only what differs from the cached object; what the
      // cluster holds that the plan no longer has is deleted.
      const removedShards = caches.routeTables.store
        .list()
        .filter((rt) => rt.metadata.labels?.[ROUTE_VIEW_LABEL] !== undefined && !plan.routeTables.has(rt.metadata.name))
        .map((rt) => rt.metadata.name);
      const removedNodes = caches.nodeDataplanes.store.keys().filter((name) => !caches.nodes.store.has(name));
      const counts = await write(planner, {
        shards: plan.routeTables.keys(),
        nodes: plan.nodes.keys(),
        removedShards,
        removedNodes,
      });
      const stats: PlanPassStats = {
        kind: 'full',
        changes: 0,
        ...counts,
        drift,
        nodesPlanned: plan.nodes.size,
        routeTables: plan.routeTables.size,
        ms: deps.now() - started,
      };
      log.info({ ...stats, reason }, 'full plan pass done');
      return stats;
    },

    outputChanged(kind, name) {
      // Called for every status write an agent makes: O(1), never a copy of the plan.
      created.delete(outputKey(kind, name));
      if (!planner) return false;
      if (kind === 'nodeDataplanes') {
        // Only a deletion needs us now; an edit of our fields (or the agent's status) is left to the drift check, so
        // the echo of our own write racing an agent's status write never causes a second write.
        if (caches.nodeDataplanes.store.has(name) || !planner.node(name) || !caches.nodes.store.has(name)) return false;
        // The object is gone with its conditions: the one recreated gets a Planned condition that starts now.
        written.delete(name);
        rewriteNodes.add(name);
        return true;
      }
      if (caches.routeTables.store.has(name) || !planner.routeTable(name)) return false;
      rewriteShards.add(name);
      return true;
    },

    problemsChanged(changed) {
      let all = false;
      const nodes = new Set<string>();
      for (const c of changed) {
        for (const p of [c.previous, c.problem]) {
          if (!p) continue;
          const key = `${p.cache}/${p.name}`;
          const scope = concerns(p, inputs);
          if ('all' in scope) all = true;
          else for (const n of scope.nodes) nodes.add(n);
          // Remove the old entry wherever it was filed; the new one is filed below.
          globalProblems.delete(key);
          for (const m of nodeProblems.values()) m.delete(key);
        }
        if (c.problem) file(c.problem);
      }
      for (const [n, m] of nodeProblems) if (m.size === 0) nodeProblems.delete(n);
      if (all) for (const n of caches.nodes.store.keys()) rewriteNodes.add(n);
      for (const n of nodes) rewriteNodes.add(n);
    },

    hasWork: () => rewriteNodes.size > 0 || rewriteShards.size > 0,

    revisions() {
      if (!planner) return undefined;
      const plan = planner.plan();
      const views = new Map<string, Map<string, string>>();
      for (const [name, s] of plan.routeTables) {
        const v = views.get(s.view) ?? new Map<string, string>();
        v.set(name, s.revision);
        views.set(s.view, v);
      }
      return { nodes: new Map([...plan.nodes].map(([n, d]) => [n, d.revision])), views };
    },

    writerStats: () => ({ nodeDataplanes: ndpWriter.stats(), routeTables: rtWriter.stats() }),
  };
}
