// Pure operations on one IPAM block, in ordinals (ordinal o ↔ address cidr.base + o; ordinal 0, the network
// address, is handed out like any other). Mirrors calico: libcalico-go/lib/ipam/ipam_block.go.
//
// Inputs: an IPAMBlockData the caller owns (functions named `assign…`/`release…` mutate it; clone first with
// `cloneBlock` when it came from a store or a cache). Outputs: ordinals assigned/released and per-handle counts.
//
// Invariants kept by every mutating function here (checked by `blockShapeProblems`, which check.ts reports):
// - B1: each ordinal is in exactly one place: once in `unallocated`, or non-null in `allocations` — never both,
//   never twice in `unallocated`. So handing out the head of `unallocated` can never give an address twice.
// - B2: every non-null `allocations[o]` indexes an existing attribute; unreferenced attributes are compacted away
//   on release and identical (handle, attributes) pairs share one index.
// - B3: `sequenceNumberForAllocation` has an entry exactly for allocated ordinals (entries Calico wrote for
//   pre-allocated Windows ordinals are tolerated).
// - Auto-assignment takes ordinals from the head of `unallocated` in order, skipping (and keeping in place)
//   ordinals the caller says are reserved; release appends to the tail (FIFO: the longest-free address is reused
//   first), as Calico v3.24–v3.32 does.
import {
  type AllocationAttribute,
  type IPAMBlockData,
  WINDOWS_RESERVED_HANDLE,
  ATTR_NOTE,
  sanitizeHandle,
} from './model.js';

export interface NewBlockOptions {
  affinity: string | null;
  affinityClaimTime: string | null;
  /** Calico uses the creation time in ns so a deleted-and-recreated block never repeats sequence numbers. */
  sequenceNumber: bigint;
  /** Windows hosts pre-allocate the first `start` and last `end` ordinals (calico: newBlock with HostReservedAttr). */
  hostReserved?: { start: number; end: number; note: string };
}

export function newBlock(cidr: string, size: number, opts: NewBlockOptions): IPAMBlockData {
  const allocations: (number | null)[] = new Array<number | null>(size).fill(null);
  const attributes: AllocationAttribute[] = [];
  let unallocated = Array.from({ length: size }, (_, i) => i);
  const r = opts.hostReserved;
  if (r !== undefined && r.start + r.end < size) {
    unallocated = unallocated.slice(r.start, size - r.end);
    attributes.push({ handle_id: WINDOWS_RESERVED_HANDLE, secondary: { [ATTR_NOTE]: r.note } });
    for (let i = 0; i < r.start; i++) allocations[i] = 0;
    for (let i = 1; i <= r.end; i++) allocations[size - i] = 0;
  }
  return {
    cidr,
    affinity: opts.affinity,
    affinityClaimTime: opts.affinityClaimTime,
    allocations,
    unallocated,
    attributes,
    sequenceNumber: opts.sequenceNumber,
    sequenceNumberForAllocation: {},
    deleted: false,
  };
}

export function cloneBlock(b: IPAMBlockData): IPAMBlockData {
  return {
    cidr: b.cidr,
    affinity: b.affinity,
    affinityClaimTime: b.affinityClaimTime,
    allocations: b.allocations.slice(),
    unallocated: b.unallocated.slice(),
    attributes: b.attributes.map((a) => {
      const copy: AllocationAttribute = {
        handle_id: a.handle_id,
        secondary: a.secondary === null ? null : { ...a.secondary },
      };
      if (a.extra !== undefined) copy.extra = a.extra;
      return copy;
    }),
    sequenceNumber: b.sequenceNumber,
    sequenceNumberForAllocation: { ...b.sequenceNumberForAllocation },
    deleted: b.deleted,
  };
}

export function blockSize(b: IPAMBlockData): number {
  return b.allocations.length;
}

/** Free addresses: `unallocated` minus the ones the caller reserves (reserved addresses are never handed out). */
export function freeCount(b: IPAMBlockData, reserved?: (ordinal: number) => boolean): number {
  if (reserved === undefined) return b.unallocated.length;
  let n = 0;
  for (const o of b.unallocated) if (!reserved(o)) n++;
  return n;
}

export function allocatedOrdinals(b: IPAMBlockData): number[] {
  const out: number[] = [];
  for (let o = 0; o < b.allocations.length; o++) if (b.allocations[o] !== null) out.push(o);
  return out;
}

function isWindowsReserved(attr: AllocationAttribute | undefined): boolean {
  return (
    attr?.handle_id !== null &&
    attr?.handle_id !== undefined &&
    attr.handle_id.toLowerCase() === WINDOWS_RESERVED_HANDLE
  );
}

/** No allocation other than Windows-reserved ones (calico: allocationBlock.empty). */
export function isEmpty(b: IPAMBlockData): boolean {
  for (const idx of b.allocations) {
    if (idx === null) continue;
    if (!isWindowsReserved(b.attributes[idx])) return false;
  }
  return true;
}

