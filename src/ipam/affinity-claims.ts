// Claiming and releasing a node's affinity to a block: the ordered multi-object changes of
// calico: libcalico-go/lib/ipam/ipam_block_reader_writer.go (getPendingAffinity, claimAffineBlock, confirmAffinity,
// releaseBlockAffinity) and ipam.go getBlockFromAffinity.
//
// Affinity states: ∅ → pending → confirmed → pendingDeletion → ∅.
// Claim:   (1) create BlockAffinity{state: pending}; (2) create the IPAMBlock with `affinity: host:<node>` — the
//          compare-and-swap point that decides ownership; (3) update the affinity to confirmed.
// Release: (1) affinity → pendingDeletion; (2) delete the block when empty, else clear its affinity (its addresses
//          stay valid, routed as /32s); (3) delete the affinity.
// Crash after any step leaves: a pending affinity with or without its block, or a pendingDeletion affinity. None of
// these lets an address be handed out twice — ownership is the block's own `affinity` field, written only by
// create-if-absent and compare-and-swap — and each is finished or undone by `repairAffinity` (the claimer's
// reconcile and gc.ts call it).
import { formatCidr, parseCidr, type Cidr } from '../net/index.js';
import { type IpamView, reservationsOf } from './allocator.js';
import type { Reservations } from './reservations.js';
import { type BlockSummary, findUsableBlocks, summarizeBlock } from './block-search.js';
import type { IpamPool } from './pools.js';
import { type BlockStore, type Versioned, affinityKey, blockKey } from './block-store.js';
import { bumpSequence, isEmpty, newBlock } from './block.js';
import { DATASTORE_RETRIES, affinityRef, nodeRef, retriesExhausted } from './errors.js';
import {
  type BlockAffinityData,
  type IPAMBlockData,
  affinityIsConfirmed,
  affinityNode,
  hostAffinity,
} from './model.js';

