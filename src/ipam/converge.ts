// What the operator's IPAM would do to a cluster, run in memory (for `tabby diff`): the same BlockClaimer,
// tunnel-address reconciliation and GC the operator runs (src/operator/ipam-sync.ts), over an InMemoryBlockStore
// seeded with the cluster's blocks, affinities and handles. Nothing here is a second copy of a rule: each step calls
// the code the operator calls, in the order it calls it.
//
// Inputs: a `IpamWorld` (pools, IPAM configuration, nodes with labels and annotations, pods, IPAM objects), the time
// and a random source (only /32 and /128 pools draw from it). Output: the IPAM state once nothing more would change
// — blocks and affinities, each node's tunnel-address annotations — and the decisions taken on the way.
// A dump that carries addresses but no IPAM objects (what `tabby render` plans with synthetic IPAM) is first given
// IPAM state through `seed`: its blocks claimed with the operator's claim, its addresses assigned with Calico's
// AssignIP, so what follows starts from the state such a cluster would have.
// Order, as the operator works: one GC pass (a deleted node's addresses and blocks are released at once; leaks and
// empty blocks wait for grace periods the operator has not seen pass, so GC decides nothing about them here), then
// rounds of block claims and releases and then tunnel addresses for every node, until a round changes nothing (at
// most MAX_ROUNDS).
// Invariant: the result depends only on the inputs (same world, time and random source ⇒ same state).
import { parseCidr } from '../net/index.js';
import { claimBlock } from './affinity-claims.js';
import { CalicoStyleAllocator } from './calico-style-allocator.js';
import { BlockClaimer, type BlockAction } from './block-claimer.js';
import type { IpamView } from './allocator.js';
import { executeGc } from './gc-executor.js';
import { type GcAction, planGc } from './gc.js';
import type { BlockClaimReason, BlockReleaseReason } from './history.js';
import { InMemoryBlockStore } from './in-memory-block-store.js';
import { type PodFields, podInfos } from './allocations.js';
import type { BlockAffinityData, IPAMBlockData, IPAMHandleData, IntendedUse, IpamConfig, NodeInfo } from './model.js';
import { type IPPoolLike, ipamPoolsFrom } from './pools.js';
import { lookupAddress } from './releases.js';
import { reconcileTunnelAddresses } from './tunnel-addresses.js';

/** Rounds before giving up on quiet (a node pre-claims at most one block per round). */
export const MAX_ROUNDS = 8;

export interface WorldNode {
  name: string;
  labels: Readonly<Record<string, string>>;
  annotations: Readonly<Record<string, string>>;
}

/** IPAM state to create before converging, for a cluster described without IPAM objects. */
export interface IpamSeed {
  /** Blocks to claim for nodes, in order. */
  claims: readonly { node: string; block: string }[];
  /** Addresses in use (pods', tunnels'), each assigned exactly, in order. */
  addresses: readonly {
    address: string;
    node: string;
    handleId: string;
    attrs: Record<string, string>;
    use: IntendedUse;
  }[];
}

export interface IpamWorld {
  pools: readonly IPPoolLike[];
  config: IpamConfig;
  nodes: readonly WorldNode[];
  pods: readonly PodFields[];
  blocks: readonly IPAMBlockData[];
  affinities: readonly BlockAffinityData[];
  handles: readonly IPAMHandleData[];
}

/** One block decision taken while converging. */
export interface BlockDecision {
  kind: 'claimed' | 'released';
  node: string | undefined;
  block: string;
  reason: BlockClaimReason | BlockReleaseReason;
}

export interface ConvergedIpam {
  blocks: IPAMBlockData[];
  affinities: BlockAffinityData[];
  handles: IPAMHandleData[];
  /** Per node: the annotations after tunnel-address reconciliation (changed keys applied; null removed them). */
  annotations: Map<string, Record<string, string>>;
  decisions: BlockDecision[];
  /** False when MAX_ROUNDS passed and the claimer still acted (reported, not hidden). */
  settled: boolean;
  /** What could not be done (a tunnel address with no free block), naming the node. */
  problems: string[];
}

function gcDecision(a: GcAction): BlockDecision | undefined {
  if (a.kind === 'releaseAffinity') return { kind: 'released', node: a.node, block: a.cidr, reason: a.reason };
  if (a.kind === 'deleteBlock') return { kind: 'released', node: undefined, block: a.cidr, reason: a.reason };
  return undefined;
}

