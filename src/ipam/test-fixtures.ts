// Builders shared by src/ipam tests and bench/ipam.bench.ts: pools from IPPool-shaped specs, a static IpamView, a
// deterministic clock and random source. Not used by production code.
import { AddressAssigner } from './address-assigner.js';
import type { IpAllocator, IpamView } from './allocator.js';
import { BlockClaimer } from './block-claimer.js';
import { mulberry32 } from './block-search.js';
import { CalicoStyleAllocator } from './calico-style-allocator.js';
import { InMemoryBlockStore } from './in-memory-block-store.js';
import { DEFAULT_IPAM_CONFIG, type IpamConfig, type NodeInfo } from './model.js';
import { type IPPoolLike, type IpamPool, ipamPoolFrom } from './pools.js';
import { Reservations } from './reservations.js';

export function testPool(
  name: string,
  cidr: string,
  spec: Partial<IPPoolLike['spec']> = {},
  deleting = false,
): IpamPool {
  return ipamPoolFrom({
    metadata: deleting ? { name, deletionTimestamp: '2024-01-01T00:00:00Z' } : { name },
    spec: { cidr, ...spec },
  });
}

export class StaticView implements IpamView {
  constructor(
    public poolList: IpamPool[],
    public nodeList: NodeInfo[],
    public ipamConfig: IpamConfig = DEFAULT_IPAM_CONFIG,
  ) {}

  pools(): readonly IpamPool[] {
    return this.poolList;
  }

  config(): IpamConfig {
    return this.ipamConfig;
  }

  node(name: string): NodeInfo | undefined {
    return this.nodeList.find((n) => n.name === name);
  }

  /** IPReservations; tests replace it to reserve addresses. */
  reservationList: Reservations = Reservations.none;

  reservations(): Reservations {
    return this.reservationList;
  }
}

export function nodes(...names: string[]): NodeInfo[] {
  return names.map((name) => ({ name, labels: {} }));
}

/** A clock that moves only when told. */
export class ManualClock {
  constructor(public ms = Date.UTC(2024, 0, 1)) {}
  now = (): number => this.ms;
  advance(ms: number): void {
    this.ms += ms;
  }
}

/** Deterministic uniform [0, 1) source (mulberry32). */
export function seededRandom(seed: number): () => number {
  const next = mulberry32(seed);
  return () => next() / 0x100000000;
}

export type AllocatorMode = 'calico' | 'split';

export interface Harness {
  mode: AllocatorMode;
  store: InMemoryBlockStore;
  view: StaticView;
  clock: ManualClock;
  claimer: BlockClaimer;
  /** The operator's Calico-style allocator (tunnel addresses; every node's allocator in `calico` mode). */
  operatorAllocator: IpAllocator;
  /** The allocator serving `node`: Calico-style (shared) or that node's agent. */
  allocator(node: string): IpAllocator;
  agents: Map<string, AddressAssigner>;
}

/**
 * Wires a store, a view, a clock and either allocation mode: `calico` — one CalicoStyleAllocator used for every
 * node; `split` — one BlockClaimer (operator) and one AddressAssigner per node (agents).
 */
export function harness(
  mode: AllocatorMode,
  opts: {
    pools: IpamPool[];
    nodes: NodeInfo[];
    config?: Partial<IpamConfig>;
    store?: InMemoryBlockStore;
    seed?: number;
  },
): Harness {
  const store = opts.store ?? new InMemoryBlockStore();
  const view = new StaticView(opts.pools, opts.nodes, { ...DEFAULT_IPAM_CONFIG, ...opts.config });
  const clock = new ManualClock();
  const random = seededRandom(opts.seed ?? 1);
  const claimer = new BlockClaimer({ store, view, clock: clock.now, random });
  const calico = new CalicoStyleAllocator({ store, view, clock: clock.now, random });
  const agents = new Map<string, AddressAssigner>();
  return {
    mode,
    store,
    view,
    clock,
    claimer,
    operatorAllocator: calico,
    agents,
    allocator(node: string): IpAllocator {
      if (mode === 'calico') return calico;
      let a = agents.get(node);
      if (a === undefined) {
        a = new AddressAssigner({ store, view, node, source: claimer });
        agents.set(node, a);
      }
      return a;
    },
  };
}
