// Tunnel device addresses per node (calico: node/pkg/allocateip/allocateip.go reconcileTunnelAddrs,
// ensureHostTunnelAddress, removeHostTunnelAddr), recorded where Calico's Kubernetes datastore keeps them: Node
// annotations `projectcalico.org/IPv4IPIPTunnelAddr`, `projectcalico.org/IPv4VXLANTunnelAddr`,
// `projectcalico.org/IPv6VXLANTunnelAddr`, plus the VTEP MAC `projectcalico.org/VXLANTunnelMACAddr(V6)`.
//
// Pure half: `tunnelPools` and `planTunnelAddress` decide from pools, the node and what IPAM says about the current
// address. Acting half: `reconcileTunnelAddresses` runs the decisions through an IpAllocator (the operator's) and
// returns the annotation changes for the caller to write (one Node patch).
//
// Rules (in Calico's order IPIP, VXLAN v4, VXLAN v6; WireGuard is not implemented):
// - Candidate pools: enabled, of the family, allowing use Tunnel, selecting the node, with the mode on (IPIP:
//   ipipMode Always|CrossSubnet, IPv4 only; VXLAN: vxlanMode Always|CrossSubnet).
// - No candidates ⇒ release by handle and clear the annotation.
// - No current address ⇒ release by handle (defensive: a lost reference) and assign one.
// - Current address allocated to this node for this tunnel type ⇒ keep it if it lies in a candidate pool, else
//   release by handle and assign anew.
// - Allocated without attributes and without handle (pre-handle data) ⇒ re-assign the same address with handle and
//   attributes; if someone took it meanwhile, assign a new one. With a handle ⇒ a workload's: assign a new one,
//   leave it alone. Allocated to something else ⇒ assign a new one, leave it alone.
// - Not allocated ⇒ release by handle (defensive) and assign.
// - Assignment = autoAssign(1 address, handle `<type>-tunnel-addr-<node>`, attributes {node, type}, use Tunnel,
//   pools = the candidates), which in a fresh block gives its first address (the `.0`, as Calico's users see).
// - An error after a tunnel address was assigned in this pass releases what this pass assigned.
import { type IPFamily, cidrContainsIP, formatIP, parseIP, tryParseIP, vxlanMacForNode } from '../net/index.js';
import type { AllocationAttribute } from './model.js';
import type { IpAllocator } from './allocator.js';
import { ATTR_NODE, ATTR_TYPE, ATTR_TYPE_IPIP, ATTR_TYPE_VXLAN, ATTR_TYPE_VXLAN_V6, type NodeInfo } from './model.js';
import { type IpamPool, enabledPools, poolSelectsNode } from './pools.js';
import { IpamError, nodeRef } from './errors.js';

export type TunnelKind = 'ipip' | 'vxlan' | 'vxlanV6';

export const TUNNEL_KINDS: readonly TunnelKind[] = ['ipip', 'vxlan', 'vxlanV6'];

export const TUNNEL_ADDRESS_ANNOTATIONS: Readonly<Record<TunnelKind, string>> = {
  ipip: 'projectcalico.org/IPv4IPIPTunnelAddr',
  vxlan: 'projectcalico.org/IPv4VXLANTunnelAddr',
  vxlanV6: 'projectcalico.org/IPv6VXLANTunnelAddr',
};

export const VXLAN_MAC_ANNOTATION = 'projectcalico.org/VXLANTunnelMACAddr';
export const VXLAN_MAC_V6_ANNOTATION = 'projectcalico.org/VXLANTunnelMACAddrV6';

const ATTR_TYPES: Readonly<Record<TunnelKind, string>> = {
  ipip: ATTR_TYPE_IPIP,
  vxlan: ATTR_TYPE_VXLAN,
  vxlanV6: ATTR_TYPE_VXLAN_V6,
};

export function tunnelFamily(kind: TunnelKind): IPFamily {
  return kind === 'vxlanV6' ? 6 : 4;
}

/** calico: generateHandleAndAttributes. */
export function tunnelHandleId(kind: TunnelKind, node: string): string {
  const prefix = kind === 'ipip' ? 'ipip' : kind === 'vxlan' ? 'vxlan' : 'vxlan-v6';
  return `${prefix}-tunnel-addr-${node}`;
}

export function tunnelAttributes(kind: TunnelKind, node: string): Record<string, string> {
  return { [ATTR_NODE]: node, [ATTR_TYPE]: ATTR_TYPES[kind] };
}

/** calico: determineEnabledPoolCIDRs. */
export function tunnelPools(kind: TunnelKind, node: NodeInfo, pools: readonly IpamPool[]): IpamPool[] {
  return enabledPools(pools, tunnelFamily(kind)).filter((p) => {
    const mode = kind === 'ipip' ? p.ipipMode : p.vxlanMode;
    return (
      p.allowedUses.includes('Tunnel') && poolSelectsNode(p, node) && (mode === 'Always' || mode === 'CrossSubnet')
    );
  });
}

/** What IPAM records for an address: unallocated, or the allocation's handle and attributes. */
export type AddressLookup = { allocated: false } | { allocated: true; attribute: AllocationAttribute };

export type TunnelDecision =
  | { kind: 'keep'; address: string }
  | { kind: 'assign'; pools: string[]; releaseFirst: boolean }
  | { kind: 'reassignSame'; address: string; pools: string[] }
  | { kind: 'remove'; address: string | undefined };

