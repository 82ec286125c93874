// Deterministic stand-in IPAM for `tabby render` when the input carries no IPAMBlocks (a cluster written by hand, or a
// dump without IPAM state): gives every node the blocks and tunnel addresses Calico would plausibly have given it,
// so that examples render full tables. It never runs in the operator, which reads real IPAM state.
// Inputs: a snapshot without blocks. Output: the snapshot with blocks (and missing tunnel addresses) filled in.
// Rules, in order (nodes in name order, pools in name order as Calico's IPAM lists them):
//   1. An address the input already places on a node (its tunnel addresses, its pods' IPs) claims the block of its
//      pool that contains it, for that node, unless an earlier node claimed it: so real dumps keep their real blocks.
//   2. A node still without a block of a family gets the first unclaimed block of the first pool that is enabled,
//      allows Workload use and selects the node (IPv6 only for nodes with an IPv6 address).
//   3. Addresses held by a node inside another node's block become that block's borrowed allocations.
//   4. A node missing an IPIP / VXLAN / VXLAN-v6 tunnel address that its pools call for gets the first free
//      address of its block in such a pool (calico: node/pkg/allocateip — usually the block's first address).
// Invariants: output depends only on the input; no block is claimed twice; no address is handed out twice.
import {
  type Cidr,
  type IP,
  type IPFamily,
  blockContaining,
  blockCount,
  cidrContainsIP,
  compareCidr,
  formatCidr,
  formatIP,
  ipAtOffset,
  nthBlock,
  parseCidr,
  parseIP,
  parseSelector,
} from '../net/index.js';
import { compareStrings } from './facts.js';
import type { ClusterSnapshot, SnapshotBlock, SnapshotNode, SnapshotPool } from './snapshot.js';

export interface SyntheticAllocation {
  node: string;
  block: string;
  pool: string;
  reason: 'existing-address' | 'first-free-block';
}

export interface SyntheticIpamResult {
  snapshot: ClusterSnapshot;
  blocks: SyntheticAllocation[];
  tunnelAddresses: { node: string; kind: 'ipip' | 'vxlan' | 'vxlanV6'; address: string }[];
}

interface PoolInfo {
  record: SnapshotPool;
  cidr: Cidr;
}

