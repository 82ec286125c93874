// `tabby ipam split N --name|--cidr` (calico: calicoctl/commands/ipam/split.go SplitPool, splitCIDR): a pool becomes
// N equal pools, `split-<name>-<i>`, each a copy of its spec with its own part of the CIDR, in address order.
//
// Calico's refusals, in its words: no name or CIDR; the pool not found; N not a power of 2 (1 included); the CIDR too
// small for N parts. Calico also refuses unless the datastore is locked (`calicoctl datastore migrate lock`), so that
// no IPAM data changes during the split. Tabby has no such lock; it refuses instead what the lock protects — a pool
// whose blocks hold any allocated address (release or drain them first) — and a split whose parts would be smaller
// than the pool's block size (Calico's validation refuses such a pool when the split creates it, after the original
// was already disabled).
// Pure: the caller lists the pool and its blocks, and carries out the plan (see the CLI for the order of writes).
import {
  type Cidr,
  cidrContainsCidr,
  cidrSize,
  formatCidr,
  makeCidr,
  networkAddress,
  ipAdd,
  parseCidr,
} from '../net/index.js';
import { inUseCount } from './block.js';
import type { IPAMBlockData } from './model.js';

/** The IPPool fields a split copies (the rest of the object is copied as it is). */
export interface SplitPoolLike {
  metadata: { name: string };
  spec: { cidr: string; blockSize?: number | undefined };
}

export class SplitError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SplitError';
  }
}

/** calico: splitCIDR — `parts` equal CIDRs in address order; Calico's errors. */
export function splitCidr(cidrText: string, parts: number): string[] {
  const power = Math.log2(parts);
  if (!Number.isInteger(parts) || parts < 1 || !Number.isInteger(power) || power === 0) {
    throw new SplitError(`number to split CIDR into is not a valid power of 2: ${parts}`);
  }
  let cidr: Cidr;
  try {
    cidr = parseCidr(cidrText);
  } catch {
    throw new SplitError(`error reading CIDR ${cidrText} before attempting to split it`);
  }
  const bits = cidr.family === 4 ? 32 : 128;
  if (cidr.prefix + power > bits) {
    throw new SplitError(`the CIDR ${cidrText} is not large enough to be split into ${parts} parts`);
  }
  const prefix = cidr.prefix + power;
  const step = cidrSize(makeCidr(networkAddress(cidr), prefix));
  const out: string[] = [];
  for (let i = 0; i < parts; i++) out.push(formatCidr(makeCidr(ipAdd(networkAddress(cidr), step * BigInt(i)), prefix)));
  return out;
}

/** calico: the child's name, `split-<name>-<i>`, the name cut to 245 characters when the result passes 253. */
export function splitPoolName(name: string, i: number): string {
  const full = `split-${name}-${i}`;
  return full.length > 253 ? `split-${name.slice(0, 245)}-${i}` : full;
}

export interface SplitPlan {
  pool: string;
  cidr: string;
  children: { name: string; cidr: string }[];
  /** The pool's empty blocks (claimed, nothing allocated): they go back when the pool is disabled. */
  emptyBlocks: number;
}

/**
 * The children of `pool`, or a SplitError saying why not. `blocks` are every block (those inside the pool are
 * looked at).
 */
export function planPoolSplit(pool: SplitPoolLike, blocks: readonly IPAMBlockData[], parts: number): SplitPlan {
  const cidrs = splitCidr(pool.spec.cidr, parts);
  const cidr = parseCidr(pool.spec.cidr);
  const blockSize =
    pool.spec.blockSize !== undefined && pool.spec.blockSize !== 0 ? pool.spec.blockSize : cidr.family === 4 ? 26 : 122;
  const childPrefix = parseCidr(cidrs[0]!).prefix;
  if (childPrefix > blockSize) {
    throw new SplitError(
      `IP pool ${pool.metadata.name} has blocks of /${blockSize}: a /${childPrefix} part could not hold one ` +
        `(split into at most ${(1n << BigInt(blockSize - cidr.prefix)).toString()} parts)`,
    );
  }
  const inPool = blocks.filter((b) => !b.deleted && cidrContainsCidr(cidr, parseCidr(b.cidr)));
  const used = inPool.filter((b) => inUseCount(b) > 0);
  if (used.length > 0) {
    const addresses = used.reduce((n, b) => n + inUseCount(b), 0);
    throw new SplitError(
      `IP pool ${pool.metadata.name} has ${addresses} allocated address${addresses === 1 ? '' : 'es'} in ` +
        `${used.length} block${used.length === 1 ? '' : 's'} (${used.map((b) => b.cidr).join(', ')}): Calico splits ` +
        `a pool only with the datastore locked, so that no address changes meanwhile, and Tabby has no such lock; ` +
        `release them or move their pods first (tabby ipam show --pool ${pool.metadata.name})`,
    );
  }
  return {
    pool: pool.metadata.name,
    cidr: formatCidr(cidr),
    children: cidrs.map((c, i) => ({ name: splitPoolName(pool.metadata.name, i), cidr: c })),
    emptyBlocks: inPool.length,
  };
}