export function planTunnelAddress(
  kind: TunnelKind,
  node: NodeInfo,
  pools: readonly IpamPool[],
  current: string | undefined,
  lookup: AddressLookup | undefined,
): TunnelDecision {
  const candidates = tunnelPools(kind, node, pools);
  const cur = current === undefined || current === '' ? undefined : current;
  if (candidates.length === 0) return { kind: 'remove', address: cur };
  const cidrs = candidates.map((p) => p.cidrText);
  if (cur === undefined) return { kind: 'assign', pools: cidrs, releaseFirst: true };
  const ip = tryParseIP(cur);
  if (ip === undefined) {
    throw new IpamError('invalidRequest', nodeRef(node.name), `failed to parse the tunnel address '${cur}'`, [
      'metadata',
      'annotations',
      TUNNEL_ADDRESS_ANNOTATIONS[kind],
    ]);
  }
  if (lookup === undefined || !lookup.allocated) return { kind: 'assign', pools: cidrs, releaseFirst: true };
  const attrs = lookup.attribute.secondary ?? {};
  if (attrs[ATTR_TYPE] === ATTR_TYPES[kind] && attrs[ATTR_NODE] === node.name) {
    return candidates.some((p) => cidrContainsIP(p.cidr, ip))
      ? { kind: 'keep', address: formatIP(ip) }
      : { kind: 'assign', pools: cidrs, releaseFirst: true };
  }
  if (Object.keys(attrs).length === 0 && (lookup.attribute.handle_id === null || lookup.attribute.handle_id === '')) {
    return { kind: 'reassignSame', address: formatIP(ip), pools: cidrs };
  }
  return { kind: 'assign', pools: cidrs, releaseFirst: false };
}

export interface TunnelReconcileResult {
  /** Annotation → new value, or null to remove; only changed keys. */
  annotations: Record<string, string | null>;
  decisions: Partial<Record<TunnelKind, TunnelDecision>>;
}

/**
 * Brings one node's tunnel addresses in line with the pools. `lookup` reads IPAM's record of an address (the
 * caller serves it from its block cache or the store).
 */
export async function reconcileTunnelAddresses(
  allocator: IpAllocator,
  node: NodeInfo,
  pools: readonly IpamPool[],
  annotations: Readonly<Record<string, string>>,
  lookup: (address: string) => Promise<AddressLookup>,
): Promise<TunnelReconcileResult> {
  const changes: Record<string, string | null> = {};
  const decisions: Partial<Record<TunnelKind, TunnelDecision>> = {};
  const assignedNow: TunnelKind[] = [];
  try {
    for (const kind of TUNNEL_KINDS) {
      const key = TUNNEL_ADDRESS_ANNOTATIONS[kind];
      const current = annotations[key];
      const found =
        current !== undefined && current !== '' && tryParseIP(current) !== undefined
          ? await lookup(current)
          : undefined;
      const d = planTunnelAddress(kind, node, pools, current, found);
      decisions[kind] = d;
      const handle = tunnelHandleId(kind, node.name);
      let address: string | undefined;
      switch (d.kind) {
        case 'keep':
          address = d.address;
          break;
        case 'remove':
          await allocator.releaseByHandle(handle);
          if (current !== undefined) changes[key] = null;
          break;
        case 'reassignSame': {
          await allocator.releaseIPs([{ address: d.address }]);
          try {
            await allocator.assignIP({
              ip: d.address,
              handleId: handle,
              attrs: tunnelAttributes(kind, node.name),
              node: node.name,
              use: 'Tunnel',
            });
            address = d.address;
          } catch (e) {
            if (!(e instanceof IpamError && e.code === 'alreadyAssigned')) throw e;
            address = await assignTunnel(allocator, kind, node.name, d.pools);
            assignedNow.push(kind);
          }
          break;
        }
        case 'assign':
          if (d.releaseFirst) await allocator.releaseByHandle(handle);
          address = await assignTunnel(allocator, kind, node.name, d.pools);
          assignedNow.push(kind);
          break;
      }
      if (address !== undefined && address !== current) changes[key] = address;
      if (kind !== 'ipip') {
        const macKey = kind === 'vxlan' ? VXLAN_MAC_ANNOTATION : VXLAN_MAC_V6_ANNOTATION;
        const computed = vxlanMacForNode(node.name, tunnelFamily(kind));
        if (address !== undefined && (annotations[macKey] ?? '') === '') changes[macKey] = computed;
        if (address === undefined && annotations[macKey] === computed) changes[macKey] = null;
      }
    }
  } catch (e) {
    for (const kind of assignedNow) await allocator.releaseByHandle(tunnelHandleId(kind, node.name));
    throw e;
  }
  return { annotations: changes, decisions };
}

async function assignTunnel(allocator: IpAllocator, kind: TunnelKind, node: string, pools: string[]): Promise<string> {
  const family = tunnelFamily(kind);
  const r = await allocator.autoAssign({
    num4: family === 4 ? 1 : 0,
    num6: family === 6 ? 1 : 0,
    handleId: tunnelHandleId(kind, node),
    attrs: tunnelAttributes(kind, node),
    node,
    use: 'Tunnel',
    ...(family === 4 ? { ipv4Pools: pools } : { ipv6Pools: pools }),
  });
  if (r.error !== undefined) throw r.error;
  const ia = family === 4 ? r.v4 : r.v6;
  const first = ia?.ips[0];
  if (first === undefined) {
    const msg =
      ia === undefined ? 'no address' : `Assigned 0 out of 1 requested IPv${family} addresses; ${ia.msgs.join('; ')}`;
    throw new IpamError('noFreeBlocks', nodeRef(node), msg);
  }
  return formatIP(parseIP(first.slice(0, first.indexOf('/'))));
}
