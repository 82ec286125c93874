// `tabby ipam split`: expected values from Calico's system test (calicoctl/tests/st/calicoctl/test_ipam_split.py and
// its data: ippool-name1 10.0.1.0/24 with blockSize 27 split into 4 → split-ippool-name1-0..3, 10.0.1.0/26,
// 10.0.1.64/26, 10.0.1.128/26, 10.0.1.192/26; 3 and 512 refused) and hand derivation.
import { describe, expect, it } from 'vitest';
import { assignFromHead, newBlock } from './block.js';
import { SplitError, planPoolSplit, splitCidr, splitPoolName } from './pool-split.js';

const ippoolName1 = { metadata: { name: 'ippool-name1' }, spec: { cidr: '10.0.1.0/24', blockSize: 27 } };
const block = (cidr: string, used: number) => {
  const b = newBlock(cidr, 32, { affinity: 'host:n1', affinityClaimTime: null, sequenceNumber: 1n });
  assignFromHead(b, used, 'h', null);
  return b;
};

describe('splitCidr (calico: splitCIDR)', () => {
  it('10.0.1.0/24 into 4: four /26 in address order', () => {
    expect(splitCidr('10.0.1.0/24', 4)).toEqual(['10.0.1.0/26', '10.0.1.64/26', '10.0.1.128/26', '10.0.1.192/26']);
  });

  it("172.0.0.0/8 into 2 (Calico's documented example)", () => {
    expect(splitCidr('172.0.0.0/8', 2)).toEqual(['172.0.0.0/9', '172.128.0.0/9']);
  });

  it('IPv6: fd00::/120 into 2', () => {
    expect(splitCidr('fd00::/120', 2)).toEqual(['fd00::/121', 'fd00::80/121']);
  });

  it.each([3, 1, 0, -4, 6])('%i parts: not a power of 2', (n) => {
    expect(() => splitCidr('10.0.1.0/24', n)).toThrow(`number to split CIDR into is not a valid power of 2: ${n}`);
  });

  it('512 parts of a /24: not large enough', () => {
    expect(() => splitCidr('10.0.1.0/24', 512)).toThrow(
      'the CIDR 10.0.1.0/24 is not large enough to be split into 512 parts',
    );
  });

  it('256 parts of a /24: 256 single addresses (as far as Calico goes)', () => {
    const out = splitCidr('10.0.1.0/24', 256);
    expect(out).toHaveLength(256);
    expect(out[255]).toBe('10.0.1.255/32');
  });
});

describe('planPoolSplit', () => {
  it("Calico's st: ippool-name1 into 4 parts", () => {
    expect(planPoolSplit(ippoolName1, [], 4)).toEqual({
      pool: 'ippool-name1',
      cidr: '10.0.1.0/24',
      children: [
        { name: 'split-ippool-name1-0', cidr: '10.0.1.0/26' },
        { name: 'split-ippool-name1-1', cidr: '10.0.1.64/26' },
        { name: 'split-ippool-name1-2', cidr: '10.0.1.128/26' },
        { name: 'split-ippool-name1-3', cidr: '10.0.1.192/26' },
      ],
      emptyBlocks: 0,
    });
  });

  it('parts smaller than a block are refused: /27 blocks allow at most 8 parts of a /24', () => {
    expect(planPoolSplit(ippoolName1, [], 8).children.map((c) => c.cidr)[7]).toBe('10.0.1.224/27');
    expect(() => planPoolSplit(ippoolName1, [], 16)).toThrow(
      'IP pool ippool-name1 has blocks of /27: a /28 part could not hold one (split into at most 8 parts)',
    );
  });

  it('the default block size of the family applies when the pool has none (/26, /122)', () => {
    const v4 = { metadata: { name: 'd' }, spec: { cidr: '10.0.0.0/24' } };
    expect(() => planPoolSplit(v4, [], 8)).toThrow(/blocks of \/26: a \/27 part.*at most 4 parts/);
    const v6 = { metadata: { name: 'd6' }, spec: { cidr: 'fd00::/120' } };
    expect(() => planPoolSplit(v6, [], 8)).toThrow(/blocks of \/122: a \/123 part.*at most 4 parts/);
  });

  it('a pool holding allocated addresses is refused, naming how many and where', () => {
    const blocks = [block('10.0.1.0/27', 0), block('10.0.1.32/27', 3), block('10.0.2.0/27', 5)];
    expect(() => planPoolSplit(ippoolName1, blocks, 4)).toThrow(
      'IP pool ippool-name1 has 3 allocated addresses in 1 block (10.0.1.32/27)',
    );
    expect(() => planPoolSplit(ippoolName1, blocks, 4)).toThrow(SplitError);
  });

  it('empty blocks do not stop a split; they are counted', () => {
    const blocks = [block('10.0.1.0/27', 0), block('10.0.2.0/27', 5)];
    expect(planPoolSplit(ippoolName1, blocks, 2).emptyBlocks).toBe(1);
  });

  it("a child's name is cut so it stays within 253 characters (Calico keeps 245 of the pool's)", () => {
    const long = 'a'.repeat(250);
    expect(splitPoolName(long, 3)).toBe(`split-${'a'.repeat(245)}-3`);
    expect(splitPoolName('p', 0)).toBe('split-p-0');
  });
});
