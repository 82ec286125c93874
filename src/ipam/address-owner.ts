// Who an address belongs to, as IPAM records it (for `tabby explain`): the pool and block holding it, the node the
// block is affine to, and — for a single address — the allocation: its handle, the owner attributes Calico writes
// (`namespace`, `pod`, `node`, `type`), the IPAMHandle counting it, the pod those attributes name and whether GC
// would judge the allocation in use (allocations.ts `allocationValidity`, the rule GC releases by).
// For a CIDR: the pools and blocks that overlap it (holding it, or inside it).
// Pure: the caller lists pools, blocks, affinities, handles, nodes and pods.
import {
  type Cidr,
  cidrContainsCidr,
  cidrContainsIP,
  formatCidr,
  formatIP,
  ipAtOffset,
  parseCidr,
} from '../net/index.js';
import {
  type AllocationKind,
  type PodInfo,
  type Validity,
  allocationValidity,
  allocationsOf,
  podKey,
} from './allocations.js';
import { inUseCount } from './block.js';
import {
  type AffinityState,
  type BlockAffinityData,
  type IPAMBlockData,
  type IPAMHandleData,
  affinityNode,
} from './model.js';
import type { IpamPool } from './pools.js';

export interface OwnerInput {
  pools: readonly IpamPool[];
  blocks: readonly IPAMBlockData[];
  affinities: readonly BlockAffinityData[];
  handles: readonly IPAMHandleData[];
  nodes: ReadonlySet<string>;
  pods: ReadonlyMap<string, PodInfo>;
}

export interface PoolInfo {
  name: string;
  cidr: string;
  ipipMode: string;
  vxlanMode: string;
}

export interface BlockInfo {
  cidr: string;
  pool?: string;
  /** The node of the block's `host:` affinity. */
  node?: string;
  /** That node's BlockAffinity state; `missing` when the block names a node but no affinity object does. */
  affinityState?: AffinityState | 'missing';
  inUse: number;
  size: number;
}

export interface AllocationInfo {
  address: string;
  block: string;
  handleId?: string;
  /** The owner attributes as written (`namespace`, `pod`, `node`, `type`, `timestamp`…). */
  attrs: Readonly<Record<string, string>>;
  kind: AllocationKind;
  /** The IPAMHandle of `handleId`: how many addresses it counts in each block; undefined when there is none. */
  handle?: Readonly<Record<string, number>>;
  /** The pod the attributes name, as the apiserver has it now; `found: false` when it is gone. */
  pod?: { namespace: string; name: string; found: boolean; node?: string; ips?: readonly string[] };
  /** GC's judgement: `invalid` is a leak (or an address of a deleted node) it will release. */
  validity: Validity;
}

export interface AddressOwnership {
  target: string;
  /** Single address (a /32 or /128) rather than a wider CIDR. */
  single: boolean;
  pools: PoolInfo[];
  blocks: BlockInfo[];
  /** For a single address: its allocation, or undefined when it is free (or outside every block). */
  allocation?: AllocationInfo;
}

function overlaps(a: Cidr, b: Cidr): boolean {
  return cidrContainsCidr(a, b) || cidrContainsCidr(b, a);
}

export function explainAddress(target: Cidr, input: OwnerInput): AddressOwnership {
  const single = target.prefix === (target.family === 4 ? 32 : 128);
  const pools = input.pools
    .filter((p) => overlaps(p.cidr, target))
    .map((p) => ({ name: p.name, cidr: p.cidrText, ipipMode: p.ipipMode, vxlanMode: p.vxlanMode }))
    .sort((a, b) => (a.cidr < b.cidr ? -1 : a.cidr > b.cidr ? 1 : 0));
  const blocks = input.blocks
    .filter((b) => !b.deleted && overlaps(parseCidr(b.cidr), target))
    .sort((a, b) => (a.cidr < b.cidr ? -1 : 1));
  const blockInfos = blocks.map((b): BlockInfo => {
    const cidr = parseCidr(b.cidr);
    const node = affinityNode(b.affinity);
    const aff = node === undefined ? undefined : input.affinities.find((a) => a.cidr === b.cidr && a.node === node);
    const pool = input.pools.find((p) => cidrContainsCidr(p.cidr, cidr))?.name;
    return {
      cidr: formatCidr(cidr),
      ...(pool ? { pool } : {}),
      ...(node ? { node, affinityState: aff && !aff.deleted ? aff.state || 'confirmed' : 'missing' } : {}),
      inUse: inUseCount(b),
      size: b.allocations.length,
    };
  });
  const out: AddressOwnership = { target: formatCidr(target), single, pools, blocks: blockInfos };
  if (!single) return out;
  const address = formatIP(ipAtOffset(target, 0));
  const block = blocks.find((b) => cidrContainsIP(parseCidr(b.cidr), target.network));
  const record = block && allocationsOf(block).find((r) => r.address === address);
  if (record === undefined) return out;
  const ns = record.attrs['namespace'];
  const podName = record.attrs['pod'];
  const handle = record.handleId && input.handles.find((h) => h.handleID === record.handleId && !h.deleted);
  const pod = ns !== undefined && podName !== undefined ? input.pods.get(podKey(ns, podName)) : undefined;
  out.allocation = {
    address,
    block: record.block,
    ...(record.handleId !== undefined ? { handleId: record.handleId } : {}),
    attrs: record.attrs,
    kind: record.kind,
    ...(handle ? { handle: handle.block } : {}),
    ...(ns !== undefined && podName !== undefined
      ? {
          pod: {
            namespace: ns,
            name: podName,
            found: pod !== undefined,
            ...(pod?.node !== undefined ? { node: pod.node } : {}),
            ...(pod ? { ips: pod.ips } : {}),
          },
        }
      : {}),
    validity: allocationValidity(record, input.nodes, input.pods),
  };
  return out;
}
