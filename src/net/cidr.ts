// CIDR prefixes: parse, format, compare, containment and overlap.
//
// A Cidr keeps both the address as written and its network (host bits cleared). parseCidr requires them to be equal
// (Calico rejects pool CIDRs with host bits, e.g. IPPool spec.cidr); parseCidrLoose keeps host bits, as in a node's
// interface address `192.168.0.11/24` (Calico's cnet.ParseCIDR keeps the IP too). Every operation on a Cidr
// (containment, overlap, blocks, size) uses the network; only formatCidr and compareCidr look at the address.
//
// Prefix lengths are unsigned decimal, 0..32 (IPv4) or 0..128 (IPv6), as Go's net.ParseCIDR reads them (leading
// zeros allowed); the address part follows ip.ts (no leading-zero octets, no zones). Invariant: formatCidr(parseCidr(s)) === s for every canonical s, and
// parseCidr(formatCidr(c)) equals c for every strict c.
import { NetParseError } from './errors.js';
import {
  type IP,
  type IPFamily,
  compareIP,
  familyBits,
  formatIP,
  makeIP,
  parseIPReason,
  unexpectedChar,
} from './ip.js';

export interface Cidr {
  readonly family: IPFamily;
  /** Prefix length: 0..32 for IPv4, 0..128 for IPv6. */
  readonly prefix: number;
  /** The address as written; equal to `network` unless the Cidr came from parseCidrLoose with host bits set. */
  readonly address: IP;
  /** The first address of the prefix (host bits cleared). */
  readonly network: IP;
}

/** Mask for word `i` (0..3) of a prefix measured in 128-bit space, as an int32 bit pattern for `&`. */
export function wordMask(prefix128: number, i: number): number {
  const bits = prefix128 - 32 * i;
  if (bits <= 0) return 0;
  if (bits >= 32) return -1;
  return ~(-1 >>> bits);
}

/** The prefix length measured over 128 bits (IPv4 lives in the last 32). */
export function prefix128(family: IPFamily, prefix: number): number {
  return family === 4 ? prefix + 96 : prefix;
}

/** Clears the host bits of `ip` beyond `prefix` (in the family's own bit count). */
export function maskIP(ip: IP, prefix: number): IP {
  if (ip.family === 4) {
    const i3 = ip.i3 & wordMask(prefix + 96, 3);
    return i3 === ip.i3 ? ip : makeIP(4, 0, 0, 0, i3);
  }
  const i0 = ip.i0 & wordMask(prefix, 0);
  const i1 = ip.i1 & wordMask(prefix, 1);
  const i2 = ip.i2 & wordMask(prefix, 2);
  const i3 = ip.i3 & wordMask(prefix, 3);
  if (i0 === ip.i0 && i1 === ip.i1 && i2 === ip.i2 && i3 === ip.i3) return ip;
  return makeIP(6, i0, i1, i2, i3);
}

/** Sets every host bit of `ip` beyond `prefix`: the last address of the prefix. */
export function lastIP(ip: IP, prefix: number): IP {
  if (ip.family === 4) return makeIP(4, 0, 0, 0, ip.i3 | ~wordMask(prefix + 96, 3));
  return makeIP(
    6,
    ip.i0 | ~wordMask(prefix, 0),
    ip.i1 | ~wordMask(prefix, 1),
    ip.i2 | ~wordMask(prefix, 2),
    ip.i3 | ~wordMask(prefix, 3),
  );
}

/** Builds a Cidr from an address and prefix length; host bits are cleared in `network` and kept in `address`. */
export function makeCidr(address: IP, prefix: number): Cidr {
  const bits = familyBits(address.family);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > bits) {
    throw new RangeError(`prefix length ${prefix} is out of range 0..${bits} for IPv${address.family}`);
  }
  return { family: address.family, prefix, address, network: maskIP(address, prefix) };
}

/** The single-address prefix (/32 or /128) of `ip`. */
export function hostCidr(ip: IP): Cidr {
  return { family: ip.family, prefix: familyBits(ip.family), address: ip, network: ip };
}

