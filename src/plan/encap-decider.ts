// Encapsulation: how a node reaches pods on another node — Calico's rule, whole, in this one file. Everything else
// only carries its result: facts.ts keeps each pool's class and each node's subnet as decided here, owner-routes.ts
// writes each decision into a RouteTable entry, route-views.ts hands each view the variant its subnet calls for, and
// the agent (agent/shard-routes.ts) turns an entry into a kernel route with `kernelRouteForm`.
//
// The rule, for node A and a remote destination D (a block affine to node B, or an address B borrowed):
//   1. D's pool decides the encapsulation (`poolEncapsulation`): a LoadBalancer-only pool carries no routes;
//      vxlanMode other than Never → VXLAN (VXLAN wins over IPIP); else ipipMode other than Never on an IPv4 pool →
//      IPIP (IPIP is IPv4 only: Calico rejects ipipMode on an IPv6 pool, so a stray one means none); else none.
//      The winning mode's CrossSubnet makes the tunnel conditional on 2.
//   2. Same subnet (`inSameSubnet`): A's subnet contains B's address. A node's subnet is the prefix written in its
//      projectcalico.org/IPv4Address (IPv6Address) annotation, e.g. 192.168.0.11/24; a node known only by its
//      Kubernetes InternalIP has a host-length subnet (`subnetPrefixLength`), so CrossSubnet always tunnels to it.
//   3. The route (`decideRemoteRoute`):
//      - VXLAN Always, or CrossSubnet across subnets → `D via <B's VTEP> dev vxlan.calico onlink` (vxlan-v6.calico
//        for IPv6); needs B's VTEP — its VXLAN tunnel address on a node with a BGP address — else no route until
//        it appears;
//      - IPIP Always, or CrossSubnet across subnets → `D via <B's IP> dev tunl0 onlink`;
//      - CrossSubnet within A's subnet, or no encapsulation → `D via <B's IP>`, no device (the kernel picks the
//        uplink); such routes are also what BGP advertises;
//      - B has no address in D's family → no route.
//   4. The kernel form (`kernelRouteForm`): a tunnel route names its device and is onlink (its next hop is on no link
//      the kernel knows); a direct route names no device.
// Whether a node has the tunnel devices at all: `encapFromPools` (some pool, disabled ones included, calls for one),
// unless FelixConfiguration ipipEnabled / vxlanEnabled says otherwise (felix-effective.ts).
// Local destinations are not decided here: a node's own blocks get blackholes (node-desired.ts), its pods' /32s come
// from the CNI plugin.
//
// calico: felix/calc/l3_route_resolver.go (pool type, SameSubnet), felix/calc/encapsulation_resolver.go (devices on),
// felix/dataplane/linux/route_mgr.go and vxlan_mgr.go (route form), confd bird_ipam.cfg.template (IPIP/no-encap
// kernel filter; the same decision in v3.24).
import { type Cidr, type IPFamily, cidrContainsIP } from '../net/index.js';
import type { RouteKind } from '../api/route-table.js';
import type { NodeFacts, PoolFacts } from './facts.js';
import type { NodeAddress, SnapshotPool } from './snapshot.js';

/** Calico's pool classes (felix/calc/l3_route_resolver.go): which manager programs the pool's routes. */
export type PoolRouteType = 'vxlan' | 'ipip' | 'noEncap' | 'none';

export type TunnelDeviceName = 'tunl0' | 'vxlan.calico' | 'vxlan-v6.calico';

/** Step 1: the pool's class in `family`. */
export function poolRouteType(
  p: Pick<SnapshotPool, 'ipipMode' | 'vxlanMode' | 'allowedUses'>,
  family: IPFamily,
): PoolRouteType {
  if (p.allowedUses.length > 0 && p.allowedUses.every((u) => u === 'LoadBalancer')) return 'none';
  if (p.vxlanMode !== 'Never') return 'vxlan';
  if (p.ipipMode !== 'Never' && family === 4) return 'ipip';
  return 'noEncap';
}

/** Step 1 with its condition: the pool's class and whether its tunnel is used only across subnets. */
export function poolEncapsulation(
  p: Pick<SnapshotPool, 'ipipMode' | 'vxlanMode' | 'allowedUses'>,
  family: IPFamily,
): { routeType: PoolRouteType; crossSubnet: boolean } {
  const routeType = poolRouteType(p, family);
  const crossSubnet =
    (routeType === 'vxlan' && p.vxlanMode === 'CrossSubnet') || (routeType === 'ipip' && p.ipipMode === 'CrossSubnet');
  return { routeType, crossSubnet };
}

/** Step 2: the prefix length of a node's subnet; an InternalIP-only node's subnet holds just itself. */
export function subnetPrefixLength(a: Pick<NodeAddress, 'source' | 'prefixLength'>, family: IPFamily): number {
  if (a.source === 'internal-ip') return family === 4 ? 32 : 128;
  return a.prefixLength;
}

