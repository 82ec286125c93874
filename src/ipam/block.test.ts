// Block operations, re-expressing libcalico-go/lib/ipam/ipam_block_test.go (empty/non-empty, free counts with
// reservations, IPs by handle, release with shared attributes, handle/sequence mismatches, release by handle,
// attribute compaction), plus a property test of invariants B1–B3 under random operation sequences.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  assignFromHead,
  assignOrdinal,
  blockShapeProblems,
  bumpSequence,
  cloneBlock,
  freeCount,
  handleCounts,
  inUseCount,
  isEmpty,
  newBlock,
  ordinalsOfHandle,
  releaseHandle,
  releaseOrdinals,
} from './block.js';
import { WINDOWS_RESERVED_HANDLE } from './model.js';

const fresh = (size = 8, seq = 100n) =>
  newBlock('10.0.0.0/29', size, { affinity: 'host:n1', affinityClaimTime: null, sequenceNumber: seq });

describe('new block', () => {
  it('lists every ordinal free in ascending order and holds nothing', () => {
    const b = fresh();
    expect(b.unallocated).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(b.allocations).toEqual(new Array(8).fill(null));
    expect(isEmpty(b)).toBe(true);
    expect(freeCount(b)).toBe(8);
    expect(blockShapeProblems(b, 8)).toEqual([]);
  });

  it('pre-allocates Windows-reserved ordinals (first 3, last 1) and still counts as empty', () => {
    const b = newBlock('10.0.0.0/29', 8, {
      affinity: 'host:win',
      affinityClaimTime: null,
      sequenceNumber: 1n,
      hostReserved: { start: 3, end: 1, note: 'windows host' },
    });
    expect(b.unallocated).toEqual([3, 4, 5, 6]);
    expect(b.allocations).toEqual([0, 0, 0, null, null, null, null, 0]);
    expect(b.attributes).toEqual([{ handle_id: WINDOWS_RESERVED_HANDLE, secondary: { note: 'windows host' } }]);
    expect(isEmpty(b)).toBe(true);
    expect(inUseCount(b)).toBe(0);
    assignFromHead(b, 1, 'pod', null);
    expect(isEmpty(b)).toBe(false);
  });
});

describe('assignment', () => {
  it.each([
    { name: 'from the head in order', num: 3, reserved: [] as number[], got: [0, 1, 2], left: [3, 4, 5, 6, 7] },
    {
      name: 'skipping reserved ordinals, which keep their place',
      num: 3,
      reserved: [0, 2],
      got: [1, 3, 4],
      left: [0, 2, 5, 6, 7],
    },
    {
      name: 'fewer than asked when the block runs out',
      num: 20,
      reserved: [],
      got: [0, 1, 2, 3, 4, 5, 6, 7],
      left: [],
    },
    { name: 'nothing for zero', num: 0, reserved: [], got: [], left: [0, 1, 2, 3, 4, 5, 6, 7] },
  ])('$name', ({ num, reserved, got, left }) => {
    const b = fresh();
    const r = new Set(reserved);
    expect(assignFromHead(b, num, 'h', { pod: 'p' }, (o) => r.has(o))).toEqual(got);
    expect(b.unallocated).toEqual(left);
    expect(freeCount(b, (o) => r.has(o))).toBe(left.filter((o) => !r.has(o)).length);
    for (const o of got) expect(b.sequenceNumberForAllocation[String(o)]).toBe(100n);
  });

  it('shares one attribute entry per identical (handle, attributes)', () => {
    const b = fresh();
    assignFromHead(b, 2, 'h1', { pod: 'a' });
    assignFromHead(b, 1, 'h1', { pod: 'a' });
    assignFromHead(b, 1, 'h2', { pod: 'b' });
    expect(b.attributes).toHaveLength(2);
    expect(b.allocations.slice(0, 4)).toEqual([0, 0, 0, 1]);
  });

  it('assigns a specific ordinal, taking it out of unallocated; a second time is refused', () => {
    const b = fresh();
    expect(assignOrdinal(b, 5, 'h', null)).toBe(true);
    expect(b.unallocated).toEqual([0, 1, 2, 3, 4, 6, 7]);
    expect(assignOrdinal(b, 5, 'other', null)).toBe(false);
    expect(() => assignOrdinal(b, 8, 'h', null)).toThrow(RangeError);
  });
});

