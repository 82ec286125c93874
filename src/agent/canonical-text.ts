// Canonical text of addresses and CIDRs as the agent compares them with what iproute2 prints.
//
// Same answers as src/net (parseIP/formatIP, tryParseCidr/formatCidr: strict, host bits zero), with a fast path
// for IPv4 text that is already canonical — the common case, and the hot loop when a 5,000-entry RouteTable is
// read. Anything else goes through src/net. Pure.
import { tryParseCidr, formatCidr } from '../net/cidr.js';
import { tryParseIP, formatIP } from '../net/ip.js';

/** Value of a canonical dotted quad (no leading zeros, each octet ≤ 255), or -1. */
function canonicalV4Value(text: string, start: number, end: number): number {
  let value = 0;
  let octets = 0;
  let i = start;
  while (i < end) {
    const first = text.charCodeAt(i);
    if (first < 0x30 || first > 0x39) return -1;
    let n = first - 0x30;
    let j = i + 1;
    while (j < end && text.charCodeAt(j) !== 0x2e) {
      const c = text.charCodeAt(j);
      if (c < 0x30 || c > 0x39 || n === 0 || j - i >= 3) return -1;
      n = n * 10 + (c - 0x30);
      j++;
    }
    if (n > 255) return -1;
    value = value * 256 + n;
    octets++;
    if (j === end) break;
    if (j + 1 === end) return -1; // trailing dot
    i = j + 1;
  }
  return octets === 4 ? value : -1;
}

/** Canonical IP text, or undefined when `text` is not an IP (of `family`, when given). */
export function canonicalIP(text: string | undefined, family?: 4 | 6): string | undefined {
  if (text === undefined) return undefined;
  if (family !== 6 && canonicalV4Value(text, 0, text.length) >= 0) return text;
  const ip = tryParseIP(text);
  if (ip === undefined || (family !== undefined && ip.family !== family)) return undefined;
  return formatIP(ip);
}

/** Canonical CIDR text and family, or undefined when `text` is not a CIDR with its host bits zero. */
export function canonicalCidr(text: string): { text: string; family: 4 | 6; prefix: number } | undefined {
  const slash = text.indexOf('/');
  if (slash > 0 && slash < text.length - 1 && slash >= text.length - 3) {
    const v = canonicalV4Value(text, 0, slash);
    const p = text.slice(slash + 1);
    const prefix = Number(p);
    if (v >= 0 && /^(0|[1-9]\d?)$/.test(p) && prefix <= 32) {
      const hostBits = prefix === 32 ? 0 : v % 2 ** (32 - prefix);
      return hostBits === 0 ? { text, family: 4, prefix } : undefined;
    }
  }
  const c = tryParseCidr(text);
  return c === undefined ? undefined : { text: formatCidr(c), family: c.family, prefix: c.prefix };
}