/** Step 2: whether `subnet` (the local node's, for `family`) contains the owner's address. */
export function inSameSubnet(subnet: Cidr | undefined, owner: NodeFacts | undefined, family: IPFamily): boolean {
  const addr = family === 4 ? owner?.v4 : owner?.v6;
  return subnet !== undefined && addr !== undefined && cidrContainsIP(subnet, addr.ip);
}

export type RouteRule =
  | 'ipip-always'
  | 'ipip-cross-subnet-tunnel'
  | 'ipip-cross-subnet-direct'
  | 'vxlan-always'
  | 'vxlan-cross-subnet-tunnel'
  | 'vxlan-cross-subnet-direct'
  | 'no-encap'
  | 'local-block'
  | 'local-workload';

export interface RemoteRouteDecision {
  kind: RouteKind;
  rule: RouteRule;
  nodeIP: string;
  via: string;
  device?: TunnelDeviceName;
  vtepIP?: string;
  vtepMAC?: string;
}

export type NoRouteReason = 'pool-carries-no-routes' | 'owner-has-no-address' | 'owner-has-no-vtep';

/** The VXLAN device of a family. */
export function vxlanDevice(family: IPFamily): 'vxlan.calico' | 'vxlan-v6.calico' {
  return family === 4 ? 'vxlan.calico' : 'vxlan-v6.calico';
}

/** Step 3: how a node reaches one destination of `owner` in `pool`, given whether they share a subnet. */
export function decideRemoteRoute(
  pool: PoolFacts,
  owner: NodeFacts,
  family: IPFamily,
  sameSubnet: boolean,
): RemoteRouteDecision | NoRouteReason {
  if (pool.routeType === 'none') return 'pool-carries-no-routes';
  const addr = family === 4 ? owner.v4 : owner.v6;
  if (!addr) return 'owner-has-no-address';
  const nodeIP = addr.text;
  if (pool.routeType === 'noEncap') return { kind: 'direct', rule: 'no-encap', nodeIP, via: nodeIP };
  if (pool.crossSubnet && sameSubnet) {
    const rule = pool.routeType === 'vxlan' ? 'vxlan-cross-subnet-direct' : 'ipip-cross-subnet-direct';
    return { kind: 'direct', rule, nodeIP, via: nodeIP };
  }
  if (pool.routeType === 'ipip') {
    const rule = pool.crossSubnet ? 'ipip-cross-subnet-tunnel' : 'ipip-always';
    return { kind: 'ipip', rule, nodeIP, via: nodeIP, device: 'tunl0' };
  }
  const vtep = family === 4 ? owner.vtep4 : owner.vtep6;
  if (!vtep) return 'owner-has-no-vtep';
  return {
    kind: 'vxlan',
    rule: pool.crossSubnet ? 'vxlan-cross-subnet-tunnel' : 'vxlan-always',
    nodeIP,
    via: vtep.ip,
    device: vxlanDevice(family),
    vtepIP: vtep.ip,
    vtepMAC: vtep.mac,
  };
}

/**
 * Step 4: the device and onlink flag of a decided route in the kernel (`device` as the entry names it, if it does).
 * The next hop is the entry's `via`: the owner's VTEP for VXLAN, its address otherwise.
 */
export function kernelRouteForm(
  kind: 'vxlan',
  family: IPFamily,
  device?: TunnelDeviceName,
): { dev: TunnelDeviceName; onlink: true };
export function kernelRouteForm(
  kind: RouteKind,
  family: IPFamily,
  device?: TunnelDeviceName,
): { dev?: TunnelDeviceName; onlink?: true };
export function kernelRouteForm(
  kind: RouteKind,
  family: IPFamily,
  device?: TunnelDeviceName,
): { dev?: TunnelDeviceName; onlink?: true } {
  switch (kind) {
    case 'direct':
      return {};
    case 'ipip':
      return { dev: 'tunl0', onlink: true };
    case 'vxlan':
      return { dev: device ?? vxlanDevice(family), onlink: true };
  }
}

export interface EncapFlags {
  ipip: boolean;
  vxlan: boolean;
  vxlanV6: boolean;
}

/** Devices the pools call for: IPIP iff some IPv4 pool is IPIP, VXLAN per family likewise (disabled pools count). */
export function encapFromPools(pools: Iterable<PoolFacts>): EncapFlags {
  const f: EncapFlags = { ipip: false, vxlan: false, vxlanV6: false };
  for (const p of pools) {
    if (p.routeType === 'ipip') f.ipip = true;
    if (p.routeType === 'vxlan' && p.family === 4) f.vxlan = true;
    if (p.routeType === 'vxlan' && p.family === 6) f.vxlanV6 = true;
  }
  return f;
}