describe('release', () => {
  it('returns ordinals to the tail, clears their sequence numbers, counts per handle', () => {
    const b = fresh();
    assignFromHead(b, 3, 'h1', null);
    assignFromHead(b, 1, 'h2', null);
    const r = releaseOrdinals(b, [{ ordinal: 1 }, { ordinal: 3 }, { ordinal: 1 }, { ordinal: 6 }]);
    expect(r).toEqual({
      ok: true,
      released: [1, 3],
      notAllocated: [6],
      countByHandle: new Map([
        ['h1', 1],
        ['h2', 1],
      ]),
    });
    expect(b.unallocated).toEqual([4, 5, 6, 7, 1, 3]);
    expect(b.sequenceNumberForAllocation).toEqual({ '0': 100n, '2': 100n });
    expect(b.attributes).toEqual([{ handle_id: 'h1', secondary: null }]);
  });

  it('compacts attributes and rewrites indices when the last reference goes', () => {
    const b = fresh();
    assignFromHead(b, 1, 'a', null);
    assignFromHead(b, 1, 'b', null);
    assignFromHead(b, 1, 'c', null);
    releaseOrdinals(b, [{ ordinal: 1 }]);
    expect(b.attributes.map((a) => a.handle_id)).toEqual(['a', 'c']);
    expect(b.allocations.slice(0, 3)).toEqual([0, null, 1]);
  });

  it.each([
    { name: 'stale sequence number', req: { ordinal: 0, sequenceNumber: 99n }, reason: 'badSequenceNumber' },
    { name: 'wrong handle', req: { ordinal: 0, handleId: 'other' }, reason: 'badHandle' },
  ])('refuses the whole request on a $name, changing nothing', ({ req, reason }) => {
    const b = fresh();
    assignFromHead(b, 2, 'h', null);
    const before = cloneBlock(b);
    const r = releaseOrdinals(b, [{ ordinal: 1 }, req]);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toBe(reason);
    expect(b).toEqual(before);
  });

  it('accepts a matching sequence number and a matching handle', () => {
    const b = fresh();
    assignFromHead(b, 1, 'h', null);
    expect(releaseOrdinals(b, [{ ordinal: 0, sequenceNumber: 100n, handleId: 'h' }]).ok).toBe(true);
  });

  it('releases by handle, optionally only allocations made at a sequence number', () => {
    const b = fresh();
    assignFromHead(b, 2, 'h', null);
    bumpSequence(b);
    assignFromHead(b, 2, 'h', null);
    assignFromHead(b, 1, 'x', null);
    expect(ordinalsOfHandle(b, 'h')).toEqual([0, 1, 2, 3]);
    expect(releaseHandle(b, 'h', 101n)).toEqual([2, 3]);
    expect(releaseHandle(b, 'h')).toEqual([0, 1]);
    expect(handleCounts(b)).toEqual(new Map([['x', 1]]));
    expect(releaseHandle(b, 'missing')).toEqual([]);
  });

  it('sanitises handles cut at a carriage return (host-local migration data)', () => {
    const b = fresh();
    assignFromHead(b, 1, 'k8s-pod-network.abc\r\neth0', null);
    expect(ordinalsOfHandle(b, 'k8s-pod-network.abc')).toEqual([0]);
  });
});