/** Count of allocations that are not Windows-reserved. */
export function inUseCount(b: IPAMBlockData): number {
  let n = 0;
  for (const idx of b.allocations) if (idx !== null && !isWindowsReserved(b.attributes[idx])) n++;
  return n;
}

export function attributeOf(b: IPAMBlockData, ordinal: number): AllocationAttribute | undefined {
  const idx = b.allocations[ordinal];
  return idx === null || idx === undefined ? undefined : b.attributes[idx];
}

export function handleOf(b: IPAMBlockData, ordinal: number): string | undefined {
  const h = attributeOf(b, ordinal)?.handle_id;
  return h === null || h === undefined ? undefined : sanitizeHandle(h);
}

function sameAttrs(a: Record<string, string> | null, b: Record<string, string> | null): boolean {
  if (a === null || b === null) return a === b;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka) if (a[k] !== b[k]) return false;
  return true;
}

/** Index of an identical (handle, attributes) entry, appending one when there is none (calico: findOrAddAttribute). */
export function findOrAddAttribute(
  b: IPAMBlockData,
  handleId: string | null,
  attrs: Record<string, string> | null,
): number {
  for (let i = 0; i < b.attributes.length; i++) {
    const a = b.attributes[i]!;
    if (a.handle_id === handleId && sameAttrs(a.secondary, attrs)) return i;
  }
  b.attributes.push({ handle_id: handleId, secondary: attrs === null ? null : { ...attrs } });
  return b.attributes.length - 1;
}

/**
 * Takes up to `num` ordinals from the head of `unallocated`, skipping reserved ones (which keep their place), and
 * records them under one shared attribute. Returns the ordinals in hand-out order; fewer than `num` when full.
 */
export function assignFromHead(
  b: IPAMBlockData,
  num: number,
  handleId: string | null,
  attrs: Record<string, string> | null,
  reserved?: (ordinal: number) => boolean,
): number[] {
  const taken: number[] = [];
  if (num <= 0) return taken;
  const kept: number[] = [];
  let attrIndex = -1;
  let i = 0;
  for (; i < b.unallocated.length && taken.length < num; i++) {
    const o = b.unallocated[i]!;
    if (reserved?.(o) === true) {
      kept.push(o);
      continue;
    }
    if (attrIndex < 0) attrIndex = findOrAddAttribute(b, handleId, attrs);
    b.allocations[o] = attrIndex;
    b.sequenceNumberForAllocation[String(o)] = b.sequenceNumber;
    taken.push(o);
  }
  if (taken.length > 0) b.unallocated = kept.concat(b.unallocated.slice(i));
  return taken;
}

/** Assigns one specific ordinal; false when it is already allocated (Calico: "Address already assigned in block"). */
export function assignOrdinal(
  b: IPAMBlockData,
  ordinal: number,
  handleId: string | null,
  attrs: Record<string, string> | null,
): boolean {
  if (ordinal < 0 || ordinal >= b.allocations.length)
    throw new RangeError(`ordinal ${ordinal} outside block ${b.cidr}`);
  if (b.allocations[ordinal] !== null) return false;
  b.allocations[ordinal] = findOrAddAttribute(b, handleId, attrs);
  b.sequenceNumberForAllocation[String(ordinal)] = b.sequenceNumber;
  const at = b.unallocated.indexOf(ordinal);
  if (at >= 0) b.unallocated.splice(at, 1);
  return true;
}

export interface OrdinalRelease {
  ordinal: number;
  /** When given, the allocation must carry this handle, else the whole request fails (calico: ErrorBadHandle). */
  handleId?: string;
  /** When given, must equal the allocation's sequence number, else the whole request fails (ErrorBadSequenceNumber). */
  sequenceNumber?: bigint;
}

export type ReleaseOutcome =
  | {
      ok: true;
      released: number[];
      /** Ordinals that were already free (reported back, not an error). */
      notAllocated: number[];
      /** Handle → how many of its addresses were released here (handles to decrement after the block write). */
      countByHandle: Map<string, number>;
    }
  | {
      ok: false;
      reason: 'badSequenceNumber' | 'badHandle';
      ordinal: number;
      requested: string;
      found: string;
    };

/**
 * Releases ordinals (de-duplicated). Fails as a whole, changing nothing, when a handle or sequence number given in
 * the request does not match (calico: allocationBlock.release): the caller's information is stale.
 */
