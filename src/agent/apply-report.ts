// What one sync did, and its translation into NodeDataplane `status.applied` and the `Programmed` condition.
//
// Inputs: ApplyReport (from the syncer), the NodeDataplane's metadata.generation, the previous condition.
// Outputs: NodeApplied and a Condition, plus `appliedStatusKey` so the status writer can skip writes that would
// change nothing but the time ("only when they change").
// Invariants: pure; `applied.revision` is the last revision programmed completely (a failing sync keeps the old one);
// the condition's lastTransitionTime moves only when its status does.
import type { Condition } from '../api/common.js';
import type { NodeApplied } from '../api/node-dataplane.js';
import type { ViewRevision } from '../plan/view-revision.js';
import type { AgentIssue } from './kernel-target.js';

export interface ApplyCounts {
  routes: number;
  blackholes: number;
  neighbours: number;
  fdbEntries: number;
  devices: number;
  bgpPeers?: number;
  bgpEstablished?: number;
}

/** The Programmed condition's message after a sync that programmed everything. */
export function programmedMessage(counts: ApplyCounts): string {
  return (
    `programmed ${counts.routes} routes, ${counts.blackholes} blackholes, ${counts.devices} tunnel devices, ` +
    `${counts.neighbours} VXLAN neighbours`
  );
}

export interface ApplyReport {
  /** Desired revision this sync worked from. */
  revision: string;
  /** Per route view, the revision of the shards this sync worked from (view-revision.ts). Sorted by view. */
  viewRevisions: ViewRevision[];
  /** When it finished (RFC 3339, from the injected clock). */
  time: string;
  /** Everything planned is in the kernel (and BIRD): no error-severity issue, no failed command. */
  programmed: boolean;
  /** The sync itself broke (a read failed, a tool is missing): the loop backs off and retries. */
  fatal: boolean;
  /** Something was written (batch lines, sysctls, NAT table, BIRD config). */
  changed: boolean;
  /** The kernel was read (first sync, resync, drift, or after a failure) instead of trusting the last apply. */
  reread: boolean;
  counts: ApplyCounts;
  /** Error-severity problems, first 64 (ApplyError shape). */
  errors: { message: string; object?: string }[];
  warnings: AgentIssue[];
  operations: {
    ipLines: number;
    bridgeLines: number;
    processes: number;
    sysctlWrites: number;
    natReplaced: boolean;
    birdReloaded: boolean;
  };
  /** Reason for the Programmed condition (CamelCase). */
  reason: string;
  message: string;
  durationMs: number;
  /** Last revision programmed completely (this one when programmed). */
  lastProgrammedRevision?: string;
}

export function toNodeApplied(report: ApplyReport): NodeApplied {
  const applied: NodeApplied = {
    revision: report.lastProgrammedRevision ?? '',
    viewRevisions: report.viewRevisions.map((v) => ({ ...v })),
    time: report.time,
    counts: { ...report.counts },
  };
  if (report.errors.length > 0) applied.errors = report.errors.slice(0, 64).map((e) => ({ ...e, time: report.time }));
  return applied;
}

export function programmedCondition(
  report: ApplyReport,
  observedGeneration: number | undefined,
  previous?: Condition,
): Condition {
  const status = report.programmed ? 'True' : 'False';
  const c: Condition = {
    type: 'Programmed',
    status,
    lastTransitionTime:
      previous !== undefined && previous.status === status ? previous.lastTransitionTime : report.time,
    reason: report.reason,
    message: report.message.slice(0, 32768),
  };
  if (observedGeneration !== undefined) c.observedGeneration = observedGeneration;
  return c;
}

/** Everything status.applied and the condition say except times: equal keys mean the write can be skipped. */
export function appliedStatusKey(report: ApplyReport): string {
  return JSON.stringify([
    report.lastProgrammedRevision ?? '',
    report.viewRevisions,
    report.counts,
    report.errors,
    report.programmed,
    report.reason,
    report.message,
  ]);
}
