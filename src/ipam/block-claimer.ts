// The operator's side of "one writer per IPAM block" (ARCHITECTURE.md): it alone claims and releases blocks and
// affinities, pre-claims a node's next block before the node's free addresses run out (so no pod start waits for
// a claim), repairs what an interrupted claim or release left, and borrows from other nodes' blocks for an agent
// whose node cannot get a block of its own. Agents assign only inside their own blocks (address-assigner.ts).
//
// Decide, then act (STYLE.md §4): `planBlockActions` is pure — from a snapshot of nodes, pools, config, blocks and
// affinities it returns BlockAction[] — and `BlockClaimer.execute` carries the actions out with compare-and-swap.
// A node's claims are serialised inside one claimer, so two requests for the same node never claim two blocks;
// across processes the block create is the arbiter (affinity-claims.ts).
//
// Inputs of the plan, per node and family with a Workload pool selecting the node:
// - free addresses in its confirmed affine blocks of usable pools < watermark (default: a quarter of a block),
//   fewer than the block cap, autoAllocateBlocks on ⇒ claim (reason `noBlock` when it has none, else `preclaim`);
// - an empty affine block whose pool (any use) no longer selects the node, and that the node's agent is not asking
//   for (NodeInfo.requestedPools) ⇒ release (requireEmpty);
// - a pending or pendingDeletion affinity, a confirmed affinity whose block is missing or owned by someone else, or
//   a block affine to the node with no affinity object ⇒ repair.
import { type IPFamily, formatCidr, iterateBlocks, parseCidr } from '../net/index.js';
import {
  claimBlock,
  claimNewBlock,
  releaseBlockAffinity,
  repairAffinity,
  type ClaimOptions,
} from './affinity-claims.js';
import {
  type AssignIPArgs,
  type IpamView,
  type ReleaseOptions,
  type ReleaseResult,
  reservationsOf,
} from './allocator.js';
import { CalicoStyleAllocator } from './calico-style-allocator.js';
import { type BorrowRequest, type BorrowResult, borrowAddresses } from './borrowing.js';
import { type BlockStore, type Versioned, affinityKey, nodeViewByLists } from './block-store.js';
import { isEmpty } from './block.js';
import { releaseHandleInBlock } from './block-writes.js';
import { nodeRef, IpamError } from './errors.js';
import { decrementHandle } from './handles.js';
import {
  type BlockAffinityData,
  type IPAMBlockData,
  type IpamConfig,
  type NodeInfo,
  affinityIsConfirmed,
  affinityNode,
  effectiveBlockLimit,
  hostAffinity,
} from './model.js';
import { type IpamPool, choosePools, enabledPools, poolContaining, poolSelectsNode } from './pools.js';
import { releaseAddresses } from './releases.js';
import { Reservations, freeAddresses } from './reservations.js';

export type BlockAction =
  | { kind: 'claim'; node: string; family: IPFamily; pools: string[]; reason: 'noBlock' | 'preclaim' }
  | { kind: 'release'; node: string; cidr: string; requireEmpty: boolean; reason: 'poolNoLongerSelectsNode' }
  | {
      kind: 'repair';
      node: string;
      cidr: string;
      reason: 'pendingAffinity' | 'pendingDeletion' | 'staleAffinity' | 'missingAffinity';
    };

export interface ClaimPlanInput {
  nodes: readonly NodeInfo[];
  pools: readonly IpamPool[];
  config: IpamConfig;
  blocks: readonly IPAMBlockData[];
  affinities: readonly BlockAffinityData[];
  /** IPReservations: reserved addresses are not free (a block whose free addresses are all reserved is full). */
  reservations?: Reservations;
  /** Pre-claim below this many free addresses; default a quarter of the pool's block (at least 1). */
  watermark?: (pool: IpamPool) => number;
}

export function defaultWatermark(pool: IpamPool): number {
  const hostBits = (pool.family === 4 ? 32 : 128) - pool.blockSize;
  return Math.max(1, Math.floor(2 ** Math.min(hostBits, 20) / 4));
}

function actionKey(a: BlockAction): string {
  return `${a.node}\u0000${a.kind}\u0000${'cidr' in a ? a.cidr : String(a.family)}`;
}

