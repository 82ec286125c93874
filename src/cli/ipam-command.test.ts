import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { issuesFromZod } from '../api/errors.js';
import { BlockAffinityKind, IPAMBlockKind, IPAMHandleKind, IPPoolKind, IPReservationKind } from '../api/index.js';
import type { ObjectList } from '../kube/index.js';
import { ipamCheckReport, ipamShowReport, type IpamLists } from './ipam-command.js';

/** What the client's list returns: each object parsed with the kind's schema, the ones that fail set apart. */
function listOf<T>(kind: { kind: string; schema: unknown }, raws: Record<string, unknown>[]): ObjectList<T> {
  const out: ObjectList<T> = { items: [], invalid: [], resourceVersion: '1' };
  for (const raw of raws) {
    const name = (raw['metadata'] as { name: string }).name;
    const r = (kind.schema as z.ZodType<T>).safeParse(raw);
    if (r.success) out.items.push(r.data);
    else out.invalid.push({ key: name, raw, issues: issuesFromZod(r.error, { kind: kind.kind, name }) });
  }
  return out;
}

const meta = (name: string) => ({ apiVersion: 'projectcalico.org/v3', metadata: { name } });
const pool = { ...meta('default-pool'), kind: 'IPPool', spec: { cidr: '10.0.0.0/24', blockSize: 30 } };
/** A /30 of node-a holding 10.0.0.0 for pod default/p (a consistent block, handle and affinity). */
const goodBlock = {
  ...meta('10-0-0-0-30'),
  kind: 'IPAMBlock',
  spec: {
    cidr: '10.0.0.0/30',
    affinity: 'host:node-a',
    allocations: [0, null, null, null],
    unallocated: [1, 2, 3],
    attributes: [{ handle_id: 'k8s-pod-network.abc', secondary: { namespace: 'default', pod: 'p', node: 'node-a' } }],
    strictAffinity: false,
  },
};
const affinity = {
  ...meta('node-a-10-0-0-0-30'),
  kind: 'BlockAffinity',
  spec: { node: 'node-a', cidr: '10.0.0.0/30', state: 'confirmed', deleted: false },
};
const handle = {
  ...meta('k8s-pod-network.abc'),
  kind: 'IPAMHandle',
  spec: { handleID: 'k8s-pod-network.abc', block: { '10.0.0.0/30': 1 } },
};
const pod = {
  metadata: { name: 'p', namespace: 'default' },
  spec: { nodeName: 'node-a' },
  status: { phase: 'Running' },
};

function lists(blocks: Record<string, unknown>[]): IpamLists {
  return {
    pools: listOf(IPPoolKind, [pool]),
    blocks: listOf(IPAMBlockKind, blocks),
    affinities: listOf(BlockAffinityKind, [affinity]),
    handles: listOf(IPAMHandleKind, [handle]),
    nodes: [{ metadata: { name: 'node-a' } }],
    pods: [pod as never],
  };
}

describe('tabby ipam check', () => {
  it('a consistent cluster: no finding, exit 0', () => {
    const r = ipamCheckReport(lists([goodBlock]));
    expect(r).toEqual({
      stdout: 'checked 1 blocks, 1 affinities, 1 handles, 1 allocations: 0 errors, 0 warnings\n',
      code: 0,
    });
  });

  it('a block that fails its schema is an error naming the block and the field, and the check exits 1', () => {
    // A /30 has 4 ordinals; this one lists 3 allocations (the apiserver's CRD schema cannot see that).
    const bad = {
      ...meta('10-0-0-4-30'),
      kind: 'IPAMBlock',
      spec: { ...goodBlock.spec, cidr: '10.0.0.4/30', affinity: 'host:node-a', allocations: [null, null, null] },
    };
    const r = ipamCheckReport(lists([goodBlock, bad]));
    expect(r.code).toBe(1);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^error: IPAMBlock 10-0-0-4-30: spec\.allocations: .*4/);
    expect(lines.at(-1)).toBe('checked 2 blocks, 1 affinities, 1 handles, 1 allocations: 1 errors, 0 warnings');
  });

  it('a handle or an affinity that fails its schema is an error too', () => {
    const l = lists([goodBlock]);
    l.handles = listOf(IPAMHandleKind, [handle, { ...meta('broken'), kind: 'IPAMHandle', spec: { block: 7 } }]);
    l.affinities = listOf(BlockAffinityKind, [
      affinity,
      { ...meta('node-a-nope'), kind: 'BlockAffinity', spec: { node: 'node-a', cidr: 'nope', state: 'confirmed' } },
    ]);
    const r = ipamCheckReport(l);
    expect(r.code).toBe(1);
    // One error per field that fails.
    expect(r.stdout).toMatch(/^error: IPAMHandle broken: spec\.handleID: /m);
    expect(r.stdout).toMatch(/^error: IPAMHandle broken: spec\.block: /m);
    expect(r.stdout).toMatch(/^error: BlockAffinity node-a-nope: spec\.cidr: /m);
    expect(r.stdout).toMatch(/checked 1 blocks, 2 affinities, 2 handles, 1 allocations: 3 errors, 0 warnings\n$/);
  });

  it('a pool that fails its schema is a warning (configuration the operator reports), not an error', () => {
    const l = lists([goodBlock]);
    l.pools = listOf(IPPoolKind, [pool, { ...meta('bad-pool'), kind: 'IPPool', spec: { cidr: 'nope' } }]);
    const r = ipamCheckReport(l);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^warning: IPPool bad-pool: spec\.cidr: /m);
    expect(r.stdout).toMatch(/: 0 errors, 1 warnings\n$/);
  });
});

