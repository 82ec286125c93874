import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  blockContaining,
  blockCount,
  blockIndex,
  ipAtOffset,
  ipOffset,
  iterateBlocks,
  iterateIPs,
  nthBlock,
} from './blocks.js';
import {
  type Cidr,
  broadcastAddress,
  cidrContainsCidr,
  cidrContainsIP,
  cidrSize,
  cidrsOverlap,
  formatCidr,
  parseCidr,
} from './cidr.js';
import { type IP, formatIP, ipFromBigInt, ipToBigInt, parseIP } from './ip.js';
import { arbCidr, hasUint32Words } from './testdata/arbitraries.js';

const bits = (c: Cidr): number => (c.family === 4 ? 32 : 128);

/** A pool, a block size inside it and a random address inside the pool. */
const arbPoolCase = arbCidr.chain((pool) =>
  fc
    .record({
      blockSize: fc.integer({ min: pool.prefix, max: bits(pool) }),
      r: fc.bigInt({ min: 0n, max: 2n ** 128n - 1n }),
    })
    .map(({ blockSize, r }) => {
      const first = ipToBigInt(pool.network);
      const ip = ipFromBigInt(pool.family, first + (r % cidrSize(pool)));
      return { pool, blockSize, ip };
    }),
);

describe('block tables', () => {
  const pool4 = parseCidr('10.244.0.0/16');
  const pool6 = parseCidr('fd00:10:244::/48');

  it.each([
    { name: 'first', n: 0, block: '10.244.0.0/26' },
    { name: 'second', n: 1, block: '10.244.0.64/26' },
    { name: 'fifth', n: 5, block: '10.244.1.64/26' },
    { name: 'last', n: 1023, block: '10.244.255.192/26' },
  ])('nthBlock 10.244.0.0/16 /26: $name', ({ n, block }) => {
    expect(formatCidr(nthBlock(pool4, 26, n))).toBe(block);
    expect(formatCidr(nthBlock(pool4, 26, BigInt(n)))).toBe(block);
  });

  it.each([
    { name: 'tutorial pod', ip: '10.244.1.77', block: '10.244.1.64/26', index: 5, offset: 13 },
    { name: 'network address', ip: '10.244.0.0', block: '10.244.0.0/26', index: 0, offset: 0 },
    { name: 'last address', ip: '10.244.255.255', block: '10.244.255.192/26', index: 1023, offset: 63 },
  ])('blockContaining / ipOffset: $name', ({ ip, block, index, offset }) => {
    const a = parseIP(ip);
    const b = blockContaining(pool4, 26, a);
    expect(formatCidr(b)).toBe(block);
    expect(blockIndex(pool4, 26, a)).toBe(index);
    expect(ipOffset(b, a)).toBe(offset);
    expect(formatIP(ipAtOffset(b, offset))).toBe(ip);
  });

  it('counts blocks as bigint, even past 2^53', () => {
    expect(blockCount(pool4, 26)).toBe(1024n);
    expect(blockCount(pool4, 16)).toBe(1n);
    expect(blockCount(pool6, 122)).toBe(2n ** 74n);
    expect(blockCount(parseCidr('::/0'), 128)).toBe(2n ** 128n);
  });

  it('handles IPv6 /122 blocks (Calico default) and huge block indexes', () => {
    expect(formatCidr(nthBlock(pool6, 122, 0))).toBe('fd00:10:244::/122');
    expect(formatCidr(nthBlock(pool6, 122, 3))).toBe('fd00:10:244::c0/122');
    expect(formatCidr(nthBlock(pool6, 122, 2n ** 74n - 1n))).toBe('fd00:10:244:ffff:ffff:ffff:ffff:ffc0/122');
    const ip = parseIP('fd00:10:244:5::4a');
    const b = blockContaining(pool6, 122, ip);
    expect(formatCidr(b)).toBe('fd00:10:244:5::40/122');
    expect(ipOffset(b, ip)).toBe(10);
    expect(formatIP(ipAtOffset(b, 63))).toBe('fd00:10:244:5::7f');
  });

  it('computes offsets in wide IPv6 blocks exactly', () => {
    const b = parseCidr('fd00::/64');
    const ip = parseIP('fd00::1f:ffff:ffff:ffff');
    expect(ipOffset(b, ip)).toBe(2 ** 53 - 1);
    expect(formatIP(ipAtOffset(b, 2 ** 53 - 1))).toBe('fd00::1f:ffff:ffff:ffff');
    expect(() => ipOffset(b, parseIP('fd00::20:0:0:0'))).toThrow('exceeds 2^53');
    expect(ipOffset(parseCidr('fd00::/96'), parseIP('fd00::ffff:ffff'))).toBe(2 ** 32 - 1);
    expect(ipOffset(parseCidr('fd00::/90'), parseIP('fd00::3f:ffff:ffff'))).toBe(2 ** 38 - 1);
  });

  it.each([
    {
      name: 'address outside pool',
      f: () => blockContaining(pool4, 26, parseIP('10.245.0.1')),
      msg: '10.245.0.1 is not in pool 10.244.0.0/16',
    },
    {
      name: 'other family',
      f: () => blockContaining(pool4, 26, parseIP('::1')),
      msg: '::1 is not in pool 10.244.0.0/16',
    },
    {
      name: 'block bigger than pool',
      f: () => nthBlock(pool4, 8, 0),
      msg: "block size /8 must be between the pool's /16 and /32",
    },
    {
      name: 'block size past 32',
      f: () => blockCount(pool4, 33),
      msg: "block size /33 must be between the pool's /16 and /32",
    },
    {
      name: 'block index too big',
      f: () => nthBlock(pool4, 26, 1024),
      msg: 'block index 1024 is outside 0..2^10-1 for /26 blocks of 10.244.0.0/16',
    },
    {
      name: 'bigint index too big',
      f: () => nthBlock(pool4, 26, 1024n),
      msg: 'block index 1024 is outside 0..2^10-1 for /26 blocks of 10.244.0.0/16',
    },
    { name: 'negative index', f: () => nthBlock(pool4, 26, -1), msg: 'block index -1 is outside' },
    { name: 'fractional index', f: () => nthBlock(pool4, 26, 0.5), msg: 'block index 0.5 is outside' },
    {
      name: 'offset past block',
      f: () => ipAtOffset(parseCidr('10.0.0.0/26'), 64),
      msg: 'offset 64 is outside block 10.0.0.0/26',
    },
    { name: 'negative offset', f: () => ipAtOffset(parseCidr('10.0.0.0/26'), -1), msg: 'offset -1 is outside block' },
    {
      name: 'address outside block',
      f: () => ipOffset(parseCidr('10.0.0.0/26'), parseIP('10.0.0.64')),
      msg: '10.0.0.64 is not in block 10.0.0.0/26',
    },
    {
      name: 'v6 address in v4 block',
      f: () => ipOffset(parseCidr('10.0.0.0/26'), parseIP('::a00:1')),
      msg: '::a00:1 is not in block 10.0.0.0/26',
    },
    {
      name: 'v6 address outside block',
      f: () => ipOffset(parseCidr('fd00::/122'), parseIP('fd00::40')),
      msg: 'fd00::40 is not in block fd00::/122',
    },
  ])('throws RangeError: $name', ({ f, msg }) => {
    expect(f).toThrow(RangeError);
    expect(f).toThrow(msg);
  });
});

