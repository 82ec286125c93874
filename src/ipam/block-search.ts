// Choosing a new block for a node (calico: libcalico-go/lib/ipam/ipam_block_reader_writer.go findUsableBlock,
// randomBlockGenerator).
//
// Inputs: the existing blocks (from one list), the node, the usable pools in order, the time, and a random source
// (only for /32 and /128 blocks, where Calico seeds from the clock). Output: a candidate, never a write — the caller
// claims it with compare-and-swap, and a lost race simply means "search again".
//
// Per pool, candidates are visited starting at a pseudo-random block index derived from the node name (FNV-32,
// as Calico seeds Go's math/rand), then sequentially with wrap-around, each block once. So a node tends to get the
// same region of a pool and different nodes spread out. We do not reproduce Go's PRNG bit for bit
// (calico-reference.md §9): the contract is "deterministic per node, spread across nodes, sequential after the
// start". The first candidate that has no block object wins; a block already affine to this node with free space
// also wins (another allocator of the same node claimed it). When every block exists, an empty block claimed by
// another node more than `EMPTY_BLOCK_MIN_RECLAIM_AGE_MS` ago may be reclaimed (small pools with small blocks would
// strand otherwise); the caller must release that node's affinity with the block's sequence number as a guard.
import { type Cidr, blockCount, formatCidr, nthBlock } from '../net/index.js';
import { freeCount, isEmpty } from './block.js';
import { type IPAMBlockData, affinityNode, hostAffinity } from './model.js';
import type { IpamPool } from './pools.js';
import { Reservations } from './reservations.js';

/** calico: EmptyBlockMinReclaimAge — keeps two nodes from ping-ponging an empty block. */
export const EMPTY_BLOCK_MIN_RECLAIM_AGE_MS = 60_000;

const utf8 = new TextEncoder();

/** Calico's hash/fnv New32 (FNV-1, not FNV-1a) over the UTF-8 bytes of `text`. */
export function fnv32(text: string): number {
  const bytes = utf8.encode(text);
  let h = 0x811c9dc5;
  for (const b of bytes) {
    h = Math.imul(h, 0x01000193) >>> 0;
    h = (h ^ b) >>> 0;
  }
  return h >>> 0;
}

/** A small seeded PRNG (mulberry32) giving 32-bit words; enough for a start index, not for secrets. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

function randomBelow(n: bigint, next32: () => number): bigint {
  if (n <= 1n) return 0n;
  let v = 0n;
  let bits = 0n;
  const need = BigInt(n.toString(2).length + 32);
  while (bits < need) {
    v = (v << 32n) | BigInt(next32());
    bits += 32n;
  }
  return v % n;
}

/**
 * The index of the first block a node tries in a pool. `random` (0 ≤ x < 1) is used only for single-address
 * blocks, where Calico uses the clock as seed because affinity to a start point buys nothing there.
 */
export function startIndex(pool: IpamPool, node: string, random: () => number): bigint {
  const n = blockCount(pool.cidr, pool.blockSize);
  const bits = pool.family === 4 ? 32 : 128;
  const seed = pool.blockSize === bits ? Math.floor(random() * 0x100000000) : fnv32(node);
  return randomBelow(n, mulberry32(seed));
}

/** The pool's blocks in the order a node visits them: from its start index, sequentially, wrapping, each once. */
export function* blockCandidates(pool: IpamPool, node: string, random: () => number): Generator<Cidr> {
  const n = blockCount(pool.cidr, pool.blockSize);
  const start = startIndex(pool, node, random);
  for (let k = 0n; k < n; k++) {
    let i = start + k;
    if (i >= n) i -= n;
    yield nthBlock(pool.cidr, pool.blockSize, i);
  }
}

export interface BlockSummary {
  affinity: string | null;
  free: number;
  empty: boolean;
  /** ms since the epoch; 0 when the block records no claim time. */
  claimTime: number;
  sequenceNumber: bigint;
}

export function summarizeBlock(b: IPAMBlockData, reserved?: (ordinal: number) => boolean): BlockSummary {
  const t = b.affinityClaimTime === null ? NaN : Date.parse(b.affinityClaimTime);
  return {
    affinity: b.affinity,
    free: freeCount(b, reserved),
    empty: isEmpty(b),
    claimTime: Number.isNaN(t) ? 0 : t,
    sequenceNumber: b.sequenceNumber,
  };
}

export type BlockCandidate =
  | { kind: 'unclaimed'; cidr: Cidr; pool: IpamPool }
  /** Already affine to this node with free space: just confirm the affinity and use it. */
  | { kind: 'affine'; cidr: Cidr; pool: IpamPool }
  /** Empty block of another node, old enough to take over; release that node's affinity first (guarded). */
  | { kind: 'reclaim'; cidr: Cidr; pool: IpamPool; owner: string | undefined; sequenceNumber: bigint };

/**
 * Candidates in the order to try them: at most one `unclaimed`/`affine` (the first found, as Calico returns it),
 * else every reclaimable empty block. Empty result ⇒ no free blocks.
 */
export function findUsableBlocks(
  existing: ReadonlyMap<string, BlockSummary>,
  node: string,
  pools: readonly IpamPool[],
  now: number,
  random: () => number,
  /** Pre-claiming wants a further block: skip the node's own blocks even when they have space. */
  skipOwn = false,
  /** A candidate whose every address is reserved is passed over (calico: findUsableBlock, MatchesWholeCIDR). */
  reservations: Reservations = Reservations.none,
): BlockCandidate[] {
  const mine = hostAffinity(node);
  const reclaimable: BlockCandidate[] = [];
  for (const pool of pools) {
    const total = blockCount(pool.cidr, pool.blockSize);
    let visited = 0n;
    // In a pool with more blocks than exist, a missing block turns up within existing+1 candidates; counting keeps
    // an IPv6 pool with 2^74 blocks from being walked when it is not needed.
    const bound = total <= BigInt(existing.size) + 1n ? total : BigInt(existing.size) + 1n;
    for (const cidr of blockCandidates(pool, node, random)) {
      // Skipped before counting, so the bound still finds a missing block; like Calico's walk, this is meant for
      // reservations that are small next to the pool (Calico's own caveat on IPReservation).
      if (!reservations.empty && reservations.matchesWholeCidr(cidr)) continue;
      if (visited++ >= bound && bound < total) break;
      const info = existing.get(formatCidr(cidr));
      if (info === undefined) return [{ kind: 'unclaimed', cidr, pool }];
      if (info.affinity === mine && info.free > 0 && !skipOwn) return [{ kind: 'affine', cidr, pool }];
      if (info.empty && info.free > 0 && now - info.claimTime >= EMPTY_BLOCK_MIN_RECLAIM_AGE_MS) {
        reclaimable.push({
          kind: 'reclaim',
          cidr,
          pool,
          owner: affinityNode(info.affinity),
          sequenceNumber: info.sequenceNumber,
        });
      }
    }
  }
  return reclaimable;
}
