// One node's complete, materialised dataplane: the `ip route` table it must hold, its BGP sessions (mesh included),
// and its VXLAN neighbours — computed from the same objects an agent reads (its NodeDesired and its views' RouteTable
// shards), so render, tests and the agent agree by construction.
// Inputs: NodeDesired, the RouteTable shards of the node's IPv4 and IPv6 views (with the planner's explanations when
// available). Output: `MaterialisedNode`, every list sorted.
// Route lines are iproute2's v3.24-era text without protocol or metric (our agent marks its own routes):
//   local pod      `<ip> dev <caliXXXXXXXXXXX> scope link`
//   own block      `blackhole <block>`                    (not for a /32 or /128 block: CNI's pod route stands there)
//   direct         `<dst> via <node IP>`                  (no device: the kernel picks the uplink)
//   IPIP           `<dst> via <node IP> dev tunl0 onlink`
//   VXLAN          `<dst> via <VTEP IP> dev vxlan.calico onlink` (vxlan-v6.calico for IPv6)
// Single addresses print without their /32 (/128), as iproute2 does.
// This is the one place that builds N routes for a node; it is for render and tests, never for the operator's state.
import type { NodeDesired, PlannedBgpPeer, WorkloadRoute } from '../api/node-dataplane.js';
import type { RouteEntry, RouteTableStatus, ViewNode } from '../api/route-table.js';
import { type IPFamily, parseCidr, parseIP } from '../net/index.js';
import { meshPeers } from './bgp-peers.js';
import { cidrSortKey, compareStrings, ipSortKey } from './facts.js';
import type { RouteRule } from './encap-decider.js';

export interface RouteExplain {
  rule: RouteRule;
  node: string;
  pool?: string;
  block?: string;
  pod?: string;
}

export interface RouteLine {
  /** Destination as iproute2 prints it (no /32 or /128 on single addresses). */
  dst: string;
  line: string;
  explain: RouteExplain;
}

export interface VxlanNeighbour {
  device: 'vxlan.calico' | 'vxlan-v6.calico';
  node: string;
  /** Remote VTEP address: ARP/NDP entry `ip lladdr mac`. */
  ip: string;
  mac: string;
  /** FDB entry `mac dst nodeIP`. */
  nodeIP: string;
}

export interface MaterialisedNode {
  node: string;
  routes: RouteLine[];
  bgpPeers: PlannedBgpPeer[];
  vxlanNeighbours: VxlanNeighbour[];
}

/** A shard as the planner built it: the object plus, where known, the rule behind each entry (same order). */
export interface ShardInput {
  status: RouteTableStatus;
  routes?: readonly { rule: RouteRule }[];
}

function hostLength(family: IPFamily): number {
  return family === 4 ? 32 : 128;
}

/** `10.0.0.5/32` → `10.0.0.5`; prefixes stay as they are. */
export function routeDestination(cidr: string): string {
  const slash = cidr.indexOf('/');
  if (slash < 0) return cidr;
  const family: IPFamily = cidr.includes(':') ? 6 : 4;
  return Number(cidr.slice(slash + 1)) === hostLength(family) ? cidr.slice(0, slash) : cidr;
}

export function remoteRouteLine(e: RouteEntry): string {
  const dst = routeDestination(e.cidr);
  if (e.kind === 'direct') return `${dst} via ${e.via}`;
  return `${dst} via ${e.via} dev ${e.device ?? (e.kind === 'ipip' ? 'tunl0' : 'vxlan.calico')} onlink`;
}

function inferredRule(e: RouteEntry): RouteRule {
  return e.kind === 'direct' ? 'no-encap' : e.kind === 'ipip' ? 'ipip-always' : 'vxlan-always';
}

function destKey(cidr: string): string {
  return cidrSortKey(parseCidr(cidr));
}

/**
 * The node's full table. `v4Shards`/`v6Shards` are the shards of `desired.view` and `desired.viewV6 ?? view`
 * (the same list twice when both families share one view: only the entries of each family are taken from each).
 */
