// Parsed, planner-ready facts about one node, pool or block, derived once from a snapshot record.
// Inputs: snapshot records (strings). Outputs: the same facts with addresses parsed, modes resolved to Calico's pool
// types, and the sort keys every emitted list is ordered by. Throws NetParseError / SelectorParseError on bad text:
// callers that accept untrusted input validate first (snapshotFromObjects reports issues instead of throwing).
// Invariant: a facts object is immutable; a change to the record builds a new one (so identity = "unchanged").
import {
  type Cidr,
  type IP,
  type IPFamily,
  type Selector,
  cidrMasked,
  formatCidr,
  formatIP,
  parseCidr,
  parseCidrLoose,
  parseIP,
  parseSelector,
  vxlanMacForNode,
} from '../net/index.js';
import { type PoolRouteType, poolEncapsulation, subnetPrefixLength } from './encap-decider.js';
import type { EncapMode, NodeAddress, SnapshotBlock, SnapshotNode, SnapshotPool } from './snapshot.js';

export interface AddressFacts {
  ip: IP;
  text: string;
  prefixLength: number;
  /** The node's subnet with host bits cleared, as the encapsulation rule sees it (encap-decider.ts). */
  network: Cidr;
  networkText: string;
  /** Only Calico's own address annotation makes a BGP speaker and a VXLAN VTEP parent. */
  bgp: boolean;
  /** `10.0.0.11/24` as the annotation wrote it (canonical). */
  interfaceText: string;
}

export interface VtepFacts {
  ip: string;
  mac: string;
  /** Node address the VTEP's outer packets go to (FDB destination). */
  parentIP: string;
}

export interface NodeFacts {
  name: string;
  labels: Readonly<Record<string, string>>;
  v4?: AddressFacts;
  v6?: AddressFacts;
  ipipTunnelAddress?: string;
  vxlanTunnelAddress?: string;
  vxlanTunnelAddressV6?: string;
  /** Set only when the node is a complete VTEP (tunnel address + BGP address): VXLAN routes to it can exist. */
  vtep4?: VtepFacts;
  vtep6?: VtepFacts;
  asNumber?: number;
  routeReflectorClusterId?: string;
  record: SnapshotNode;
}

export interface PoolFacts {
  name: string;
  cidr: Cidr;
  cidrText: string;
  family: IPFamily;
  blockSize: number;
  ipipMode: EncapMode;
  vxlanMode: EncapMode;
  /** The pool's class and whether its tunnel is for other subnets only (encap-decider.ts). */
  routeType: PoolRouteType;
  crossSubnet: boolean;
  natOutgoing: boolean;
  disabled: boolean;
  disableBGPExport: boolean;
  nodeSelector: Selector;
  allowedUses: readonly string[];
  record: SnapshotPool;
}

export interface BorrowedFacts {
  /** `/32` or `/128` text. */
  cidrText: string;
  address: IP;
  holder: string;
}

export interface BlockFacts {
  cidr: Cidr;
  cidrText: string;
  family: IPFamily;
  affinity?: string;
  /** Allocations routed as host routes to a node other than the block's (Calico's "non-affine allocations"). */
  borrowed: readonly BorrowedFacts[];
  /** /32 (/128) blocks get no blackhole: CNI installs the workload route for that address instead. */
  isHostBlock: boolean;
  sortKey: string;
  record: SnapshotBlock;
}

function addressFacts(a: NodeAddress): AddressFacts {
  const family = a.address.includes(':') ? 6 : 4;
  const prefixLength = subnetPrefixLength(a, family);
  const loose = parseCidrLoose(`${a.address}/${prefixLength}`);
  const network = cidrMasked(loose);
  const text = formatIP(loose.address);
  return {
    ip: loose.address,
    text,
    prefixLength,
    network,
    networkText: formatCidr(network),
    bgp: a.source === 'annotation',
    interfaceText: `${text}/${a.prefixLength}`,
  };
}

