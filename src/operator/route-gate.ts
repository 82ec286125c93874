// The route readiness gate's writer (issue 21; the rule is src/plan/route-readiness.ts). Inputs: the NodeDataplane,
// RouteTable and Node cache events, fed as they come (only the nodes an event concerns are looked at). Outputs, once
// per joining node when its gate opens: the RoutesConverged=True condition on its NodeDataplane (server-side apply,
// field manager `tabby-route-gate`, so the planner's and the agent's conditions stay theirs), one Normal Event
// `RoutesConverged` on the Node, one observation of `tabby_node_join_converged_seconds`. Nothing is written while a
// node waits (its agent keeps the CNI configuration back, so kubelet keeps the Node NotReady and the scheduler keeps
// ordinary pods off it): a join costs the gate one status write and one Event. The gauge
// `tabby_route_gate_pending_nodes` counts the nodes waiting; `RouteGate.waitingFor` names whom one waits for.
import type { Condition } from '../api/common.js';
import { NodeDataplaneKind, type NodeDataplane, type RouteTable } from '../api/index.js';
import { ROUTES_CONVERGED_CONDITION, RouteReadiness } from '../plan/route-readiness.js';
import { createStatusWriter, type EventRecorder, type KubeClient, type Metrics, type Node } from '../kube/index.js';
import type { Logger } from '../log/logger.js';
import type { ClusterCaches, ChangeEvent } from './caches.js';
import { setCondition } from './conditions.js';

export const ROUTE_GATE_FIELD_MANAGER = 'tabby-route-gate';

export interface RouteGateDeps {
  client: KubeClient;
  caches: ClusterCaches;
  events: EventRecorder;
  logger: Logger;
  metrics?: Metrics;
  now: () => number;
  /** When the node joined (ms): when this process saw it added, else its creationTimestamp. */
  joinedAt(node: string): number | undefined;
  onConverged(seconds: number): void;
  onPending(count: number): void;
}

export interface RouteGate {
  /** Feeds one cache event; true when the gate may have a node to open (run `run()`); false: `run()` would do nothing. */
  observe(e: ChangeEvent): boolean;
  /** Writes the conditions and Events of the nodes whose gate opened; throws (to be retried) if a write failed. */
  run(): Promise<void>;
  /** The peers a joining node still waits for (undefined: not waiting). */
  waitingFor(node: string): string[] | undefined;
}

/** kubelet stopped reporting: the node controller set Ready to Unknown. */
function nodeLost(node: Node | undefined): boolean {
  const conditions = (node?.status as { conditions?: { type?: string; status?: string }[] } | undefined)?.conditions;
  return conditions?.some((c) => c.type === 'Ready' && c.status === 'Unknown') === true;
}

export function createRouteGate(deps: RouteGateDeps): RouteGate {
  const { caches } = deps;
  const log = deps.logger.child({ controller: 'routegate' });
  const writer = createStatusWriter({
    resource: deps.client.kind(NodeDataplaneKind),
    fieldManager: ROUTE_GATE_FIELD_MANAGER,
    name: 'routegate',
    mapLists: { conditions: ['type'] },
    logger: log,
    ...(deps.metrics ? { metrics: deps.metrics } : {}),
  });
  const gate = new RouteReadiness();
  // A new term starts from what the caches hold (an older revision a peer is at counts once seen again).
  for (const rt of caches.routeTables.store.list()) if (rt.status) gate.observeShard(rt.metadata.name, rt.status);
  for (const n of caches.nodes.store.list()) if (nodeLost(n)) gate.observeNodeLost(n.metadata.name, true);
  for (const ndp of caches.nodeDataplanes.store.list()) gate.observeNodeDataplane(ndp.metadata.name, ndp);
  let pending = gate.pendingCount;
  deps.onPending(pending);

  return {
    waitingFor: (node) => gate.waitingFor(node),
    observe(e) {
      if (e.cache === 'routeTables') {
        gate.observeShard(e.key, caches.routeTables.store.get(e.key)?.status as RouteTable['status']);
      } else if (e.cache === 'nodeDataplanes') {
        gate.observeNodeDataplane(e.key, caches.nodeDataplanes.store.get(e.key) as NodeDataplane | undefined);
        if (gate.pendingCount !== pending) deps.onPending((pending = gate.pendingCount));
      } else if (e.cache === 'nodes') {
        if (nodeLost(e.old as Node | undefined) === nodeLost(e.obj as Node | undefined) && e.type === 'update')
          return false;
        gate.observeNodeLost(e.key, nodeLost(caches.nodes.store.get(e.key)));
      } else return false;
      // Every agent's report after a shard change is an event here; most leave each joining node waiting for others.
      return gate.mayOpen;
    },

    async run() {
      const failures: string[] = [];
      for (const { node, peers } of gate.takeOpened()) {
        const ndp = caches.nodeDataplanes.store.get(node);
        if (!ndp) continue;
        const joined = deps.joinedAt(node);
        const seconds = joined !== undefined ? Math.max(0, (deps.now() - joined) / 1000) : undefined;
        const after = seconds !== undefined ? `, ${seconds.toFixed(1)} s after the Node joined` : '';
        const own = `own dataplane programmed at ${ndp.status?.desired?.revision ?? '?'}`;
        const existing = (ndp.status?.conditions ?? []) as Condition[];
        const condition = setCondition(
          existing,
          peers === 0
            ? {
                type: ROUTES_CONVERGED_CONDITION,
                status: 'True',
                reason: 'NoPeers',
                message: `${own}; no peer${after}`,
              }
            : {
                type: ROUTES_CONVERGED_CONDITION,
                status: 'True',
                reason: 'PeersApplied',
                message: `routes to this node applied by all ${peers} peer agent(s); ${own}${after}`,
              },
          new Date(deps.now()).toISOString(),
        );
        try {
          await writer.write({ name: node }, { conditions: [condition] }, ndp);
        } catch (err) {
          gate.retry(node);
          failures.push(`${node}: ${(err as Error).message}`);
          continue;
        }
        if (seconds !== undefined) deps.onConverged(seconds);
        const k8sNode = caches.nodes.store.get(node);
        const took = seconds !== undefined ? ` in ${seconds.toFixed(1)} s` : '';
        deps.events.record({
          regarding: {
            apiVersion: 'v1',
            kind: 'Node',
            name: node,
            ...(k8sNode?.metadata.uid !== undefined ? { uid: k8sNode.metadata.uid } : {}),
          },
          type: 'Normal',
          reason: ROUTES_CONVERGED_CONDITION,
          action: 'Converge',
          note:
            peers === 0
              ? `node ${node} has no peers: ready once its own dataplane was programmed${took}`
              : `routes to node ${node} converged on ${peers} node(s)${took}`,
        });
        log.info({ node, peers, seconds: seconds ?? null }, 'routes converged: node ready for pods');
      }
      if (failures.length > 0)
        throw new Error(`route gate: ${failures.length} condition write(s) failed: ${failures[0]}`);
    },
  };
}