/** Claims blocks for a snapshot that has none; returns the input unchanged when it already has blocks. */
export function withSyntheticIpam(s: ClusterSnapshot): SyntheticIpamResult {
  if (s.blocks.length > 0) return { snapshot: s, blocks: [], tunnelAddresses: [] };
  const pools: PoolInfo[] = [...s.pools]
    .sort((a, b) => compareStrings(a.name, b.name))
    .map((record) => ({ record, cidr: parseCidr(record.cidr) }));
  const nodes = [...s.nodes].sort((a, b) => compareStrings(a.name, b.name));
  const claimed = new Map<string, { node: string; pool: PoolInfo; cidr: Cidr }>();
  const allocations: SyntheticAllocation[] = [];
  const claim = (node: string, pool: PoolInfo, cidr: Cidr, reason: SyntheticAllocation['reason']) => {
    const key = formatCidr(cidr);
    if (claimed.has(key)) return false;
    claimed.set(key, { node, pool, cidr });
    allocations.push({ node, block: key, pool: pool.record.name, reason });
    return true;
  };
  const podIPs = new Map<string, string[]>();
  for (const p of [...s.pods].sort((a, b) => compareStrings(`${a.namespace}/${a.name}`, `${b.namespace}/${b.name}`))) {
    const list = podIPs.get(p.node) ?? [];
    list.push(...p.ips);
    podIPs.set(p.node, list);
  }
  const held = (n: SnapshotNode): string[] =>
    [n.ipipTunnelAddress, n.vxlanTunnelAddress, n.vxlanTunnelAddressV6, ...(podIPs.get(n.name) ?? [])].filter(
      (x): x is string => x !== undefined,
    );

  // 1. Blocks implied by addresses the input already has.
  for (const n of nodes) {
    for (const text of held(n)) {
      const ip = parseIP(text);
      const pool = pools.find((p) => cidrContainsIP(p.cidr, ip));
      if (pool) claim(n.name, pool, blockContaining(pool.cidr, pool.record.blockSize, ip), 'existing-address');
    }
  }
  // 2. One block per family for nodes that still have none.
  for (const n of nodes) {
    for (const family of [4, 6] as IPFamily[]) {
      if (family === 6 && !n.ipv6) continue;
      const has = [...claimed.values()].some((c) => c.node === n.name && c.cidr.family === family);
      if (has) continue;
      const pool = pools.find((p) => p.cidr.family === family && usable(p.record, n, 'Workload'));
      if (!pool) continue;
      const total = blockCount(pool.cidr, pool.record.blockSize);
      for (let i = 0n; i < total; i++) {
        if (claim(n.name, pool, nthBlock(pool.cidr, pool.record.blockSize, i), 'first-free-block')) break;
      }
    }
  }
  // 3 + 4. Borrowed allocations and tunnel addresses.
  const used = new Set<string>();
  for (const n of nodes) for (const t of held(n)) used.add(formatIP(parseIP(t)));
  const tunnelAddresses: SyntheticIpamResult['tunnelAddresses'] = [];
  const outNodes = new Map<string, SnapshotNode>();
  for (const n of nodes) {
    const copy: SnapshotNode = { ...n };
    const assign = (kind: 'ipip' | 'vxlan' | 'vxlanV6', family: IPFamily, wants: (p: SnapshotPool) => boolean) => {
      for (const c of [...claimed.values()].sort((a, b) => compareCidr(a.cidr, b.cidr))) {
        if (c.node !== n.name || c.cidr.family !== family || !wants(c.pool.record)) continue;
        if (!usable(c.pool.record, n, 'Tunnel')) continue;
        const ip = firstFree(c.cidr, used);
        if (!ip) continue;
        const text = formatIP(ip);
        used.add(text);
        tunnelAddresses.push({ node: n.name, kind, address: text });
        return text;
      }
      return undefined;
    };
    if (copy.ipipTunnelAddress === undefined) {
      const a = assign('ipip', 4, (p) => p.ipipMode !== 'Never' && p.vxlanMode === 'Never');
      if (a !== undefined) copy.ipipTunnelAddress = a;
    }
    if (copy.vxlanTunnelAddress === undefined) {
      const a = assign('vxlan', 4, (p) => p.vxlanMode !== 'Never');
      if (a !== undefined) copy.vxlanTunnelAddress = a;
    }
    if (copy.vxlanTunnelAddressV6 === undefined) {
      const a = assign('vxlanV6', 6, (p) => p.vxlanMode !== 'Never');
      if (a !== undefined) copy.vxlanTunnelAddressV6 = a;
    }
    outNodes.set(n.name, copy);
  }
  const blocks = new Map<string, SnapshotBlock>();
  for (const [key, c] of claimed) blocks.set(key, { cidr: key, affinity: c.node, allocations: [] });
  for (const n of outNodes.values()) {
    for (const text of held(n)) {
      const ip = parseIP(text);
      for (const [key, c] of claimed) {
        if (!cidrContainsIP(c.cidr, ip) || c.node === n.name) continue;
        const b = blocks.get(key);
        if (b) b.allocations = [...b.allocations, { address: formatIP(ip), node: n.name }];
      }
    }
  }
  const sortedBlocks = [...blocks.values()].sort((a, b) => compareCidr(parseCidr(a.cidr), parseCidr(b.cidr)));
  return {
    snapshot: { ...s, nodes: s.nodes.map((n) => outNodes.get(n.name) ?? n), blocks: sortedBlocks },
    blocks: allocations,
    tunnelAddresses,
  };
}

function usable(p: SnapshotPool, n: SnapshotNode, use: 'Workload' | 'Tunnel'): boolean {
  if (p.disabled) return false;
  if (p.allowedUses.length > 0 && !p.allowedUses.includes(use)) return false;
  return parseSelector(p.nodeSelector === '' ? 'all()' : p.nodeSelector).matches(n.labels);
}

function firstFree(block: Cidr, used: ReadonlySet<string>): IP | undefined {
  const size = Math.min(Number(1n << BigInt((block.family === 4 ? 32 : 128) - block.prefix)), 1 << 16);
  for (let i = 0; i < size; i++) {
    const ip = ipAtOffset(block, i);
    if (!used.has(formatIP(ip))) return ip;
  }
  return undefined;
}
