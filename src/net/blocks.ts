// IPAM block arithmetic: a pool is split into aligned blocks of `blockSize` prefix length (Calico: IPPool
// spec.blockSize, libcalico-go/lib/ipam/ipam_block.go ordinals). Blocks are numbered 0..blockCount-1 in address
// order; addresses inside a block are numbered by offset ("ordinal" in Calico) 0..size-1.
//
// Hot paths (blockContaining, ipOffset, ipAtOffset, blockIndex for IPv4 and for IPv6 blocks of up to 2^53
// addresses) work on the int32 words of the representation and allocate nothing but their result; see
// bench/net.bench.ts for the bigint comparison. Every function throws RangeError on arguments outside its domain
// (address not in the pool, offset beyond the block, block size shorter than the pool) instead of returning junk.
import { type Cidr, cidrContainsIP, formatCidr, maskIP, wordMask } from './cidr.js';
import { type IP, familyBits, formatIP, ipFromBigInt, ipToBigInt, makeIP } from './ip.js';

const TWO32 = 4294967296;

function checkBlockSize(pool: Cidr, blockSize: number): void {
  const bits = pool.family === 4 ? 32 : 128;
  if (!(blockSize >= pool.prefix && blockSize <= bits && Number.isInteger(blockSize)))
    throw badBlockSize(pool, blockSize);
}

function badBlockSize(pool: Cidr, blockSize: number): RangeError {
  const bits = familyBits(pool.family);
  return new RangeError(`block size /${blockSize} must be between the pool's /${pool.prefix} and /${bits}`);
}

function block(network: IP, prefix: number): Cidr {
  return { family: network.family, prefix, address: network, network };
}

/** Number of blocks of `blockSize` in `pool` (a bigint: an IPv6 /48 holds 2^74 /122 blocks). */
export function blockCount(pool: Cidr, blockSize: number): bigint {
  checkBlockSize(pool, blockSize);
  return 1n << BigInt(blockSize - pool.prefix);
}

/** The n-th block (0-based, address order) of `pool`. */
export function nthBlock(pool: Cidr, blockSize: number, n: number | bigint): Cidr {
  checkBlockSize(pool, blockSize);
  const span = blockSize - pool.prefix;
  if (typeof n === 'number') {
    if (!Number.isSafeInteger(n) || n < 0 || (span < 53 && n >= 2 ** span)) {
      throw new RangeError(
        `block index ${n} is outside 0..2^${span}-1 for /${blockSize} blocks of ${formatCidr(pool)}`,
      );
    }
    if (pool.family === 4) {
      return block(makeIP(4, 0, 0, 0, (pool.network.i3 >>> 0) + n * 2 ** (32 - blockSize)), blockSize);
    }
  } else if (n < 0n || n >= 1n << BigInt(span)) {
    throw new RangeError(`block index ${n} is outside 0..2^${span}-1 for /${blockSize} blocks of ${formatCidr(pool)}`);
  }
  const shift = BigInt(familyBits(pool.family) - blockSize);
  const v = ipToBigInt(pool.network) + (BigInt(n) << shift);
  return block(ipFromBigInt(pool.family, v), blockSize);
}

/** The block of `blockSize` in `pool` that holds `ip`. */
export function blockContaining(pool: Cidr, blockSize: number, ip: IP): Cidr {
  checkBlockSize(pool, blockSize);
  if (!cidrContainsIP(pool, ip)) throw notInPool(pool, ip);
  return block(maskIP(ip, blockSize), blockSize);
}

/** Index of the block holding `ip`, the inverse of nthBlock (number; throws when it exceeds 2^53). */
export function blockIndex(pool: Cidr, blockSize: number, ip: IP): number {
  checkBlockSize(pool, blockSize);
  if (!cidrContainsIP(pool, ip)) throw notInPool(pool, ip);
  const hostBits = familyBits(pool.family) - blockSize;
  if (pool.family === 4) return Math.floor(((ip.i3 - pool.network.i3) >>> 0) / 2 ** hostBits);
  const idx = (ipToBigInt(ip) - ipToBigInt(pool.network)) >> BigInt(hostBits);
  if (idx > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`block index of ${formatIP(ip)} exceeds 2^53`);
  return Number(idx);
}

