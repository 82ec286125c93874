// One group-commit round of the agent's AddressAssigner (address-assigner.ts), decided without I/O: decide, then act
// (STYLE.md §4). The assigner commits what `planRound` decides and answers each request as `roundResults` says.
//
// Inputs: the node's own blocks as the agent last wrote or read them, and the round's requests (assign from the head
// of the pools' blocks, assign one ordinal, release ordinals of one block, release a handle everywhere, settle a
// handle's counts in the node's blocks).
// Outputs of `planRound`: a working copy of each block the round touches, the ordinals granted to each request, the
// handle counts to raise before any block write (I3) and to lower after each block write, what each release found
// unallocated, the handles whose counts in the node's blocks exceed what those blocks hold (with the counts they
// should have), and the requests answered before any write (refused, or released through the operator because the
// block is no longer the node's), in request order.
// Outputs of `roundResults`, given which block writes failed and which handles survive the decrements: per request,
// the addresses it gained and whether it is answered, retried in the next round (its block write lost a race), or
// needs a new block (`needMore`). `decrementsAfter` says which handle counts to lower once the blocks are written.
// Invariants: requests are planned in order against the working copies, so two requests of one round never get the
// same ordinal; a request refused here is in no block's working copy; nothing here reads a store or a clock.
import { type Cidr, cidrContainsIP, compareCidr, formatIP, ipAtOffset, parseCidr } from '../net/index.js';
import type { IPAMAssignments } from './allocator.js';
import { type Versioned, blockKey } from './block-store.js';
import { addressWithMask } from './block-writes.js';
import {
  type OrdinalRelease,
  assignFromHead,
  assignOrdinal,
  cloneBlock,
  ordinalsOfHandle,
  releaseHandle,
  releaseOrdinals,
} from './block.js';
import { IpamError, blockRef } from './errors.js';
import type { IPAMBlockData, IPAMHandleData } from './model.js';
import type { IpamPool } from './pools.js';
import type { Reservations } from './reservations.js';

/** A block affine to the node, at the version the agent last wrote or read. */
export interface OwnBlock {
  cidr: Cidr;
  current: Versioned<IPAMBlockData>;
}

/** Answers a request once, even when a failing round also holds it in the queue for a retry. */
export class Reply<T> {
  private answered = false;

  constructor(
    private readonly resolve: (value: T) => void,
    private readonly reject: (e: Error) => void,
  ) {}

  get settled(): boolean {
    return this.answered;
  }

  ok(value: T): void {
    if (this.answered) return;
    this.answered = true;
    this.resolve(value);
  }

  fail(e: Error): void {
    if (this.answered) return;
    this.answered = true;
    this.reject(e);
  }
}

interface OpBase {
  /** Rounds this request was put back into the queue after. */
  rounds: number;
}

export interface AssignOp extends OpBase {
  kind: 'assign';
  ia: IPAMAssignments;
  handleId: string | null;
  attrs: Record<string, string>;
  pools: readonly IpamPool[];
  maxBlocksPerHost: number;
  /** IPReservations: their addresses are skipped, a wholly reserved block is not used. */
  reservations?: Reservations;
  reply: Reply<void>;
}

export interface AssignOrdinalOp extends OpBase {
  kind: 'assignOrdinal';
  cidrText: string;
  ordinal: number;
  handleId: string | null;
  attrs: Record<string, string>;
  address: string;
  reply: Reply<void>;
}

export type AddressRelease = OrdinalRelease & { address: string };

export interface ReleaseOp extends OpBase {
  kind: 'release';
  cidrText: string;
  releases: AddressRelease[];
  /** With the addresses that were not allocated. */
  reply: Reply<string[]>;
}

export interface ReleaseHandleOp extends OpBase {
  kind: 'releaseHandle';
  handleId: string;
  /** `true`: this round deleted the handle (its last count went), so nothing is left elsewhere either. */
  reply: Reply<boolean>;
}

