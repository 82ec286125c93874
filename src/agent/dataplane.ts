// What the agent's sync needs from a dataplane: read the owned kernel state, apply a plan, sysctls, the NAT table.
// The Linux implementation is linux/linux-dataplane.ts; unit tests of the syncer and the loop use an in-memory one
// built on simulatePlan, so both obey the same semantics.
import type { KernelPlan } from './kernel-diff.js';
import type { Observation } from './kernel-model.js';
import type { KernelCapabilities, SysctlSetting } from './kernel-target.js';

export interface ApplyFailure {
  object: string;
  message: string;
}

export interface ApplyOutcome {
  failures: ApplyFailure[];
  /** Lines sent to `ip -batch` / `bridge -batch` (0 when nothing ran). */
  ipLines: number;
  bridgeLines: number;
  /** Processes started to apply (at most one per tool). */
  processes: number;
}

export interface Dataplane {
  capabilities(): Promise<KernelCapabilities>;
  read(routeProtocol: number): Promise<Observation>;
  apply(plan: KernelPlan, routeProtocol: number): Promise<ApplyOutcome>;
  /** Makes every sysctl hold, writing only those that differ (one process at most). */
  ensureSysctls(settings: readonly SysctlSetting[]): Promise<{ written: string[]; failures: ApplyFailure[] }>;
  /** The agent's NAT table as `nft -s list` prints it; undefined when absent. */
  readNat(): Promise<string | undefined>;
  /** Runs an `nft -f -` script; returns the failure, if any. */
  applyNat(script: string): Promise<ApplyFailure | undefined>;
}
