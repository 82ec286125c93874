// Store-level assignment and release in one block, with the handle ordering that keeps handles over-counting
// (handles.ts): increment → block CAS write → (on failure) decrement; release: block CAS write → decrement.
// Shared by the Calico-style allocator, the claimer's borrowing, and GC. The agent's AddressAssigner does the same
// in batches (address-assigner.ts).
import { type Cidr, type IP, formatIP, ipAtOffset, ipOffset, parseCidr, parseIP } from '../net/index.js';
import { type BlockStore, type Versioned, blockKey } from './block-store.js';
import {
  type OrdinalRelease,
  assignFromHead,
  assignOrdinal,
  bumpSequence,
  cloneBlock,
  isEmpty,
  releaseHandle,
  releaseOrdinals,
} from './block.js';
import { DATASTORE_RETRIES, IpamError, blockRef, retriesExhausted } from './errors.js';
import { decrementHandle, incrementHandle } from './handles.js';
import { ATTR_NODE, type IPAMBlockData, type IPAMHandleData, hostAffinity } from './model.js';

/** `10.244.1.5/26`: the address with its block's prefix length, as Calico's AutoAssign returns it. */
export function addressWithMask(block: Cidr, ordinal: number): string {
  return `${formatIP(ipAtOffset(block, ordinal))}/${block.prefix}`;
}

export function addressOf(block: Cidr, ordinal: number): IP {
  return ipAtOffset(block, ordinal);
}

export function ordinalOf(block: Cidr, ip: IP): number {
  return ipOffset(block, ip);
}

export interface AssignInBlockArgs {
  num: number;
  handleId: string | null;
  attrs: Record<string, string> | null;
  /** With strict affinity: the node the block must be affine to (calico: affinityCheck). */
  requireAffinity?: string;
  reserved?: (ordinal: number) => boolean;
}

export type AssignInBlockOutcome =
  | {
      kind: 'assigned';
      ips: string[];
      ordinals: number[];
      block: Versioned<IPAMBlockData>;
      /** The handle as written by this assignment's increment (undefined without a handle). */
      handle: Versioned<IPAMHandleData> | undefined;
    }
  | { kind: 'full' }
  | { kind: 'gone' };

/** The node a new handle records: the one the allocation's attributes name (a pod's node), else the affinity asked. */
function handleNode(args: Pick<AssignInBlockArgs, 'attrs' | 'requireAffinity'>): string | undefined {
  return args.attrs?.[ATTR_NODE] ?? args.requireAffinity;
}

function affinityCheck(b: IPAMBlockData, node: string | undefined): void {
  if (node === undefined) return;
  if (b.affinity === null) {
    throw new IpamError(
      'affinityMismatch',
      blockRef(blockKey(b.cidr)),
      `Attempt to assign from block ${b.cidr} with no affinity`,
    );
  }
  if (b.affinity !== hostAffinity(node)) {
    throw new IpamError(
      'affinityMismatch',
      blockRef(blockKey(b.cidr)),
      `Block affinity (${b.affinity}) does not match provided (${node}:host)`,
    );
  }
}

/** Auto-assigns up to `num` addresses from `start` (re-reading it on conflict). */
export async function assignInBlock(
  store: BlockStore,
  start: Versioned<IPAMBlockData>,
  args: AssignInBlockArgs,
): Promise<AssignInBlockOutcome> {
  let current: Versioned<IPAMBlockData> | undefined = start;
  const key = blockKey(start.value.cidr);
  const cidr = parseCidr(start.value.cidr);
  for (let i = 0; i < DATASTORE_RETRIES; i++) {
    if (current === undefined) return { kind: 'gone' };
    affinityCheck(current.value, args.requireAffinity);
    const next = cloneBlock(current.value);
    const ordinals = assignFromHead(next, args.num, args.handleId, args.attrs, args.reserved);
    if (ordinals.length === 0) return { kind: 'full' };
    const handle =
      args.handleId === null
        ? undefined
        : await incrementHandle(store, args.handleId, next.cidr, ordinals.length, undefined, handleNode(args));
    bumpSequence(next);
    const r = await store.blocks.update(next, current.version);
    if (r.ok) {
      return {
        kind: 'assigned',
        ips: ordinals.map((o) => addressWithMask(cidr, o)),
        ordinals,
        block: { value: r.value, version: r.version },
        handle,
      };
    }
    if (args.handleId !== null) await decrementHandle(store, args.handleId, next.cidr, ordinals.length);
    if (r.reason === 'notFound') return { kind: 'gone' };
    current = await store.blocks.get(key);
  }
  throw retriesExhausted(blockRef(key));
}

