import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { emptyGcMemory, type GcMemory } from './gc.js';
import { decodeGcMemory, encodeGcMemory } from './gc-memory-codec.js';

const memory = (leaks: Record<string, number>, empty: Record<string, [number, bigint]> = {}): GcMemory => ({
  ...emptyGcMemory(),
  leakCandidates: new Map(Object.entries(leaks)),
  emptyBlocks: new Map(Object.entries(empty).map(([k, [since, seq]]) => [k, { since, sequenceNumber: seq }])),
});

describe("IPAM GC's first-seen times handed to the next leader", () => {
  it('writes nothing for an empty memory and reads nothing back as empty', () => {
    expect(encodeGcMemory(emptyGcMemory())).toBe('');
    expect(decodeGcMemory('')).toEqual({ memory: emptyGcMemory() });
    expect(decodeGcMemory(undefined)).toEqual({ memory: emptyGcMemory() });
  });

  it('is exact JSON a person can read on the Lease', () => {
    expect(encodeGcMemory(memory({ '10.0.0.0/26|3|7': 1_700_000_000_000 }, { '10.0.0.64/26': [5, 12n] }))).toBe(
      '{"v":1,"leaks":{"10.0.0.0/26|3|7":1700000000000},"empty":{"10.0.0.64/26":[5,"12"]},"overcounts":{},"transitions":{}}',
    );
  });

  it('reads back what it wrote, every kind of entry, sequence numbers beyond 2^53 included', () => {
    // Keys as GC makes them: block CIDRs, `block|ordinal|seq`, object names.
    const key = fc.stringMatching(/^[a-z0-9.|/:-]{1,40}$/);
    const times = fc.dictionary(key, fc.nat(), { maxKeys: 20 });
    fc.assert(
      fc.property(
        times,
        fc.dictionary(
          fc.string({ minLength: 1, maxLength: 20 }),
          fc.tuple(fc.nat(), fc.bigInt({ min: 0n, max: 2n ** 64n })),
          {
            maxKeys: 20,
          },
        ),
        times,
        times,
        (leaks, empty, overcounts, transitions) => {
          const m: GcMemory = {
            leakCandidates: new Map(Object.entries(leaks)),
            emptyBlocks: new Map(Object.entries(empty).map(([k, [since, s]]) => [k, { since, sequenceNumber: s }])),
            handleOvercounts: new Map(Object.entries(overcounts)),
            transitions: new Map(Object.entries(transitions)),
          };
          const back = decodeGcMemory(encodeGcMemory(m, 1000));
          expect(back.error).toBeUndefined();
          expect(back.memory).toEqual(m);
        },
      ),
    );
  });

  it('keeps at most the given number of entries, the oldest (closest to their release)', () => {
    const m = memory({ a: 30, b: 10, c: 20 }, { d: [5, 1n] });
    expect(decodeGcMemory(encodeGcMemory(m, 2)).memory).toEqual(memory({ b: 10 }, { d: [5, 1n] }));
  });

  it('refuses text that is not what it writes, naming why, and starts from nothing', () => {
    const bad = [
      ['{', /not JSON/],
      ['{"v":2,"leaks":{},"empty":{},"overcounts":{},"transitions":{}}', /v/],
      ['{"v":1,"leaks":{"k":-1},"empty":{},"overcounts":{},"transitions":{}}', /leaks/],
      ['{"v":1,"leaks":{},"empty":{"b":[1,"x"]},"overcounts":{},"transitions":{}}', /empty/],
      ['{"v":1,"leaks":{}}', /empty/],
    ] as const;
    for (const [text, why] of bad) {
      const r = decodeGcMemory(text);
      expect(r.memory).toEqual(emptyGcMemory());
      expect(r.error).toMatch(why);
    }
  });
});