describe('tabby ipam show with IPReservations', () => {
  // calico: ipam_test.go "GetUtilization with reservations": a /24 pool (256 addresses), one /26 block (64) holding
  // 10.0.0.5, a reservation added afterwards; the pool's and the block's (capacity, in use, reserved, free).
  const utilPool = { ...meta('util'), kind: 'IPPool', spec: { cidr: '10.0.0.0/24' } };
  const unallocated = Array.from({ length: 64 }, (_, i) => i).filter((i) => i !== 5);
  const utilBlock = {
    ...meta('10-0-0-0-26'),
    kind: 'IPAMBlock',
    spec: {
      cidr: '10.0.0.0/26',
      affinity: 'host:host-a',
      allocations: Array.from({ length: 64 }, (_, i) => (i === 5 ? 0 : null)),
      unallocated,
      attributes: [{ handle_id: 'h', secondary: { node: 'host-a' } }],
    },
  };
  const show = (reserved: string[]) => {
    const l: IpamLists = {
      pools: listOf(IPPoolKind, [utilPool]),
      blocks: listOf(IPAMBlockKind, [utilBlock]),
      affinities: listOf(BlockAffinityKind, []),
      handles: listOf(IPAMHandleKind, []),
      reservations: listOf(IPReservationKind, [
        { ...meta('resv'), kind: 'IPReservation', spec: { reservedCIDRs: reserved } },
      ]),
      nodes: [{ metadata: { name: 'host-a' } }],
      pods: [],
    };
    const out = ipamShowReport(l, {}).stdout.split('\n');
    const cells = (prefix: string) =>
      out
        .find((line) => line.startsWith(prefix))!
        .trim()
        .split(/\s+/);
    const p = cells('util');
    const b = cells('10.0.0.0/26');
    // pool: IN USE, RESERVED, FREE, SIZE; block: IN USE, RESERVED, FREE.
    return { pool: [p[3], p[4], p[5], p[6]].map(Number), block: [b[3], b[4], b[5]].map(Number), out };
  };

  it.each([
    { name: 'inside the block', res: ['10.0.0.32/30'], pool: [1, 4, 251, 256], block: [1, 4, 59] },
    { name: 'over pool space with no block', res: ['10.0.0.128/25'], pool: [1, 128, 127, 256], block: [1, 0, 63] },
    { name: 'over the allocated address', res: ['10.0.0.5/32'], pool: [1, 1, 255, 256], block: [1, 1, 63] },
    {
      name: 'overlapping each other',
      res: ['10.0.0.0/25', '10.0.0.5/32', '10.0.0.64/26'],
      pool: [1, 128, 128, 256],
      block: [1, 64, 0],
    },
  ])('$name', ({ res, pool, block }) => {
    const r = show(res);
    expect(r.pool).toEqual(pool);
    expect(r.block).toEqual(block);
  });

  it('lists each reservation with its CIDRs', () => {
    const r = show(['10.0.0.32/30', '10.0.0.5']);
    expect(r.out).toContain('resv          10.0.0.32/30 10.0.0.5');
  });
});
