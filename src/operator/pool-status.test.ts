import { describe, expect, it } from 'vitest';
import type { IPAMBlock, IPPool } from '../api/index.js';
import { poolUsage } from './pool-status.js';

const pool = (name: string, cidr: string, blockSize: number) =>
  ({ metadata: { name }, spec: { cidr, blockSize } }) as unknown as IPPool;
const block = (cidr: string, allocations: (number | null)[], deleted = false) =>
  ({ metadata: { name: cidr }, spec: { cidr, allocations, deleted } }) as unknown as IPAMBlock;

describe('pool usage', () => {
  // Hand-derived: a /24 in /26 blocks holds 256 addresses in 4 blocks; a /120 in /122 blocks likewise.
  const pools = [pool('v4', '10.0.0.0/24', 26), pool('v6', 'fd00::/120', 122)];
  const blocks = [
    block('10.0.0.0/26', [0, null, 1, null]),
    block('10.0.0.64/26', [null, null]),
    block('10.0.0.128/26', [0, 0], true),
    block('10.9.0.0/26', [0]),
    block('fd00::40/122', [0, 0, 0]),
    block('nonsense', [0]),
  ];

  it('counts the live blocks inside each pool and their allocated addresses, nothing else', () => {
    const u = poolUsage(pools, blocks);
    expect(u.get('v4')).toEqual({ allocatedIPs: 2, allocatedBlocks: 2, totalIPs: 256n, totalBlocks: 4n });
    expect(u.get('v6')).toEqual({ allocatedIPs: 3, allocatedBlocks: 1, totalIPs: 256n, totalBlocks: 4n });
  });

  it('reads a block again when the cache replaces it (a new object), and the same answer while it does not', () => {
    expect(poolUsage(pools, blocks).get('v4')?.allocatedIPs).toBe(2);
    const updated = [...blocks];
    updated[1] = block('10.0.0.64/26', [null, 0]);
    expect(poolUsage(pools, updated).get('v4')).toEqual({
      allocatedIPs: 3,
      allocatedBlocks: 2,
      totalIPs: 256n,
      totalBlocks: 4n,
    });
    expect(poolUsage(pools, blocks).get('v4')?.allocatedIPs).toBe(2);
  });
});
