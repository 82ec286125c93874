import { describe, expect, it } from 'vitest';
import { parseCidr } from '../net/index.js';
import { explainAddress, type OwnerInput } from './address-owner.js';
import { newBlock } from './block.js';
import type { IPAMBlockData } from './model.js';
import { testPool } from './test-fixtures.js';

function blockWith(
  cidr: string,
  affinity: string | null,
  allocs: { ordinal: number; handle: string; attrs: Record<string, string> }[],
) {
  const size = 2 ** (32 - parseCidr(cidr).prefix);
  const b: IPAMBlockData = newBlock(cidr, size, { affinity, affinityClaimTime: null, sequenceNumber: 1n });
  allocs.forEach((a, i) => {
    b.allocations[a.ordinal] = i;
    b.attributes.push({ handle_id: a.handle, secondary: a.attrs });
    b.unallocated = b.unallocated.filter((o) => o !== a.ordinal);
  });
  return b;
}

function input(over: Partial<OwnerInput> = {}): OwnerInput {
  return {
    pools: [testPool('p', '10.0.0.0/24', { blockSize: 26 })],
    blocks: [
      blockWith('10.0.0.0/26', 'host:n1', [
        { ordinal: 3, handle: 'k8s-pod-network.a', attrs: { node: 'n1', namespace: 'ns', pod: 'gone' } },
      ]),
      blockWith('10.0.0.64/26', null, []),
    ],
    affinities: [],
    handles: [],
    nodes: new Set(['n1']),
    pods: new Map(),
    ...over,
  };
}

describe('who an address belongs to', () => {
  it("an address whose pod is gone: found, its block's affinity object missing, GC's verdict a leak", () => {
    const r = explainAddress(parseCidr('10.0.0.3/32'), input());
    expect(r.blocks).toEqual([
      { cidr: '10.0.0.0/26', pool: 'p', node: 'n1', affinityState: 'missing', inUse: 1, size: 64 },
    ]);
    expect(r.allocation).toMatchObject({
      address: '10.0.0.3',
      handleId: 'k8s-pod-network.a',
      kind: 'pod',
      pod: { namespace: 'ns', name: 'gone', found: false },
      validity: 'invalid',
    });
    expect(r.allocation?.handle).toBeUndefined();
  });

  it('the next address is free; a CIDR lists every block it overlaps and no allocation', () => {
    expect(explainAddress(parseCidr('10.0.0.4/32'), input()).allocation).toBeUndefined();
    const r = explainAddress(parseCidr('10.0.0.0/24'), input());
    expect(r.single).toBe(false);
    expect(r.blocks.map((b) => `${b.cidr} ${b.node ?? '-'}`)).toEqual(['10.0.0.0/26 n1', '10.0.0.64/26 -']);
    expect(r.allocation).toBeUndefined();
    expect(explainAddress(parseCidr('10.9.0.0/16'), input())).toEqual({
      target: '10.9.0.0/16',
      single: false,
      pools: [],
      blocks: [],
    });
  });
});
