// The allocator interface both allocation modes implement (Calico's ipam.Interface subset:
// calico: libcalico-go/lib/ipam/interface.go AutoAssign, AssignIP, ReleaseIPs, ReleaseByHandle).
// Implementations:
// - AddressAssigner (address-assigner.ts): the node agent's, one per node, only inside the node's own blocks, with
//   block claims and borrowing delegated to the operator's BlockClaimer through `BlockSource`.
// - CalicoStyleAllocator (calico-style-allocator.ts): Calico's way — the caller claims and assigns anywhere, reading
//   the store on every call; the operator's, for tunnel addresses and specific addresses outside an agent's blocks,
//   and the reference for semantics.
// Both return the same results for the same sequential requests (the shared table tests run against both).
import type { IPFamily } from '../net/index.js';
import type { IpamError } from './errors.js';
import type { IntendedUse, IpamConfig, NodeInfo } from './model.js';
import type { IpamPool } from './pools.js';
import { Reservations } from './reservations.js';

/** What an allocator needs to know about the cluster: served from caches (watches), never read per request. */
export interface IpamView {
  pools(): readonly IpamPool[];
  config(): IpamConfig;
  node(name: string): NodeInfo | undefined;
  /** The cluster's IPReservations; absent = none. */
  reservations?(): Reservations;
}

/** The view's reservations, none when it has none. */
export function reservationsOf(view: Pick<IpamView, 'reservations'>): Reservations {
  return view.reservations?.() ?? Reservations.none;
}

export interface AutoAssignArgs {
  num4: number;
  num6: number;
  /** Null only for legacy callers; every Tabby caller passes one. */
  handleId: string | null;
  attrs: Record<string, string>;
  node: string;
  /** Mandatory in Calico ("must specify the intended use when assigning an IP"). */
  use: IntendedUse | undefined;
  /** Pool CIDRs (or names) to use instead of selector-based choice. */
  ipv4Pools?: readonly string[];
  ipv6Pools?: readonly string[];
  /** Per-request block cap; the tighter of this and IPAMConfiguration wins; 0 = unset. */
  maxBlocksPerHost?: number;
  namespaceLabels?: Readonly<Record<string, string>>;
}

export interface IPAMAssignments {
  /** Addresses with the block's prefix length, as Calico returns them (e.g. `10.244.1.5/26`). */
  ips: string[];
  ipVersion: IPFamily;
  numRequested: number;
  /** Warnings, de-duplicated, in Calico's wording (e.g. "No IPs available in pools: [10.0.0.0/24]"). */
  msgs: string[];
}

export interface AutoAssignResult {
  v4?: IPAMAssignments;
  v6?: IPAMAssignments;
  /**
   * Set when assignment stopped early (e.g. blockLimit). Addresses already in `v4`/`v6` stay assigned: the caller
   * releases them (by handle) if it cannot use a partial result, exactly as with Calico.
   */
  error?: IpamError;
}

export interface AssignIPArgs {
  ip: string;
  handleId: string | null;
  attrs: Record<string, string>;
  node: string;
  use?: IntendedUse;
}

export interface ReleaseOptions {
  address: string;
  /** When set, the allocation must carry this handle. */
  handleId?: string;
  /** When set, the allocation must still be the one made at this block sequence number (GC's ABA guard). */
  sequenceNumber?: bigint;
}

export interface ReleaseResult {
  /** Addresses that were not allocated (not an error, as in Calico). */
  unallocated: string[];
}

export interface IpAllocator {
  autoAssign(args: AutoAssignArgs): Promise<AutoAssignResult>;
  assignIP(args: AssignIPArgs): Promise<void>;
  releaseIPs(opts: readonly ReleaseOptions[]): Promise<ReleaseResult>;
  /** Releases every address the handle holds; a missing handle is not an error. */
  releaseByHandle(handleId: string): Promise<void>;
  /** The addresses (without prefix length) the handle holds (calico: IPsByHandle). */
  ipsByHandle(handleId: string): Promise<string[]>;
}

export function newAssignments(family: IPFamily, num: number): IPAMAssignments {
  return { ips: [], ipVersion: family, numRequested: num, msgs: [] };
}

export function addMsg(a: IPAMAssignments, msg: string): void {
  if (!a.msgs.includes(msg)) a.msgs.push(msg);
}

/** calico: IPAMAssignments.PartialFulfillmentError — undefined when everything asked for was assigned. */
export function partialFulfillmentMessage(a: IPAMAssignments): string | undefined {
  if (a.ips.length >= a.numRequested) return undefined;
  const parts = [`Assigned ${a.ips.length} out of ${a.numRequested} requested IPv${a.ipVersion} addresses`, ...a.msgs];
  return parts.join('; ');
}

/** Go's `%v` of a []string, which Calico's messages embed: `[a b c]`. */
export function goList(items: readonly string[]): string {
  return `[${items.join(' ')}]`;
}