/**
 * Lowers a handle's counts for the node's blocks to what those blocks hold under it: the repair of a release
 * interrupted between its block write and its handle write (the block no longer holds the address, the handle still
 * counts it), done when the kubelet retries the DEL instead of after GC's grace. Planned inside a round, after every
 * earlier round of this agent, so the blocks seen include every assignment whose increment the handle carries; the
 * write is a compare-and-swap on the version read, so an increment made since (a new ADD of the same handle) makes it
 * give up rather than undo that increment (I3: never under-count).
 */
export interface SettleHandleOp extends OpBase {
  kind: 'settleHandle';
  /** The handle as read from the store after the release. */
  handle: Versioned<IPAMHandleData>;
  /** Answered once the repair is written, or given up on (the handle changed: left to the next DEL or GC). */
  reply: Reply<void>;
}

export type Op = AssignOp | AssignOrdinalOp | ReleaseOp | ReleaseHandleOp | SettleHandleOp;

/** Handle → block CIDR → count. */
export type HandleDeltas = Map<string, Record<string, number>>;

export function addDelta(map: HandleDeltas, handle: string, cidr: string, n: number): void {
  const d = map.get(handle) ?? {};
  d[cidr] = (d[cidr] ?? 0) + n;
  map.set(handle, d);
}

export interface BlockWork {
  own: OwnBlock;
  next: IPAMBlockData;
  /** Changed by the round: written (one compare-and-swap) by the commit. */
  dirty: boolean;
}

export interface Grant {
  cidr: string;
  ordinals: number[];
}

/** A request answered before any write. */
export type EarlyAnswer = { kind: 'refuse'; op: Op; error: IpamError } | { kind: 'forward'; op: ReleaseOp };

export interface RoundPlan {
  /** Block CIDR → its working copy. */
  work: Map<string, BlockWork>;
  grants: Map<Op, Grant[]>;
  /** Raised before any block write (I3). */
  increments: HandleDeltas;
  /** Block → counts to lower once that block is written (the releases in it). */
  releaseDecrements: Map<string, HandleDeltas>;
  /** What each release found not allocated. */
  releaseOut: Map<ReleaseOp, string[]>;
  /** Handle repairs: the block counts each settled handle should have (written after the block writes). */
  settles: Map<SettleHandleOp, Record<string, number>>;
  /** The requests the writes decide, in request order. */
  active: Op[];
  early: EarlyAnswer[];
}

/** Own blocks inside one of `pools`, in CIDR order: where an assignment looks first. */
export function ownBlocksIn(own: ReadonlyMap<string, OwnBlock>, pools: readonly IpamPool[]): OwnBlock[] {
  const out: OwnBlock[] = [];
  for (const ob of own.values()) {
    if (pools.some((p) => p.family === ob.cidr.family && cidrContainsIP(p.cidr, ob.cidr.network))) out.push(ob);
  }
  return out.sort((a, b) => compareCidr(a.cidr, b.cidr));
}