export function nodeFacts(n: SnapshotNode): NodeFacts {
  const v4 = n.ipv4 ? addressFacts(n.ipv4) : undefined;
  const v6 = n.ipv6 ? addressFacts(n.ipv6) : undefined;
  const facts: NodeFacts = { name: n.name, labels: n.labels, record: n };
  if (v4) facts.v4 = v4;
  if (v6) facts.v6 = v6;
  if (n.ipipTunnelAddress !== undefined) facts.ipipTunnelAddress = formatIP(parseIP(n.ipipTunnelAddress));
  if (n.vxlanTunnelAddress !== undefined) facts.vxlanTunnelAddress = formatIP(parseIP(n.vxlanTunnelAddress));
  if (n.vxlanTunnelAddressV6 !== undefined) facts.vxlanTunnelAddressV6 = formatIP(parseIP(n.vxlanTunnelAddressV6));
  // A VTEP needs the node's BGP address as its parent (felix/calc/vxlan_resolver.go): without it, no VXLAN route yet.
  if (facts.vxlanTunnelAddress !== undefined && v4?.bgp) {
    facts.vtep4 = { ip: facts.vxlanTunnelAddress, mac: vxlanMacOf(n, 4), parentIP: v4.text };
  }
  if (facts.vxlanTunnelAddressV6 !== undefined && v6?.bgp) {
    facts.vtep6 = { ip: facts.vxlanTunnelAddressV6, mac: vxlanMacOf(n, 6), parentIP: v6.text };
  }
  if (n.asNumber !== undefined) facts.asNumber = n.asNumber;
  if (n.routeReflectorClusterId !== undefined && n.routeReflectorClusterId !== '') {
    facts.routeReflectorClusterId = n.routeReflectorClusterId;
  }
  return facts;
}

/**
 * The node's VXLAN device MAC: the one recorded on the Node, else Calico's computed one (calico:
 * felix/calc/vxlan_resolver.go; the IPv6 device hashes "<name>-v6" so the two differ). Computed on demand: most
 * clusters never need it, and hashing every node name shows up at 5,000 nodes.
 */
export function vxlanMacOf(n: SnapshotNode, family: IPFamily): string {
  const given = family === 4 ? n.vxlanTunnelMac : n.vxlanTunnelMacV6;
  return given ?? vxlanMacForNode(n.name, family);
}

export function poolFacts(p: SnapshotPool): PoolFacts {
  const cidr = parseCidr(p.cidr);
  const { routeType, crossSubnet } = poolEncapsulation(p, cidr.family);
  return {
    name: p.name,
    cidr,
    cidrText: formatCidr(cidr),
    family: cidr.family,
    blockSize: p.blockSize,
    ipipMode: p.ipipMode,
    vxlanMode: p.vxlanMode,
    routeType,
    crossSubnet,
    natOutgoing: p.natOutgoing,
    disabled: p.disabled,
    disableBGPExport: p.disableBGPExport,
    nodeSelector: parseSelector(p.nodeSelector === '' ? 'all()' : p.nodeSelector),
    allowedUses: p.allowedUses,
    record: p,
  };
}

export function blockFacts(b: SnapshotBlock): BlockFacts {
  const cidr = parseCidr(b.cidr);
  const bits = cidr.family === 4 ? 32 : 128;
  const borrowed: BorrowedFacts[] = [];
  const seen = new Set<string>();
  for (const a of b.allocations) {
    // calico: felix/calc/l3_route_resolver.go — an allocation whose node is not the block's host (or any allocation
    // of an un-affine block) is routed as a host route to that node; allocations without a node produce none.
    if (a.node === undefined || a.node === '' || a.node === b.affinity) continue;
    const address = parseIP(a.address);
    const text = `${formatIP(address)}/${bits}`;
    if (seen.has(text)) continue;
    seen.add(text);
    borrowed.push({ cidrText: text, address, holder: a.node });
  }
  borrowed.sort((x, y) => (x.cidrText < y.cidrText ? -1 : x.cidrText > y.cidrText ? 1 : 0));
  const facts: BlockFacts = {
    cidr,
    cidrText: formatCidr(cidr),
    family: cidr.family,
    borrowed,
    isHostBlock: cidr.prefix === bits,
    sortKey: cidrSortKey(cidr),
    record: b,
  };
  if (b.affinity !== undefined && b.affinity !== '') facts.affinity = b.affinity;
  return facts;
}

function hex8(n: number): string {
  return n.toString(16).padStart(8, '0');
}

/**
 * A string whose plain `<` order is net's compareCidr order (family, network, prefix): lets hot paths sort with the
 * engine's native string compare instead of calling compareCidr.
 */
export function cidrSortKey(c: Cidr): string {
  const n = c.network;
  const words = c.family === 4 ? hex8(n.w3) : hex8(n.w0) + hex8(n.w1) + hex8(n.w2) + hex8(n.w3);
  return `${c.family}${words}${String(c.prefix).padStart(3, '0')}`;
}

export function ipSortKey(ip: IP): string {
  return cidrSortKey({ family: ip.family, prefix: ip.family === 4 ? 32 : 128, address: ip, network: ip });
}

export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