describe('block properties', () => {
  it('the blocks of a pool cover it exactly once, in order', () => {
    const arb = arbCidr.chain((pool) =>
      fc.record({ pool: fc.constant(pool), span: fc.integer({ min: 0, max: Math.min(8, bits(pool) - pool.prefix) }) }),
    );
    fc.assert(
      fc.property(arb, ({ pool, span }) => {
        const blockSize = pool.prefix + span;
        const blocks = [...iterateBlocks(pool, blockSize)];
        expect(BigInt(blocks.length)).toBe(blockCount(pool, blockSize));
        let next = ipToBigInt(pool.network);
        let total = 0n;
        for (const b of blocks) {
          expect(b.prefix).toBe(blockSize);
          expect(cidrContainsCidr(pool, b)).toBe(true);
          // Each block starts right after the previous one ends: no gap, no overlap.
          expect(ipToBigInt(b.network)).toBe(next);
          next = ipToBigInt(broadcastAddress(b)) + 1n;
          total += cidrSize(b);
        }
        expect(next - 1n).toBe(ipToBigInt(broadcastAddress(pool)));
        expect(total).toBe(cidrSize(pool));
        for (let i = 1; i < blocks.length; i++) {
          expect(cidrsOverlap(blocks[i - 1] as Cidr, blocks[i] as Cidr)).toBe(false);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('every address lies in exactly the block blockContaining names, at the offset ipOffset gives', () => {
    fc.assert(
      fc.property(arbPoolCase, ({ pool, blockSize, ip }) => {
        const b = blockContaining(pool, blockSize, ip);
        expect(b.prefix).toBe(blockSize);
        expect(hasUint32Words(b.network)).toBe(true);
        expect(hasUint32Words(broadcastAddress(b))).toBe(true);
        expect(cidrContainsIP(b, ip)).toBe(true);
        expect(cidrContainsCidr(pool, b)).toBe(true);
        // bigint model of the same arithmetic
        const hostBits = BigInt(bits(pool) - blockSize);
        const v = ipToBigInt(ip);
        const blockStart = (v >> hostBits) << hostBits;
        expect(ipToBigInt(b.network)).toBe(blockStart);
        const index = (blockStart - ipToBigInt(pool.network)) >> hostBits;
        expect(nthBlock(pool, blockSize, index)).toEqual(b);
        if (index <= BigInt(Number.MAX_SAFE_INTEGER)) {
          expect(blockIndex(pool, blockSize, ip)).toBe(Number(index));
          expect(nthBlock(pool, blockSize, Number(index))).toEqual(b);
        }
        const offset = v - blockStart;
        if (offset <= BigInt(Number.MAX_SAFE_INTEGER)) {
          expect(ipOffset(b, ip)).toBe(Number(offset));
          expect(ipAtOffset(b, Number(offset))).toEqual(ip);
          expect(hasUint32Words(ipAtOffset(b, Number(offset)))).toBe(true);
        } else {
          expect(() => ipOffset(b, ip)).toThrow(RangeError);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('ipAtOffset and ipOffset are inverse over whole small blocks', () => {
    fc.assert(
      fc.property(arbCidr, (c) => {
        fc.pre(bits(c) - c.prefix <= 8);
        const ips: IP[] = [...iterateIPs(c)];
        expect(BigInt(ips.length)).toBe(cidrSize(c));
        ips.forEach((ip, i) => {
          expect(ipOffset(c, ip)).toBe(i);
          expect(ipToBigInt(ip)).toBe(ipToBigInt(c.network) + BigInt(i));
        });
      }),
      { numRuns: 300 },
    );
  });

  it('iterateIPs yields huge prefixes lazily', () => {
    const it6 = iterateIPs(parseCidr('fd00::/64'));
    expect(formatIP(it6.next().value as IP)).toBe('fd00::');
    expect(formatIP(it6.next().value as IP)).toBe('fd00::1');
    const all = iterateIPs(parseCidr('::/0'));
    expect(formatIP(all.next().value as IP)).toBe('::');
  });
});
