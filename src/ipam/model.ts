// The IPAM data model: plain data that maps 1:1 onto the specs of Calico's IPAMBlock, BlockAffinity and IPAMHandle
// (calico: api/pkg/apis/projectcalico/v3/ipamblocks.go, blockaffinity.go, ipamhandle.go;
// libcalico-go/lib/backend/model/block.go), so a Kubernetes BlockStore only renames `metadata` around it.
// JSON key spellings (`handle_id`, `secondary`) are Calico's storage spellings, not ours; spec-mapping.ts converts
// to and from src/api's types.
//
// Sequence numbers are bigint: Calico initialises them to the creation time in nanoseconds (~1.7e18), far past
// 2^53, where a float64 `+ 1` is lost; the ABA protection they give depends on every write changing them.
import type { AffinityState as ApiAffinityState } from '../api/block-affinity.js';
import { DEFAULT_MAX_BLOCKS_PER_HOST } from '../api/ipam-configuration.js';

/** `host:<node>` for node-affine blocks; `virtual:<name>` for LoadBalancer blocks; null when un-affine. */
export type BlockAffinityRef = string;

export const HOST_AFFINITY_PREFIX = 'host:';

export function hostAffinity(node: string): BlockAffinityRef {
  return `${HOST_AFFINITY_PREFIX}${node}`;
}

/** The node a `host:<node>` affinity names, or undefined for virtual/absent affinities. */
export function affinityNode(affinity: BlockAffinityRef | null | undefined): string | undefined {
  return affinity !== null && affinity !== undefined && affinity.startsWith(HOST_AFFINITY_PREFIX)
    ? affinity.slice(HOST_AFFINITY_PREFIX.length)
    : undefined;
}

export interface AllocationAttribute {
  /** Null for allocations made without a handle (very old data); Calico's JSON key. */
  handle_id: string | null;
  /** Owner attributes (`namespace`, `pod`, `node`, `type`, `timestamp`, ...); Calico's JSON key is `secondary`. */
  secondary: Record<string, string> | null;
  /** Fields IPAM does not use (Calico master's `alternateOwnerAttrs`, `releasedAt`), carried through unchanged. */
  extra?: Record<string, unknown>;
}

export interface IPAMBlockData {
  /** Canonical block CIDR (`formatCidr`); also the store key via `blockKey`. */
  cidr: string;
  affinity: BlockAffinityRef | null;
  /** RFC 3339; when the affinity was claimed, used to refuse reclaiming a block another node just took. */
  affinityClaimTime: string | null;
  /** One entry per ordinal: an index into `attributes`, or null when free. Length = 2^(bits - prefix). */
  allocations: (number | null)[];
  /** Free ordinals in hand-out order: assignment takes from the head, release appends to the tail. */
  unallocated: number[];
  attributes: AllocationAttribute[];
  /** Changed by every write (ABA protection); initialised to the creation time in ns. */
  sequenceNumber: bigint;
  /** Ordinal (as a decimal string) → the block's sequence number when that ordinal was allocated. */
  sequenceNumberForAllocation: Record<string, bigint>;
  /** Calico's soft-delete flag: readers treat a deleted block as absent. */
  deleted: boolean;
}

/**
 * `''` is legacy "implicitly confirmed". `pending` and `pendingDeletion` count as absent for ownership and routing
 * (calico: libcalico-go/lib/ipam/ipam_block_reader_writer.go, confd skips them).
 */
export type AffinityState = ApiAffinityState;

export interface BlockAffinityData {
  node: string;
  /** Canonical block CIDR. */
  cidr: string;
  state: AffinityState;
  type: 'host' | 'virtual';
  deleted: boolean;
}

export function affinityIsConfirmed(a: Pick<BlockAffinityData, 'state'>): boolean {
  return a.state === 'confirmed' || a.state === '';
}

export interface IPAMHandleData {
  handleID: string;
  /** Block CIDR → number of addresses this handle holds in that block. */
  block: Record<string, number>;
  deleted: boolean;
  /**
   * The node whose allocation this handle counts (a pod's node), so admission can hold an agent to its own node's
   * handles. Tabby's own record (an annotation, HANDLE_NODE_ANNOTATION): Calico's handles carry no node, and one
   * written by Calico's tools has none until GC adopts it from its allocations' attributes.
   */
  node?: string;
}

/** Where a Kubernetes IPAMHandle records `IPAMHandleData.node` (the chart's admission policy reads it). */
export const HANDLE_NODE_ANNOTATION = 'ipam.tabby.dev/node';

/** Keys of `AllocationAttribute.secondary` that other components parse (calico: libcalico-go/lib/ipam/ipam.go). */
export const ATTR_NODE = 'node';
export const ATTR_NAMESPACE = 'namespace';
export const ATTR_POD = 'pod';
export const ATTR_TIMESTAMP = 'timestamp';
export const ATTR_TYPE = 'type';
export const ATTR_NOTE = 'note';

export const ATTR_TYPE_IPIP = 'ipipTunnelAddress';
export const ATTR_TYPE_VXLAN = 'vxlanTunnelAddress';
export const ATTR_TYPE_VXLAN_V6 = 'vxlanV6TunnelAddress';

/** Addresses Windows nodes reserve in every block; not counted when deciding whether a block is empty. */
export const WINDOWS_RESERVED_HANDLE = 'windows-reserved-ipam-handle';

/** The CNI's handle for a pod (calico: cni-plugin/pkg/ipamplugin: `<network>.<containerID>`). */
export function podHandleId(containerId: string, network = 'k8s-pod-network'): string {
  return `${network}.${containerId}`;
}

/**
 * Handles are cut at the first `\r`: a host-local migration once wrote malformed IDs
 * (calico: libcalico-go/lib/ipam/ipam_block.go sanitizeHandle).
 */
export function sanitizeHandle(handleId: string): string {
  const cut = handleId.indexOf('\r');
  return cut < 0 ? handleId : handleId.slice(0, cut);
}

export type IntendedUse = 'Workload' | 'Tunnel' | 'LoadBalancer';

/** IPAMConfiguration `default` as the allocator uses it; missing object ⇒ these defaults (never written on read). */
export interface IpamConfig {
  strictAffinity: boolean;
  autoAllocateBlocks: boolean;
  /** 0 ⇒ Calico's safeguard of 20 blocks per host. */
  maxBlocksPerHost: number;
}

export const DEFAULT_IPAM_CONFIG: IpamConfig = Object.freeze({
  strictAffinity: false,
  autoAllocateBlocks: true,
  maxBlocksPerHost: 0,
});

/** calico: libcalico-go/lib/ipam/ipam.go autoAssign — "Default to a reasonable limit" (20). */
export { DEFAULT_MAX_BLOCKS_PER_HOST };

/** The per-node cap in force: the tighter of the configured and the per-request limit, 0 meaning unset. */
export function effectiveBlockLimit(config: IpamConfig, requestLimit = 0): number {
  let limit = requestLimit;
  if (config.maxBlocksPerHost > 0 && limit > 0 && limit > config.maxBlocksPerHost) limit = config.maxBlocksPerHost;
  else if (limit === 0) limit = config.maxBlocksPerHost;
  return limit === 0 ? DEFAULT_MAX_BLOCKS_PER_HOST : limit;
}

/** A node as the allocator sees it: its name and labels (for pool node selectors). */
export interface NodeInfo {
  name: string;
  labels: Readonly<Record<string, string>>;
  /** Pools the node's agent is waiting for a block in (src/api/block-request.ts); their empty blocks are kept. */
  requestedPools?: readonly string[];
}