export function planRound(own: ReadonlyMap<string, OwnBlock>, ops: readonly Op[], node: string): RoundPlan {
  const plan: RoundPlan = {
    work: new Map(),
    grants: new Map(),
    increments: new Map(),
    releaseDecrements: new Map(),
    releaseOut: new Map(),
    settles: new Map(),
    active: [],
    early: [],
  };
  const { work, grants, increments, releaseDecrements } = plan;
  const touch = (ob: OwnBlock): BlockWork => {
    const key = ob.current.value.cidr;
    let w = work.get(key);
    if (w === undefined) {
      w = { own: ob, next: cloneBlock(ob.current.value), dirty: false };
      work.set(key, w);
    }
    return w;
  };
  const grant = (op: Op, cidr: string, ordinals: number[]) => {
    const g = grants.get(op) ?? [];
    g.push({ cidr, ordinals });
    grants.set(op, g);
  };
  const decrement = (cidr: string, handle: string, n: number) => {
    const per = releaseDecrements.get(cidr) ?? new Map<string, Record<string, number>>();
    addDelta(per, handle, cidr, -n);
    releaseDecrements.set(cidr, per);
  };
  const refuse = (op: Op, error: IpamError) => plan.early.push({ kind: 'refuse', op, error });

  for (const op of ops) {
    switch (op.kind) {
      case 'assign': {
        let need = op.ia.numRequested - op.ia.ips.length;
        for (const ob of ownBlocksIn(own, op.pools)) {
          if (need <= 0) break;
          const view = work.get(ob.current.value.cidr)?.next ?? ob.current.value;
          if (view.unallocated.length === 0) continue;
          const reserved = op.reservations?.ordinalFilter(ob.cidr);
          if (reserved !== undefined && op.reservations?.matchesWholeCidr(ob.cidr) === true) continue;
          const w = touch(ob);
          const ords = assignFromHead(w.next, need, op.handleId, op.attrs, reserved);
          if (ords.length === 0) continue;
          w.dirty = true;
          need -= ords.length;
          grant(op, w.next.cidr, ords);
          if (op.handleId !== null) addDelta(increments, op.handleId, w.next.cidr, ords.length);
        }
        plan.active.push(op);
        break;
      }
      case 'assignOrdinal': {
        const ob = own.get(op.cidrText);
        const ref = blockRef(blockKey(op.cidrText));
        if (ob === undefined) {
          refuse(op, new IpamError('notOwnBlock', ref, `block ${op.cidrText} is no longer affine to node ${node}`));
          break;
        }
        const w = touch(ob);
        if (!assignOrdinal(w.next, op.ordinal, op.handleId, op.attrs)) {
          refuse(op, new IpamError('alreadyAssigned', ref, `Address already assigned in block (${op.address})`));
          break;
        }
        w.dirty = true;
        grant(op, op.cidrText, [op.ordinal]);
        if (op.handleId !== null) addDelta(increments, op.handleId, op.cidrText, 1);
        plan.active.push(op);
        break;
      }
      case 'release': {
        const ob = own.get(op.cidrText);
        if (ob === undefined) {
          // No longer ours (released or reclaimed meanwhile): the operator's path releases anywhere.
          plan.early.push({ kind: 'forward', op });
          break;
        }
        const w = touch(ob);
        const out = releaseOrdinals(w.next, op.releases);
        if (!out.ok) {
          const address = formatIP(ipAtOffset(ob.cidr, out.ordinal));
          refuse(
            op,
            new IpamError(
              out.reason,
              blockRef(blockKey(op.cidrText)),
              out.reason === 'badSequenceNumber'
                ? `release of ${address}: sequence number ${out.requested} does not match the allocation's ${out.found}`
                : `release of ${address}: handle ${out.requested} does not match the allocation's ${out.found || '(none)'}`,
            ),
          );
          break;
        }
        if (out.released.length > 0) w.dirty = true;
        plan.releaseOut.set(
          op,
          out.notAllocated.map((o) => formatIP(ipAtOffset(ob.cidr, o))),
        );
        for (const [h, n] of out.countByHandle) decrement(op.cidrText, h, n);
        plan.active.push(op);
        break;
      }
      case 'releaseHandle': {
        for (const ob of own.values()) {
          const view = work.get(ob.current.value.cidr)?.next ?? ob.current.value;
          if (ordinalsOfHandle(view, op.handleId).length === 0) continue;
          const w = touch(ob);
          const released = releaseHandle(w.next, op.handleId);
          w.dirty = true;
          decrement(w.next.cidr, op.handleId, released.length);
          grant(op, w.next.cidr, released);
        }
        plan.active.push(op);
        break;
      }
      case 'settleHandle': {
        const id = op.handle.value.handleID;
        const block = { ...op.handle.value.block };
        let changed = false;
        for (const [cidr, n] of Object.entries(block)) {
          const ob = own.get(cidr);
          if (ob === undefined) continue;
          const view = work.get(cidr)?.next ?? ob.current.value;
          // An assignment of this handle in this round raises it before the repair is written: the repair then
          // conflicts and is dropped, whatever it computed here.
          const held = ordinalsOfHandle(view, id).length;
          if (n <= held) continue;
          changed = true;
          if (held > 0) block[cidr] = held;
          else delete block[cidr];
        }
        if (changed) plan.settles.set(op, block);
        plan.active.push(op);
        break;
      }
    }
  }
  return plan;
}

