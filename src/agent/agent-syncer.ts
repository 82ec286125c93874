// One sync of a node: desired state + RouteTable shards in, kernel and BIRD brought to it, ApplyReport out.
//
// This is the seam for the Kubernetes wiring (src/kube): it hands over a parsed NodeDesired, the view's shards and
// the BGP passwords it read from Secrets; it writes `toNodeApplied(report)` and `programmedCondition(report, ...)`
// back when `appliedStatusKey(report)` changed. Nothing here knows about the API server.
//
// Flow: read the kernel when needed (first sync, `reread`, after `invalidate()` — drift seen by a monitor — after a
// failed apply, or when the route protocol changed); otherwise trust the state the last successful apply left
// (`applyPlanInPlace`), which is what keeps a one-route change to one `ip -batch` process. Then: target (pure,
// memoised per shard) → diff (pure) → one `ip -batch` (+ one `bridge -batch` for FDB), the NAT table and sysctls
// side by side → BIRD config.
// Invariants: syncOnce never throws (a broken sync is a report with `fatal`); an unchanged target applies nothing;
// a restart reads the kernel first, so routes already right are never deleted and re-added. One call at a time
// (runAgentLoop guarantees it).
import type { Logger } from '../log/logger.js';
import type { NodeDesired } from '../api/node-dataplane.js';
import { programmedMessage, type ApplyCounts, type ApplyReport } from './apply-report.js';
import type { BirdControl } from './bird/bird-control.js';
import { renderBirdConfig, type RenderedSession } from './bird/bird-config.js';
import type { BgpSession } from './bird/bird-status.js';
import type { Dataplane } from './dataplane.js';
import { type MutableKernelState, applyPlanInPlace, cloneKernelState, diffKernel, planSize } from './kernel-diff.js';
import type { HostEnvironment } from './kernel-model.js';
import {
  type AgentIssue,
  type KernelTarget,
  type RouteShard,
  TargetMemo,
  computeKernelTarget,
  targetCounts,
} from './kernel-target.js';
import { renderNatScript } from './nat-outgoing.js';
import { viewRevisions } from '../plan/view-revision.js';

export interface SyncInput {
  desired: NodeDesired;
  shards: readonly RouteShard[];
  /** BGP passwords read from their Secrets by the caller, keyed by secretRefKey(ref). */
  passwords?: ReadonlyMap<string, string>;
}

export interface SyncOptions {
  /** Read the kernel even if the agent believes it knows its state (periodic resync, drift). */
  reread?: boolean;
}

export interface AgentSyncerDeps {
  nodeName: string;
  dataplane: Dataplane;
  /** Present when this node runs BIRD; BGP is skipped otherwise. */
  bird?: BirdControl;
  clock?: () => Date;
  logger?: Logger;
}

export interface AgentSyncer {
  syncOnce(input: SyncInput, options?: SyncOptions): Promise<ApplyReport & { retry: boolean }>;
  /** The kernel may have changed behind the agent's back: the next sync reads it. */
  invalidate(): void;
  /** The target of the last sync (for `tabby agent status` and tests). */
  lastTarget(): KernelTarget | undefined;
  /** BGP sessions as BIRD reports them, typed by the last rendered config. */
  bgpSessions(): Promise<{ running: boolean; sessions: BgpSession[] }>;
}

const ZERO_COUNTS: ApplyCounts = { routes: 0, blackholes: 0, neighbours: 0, fdbEntries: 0, devices: 0 };

function reasonFor(fatal: boolean, errorCodes: Set<string>): string {
  if (fatal) return 'SyncFailed';
  if (errorCodes.has('apply_failed')) return 'ApplyFailed';
  if (errorCodes.has('ipip_unavailable')) return 'IPIPUnavailable';
  if (errorCodes.has('invalid_input')) return 'InvalidInput';
  if (errorCodes.has('conflict')) return 'Conflict';
  if (errorCodes.has('bgp')) return 'BGPConfigFailed';
  return 'Programmed';
}

