// IPReservations as IPAM reads them (calico: libcalico-go/lib/ipam/addr_filter.go cidrSliceFilter, reserved.go,
// ipam_block.go NumFreeAddresses / NumReservedAddresses).
//
// What Calico skips, and where (so do we):
// - automatic assignment never hands out a reserved address: the block's head-of-`unallocated` walk skips it and
//   leaves it in place (ipam_block.go autoAssign);
// - a block wholly covered by reservations is never used: not among the node's affine blocks, not as a new block to
//   claim, not to borrow from (ipam.go findOrClaimBlock, the borrowing loop; ipam_block_reader_writer.go
//   findUsableBlock);
// - a block's free count leaves reserved addresses out, so a block whose free addresses are all reserved counts as
//   full (NumFreeAddresses);
// - nothing else: the block's first and last addresses are ordinary addresses (only Windows nodes pre-allocate
//   some, through HostReservedAttr, which is a different mechanism), an address asked for by name (AssignIP) is given
//   even when reserved, and reserving an allocated address releases nothing.
// Entries are CIDRs or bare addresses, host bits allowed; surrounding whitespace is ignored and a malformed entry is
// skipped (reported, not fatal), as Calico's reservedCIDRs does. Overlapping and nested entries count once.
// Pure: the reserved space is kept as sorted, merged intervals per family, so every query costs O(log n) and a count
// never adds an address twice.
import {
  type Cidr,
  type IP,
  type IPFamily,
  broadcastAddress,
  cidrMasked,
  cidrSize,
  formatCidr,
  hostCidr,
  ipToBigInt,
  networkAddress,
  parseCidrLoose,
  parseCidr,
  parseIP,
} from '../net/index.js';
import { freeCount } from './block.js';
import type { IPAMBlockData } from './model.js';

/** The IPReservation fields IPAM reads (`src/api`'s IPReservation fits). */
export interface IPReservationLike {
  metadata: { name: string };
  spec: { reservedCIDRs?: readonly string[] | undefined };
}

/** An entry that is neither a CIDR nor an address (the schema refuses these; a hand-made object may still carry one). */
export interface SkippedReservation {
  reservation: string;
  entry: string;
  reason: string;
}

interface Interval {
  lo: bigint;
  hi: bigint;
}

function intervalOf(c: Cidr): Interval {
  return { lo: ipToBigInt(networkAddress(c)), hi: ipToBigInt(broadcastAddress(c)) };
}

/** Sorted, disjoint, non-adjacent intervals covering the same addresses. */
function merge(list: Interval[]): Interval[] {
  const sorted = [...list].sort((a, b) => (a.lo < b.lo ? -1 : a.lo > b.lo ? 1 : 0));
  const out: Interval[] = [];
  for (const i of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && i.lo <= last.hi + 1n) {
      if (i.hi > last.hi) last.hi = i.hi;
    } else out.push({ lo: i.lo, hi: i.hi });
  }
  return out;
}

/** Addresses of [lo, hi] inside the merged intervals. */
function coveredIn(merged: readonly Interval[], lo: bigint, hi: bigint): bigint {
  let n = 0n;
  for (const i of merged) {
    if (i.hi < lo) continue;
    if (i.lo > hi) break;
    const a = i.lo > lo ? i.lo : lo;
    const b = i.hi < hi ? i.hi : hi;
    n += b - a + 1n;
  }
  return n;
}

/** The first interval whose end is at or after `v` (binary search); undefined when none. */
function firstEndingAtOrAfter(merged: readonly Interval[], v: bigint): Interval | undefined {
  let lo = 0;
  let hi = merged.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (merged[mid]!.hi < v) lo = mid + 1;
    else hi = mid;
  }
  return merged[lo];
}

export class Reservations {
  private readonly byFamily: Record<IPFamily, Interval[]>;

  /** `cidrs`: the reserved CIDRs as given (masked; bare addresses as /32 or /128). */
  constructor(readonly cidrs: readonly Cidr[]) {
    this.byFamily = {
      4: merge(cidrs.filter((c) => c.family === 4).map(intervalOf)),
      6: merge(cidrs.filter((c) => c.family === 6).map(intervalOf)),
    };
  }

  static readonly none = new Reservations([]);

  get empty(): boolean {
    return this.cidrs.length === 0;
  }

  /** calico: cidrSliceFilter.MatchesIP. */
  matchesIP(ip: IP): boolean {
    const v = ipToBigInt(ip);
    const i = firstEndingAtOrAfter(this.byFamily[ip.family], v);
    return i !== undefined && i.lo <= v;
  }

  /** Every address of `c` is reserved (calico: MatchesWholeCIDR, which also counts several CIDRs covering it together). */
  matchesWholeCidr(c: Cidr): boolean {
    const { lo, hi } = intervalOf(c);
    const i = firstEndingAtOrAfter(this.byFamily[c.family], hi);
    return i !== undefined && i.lo <= lo;
  }

