// Incremental planning: keep the plan of a cluster and bring it up to date with each batch of changes, recomputing
// only the nodes and shards a change can affect (see plan-state.ts for the dependency rules).
// Inputs: an initial snapshot, then `PlanChange` batches (node/pool/block/pod/BGPPeer/BGPConfiguration/
// FelixConfiguration upserts and deletes). Outputs: a `PlanDelta` per batch (NodeDataplanes and RouteTables to write
// or delete) and the current `ClusterPlan`.
// Invariant (differential test): after any sequence of batches, `plan()` equals `planCluster` of the snapshot those
// batches lead to. Production: the operator's plan controller (src/operator/plan-sync.ts).
import type { NodeDesired } from '../api/node-dataplane.js';
import type { RouteTableStatus } from '../api/route-table.js';
import { type ClusterPlan, planFromState } from './pipeline.js';
import { type PlanChange, type PlanDelta, type PlanOptions, PlanState } from './plan-state.js';
import { type ClusterSnapshot, emptySnapshot } from './snapshot.js';

export type { PlanChange, PlanDelta, PlanOptions } from './plan-state.js';

export class IncrementalPlanner {
  private readonly state: PlanState;

  constructor(initial: ClusterSnapshot = emptySnapshot(), options: PlanOptions = {}) {
    this.state = new PlanState(initial, options);
    this.state.flush();
  }

  /** Applies a batch and recomputes what it affects; returns what changed. */
  apply(changes: readonly PlanChange[]): PlanDelta {
    for (const c of changes) this.state.apply(c);
    return this.state.flush();
  }

  /** The current plan. Its maps are copies; `materialise` reads live state, so call it before the next `apply`. */
  plan(): ClusterPlan {
    return planFromState(this.state);
  }

  /** One node's desired state now, without copying the plan (O(1)). */
  node(name: string): NodeDesired | undefined {
    return this.state.desired.get(name);
  }

  /** One RouteTable's status now, without copying the plan (O(1)). */
  routeTable(name: string): RouteTableStatus | undefined {
    return this.state.shards.get(name)?.status;
  }

  /** How many nodes and RouteTables the plan has. */
  get size(): { nodes: number; routeTables: number } {
    return { nodes: this.state.desired.size, routeTables: this.state.shards.size };
  }
}