export function createAgentSyncer(deps: AgentSyncerDeps): AgentSyncer {
  const { nodeName, dataplane: dp } = deps;
  const clock = deps.clock ?? (() => new Date());
  /** What the agent believes the kernel holds: read, then kept current by applying each successful plan to it. */
  let cache: { proto: number; state: MutableKernelState; env: HostEnvironment } | undefined;
  let dirty = true;
  let ipipBroken = false;
  let sysctlsDone: string | undefined;
  /** The NAT script last installed and, once read back, how nft lists it (undefined: not read back yet). */
  let natDone: { script: string; listing: string | undefined } | undefined;
  let sessions: RenderedSession[] = [];
  let lastProgrammed: string | undefined;
  let target: KernelTarget | undefined;
  const memo = new TargetMemo();

  async function syncOnce(input: SyncInput, options: SyncOptions = {}): Promise<ApplyReport & { retry: boolean }> {
    const t0 = performance.now();
    const { desired } = input;
    const errors: { message: string; object?: string }[] = [];
    const errorCodes = new Set<string>();
    const warnings: AgentIssue[] = [];
    const ops = { ipLines: 0, bridgeLines: 0, processes: 0, sysctlWrites: 0, natReplaced: false, birdReloaded: false };
    let counts: ApplyCounts = { ...ZERO_COUNTS };
    let fatal = false;
    let changed = false;
    let reread = false;
    let applyFailed = false;
    const fail = (code: string, message: string, object?: string) => {
      errorCodes.add(code);
      errors.push(object === undefined ? { message } : { message, object });
    };

    try {
      const proto = desired.felix.clusterRouteProtocol;
      const caps = await dp.capabilities();
      if (options.reread === true || dirty || cache === undefined || cache.proto !== proto) {
        const obs = await dp.read(proto);
        cache = { proto, state: cloneKernelState(obs.state), env: obs.env };
        dirty = false;
        reread = true;
      }
      const ipip = !ipipBroken && (caps.ipip || cache.state.links.get('tunl0')?.kind === 'ipip');
      target = computeKernelTarget(
        {
          nodeName,
          desired,
          shards: input.shards,
          env: cache.env,
          capabilities: { ipip },
          currentRoutes: cache.state.routes,
        },
        memo,
      );
      for (const i of target.issues) {
        if (i.severity === 'error') fail(i.code, i.message, i.object);
        else warnings.push(i);
      }
      counts = { ...targetCounts(target) };

      const plan = diffKernel(cache.state, target);
      const current = cache;
      const t = target;

      // The batch, the NAT table and (unless the batch creates devices they name) the sysctls are independent:
      // they run side by side, so a full sync costs the slowest of them, not their sum.
      const applyRoutes = async () => {
        if (planSize(plan) === 0) return;
        const outcome = await dp.apply(plan, proto);
        changed = true;
        ops.ipLines = outcome.ipLines;
        ops.bridgeLines = outcome.bridgeLines;
        ops.processes = outcome.processes;
        if (outcome.failures.length > 0) {
          applyFailed = true;
          dirty = true;
          for (const f of outcome.failures) {
            fail('apply_failed', f.message, f.object);
            if (f.object === 'device tunl0' && /Unknown device type|not supported/i.test(f.message)) ipipBroken = true;
          }
        } else applyPlanInPlace(current.state, plan);
      };
      const sysctlKey = JSON.stringify(t.sysctls);
      const ensureSysctls = async () => {
        if (!reread && plan.linkAdds.length === 0 && sysctlsDone === sysctlKey) return;
        const r = await dp.ensureSysctls(t.sysctls);
        if (r.written.length > 0) changed = true;
        ops.sysctlWrites = r.written.length;
        for (const f of r.failures) fail('apply_failed', f.message, f.object);
        sysctlsDone = r.failures.length === 0 ? sysctlKey : undefined;
      };
      const script = renderNatScript(t.nat);
      const ensureNat = async () => {
        if (!reread && natDone?.script === script) return;
        // Without a record of what we installed (first sync after a start), installing is as cheap as reading.
        if (natDone !== undefined || t.nat === undefined) {
          const listing = await dp.readNat();
          const inPlace =
            t.nat === undefined
              ? listing === undefined
              : listing !== undefined &&
                natDone?.script === script &&
                // Not read back since we installed it: this is what our table looks like.
                (natDone.listing === undefined || natDone.listing === listing);
          if (inPlace) {
            natDone = { script, listing };
            return;
          }
        }
        const f = await dp.applyNat(script);
        changed = true;
        if (f !== undefined) {
          fail('apply_failed', f.message, f.object);
          natDone = undefined;
        } else {
          ops.natReplaced = true;
          natDone = { script, listing: undefined };
        }
      };
      if (plan.linkAdds.length > 0) {
        await Promise.all([applyRoutes(), ensureNat()]);
        await ensureSysctls();
      } else {
        await Promise.all([applyRoutes(), ensureNat(), ensureSysctls()]);
      }

      if (deps.bird !== undefined && desired.bgp !== undefined) {
        const cfg = renderBirdConfig({
          nodeName,
          desired,
          viewNodes: input.shards.flatMap((s) => s.status.nodes ?? []),
          passwords: input.passwords,
        });
        sessions = cfg.sessions;
        counts.bgpPeers = cfg.sessions.length;
        for (const i of cfg.issues) {
          if (i.severity === 'error') fail('bgp', i.message, i.object);
          else warnings.push(i);
        }
        try {
          const r = await deps.bird.apply(cfg.text);
          if (r.changed) {
            changed = true;
            ops.birdReloaded = r.reloaded;
            if (!r.reloaded) warnings.push({ code: 'bgp', severity: 'warning', message: r.message, object: 'bird' });
          }
        } catch (e) {
          fail('bgp', (e as Error).message, 'bird');
        }
      }
    } catch (e) {
      fatal = true;
      dirty = true;
      fail('sync', (e as Error).message, 'sync');
    }

    const programmed = !fatal && errors.length === 0;
    if (programmed) lastProgrammed = desired.revision;
    const reason = reasonFor(fatal, errorCodes);
    const message = programmed
      ? programmedMessage(counts)
      : errors
          .slice(0, 5)
          .map((e) =>
            e.object !== undefined && !e.message.includes(e.object) ? `${e.object}: ${e.message}` : e.message,
          )
          .join('; ') + (errors.length > 5 ? `; and ${errors.length - 5} more` : '');
    const report: ApplyReport & { retry: boolean } = {
      revision: desired.revision,
      viewRevisions: viewRevisions([desired.view, desired.viewV6 ?? ''], input.shards),
      time: clock().toISOString(),
      programmed,
      fatal,
      changed,
      reread,
      counts,
      errors: errors.slice(0, 64),
      warnings,
      operations: ops,
      reason,
      message,
      durationMs: performance.now() - t0,
      retry: fatal || applyFailed,
    };
    if (lastProgrammed !== undefined) report.lastProgrammedRevision = lastProgrammed;
    deps.logger?.debug(
      { node: nodeName, revision: desired.revision, changed, reread, lines: ops.ipLines, ms: report.durationMs },
      'agent sync',
    );
    return report;
  }

  return {
    syncOnce,
    invalidate() {
      dirty = true;
    },
    lastTarget: () => target,
    async bgpSessions() {
      if (deps.bird === undefined) return { running: false, sessions: [] };
      return deps.bird.sessions(sessions);
    },
  };
}
