// fast-check arbitraries shared by the src/net tests (testdata/ is excluded from the build).
import fc from 'fast-check';
import { type Cidr, cidrMasked, makeCidr } from '../cidr.js';
import { type IP, makeIP } from '../ip.js';

const u32 = fc.integer({ min: 0, max: 0xffffffff });
export const arbIPv4: fc.Arbitrary<IP> = u32.map((w) => makeIP(4, 0, 0, 0, w));
// Biased towards zero words and small groups so that "::" compression and edge values are exercised.
const word = fc.oneof(fc.constant(0), fc.constant(0), u32, fc.integer({ min: 0, max: 0xffff }), fc.constant(0xffffffff));
export const arbIPv6: fc.Arbitrary<IP> = fc.tuple(word, word, word, word).map(([a, b, c, d]) => makeIP(6, a, b, c, d));
export const arbIP: fc.Arbitrary<IP> = fc.oneof(arbIPv4, arbIPv6);

/** Other layers read the words directly (e.g. src/plan sort keys), so every IP we hand out must hold uint32 words. */
export function hasUint32Words(ip: IP): boolean {
  const ws = [ip.w0, ip.w1, ip.w2, ip.w3];
  const ok = ws.every((w) => Number.isInteger(w) && w >= 0 && w <= 0xffffffff);
  return ok && (ip.family === 6 || (ip.w0 === 0 && ip.w1 === 0 && ip.w2 === 0));
}

/** Strict prefixes (no host bits) of any length and family. */
export const arbCidr: fc.Arbitrary<Cidr> = arbIP.chain((ip) =>
  fc.integer({ min: 0, max: ip.family === 4 ? 32 : 128 }).map((p) => cidrMasked(makeCidr(ip, p))),
);
