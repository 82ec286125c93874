// Which IP pools an allocation may use (calico: libcalico-go/lib/ipam/ipam.go determinePools,
// prepareAffinityBlocksForHost, filterPoolsByUse).
//
// Inputs: pools as IPPool specs (with Calico's read defaults applied here), the node (name + labels), the
// namespace's labels, the address family, the intended use and optionally pools the caller named.
// Output: the usable pools in name order, or an IpamError saying why there are none.
// Rules, in Calico's order:
// 1. Enabled = this family, not disabled, not being deleted, not overlapping an older pool (the pool Calico v3.32
//    marks `Allocatable=False/CIDROverlap`). None ⇒ noQualifiedPool. Decided from the pools' specs here, never from
//    that status condition: the condition is written after the spec changes, so reading it back would act on a stale
//    verdict (seen: a pool whose bad edit was fixed still read `Allocatable=False` for a moment, and every empty
//    block of it was released).
// 2. Named pools must each be enabled ("the given pool (X) does not exist, or is not enabled") and are then used as
//    given, ignoring node/namespace selectors and assignmentMode.
// 3. Otherwise: Automatic pools whose nodeSelector matches the node and whose namespaceSelector (if any) matches
//    the namespace labels. None ⇒ "no configured Calico pools for node X".
// 4. Keep pools whose allowedUses contain the use. None ⇒ noQualifiedPool.
import {
  type Cidr,
  type IPFamily,
  type IP,
  type Selector,
  cidrContainsCidr,
  cidrContainsIP,
  formatCidr,
  parseCidr,
  parseSelector,
} from '../net/index.js';
import { findPoolOverlaps } from '../api/cross-checks.js';
import { IpamError, nodeRef, poolRef } from './errors.js';
import type { IntendedUse, NodeInfo } from './model.js';

export type EncapMode = 'Never' | 'Always' | 'CrossSubnet';

export interface IpamPool {
  name: string;
  cidr: Cidr;
  /** Canonical text of `cidr`. */
  cidrText: string;
  family: IPFamily;
  blockSize: number;
  disabled: boolean;
  /** metadata.deletionTimestamp is set. */
  deleting: boolean;
  /** False when the pool overlaps an older live pool (which keeps the range). */
  allocatable: boolean;
  nodeSelector: Selector;
  /** Undefined when the pool has none (any namespace). */
  namespaceSelector: Selector | undefined;
  allowedUses: readonly IntendedUse[];
  assignmentMode: 'Automatic' | 'Manual';
  ipipMode: EncapMode;
  vxlanMode: EncapMode;
}

/** The IPPool fields IPAM reads, as written in YAML (`src/api`'s IPPool type fits). */
export interface IPPoolLike {
  metadata: {
    name: string;
    creationTimestamp?: string | null | undefined;
    deletionTimestamp?: string | null | undefined;
  };
  spec: {
    cidr: string;
    blockSize?: number | undefined;
    disabled?: boolean | undefined;
    nodeSelector?: string | undefined;
    namespaceSelector?: string | undefined;
    allowedUses?: readonly string[] | undefined;
    assignmentMode?: string | undefined;
    ipipMode?: string | undefined;
    vxlanMode?: string | undefined;
  };
}

function encap(v: string | undefined): EncapMode {
  return v === 'Always' || v === 'CrossSubnet' ? v : 'Never';
}

/**
 * Builds the allocator's view of an IPPool, applying Calico's defaults on read (calico: convertIpPoolFromStorage):
 * blockSize 26/122, nodeSelector all(), allowedUses [Workload, Tunnel], assignmentMode Automatic, modes Never.
 * Throws IpamError (invalid) naming the pool and field when the CIDR or a selector does not parse.
 */
export function ipamPoolFrom(p: IPPoolLike, opts: { overlapsOlderPool?: boolean } = {}): IpamPool {
  const name = p.metadata.name;
  let cidr: Cidr;
  try {
    cidr = parseCidr(p.spec.cidr);
  } catch (e) {
    throw new IpamError('invalidRequest', poolRef(name), (e as Error).message, ['spec', 'cidr']);
  }
  const family = cidr.family;
  const blockSize =
    p.spec.blockSize !== undefined && p.spec.blockSize !== 0 ? p.spec.blockSize : family === 4 ? 26 : 122;
  const selector = (text: string | undefined, field: string): Selector | undefined => {
    if (text === undefined || text.trim() === '') return undefined;
    try {
      return parseSelector(text);
    } catch (e) {
      throw new IpamError('invalidRequest', poolRef(name), (e as Error).message, ['spec', field]);
    }
  };
  const uses = (p.spec.allowedUses ?? []).filter(
    (u): u is IntendedUse => u === 'Workload' || u === 'Tunnel' || u === 'LoadBalancer',
  );
  return {
    name,
    cidr,
    cidrText: formatCidr(cidr),
    family,
    blockSize,
    disabled: p.spec.disabled === true,
    deleting: p.metadata.deletionTimestamp !== undefined && p.metadata.deletionTimestamp !== null,
    allocatable: opts.overlapsOlderPool !== true,
    nodeSelector: selector(p.spec.nodeSelector, 'nodeSelector') ?? parseSelector('all()'),
    namespaceSelector: selector(p.spec.namespaceSelector, 'namespaceSelector'),
    allowedUses: uses.length > 0 ? uses : ['Workload', 'Tunnel'],
    assignmentMode: p.spec.assignmentMode === 'Manual' ? 'Manual' : 'Automatic',
    ipipMode: encap(p.spec.ipipMode),
    vxlanMode: encap(p.spec.vxlanMode),
  };
}

