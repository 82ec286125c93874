// How a node reaches one remote destination (a block or a borrowed /32) — Calico's per-route encapsulation rule.
// Inputs: the destination's pool, the node that owns the destination, and whether the *local* node's subnet contains
// the owner's address (`sameSubnet`; only consulted for CrossSubnet pools). Output: the route's kind, next hop and
// device, or why there is no route (yet).
// calico: felix/calc/l3_route_resolver.go (pool type, SameSubnet), felix/dataplane/linux/route_mgr.go (route form),
// confd bird_ipam.cfg.template (IPIP/no-encap kernel filter; same decision in v3.24).
// Rules, per the pool:
//   - vxlanMode Always, or CrossSubnet across subnets  → `<dst> via <owner VTEP> dev vxlan.calico onlink`;
//     needs the owner's VTEP (VXLAN tunnel address on a node with a BGP address), else no route until it appears.
//   - ipipMode Always, or CrossSubnet across subnets   → `<dst> via <owner IP> dev tunl0 onlink` (IPv4 only).
//   - CrossSubnet within the local subnet, or both Never → `<dst> via <owner IP>` (no device: the kernel picks it).
import type { IPFamily } from '../net/index.js';
import type { NodeFacts, PoolFacts } from './facts.js';

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

export type TunnelDeviceName = 'tunl0' | 'vxlan.calico' | 'vxlan-v6.calico';

export interface RemoteRouteDecision {
  kind: 'direct' | 'ipip' | 'vxlan';
  rule: RouteRule;
  nodeIP: string;
  via: string;
  device?: TunnelDeviceName;
  vtepIP?: string;
  vtepMAC?: string;
}

export type NoRouteReason = 'pool-carries-no-routes' | 'owner-has-no-address' | 'owner-has-no-vtep';

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
    device: family === 4 ? 'vxlan.calico' : 'vxlan-v6.calico',
    vtepIP: vtep.ip,
    vtepMAC: vtep.mac,
  };
}
