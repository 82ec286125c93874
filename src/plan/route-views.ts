// Route views and their RouteTable shards (ARCHITECTURE.md "The NodeDataplane contract").
// A view is the set of nodes that decide encapsulation identically for every remote destination (the rule is in
// encap-decider.ts; only its same-subnet step differs between nodes): for a family with a CrossSubnet pool, the nodes
// sharing one subnet; otherwise the whole cluster. Each destination is decided once per variant (owner-routes.ts);
// a view only picks the variant its subnet calls for.
// Inputs: per-owner routes (owner-routes.ts), node facts, which families have CrossSubnet pools. Outputs: view names
// per node, shard assignment, and RouteTable statuses.
// Invariants:
//   - every node has exactly one view per family; `cluster` serves every family without CrossSubnet pools;
//   - a view's shard count depends only on how many destinations its families have (never on history), and an owner's
//     routes and node record always sit in shard fnv1a(owner) mod count — so a node join rewrites one shard per view;
//   - entries are grouped by owner (by name) and sorted by destination within an owner — owners' lists are already
//     sorted, so a shard is concatenated, never sorted; node records by name; the revision hashes that content.
import { hash } from 'node:crypto';
import type { Cidr, IPFamily } from '../net/index.js';
import { CLUSTER_VIEW, type RouteEntry, type RouteTableStatus, type ViewNode } from '../api/route-table.js';
import { inSameSubnet } from './encap-decider.js';
import type { NodeFacts } from './facts.js';
import type { OwnerRoutes, PlannedRoute } from './owner-routes.js';

/**
 * Upper bound of destinations per shard; the real count is between half and all of it. A node join rewrites one
 * shard per view and every agent of the view receives that shard again, so its size is what a join costs each agent:
 * 10 keeps a shard (entries, node records, object metadata) under 4 KiB on the wire — measured by
 * `npm run bench -- operator` — at the price of more, smaller objects (5,000 nodes: 512 shards per view).
 */
export const TARGET_ENTRIES_PER_SHARD = 10;

export interface ViewDef {
  name: string;
  /** Families whose routes this view carries. */
  families: readonly IPFamily[];
  prefix4?: Cidr;
  prefix6?: Cidr;
}

export interface CrossSubnetFlags {
  v4: boolean;
  v6: boolean;
}

function dashed(text: string): string {
  return text.replace(/[.:/]/g, '-');
}

/**
 * The views of `node`: one carrying its IPv4 routes and one carrying its IPv6 routes — the same view unless both
 * families have CrossSubnet pools. A family without CrossSubnet pools rides along in the other family's view.
 */
export function nodeViews(node: NodeFacts, flags: CrossSubnetFlags): { v4: ViewDef; v6: ViewDef } {
  if (flags.v4 && flags.v6) {
    return { v4: subnetView(node, 4, [4]), v6: subnetView(node, 6, [6]) };
  }
  const both: IPFamily[] = [4, 6];
  const v = flags.v4
    ? subnetView(node, 4, both)
    : flags.v6
      ? subnetView(node, 6, both)
      : { name: CLUSTER_VIEW, families: both };
  return { v4: v, v6: v };
}

function subnetView(node: NodeFacts, family: IPFamily, families: IPFamily[]): ViewDef {
  const addr = family === 4 ? node.v4 : node.v6;
  const bits = family === 4 ? 32 : 128;
  // A host-length subnet contains no other node, so all such nodes decide alike ("no subnet").
  if (!addr || addr.prefixLength === bits) return { name: `ipv${family}-none`, families };
  const def: ViewDef = { name: `ipv${family}-${dashed(addr.networkText)}`, families };
  if (family === 4) def.prefix4 = addr.network;
  else def.prefix6 = addr.network;
  return def;
}

/** FNV-1a over UTF-16 code units: cheap, stable across runs and platforms. */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export function shardCountFor(destinations: number, target = TARGET_ENTRIES_PER_SHARD): number {
  let n = 1;
  while (n * target < destinations) n *= 2;
  return n;
}

