// Public surface of src/agent: the Linux half of the node agent.
//
// Seam for the Kubernetes wiring (src/kube + src/cli): build a Dataplane (createLinuxDataplane), optionally a
// BirdControl, then createAgentSyncer({ nodeName, dataplane, bird, clock, logger }); feed runAgentLoop an async
// iterable of { desired, shards, passwords } snapshots; in onReport write toNodeApplied(report) and
// programmedCondition(report, generation, previous) when info.statusChanged.
export {
  createAgentSyncer,
  type AgentSyncer,
  type AgentSyncerDeps,
  type SyncInput,
  type SyncOptions,
} from './agent-syncer.js';
export { runAgentLoop, type AgentLoopOptions, type ReportInfo, type SyncTrigger, type Timers } from './agent-loop.js';
export {
  appliedStatusKey,
  programmedCondition,
  toNodeApplied,
  type ApplyCounts,
  type ApplyReport,
} from './apply-report.js';
export type { ApplyFailure, ApplyOutcome, Dataplane } from './dataplane.js';
export {
  computeKernelTarget,
  targetCounts,
  IPIP_UNAVAILABLE,
  type AgentIssue,
  type KernelCapabilities,
  type KernelTarget,
  type KernelTargetInput,
  type RouteShard,
  type SysctlSetting,
  TargetMemo,
} from './kernel-target.js';
export {
  diffKernel,
  simulatePlan,
  applyPlanInPlace,
  stateSatisfies,
  planSize,
  type KernelPlan,
} from './kernel-diff.js';
export * from './kernel-model.js';
export { renderNatScript, natOutgoingTarget, NAT_TABLE_FAMILY, NAT_TABLE_NAME } from './nat-outgoing.js';
export { createMemoryDataplane, type MemoryDataplane } from './memory-dataplane.js';
export { renderBatches, batchInput, type BatchLine } from './linux/ip-batch.js';
export {
  createProcessRunner,
  namespacedRunner,
  inNamespace,
  HOST_NAMESPACE,
  type CommandRunner,
  type CommandResult,
  type NetworkNamespace,
} from './linux/command-runner.js';
export { createLinuxDataplane, type LinuxDataplaneOptions } from './linux/linux-dataplane.js';
export { createKernelMonitor, isOwnedChange } from './linux/kernel-monitor.js';
export {
  renderBirdConfig,
  secretRefKey,
  type BirdConfig,
  type BirdConfigInput,
  type RenderedSession,
} from './bird/bird-config.js';
export { parseShowProtocols, formatNodeStatus, type BgpSession } from './bird/bird-status.js';
export { createBirdControl, type BirdControl, type BirdControlOptions } from './bird/bird-control.js';