/** Offset (Calico: ordinal) of `ip` inside `blk`; throws when `ip` is outside it or the offset exceeds 2^53. */
export function ipOffset(blk: Cidr, ip: IP): number {
  const n = blk.network;
  if (blk.family === 4) {
    if (ip.family !== 4 || ((ip.i3 ^ n.i3) & wordMask(blk.prefix + 96, 3)) !== 0) throw notInBlock(blk, ip);
    return (ip.i3 - n.i3) >>> 0;
  }
  if (!cidrContainsIP(blk, ip)) throw notInBlock(blk, ip);
  const hostBits = 128 - blk.prefix;
  // Inside the block the words above the host bits are equal, so the offset lives in the low one or two words.
  if (hostBits <= 32) return (ip.i3 - n.i3) >>> 0;
  if (hostBits <= 53) return ((ip.i2 - n.i2) >>> 0) * TWO32 + (ip.i3 >>> 0);
  const off = ipToBigInt(ip) - ipToBigInt(n);
  if (off > BigInt(Number.MAX_SAFE_INTEGER)) throw offsetTooBig(blk, ip);
  return Number(off);
}

/** The address at `offset` inside `blk` (inverse of ipOffset). */
export function ipAtOffset(blk: Cidr, offset: number): IP {
  const hostBits = (blk.family === 4 ? 32 : 128) - blk.prefix;
  const size = hostBits < 31 ? 1 << hostBits : hostBits < 53 ? 2 ** hostBits : Number.MAX_SAFE_INTEGER + 1;
  if (!(offset >= 0 && offset < size && Number.isInteger(offset))) throw offsetOutside(blk, offset);
  const n = blk.network;
  // The network's low hostBits are zero, so adding never carries out of the low words (makeIP wraps to int32).
  if (blk.family === 4) return makeIP(4, 0, 0, 0, n.i3 + offset);
  if (hostBits <= 32) return makeIP(6, n.i0, n.i1, n.i2, n.i3 + offset);
  const hi = Math.floor(offset / TWO32);
  return makeIP(6, n.i0, n.i1, n.i2 + hi, offset - hi * TWO32);
}

// Error construction lives outside the hot functions so that they stay small enough to inline.
function notInPool(pool: Cidr, ip: IP): RangeError {
  return new RangeError(`${formatIP(ip)} is not in pool ${formatCidr(pool)}`);
}

function notInBlock(blk: Cidr, ip: IP): RangeError {
  return new RangeError(`${formatIP(ip)} is not in block ${formatCidr(blk)}`);
}

function offsetTooBig(blk: Cidr, ip: IP): RangeError {
  return new RangeError(`offset of ${formatIP(ip)} in ${formatCidr(blk)} exceeds 2^53`);
}

function offsetOutside(blk: Cidr, offset: number): RangeError {
  return new RangeError(`offset ${offset} is outside block ${formatCidr(blk)}`);
}

/** All blocks of `blockSize` in `pool`, in address order. */
export function* iterateBlocks(pool: Cidr, blockSize: number): Generator<Cidr, void, undefined> {
  const count = blockCount(pool, blockSize);
  for (let i = 0n; i < count; i++) yield nthBlock(pool, blockSize, i);
}

/** All addresses of `c` (network address first, last address included), in order. */
export function* iterateIPs(c: Cidr): Generator<IP, void, undefined> {
  const hostBits = familyBits(c.family) - c.prefix;
  if (hostBits <= 53) {
    const size = 2 ** hostBits;
    for (let i = 0; i < size; i++) yield ipAtOffset(c, i);
    return;
  }
  const base = ipToBigInt(c.network);
  const size = 1n << BigInt(hostBits);
  for (let i = 0n; i < size; i++) yield ipFromBigInt(c.family, base + i);
}
