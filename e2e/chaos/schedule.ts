// The chaos run's schedule, pure: every fault kind repeated `perKind` times, in a seeded random order, grouped into
// waves of overlapping faults. A wave starts its faults at random offsets inside one window, so they overlap; the
// run waits for the cluster to recover and checks the invariants after every wave. Same seed, same schedule.
//
// Rules: a wave holds at most one fault of a kind (two etcd kills at once are one kill) and at most `maxPerWave`
// faults; faults aimed at a node aim at different nodes; a wave leaves at least two nodes untouched by node faults,
// so pods keep someone to ping. A wave with a network cut starts with the cut and starts its other faults while the
// node is cut (the cut lasts 30 s: a wave that began it late would last longer for nothing).
//
// Every wave is followed by a recovery wait and the checks, so the run's length goes with the number of waves: the
// schedule has the fewest waves these rules allow (wavesNeeded), and which kinds share a wave is drawn at random.

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

/** Most node faults in one wave. */
function nodeCap(o: Pick<ScheduleOptions, 'nodes' | 'maxPerWave'>): number {
  return Math.min(o.nodes.length - 2, o.maxPerWave);
}

/**
 * The fewest waves the rules allow: each kind needs `perKind` waves of its own, the node faults at most nodeCap per
 * wave, all faults at most `maxPerWave` per wave. (They are also enough: with L waves left, the faults left fit when
 * no kind has more than L left, the node faults no more than nodeCap·L and all no more than maxPerWave·L — a flow
 * argument over kinds and waves — and each wave is drawn so that this stays true for the waves after it.)
 */
export function wavesNeeded(o: Pick<ScheduleOptions, 'kinds' | 'perKind' | 'nodes' | 'maxPerWave'>): number {
  const kinds = new Set(o.kinds);
  const nodeKinds = [...kinds].filter((k) => NODE_FAULTS.has(k)).length;
  if (o.perKind <= 0 || kinds.size === 0) return 0;
  return Math.max(
    o.perKind,
    nodeKinds === 0 ? 0 : Math.ceil((nodeKinds * o.perKind) / nodeCap(o)),
    Math.ceil((kinds.size * o.perKind) / o.maxPerWave),
  );
}

export function planWaves(o: ScheduleOptions): Wave[] {
  if (o.maxPerWave < 1) throw new Error('maxPerWave must be at least 1');
  const left = new Map([...new Set(o.kinds)].map((k) => [k, o.perKind]));
  if ([...left.keys()].some((k) => NODE_FAULTS.has(k)) && o.nodes.length < 3)
    throw new Error(`node faults need at least 3 nodes (got ${o.nodes.length})`);
  const count = wavesNeeded(o);
  const cap = nodeCap(o);
  const sum = (node: boolean): number => [...left].reduce((n, [k, r]) => (NODE_FAULTS.has(k) === node ? n + r : n), 0);
  const waves: Wave[] = [];
  while (sum(true) + sum(false) > 0) {
    const wavesLeft = count - waves.length;
    const open = shuffle(
      [...left].filter(([, r]) => r > 0).map(([k]) => k),
      o.random,
    );
    // A kind with as many faults left as waves must be in this one; and so many must go now that the rest fits.
    const forced = open.filter((k) => left.get(k) === wavesLeft);
    const needNode = sum(true) - cap * (wavesLeft - 1);
    const needAll = sum(true) + sum(false) - o.maxPerWave * (wavesLeft - 1);
    const nodeOpen = open.filter((k) => NODE_FAULTS.has(k));
    const otherOpen = open.filter((k) => !NODE_FAULTS.has(k));
    const nodeLo = Math.max(needNode, forced.filter((k) => NODE_FAULTS.has(k)).length);
    const nodeHi = Math.min(cap, nodeOpen.length);
    const otherLo = forced.length - forced.filter((k) => NODE_FAULTS.has(k)).length;
    const otherHi = otherOpen.length;
    const hi = Math.min(o.maxPerWave, nodeHi + otherHi);
    // Overlap: two faults or more whenever two are open.
    const lo = Math.max(needAll, Math.min(2, hi));
    if (nodeLo > nodeHi || otherLo > otherHi || nodeLo + otherLo > o.maxPerWave || lo > hi)
      throw new Error(`wave ${waves.length + 1}: the faults left do not fit`);
    // Node faults and the others each spread evenly over the waves left (a random rounding of the even share), so
    // that no wave is left with node faults alone at the end; then within what the wave must and may hold.
    const share = (n: number, min: number, max: number): number => {
      const even = n / wavesLeft;
      const drawn = Math.floor(even) + (o.random() < even - Math.floor(even) ? 1 : 0);
      return Math.min(max, Math.max(min, drawn));
    };
    let nodeCount = share(sum(true), nodeLo, nodeHi);
    let otherCount = share(sum(false), otherLo, otherHi);
    while (nodeCount + otherCount > o.maxPerWave) {
      if (otherCount > otherLo && (nodeCount === nodeLo || o.random() < 0.5)) otherCount--;
      else nodeCount--;
    }
    while (nodeCount + otherCount < lo) {
      if (otherCount < otherHi && (nodeCount === nodeHi || o.random() < 0.5)) otherCount++;
      else nodeCount++;
    }
    // Forced kinds first, then the open ones in their shuffled order.
    const pick = (from: FaultKind[], n: number): FaultKind[] =>
      [...from.filter((k) => forced.includes(k)), ...from.filter((k) => !forced.includes(k))].slice(0, n);
    const kinds = shuffle([...pick(nodeOpen, nodeCount), ...pick(otherOpen, otherCount)], o.random);
    for (const k of kinds) left.set(k, left.get(k)! - 1);

    const free = shuffle([...o.nodes], o.random);
    const cut = kinds.includes('network-cut');
    if (cut) kinds.unshift(...kinds.splice(kinds.indexOf('network-cut'), 1));
    const window = cut ? o.cutWindowMs : o.windowMs;
    const faults = kinds.map((kind, i): PlannedFault => {
      const offsetMs = i === 0 ? 0 : Math.round(o.random() * window);
      return NODE_FAULTS.has(kind) ? { kind, node: free.pop()!, offsetMs } : { kind, offsetMs };
    });
    // Stable: the first fault (the cut, in a wave with one) stays first when another also draws offset 0.
    faults.sort((a, b) => a.offsetMs - b.offsetMs);
    waves.push({ index: waves.length, faults });
  }
  return waves;
}
