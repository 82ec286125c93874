// The 1:1 mapping between src/api's IPAM kinds (what the API server stores) and the allocator's plain data
// (model.ts). The Kubernetes BlockStore is this mapping plus metadata (name = the store key, resourceVersion = the
// version). Differences it bridges: optional fields vs explicit nulls, sequence numbers arriving as number or bigint
// (always bigint inside), and the IPAMConfiguration singleton's defaults.
//
// Invariant: blockToSpec(blockFromSpec(s)) keeps every field IPAM reads or writes. Attribute fields IPAM does not
// use (Calico master's `alternateOwnerAttrs`, `releasedAt`) are carried through unchanged.
import type { BlockAffinitySpec, IPAMBlockSpec, IPAMConfigurationSpec, IPAMHandleSpec } from '../api/index.js';
import {
  type AllocationAttribute,
  type BlockAffinityData,
  DEFAULT_IPAM_CONFIG,
  type IPAMBlockData,
  type IPAMHandleData,
  type IpamConfig,
} from './model.js';

function u64(v: number | bigint | undefined): bigint {
  return v === undefined ? 0n : typeof v === 'bigint' ? v : BigInt(Math.trunc(v));
}

export function blockFromSpec(spec: IPAMBlockSpec): IPAMBlockData {
  const seqFor: Record<string, bigint> = {};
  for (const [k, v] of Object.entries(spec.sequenceNumberForAllocation ?? {})) seqFor[k] = u64(v);
  return {
    cidr: spec.cidr,
    affinity: spec.affinity ?? null,
    affinityClaimTime: spec.affinityClaimTime ?? null,
    allocations: [...spec.allocations],
    unallocated: [...spec.unallocated],
    attributes: spec.attributes.map((a) => {
      const { handle_id, secondary, ...rest } = a;
      const attr: AllocationAttribute = {
        handle_id: handle_id ?? null,
        secondary: secondary === undefined ? null : { ...secondary },
      };
      if (Object.keys(rest).length > 0) attr.extra = rest;
      return attr;
    }),
    sequenceNumber: u64(spec.sequenceNumber),
    sequenceNumberForAllocation: seqFor,
    deleted: spec.deleted === true,
  };
}

export function blockToSpec(b: IPAMBlockData): IPAMBlockSpec {
  const spec: IPAMBlockSpec = {
    cidr: b.cidr,
    allocations: [...b.allocations],
    unallocated: [...b.unallocated],
    attributes: b.attributes.map((a) => ({
      ...(a.extra ?? {}),
      ...(a.handle_id === null ? {} : { handle_id: a.handle_id }),
      ...(a.secondary === null ? {} : { secondary: { ...a.secondary } }),
    })),
    sequenceNumber: b.sequenceNumber,
    sequenceNumberForAllocation: { ...b.sequenceNumberForAllocation },
    // Calico's storage struct has no omitempty on `deleted`: it is always written.
    deleted: b.deleted,
    strictAffinity: false,
  };
  if (b.affinity !== null) spec.affinity = b.affinity;
  if (b.affinityClaimTime !== null) spec.affinityClaimTime = b.affinityClaimTime;
  return spec;
}

export function affinityFromSpec(spec: BlockAffinitySpec): BlockAffinityData {
  return { node: spec.node, cidr: spec.cidr, state: spec.state, type: spec.type, deleted: spec.deleted };
}

export function affinityToSpec(a: BlockAffinityData): BlockAffinitySpec {
  return { node: a.node, cidr: a.cidr, state: a.state, type: a.type, deleted: a.deleted };
}

export function handleFromSpec(spec: IPAMHandleSpec): IPAMHandleData {
  return { handleID: spec.handleID, block: { ...spec.block }, deleted: spec.deleted === true };
}

export function handleToSpec(h: IPAMHandleData): IPAMHandleSpec {
  return { handleID: h.handleID, block: { ...h.block }, ...(h.deleted ? { deleted: true } : {}) };
}

/** The `default` IPAMConfiguration's spec, or the defaults when the object does not exist (never written on read). */
export function ipamConfigFromSpec(spec: Partial<IPAMConfigurationSpec> | undefined): IpamConfig {
  if (spec === undefined) return { ...DEFAULT_IPAM_CONFIG };
  return {
    strictAffinity: spec.strictAffinity ?? DEFAULT_IPAM_CONFIG.strictAffinity,
    autoAllocateBlocks: spec.autoAllocateBlocks ?? DEFAULT_IPAM_CONFIG.autoAllocateBlocks,
    maxBlocksPerHost: spec.maxBlocksPerHost ?? DEFAULT_IPAM_CONFIG.maxBlocksPerHost,
  };
}
