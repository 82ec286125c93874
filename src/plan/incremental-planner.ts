// Incremental planning: keep the plan of a cluster and bring it up to date with each batch of changes, recomputing
// only the nodes and shards a change can affect (see plan-state.ts for the dependency rules).
// Inputs: an initial snapshot, then `PlanChange` batches (node/pool/block/pod/BGPPeer/BGPConfiguration/
// FelixConfiguration upserts and deletes). Outputs: a `PlanDelta` per batch (NodeDataplanes and RouteTables to write
// or delete) and the current `ClusterPlan`.
// Invariant (differential test): after any sequence of batches, `plan()` equals `planCluster(snapshot())`.
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

  /** The snapshot the current plan is for (records sorted by key). */
  snapshot(): ClusterSnapshot {
    return this.state.idx.toSnapshot();
  }
}