function claimDecision(a: BlockAction, block: string | undefined): BlockDecision | undefined {
  if (a.kind === 'claim' && block !== undefined) return { kind: 'claimed', node: a.node, block, reason: a.reason };
  if (a.kind === 'release') return { kind: 'released', node: a.node, block: a.cidr, reason: a.reason };
  return undefined;
}

export async function convergeIpam(
  world: IpamWorld,
  deps: { now: number; random: () => number; seed?: IpamSeed },
): Promise<ConvergedIpam> {
  const store = new InMemoryBlockStore();
  for (const b of world.blocks) if (!b.deleted) await store.blocks.create(b);
  for (const a of world.affinities) if (!a.deleted) await store.affinities.create(a);
  for (const h of world.handles) if (!h.deleted) await store.handles.create(h);
  const pools = ipamPoolsFrom(world.pools).pools;
  const nodes = new Map(world.nodes.map((n) => [n.name, n]));
  const view: IpamView = {
    pools: () => pools,
    config: () => world.config,
    node: (name) => {
      const n = nodes.get(name);
      return n === undefined ? undefined : ({ name, labels: n.labels } satisfies NodeInfo);
    },
  };
  const deps2 = { store, view, clock: () => deps.now, random: deps.random };
  const decisions: BlockDecision[] = [];
  const problems: string[] = [];
  const tunnels = new CalicoStyleAllocator(deps2);

  for (const c of deps.seed?.claims ?? []) await claimBlock(store, c.node, parseCidr(c.block), { now: deps.now });
  for (const a of deps.seed?.addresses ?? []) {
    // A node gone from this world left its addresses behind with it: GC below judges its blocks.
    if (!nodes.has(a.node)) continue;
    try {
      await tunnels.assignIP({ ip: a.address, handleId: a.handleId, attrs: a.attrs, node: a.node, use: a.use });
    } catch (e) {
      problems.push(`Node ${a.node}: address ${a.address} in use: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  const gc = planGc({
    blocks: await store.blocks.list(),
    affinities: await store.affinities.list(),
    handles: await store.handles.list(),
    nodes: new Set(nodes.keys()),
    pods: podInfos(world.pods),
    now: deps.now,
  });
  for (const r of await executeGc(store, gc.actions, deps.now)) {
    const d = r.outcome === 'done' ? gcDecision(r.action) : undefined;
    if (d) decisions.push(d);
  }

  const claimer = new BlockClaimer(deps2);
  const names = [...nodes.keys()].sort();
  const annotations = new Map(names.map((n) => [n, { ...nodes.get(n)!.annotations }]));
  /** Nodes whose tunnel address could not be reconciled, with why (kept from the last round). */
  const tunnelProblems = new Map<string, string>();
  let settled = false;
  for (let round = 0; round < MAX_ROUNDS && !settled; round++) {
    settled = true;
    for (const r of await claimer.reconcile(names)) {
      if (r.outcome !== 'done') continue;
      settled = false;
      const d = claimDecision(r.action, r.block);
      if (d) decisions.push(d);
    }
    // As the operator's node pass: tunnel addresses after the blocks. Giving or taking one changes a block, which
    // may call for another block action: so round again until neither acts.
    for (const name of names) {
      const current = annotations.get(name)!;
      let r;
      try {
        r = await reconcileTunnelAddresses(tunnels, view.node(name)!, pools, current, (address) =>
          lookupAddress(store, pools, address),
        );
        tunnelProblems.delete(name);
      } catch (e) {
        tunnelProblems.set(name, `Node ${name}: tunnel address: ${e instanceof Error ? e.message : String(e)}`);
        continue;
      }
      for (const [k, v] of Object.entries(r.annotations)) {
        settled = false;
        if (v === null) delete current[k];
        else current[k] = v;
      }
    }
  }
  problems.push(...tunnelProblems.values());

  const live = <T extends { deleted: boolean }>(xs: readonly { value: T }[]) =>
    xs.map((x) => x.value).filter((v) => !v.deleted);
  return {
    blocks: live(await store.blocks.list()),
    affinities: live(await store.affinities.list()),
    handles: live(await store.handles.list()),
    annotations,
    decisions,
    settled,
    problems,
  };
}
