// Which routes of a node's table decide traffic to an address or CIDR, and whether the node's agent has programmed
// them (for `tabby explain`).
// - routesFor: the kernel's choice — the longest prefix holding the whole target, plus every more specific route
//   inside it (for a CIDR, those win for the addresses they hold). A single address gets one route, or none.
// - routeState: where a planned route is published (the node's NodeDataplane for its own blocks, else the RouteTable
//   shard of its view holding the entry) and whether `status.applied` shows the agent at that object's revision (for
//   a shard: at the revision of its whole view as it is now, which is what agents report — view-revision.ts).
//   A pod's own route is the CNI plugin's, programmed at the pod's ADD, and in no revision.
// Pure: the caller passes the materialised table and the objects as the apiserver holds them.
import type { NodeApplied, NodeDesired } from '../api/node-dataplane.js';
import type { RouteTableStatus } from '../api/route-table.js';
import { type Cidr, cidrContainsCidr, parseCidr, parseIP } from '../net/index.js';
import { type RouteLine, materialiseNode, remoteRouteLine, routeDestination } from './materialise.js';
import { viewRevision } from './view-revision.js';

function destination(r: RouteLine): Cidr {
  if (r.dst.includes('/')) return parseCidr(r.dst);
  const ip = parseIP(r.dst);
  return parseCidr(`${r.dst}/${ip.family === 4 ? 32 : 128}`);
}

export function routesFor(routes: readonly RouteLine[], target: Cidr): RouteLine[] {
  const dsts = routes.map((r) => ({ r, d: destination(r) })).filter((x) => x.d.family === target.family);
  const holding = dsts.filter((x) => cidrContainsCidr(x.d, target));
  const longest = Math.max(-1, ...holding.map((x) => x.d.prefix));
  return dsts
    .filter(
      (x) =>
        (x.d.prefix === longest && cidrContainsCidr(x.d, target)) ||
        (x.d.prefix > target.prefix && cidrContainsCidr(target, x.d)),
    )
    .map((x) => x.r);
}

export interface PublishedNode {
  desired?: NodeDesired;
  applied?: NodeApplied;
  /** Every RouteTable shard (name and status); the node's view picks its own. */
  shards: readonly { name: string; status: RouteTableStatus }[];
}

export type RouteState =
  /** In `object` at `revision`, and the agent has programmed that revision. */
  | { state: 'applied'; object: string; revision: string; time?: string }
  /**
   * In `object` at `revision`; the agent reports `appliedRevision` (absent: nothing yet). For a shard, both are
   * revisions of its view (`viewRevision` of its shards), and `revision` is the view as it is now.
   */
  | { state: 'pending'; object: string; revision: string; appliedRevision?: string }
  /** The published plan has no such route (the operator has not written it yet, or plans otherwise). */
  | { state: 'not-published'; publishedLines: string[] }
  /** A pod's own route: the CNI plugin programs it at the pod's ADD. */
  | { state: 'cni' }
  /** The node has no published plan (no NodeDataplane status.desired). */
  | { state: 'no-plan' };

function shardsOf(pub: PublishedNode, view: string) {
  return pub.shards.filter((s) => s.status.view === view);
}

export function routeState(node: string, line: RouteLine, pub: PublishedNode): RouteState {
  if (line.explain.rule === 'local-workload') return { state: 'cni' };
  const desired = pub.desired;
  if (desired === undefined) return { state: 'no-plan' };
  const v4 = shardsOf(pub, desired.view);
  const v6 = desired.viewV6 !== undefined ? shardsOf(pub, desired.viewV6) : v4;
  const published = materialiseNode(node, desired, v4, v6).routes;
  if (!published.some((r) => r.line === line.line)) {
    return { state: 'not-published', publishedLines: published.filter((r) => r.dst === line.dst).map((r) => r.line) };
  }
  const applied = pub.applied;
  if (line.explain.rule === 'local-block') {
    const object = `NodeDataplane/${node}`;
    return applied?.revision === desired.revision
      ? { state: 'applied', object, revision: desired.revision, time: applied.time }
      : {
          state: 'pending',
          object,
          revision: desired.revision,
          ...(applied ? { appliedRevision: applied.revision } : {}),
        };
  }
  const family = line.dst.includes(':') ? 6 : 4;
  const shard = (family === 4 ? v4 : v6).find((s) =>
    s.status.entries.some((e) => routeDestination(e.cidr) === line.dst && remoteRouteLine(e) === line.line),
  );
  if (shard === undefined) return { state: 'not-published', publishedLines: [] };
  const object = `RouteTable/${shard.name}`;
  const view = shard.status.view;
  const now = viewRevision(shardsOf(pub, view).map((s) => ({ name: s.name, revision: s.status.revision })));
  const have = applied?.viewRevisions.find((v) => v.view === view)?.revision;
  return have === now
    ? { state: 'applied', object, revision: shard.status.revision, ...(applied ? { time: applied.time } : {}) }
    : {
        state: 'pending',
        object: `${object} (view ${view})`,
        revision: now,
        ...(have ? { appliedRevision: have } : {}),
      };
}
