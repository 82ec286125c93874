import { describe, expect, it } from 'vitest';
import type { IPAMBlock } from '../../src/api/index.js';
import { blockProblems } from './monitors.js';

/** A /30 block: `allocated` ordinals point at attribute 0, `free` are listed unallocated. */
function block(cidr: string, allocated: number[], free: number[], deleted = false): IPAMBlock {
  return {
    apiVersion: 'crd.projectcalico.org/v1',
    kind: 'IPAMBlock',
    metadata: { name: cidr.replace(/[./]/g, '-') },
    spec: {
      cidr,
      allocations: [0, 1, 2, 3].map((o) => (allocated.includes(o) ? 0 : null)),
      unallocated: free,
      attributes: [{ handle_id: 'h', secondary: null }],
      ...(deleted ? { deleted: true } : {}),
    },
  } as unknown as IPAMBlock;
}

describe('blockProblems', () => {
  it('finds no problem in a consistent block', () => {
    expect(blockProblems(block('10.0.0.0/30', [0, 1], [2, 3]), [])).toEqual([]);
  });

  it('finds an ordinal both allocated and free, and one free twice', () => {
    expect(blockProblems(block('10.0.0.0/30', [0, 1], [1, 2, 3, 3]), [])).toEqual([
      '10.0.0.0/30: ordinal 1 both allocated and free',
      '10.0.0.0/30: ordinal 3 free twice',
    ]);
  });

  it('finds two live overlapping blocks that both allocate, not a deleted or empty one', () => {
    const a = block('10.0.0.0/30', [0], [1, 2, 3]);
    const b = block('10.0.0.0/29', [0], [1, 2, 3]);
    expect(blockProblems(a, [a, b])).toEqual([
      'blocks 10.0.0.0/30 and 10.0.0.0/29 overlap and both allocate addresses',
    ]);
    expect(blockProblems(a, [a, block('10.0.0.0/29', [0], [], true)])).toEqual([]);
    expect(blockProblems(a, [a, block('10.0.0.0/29', [], [0, 1, 2, 3])])).toEqual([]);
    expect(blockProblems(a, [a, block('10.0.0.4/30', [0], [1, 2, 3])])).toEqual([]);
  });
});