export function sortPools(pools: readonly IpamPool[]): IpamPool[] {
  return [...pools].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Pools IPAM may allocate from at all (rule 1), in name order. */
/**
 * Every pool as the allocator sees it, the overlap rule applied across them (`src/api/cross-checks.ts`, the same rule
 * the IPPool status reports). A pool that does not parse is left out and returned in `invalid`, naming its field.
 */
export function ipamPoolsFrom(pools: readonly IPPoolLike[]): { pools: IpamPool[]; invalid: IpamError[] } {
  const out: IpamPool[] = [];
  const invalid: IpamError[] = [];
  const parsed = pools.filter((p) => {
    try {
      parseCidr(p.spec.cidr);
      return true;
    } catch {
      return false;
    }
  });
  const losers = new Set(findPoolOverlaps(parsed).map((o) => o.pool));
  for (const p of pools) {
    try {
      out.push(ipamPoolFrom(p, { overlapsOlderPool: losers.has(p.metadata.name) }));
    } catch (err) {
      if (!(err instanceof IpamError)) throw err;
      invalid.push(err);
    }
  }
  return { pools: out, invalid };
}

export function enabledPools(pools: readonly IpamPool[], family: IPFamily): IpamPool[] {
  return sortPools(pools.filter((p) => p.family === family && !p.disabled && !p.deleting && p.allocatable));
}

export function poolSelectsNode(pool: IpamPool, node: NodeInfo): boolean {
  return pool.nodeSelector.matches(node.labels);
}

export interface PoolRequest {
  family: IPFamily;
  node: NodeInfo;
  use: IntendedUse | undefined;
  /** Pool CIDRs (or names) the caller insists on; selectors are then ignored. */
  requested?: readonly string[];
  /** Labels of the pod's namespace; undefined ⇒ the empty map, as Calico treats a missing namespace. */
  namespaceLabels?: Readonly<Record<string, string>>;
}

export interface PoolChoice {
  /** Pools the request may use (rules 1–4), in name order or the caller's order. */
  usable: IpamPool[];
  /** Enabled pools that select the node, any use (for releasing blocks whose pool stopped selecting it). */
  selectingNode: IpamPool[];
}

function canonicalCidrOrName(text: string): string {
  try {
    return formatCidr(parseCidr(text));
  } catch {
    return text;
  }
}

export function choosePools(pools: readonly IpamPool[], req: PoolRequest): PoolChoice {
  if (req.use === undefined) {
    throw new IpamError('useRequired', nodeRef(req.node.name), 'must specify the intended use when assigning an IP');
  }
  const enabled = enabledPools(pools, req.family);
  if (enabled.length === 0) {
    throw new IpamError('noQualifiedPool', nodeRef(req.node.name), 'cannot find a qualified ippool');
  }
  let selecting: IpamPool[];
  if (req.requested !== undefined && req.requested.length > 0) {
    selecting = req.requested.map((text) => {
      const want = canonicalCidrOrName(text);
      const p = enabled.find((e) => e.cidrText === want || e.name === text);
      if (p === undefined) {
        throw new IpamError(
          'poolNotEnabled',
          poolRef(text),
          `the given pool (${want}) does not exist, or is not enabled`,
        );
      }
      return p;
    });
  } else {
    const nsLabels = req.namespaceLabels ?? {};
    selecting = enabled.filter(
      (p) =>
        p.assignmentMode === 'Automatic' &&
        poolSelectsNode(p, req.node) &&
        (p.namespaceSelector === undefined || p.namespaceSelector.matches(nsLabels)),
    );
    if (selecting.length === 0) {
      throw new IpamError(
        'noQualifiedPool',
        nodeRef(req.node.name),
        `no configured Calico pools for node ${req.node.name}`,
      );
    }
  }
  const use = req.use;
  const usable = selecting.filter((p) => p.allowedUses.includes(use));
  if (usable.length === 0) {
    throw new IpamError(
      'noQualifiedPool',
      nodeRef(req.node.name),
      `cannot find a qualified ippool, no pools match the required use (${use})`,
    );
  }
  return { usable, selectingNode: selecting };
}

/** The pool (from `pools`, any state) whose CIDR holds the block `cidr`, if any. */
export function poolContaining(pools: readonly IpamPool[], cidr: Cidr): IpamPool | undefined {
  return pools.find((p) => cidrContainsCidr(p.cidr, cidr));
}

/** The first pool (in the given order) whose CIDR holds `ip`. */
export function poolOfAddress(pools: readonly IpamPool[], ip: IP): IpamPool | undefined {
  return pools.find((p) => cidrContainsIP(p.cidr, ip));
}
