import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { aggregateCidrs } from './aggregate.js';
import {
  type Cidr,
  cidrContainsCidr,
  cidrMasked,
  cidrsOverlap,
  compareCidr,
  formatCidr,
  makeCidr,
  parseCidr,
  parseCidrLoose,
} from './cidr.js';
import { ipToBigInt, makeIP } from './ip.js';

const agg = (xs: string[]): string[] => aggregateCidrs(xs.map(parseCidrLoose)).map(formatCidr);

describe('aggregateCidrs tables', () => {
  it.each([
    { name: 'empty', input: [], output: [] },
    { name: 'single', input: ['10.0.0.0/24'], output: ['10.0.0.0/24'] },
    { name: 'two halves merge', input: ['10.0.0.128/25', '10.0.0.0/25'], output: ['10.0.0.0/24'] },
    {
      name: 'four quarters merge twice',
      input: ['10.0.0.0/26', '10.0.0.64/26', '10.0.0.128/26', '10.0.0.192/26'],
      output: ['10.0.0.0/24'],
    },
    {
      name: 'adjacent but unaligned stay apart',
      input: ['10.0.1.0/24', '10.0.2.0/24'],
      output: ['10.0.1.0/24', '10.0.2.0/24'],
    },
    { name: 'contained dropped', input: ['10.0.0.0/8', '10.1.2.0/24', '10.0.0.0/8'], output: ['10.0.0.0/8'] },
    { name: 'host bits ignored', input: ['10.0.0.5/24', '10.0.1.9/24'], output: ['10.0.0.0/23'] },
    {
      name: 'gap kept',
      input: ['10.0.0.0/25', '10.0.1.0/24', '10.0.3.0/24'],
      output: ['10.0.0.0/25', '10.0.1.0/24', '10.0.3.0/24'],
    },
    {
      name: 'families kept apart, v4 first',
      input: ['::/1', '10.0.0.0/8', '8000::/1'],
      output: ['10.0.0.0/8', '::/0'],
    },
    { name: 'whole v4 space', input: ['0.0.0.0/1', '128.0.0.0/1'], output: ['0.0.0.0/0'] },
    { name: 'v6 blocks', input: ['fd00::/122', 'fd00::40/122', 'fd00::80/121'], output: ['fd00::/120'] },
  ])('$name', ({ input, output }) => {
    expect(agg(input)).toEqual(output);
  });
});

describe('aggregateCidrs properties', () => {
  // Small universe (one /24 or /120) so the union can be checked address by address.
  const small = fc
    .tuple(fc.boolean(), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 8 }))
    .map(([v6, low, host]): Cidr => {
      const ip = v6 ? makeIP(6, 0xfd000000, 0, 0, low) : makeIP(4, 0, 0, 0, 0x0a000000 + low);
      return cidrMasked(makeCidr(ip, (v6 ? 128 : 32) - host));
    });
  const addresses = (cs: readonly Cidr[]): Set<string> => {
    const s = new Set<string>();
    for (const c of cs) {
      const host = BigInt((c.family === 4 ? 32 : 128) - c.prefix);
      const first = ipToBigInt(c.network);
      for (let v = first; v < first + (1n << host); v++) s.add(`${c.family}:${v}`);
    }
    return s;
  };

  it('covers exactly the union with disjoint, maximal prefixes, sorted', () => {
    fc.assert(
      fc.property(fc.array(small, { maxLength: 12 }), (input) => {
        const out = aggregateCidrs(input);
        const want = addresses(input);
        expect(addresses(out)).toEqual(want);
        for (let i = 0; i < out.length; i++) {
          for (let j = i + 1; j < out.length; j++) expect(cidrsOverlap(out[i] as Cidr, out[j] as Cidr)).toBe(false);
          if (i > 0) expect(compareCidr(out[i - 1] as Cidr, out[i] as Cidr)).toBeLessThan(0);
          // Minimal: no output could be replaced by its parent prefix, i.e. the parent is not fully covered.
          const c = out[i] as Cidr;
          if (c.prefix > 0) {
            const parent = cidrMasked(makeCidr(c.network, c.prefix - 1));
            expect([...addresses([parent])].every((a) => want.has(a))).toBe(false);
          }
        }
      }),
      { numRuns: 500 },
    );
  });

  it('is idempotent and order-independent', () => {
    fc.assert(
      fc.property(fc.array(small, { maxLength: 12 }), (input) => {
        const out = aggregateCidrs(input);
        expect(aggregateCidrs(out)).toEqual(out);
        expect(aggregateCidrs([...input].reverse())).toEqual(out);
        for (const c of input) expect(out.some((o) => cidrContainsCidr(o, c))).toBe(true);
      }),
    );
  });

  it('handles full-width prefixes', () => {
    expect(aggregateCidrs([parseCidr('::/0'), parseCidr('0.0.0.0/0')]).map(formatCidr)).toEqual(['0.0.0.0/0', '::/0']);
  });
});
