// IP addresses: parse, format, compare.
//
// Representation: the family plus the 128-bit value as four big-endian 32-bit words (IPv4 keeps its 32 bits in the
// last word, the others 0), so IPv4 and IPv6 share all word-wise code and the IPAM hot paths (block-of-address,
// address<->offset) run on plain numbers without allocating bigints; bench/net.bench.ts measures this against a
// bigint representation. Words are stored as int32 (i0..i3, the two's-complement reading of the bits) because V8
// (Node's default build, without pointer compression) keeps int32 fields as small integers; uint32 values >= 2^31
// would turn the fields into boxed doubles,
// allocating on every new address and deprecating the object map mid-run (measured: up to 10x slower IPv6 block
// lookups once IPv4 and IPv6 addresses are mixed). The public view w0..w3 gives the same words as uint32 (src/plan
// builds sort keys from them). bigint is offered for arithmetic that is not hot (ipToBigInt/ipFromBigInt).
//
// Accepted text (the rules of Go's net.ParseIP / netip.ParseAddr, which Calico uses):
// - IPv4: exactly four decimal octets 0..255; a leading zero ("010") is rejected because it is ambiguous (octal in
//   some tools; Go rejects it since 1.17).
// - IPv6: RFC 4291 text form: up to eight groups of 1..4 hex digits (either case), at most one "::" which must stand
//   for at least one zero group, optionally ending in an embedded dotted IPv4. Zones ("%eth0") are rejected.
// - No surrounding whitespace, brackets or ports.
// Output is canonical: dotted decimal for IPv4, RFC 5952 for IPv6 (lower case, no leading zeros, the longest run of
// two or more zero groups, the first on a tie, written "::"; IPv4-mapped addresses as ::ffff:a.b.c.d per RFC 5952
// section 5, which keeps them IPv6: we never silently change an address's family).
import { NetParseError } from './errors.js';

export type IPFamily = 4 | 6;

export interface IP {
  readonly family: IPFamily;
  /** The value as big-endian uint32 words, most significant first; IPv4 has only w3 (w0..w2 are 0). */
  readonly w0: number;
  readonly w1: number;
  readonly w2: number;
  readonly w3: number;
  /** The same words as int32, the storage src/net computes on; outside src/net use w0..w3. */
  readonly i0: number;
  readonly i1: number;
  readonly i2: number;
  readonly i3: number;
}

class IPValue implements IP {
  constructor(
    readonly family: IPFamily,
    readonly i0: number,
    readonly i1: number,
    readonly i2: number,
    readonly i3: number,
  ) {}

  get w0(): number {
    return this.i0 >>> 0;
  }

  get w1(): number {
    return this.i1 >>> 0;
  }

  get w2(): number {
    return this.i2 >>> 0;
  }

  get w3(): number {
    return this.i3 >>> 0;
  }
}

/** Internal constructor: words are taken modulo 2^32 (uint32 or int32 alike); w0..w2 must be 0 for IPv4. */
export function makeIP(family: IPFamily, w0: number, w1: number, w2: number, w3: number): IP {
  return new IPValue(family, w0 | 0, w1 | 0, w2 | 0, w3 | 0);
}

export function ipv4FromNumber(n: number): IP {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new RangeError(`${n} is not a 32-bit unsigned integer`);
  return makeIP(4, 0, 0, 0, n);
}

/** Bits in an address of this family. */
export function familyBits(family: IPFamily): 32 | 128 {
  return family === 4 ? 32 : 128;
}

export function parseIP(text: string): IP {
  const r = parseIPReason(text, 0, text.length);
  if (typeof r === 'string')
    throw new NetParseError(text, `${JSON.stringify(text)} is not a valid IP address: ${r}`, r);
  return r;
}

/** Like parseIP but returns undefined instead of throwing. */
export function tryParseIP(text: string): IP | undefined {
  const r = parseIPReason(text, 0, text.length);
  return typeof r === 'string' ? undefined : r;
}

/**
 * Parses text[start, end) as an IPv4 or IPv6 address. Returns the IP or a reason (why it is not one); positions in
 * reasons are indexes into the whole text so that CIDR errors point at the right character.
 */