/** Calico's metav1.Time text: RFC 3339 in UTC, whole seconds. */
export function claimTimeText(nowMs: number): string {
  return new Date(nowMs).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** A new block's first sequence number: the creation time in ns (so a recreated block never repeats one). */
export function initialSequenceNumber(nowMs: number): bigint {
  return BigInt(Math.floor(nowMs)) * 1_000_000n;
}

export function blockAddressCount(cidr: Cidr): number {
  const bits = (cidr.family === 4 ? 32 : 128) - cidr.prefix;
  if (bits > 20) throw new RangeError(`block ${formatCidr(cidr)} is larger than IPAM supports (/${cidr.prefix})`);
  return 2 ** bits;
}

export interface ClaimOptions {
  now: number;
  /** Windows hosts' reserved ordinals, written into new blocks. */
  hostReserved?: { start: number; end: number; note: string };
}

export type ClaimOutcome =
  | { kind: 'claimed'; block: Versioned<IPAMBlockData>; affinity: Versioned<BlockAffinityData>; created: boolean }
  /** The block belongs to another node (or is un-affine); our pending affinity was removed. */
  | { kind: 'taken'; owner: string | undefined };

function pending(node: string, cidr: string): BlockAffinityData {
  return { node, cidr, state: 'pending', type: 'host', deleted: false };
}

/** Step 1: a pending affinity for (node, cidr), or the existing confirmed one (calico: getPendingAffinity). */
async function pendingAffinity(store: BlockStore, node: string, cidr: string): Promise<Versioned<BlockAffinityData>> {
  const key = affinityKey(node, cidr);
  for (let i = 0; i < DATASTORE_RETRIES; i++) {
    const created = await store.affinities.create(pending(node, cidr));
    if (created.ok) return created;
    const existing = await store.affinities.get(key);
    if (existing === undefined) continue;
    if (affinityIsConfirmed(existing.value)) return existing;
    const marked = await store.affinities.update({ ...existing.value, state: 'pending' }, existing.version);
    if (marked.ok) return marked;
  }
  throw retriesExhausted(affinityRef(key));
}

/**
 * Step 3 (calico: confirmAffinity). Someone else confirming it first counts as success; an affinity deleted under
 * us (the block already says the node owns it) is written again, so block and affinity agree.
 */
async function confirm(store: BlockStore, aff: Versioned<BlockAffinityData>): Promise<Versioned<BlockAffinityData>> {
  const key = affinityKey(aff.value.node, aff.value.cidr);
  let current: Versioned<BlockAffinityData> | undefined = aff;
  for (let i = 0; i < DATASTORE_RETRIES; i++) {
    if (current === undefined) {
      const r = await store.affinities.create({ ...aff.value, state: 'confirmed' });
      if (r.ok) return r;
    } else {
      if (current.value.state === 'confirmed') return current;
      const r = await store.affinities.update({ ...current.value, state: 'confirmed' }, current.version);
      if (r.ok) return r;
    }
    current = await store.affinities.get(key);
  }
  throw retriesExhausted(affinityRef(key));
}

/**
 * Claims `cidr` for `node`: pending affinity → block create (the decision) → confirmed affinity. Idempotent: a
 * block already affine to the node is confirmed and returned (another allocator of the same node, or a retry after
 * a crash).
 */
export async function claimBlock(
  store: BlockStore,
  node: string,
  cidr: Cidr,
  opts: ClaimOptions,
): Promise<ClaimOutcome> {
  const cidrText = formatCidr(cidr);
  const mine = hostAffinity(node);
  for (let i = 0; i < DATASTORE_RETRIES; i++) {
    const aff = await pendingAffinity(store, node, cidrText);
    const fresh = newBlock(cidrText, blockAddressCount(cidr), {
      affinity: mine,
      affinityClaimTime: claimTimeText(opts.now),
      sequenceNumber: initialSequenceNumber(opts.now),
      ...(opts.hostReserved === undefined ? {} : { hostReserved: opts.hostReserved }),
    });
    const created = await store.blocks.create(fresh);
    if (created.ok) {
      return { kind: 'claimed', block: created, affinity: await confirm(store, aff), created: true };
    }
    const existing = await store.blocks.get(blockKey(cidrText));
    if (existing === undefined) continue; // deleted between our create and read: try again
    if (existing.value.affinity === mine) {
      return { kind: 'claimed', block: existing, affinity: await confirm(store, aff), created: false };
    }
    // Someone else owns it: withdraw our claim (a confirmed affinity of ours here is stale, remove it too).
    await store.affinities.delete(affinityKey(node, cidrText), aff.version);
    return { kind: 'taken', owner: affinityNode(existing.value.affinity) };
  }
  throw retriesExhausted(affinityRef(affinityKey(node, cidrText)));
}

export interface ReleaseAffinityOptions {
  /** Refuse (and leave everything as it was) when the block holds any address. */
  requireEmpty: boolean;
  /** Abort unless the block's sequence number is still this (a reclaim racing another reclaim). */
  requiredSequenceNumber?: bigint;
}

export type ReleaseAffinityOutcome =
  /** The affinity is gone; the block was deleted (empty) or made un-affine (not empty). */
  | { kind: 'released'; blockDeleted: boolean }
  | { kind: 'notEmpty' }
  /** The block is affine to another node: our affinity was stale and has been deleted. */
  | { kind: 'claimConflict'; owner: string | undefined }
  | { kind: 'sequenceChanged' }
  /** Neither affinity nor an affine block exists. */
  | { kind: 'notFound' };

/**
 * Releases node's affinity to cidr (calico: releaseBlockAffinity). Works from whatever a crash left: an affinity in
 * any state, or a block still affine to the node with no affinity object at all.
 */
export async function releaseBlockAffinity(
  store: BlockStore,
  node: string,
  cidrText: string,
  opts: ReleaseAffinityOptions,
): Promise<ReleaseAffinityOutcome> {
  const aKey = affinityKey(node, cidrText);
  const bKey = blockKey(cidrText);
  const mine = hostAffinity(node);
  for (let i = 0; i < DATASTORE_RETRIES; i++) {
    let aff = await store.affinities.get(aKey);
    const block = await store.blocks.get(bKey);
    if (block === undefined) {
      if (aff === undefined) return { kind: 'notFound' };
      const d = await store.affinities.delete(aKey, aff.version);
      if (d.ok || d.reason === 'notFound') return { kind: 'released', blockDeleted: false };
      continue;
    }
    if (opts.requiredSequenceNumber !== undefined && opts.requiredSequenceNumber !== block.value.sequenceNumber) {
      return { kind: 'sequenceChanged' };
    }
    if (block.value.affinity !== null && block.value.affinity !== mine) {
      if (aff !== undefined) await store.affinities.delete(aKey, aff.version);
      return { kind: 'claimConflict', owner: affinityNode(block.value.affinity) };
    }
    if (aff === undefined && block.value.affinity !== mine) return { kind: 'notFound' };
    const empty = isEmpty(block.value);
    if (opts.requireEmpty && !empty) {
      // Undo a pendingDeletion left by an earlier, interrupted release: the block is in use, so it stays ours.
      if (aff !== undefined && aff.value.state === 'pendingDeletion') {
        await store.affinities.update({ ...aff.value, state: 'confirmed' }, aff.version);
      }
      return { kind: 'notEmpty' };
    }
    if (aff !== undefined && aff.value.state !== 'pendingDeletion') {
      const marked = await store.affinities.update({ ...aff.value, state: 'pendingDeletion' }, aff.version);
      if (!marked.ok) continue;
      aff = marked;
    }
    if (empty) {
      const d = await store.blocks.delete(bKey, block.version);
      if (!d.ok && d.reason === 'conflict') continue;
    } else if (block.value.affinity !== null) {
      const next = { ...block.value, affinity: null, affinityClaimTime: null };
      bumpSequence(next);
      const u = await store.blocks.update(next, block.version);
      if (!u.ok) continue;
    }
    if (aff !== undefined) {
      const d = await store.affinities.delete(aKey, aff.version);
      if (!d.ok && d.reason === 'conflict') continue;
    }
    return { kind: 'released', blockDeleted: empty };
  }
  throw retriesExhausted(affinityRef(aKey));
}

export type RepairOutcome =
  | { kind: 'confirmed'; block: Versioned<IPAMBlockData>; affinity: Versioned<BlockAffinityData> }
  | { kind: 'released'; blockDeleted: boolean }
  | { kind: 'deletedStale' }
  | { kind: 'unchanged' };

/**
 * Finishes what an interrupted claim or release left behind for one affinity (calico: getBlockFromAffinity, whose
 * rules we follow): a pending affinity is completed into a claim (creating the block if needed, or withdrawn when
 * another node owns the block); a pendingDeletion affinity is released (the release had passed its decision point);
 * a confirmed affinity whose block names someone else is stale and deleted.
 */
export async function repairAffinity(
  store: BlockStore,
  aff: Versioned<BlockAffinityData>,
  cidr: Cidr,
  opts: ClaimOptions,
): Promise<RepairOutcome> {
  const { node } = aff.value;
  const cidrText = aff.value.cidr;
  if (aff.value.state === 'pendingDeletion') {
    const r = await releaseBlockAffinity(store, node, cidrText, { requireEmpty: false });
    return r.kind === 'released' ? r : { kind: 'deletedStale' };
  }
  const block = await store.blocks.get(blockKey(cidrText));
  const mine = hostAffinity(node);
  if (block !== undefined && block.value.affinity !== mine) {
    const d = await store.affinities.delete(affinityKey(node, cidrText), aff.version);
    return d.ok ? { kind: 'deletedStale' } : { kind: 'unchanged' };
  }
  if (block !== undefined && affinityIsConfirmed(aff.value)) return { kind: 'unchanged' };
  const r = await claimBlock(store, node, cidr, opts);
  return r.kind === 'claimed' ? { kind: 'confirmed', block: r.block, affinity: r.affinity } : { kind: 'deletedStale' };
}

export type NewBlockOutcome =
  { kind: 'block'; block: Versioned<IPAMBlockData>; newlyClaimed: boolean } | { kind: 'noFreeBlocks' };

/**
 * Finds and claims a new block for `node` in `pools` (calico: findOrClaimBlock's claim loop): list blocks, take the
 * first usable candidate, reclaim an old empty block of another node if nothing else is left, claim with CAS; a
 * lost race lists again.
 */
/**
 * A block's summary, computed once per block value: a store that hands out the same (frozen) value until the block
 * changes (the Kubernetes store over its cache) makes each claim's scan of the pool cost a lookup per block instead of
 * a count of its free addresses; a store that hands out copies just computes it each time.
 */
const summaries = new WeakMap<IPAMBlockData, BlockSummary>();
function summaryOf(b: IPAMBlockData, reservations: Reservations): BlockSummary {
  // A block some reservation touches has a free count that depends on the reservations: not remembered.
  const reserved = reservations.empty ? undefined : reservations.ordinalFilter(parseCidr(b.cidr));
  if (reserved !== undefined) return summarizeBlock(b, reserved);
  let s = summaries.get(b);
  if (s === undefined) {
    s = summarizeBlock(b);
    if (Object.isFrozen(b)) summaries.set(b, s);
  }
  return s;
}

export async function claimNewBlock(
  deps: { store: BlockStore; clock: () => number; random: () => number; view?: Pick<IpamView, 'reservations'> },
  node: string,
  pools: readonly IpamPool[],
  /** Pre-claim: only a block nobody holds (never the node's own with space, never another node's empty one). */
  preclaim = false,
  /** Blocks the caller listed just before; used for the first attempt instead of listing again. */
  listed?: readonly Versioned<IPAMBlockData>[],
): Promise<NewBlockOutcome> {
  const { store } = deps;
  const reservations = reservationsOf(deps.view ?? {});
  for (let i = 0; i < DATASTORE_RETRIES; i++) {
    const now = deps.clock();
    const existing = new Map<string, BlockSummary>();
    for (const b of i === 0 && listed !== undefined ? listed : await store.blocks.list()) {
      existing.set(b.value.cidr, summaryOf(b.value, reservations));
    }
    const candidates = findUsableBlocks(existing, node, pools, now, deps.random, preclaim, reservations).filter(
      (c) => !preclaim || c.kind === 'unclaimed',
    );
    if (candidates.length === 0) return { kind: 'noFreeBlocks' };
    let lostRace = false;
    for (const cand of candidates) {
      if (cand.kind === 'reclaim') {
        const ok = await reclaimEmptyBlock(store, cand.cidr, cand.owner, cand.sequenceNumber);
        if (!ok) continue;
      }
      const c = await claimBlock(store, node, cand.cidr, { now });
      if (c.kind === 'claimed') return { kind: 'block', block: c.block, newlyClaimed: true };
      lostRace = true;
      break;
    }
    if (!lostRace) return { kind: 'noFreeBlocks' };
  }
  throw retriesExhausted(nodeRef(node));
}

/** Takes an empty block away from its node (or deletes an un-affine empty one), only if unchanged since read. */
async function reclaimEmptyBlock(
  store: BlockStore,
  cidr: Cidr,
  owner: string | undefined,
  seq: bigint,
): Promise<boolean> {
  const cidrText = formatCidr(cidr);
  if (owner !== undefined) {
    const r = await releaseBlockAffinity(store, owner, cidrText, { requireEmpty: true, requiredSequenceNumber: seq });
    return r.kind === 'released';
  }
  const b = await store.blocks.get(blockKey(cidrText));
  if (b === undefined) return true;
  if (b.value.sequenceNumber !== seq || !isEmpty(b.value) || b.value.affinity !== null) return false;
  const d = await store.blocks.delete(blockKey(cidrText), b.version);
  return d.ok;
}