/** The handle of an assignment, which the round raised before writing its blocks. */
export function incrementedHandle(op: Op): string | null {
  return op.kind === 'assign' || op.kind === 'assignOrdinal' ? op.handleId : null;
}

/** Counts to lower after the block writes: releases in written blocks, and the increments of blocks not written. */
export function decrementsAfter(plan: RoundPlan, failed: ReadonlySet<string>): HandleDeltas {
  const decrements: HandleDeltas = new Map();
  for (const [cidr, per] of plan.releaseDecrements) {
    if (failed.has(cidr)) continue;
    for (const [h, d] of per) for (const [c, n] of Object.entries(d)) addDelta(decrements, h, c, n);
  }
  for (const op of plan.active) {
    const handle = incrementedHandle(op);
    if (handle === null) continue;
    for (const g of plan.grants.get(op) ?? [])
      if (failed.has(g.cidr)) addDelta(decrements, handle, g.cidr, -g.ordinals.length);
  }
  return decrements;
}

type Next = 'answer' | 'retry';

/** What a request of the round gets once the writes are done. */
export type RoundResult =
  | { kind: 'assign'; op: AssignOp; addresses: string[]; next: Next | 'needMore' }
  | { kind: 'assignOrdinal'; op: AssignOrdinalOp; next: Next }
  | { kind: 'release'; op: ReleaseOp; next: Next; unallocated: string[] }
  | { kind: 'releaseHandle'; op: ReleaseHandleOp; next: Next; gone: boolean }
  | { kind: 'settleHandle'; op: SettleHandleOp; next: Next };

/**
 * Per active request, in order: a request whose block write failed is retried (addresses granted in blocks that
 * were written are kept); an assignment still short of addresses without a lost write needs more space.
 */
export function roundResults(
  plan: RoundPlan,
  failed: ReadonlySet<string>,
  survives: ReadonlyMap<string, boolean>,
): RoundResult[] {
  return plan.active.map((op): RoundResult => {
    const gs = plan.grants.get(op) ?? [];
    const lost = gs.some((g) => failed.has(g.cidr));
    switch (op.kind) {
      case 'assign': {
        const addresses: string[] = [];
        for (const g of gs) {
          if (failed.has(g.cidr)) continue;
          const cidr = parseCidr(g.cidr);
          for (const o of g.ordinals) addresses.push(addressWithMask(cidr, o));
        }
        const next = op.ia.ips.length + addresses.length >= op.ia.numRequested ? 'answer' : lost ? 'retry' : 'needMore';
        return { kind: 'assign', op, addresses, next };
      }
      case 'assignOrdinal':
        return { kind: 'assignOrdinal', op, next: lost ? 'retry' : 'answer' };
      case 'release':
        return failed.has(op.cidrText)
          ? { kind: 'release', op, next: 'retry', unallocated: [] }
          : { kind: 'release', op, next: 'answer', unallocated: plan.releaseOut.get(op) ?? [] };
      case 'releaseHandle':
        return {
          kind: 'releaseHandle',
          op,
          next: lost ? 'retry' : 'answer',
          gone: survives.get(op.handleId) === false,
        };
      case 'settleHandle':
        return { kind: 'settleHandle', op, next: 'answer' };
    }
  });
}