export function parseIPReason(text: string, start: number, end: number): IP | string {
  if (start >= end) return 'the address is empty';
  let sawColon = false;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x25 /* % */) {
      return sawColon ? `IPv6 zone ${JSON.stringify(text.slice(i, end))} is not allowed` : unexpectedChar(text, i);
    }
    if (c === 0x3a /* : */) sawColon = true;
  }
  if (sawColon) return parseV6(text, start, end);
  const v4 = parseV4(text, start, end);
  return typeof v4 === 'string' ? v4 : makeIP(4, 0, 0, 0, v4);
}

export function unexpectedChar(text: string, i: number): string {
  const c = text.charCodeAt(i);
  if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) return `unexpected whitespace at position ${i}`;
  return `unexpected character ${JSON.stringify(String.fromCodePoint(text.codePointAt(i) ?? c))} at position ${i}`;
}

/** Parses a dotted-quad in text[start, end); returns the uint32 value or a reason. */
function parseV4(text: string, start: number, end: number): number | string {
  let value = 0;
  let octet = 0;
  let digits = 0;
  let octetStart = start;
  let count = 0;
  for (let i = start; i <= end; i++) {
    const c = i < end ? text.charCodeAt(i) : 0x2e; // a virtual '.' closes the last octet
    if (c === 0x2e) {
      count++;
      const raw = text.slice(octetStart, i);
      if (digits === 0) return `octet ${count} is empty`;
      if (digits > 1 && text.charCodeAt(octetStart) === 0x30) {
        return `octet ${count} ${JSON.stringify(raw)} has a leading zero`;
      }
      if (octet > 255) return `octet ${count} ${JSON.stringify(raw)} is greater than 255`;
      if (count <= 4) value = value * 256 + octet;
      octet = 0;
      digits = 0;
      octetStart = i + 1;
    } else if (c >= 0x30 && c <= 0x39) {
      digits++;
      if (digits <= 4) octet = octet * 10 + (c - 0x30);
    } else {
      return unexpectedChar(text, i);
    }
  }
  if (count !== 4) return `expected 4 octets, found ${count}`;
  return value;
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  return -1;
}

function parseV6(text: string, start: number, end: number): IP | string {
  const groups: number[] = [];
  let ellipsis = -1; // index in groups where "::" stands
  let i = start;
  if (text.charCodeAt(i) === 0x3a) {
    if (text.charCodeAt(i + 1) !== 0x3a || i + 1 >= end) return `IPv6 address starts with a single ":"`;
    ellipsis = 0;
    i += 2;
  }
  while (i < end) {
    const groupStart = i;
    let g = 0;
    while (i < end) {
      const h = hexValue(text.charCodeAt(i));
      if (h < 0) break;
      g = g * 16 + h;
      i++;
    }
    if (i < end && text.charCodeAt(i) === 0x2e /* . */) {
      // Embedded IPv4: only as the last 32 bits.
      if (groups.length > 6) return `too many groups before the embedded IPv4 address`;
      const v4 = parseV4(text, groupStart, end);
      if (typeof v4 === 'string') return `embedded IPv4 address: ${v4}`;
      groups.push(Math.floor(v4 / 65536), v4 & 0xffff);
      i = end;
      break;
    }
    const digits = i - groupStart;
    if (digits === 0) {
      if (text.charCodeAt(i) === 0x3a) return `empty group at position ${i} (":::" or a misplaced ":")`;
      return unexpectedChar(text, i);
    }
    if (digits > 4) return `group ${JSON.stringify(text.slice(groupStart, i))} has more than 4 hex digits`;
    if (groups.length === 8) return `more than 8 groups`;
    groups.push(g);
    if (i === end) break;
    if (text.charCodeAt(i) !== 0x3a) return unexpectedChar(text, i);
    i++;
    if (i < end && text.charCodeAt(i) === 0x3a) {
      if (ellipsis >= 0) return `"::" appears more than once`;
      ellipsis = groups.length;
      i++;
    } else if (i === end) {
      return `IPv6 address ends with a single ":"`;
    }
  }
  if (groups.length > 8) return `more than 8 groups`;
  if (ellipsis < 0) {
    if (groups.length !== 8) return `has ${groups.length} groups; expected 8 or a "::"`;
  } else {
    if (groups.length === 8) return `"::" must stand for at least one zero group, but there are already 8 groups`;
    const zeros = new Array<number>(8 - groups.length).fill(0);
    groups.splice(ellipsis, 0, ...zeros);
  }
  const g = groups as [number, number, number, number, number, number, number, number];
  return makeIP(6, (g[0] << 16) | g[1], (g[2] << 16) | g[3], (g[4] << 16) | g[5], (g[6] << 16) | g[7]);
}

