import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../src/ipam/block-search.js';
import { FAULT_KINDS, NODE_FAULTS, planWaves, wavesNeeded, type ScheduleOptions } from './schedule.js';

const nodes = (n: number): string[] => Array.from({ length: n }, (_, i) => `n${i + 1}`);

function options(seed: number, o: Partial<ScheduleOptions> = {}): ScheduleOptions {
  const next = mulberry32(seed);
  return {
    kinds: FAULT_KINDS,
    perKind: 20,
    nodes: nodes(4),
    maxPerWave: 4,
    windowMs: 5_000,
    cutWindowMs: 25_000,
    random: () => next() / 0x100000000,
    ...o,
  };
}

describe('planWaves', () => {
  it('holds every fault kind perKind times, by the rules of a wave, in the fewest waves they allow, for any seed', () => {
    fc.assert(
      fc.property(
        fc.integer(),
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 3, max: 7 }),
        fc.subarray([...FAULT_KINDS], { minLength: 1 }),
        (seed, max, per, n, kinds) => {
          const names = nodes(n);
          const o = options(seed, { maxPerWave: max, perKind: per, nodes: names, kinds });
          const waves = planWaves(o);
          const all = waves.flatMap((w) => w.faults);
          for (const k of FAULT_KINDS)
            expect(all.filter((f) => f.kind === k)).toHaveLength(kinds.includes(k) ? per : 0);
          // The lower bound, by hand: a kind at most once a wave; at most n-2 node faults and `max` faults a wave.
          const nodeKinds = kinds.filter((k) => NODE_FAULTS.has(k)).length;
          const perWaveNode = Math.min(n - 2, max);
          const bound = Math.max(
            per,
            Math.ceil((nodeKinds * per) / perWaveNode),
            Math.ceil((kinds.length * per) / max),
          );
          expect(waves).toHaveLength(bound);
          waves.forEach((w, i) => {
            expect(w.index).toBe(i);
            expect(w.faults.length).toBeGreaterThanOrEqual(1);
            expect(w.faults.length).toBeLessThanOrEqual(max);
            const kindsOf = w.faults.map((f) => f.kind);
            expect(new Set(kindsOf).size).toBe(kindsOf.length);
            const targets = w.faults.filter((f) => NODE_FAULTS.has(f.kind)).map((f) => f.node!);
            expect(new Set(targets).size).toBe(targets.length);
            expect(targets.length).toBeLessThanOrEqual(n - 2);
            for (const t of targets) expect(names).toContain(t);
            for (const f of w.faults.filter((x) => !NODE_FAULTS.has(x.kind))) expect(f.node).toBeUndefined();
            const cut = kindsOf.includes('network-cut');
            if (cut) expect(w.faults[0]!.kind).toBe('network-cut');
            expect(w.faults[0]!.offsetMs).toBe(0);
            // Planned offsets, not time taken: each fault starts inside its wave's window.
            for (const f of w.faults) expect(f.offsetMs).toBeLessThanOrEqual(cut ? o.cutWindowMs : o.windowMs);
            const offsets = w.faults.map((f) => f.offsetMs);
            expect(offsets).toEqual([...offsets].sort((a, b) => a - b));
          });
        },
      ),
      { numRuns: 300 },
    );
  });

  it('plans the full run in 27 waves and the short one in 4, two faults or more in each', () => {
    // Full: 5 nodes leave 3 to node faults; 4 node kinds × 20 = 80 node faults need ceil(80 / 3) = 27 waves
    // (20 for one fault of a kind per wave, ceil(160 / 6) = 27 for six a wave). Short: 3 nodes leave 1, so the
    // 4 node faults need 4 waves, the 4 others go along with them.
    const full = planWaves(options(19, { nodes: nodes(5), maxPerWave: 6 }));
    expect(full).toHaveLength(27);
    expect(full.flatMap((w) => w.faults)).toHaveLength(160);
    const short = planWaves(options(19, { nodes: nodes(3), perKind: 1 }));
    expect(short).toHaveLength(4);
    for (const w of [...full, ...short]) expect(w.faults.length).toBeGreaterThanOrEqual(2);
    expect(wavesNeeded({ kinds: FAULT_KINDS, perKind: 20, nodes: nodes(5), maxPerWave: 6 })).toBe(27);
    expect(wavesNeeded({ kinds: FAULT_KINDS, perKind: 20, nodes: nodes(4), maxPerWave: 4 })).toBe(40);
    expect(wavesNeeded({ kinds: ['etcd', 'apiserver'], perKind: 20, nodes: nodes(3), maxPerWave: 1 })).toBe(40);
  });

  it('gives the same schedule for the same seed', () => {
    expect(planWaves(options(7))).toEqual(planWaves(options(7)));
    expect(planWaves(options(7))).not.toEqual(planWaves(options(8)));
  });

  it('refuses node faults with fewer than three nodes, and waves of no fault', () => {
    expect(() => planWaves(options(1, { nodes: ['a', 'b'] }))).toThrow('node faults need at least 3 nodes (got 2)');
    expect(() => planWaves(options(1, { maxPerWave: 0 }))).toThrow('maxPerWave must be at least 1');
  });
});