export function planBlockActions(input: ClaimPlanInput): BlockAction[] {
  const actions: BlockAction[] = [];
  const blocksByCidr = new Map(input.blocks.map((b) => [b.cidr, b]));
  const affByNode = new Map<string, BlockAffinityData[]>();
  for (const a of input.affinities) {
    if (a.type !== 'host') continue;
    const list = affByNode.get(a.node) ?? [];
    list.push(a);
    affByNode.set(a.node, list);
  }
  const watermark = input.watermark ?? defaultWatermark;
  const reservations = input.reservations ?? Reservations.none;
  for (const node of input.nodes) {
    const affs = affByNode.get(node.name) ?? [];
    const affCidrs = new Set(affs.map((a) => a.cidr));
    for (const a of affs) {
      const block = blocksByCidr.get(a.cidr);
      if (a.state === 'pending')
        actions.push({ kind: 'repair', node: node.name, cidr: a.cidr, reason: 'pendingAffinity' });
      else if (a.state === 'pendingDeletion') {
        actions.push({ kind: 'repair', node: node.name, cidr: a.cidr, reason: 'pendingDeletion' });
      } else if (block === undefined || block.affinity !== hostAffinity(node.name)) {
        actions.push({ kind: 'repair', node: node.name, cidr: a.cidr, reason: 'staleAffinity' });
      }
    }
    for (const b of input.blocks) {
      if (affinityNode(b.affinity) === node.name && !affCidrs.has(b.cidr)) {
        actions.push({ kind: 'repair', node: node.name, cidr: b.cidr, reason: 'missingAffinity' });
      }
    }
    for (const family of [4, 6] as const) {
      const selecting = enabledPools(input.pools, family).filter((p) => poolSelectsNode(p, node));
      // Owned, confirmed, intact blocks of this family.
      const owned = affs
        .filter((a) => affinityIsConfirmed(a))
        .map((a) => ({ a, b: blocksByCidr.get(a.cidr) }))
        .filter((x): x is { a: BlockAffinityData; b: IPAMBlockData } => x.b?.affinity === hostAffinity(node.name))
        .filter((x) => parseCidr(x.a.cidr).family === family);
      for (const { a, b } of owned) {
        const cidr = parseCidr(a.cidr);
        const pool = poolContaining(input.pools, cidr);
        // A block just claimed for a pool a pod asked for by name is empty until the agent assigns from it.
        const requested = node.requestedPools?.includes(pool?.name ?? '') ?? false;
        if (pool !== undefined && !selecting.includes(pool) && !requested && isEmpty(b)) {
          actions.push({
            kind: 'release',
            node: node.name,
            cidr: a.cidr,
            requireEmpty: true,
            reason: 'poolNoLongerSelectsNode',
          });
        }
      }
      let usable: IpamPool[];
      try {
        usable = choosePools(input.pools, { family, node, use: 'Workload' }).usable;
      } catch {
        continue; // no pool for this node and family: nothing to claim
      }
      const inUsable = owned.filter((x) => poolContaining(usable, parseCidr(x.a.cidr)) !== undefined);
      const free = inUsable.reduce((n, x) => n + freeAddresses(x.b, reservations), 0);
      const limit = effectiveBlockLimit(input.config);
      const first = usable[0]!;
      if (free < watermark(first) && inUsable.length < limit && input.config.autoAllocateBlocks) {
        actions.push({
          kind: 'claim',
          node: node.name,
          family,
          pools: usable.map((p) => p.name),
          reason: inUsable.length === 0 ? 'noBlock' : 'preclaim',
        });
      }
    }
  }
  return actions.sort((x, y) => (actionKey(x) < actionKey(y) ? -1 : actionKey(x) > actionKey(y) ? 1 : 0));
}

export interface EnsureBlockRequest {
  node: string;
  family: IPFamily;
  /** Names of the pools the caller may use, in preference order. */
  pools: readonly string[];
  /** Per-request cap (the tighter of this and the configuration wins). */
  maxBlocksPerHost?: number;
}

export type EnsureBlockOutcome =
  /** `claimed`: the block was claimed for this request (not one the node already had). */
  | { kind: 'block'; block: Versioned<IPAMBlockData>; claimed?: boolean }
  | { kind: 'blockLimit'; limit: number }
  | { kind: 'noFreeBlocks' }
  | { kind: 'autoAllocateDisabled' };

/** What an agent asks of the operator. In-process here; over the API server once src/kube exists. */
export interface BlockSource {
  /** A confirmed block of the node's with a free address in one of the pools, claiming one if needed. */
  ensureBlock(req: EnsureBlockRequest): Promise<EnsureBlockOutcome>;
  borrow(req: BorrowRequest): Promise<BorrowResult>;
  /** Releases addresses outside the agent's own blocks (borrowed ones). */
  releaseIPs(opts: readonly ReleaseOptions[]): Promise<ReleaseResult>;
  /** Releases a handle's addresses in the given (non-own) blocks. */
  releaseHandleIn(handleId: string, blockCidrs: readonly string[]): Promise<void>;
  /** Assigns a specific address outside the agent's blocks (claiming its block if unclaimed), Calico's AssignIP. */
  assignIP(args: AssignIPArgs): Promise<void>;
}

