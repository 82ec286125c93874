// Public surface of src/plan: ClusterSnapshot in, NodeDataplane desired state and RouteTable shards out (pure).
export type {
  ClusterSnapshot,
  EncapMode,
  FelixSettings,
  NodeAddress,
  SnapshotBGPConfiguration,
  SnapshotBGPPeer,
  SnapshotBlock,
  SnapshotFelixConfiguration,
  SnapshotNode,
  SnapshotPod,
  SnapshotPool,
} from './snapshot.js';
export { emptySnapshot, snapshotFromObjects } from './snapshot.js';
export type { InputKindObject, SnapshotIssue, SnapshotOptions, SnapshotResult } from './snapshot-from-objects.js';
export { NODE_ANNOTATIONS } from './snapshot-from-objects.js';
export { type ClusterPlan, planCluster } from './pipeline.js';
export { IncrementalPlanner, type PlanChange, type PlanDelta, type PlanOptions } from './incremental-planner.js';
export {
  type MaterialisedNode,
  type RouteExplain,
  type RouteLine,
  type ShardInput,
  type VxlanNeighbour,
  explainComment,
  materialiseNode,
  remoteRouteLine,
  routeDestination,
} from './materialise.js';
export type { RouteRule } from './encap-decider.js';
export { meshPeers } from './bgp-peers.js';
export { TARGET_ENTRIES_PER_SHARD, shardName } from './route-views.js';
export { type SyntheticIpamResult, withSyntheticIpam } from './synthetic-ipam.js';
export { type Changes, type NodePlanDiff, bgpSessionLine, diffPlans, neighbourLine, tunnelLine } from './plan-diff.js';
export { type PublishedNode, type RouteState, routeState, routesFor } from './route-lookup.js';
