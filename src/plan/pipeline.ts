// The planning pipeline, wired in one place (STYLE.md §3):
//
//   ClusterSnapshot
//        │  cluster-index.ts (facts.ts parses every record once)
//        ▼
//   ClusterIndex ──┬──► plan-globals.ts ─── CrossSubnet families, encapsulations, BGP defaults
//                  │
//                  ├──► owner-routes.ts ─── per node: its blocks + borrowed /32s, each decided by
//                  │        │                 encap-decider.ts (across subnets, and within the owner's subnet)
//                  │        ▼
//                  │    route-views.ts ──── per view (subnet, or "cluster"): pick the variant for the view,
//                  │                        shard by fnv1a(owner) ──► RouteTable.status (entries + node records)
//                  │
//                  └──► node-desired.ts ─── per node: blocks, borrowed, tunnels/MTU/NAT (felix-effective.ts),
//                                           BGP speaker + explicit peers (bgp-peers.ts) ──► NodeDataplane desired
//
//   materialise.ts: NodeDesired + the node's view shards (+ its pods' CNI routes, for render) ──► the node's full
//                   `ip route` table, mesh, neighbours.
//
// plan-state.ts holds the state and dirty sets; `planCluster` runs it once from scratch, IncrementalPlanner keeps it
// and applies changes. Inputs: a snapshot. Outputs: `ClusterPlan`. Pure: no I/O, no clock, no randomness.
import type { NodeDesired } from '../api/node-dataplane.js';
import type { RouteTableStatus } from '../api/route-table.js';
import { type MaterialisedNode, materialiseNode } from './materialise.js';
import { localWorkloadRoutes } from './node-desired.js';
import { type PlanOptions, PlanState } from './plan-state.js';
import type { ClusterSnapshot } from './snapshot.js';

export interface ClusterPlan {
  /** `NodeDataplane.status.desired` by node name. */
  readonly nodes: ReadonlyMap<string, NodeDesired>;
  /** `RouteTable.status` by object name (`<view>-<shard>`). */
  readonly routeTables: ReadonlyMap<string, RouteTableStatus>;
  /** The node's full table (N routes): for render and tests only. Undefined for an unknown node. */
  materialise(node: string): MaterialisedNode | undefined;
}

export function planFromState(state: PlanState): ClusterPlan {
  const routeTables = new Map<string, RouteTableStatus>();
  for (const name of [...state.shards.keys()].sort()) {
    const s = state.shards.get(name);
    if (s) routeTables.set(name, s.status);
  }
  const nodes = new Map<string, NodeDesired>();
  for (const name of [...state.desired.keys()].sort()) {
    const d = state.desired.get(name);
    if (d) nodes.set(name, d);
  }
  return {
    nodes,
    routeTables,
    materialise(node: string) {
      const desired = state.desired.get(node);
      if (!desired) return undefined;
      const v4 = state.shardsOfView(desired.view);
      const v6 = desired.viewV6 !== undefined ? state.shardsOfView(desired.viewV6) : v4;
      return materialiseNode(node, desired, v4, v6, localWorkloadRoutes(state.idx, node));
    },
  };
}

/** Plans every node and view from scratch. */
export function planCluster(snapshot: ClusterSnapshot, options: PlanOptions = {}): ClusterPlan {
  const state = new PlanState(snapshot, options);
  state.flush();
  return planFromState(state);
}