export interface BlockClaimerDeps {
  store: BlockStore;
  view: IpamView;
  clock: () => number;
  random: () => number;
}

export type ActionResult =
  /** `block`: the block a claim took. */
  | { action: BlockAction; outcome: 'done'; block?: string }
  | { action: BlockAction; outcome: 'skipped'; why: string }
  | { action: BlockAction; outcome: 'failed'; error: Error };

export class BlockClaimer implements BlockSource {
  /** Per-node promise chain: one claim at a time per node. */
  private readonly nodeQueues = new Map<string, Promise<unknown>>();

  /** Calico's own AssignIP semantics, for the rare specific-address request outside an agent's blocks. */
  private readonly anywhere: CalicoStyleAllocator;

  constructor(private readonly deps: BlockClaimerDeps) {
    this.anywhere = new CalicoStyleAllocator(deps);
  }

  assignIP(args: AssignIPArgs): Promise<void> {
    return this.serialised(args.node, () => this.anywhere.assignIP(args));
  }

  private serialised<T>(node: string, work: () => Promise<T>): Promise<T> {
    const prev = this.nodeQueues.get(node) ?? Promise.resolve();
    const next = prev.then(work, work);
    const tail = next.catch(() => undefined);
    this.nodeQueues.set(node, tail);
    void tail.then(() => {
      if (this.nodeQueues.get(node) === tail) this.nodeQueues.delete(node);
    });
    return next;
  }

  private pools(names: readonly string[]): IpamPool[] {
    const all = this.deps.view.pools();
    return names.map((n) => all.find((p) => p.name === n)).filter((p): p is IpamPool => p !== undefined);
  }

  ensureBlock(req: EnsureBlockRequest): Promise<EnsureBlockOutcome> {
    return this.serialised(req.node, async () => {
      const { store, view } = this.deps;
      const pools = this.pools(req.pools);
      const config = view.config();
      const affs = (await store.affinities.list()).filter(
        (a) => a.value.node === req.node && a.value.type === 'host' && parseCidr(a.value.cidr).family === req.family,
      );
      const inPools = affs.filter((a) => poolContaining(pools, parseCidr(a.value.cidr)) !== undefined);
      // A request that queued behind a claim for the same node is usually served by that claim's block.
      const blocks = await store.blocks.list();
      const byCidr = new Map(blocks.map((b) => [b.value.cidr, b]));
      for (const a of inPools) {
        if (!affinityIsConfirmed(a.value)) continue;
        const b = byCidr.get(a.value.cidr);
        if (
          b !== undefined &&
          b.value.affinity === hostAffinity(req.node) &&
          freeAddresses(b.value, reservationsOf(view)) > 0
        ) {
          return { kind: 'block', block: b, claimed: false };
        }
      }
      const limit = effectiveBlockLimit(config, req.maxBlocksPerHost ?? 0);
      if (inPools.length >= limit) return { kind: 'blockLimit', limit };
      if (!config.autoAllocateBlocks) return { kind: 'autoAllocateDisabled' };
      const r = await claimNewBlock(this.deps, req.node, pools, false, blocks);
      return r.kind === 'block' ? { kind: 'block', block: r.block, claimed: r.newlyClaimed } : r;
    });
  }

  borrow(req: BorrowRequest): Promise<BorrowResult> {
    return borrowAddresses(this.deps.store, this.deps.random, req, reservationsOf(this.deps.view));
  }

  releaseIPs(opts: readonly ReleaseOptions[]): Promise<ReleaseResult> {
    return releaseAddresses(this.deps.store, this.deps.view.pools(), opts);
  }

  async releaseHandleIn(handleId: string, blockCidrs: readonly string[]): Promise<void> {
    for (const cidr of blockCidrs) {
      const n = await releaseHandleInBlock(this.deps.store, cidr, handleId);
      if (n > 0) await decrementHandle(this.deps.store, handleId, cidr, n);
    }
  }

