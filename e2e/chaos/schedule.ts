// The chaos run's schedule, pure: every fault kind repeated `perKind` times, in a seeded random order, grouped into
// waves of overlapping faults. A wave starts its faults at random offsets inside one window, so they overlap; the
// run waits for the cluster to recover and checks the invariants after every wave. Same seed, same schedule.
//
// Rules: a wave holds at most one fault of a kind (two etcd kills at once are one kill); faults aimed at a node aim
// at different nodes; a wave leaves at least two nodes untouched by node faults, so pods keep someone to ping.

export const FAULT_KINDS = [
  'operator-leader',
  'agent',
  'bird',
  'etcd',
  'apiserver',
  'network-cut',
  'watch-expiry',
  'node-delete',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** Faults that hit one node. */
export const NODE_FAULTS: ReadonlySet<FaultKind> = new Set(['agent', 'bird', 'network-cut', 'node-delete']);

export interface PlannedFault {
  kind: FaultKind;
  /** The node a node fault hits. */
  node?: string;
  /** When it starts, after the wave's start. */
  offsetMs: number;
}

export interface Wave {
  index: number;
  faults: PlannedFault[];
}

export interface ScheduleOptions {
  kinds: readonly FaultKind[];
  perKind: number;
  nodes: readonly string[];
  /** Most faults in one wave (at least 1). */
  maxPerWave: number;
  /** Offsets are drawn from [0, windowMs]; a wave with a network cut draws from [0, cutWindowMs]. */
  windowMs: number;
  cutWindowMs: number;
  random: () => number;
}

function shuffle<T>(xs: T[], random: () => number): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [xs[i], xs[j]] = [xs[j]!, xs[i]!];
  }
  return xs;
}

export function planWaves(o: ScheduleOptions): Wave[] {
  if (o.maxPerWave < 1) throw new Error('maxPerWave must be at least 1');
  const nodeBudget = o.nodes.length - 2;
  if (o.kinds.some((k) => NODE_FAULTS.has(k)) && nodeBudget < 1)
    throw new Error(`node faults need at least 3 nodes (got ${o.nodes.length})`);
  const bag = shuffle(
    o.kinds.flatMap((k) => Array.from({ length: o.perKind }, () => k)),
    o.random,
  );
  const waves: Wave[] = [];
  while (bag.length > 0) {
    const size = 1 + Math.floor(o.random() * o.maxPerWave);
    const kinds: FaultKind[] = [];
    let nodeFaults = 0;
    for (let i = 0; i < bag.length && kinds.length < size;) {
      const k = bag[i]!;
      const isNode = NODE_FAULTS.has(k);
      if (kinds.includes(k) || (isNode && nodeFaults >= nodeBudget)) {
        i++;
        continue;
      }
      kinds.push(k);
      if (isNode) nodeFaults++;
      bag.splice(i, 1);
    }
    const free = shuffle([...o.nodes], o.random);
    const window = kinds.includes('network-cut') ? o.cutWindowMs : o.windowMs;
    const faults = kinds.map((kind, i): PlannedFault => {
      const offsetMs = i === 0 ? 0 : Math.round(o.random() * window);
      return NODE_FAULTS.has(kind) ? { kind, node: free.pop()!, offsetMs } : { kind, offsetMs };
    });
    faults.sort((a, b) => a.offsetMs - b.offsetMs);
    waves.push({ index: waves.length, faults });
  }
  return waves;
}
