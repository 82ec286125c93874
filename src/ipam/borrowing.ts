// Borrowing: assigning from blocks affine to other nodes (or to none) when a node cannot get a block of its own and
// strictAffinity is false (calico: libcalico-go/lib/ipam/ipam.go autoAssign, the "non-affine blocks" loop).
// Borrowed addresses keep the borrower in `secondary.node`, which is what routing uses (/32 routes).
// In Tabby only the operator borrows (ARCHITECTURE.md "One writer per IPAM block"): the agent asks it through
// BlockSource.borrow.
import { type IPFamily, blockCount, blockIndex, cidrContainsCidr, parseCidr } from '../net/index.js';
import { goList } from './allocator.js';
import { startIndex } from './block-search.js';
import type { BlockStore, Versioned } from './block-store.js';
import { assignInBlock } from './block-writes.js';
import type { IPAMBlockData, IPAMHandleData } from './model.js';
import type { IpamPool } from './pools.js';
import { Reservations } from './reservations.js';

/**
 * Existing blocks of `pool` in the order a node visits them when borrowing (its start index, then sequential with
 * wrap-around) — Calico walks every candidate CIDR and skips missing blocks; walking only the existing ones gives the
 * same order without visiting 2^74 candidates of an IPv6 pool.
 */
export function borrowOrder(
  pool: IpamPool,
  blocks: readonly Versioned<IPAMBlockData>[],
  node: string,
  random: () => number,
): Versioned<IPAMBlockData>[] {
  const n = blockCount(pool.cidr, pool.blockSize);
  const start = startIndex(pool, node, random);
  const keyed: { b: Versioned<IPAMBlockData>; k: bigint }[] = [];
  for (const b of blocks) {
    const c = parseCidr(b.value.cidr);
    if (c.prefix !== pool.blockSize || !cidrContainsCidr(pool.cidr, c)) continue;
    const idx = BigInt(blockIndex(pool.cidr, pool.blockSize, c.network));
    keyed.push({ b, k: (idx - start + n) % n });
  }
  return keyed.sort((x, y) => (x.k < y.k ? -1 : x.k > y.k ? 1 : 0)).map((x) => x.b);
}

export interface BorrowRequest {
  node: string;
  family: IPFamily;
  pools: readonly IpamPool[];
  num: number;
  handleId: string | null;
  attrs: Record<string, string>;
}

export interface BorrowResult {
  ips: string[];
  /** The handle as last written (lets the agent keep knowing which blocks its handle spans). */
  handle?: Versioned<IPAMHandleData>;
  /** "No IPs available in pools: [...]" when a pool was walked without satisfying the request. */
  msgs: string[];
}

/** Walks each pool's existing blocks in the node's order, assigning with CAS until `num` addresses are found. */
export async function borrowAddresses(
  store: BlockStore,
  random: () => number,
  req: BorrowRequest,
  /** Reserved addresses are never taken; a wholly reserved block is skipped (calico: the borrowing loop). */
  reservations: Reservations = Reservations.none,
): Promise<BorrowResult> {
  const ips: string[] = [];
  const exhausted: string[] = [];
  let handle: Versioned<IPAMHandleData> | undefined;
  const blocks = await store.blocks.list();
  for (const pool of req.pools) {
    if (ips.length >= req.num) break;
    for (const b of borrowOrder(pool, blocks, req.node, random)) {
      if (ips.length >= req.num) break;
      const cidr = parseCidr(b.value.cidr);
      if (reservations.matchesWholeCidr(cidr)) continue;
      const reserved = reservations.ordinalFilter(cidr);
      const out = await assignInBlock(store, b, {
        num: req.num - ips.length,
        handleId: req.handleId,
        attrs: req.attrs,
        ...(reserved === undefined ? {} : { reserved }),
      });
      if (out.kind !== 'assigned') continue;
      ips.push(...out.ips);
      handle = out.handle ?? handle;
    }
    if (ips.length < req.num) exhausted.push(pool.cidrText);
  }
  const msgs = exhausted.length > 0 ? [`No IPs available in pools: ${goList(exhausted)}`] : [];
  return handle === undefined ? { ips, msgs } : { ips, msgs, handle };
}
