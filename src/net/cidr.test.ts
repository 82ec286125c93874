import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type Cidr,
  broadcastAddress,
  cidrContainsCidr,
  cidrContainsIP,
  cidrEquals,
  cidrFamily,
  cidrMasked,
  cidrSize,
  cidrsOverlap,
  compareCidr,
  formatCidr,
  hostCidr,
  makeCidr,
  networkAddress,
  parseCidr,
  parseCidrLoose,
  tryParseCidr,
} from './cidr.js';
import { NetParseError } from './errors.js';
import { type IP, formatIP, ipFromBigInt, ipToBigInt, makeIP, parseIP } from './ip.js';
import { arbCidr, arbIP } from './testdata/arbitraries.js';

/** Reference model: a prefix as the bigint range [first, last]. */
function range(c: Cidr): [bigint, bigint] {
  const host = BigInt((c.family === 4 ? 32 : 128) - c.prefix);
  const first = (ipToBigInt(c.address) >> host) << host;
  return [first, first + (1n << host) - 1n];
}

function thrown(f: () => unknown): NetParseError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(NetParseError);
    return e as NetParseError;
  }
  throw new Error('expected a NetParseError');
}

describe('parseCidr / formatCidr tables', () => {
  it.each([
    { name: 'Calico default v4 pool', input: '192.168.0.0/16', canonical: '192.168.0.0/16', family: 4 },
    { name: 'tutorial pool', input: '10.244.0.0/16', canonical: '10.244.0.0/16', family: 4 },
    { name: 'tutorial block', input: '10.244.1.64/26', canonical: '10.244.1.64/26', family: 4 },
    { name: 'default route', input: '0.0.0.0/0', canonical: '0.0.0.0/0', family: 4 },
    { name: 'host route', input: '10.121.74.181/32', canonical: '10.121.74.181/32', family: 4 },
    { name: 'v6 pool', input: 'fd00:10:244::/64', canonical: 'fd00:10:244::/64', family: 6 },
    { name: 'v6 block', input: 'FD00:10:244:0:0:0:0:40/122', canonical: 'fd00:10:244::40/122', family: 6 },
    { name: 'v6 default', input: '::/0', canonical: '::/0', family: 6 },
    {
      name: 'leading zero in prefix (Go net.ParseCIDR accepts it)',
      input: '10.0.0.0/08',
      canonical: '10.0.0.0/8',
      family: 4,
    },
    { name: 'all-zero prefix digits', input: '0.0.0.0/00', canonical: '0.0.0.0/0', family: 4 },
    { name: 'v6 host', input: '2001:db8::1/128', canonical: '2001:db8::1/128', family: 6 },
  ])('$name: $input', ({ input, canonical, family }) => {
    const c = parseCidr(input);
    expect(formatCidr(c)).toBe(canonical);
    expect(cidrFamily(c)).toBe(family);
    expect(cidrEquals(parseCidr(canonical), c)).toBe(true);
  });

  it.each([
    {
      name: 'host bits (contract example)',
      input: '10.0.0.1/24',
      message: '"10.0.0.1/24" has host bits set (network is 10.0.0.0/24)',
    },
    {
      name: 'v6 host bits',
      input: 'fd00::1/64',
      message: '"fd00::1/64" has host bits set (network is fd00::/64)',
    },
    { name: 'no prefix', input: '10.0.0.0', message: '"10.0.0.0" is not a valid CIDR: missing "/<prefix length>"' },
    { name: 'empty', input: '', message: '"" is not a valid CIDR: the address is empty' },
    { name: 'only slash', input: '/24', message: '"/24" is not a valid CIDR: the address is empty' },
    {
      name: 'empty prefix',
      input: '10.0.0.0/',
      message: '"10.0.0.0/" is not a valid CIDR: the prefix length after "/" is empty',
    },
    {
      name: 'v4 prefix too long',
      input: '10.0.0.0/33',
      message: '"10.0.0.0/33" is not a valid CIDR: prefix length 33 is out of range 0..32 for IPv4',
    },
    {
      name: 'v6 prefix too long',
      input: '::/129',
      message: '"::/129" is not a valid CIDR: prefix length 129 is out of range 0..128 for IPv6',
    },
    {
      name: 'huge prefix',
      input: '::/99999999999999999999',
      message:
        '"::/99999999999999999999" is not a valid CIDR: prefix length 99999999999999999999 is out of range 0..128 for IPv6',
    },
    {
      name: 'leading zeros do not make a prefix length valid',
      input: '10.0.0.0/033',
      message: '"10.0.0.0/033" is not a valid CIDR: prefix length 033 is out of range 0..32 for IPv4',
    },
    {
      name: 'signed prefix',
      input: '10.0.0.0/+8',
      message: '"10.0.0.0/+8" is not a valid CIDR: unexpected character "+" at position 9',
    },
    {
      name: 'negative prefix',
      input: '10.0.0.0/-8',
      message: '"10.0.0.0/-8" is not a valid CIDR: unexpected character "-" at position 9',
    },
    {
      name: 'two slashes',
      input: '10.0.0.0/8/8',
      message: '"10.0.0.0/8/8" is not a valid CIDR: unexpected character "/" at position 10',
    },
    {
      name: 'space before slash',
      input: '10.0.0.0 /8',
      message: '"10.0.0.0 /8" is not a valid CIDR: unexpected whitespace at position 8',
    },
    {
      name: 'trailing space',
      input: '10.0.0.0/8 ',
      message: '"10.0.0.0/8 " is not a valid CIDR: unexpected whitespace at position 10',
    },
    {
      name: 'bad octet',
      input: '10.0.0.256/32',
      message: '"10.0.0.256/32" is not a valid CIDR: octet 4 "256" is greater than 255',
    },
    {
      name: 'octal-looking octet',
      input: '010.0.0.0/8',
      message: '"010.0.0.0/8" is not a valid CIDR: octet 1 "010" has a leading zero',
    },
    {
      name: 'zone',
      input: 'fe80::%eth0/64',
      message: '"fe80::%eth0/64" is not a valid CIDR: IPv6 zone "%eth0" is not allowed',
    },
    {
      name: 'netmask form',
      input: '10.0.0.0/255.0.0.0',
      message: '"10.0.0.0/255.0.0.0" is not a valid CIDR: unexpected character "." at position 12',
    },
    {
      name: 'word',
      input: 'default',
      message: '"default" is not a valid CIDR: unexpected character "d" at position 0',
    },
  ])('rejects $name', ({ input, message }) => {
    const e = thrown(() => parseCidr(input));
    expect(e.message).toBe(message);
    expect(e.input).toBe(input);
    expect(tryParseCidr(input)).toBeUndefined();
  });

  it.each([
    { name: 'node address', input: '192.168.0.11/24', network: '192.168.0.0', formatted: '192.168.0.11/24' },
    { name: 'tutorial node', input: '10.0.0.201/24', network: '10.0.0.0', formatted: '10.0.0.201/24' },
    { name: 'v6 node', input: 'FD00::0011/64', network: 'fd00::', formatted: 'fd00::11/64' },
    { name: 'already a network', input: '10.0.0.0/8', network: '10.0.0.0', formatted: '10.0.0.0/8' },
  ])('parseCidrLoose keeps the address: $name', ({ input, network, formatted }) => {
    const c = parseCidrLoose(input);
    expect(formatIP(c.network)).toBe(network);
    expect(formatCidr(c)).toBe(formatted);
    expect(formatCidr(cidrMasked(c))).toBe(`${network}/${c.prefix}`);
    expect(cidrContainsIP(c, c.address)).toBe(true);
  });

  it('parseCidrLoose still rejects junk', () => {
    expect(thrown(() => parseCidrLoose('10.0.0.1/40')).reason).toBe('prefix length 40 is out of range 0..32 for IPv4');
  });
});

