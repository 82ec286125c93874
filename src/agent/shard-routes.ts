// One RouteTable shard's contribution to a node's kernel target: its routes (in kernel form) and remote VTEPs.
// Which routes are encapsulated, and how, was decided by the operator (plan/encap-decider.ts, the whole rule); this
// file checks each entry as it arrived and translates it with that file's `kernelRouteForm`.
//
// Inputs: the shard (name + status), own node name, whether the kernel has ipip, which VXLAN devices the node plans.
// Output: ShardDerivation — routes with the node they lead to, VTEPs (from the shard's nodes and its vxlan entries),
// entries skipped for lack of ipip, and issues (each naming the RouteTable and field). Merging shards with each other
// and with the node's own blocks happens in kernel-target.ts.
// TargetMemo keeps derivations between syncs: a shard the watch did not change is not parsed again, which is what
// keeps a one-route change cheap with thousands of routes.
// Invariants: pure; entries of the node itself are skipped (its blackholes and the CNI plugin's routes stand there).
import type { RouteTableStatus } from '../api/route-table.js';
import { kernelRouteForm, vxlanDevice } from '../plan/encap-decider.js';
import { IssueCollector, type AgentIssue } from './agent-issues.js';
import { canonicalCidr, canonicalIP } from './canonical-text.js';
import type { RouteSpec, TunnelName } from './kernel-model.js';

export interface RouteShard {
  /** RouteTable object name. */
  name: string;
  status: RouteTableStatus;
}

const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

export function canonicalMac(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  const m = text.toLowerCase();
  return MAC_RE.test(m) ? m : undefined;
}

export interface ShardContext {
  nodeName: string;
  ipip: boolean;
  wanted: ReadonlySet<string>;
}

export interface VtepItem {
  dev: TunnelName;
  ip: string;
  mac: string;
  nodeIP: string;
  owner: string;
}

export interface ShardItem {
  route: RouteSpec;
  node: string;
  vtep?: VtepItem;
}

/** What one shard contributes, before it is merged with the node's own state and the other shards. */
export interface ShardDerivation {
  nodeVteps: VtepItem[];
  items: ShardItem[];
  issues: AgentIssue[];
  skippedIpip: number;
  /** Destinations of vxlan entries whose device the node's NodeDataplane does not plan (yet). */
  unplannedDevice: string[];
}

