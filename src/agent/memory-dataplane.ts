// An in-memory Dataplane with the kernel semantics of simulatePlan: unit tests of the syncer and the loop, and dry
// runs. It records every plan it was given, can be told to fail lines, and lets a test change "the kernel" behind
// the agent's back (drift).
import type { ApplyFailure, ApplyOutcome, Dataplane } from './dataplane.js';
import { type KernelPlan, simulatePlan } from './kernel-diff.js';
import { type HostEnvironment, type KernelState, emptyKernelState } from './kernel-model.js';
import type { KernelCapabilities, SysctlSetting } from './kernel-target.js';
import { renderBatches } from './linux/ip-batch.js';

export interface MemoryDataplane extends Dataplane {
  state: KernelState;
  env: HostEnvironment;
  sysctls: Map<string, string>;
  nat: string | undefined;
  plans: KernelPlan[];
  reads: number;
  /** Objects (as ip-batch names them) whose lines fail. */
  failObjects: Set<string>;
}

export function createMemoryDataplane(init: {
  env?: HostEnvironment;
  capabilities?: KernelCapabilities;
  state?: KernelState;
}): MemoryDataplane {
  const caps = init.capabilities ?? { ipip: true };
  const dp: MemoryDataplane = {
    state: init.state ?? emptyKernelState(),
    env: init.env ?? { interfaces: [{ name: 'eth0', up: true, mtu: 1500, addresses: [] }] },
    sysctls: new Map(),
    nat: undefined,
    plans: [],
    reads: 0,
    failObjects: new Set(),
    capabilities: () => Promise.resolve(caps),
    read() {
      dp.reads++;
      return Promise.resolve({ state: dp.state, env: dp.env });
    },
    apply(plan: KernelPlan, routeProtocol: number): Promise<ApplyOutcome> {
      dp.plans.push(plan);
      const b = renderBatches(plan, routeProtocol);
      const failures: ApplyFailure[] = [];
      for (const l of [...b.ip, ...b.bridge]) {
        if (dp.failObjects.has(l.object)) failures.push({ object: l.object, message: 'injected failure' });
      }
      if (failures.length === 0) dp.state = simulatePlan(dp.state, plan);
      return Promise.resolve({
        failures,
        ipLines: b.ip.length,
        bridgeLines: b.bridge.length,
        processes: (b.ip.length > 0 ? 1 : 0) + (b.bridge.length > 0 ? 1 : 0),
      });
    },
    ensureSysctls(settings: readonly SysctlSetting[]) {
      const written: string[] = [];
      for (const s of settings) {
        if (dp.sysctls.get(s.path) === s.value) continue;
        dp.sysctls.set(s.path, s.value);
        written.push(s.path);
      }
      return Promise.resolve({ written, failures: [] });
    },
    readNat: () => Promise.resolve(dp.nat),
    applyNat(script: string) {
      dp.nat = script.includes('{') ? script : undefined;
      return Promise.resolve(undefined);
    },
  };
  return dp;
}
