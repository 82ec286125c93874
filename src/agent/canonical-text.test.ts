import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatCidr, tryParseCidr } from '../net/cidr.js';
import { formatIP, tryParseIP } from '../net/ip.js';
import { canonicalCidr, canonicalIP } from './canonical-text.js';

// Text that is often almost an IPv4 address: leading zeros, big octets, missing or extra parts, v6.
const octet = fc.oneof(fc.integer({ min: 0, max: 300 }).map(String), fc.constantFrom('00', '01', '007', '', '1a'));
const v4ish = fc.array(octet, { minLength: 2, maxLength: 5 }).map((xs) => xs.join('.'));
const ipish = fc.oneof(v4ish, fc.constantFrom('fd00::1', 'FD00:0::1', '::ffff:1.2.3.4', '1.2.3.4.', '.1.2.3'));
const prefix = fc.oneof(fc.integer({ min: 0, max: 130 }).map(String), fc.constantFrom('', '01', '-1'));

describe('canonical text agrees with src/net', () => {
  it('canonicalIP', () => {
    fc.assert(
      fc.property(ipish, (t) => {
        const ip = tryParseIP(t);
        expect(canonicalIP(t)).toBe(ip === undefined ? undefined : formatIP(ip));
      }),
      { numRuns: 5000 },
    );
  });

  it('canonicalCidr (strict: host bits must be zero)', () => {
    fc.assert(
      fc.property(ipish, prefix, (ip, p) => {
        const t = `${ip}/${p}`;
        const c = tryParseCidr(t);
        expect(canonicalCidr(t)?.text).toBe(c === undefined ? undefined : formatCidr(c));
      }),
      { numRuns: 5000 },
    );
  });

  it.each([
    ['10.244.1.0/26', '10.244.1.0/26'],
    ['10.244.1.7/32', '10.244.1.7/32'],
    ['10.244.1.1/26', undefined],
    ['0.0.0.0/0', '0.0.0.0/0'],
    ['fd00:0:0::/48', 'fd00::/48'],
  ])('canonicalCidr(%s)', (t, want) => expect(canonicalCidr(t)?.text).toBe(want));

  it('canonicalIP honours the family', () => {
    expect(canonicalIP('10.0.0.1', 6)).toBeUndefined();
    expect(canonicalIP('fd00::1', 4)).toBeUndefined();
  });
});