  /**
   * One reconcile pass for the given nodes (the operator's Node cache names them): read blocks and affinities (from
   * the operator's caches once src/kube exists), plan, execute.
   */
  async reconcile(nodeNames: readonly string[]): Promise<ActionResult[]> {
    const { store, view } = this.deps;
    const nodes = nodeNames.map((n) => view.node(n)).filter((n): n is NodeInfo => n !== undefined);
    // Only what these nodes have (their affinities and blocks): a node's pass costs what the node holds, not what
    // the cluster holds. Claiming a new block still searches the pool (claimNewBlock), which only claims do.
    const views = await Promise.all(
      nodes.map((n) => (store.nodeView ? store.nodeView(n.name) : nodeViewByLists(store, n.name))),
    );
    const blocks = new Map<string, IPAMBlockData>();
    const affinities: BlockAffinityData[] = [];
    for (const v of views) {
      for (const b of v.blocks) blocks.set(b.value.cidr, b.value);
      for (const a of v.affinities) affinities.push(a.value);
    }
    const actions = planBlockActions({
      nodes,
      pools: view.pools(),
      config: view.config(),
      blocks: [...blocks.values()],
      affinities,
      reservations: reservationsOf(view),
    });
    return this.execute(actions);
  }

  async execute(actions: readonly BlockAction[]): Promise<ActionResult[]> {
    const results: ActionResult[] = [];
    for (const action of actions) {
      try {
        results.push(await this.serialised(action.node, () => this.run(action)));
      } catch (e) {
        if (!(e instanceof Error)) throw e;
        results.push({ action, outcome: 'failed', error: e });
      }
    }
    return results;
  }

  private async run(action: BlockAction): Promise<ActionResult> {
    const { store } = this.deps;
    const opts: ClaimOptions = { now: this.deps.clock() };
    switch (action.kind) {
      case 'claim': {
        const pools = this.pools(action.pools);
        if (pools.length === 0) return { action, outcome: 'skipped', why: 'pools are gone' };
        const r = await claimNewBlock(this.deps, action.node, pools, action.reason === 'preclaim');
        return r.kind === 'block'
          ? { action, outcome: 'done', block: r.block.value.cidr }
          : { action, outcome: 'skipped', why: 'no free blocks' };
      }
      case 'release': {
        const r = await releaseBlockAffinity(store, action.node, action.cidr, { requireEmpty: action.requireEmpty });
        return r.kind === 'released' ? { action, outcome: 'done' } : { action, outcome: 'skipped', why: r.kind };
      }
      case 'repair': {
        const aff = await store.affinities.get(affinityKey(action.node, action.cidr));
        if (aff === undefined) {
          if (action.reason !== 'missingAffinity') return { action, outcome: 'skipped', why: 'affinity is gone' };
          const r = await claimBlock(store, action.node, parseCidr(action.cidr), opts);
          return r.kind === 'claimed' ? { action, outcome: 'done' } : { action, outcome: 'skipped', why: 'taken' };
        }
        const r = await repairAffinity(store, aff, parseCidr(action.cidr), opts);
        return r.kind === 'unchanged' ? { action, outcome: 'skipped', why: 'unchanged' } : { action, outcome: 'done' };
      }
    }
  }

  /** Releases every affinity of a node (calico: ReleaseHostAffinities); non-empty blocks become un-affine. */
  async releaseNodeAffinities(node: string, requireEmpty: boolean): Promise<void> {
    const affs = (await this.deps.store.affinities.list()).filter((a) => a.value.node === node);
    for (const a of affs) {
      await this.serialised(node, () => releaseBlockAffinity(this.deps.store, node, a.value.cidr, { requireEmpty }));
    }
  }

  /**
   * Claims every block of `cidr` for `node` (calico: ClaimAffinity): returns claimed and failed block CIDRs. The
   * CIDR must lie in a pool and be at least one block.
   */
  async claimAffinity(cidrText: string, node: string): Promise<{ claimed: string[]; failed: string[] }> {
    const cidr = parseCidr(cidrText);
    const pool = poolContaining(this.deps.view.pools(), cidr);
    if (pool === undefined) {
      throw new IpamError(
        'cidrNotInPool',
        nodeRef(node),
        `The requested CIDR (${cidrText}) is not within any configured pools.`,
      );
    }
    if (cidr.prefix > pool.blockSize) {
      throw new IpamError(
        'cidrTooSmall',
        nodeRef(node),
        `The requested CIDR (${cidrText}) is smaller than the minimum.`,
      );
    }
    const claimed: string[] = [];
    const failed: string[] = [];
    for (const blk of iterateBlocks(cidr, pool.blockSize)) {
      const r = await this.serialised(node, () => claimBlock(this.deps.store, node, blk, { now: this.deps.clock() }));
      (r.kind === 'claimed' ? claimed : failed).push(formatCidr(blk));
    }
    return { claimed, failed };
  }
}