describe('blockShapeProblems', () => {
  it.each([
    {
      name: 'an ordinal listed twice',
      mutate: (b: ReturnType<typeof fresh>) => b.unallocated.push(3),
      expect: 'unallocated lists ordinal 3 twice',
    },
    {
      name: 'an ordinal both allocated and free',
      mutate: (b: ReturnType<typeof fresh>) => {
        b.allocations[2] = 0;
        b.attributes.push({ handle_id: 'h', secondary: null });
      },
      expect: 'ordinal 2 is both allocated and in unallocated',
    },
    {
      name: 'an ordinal lost',
      mutate: (b: ReturnType<typeof fresh>) => b.unallocated.splice(0, 1),
      expect: 'ordinal 0 is neither allocated nor in unallocated',
    },
    {
      name: 'a dangling attribute index',
      mutate: (b: ReturnType<typeof fresh>) => {
        b.unallocated.splice(b.unallocated.indexOf(4), 1);
        b.allocations[4] = 9;
      },
      expect: 'ordinal 4 points at attribute 9, which does not exist',
    },
    {
      name: 'the wrong length',
      mutate: (b: ReturnType<typeof fresh>) => {
        b.allocations.push(null);
        b.unallocated.push(8);
      },
      expect: 'allocations has 9 entries, the CIDR holds 8 addresses',
    },
  ])('finds $name', ({ mutate, expect: message }) => {
    const b = fresh();
    mutate(b);
    expect(blockShapeProblems(b, 8)).toContain(message);
  });
});

describe('property: random operation sequences keep B1–B3', () => {
  type Op =
    | { kind: 'auto'; n: number; h: number }
    | { kind: 'one'; o: number; h: number }
    | { kind: 'rel'; o: number }
    | { kind: 'relh'; h: number };
  const opArb: fc.Arbitrary<Op> = fc.oneof(
    fc.record({
      kind: fc.constant('auto' as const),
      n: fc.integer({ min: 0, max: 5 }),
      h: fc.integer({ min: 0, max: 3 }),
    }),
    fc.record({
      kind: fc.constant('one' as const),
      o: fc.integer({ min: 0, max: 15 }),
      h: fc.integer({ min: 0, max: 3 }),
    }),
    fc.record({ kind: fc.constant('rel' as const), o: fc.integer({ min: 0, max: 15 }) }),
    fc.record({ kind: fc.constant('relh' as const), h: fc.integer({ min: 0, max: 3 }) }),
  );

  it('every ordinal is in exactly one place, attributes are referenced, model agrees', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 60 }), (ops) => {
        const b = newBlock('10.0.0.0/28', 16, { affinity: null, affinityClaimTime: null, sequenceNumber: 0n });
        const model = new Map<number, string>(); // ordinal → handle
        for (const op of ops) {
          bumpSequence(b);
          if (op.kind === 'auto') {
            const got = assignFromHead(b, op.n, `h${op.h}`, null);
            for (const o of got) {
              expect(model.has(o)).toBe(false);
              model.set(o, `h${op.h}`);
            }
            expect(got.length).toBe(Math.min(op.n, 16 - model.size + got.length));
          } else if (op.kind === 'one') {
            const ok = assignOrdinal(b, op.o, `h${op.h}`, null);
            expect(ok).toBe(!model.has(op.o));
            if (ok) model.set(op.o, `h${op.h}`);
          } else if (op.kind === 'rel') {
            const r = releaseOrdinals(b, [{ ordinal: op.o }]);
            expect(r.ok && r.released.length === 1).toBe(model.has(op.o));
            model.delete(op.o);
          } else {
            const got = releaseHandle(b, `h${op.h}`);
            const want = [...model].filter(([, h]) => h === `h${op.h}`).map(([o]) => o);
            expect(got.sort((x, y) => x - y)).toEqual(want.sort((x, y) => x - y));
            for (const o of got) model.delete(o);
          }
          expect(blockShapeProblems(b, 16)).toEqual([]);
          expect(freeCount(b)).toBe(16 - model.size);
          const refs = new Set(b.allocations.filter((x): x is number => x !== null));
          expect(refs.size).toBe(b.attributes.length);
          expect(
            Object.keys(b.sequenceNumberForAllocation)
              .map(Number)
              .sort((x, y) => x - y),
          ).toEqual([...model.keys()].sort((x, y) => x - y));
        }
      }),
      { numRuns: 300 },
    );
  });
});