export function materialiseNode(
  node: string,
  desired: NodeDesired,
  v4Shards: readonly ShardInput[],
  v6Shards: readonly ShardInput[],
  workloadRoutes: readonly WorkloadRoute[] = [],
): MaterialisedNode {
  const lines: (RouteLine & { key: string })[] = [];
  for (const w of workloadRoutes) {
    const dst = routeDestination(w.cidr);
    const explain: RouteExplain = { rule: 'local-workload', node };
    if (w.namespace !== undefined && w.pod !== undefined) explain.pod = `${w.namespace}/${w.pod}`;
    lines.push({ dst, line: `${dst} dev ${w.interface} scope link`, explain, key: `${ipSortKey(parseIP(dst))} 0` });
  }
  for (const b of desired.blocks) {
    const c = parseCidr(b.cidr);
    if (c.prefix === hostLength(c.family)) continue;
    lines.push({
      dst: b.cidr,
      line: `blackhole ${b.cidr}`,
      explain: { rule: 'local-block', node, pool: b.pool, block: b.cidr },
      key: `${cidrSortKey(c)} 1`,
    });
  }
  const take = (shards: readonly ShardInput[], family: IPFamily) => {
    for (const s of shards) {
      const entries = s.status.entries;
      for (let i = 0; i < entries.length; i++) {
        const e = entries[i] as RouteEntry;
        if (e.node === node || e.cidr.includes(':') !== (family === 6)) continue;
        const explain: RouteExplain = { rule: s.routes?.[i]?.rule ?? inferredRule(e), node: e.node, pool: e.pool };
        explain.block = e.block ?? e.cidr;
        lines.push({ dst: routeDestination(e.cidr), line: remoteRouteLine(e), explain, key: `${destKey(e.cidr)} 2` });
      }
    }
  };
  take(v4Shards, 4);
  take(v6Shards, 6);
  // Felix route-class precedence (felix/routetable/defs.go): a local workload route beats any remote route to the
  // same destination (a stale or conflicting allocation elsewhere must not steal a local pod's address).
  const local = new Set(lines.filter((l) => l.explain.rule === 'local-workload').map((l) => l.dst));
  if (local.size > 0) {
    for (let i = lines.length - 1; i >= 0; i--) {
      const l = lines[i];
      if (l && l.explain.rule !== 'local-workload' && l.explain.rule !== 'local-block' && local.has(l.dst)) {
        lines.splice(i, 1);
      }
    }
  }
  lines.sort((a, b) => compareStrings(a.key, b.key) || compareStrings(a.line, b.line));

  const records = new Map<string, ViewNode>();
  for (const s of [...v4Shards, ...v6Shards]) for (const r of s.status.nodes ?? []) records.set(r.name, r);
  const sortedRecords = [...records.values()].sort((a, b) => compareStrings(a.name, b.name));

  const bgpPeers = desired.bgp ? [...meshPeers(node, desired.bgp, sortedRecords), ...desired.bgp.peers] : [];
  bgpPeers.sort((a, b) => compareStrings(a.name, b.name));

  const vxlanNeighbours: VxlanNeighbour[] = [];
  for (const r of sortedRecords) {
    if (r.name === node) continue;
    if (desired.felix.vxlanEnabled && r.vtepIP !== undefined && r.vtepMAC !== undefined && r.ipv4 !== undefined) {
      vxlanNeighbours.push({ device: 'vxlan.calico', node: r.name, ip: r.vtepIP, mac: r.vtepMAC, nodeIP: r.ipv4 });
    }
    if (desired.felix.vxlanEnabledV6 && r.vtepIPv6 !== undefined && r.vtepMACv6 !== undefined && r.ipv6 !== undefined) {
      vxlanNeighbours.push({
        device: 'vxlan-v6.calico',
        node: r.name,
        ip: r.vtepIPv6,
        mac: r.vtepMACv6,
        nodeIP: r.ipv6,
      });
    }
  }
  return { node, routes: lines.map(({ key: _key, ...rest }) => rest), bgpPeers, vxlanNeighbours };
}

/** `line  # rule: pool P, block B, node N` — the `--explain` rendering. */
export function explainComment(r: RouteLine): string {
  const parts: string[] = [];
  if (r.explain.pod !== undefined) parts.push(`pod ${r.explain.pod}`);
  if (r.explain.pool !== undefined) parts.push(`pool ${r.explain.pool}`);
  if (r.explain.block !== undefined) parts.push(`block ${r.explain.block}`);
  parts.push(`node ${r.explain.node}`);
  return `${r.explain.rule}: ${parts.join(', ')}`;
}
