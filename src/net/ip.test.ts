import { isIP } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NetParseError } from './errors.js';
import {
  type IP,
  compareIP,
  formatIP,
  ipAdd,
  ipEquals,
  ipFromBigInt,
  ipToBigInt,
  ipv4FromNumber,
  parseIP,
  tryParseIP,
} from './ip.js';
import { arbIP, arbIPv6, hasUint32Words } from './testdata/arbitraries.js';

function groups(ip: IP): number[] {
  return [ip.w0, ip.w1, ip.w2, ip.w3].flatMap((w) => [w >>> 16, w & 0xffff]);
}

describe('parseIP / formatIP tables', () => {
  it.each([
    { name: 'v4 zero', input: '0.0.0.0', canonical: '0.0.0.0' },
    { name: 'v4 max', input: '255.255.255.255', canonical: '255.255.255.255' },
    { name: 'v4 pod', input: '10.244.1.77', canonical: '10.244.1.77' },
    { name: 'v6 unspecified', input: '::', canonical: '::' },
    { name: 'v6 loopback', input: '::1', canonical: '::1' },
    { name: 'v6 trailing ::', input: '1::', canonical: '1::' },
    { name: 'v6 7 groups then ::', input: '1:2:3:4:5:6:7::', canonical: '1:2:3:4:5:6:7:0' },
    { name: 'v6 :: then 7 groups', input: '::2:3:4:5:6:7:8', canonical: '0:2:3:4:5:6:7:8' },
    { name: 'RFC 5952 4.1 leading zeros', input: '2001:0db8::0001', canonical: '2001:db8::1' },
    { name: 'RFC 5952 4.2.1 longest run', input: '2001:db8:0:0:0:0:2:1', canonical: '2001:db8::2:1' },
    { name: 'RFC 5952 4.2.2 single zero', input: '2001:db8:0:1:1:1:1:1', canonical: '2001:db8:0:1:1:1:1:1' },
    { name: 'RFC 5952 4.2.3 longer run wins', input: '2001:0:0:1:0:0:0:1', canonical: '2001:0:0:1::1' },
    { name: 'RFC 5952 4.2.3 first on tie', input: '2001:db8:0:0:1:0:0:1', canonical: '2001:db8::1:0:0:1' },
    { name: 'RFC 5952 4.3 lower case', input: '2001:DB8::AbCd', canonical: '2001:db8::abcd' },
    { name: 'fully written', input: 'fd00:0000:0000:0000:0000:0000:0000:0001', canonical: 'fd00::1' },
    { name: 'IPv4-mapped (RFC 5952 5)', input: '::ffff:192.0.2.1', canonical: '::ffff:192.0.2.1' },
    { name: 'IPv4-mapped written in hex', input: '::ffff:c000:201', canonical: '::ffff:192.0.2.1' },
    { name: 'embedded IPv4 elsewhere', input: '64:ff9b::192.0.2.33', canonical: '64:ff9b::c000:221' },
    { name: 'embedded IPv4 after 6 groups', input: '1:2:3:4:5:6:1.2.3.4', canonical: '1:2:3:4:5:6:102:304' },
    { name: 'Calico v6 pool', input: 'fd00:10:244::', canonical: 'fd00:10:244::' },
  ])('$name: $input -> $canonical', ({ input, canonical }) => {
    const ip = parseIP(input);
    expect(formatIP(ip)).toBe(canonical);
    expect(ipEquals(parseIP(canonical), ip)).toBe(true);
  });

  it('keeps IPv4-mapped addresses IPv6', () => {
    expect(parseIP('::ffff:1.2.3.4').family).toBe(6);
    expect(parseIP('1.2.3.4').family).toBe(4);
    expect(ipEquals(parseIP('::ffff:1.2.3.4'), parseIP('1.2.3.4'))).toBe(false);
  });

  it.each([
    { name: 'empty', input: '', reason: 'the address is empty' },
    { name: 'three octets', input: '1.2.3', reason: 'expected 4 octets, found 3' },
    { name: 'five octets', input: '1.2.3.4.5', reason: 'expected 4 octets, found 5' },
    { name: 'octet > 255', input: '10.0.0.256', reason: 'octet 4 "256" is greater than 255' },
    { name: 'long octet', input: '10.0.0.1234', reason: 'octet 4 "1234" is greater than 255' },
    { name: 'leading zero', input: '010.0.0.1', reason: 'octet 1 "010" has a leading zero' },
    { name: 'leading zero 00', input: '10.00.0.1', reason: 'octet 2 "00" has a leading zero' },
    { name: 'empty octet', input: '10..0.1', reason: 'octet 2 is empty' },
    { name: 'trailing dot', input: '10.0.0.', reason: 'octet 4 is empty' },
    { name: 'letters', input: 'a.b.c.d', reason: 'unexpected character "a" at position 0' },
    { name: 'hex octet', input: '0x1.2.3.4', reason: 'unexpected character "x" at position 1' },
    { name: 'sign', input: '1.2.3.-4', reason: 'unexpected character "-" at position 6' },
    { name: 'leading space', input: ' 1.2.3.4', reason: 'unexpected whitespace at position 0' },
    { name: 'trailing newline', input: '1.2.3.4\n', reason: 'unexpected whitespace at position 7' },
    { name: 'slash', input: '1.2.3.4/32', reason: 'unexpected character "/" at position 7' },
    { name: 'v4 with percent', input: '1.2.3.4%x', reason: 'unexpected character "%" at position 7' },
    { name: 'zone', input: 'fe80::1%eth0', reason: 'IPv6 zone "%eth0" is not allowed' },
    { name: 'numeric zone', input: 'fe80::1%2', reason: 'IPv6 zone "%2" is not allowed' },
    { name: 'brackets', input: '[::1]', reason: 'unexpected character "[" at position 0' },
    { name: 'two ::', input: '1::2::3', reason: '"::" appears more than once' },
    { name: ':::', input: '1:::2', reason: 'empty group at position 3 (":::" or a misplaced ":")' },
    { name: 'leading single colon', input: ':1:2:3:4:5:6:7', reason: 'IPv6 address starts with a single ":"' },
    { name: 'lone colon', input: ':', reason: 'IPv6 address starts with a single ":"' },
    { name: 'trailing single colon', input: '1:2:3:4:5:6:7:', reason: 'IPv6 address ends with a single ":"' },
    { name: 'five hex digits', input: '12345::', reason: 'group "12345" has more than 4 hex digits' },
    { name: 'seven groups', input: '1:2:3:4:5:6:7', reason: 'has 7 groups; expected 8 or a "::"' },
    { name: 'nine groups', input: '1:2:3:4:5:6:7:8:9', reason: 'more than 8 groups' },
    {
      name: ':: standing for nothing',
      input: '1:2:3:4:5:6:7:8::',
      reason: '"::" must stand for at least one zero group, but there are already 8 groups',
    },
    { name: 'non-hex', input: 'g::1', reason: 'unexpected character "g" at position 0' },
    {
      name: 'embedded v4 too late',
      input: '1:2:3:4:5:6:7:1.2.3.4',
      reason: 'too many groups before the embedded IPv4 address',
    },
    { name: 'embedded v4 bad', input: '::1.2.3', reason: 'embedded IPv4 address: expected 4 octets, found 3' },
    {
      name: 'embedded v4 leading zero',
      input: '::1.2.3.04',
      reason: 'embedded IPv4 address: octet 4 "04" has a leading zero',
    },
    {
      name: 'embedded v4 not last',
      input: '::1.2.3.4:5',
      reason: 'embedded IPv4 address: unexpected character ":" at position 9',
    },
    { name: 'unicode', input: '1.2.3.４', reason: 'unexpected character "４" at position 6' },
  ])('rejects $name ($input)', ({ input, reason }) => {
    let err: unknown;
    try {
      parseIP(input);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NetParseError);
    const e = err as NetParseError;
    expect(e.input).toBe(input);
    expect(e.reason).toBe(reason);
    expect(e.message).toBe(`${JSON.stringify(input)} is not a valid IP address: ${reason}`);
    expect(tryParseIP(input)).toBeUndefined();
  });
});

