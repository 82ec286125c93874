// Problems the agent finds while computing and applying a node's dataplane, as data.
//
// An AgentIssue carries a stable code, a severity (`error`: planned state is not, or cannot be, programmed —
// Programmed=False; `warning`: worked around) and the object it is about. Input problems are rendered with
// src/api's formatIssue, so they read like every other Tabby validation error: `RouteTable cluster-0:
// status.entries[3].cidr: "10.0.0.1/26" is not a valid CIDR`.
import { formatIssue, type Issue } from '../api/errors.js';

export type AgentIssueCode =
  'invalid_input' | 'conflict' | 'ipip_unavailable' | 'vxlan_parent_missing' | 'apply_failed' | 'bgp';

export interface AgentIssue {
  code: AgentIssueCode;
  /** `warning`: the agent worked around it; `error`: planned state is not (or cannot be) programmed. */
  severity: 'warning' | 'error';
  message: string;
  /** What it is about: `route 10.0.1.0/26`, `device tunl0`, `RouteTable cluster-0`. */
  object?: string;
}

/** Collects issues for one computation. */
export class IssueCollector {
  readonly issues: AgentIssue[] = [];
  invalid(kind: string, name: string, path: (string | number)[], message: string, object?: string): void {
    const i: Issue = { code: 'invalid_input', object: { kind, name }, path, message };
    this.issues.push({ code: 'invalid_input', severity: 'error', message: formatIssue(i), object });
  }
  add(issue: AgentIssue): void {
    this.issues.push(issue);
  }
}
