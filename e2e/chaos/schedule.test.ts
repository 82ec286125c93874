import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../src/ipam/block-search.js';
import { FAULT_KINDS, NODE_FAULTS, planWaves, type ScheduleOptions } from './schedule.js';

const NODES = ['n1', 'n2', 'n3', 'n4'];

function options(seed: number, o: Partial<ScheduleOptions> = {}): ScheduleOptions {
  const next = mulberry32(seed);
  return {
    kinds: FAULT_KINDS,
    perKind: 20,
    nodes: NODES,
    maxPerWave: 4,
    windowMs: 5_000,
    cutWindowMs: 25_000,
    random: () => next() / 0x100000000,
    ...o,
  };
}

describe('planWaves', () => {
  it('holds every fault kind perKind times, by the rules of a wave, for any seed', () => {
    fc.assert(
      fc.property(fc.integer(), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 5 }), (seed, max, per) => {
        const waves = planWaves(options(seed, { maxPerWave: max, perKind: per }));
        const all = waves.flatMap((w) => w.faults);
        for (const k of FAULT_KINDS) expect(all.filter((f) => f.kind === k)).toHaveLength(per);
        waves.forEach((w, i) => {
          expect(w.index).toBe(i);
          expect(w.faults.length).toBeGreaterThanOrEqual(1);
          expect(w.faults.length).toBeLessThanOrEqual(max);
          const kinds = w.faults.map((f) => f.kind);
          expect(new Set(kinds).size).toBe(kinds.length);
          const targets = w.faults.filter((f) => NODE_FAULTS.has(f.kind)).map((f) => f.node!);
          expect(new Set(targets).size).toBe(targets.length);
          expect(targets.length).toBeLessThanOrEqual(NODES.length - 2);
          for (const t of targets) expect(NODES).toContain(t);
          for (const f of w.faults.filter((x) => !NODE_FAULTS.has(x.kind))) expect(f.node).toBeUndefined();
          const window = kinds.includes('network-cut') ? 25_000 : 5_000;
          expect(w.faults[0]!.offsetMs).toBe(0);
          for (const f of w.faults) expect(f.offsetMs).toBeLessThanOrEqual(window);
          const offsets = w.faults.map((f) => f.offsetMs);
          expect(offsets).toEqual([...offsets].sort((a, b) => a - b));
        });
      }),
      { numRuns: 200 },
    );
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
