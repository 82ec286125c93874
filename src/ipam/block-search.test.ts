// Block choice (calico: findUsableBlock, randomBlockGenerator; randomblock_test.go checks coverage and uniqueness
// for v4/v6 and default/min/max block sizes, not specific values — and so do we).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatCidr } from '../net/index.js';
import {
  type BlockSummary,
  EMPTY_BLOCK_MIN_RECLAIM_AGE_MS,
  blockCandidates,
  findUsableBlocks,
  fnv32,
  startIndex,
} from './block-search.js';
import { seededRandom, testPool } from './test-fixtures.js';

describe('fnv32 (Go hash/fnv New32, FNV-1)', () => {
  it.each([
    { text: '', hash: 0x811c9dc5 },
    { text: 'a', hash: 0x050c5d7e },
    { text: 'foobar', hash: 0x31f0b262 },
  ])('$text', ({ text, hash }) => expect(fnv32(text)).toBe(hash));
});

describe('blockCandidates', () => {
  it.each([
    { name: 'v4 default /26 blocks of a /20', cidr: '10.0.0.0/20', blockSize: 26, count: 64 },
    { name: 'v4 /20 blocks of a /16 (largest)', cidr: '10.0.0.0/16', blockSize: 20, count: 16 },
    { name: 'v4 /32 blocks of a /26 (smallest)', cidr: '10.0.0.0/26', blockSize: 32, count: 64 },
    { name: 'v6 default /122 blocks of a /116', cidr: 'fd00::/116', blockSize: 122, count: 64 },
    { name: 'v6 /128 blocks of a /122', cidr: 'fd00::/122', blockSize: 128, count: 64 },
  ])('visits every block of $name exactly once', ({ cidr, blockSize, count }) => {
    const pool = testPool('p', cidr, { blockSize });
    const seen = [...blockCandidates(pool, 'host-1', seededRandom(3))].map(formatCidr);
    expect(seen).toHaveLength(count);
    expect(new Set(seen).size).toBe(count);
  });

  it('starts at a node-determined block and continues sequentially with wrap-around', () => {
    const pool = testPool('p', '10.0.0.0/24', { blockSize: 26 });
    const a = [...blockCandidates(pool, 'node-a', seededRandom(1))].map(formatCidr);
    const again = [...blockCandidates(pool, 'node-a', seededRandom(99))].map(formatCidr);
    expect(again).toEqual(a);
    const start = Number(startIndex(pool, 'node-a', seededRandom(1)));
    const all = ['10.0.0.0/26', '10.0.0.64/26', '10.0.0.128/26', '10.0.0.192/26'];
    expect(a).toEqual([...all.slice(start), ...all.slice(0, start)]);
  });

  it('spreads nodes over a large pool', () => {
    const pool = testPool('p', '10.0.0.0/8', { blockSize: 26 });
    const starts = new Set(Array.from({ length: 50 }, (_, i) => startIndex(pool, `node-${i}`, seededRandom(1))));
    expect(starts.size).toBeGreaterThan(45);
  });

  it('property: the start index is within the pool for any node name', () => {
    const pool = testPool('p', 'fd00::/48');
    fc.assert(
      fc.property(fc.string(), (name) => {
        const i = startIndex(pool, name, seededRandom(1));
        expect(i >= 0n && i < 1n << 74n).toBe(true);
      }),
    );
  });
});

describe('findUsableBlocks', () => {
  const pool = testPool('p', '10.0.0.0/25', { blockSize: 26 });
  const now = Date.UTC(2024, 0, 1);
  const blocks = (entries: [string, Partial<BlockSummary>][]) =>
    new Map(
      entries.map(([cidr, s]) => [
        cidr,
        { affinity: null, free: 64, empty: true, claimTime: 0, sequenceNumber: 7n, ...s } satisfies BlockSummary,
      ]),
    );

  it.each([
    { name: 'an unclaimed block first', existing: [] as [string, Partial<BlockSummary>][], kinds: ['unclaimed'] },
    {
      name: "the node's own block with space (another allocator of the node claimed it)",
      existing: [
        ['10.0.0.0/26', { affinity: 'host:n1', free: 3, empty: false }],
        ['10.0.0.64/26', { affinity: 'host:n1', free: 3, empty: false }],
      ] as [string, Partial<BlockSummary>][],
      kinds: ['affine'],
    },
    {
      name: "nothing when every block is someone else's and in use",
      existing: [
        ['10.0.0.0/26', { affinity: 'host:x', free: 3, empty: false }],
        ['10.0.0.64/26', { affinity: 'host:y', free: 0, empty: false }],
      ] as [string, Partial<BlockSummary>][],
      kinds: [],
    },
    {
      name: 'empty blocks of other nodes claimed long enough ago, to reclaim',
      existing: [
        ['10.0.0.0/26', { affinity: 'host:x', claimTime: now - EMPTY_BLOCK_MIN_RECLAIM_AGE_MS }],
        ['10.0.0.64/26', { affinity: 'host:y', claimTime: now - 1000 }],
      ] as [string, Partial<BlockSummary>][],
      kinds: ['reclaim'],
    },
  ])('$name', ({ existing, kinds }) => {
    const r = findUsableBlocks(blocks(existing), 'n1', [pool], now, seededRandom(1));
    expect(r.map((c) => c.kind)).toEqual(kinds);
    if (kinds[0] === 'reclaim') {
      expect(r[0]).toMatchObject({ owner: 'x', sequenceNumber: 7n });
      expect(formatCidr(r[0]!.cidr)).toBe('10.0.0.0/26');
    }
  });

  it('walks pools in the order given', () => {
    const full = testPool('full', '10.1.0.0/26', { blockSize: 26 });
    const r = findUsableBlocks(
      blocks([['10.1.0.0/26', { affinity: 'host:x', free: 0, empty: false }]]),
      'n1',
      [full, pool],
      now,
      seededRandom(1),
    );
    expect(r.map((c) => c.pool.name)).toEqual(['p']);
  });
});
