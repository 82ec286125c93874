// The chaos run's short size (`npm run chaos -- --short`), as CI runs it: every fault kind once, in overlapping
// waves, on a three-node cluster with pods pinging and churning; every invariant must hold. The full size is
// `npm run chaos` (not a test: it ran 21 min on this machine).
import { describe, expect, it } from 'vitest';
import { SHORT, runChaos } from './run-chaos.js';

describe('chaos run (short)', () => {
  it('holds every invariant through every fault kind', async () => {
    const report = await runChaos(SHORT, (line) => console.log(line));
    console.log(report.text);
    expect(report.figures.map((f) => [f.kind, f.count])).toEqual(report.figures.map((f) => [f.kind, SHORT.perKind]));
    expect(report.invariants.filter((i) => !i.held)).toEqual([]);
  });
});
