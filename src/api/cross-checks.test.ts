import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cidrsOverlap, parseCidr } from '../net/index.js';
import { checkIPPoolUpdate, checkPoolAgainstBlocks, findPoolOverlaps, selectorIssues } from './cross-checks.js';
import { formatIssue } from './errors.js';
import { IPAMBlockKind, type IPAMBlock } from './ipam-block.js';
import { IPPoolKind, type IPPool } from './ip-pool.js';
import { parseAs } from './validate.js';

function pool(name: string, cidr: string, created?: string, extra: Record<string, unknown> = {}): IPPool {
  return parseAs(IPPoolKind, {
    apiVersion: 'projectcalico.org/v3',
    kind: 'IPPool',
    metadata: { name, ...(created === undefined ? {} : { creationTimestamp: created }) },
    spec: { cidr, ...extra },
  });
}

function block(cidr: string): IPAMBlock {
  const size = 2 ** ((cidr.includes(':') ? 128 : 32) - Number(cidr.split('/')[1]));
  return parseAs(IPAMBlockKind, {
    apiVersion: 'projectcalico.org/v3',
    kind: 'IPAMBlock',
    metadata: { name: cidr.replace(/[./:]/g, '-') },
    spec: { cidr, allocations: Array.from({ length: size }, () => null), unallocated: [], attributes: [] },
  });
}

describe('findPoolOverlaps', () => {
  it('reports the later pool, naming the older one (Calico v3.32 CIDROverlap)', () => {
    const r = findPoolOverlaps([
      pool('ippool1', '1.2.3.0/24', '2026-01-01T00:00:00Z'),
      pool('ippool2', '1.2.3.0/25', '2026-01-02T00:00:00Z'),
    ]);
    expect(r.map((o) => [o.pool, o.overlaps])).toEqual([['ippool2', ['ippool1']]]);
    expect(formatIssue(r[0]!.issue)).toBe(
      'IPPool ippool2: spec.cidr: overlaps IPPool ippool1 (CIDR 1.2.3.0/24); the older pool keeps the range',
    );
  });

  it.each([
    [
      'disjoint pools',
      [
        ['a', '10.0.0.0/16'],
        ['b', '10.1.0.0/16'],
      ],
      [],
    ],
    [
      'same CIDR twice, ordered by time',
      [
        ['b', '10.0.0.0/16', '2026-01-01T00:00:00Z'],
        ['a', '10.0.0.0/16', '2026-01-02T00:00:00Z'],
      ],
      [['a', ['b']]],
    ],
    [
      'same time, ordered by name',
      [
        ['b', '10.0.0.0/16', 'T'],
        ['a', '10.0.0.0/16', 'T'],
      ],
      [['b', ['a']]],
    ],
    [
      'not yet created loses',
      [
        ['new', '10.0.0.0/8'],
        ['old', '10.1.0.0/16', '2026-01-01T00:00:00Z'],
      ],
      [['new', ['old']]],
    ],
    [
      'v4 and v6 never overlap',
      [
        ['a', '10.0.0.0/8'],
        ['b', 'fd00::/8'],
      ],
      [],
    ],
    [
      'one big pool over two small ones',
      [
        ['small1', '10.0.0.0/24', '1'],
        ['small2', '10.0.1.0/24', '2'],
        ['big', '10.0.0.0/16', '3'],
      ],
      [['big', ['small1', 'small2']]],
    ],
  ] as const)('%s', (_name, defs, expected) => {
    const pools = defs.map(([n, c, t]) => pool(n, c, t));
    expect(findPoolOverlaps(pools).map((o) => [o.pool, o.overlaps])).toEqual(expected);
  });

  it('ignores pools being deleted', () => {
    const dying = {
      ...pool('dying', '10.0.0.0/16', '1'),
      metadata: { name: 'dying', creationTimestamp: '1', deletionTimestamp: '2' },
    };
    expect(findPoolOverlaps([dying, pool('fresh', '10.0.0.0/16', '2')])).toEqual([]);
  });

  it('agrees with the pairwise definition on random pools', () => {
    const arbPool = fc.record({
      a: fc.integer({ min: 0, max: 3 }),
      b: fc.integer({ min: 0, max: 3 }),
      prefix: fc.integer({ min: 14, max: 26 }),
      t: fc.integer({ min: 0, max: 5 }),
    });
    fc.assert(
      fc.property(fc.array(arbPool, { maxLength: 12 }), (specs) => {
        const pools = specs.map((s, i) => {
          // 10.(0|64|128|192).(0|64|128|192).0 masked to a valid network for the chosen prefix.
          const bits = ((10 << 24) | ((s.a * 64) << 16) | ((s.b * 64) << 8)) >>> 0;
          const masked = s.prefix === 0 ? 0 : (bits & (0xffffffff << (32 - s.prefix))) >>> 0;
          const net = [24, 16, 8, 0].map((sh) => (masked >>> sh) & 255).join('.');
          return pool(`p${i}`, `${net}/${s.prefix}`, String(s.t));
        });
        const got = new Map(findPoolOverlaps(pools).map((o) => [o.pool, o.overlaps]));
        const order = [...pools].sort((x, y) =>
          x.metadata.creationTimestamp! !== y.metadata.creationTimestamp!
            ? x.metadata.creationTimestamp! < y.metadata.creationTimestamp!
              ? -1
              : 1
            : x.metadata.name < y.metadata.name
              ? -1
              : 1,
        );
        const want = new Map<string, string[]>();
        order.forEach((p, i) => {
          const older = order
            .slice(0, i)
            .filter((o) => cidrsOverlap(parseCidr(o.spec.cidr), parseCidr(p.spec.cidr)))
            .map((o) => o.metadata.name)
            .sort();
          if (older.length > 0) want.set(p.metadata.name, older);
        });
        expect(Object.fromEntries(got)).toEqual(Object.fromEntries(want));
      }),
    );
  });
});