describe('network, broadcast, size', () => {
  it.each([
    { cidr: '10.244.1.64/26', network: '10.244.1.64', last: '10.244.1.127', size: 64n },
    { cidr: '0.0.0.0/0', network: '0.0.0.0', last: '255.255.255.255', size: 2n ** 32n },
    { cidr: '10.0.0.7/32', network: '10.0.0.7', last: '10.0.0.7', size: 1n },
    { cidr: 'fd00::/122', network: 'fd00::', last: 'fd00::3f', size: 64n },
    { cidr: '::/0', network: '::', last: 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', size: 2n ** 128n },
    { cidr: 'fd00:1:2:3::/64', network: 'fd00:1:2:3::', last: 'fd00:1:2:3:ffff:ffff:ffff:ffff', size: 2n ** 64n },
  ])('$cidr', ({ cidr, network, last, size }) => {
    const c = parseCidr(cidr);
    expect(formatIP(networkAddress(c))).toBe(network);
    expect(formatIP(broadcastAddress(c))).toBe(last);
    expect(cidrSize(c)).toBe(size);
  });

  it('hostCidr is a /32 or /128 holding just the address', () => {
    expect(formatCidr(hostCidr(parseIP('10.1.2.3')))).toBe('10.1.2.3/32');
    expect(formatCidr(hostCidr(parseIP('fd00::5')))).toBe('fd00::5/128');
  });

  it('makeCidr rejects impossible prefix lengths', () => {
    expect(() => makeCidr(parseIP('10.0.0.0'), 33)).toThrow(RangeError);
    expect(() => makeCidr(parseIP('::'), -1)).toThrow(RangeError);
    expect(() => makeCidr(parseIP('::'), 1.5)).toThrow(RangeError);
  });
});

describe('containment and overlap tables', () => {
  it.each([
    { name: 'pool holds its block', outer: '10.244.0.0/16', inner: '10.244.1.64/26', contains: true, overlap: true },
    {
      name: 'block does not hold pool',
      outer: '10.244.1.64/26',
      inner: '10.244.0.0/16',
      contains: false,
      overlap: true,
    },
    { name: 'itself', outer: '10.244.0.0/16', inner: '10.244.0.0/16', contains: true, overlap: true },
    { name: 'siblings', outer: '10.244.0.0/17', inner: '10.244.128.0/17', contains: false, overlap: false },
    { name: 'disjoint pools', outer: '10.244.0.0/16', inner: '192.168.0.0/16', contains: false, overlap: false },
    { name: 'default route holds all v4', outer: '0.0.0.0/0', inner: '1.2.3.4/32', contains: true, overlap: true },
    { name: 'families never mix', outer: '::/0', inner: '10.0.0.0/8', contains: false, overlap: false },
    { name: 'v4-mapped is not v4', outer: '::ffff:0.0.0.0/96', inner: '10.0.0.0/8', contains: false, overlap: false },
    {
      name: 'v6 pool holds block',
      outer: 'fd00:10:244::/48',
      inner: 'fd00:10:244:5::40/122',
      contains: true,
      overlap: true,
    },
    { name: 'v6 neighbours', outer: 'fd00::/122', inner: 'fd00::40/122', contains: false, overlap: false },
  ])('$name', ({ outer, inner, contains, overlap }) => {
    const a = parseCidr(outer);
    const b = parseCidr(inner);
    expect(cidrContainsCidr(a, b)).toBe(contains);
    expect(cidrsOverlap(a, b)).toBe(overlap);
    expect(cidrsOverlap(b, a)).toBe(overlap);
  });
});

describe('CIDR properties', () => {
  it('parse(format(c)) equals c and format is canonical', () => {
    fc.assert(
      fc.property(arbCidr, (c) => {
        const text = formatCidr(c);
        const back = parseCidr(text);
        expect(back).toEqual(c);
        expect(formatCidr(back)).toBe(text);
      }),
      { numRuns: 2000 },
    );
  });

  it('parseCidrLoose(format(c)) keeps the address and masks the network', () => {
    fc.assert(
      fc.property(arbIP, fc.nat(128), (ip, p) => {
        const prefix = p % ((ip.family === 4 ? 32 : 128) + 1);
        const c = parseCidrLoose(`${formatIP(ip)}/${prefix}`);
        expect(c.address).toEqual(ip);
        expect(range(c)[0]).toBe(ipToBigInt(c.network));
        const strict = tryParseCidr(`${formatIP(ip)}/${prefix}`);
        expect(strict === undefined).toBe(ipToBigInt(ip) !== ipToBigInt(c.network));
      }),
    );
  });

  // Brute force over a small universe: all prefixes inside one /24 (or /120), compared as explicit address sets.
  const smallUniverse = (family: 4 | 6): fc.Arbitrary<Cidr> => {
    const base = family === 4 ? 0x0a000000 : 0;
    return fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 8 })).map(([low, host]) => {
      const ip: IP = family === 4 ? makeIP(4, 0, 0, 0, base + low) : makeIP(6, 0xfd000000, 0, 7, low);
      return cidrMasked(makeCidr(ip, (family === 4 ? 32 : 128) - host));
    });
  };
  const members = (c: Cidr): Set<bigint> => {
    const [first, last] = range(c);
    const s = new Set<bigint>();
    for (let v = first; v <= last; v++) s.add(v);
    return s;
  };

  it.each([4, 6] as const)('containment and overlap agree with explicit address sets (IPv%s)', (family) => {
    fc.assert(
      fc.property(smallUniverse(family), smallUniverse(family), fc.integer({ min: 0, max: 255 }), (a, b, low) => {
        const sa = members(a);
        const sb = members(b);
        expect(cidrContainsCidr(a, b)).toBe([...sb].every((v) => sa.has(v)));
        expect(cidrsOverlap(a, b)).toBe([...sb].some((v) => sa.has(v)));
        const ip = family === 4 ? makeIP(4, 0, 0, 0, 0x0a000000 + low) : makeIP(6, 0xfd000000, 0, 7, low);
        expect(cidrContainsIP(a, ip)).toBe(sa.has(ipToBigInt(ip)));
      }),
      { numRuns: 1000 },
    );
  });

  it('containment agrees with the bigint range model on full-size prefixes', () => {
    fc.assert(
      fc.property(arbCidr, arbCidr, arbIP, (a, b, ip) => {
        const [a0, a1] = range(a);
        const [b0, b1] = range(b);
        const same = a.family === b.family;
        expect(cidrContainsCidr(a, b)).toBe(same && a0 <= b0 && b1 <= a1);
        expect(cidrsOverlap(a, b)).toBe(same && a0 <= b1 && b0 <= a1);
        const v = ipToBigInt(ip);
        expect(cidrContainsIP(a, ip)).toBe(a.family === ip.family && a0 <= v && v <= a1);
        expect(ipToBigInt(broadcastAddress(a))).toBe(a1);
      }),
      { numRuns: 2000 },
    );
  });

  it('a prefix contains every address from its network to its broadcast address', () => {
    fc.assert(
      fc.property(arbCidr, fc.bigInt({ min: 0n, max: 2n ** 128n - 1n }), (c, r) => {
        const [first, last] = range(c);
        const inside = ipFromBigInt(c.family, first + (r % (last - first + 1n)));
        expect(cidrContainsIP(c, inside)).toBe(true);
        if (last < (c.family === 4 ? 2n ** 32n - 1n : 2n ** 128n - 1n)) {
          expect(cidrContainsIP(c, ipFromBigInt(c.family, last + 1n))).toBe(false);
        }
        if (first > 0n) expect(cidrContainsIP(c, ipFromBigInt(c.family, first - 1n))).toBe(false);
      }),
    );
  });

  it('compareCidr is a total order consistent with cidrEquals', () => {
    fc.assert(
      fc.property(arbCidr, arbCidr, arbCidr, (a, b, c) => {
        expect(Math.sign(compareCidr(a, b)) + Math.sign(compareCidr(b, a))).toBe(0);
        expect(compareCidr(a, b) === 0).toBe(cidrEquals(a, b));
        if (compareCidr(a, b) <= 0 && compareCidr(b, c) <= 0) expect(compareCidr(a, c)).toBeLessThanOrEqual(0);
      }),
    );
  });
});
