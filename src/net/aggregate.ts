// Aggregation: the minimal set of prefixes covering exactly the union of the inputs (host bits of inputs ignored).
// Used to summarise routes and pools. Invariants (tested against a brute-force model): the output covers the same
// addresses as the input, no two outputs overlap, no two outputs could merge into one, and the output is sorted by
// compareCidr (IPv4 first). Not a hot path, so it works on bigint ranges for clarity.
import { type Cidr, compareCidr, makeCidr } from './cidr.js';
import { type IPFamily, familyBits, ipFromBigInt, ipToBigInt } from './ip.js';

export function aggregateCidrs(cidrs: readonly Cidr[]): Cidr[] {
  const out: Cidr[] = [];
  for (const family of [4, 6] as const) {
    const bits = BigInt(familyBits(family));
    const ranges: [bigint, bigint][] = [];
    for (const c of cidrs) {
      if (c.family !== family) continue;
      const start = ipToBigInt(c.network);
      ranges.push([start, start + (1n << (bits - BigInt(c.prefix))) - 1n]);
    }
    ranges.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    let cur: [bigint, bigint] | undefined;
    for (const r of ranges) {
      if (cur !== undefined && r[0] <= cur[1] + 1n) {
        if (r[1] > cur[1]) cur[1] = r[1];
      } else {
        if (cur !== undefined) rangeToCidrs(family, cur[0], cur[1], out);
        cur = [r[0], r[1]];
      }
    }
    if (cur !== undefined) rangeToCidrs(family, cur[0], cur[1], out);
  }
  return out.sort(compareCidr);
}

/** Appends the minimal prefixes covering [start, end] inclusive: greedily the largest aligned block at start. */
function rangeToCidrs(family: IPFamily, start: bigint, end: bigint, out: Cidr[]): void {
  const bits = familyBits(family);
  while (start <= end) {
    let host = 0;
    while (host < bits) {
      const size = 1n << BigInt(host + 1);
      if (start % size !== 0n || start + size - 1n > end) break;
      host++;
    }
    out.push(makeCidr(ipFromBigInt(family, start), bits - host));
    start += 1n << BigInt(host);
  }
}