describe('checkPoolAgainstBlocks', () => {
  it('refuses a pool over existing blocks of another size', () => {
    const p = pool('p', '10.0.0.0/16', undefined, { blockSize: 24 });
    const issues = checkPoolAgainstBlocks(p, [block('10.0.1.0/26'), block('10.1.0.0/26'), block('10.0.2.0/24')]);
    expect(issues.map(formatIssue)).toEqual([
      'IPPool p: spec.blockSize: existing IPAM block 10.0.1.0/26 overlaps this pool with a different size (blockSize 24)',
    ]);
  });
  it('accepts blocks of the same size', () => {
    expect(checkPoolAgainstBlocks(pool('p', '10.0.0.0/16'), [block('10.0.1.0/26')])).toEqual([]);
  });
});

describe('checkIPPoolUpdate', () => {
  it('refuses cidr and blockSize changes', () => {
    const before = pool('p', '10.0.0.0/16');
    const after = pool('p', '10.1.0.0/16', undefined, { blockSize: 24 });
    expect(checkIPPoolUpdate(before, after).map((i) => i.path.join('.'))).toEqual(['spec.cidr', 'spec.blockSize']);
  });
  it('treats an explicit default block size as no change', () => {
    expect(checkIPPoolUpdate(pool('p', '10.0.0.0/16'), pool('p', '10.0.0.0/16', undefined, { blockSize: 26 }))).toEqual(
      [],
    );
  });
});

describe('selectorIssues', () => {
  it('names each selector that does not parse', () => {
    const issues = selectorIssues({
      kind: 'BGPPeer',
      metadata: { name: 'peer' },
      spec: { nodeSelector: 'all()', peerSelector: 'rr ==' },
    });
    expect(issues.map((i) => i.path.join('.'))).toEqual(['spec.peerSelector']);
    expect(selectorIssues({ kind: 'IPPool', metadata: { name: 'p' }, spec: { nodeSelector: 'has(a)' } })).toEqual([]);
  });
});