/** Assigns one specific ordinal. Throws alreadyAssigned / affinityMismatch; 'gone' when the block vanished. */
export async function assignOrdinalInBlock(
  store: BlockStore,
  start: Versioned<IPAMBlockData>,
  ordinal: number,
  args: Omit<AssignInBlockArgs, 'num' | 'reserved'> & { address: string },
): Promise<{ kind: 'assigned'; block: Versioned<IPAMBlockData> } | { kind: 'gone' }> {
  let current: Versioned<IPAMBlockData> | undefined = start;
  const key = blockKey(start.value.cidr);
  for (let i = 0; i < DATASTORE_RETRIES; i++) {
    if (current === undefined) return { kind: 'gone' };
    if (args.requireAffinity !== undefined) {
      try {
        affinityCheck(current.value, args.requireAffinity);
      } catch (e) {
        if (current.value.affinity !== null) {
          throw new IpamError('affinityMismatch', blockRef(key), 'Block host affinity does not match');
        }
        throw e;
      }
    }
    const next = cloneBlock(current.value);
    if (!assignOrdinal(next, ordinal, args.handleId, args.attrs)) {
      throw new IpamError('alreadyAssigned', blockRef(key), `Address already assigned in block (${args.address})`);
    }
    if (args.handleId !== null) await incrementHandle(store, args.handleId, next.cidr, 1, undefined, handleNode(args));
    bumpSequence(next);
    const r = await store.blocks.update(next, current.version);
    if (r.ok) return { kind: 'assigned', block: { value: r.value, version: r.version } };
    if (args.handleId !== null) await decrementHandle(store, args.handleId, next.cidr, 1);
    if (r.reason === 'notFound') return { kind: 'gone' };
    current = await store.blocks.get(key);
  }
  throw retriesExhausted(blockRef(key));
}

export interface AddressRelease extends Omit<OrdinalRelease, 'ordinal'> {
  address: string;
}

/**
 * Releases addresses of one block (calico: releaseIPsFromBlock): block CAS write (or delete, when it ends up empty
 * and un-affine), then handle decrements. Returns the addresses that were not allocated.
 */
export async function releaseInBlock(
  store: BlockStore,
  blockCidr: string,
  releases: readonly AddressRelease[],
  known?: Versioned<IPAMBlockData>,
): Promise<string[]> {
  const key = blockKey(blockCidr);
  const cidr = parseCidr(blockCidr);
  const requests = releases.map((r) => ({ ...r, ordinal: ipOffset(cidr, parseIP(r.address)) }));
  let current = known;
  let mustRead = known === undefined;
  for (let i = 0; i < DATASTORE_RETRIES; i++) {
    if (mustRead) current = await store.blocks.get(key);
    mustRead = true;
    if (current === undefined) return releases.map((r) => r.address);
    const next = cloneBlock(current.value);
    const out = releaseOrdinals(next, requests);
    if (!out.ok) {
      const address = formatIP(ipAtOffset(cidr, out.ordinal));
      throw new IpamError(
        out.reason,
        blockRef(key),
        out.reason === 'badSequenceNumber'
          ? `release of ${address}: sequence number ${out.requested} does not match the allocation's ${out.found}`
          : `release of ${address}: handle ${out.requested} does not match the allocation's ${out.found || '(none)'}`,
      );
    }
    const unallocated = out.notAllocated.map((o) => formatIP(ipAtOffset(cidr, o)));
    if (out.released.length === 0) return unallocated;
    if (isEmpty(next) && next.affinity === null) {
      const d = await store.blocks.delete(key, current.version);
      if (!d.ok && d.reason === 'conflict') continue;
      if (!d.ok) return releases.map((r) => r.address);
    } else {
      bumpSequence(next);
      const u = await store.blocks.update(next, current.version);
      if (!u.ok && u.reason === 'conflict') continue;
      if (!u.ok) return releases.map((r) => r.address);
    }
    for (const [h, n] of out.countByHandle) await decrementHandle(store, h, blockCidr, n);
    return unallocated;
  }
  throw retriesExhausted(blockRef(key));
}

/** Releases every address `handleId` holds in one block; returns how many were released (the caller decrements). */
export async function releaseHandleInBlock(
  store: BlockStore,
  blockCidr: string,
  handleId: string,
  sequenceNumber?: bigint,
): Promise<number> {
  const key = blockKey(blockCidr);
  for (let i = 0; i < DATASTORE_RETRIES; i++) {
    const current = await store.blocks.get(key);
    if (current === undefined) return 0;
    const next = cloneBlock(current.value);
    const released = releaseHandle(next, handleId, sequenceNumber);
    if (released.length === 0) return 0;
    if (isEmpty(next) && next.affinity === null) {
      const d = await store.blocks.delete(key, current.version);
      if (!d.ok && d.reason === 'conflict') continue;
      if (!d.ok) return 0;
    } else {
      bumpSequence(next);
      const u = await store.blocks.update(next, current.version);
      if (!u.ok && u.reason === 'conflict') continue;
      if (!u.ok) return 0;
    }
    return released.length;
  }
  throw retriesExhausted(blockRef(key));
}