export function shardOf(owner: string, count: number): number {
  return fnv1a(owner) & (count - 1);
}

export function shardName(view: string, shard: number): string {
  return `${view}-${shard}`;
}

export function destinationsIn(view: ViewDef, routes: Iterable<OwnerRoutes>): number {
  let n = 0;
  const has4 = view.families.includes(4);
  const has6 = view.families.includes(6);
  for (const r of routes) n += (has4 ? r.count4 : 0) + (has6 ? r.count6 : 0);
  return n;
}

/** The route a node of `view` uses for each of `owner`'s destinations (sameSubnet variant when it applies). */
export function selectRoutes(view: ViewDef, routes: OwnerRoutes, owner: NodeFacts | undefined, out: PlannedRoute[]) {
  const has4 = view.families.includes(4);
  const has6 = view.families.includes(6);
  let same4: boolean | undefined;
  let same6: boolean | undefined;
  for (const it of routes.items) {
    if (it.family === 4 ? !has4 : !has6) continue;
    let chosen = it.normal;
    if (it.sameSubnet) {
      let same: boolean;
      if (it.family === 4) same = same4 ??= inSameSubnet(view.prefix4, owner, 4);
      else same = same6 ??= inSameSubnet(view.prefix6, owner, 6);
      if (same) chosen = it.sameSubnet;
    }
    if (chosen) out.push(chosen);
  }
}

export interface ViewNodeContext {
  /** Node-specific BGP listen port (BGPConfiguration `node.<name>`). */
  listenPort(node: string): number | undefined;
}

/** The record agents use to build mesh peers and VXLAN neighbours for nodes that may own no block yet. */
export function viewNodeRecord(n: NodeFacts, ctx: ViewNodeContext): { record: ViewNode; json: string } {
  const record: ViewNode = { name: n.name };
  if (n.v4?.bgp) record.ipv4 = n.v4.text;
  if (n.v6?.bgp) record.ipv6 = n.v6.text;
  if (n.asNumber !== undefined) record.asNumber = n.asNumber;
  if (n.vtep4) {
    record.vtepIP = n.vtep4.ip;
    record.vtepMAC = n.vtep4.mac;
  }
  if (n.vtep6) {
    record.vtepIPv6 = n.vtep6.ip;
    record.vtepMACv6 = n.vtep6.mac;
  }
  if (n.routeReflectorClusterId !== undefined) record.routeReflectorClusterID = n.routeReflectorClusterId;
  const port = ctx.listenPort(n.name);
  if (port !== undefined) record.listenPort = port;
  return { record, json: JSON.stringify(record) };
}

export interface BuiltShard {
  name: string;
  status: RouteTableStatus;
  /** Explanations kept beside the object (same order as `status.entries`). */
  routes: readonly PlannedRoute[];
}

/** `routes` grouped by owner in name order, each owner's in destination order; `nodes` sorted by name. */
export function buildShard(
  view: ViewDef,
  shard: number,
  shardCount: number,
  routes: readonly PlannedRoute[],
  nodes: readonly { record: ViewNode; json: string }[],
): BuiltShard {
  const parts: string[] = new Array<string>(routes.length + nodes.length + 2);
  parts[0] = `${view.name}\n${shard}\n${shardCount}`;
  const entries: RouteEntry[] = new Array<RouteEntry>(routes.length);
  for (let i = 0; i < routes.length; i++) {
    const r = routes[i] as PlannedRoute;
    entries[i] = r.entry;
    parts[i + 1] = r.json;
  }
  parts[routes.length + 1] = 'nodes';
  for (let i = 0; i < nodes.length; i++) parts[routes.length + 2 + i] = (nodes[i] as { json: string }).json;
  const status: RouteTableStatus = {
    view: view.name,
    shard,
    shardCount,
    // One hash call per shard over the entries' JSON, each serialised once when its route was decided.
    revision: `sha256:${hash('sha256', parts.join('\n'), 'hex').slice(0, 32)}`,
    entries,
    nodes: nodes.map((n) => n.record),
  };
  return { name: shardName(view.name, shard), status, routes };
}