  /** Some address of `c` is reserved (calico: MatchesSome). */
  matchesSome(c: Cidr): boolean {
    const { lo, hi } = intervalOf(c);
    const i = firstEndingAtOrAfter(this.byFamily[c.family], lo);
    return i !== undefined && i.lo <= hi;
  }

  /** How many addresses of `c` are reserved, each once however many reservations name it. */
  countIn(c: Cidr): bigint {
    const { lo, hi } = intervalOf(c);
    return coveredIn(this.byFamily[c.family], lo, hi);
  }

  /**
   * For a block: a predicate over its ordinals, or undefined when none of its addresses is reserved (the fast path,
   * as Calico's MatchesSome check). Ordinal o is the address block.network + o.
   */
  ordinalFilter(block: Cidr): ((ordinal: number) => boolean) | undefined {
    if (!this.matchesSome(block)) return undefined;
    if (this.matchesWholeCidr(block)) return () => true;
    const base = ipToBigInt(networkAddress(block));
    const merged = this.byFamily[block.family];
    return (o) => {
      const v = base + BigInt(o);
      const i = firstEndingAtOrAfter(merged, v);
      return i !== undefined && i.lo <= v;
    };
  }
}

/**
 * The reservations of every IPReservation, Calico's way: each entry trimmed; a CIDR (host bits allowed) or a bare
 * address; an entry that is neither is skipped and returned in `skipped`.
 */
export function reservationsFrom(list: readonly IPReservationLike[]): {
  reservations: Reservations;
  skipped: SkippedReservation[];
} {
  const cidrs: Cidr[] = [];
  const skipped: SkippedReservation[] = [];
  for (const r of list) {
    for (const raw of r.spec.reservedCIDRs ?? []) {
      const entry = raw.trim();
      if (entry === '') continue;
      try {
        cidrs.push(entry.includes('/') ? parseCidrLoose(entry) : hostCidr(parseIP(entry)));
      } catch (e) {
        skipped.push({ reservation: r.metadata.name, entry: raw, reason: (e as Error).message });
      }
    }
  }
  return { reservations: new Reservations(cidrs), skipped };
}

/**
 * Reservations read from a cache, worked out again only when an object changed (its name or resourceVersion);
 * `onSkipped` hears of each malformed entry once per change.
 */
export function cachedReservations(
  list: () => readonly (IPReservationLike & { metadata: { resourceVersion?: string | undefined } })[],
  onSkipped?: (s: SkippedReservation) => void,
): () => Reservations {
  let memo: { key: string; reservations: Reservations } | undefined;
  return () => {
    const items = list();
    const key = items.map((r) => `${r.metadata.name}@${r.metadata.resourceVersion ?? ''}`).join(',');
    if (memo?.key !== key) {
      const r = reservationsFrom(items);
      if (onSkipped) for (const s of r.skipped) onSkipped(s);
      memo = { key, reservations: r.reservations };
    }
    return memo.reservations;
  };
}

/** Masked text of each reserved CIDR, in the order given (for `tabby ipam show`). */
export function reservedCidrTexts(r: Reservations): string[] {
  return r.cidrs.map((c) => formatCidr(cidrMasked(c)));
}

/** calico: allocationBlock.NumFreeAddresses — unallocated addresses that are not reserved. */
export function freeAddresses(b: IPAMBlockData, r: Reservations): number {
  if (r.empty) return b.unallocated.length;
  return freeCount(b, r.ordinalFilter(parseCidr(b.cidr)));
}

/** calico: allocationBlock.NumReservedAddresses — reserved addresses of the block, allocated or not. */
export function reservedInBlock(cidr: Cidr, r: Reservations): number {
  return Number(r.countIn(cidr));
}

export interface PoolSpace {
  capacity: bigint;
  /** Reserved addresses of the pool, allocated or not, inside blocks or not. */
  reserved: bigint;
  /** Addresses neither reserved nor inside one of the given blocks (a block's own count covers those). */
  availableOutsideBlocks: bigint;
}

/** calico: countPoolSpace — the pool's capacity, reserved count and unreserved space no block covers yet. */
export function poolSpace(pool: Cidr, r: Reservations, blocks: readonly Cidr[]): PoolSpace {
  const { lo, hi } = intervalOf(pool);
  const reservedHere = merge(
    [...r.cidrs, ...blocks]
      .filter((c) => c.family === pool.family)
      .map(intervalOf)
      .filter((i) => i.hi >= lo && i.lo <= hi),
  );
  const reserved = r.countIn(pool);
  const unavailable = coveredIn(reservedHere, lo, hi);
  return { capacity: cidrSize(pool), reserved, availableOutsideBlocks: cidrSize(pool) - unavailable };
}