export function formatIP(ip: IP): string {
  if (ip.family === 4) return formatV4(ip.i3);
  if (ip.i0 === 0 && ip.i1 === 0 && ip.i2 === 0xffff) return `::ffff:${formatV4(ip.i3)}`;
  const g = [
    ip.i0 >>> 16,
    ip.i0 & 0xffff,
    ip.i1 >>> 16,
    ip.i1 & 0xffff,
    ip.i2 >>> 16,
    ip.i2 & 0xffff,
    ip.i3 >>> 16,
    ip.i3 & 0xffff,
  ];
  // RFC 5952 4.2: compress the longest run (>= 2) of zero groups; on a tie, the first.
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (a: number, b: number): string =>
    g
      .slice(a, b)
      .map((x) => x.toString(16))
      .join(':');
  if (bestStart < 0) return hex(0, 8);
  return `${hex(0, bestStart)}::${hex(bestStart + bestLen, 8)}`;
}

function formatV4(w: number): string {
  return `${w >>> 24}.${(w >>> 16) & 255}.${(w >>> 8) & 255}.${w & 255}`;
}

export function compareIP(a: IP, b: IP): number {
  if (a.family !== b.family) return a.family - b.family;
  if (a.i0 !== b.i0) return a.i0 >>> 0 < b.i0 >>> 0 ? -1 : 1;
  if (a.i1 !== b.i1) return a.i1 >>> 0 < b.i1 >>> 0 ? -1 : 1;
  if (a.i2 !== b.i2) return a.i2 >>> 0 < b.i2 >>> 0 ? -1 : 1;
  if (a.i3 !== b.i3) return a.i3 >>> 0 < b.i3 >>> 0 ? -1 : 1;
  return 0;
}

export function ipEquals(a: IP, b: IP): boolean {
  return a.family === b.family && a.i0 === b.i0 && a.i1 === b.i1 && a.i2 === b.i2 && a.i3 === b.i3;
}

export function ipFamily(ip: IP): IPFamily {
  return ip.family;
}

export function ipToBigInt(ip: IP): bigint {
  if (ip.family === 4) return BigInt(ip.w3);
  return (BigInt(ip.w0) << 96n) | (BigInt(ip.w1) << 64n) | (BigInt(ip.w2) << 32n) | BigInt(ip.w3);
}

const MAX_V6 = (1n << 128n) - 1n;

export function ipFromBigInt(family: IPFamily, v: bigint): IP {
  const max = family === 4 ? 0xffffffffn : MAX_V6;
  if (v < 0n || v > max) throw new RangeError(`${v} is out of range for an IPv${family} address`);
  if (family === 4) return makeIP(4, 0, 0, 0, Number(v));
  return makeIP(
    6,
    Number((v >> 96n) & 0xffffffffn),
    Number((v >> 64n) & 0xffffffffn),
    Number((v >> 32n) & 0xffffffffn),
    Number(v & 0xffffffffn),
  );
}

/** ip + delta; throws RangeError when the result leaves the family's address space. */
export function ipAdd(ip: IP, delta: number | bigint): IP {
  if (ip.family === 4 && typeof delta === 'number') {
    const v = (ip.i3 >>> 0) + delta;
    if (!Number.isSafeInteger(delta) || v < 0 || v > 0xffffffff) {
      throw new RangeError(`${formatIP(ip)} + ${delta} is outside the IPv4 address space`);
    }
    return makeIP(4, 0, 0, 0, v);
  }
  const d = typeof delta === 'bigint' ? delta : BigInt(delta);
  const v = ipToBigInt(ip) + d;
  const max = ip.family === 4 ? 0xffffffffn : MAX_V6;
  if (v < 0n || v > max)
    throw new RangeError(`${formatIP(ip)} + ${delta} is outside the IPv${ip.family} address space`);
  return ipFromBigInt(ip.family, v);
}