export function deriveShard(shard: RouteShard, ctx: ShardContext): ShardDerivation {
  const out = new IssueCollector();
  const nodeVteps: VtepItem[] = [];
  const items: ShardItem[] = [];
  const vteps = new Map<string, VtepItem>();
  let skippedIpip = 0;
  const unplannedDevice: string[] = [];
  (shard.status.nodes ?? []).forEach((n, i) => {
    if (n.name === ctx.nodeName) return;
    for (const fam of [4, 6] as const) {
      const dev = vxlanDevice(fam);
      if (!ctx.wanted.has(dev)) continue;
      const rawIP = fam === 4 ? n.vtepIP : n.vtepIPv6;
      const rawMac = fam === 4 ? n.vtepMAC : n.vtepMACv6;
      const rawNode = fam === 4 ? n.ipv4 : n.ipv6;
      if (rawIP === undefined || rawMac === undefined || rawNode === undefined) continue;
      const ip = canonicalIP(rawIP, fam);
      const mac = canonicalMac(rawMac);
      const nodeIP = canonicalIP(rawNode);
      if (ip === undefined || mac === undefined || nodeIP === undefined) {
        const field =
          ip === undefined
            ? fam === 4
              ? 'vtepIP'
              : 'vtepIPv6'
            : mac === undefined
              ? fam === 4
                ? 'vtepMAC'
                : 'vtepMACv6'
              : fam === 4
                ? 'ipv4'
                : 'ipv6';
        out.invalid(
          'RouteTable',
          shard.name,
          ['status', 'nodes', i, field],
          'is not a valid address',
          `node ${n.name}`,
        );
        continue;
      }
      nodeVteps.push({ dev, ip, mac, nodeIP, owner: `node ${n.name}` });
    }
  });

  shard.status.entries.forEach((e, i) => {
    if (e.node === ctx.nodeName) return;
    const path = ['status', 'entries', i];
    const c = canonicalCidr(e.cidr);
    if (c === undefined) {
      out.invalid('RouteTable', shard.name, [...path, 'cidr'], `${JSON.stringify(e.cidr)} is not a valid CIDR`);
      return;
    }
    const dst = c.text;
    const object = `route ${dst}`;
    if (e.kind === 'vxlan') {
      const { dev, onlink } = kernelRouteForm(e.kind, c.family, e.device);
      if (dev === 'tunl0') {
        out.invalid('RouteTable', shard.name, [...path, 'device'], 'a vxlan route cannot use tunl0', object);
        return;
      }
      if (!ctx.wanted.has(dev)) {
        // Usually a mode switch seen half-way (the shard is newer than the NodeDataplane, two separate watches):
        // kernel-target.ts keeps the route the kernel holds for this destination until both agree.
        unplannedDevice.push(dst);
        out.add({
          code: 'conflict',
          severity: 'error',
          message: `vxlan route to node ${e.node} needs ${dev}, which this node's NodeDataplane does not plan; the route the kernel holds for ${dst} stays until it does`,
          object,
        });
        return;
      }
      const vtepIP = canonicalIP(e.vtepIP ?? e.via, c.family);
      const mac = canonicalMac(e.vtepMAC);
      const nodeIP = canonicalIP(e.nodeIP);
      if (vtepIP === undefined || mac === undefined || nodeIP === undefined) {
        const field = vtepIP === undefined ? 'vtepIP' : mac === undefined ? 'vtepMAC' : 'nodeIP';
        out.invalid('RouteTable', shard.name, [...path, field], 'is missing or not a valid address', object);
        return;
      }
      // A node's blocks share one VTEP: one item for all of them, so merging sees each VTEP once.
      const vkey = `${dev}|${vtepIP}|${mac}|${nodeIP}|${e.node}`;
      let vtep = vteps.get(vkey);
      if (vtep === undefined) {
        vtep = { dev, ip: vtepIP, mac, nodeIP, owner: `node ${e.node}` };
        vteps.set(vkey, vtep);
      }
      items.push({ route: { dst, type: 'unicast', via: vtepIP, dev, onlink }, node: e.node, vtep });
      return;
    }
    // For direct and ipip routes the next hop is the owner's node address (RouteEntry.via = nodeIP).
    const via = canonicalIP(e.via, c.family);
    if (via === undefined) {
      out.invalid('RouteTable', shard.name, [...path, 'via'], `is not an IPv${c.family} address`, object);
      return;
    }
    if (e.kind === 'ipip' && !ctx.ipip) {
      skippedIpip++;
      return;
    }
    items.push({ route: { dst, type: 'unicast', via, ...kernelRouteForm(e.kind, c.family) }, node: e.node });
  });
  return { nodeVteps, items, issues: out.issues, skippedIpip, unplannedDevice };
}

/**
 * Remembers each shard's derivation between syncs, keyed by the shard's status object (the watch cache hands the
 * same object until the shard changes) and by the node facts the derivation read. Results are identical to
 * deriving afresh; only the time differs.
 */
export class TargetMemo {
  private readonly byShard = new WeakMap<object, { key: string; value: ShardDerivation }>();

  derive(shard: RouteShard, ctx: ShardContext): ShardDerivation {
    const key = `${shard.name}|${ctx.nodeName}|${ctx.ipip}|${[...ctx.wanted].sort().join(',')}`;
    const hit = this.byShard.get(shard.status);
    if (hit !== undefined && hit.key === key) return hit.value;
    const value = deriveShard(shard, ctx);
    this.byShard.set(shard.status, { key, value });
    return value;
  }
}
