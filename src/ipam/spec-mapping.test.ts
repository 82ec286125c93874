// The mapping between src/api's IPAM kinds and the allocator's data: what the Kubernetes BlockStore will use.
import { describe, expect, it } from 'vitest';
import { BlockAffinitySchema, IPAMBlockSchema, IPAMHandleSchema } from '../api/index.js';
import { assignFromHead, bumpSequence, cloneBlock } from './block.js';
import { checkIpam } from './check.js';
import {
  affinityFromSpec,
  affinityToSpec,
  blockFromSpec,
  blockToSpec,
  handleFromSpec,
  handleToSpec,
  ipamConfigFromSpec,
} from './spec-mapping.js';

// A block as Calico writes it (sequence numbers in ns, beyond 2^53; master's extra attribute fields).
const calicoBlock = {
  apiVersion: 'projectcalico.org/v3',
  kind: 'IPAMBlock',
  metadata: { name: '10-244-1-0-30' },
  spec: {
    cidr: '10.244.1.0/30',
    affinity: 'host:node-1',
    affinityClaimTime: '2024-05-01T10:00:00Z',
    allocations: [0, null, 1, null],
    unallocated: [1, 3],
    attributes: [
      { handle_id: 'ipip-tunnel-addr-node-1', secondary: { node: 'node-1', type: 'ipipTunnelAddress' } },
      {
        handle_id: 'k8s-pod-network.abc',
        secondary: { node: 'node-1', namespace: 'default', pod: 'web' },
        releasedAt: 'x',
      },
    ],
    sequenceNumber: 1714557600000000123n,
    sequenceNumberForAllocation: { '0': 1714557600000000000n, '2': 1714557600000000122n },
    deleted: false,
    strictAffinity: false,
  },
};

describe('spec mapping', () => {
  it('maps a Calico block in and out without losing a field, keeping 64-bit sequence numbers exact', () => {
    const parsed = IPAMBlockSchema.parse(calicoBlock);
    const data = blockFromSpec(parsed.spec);
    expect(data.sequenceNumber).toBe(1714557600000000123n);
    expect(
      checkIpam({ blocks: [data], affinities: [], handles: [] }).findings.filter((f) => f.code === 'invalidBlock'),
    ).toEqual([]);
    expect(blockToSpec(data)).toEqual(parsed.spec);
  });

  it('carries unused attribute fields through a write of the block', () => {
    const data = cloneBlock(blockFromSpec(IPAMBlockSchema.parse(calicoBlock).spec));
    assignFromHead(data, 1, 'k8s-pod-network.new', { node: 'node-1' });
    bumpSequence(data);
    const out = blockToSpec(data);
    expect(out.attributes[1]).toMatchObject({ releasedAt: 'x' });
    expect(out.sequenceNumber).toBe(1714557600000000124n);
    expect(IPAMBlockSchema.safeParse({ ...calicoBlock, spec: out }).success).toBe(true);
  });

  it('maps an un-affine block with absent optional fields', () => {
    const spec = IPAMBlockSchema.parse({
      ...calicoBlock,
      spec: { ...calicoBlock.spec, affinity: undefined, affinityClaimTime: undefined },
    }).spec;
    const data = blockFromSpec(spec);
    expect([data.affinity, data.affinityClaimTime]).toEqual([null, null]);
    expect('affinity' in blockToSpec(data)).toBe(false);
  });

  it('maps affinities and handles', () => {
    const a = BlockAffinitySchema.parse({
      apiVersion: 'projectcalico.org/v3',
      kind: 'BlockAffinity',
      metadata: { name: 'node-1-10-244-1-0-30' },
      spec: { node: 'node-1', cidr: '10.244.1.0/30', state: 'confirmed' },
    });
    expect(affinityFromSpec(a.spec)).toEqual({
      node: 'node-1',
      cidr: '10.244.1.0/30',
      state: 'confirmed',
      type: 'host',
      deleted: false,
    });
    expect(affinityToSpec(affinityFromSpec(a.spec))).toEqual(a.spec);
    const h = IPAMHandleSchema.parse({
      apiVersion: 'projectcalico.org/v3',
      kind: 'IPAMHandle',
      metadata: { name: 'k8s-pod-network.abc' },
      spec: { handleID: 'k8s-pod-network.abc', block: { '10.244.1.0/30': 1 } },
    });
    expect(handleToSpec(handleFromSpec(h.spec))).toEqual(h.spec);
  });

  it('IPAMConfiguration: a missing object means the defaults', () => {
    expect(ipamConfigFromSpec(undefined)).toEqual({
      strictAffinity: false,
      autoAllocateBlocks: true,
      maxBlocksPerHost: 0,
    });
    expect(ipamConfigFromSpec({ strictAffinity: true, maxBlocksPerHost: 4 })).toEqual({
      strictAffinity: true,
      autoAllocateBlocks: true,
      maxBlocksPerHost: 4,
    });
  });
});