function parseCidrReason(text: string): Cidr | string {
  const slash = text.indexOf('/');
  if (slash < 0) {
    const ipOnly = parseIPReason(text, 0, text.length);
    return typeof ipOnly === 'string' ? ipOnly : `missing "/<prefix length>"`;
  }
  const ip = parseIPReason(text, 0, slash);
  if (typeof ip === 'string') return ip;
  const bits = familyBits(ip.family);
  const start = slash + 1;
  if (start === text.length) return 'the prefix length after "/" is empty';
  let prefix = 0;
  for (let i = start; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return unexpectedChar(text, i);
    if (prefix <= 128) prefix = prefix * 10 + (c - 0x30);
  }
  // Leading zeros ("/08") are accepted: Calico parses with Go's net.ParseCIDR, whose prefix length parser allows
  // them; formatCidr then writes the canonical "/8".
  if (prefix > bits) return `prefix length ${text.slice(start)} is out of range 0..${bits} for IPv${ip.family}`;
  return makeCidr(ip, prefix);
}

function cidrError(text: string, reason: string): NetParseError {
  return new NetParseError(text, `${JSON.stringify(text)} is not a valid CIDR: ${reason}`, reason);
}

/** Parses `a.b.c.d/n` or `v6/n`; throws NetParseError on junk or when host bits are set. */
export function parseCidr(text: string): Cidr {
  const r = parseCidrReason(text);
  if (typeof r === 'string') throw cidrError(text, r);
  if (r.address !== r.network) {
    const network = `${formatIP(r.network)}/${r.prefix}`;
    throw new NetParseError(
      text,
      `${JSON.stringify(text)} has host bits set (network is ${network})`,
      `host bits set (network is ${network})`,
    );
  }
  return r;
}

/** Parses a CIDR that may have host bits set (e.g. a node's `192.168.0.11/24`), keeping the address. */
export function parseCidrLoose(text: string): Cidr {
  const r = parseCidrReason(text);
  if (typeof r === 'string') throw cidrError(text, r);
  return r;
}

/** Non-throwing parseCidr. */
export function tryParseCidr(text: string): Cidr | undefined {
  const r = parseCidrReason(text);
  return typeof r === 'string' || r.address !== r.network ? undefined : r;
}

/** Canonical text: the address as kept (see header) in canonical form, "/", the prefix length. */
export function formatCidr(c: Cidr): string {
  return `${formatIP(c.address)}/${c.prefix}`;
}

export function cidrFamily(c: Cidr): IPFamily {
  return c.family;
}

/** The prefix with host bits cleared (returns `c` itself when it has none). */
export function cidrMasked(c: Cidr): Cidr {
  return c.address === c.network ? c : { family: c.family, prefix: c.prefix, address: c.network, network: c.network };
}

/** First address of the prefix. */
export function networkAddress(c: Cidr): IP {
  return c.network;
}

/** Last address of the prefix (the IPv4 broadcast address; IPv6 has no broadcast but the notion is the same). */
export function broadcastAddress(c: Cidr): IP {
  return lastIP(c.network, c.prefix);
}

/** Number of addresses in the prefix. */
export function cidrSize(c: Cidr): bigint {
  return 1n << BigInt(familyBits(c.family) - c.prefix);
}

export function cidrContainsIP(c: Cidr, ip: IP): boolean {
  if (c.family !== ip.family) return false;
  const n = c.network;
  if (c.family === 4) return ((ip.i3 ^ n.i3) & wordMask(c.prefix + 96, 3)) === 0;
  const p = c.prefix;
  return (
    ((ip.i0 ^ n.i0) & wordMask(p, 0)) === 0 &&
    ((ip.i1 ^ n.i1) & wordMask(p, 1)) === 0 &&
    ((ip.i2 ^ n.i2) & wordMask(p, 2)) === 0 &&
    ((ip.i3 ^ n.i3) & wordMask(p, 3)) === 0
  );
}

/** True when every address of `inner` is in `outer` (a prefix contains itself). */
export function cidrContainsCidr(outer: Cidr, inner: Cidr): boolean {
  return outer.family === inner.family && outer.prefix <= inner.prefix && cidrContainsIP(outer, inner.network);
}

/** True when the two prefixes share at least one address (for prefixes: one contains the other). */
export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  if (a.family !== b.family) return false;
  return a.prefix <= b.prefix ? cidrContainsIP(a, b.network) : cidrContainsIP(b, a.network);
}

export function cidrEquals(a: Cidr, b: Cidr): boolean {
  return a.prefix === b.prefix && compareIP(a.address, b.address) === 0;
}

/** Total order: IPv4 before IPv6, then by network address, then shorter prefix first, then by address as written. */
export function compareCidr(a: Cidr, b: Cidr): number {
  return compareIP(a.network, b.network) || a.prefix - b.prefix || compareIP(a.address, b.address);
}