describe('IP properties', () => {
  it('parse(format(ip)) === ip and format is a fixed point', () => {
    fc.assert(
      fc.property(arbIP, (ip) => {
        const text = formatIP(ip);
        const back = parseIP(text);
        expect(back).toEqual(ip);
        expect(hasUint32Words(back)).toBe(true);
        expect(formatIP(back)).toBe(text);
      }),
      { numRuns: 2000 },
    );
  });

  it('any legal spelling of an IPv6 address parses to the same value', () => {
    const spelling = fc.record({ upper: fc.boolean(), pad: fc.boolean(), full: fc.boolean() });
    fc.assert(
      fc.property(arbIPv6, spelling, (ip, s) => {
        let text = s.full
          ? groups(ip)
              .map((g) => g.toString(16).padStart(s.pad ? 4 : 1, '0'))
              .join(':')
          : formatIP(ip);
        if (s.upper) text = text.toUpperCase();
        expect(parseIP(text)).toEqual(ip);
      }),
    );
  });

  it('IPv6 formatting agrees with the WHATWG URL serializer (independent RFC 5952 implementation)', () => {
    fc.assert(
      fc.property(arbIPv6, (ip) => {
        fc.pre(!(ip.w0 === 0 && ip.w1 === 0 && ip.w2 === 0xffff)); // URL prints mapped addresses in hex
        const full = groups(ip)
          .map((g) => g.toString(16))
          .join(':');
        const host = new URL(`http://[${full}]/`).hostname;
        expect(`[${formatIP(ip)}]`).toBe(host);
      }),
      { numRuns: 2000 },
    );
  });

  it('accepts exactly what node:net accepts, minus zones (random strings over the address alphabet)', () => {
    const ch = fc.constantFrom(...'0123456789abcdefABCDEF:.:.%'.split(''), '00', '255', '256', '::', 'ffff', '1.2.3.4');
    let valid = 0;
    fc.assert(
      fc.property(fc.array(ch, { maxLength: 14 }), (parts) => {
        const text = parts.join('');
        const ours = tryParseIP(text) !== undefined;
        const node = isIP(text) !== 0 && !text.includes('%');
        if (node) valid++;
        expect(ours).toBe(node);
      }),
      { numRuns: 5000 },
    );
    // ~3.5% of these strings are addresses: agreement on refusals alone would prove little.
    expect(valid).toBeGreaterThanOrEqual(50);
  });

  it('accepts exactly what node:net accepts, minus zones (one-character mutations of valid addresses)', () => {
    const alphabet = '0123456789aAfFgx:.%/ ';
    const mutation = fc.record({
      at: fc.nat(),
      op: fc.constantFrom('insert', 'delete', 'replace'),
      ch: fc.constantFrom(...alphabet.split('')),
    });
    const spelled = fc.oneof(
      arbIP.map(formatIP),
      arbIPv6.map((ip) =>
        groups(ip)
          .map((g) => g.toString(16).padStart(4, '0'))
          .join(':'),
      ),
    );
    let valid = 0;
    fc.assert(
      fc.property(spelled, fc.array(mutation, { minLength: 1, maxLength: 2 }), (text, muts) => {
        for (const m of muts) {
          const i = m.at % (text.length + 1);
          if (m.op === 'insert') text = text.slice(0, i) + m.ch + text.slice(i);
          else if (m.op === 'delete') text = text.slice(0, i) + text.slice(i + 1);
          else text = text.slice(0, i) + m.ch + text.slice(i + 1);
        }
        const node = isIP(text) !== 0 && !text.includes('%');
        if (node) valid++;
        expect(tryParseIP(text) !== undefined).toBe(node);
      }),
      { numRuns: 5000 },
    );
    // ~32% of the mutated spellings stay addresses: both sides of the boundary are exercised.
    expect(valid).toBeGreaterThanOrEqual(500);
    expect(valid).toBeLessThanOrEqual(4500);
  });

  it('compareIP orders like the bigint value within a family, IPv4 first', () => {
    fc.assert(
      fc.property(arbIP, arbIP, (a, b) => {
        const c = compareIP(a, b);
        if (a.family !== b.family) {
          expect(Math.sign(c)).toBe(a.family === 4 ? -1 : 1);
          return;
        }
        const x = ipToBigInt(a);
        const y = ipToBigInt(b);
        expect(Math.sign(c)).toBe(x < y ? -1 : x > y ? 1 : 0);
        expect(c === 0).toBe(ipEquals(a, b));
      }),
    );
  });

  it('bigint conversion round-trips', () => {
    fc.assert(
      fc.property(arbIP, (ip) => {
        expect(ipFromBigInt(ip.family, ipToBigInt(ip))).toEqual(ip);
      }),
    );
  });

  it('ipAdd agrees with bigint addition and refuses to leave the address space', () => {
    fc.assert(
      fc.property(arbIP, fc.integer({ min: -(2 ** 40), max: 2 ** 40 }), (ip, d) => {
        const want = ipToBigInt(ip) + BigInt(d);
        const max = ip.family === 4 ? 2n ** 32n : 2n ** 128n;
        if (want < 0n || want >= max) {
          expect(() => ipAdd(ip, d)).toThrow(RangeError);
        } else {
          expect(ipToBigInt(ipAdd(ip, d))).toBe(want);
          expect(hasUint32Words(ipAdd(ip, d))).toBe(true);
          expect(ipAdd(ip, BigInt(d))).toEqual(ipAdd(ip, d));
        }
      }),
    );
  });
});

describe('constructors', () => {
  it.each([
    { name: 'negative', n: -1 },
    { name: 'too big', n: 2 ** 32 },
    { name: 'fraction', n: 1.5 },
  ])('ipv4FromNumber rejects $name', ({ n }) => {
    expect(() => ipv4FromNumber(n)).toThrow(RangeError);
  });

  it('ipFromBigInt rejects values outside the family', () => {
    expect(() => ipFromBigInt(4, 2n ** 32n)).toThrow('out of range for an IPv4 address');
    expect(() => ipFromBigInt(6, -1n)).toThrow('out of range for an IPv6 address');
    expect(formatIP(ipv4FromNumber(0x0a000001))).toBe('10.0.0.1');
  });
});
