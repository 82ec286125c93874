// Allocations as records: one per allocated ordinal, with its address, handle, owner attributes and what kind of
// owner it is. Shared by check.ts and gc.ts, which judge allocations against Nodes and Pods.
import { formatIP, ipAtOffset, parseCidr, tryParseIP } from '../net/index.js';
import { handleOf } from './block.js';
import {
  ATTR_NAMESPACE,
  ATTR_NODE,
  ATTR_POD,
  ATTR_TYPE,
  ATTR_TYPE_IPIP,
  ATTR_TYPE_VXLAN,
  ATTR_TYPE_VXLAN_V6,
  type IPAMBlockData,
  WINDOWS_RESERVED_HANDLE,
  affinityNode,
} from './model.js';

export type AllocationKind = 'pod' | 'tunnel' | 'reserved' | 'other';

export interface AllocationRecord {
  block: string;
  ordinal: number;
  address: string;
  handleId: string | undefined;
  attrs: Readonly<Record<string, string>>;
  /** The block's sequence number when this address was allocated (GC releases with it as an ABA guard). */
  sequenceNumber: bigint | undefined;
  /** `secondary.node`, else the block's affine node. */
  node: string | undefined;
  kind: AllocationKind;
}

const TUNNEL_TYPES = new Set([
  ATTR_TYPE_IPIP,
  ATTR_TYPE_VXLAN,
  ATTR_TYPE_VXLAN_V6,
  'wireguardTunnelAddress',
  'wireguardV6TunnelAddress',
]);
const TUNNEL_HANDLE = /^(ipip|vxlan|vxlan-v6|wireguard|wireguard-v6)-tunnel-addr-/;

export function allocationKind(handleId: string | undefined, attrs: Readonly<Record<string, string>>): AllocationKind {
  if (handleId !== undefined && handleId.toLowerCase() === WINDOWS_RESERVED_HANDLE) return 'reserved';
  const type = attrs[ATTR_TYPE];
  if ((type !== undefined && TUNNEL_TYPES.has(type)) || (handleId !== undefined && TUNNEL_HANDLE.test(handleId))) {
    return 'tunnel';
  }
  if (attrs[ATTR_POD] !== undefined && attrs[ATTR_NAMESPACE] !== undefined) return 'pod';
  return 'other';
}

export function allocationsOf(block: IPAMBlockData): AllocationRecord[] {
  const out: AllocationRecord[] = [];
  const cidr = parseCidr(block.cidr);
  for (let o = 0; o < block.allocations.length; o++) {
    const idx = block.allocations[o];
    if (idx === null || idx === undefined) continue;
    const attrs = block.attributes[idx]?.secondary ?? {};
    const handleId = handleOf(block, o);
    out.push({
      block: block.cidr,
      ordinal: o,
      address: formatIP(ipAtOffset(cidr, o)),
      handleId,
      attrs,
      sequenceNumber: block.sequenceNumberForAllocation[String(o)],
      node: attrs[ATTR_NODE] ?? affinityNode(block.affinity),
      kind: allocationKind(handleId, attrs),
    });
  }
  return out;
}

/** What IPAM knows about a pod, from the Pod cache: where it runs and which addresses its status lists. */
export interface PodInfo {
  namespace: string;
  name: string;
  /** spec.nodeName; undefined while unscheduled. */
  node: string | undefined;
  /** status.podIPs; empty while the sandbox is being set up. */
  ips: readonly string[];
  /** Evicted and phase Failed: its addresses are not in use (calico: kube-controllers ipam.go). */
  evictedFailed?: boolean;
}

export function podKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

/** The fields of a core Pod that IPAM reads (structural, so this layer needs no kube types). */
export interface PodFields {
  metadata: { name: string; namespace?: string | undefined };
  spec?: { nodeName?: string | undefined } | undefined;
  status?: { phase?: string | undefined; reason?: string | undefined; podIPs?: readonly { ip: string }[] } | undefined;
}

/** Pods by `namespace/name`, as GC and the consistency check judge allocations against them. */
export function podInfos(pods: Iterable<PodFields>): Map<string, PodInfo> {
  const out = new Map<string, PodInfo>();
  for (const p of pods) {
    const namespace = p.metadata.namespace ?? 'default';
    out.set(podKey(namespace, p.metadata.name), {
      namespace,
      name: p.metadata.name,
      node: p.spec?.nodeName,
      ips: (p.status?.podIPs ?? []).map((x) => x.ip),
      evictedFailed: p.status?.phase === 'Failed' && p.status?.reason === 'Evicted',
    });
  }
  return out;
}

export type Validity = 'valid' | 'invalid' | 'unknown';

/**
 * calico: kube-controllers/pkg/controllers/node/ipam_allocation.go — is this allocation still in use?
 * - reserved: valid. Tunnel: valid iff its node exists.
 * - pod: valid iff the pod exists, runs on the allocation's node (or is unscheduled), is not evicted+Failed, and
 *   either lists no address yet or lists this one.
 * - other (no pod attributes, not a tunnel): unknown — never released automatically.
 */
export function allocationValidity(
  a: AllocationRecord,
  nodes: ReadonlySet<string>,
  pods: ReadonlyMap<string, PodInfo>,
): Validity {
  switch (a.kind) {
    case 'reserved':
      return 'valid';
    case 'tunnel':
      return a.node !== undefined && nodes.has(a.node) ? 'valid' : 'invalid';
    case 'other':
      return 'unknown';
    case 'pod': {
      const pod = pods.get(podKey(a.attrs[ATTR_NAMESPACE]!, a.attrs[ATTR_POD]!));
      if (pod === undefined || pod.evictedFailed === true) return 'invalid';
      if (pod.node !== undefined && a.node !== undefined && pod.node !== a.node) return 'invalid';
      if (pod.ips.length > 0 && !pod.ips.some((ip) => canonicalIP(ip) === a.address)) return 'invalid';
      return 'valid';
    }
  }
}

function canonicalIP(text: string): string {
  const ip = tryParseIP(text);
  return ip === undefined ? text : formatIP(ip);
}