export function releaseOrdinals(b: IPAMBlockData, requests: readonly OrdinalRelease[]): ReleaseOutcome {
  const unique = new Map<number, OrdinalRelease>();
  for (const r of requests) unique.set(r.ordinal, r);
  const released: number[] = [];
  const notAllocated: number[] = [];
  const countByHandle = new Map<string, number>();
  for (const [o, r] of unique) {
    if (o < 0 || o >= b.allocations.length) throw new RangeError(`ordinal ${o} outside block ${b.cidr}`);
    const current = b.sequenceNumberForAllocation[String(o)] ?? 0n;
    if (r.sequenceNumber !== undefined && r.sequenceNumber !== current) {
      return {
        ok: false,
        reason: 'badSequenceNumber',
        ordinal: o,
        requested: String(r.sequenceNumber),
        found: String(current),
      };
    }
    if (b.allocations[o] === null) {
      notAllocated.push(o);
      continue;
    }
    const h = handleOf(b, o) ?? '';
    if (r.handleId !== undefined && r.handleId !== '' && r.handleId !== h) {
      return { ok: false, reason: 'badHandle', ordinal: o, requested: r.handleId, found: h };
    }
    released.push(o);
    if (h !== '') countByHandle.set(h, (countByHandle.get(h) ?? 0) + 1);
  }
  freeOrdinals(b, released);
  return { ok: true, released, notAllocated, countByHandle };
}

/** Releases every ordinal held by `handleId` (optionally only those allocated at `sequenceNumber`). */
export function releaseHandle(b: IPAMBlockData, handleId: string, sequenceNumber?: bigint): number[] {
  const released: number[] = [];
  for (let o = 0; o < b.allocations.length; o++) {
    if (b.allocations[o] === null || handleOf(b, o) !== handleId) continue;
    if (sequenceNumber !== undefined && (b.sequenceNumberForAllocation[String(o)] ?? 0n) !== sequenceNumber) continue;
    released.push(o);
  }
  freeOrdinals(b, released);
  return released;
}

export function ordinalsOfHandle(b: IPAMBlockData, handleId: string): number[] {
  const out: number[] = [];
  for (let o = 0; o < b.allocations.length; o++)
    if (b.allocations[o] !== null && handleOf(b, o) === handleId) out.push(o);
  return out;
}

/** Handle → count of ordinals it holds in this block (allocations without a handle are not counted). */
export function handleCounts(b: IPAMBlockData): Map<string, number> {
  const out = new Map<string, number>();
  for (let o = 0; o < b.allocations.length; o++) {
    if (b.allocations[o] === null) continue;
    const h = handleOf(b, o);
    if (h !== undefined) out.set(h, (out.get(h) ?? 0) + 1);
  }
  return out;
}

function freeOrdinals(b: IPAMBlockData, ordinals: readonly number[]): void {
  if (ordinals.length === 0) return;
  for (const o of ordinals) {
    b.allocations[o] = null;
    b.unallocated.push(o);
    delete b.sequenceNumberForAllocation[String(o)];
  }
  compactAttributes(b);
}

/** Drops attributes no allocation references and rewrites indices (calico: deleteAttributes). */
export function compactAttributes(b: IPAMBlockData): void {
  const used = new Array<boolean>(b.attributes.length).fill(false);
  for (const idx of b.allocations) if (idx !== null && idx < used.length) used[idx] = true;
  if (used.every(Boolean)) return;
  const remap: number[] = [];
  const kept: AllocationAttribute[] = [];
  for (let i = 0; i < b.attributes.length; i++) {
    remap[i] = kept.length;
    if (used[i]) kept.push(b.attributes[i]!);
  }
  b.attributes = kept;
  for (let o = 0; o < b.allocations.length; o++) {
    const idx = b.allocations[o];
    if (idx !== null && idx !== undefined) b.allocations[o] = remap[idx]!;
  }
}

/** Every block write changes the sequence number (calico: blockReaderWriter.updateBlock). */
export function bumpSequence(b: IPAMBlockData): void {
  b.sequenceNumber += 1n;
}

/**
 * Structural problems that would let an address be handed out twice or lose track of one (B1–B3), as sentences
 * naming the ordinal. `expectedSize` is 2^(bits − prefix) of the block's CIDR.
 */
export function blockShapeProblems(b: IPAMBlockData, expectedSize: number): string[] {
  const problems: string[] = [];
  if (b.allocations.length !== expectedSize) {
    problems.push(`allocations has ${b.allocations.length} entries, the CIDR holds ${expectedSize} addresses`);
  }
  const seen = new Uint8Array(b.allocations.length);
  for (const o of b.unallocated) {
    if (!Number.isInteger(o) || o < 0 || o >= b.allocations.length) {
      problems.push(`unallocated lists ordinal ${o}, outside the block`);
      continue;
    }
    if (seen[o] === 1) problems.push(`unallocated lists ordinal ${o} twice`);
    seen[o] = 1;
    if (b.allocations[o] !== null) problems.push(`ordinal ${o} is both allocated and in unallocated`);
  }
  for (let o = 0; o < b.allocations.length; o++) {
    const idx = b.allocations[o];
    if (idx === null || idx === undefined) {
      if (seen[o] !== 1) problems.push(`ordinal ${o} is neither allocated nor in unallocated`);
      continue;
    }
    if (!Number.isInteger(idx) || idx < 0 || idx >= b.attributes.length) {
      problems.push(`ordinal ${o} points at attribute ${idx}, which does not exist`);
    }
  }
  return problems;
}
