// check.ts: every finding names the object (kind + name) and the field; a clean state has none.
import { describe, expect, it } from 'vitest';
import { formatIssue } from '../api/errors.js';
import { type PodInfo, podKey } from './allocations.js';
import { type CheckInput, checkIpam } from './check.js';
import { assignFromHead, newBlock } from './block.js';
import type { BlockAffinityData, IPAMBlockData, IPAMHandleData } from './model.js';

function block(cidr: string, node: string | null, holders: [string, Record<string, string>][] = []): IPAMBlockData {
  const size = 2 ** (32 - Number(cidr.split('/')[1]));
  const b = newBlock(cidr, size, {
    affinity: node === null ? null : `host:${node}`,
    affinityClaimTime: null,
    sequenceNumber: 1n,
  });
  for (const [h, attrs] of holders) assignFromHead(b, 1, h, attrs);
  return b;
}
const aff = (node: string, cidr: string, state: BlockAffinityData['state'] = 'confirmed'): BlockAffinityData => ({
  node,
  cidr,
  state,
  type: 'host',
  deleted: false,
});
const handle = (id: string, counts: Record<string, number>): IPAMHandleData => ({
  handleID: id,
  block: counts,
  deleted: false,
});
const pod = (name: string, node: string, ips: string[]): [string, PodInfo] => [
  podKey('ns', name),
  { namespace: 'ns', name, node, ips },
];

function clean(): CheckInput {
  return {
    blocks: [block('10.0.0.0/29', 'n1', [['h1', { node: 'n1', namespace: 'ns', pod: 'p1' }]])],
    affinities: [aff('n1', '10.0.0.0/29')],
    handles: [handle('h1', { '10.0.0.0/29': 1 })],
    nodes: new Set(['n1']),
    pods: new Map([pod('p1', 'n1', ['10.0.0.0'])]),
  };
}

describe('checkIpam', () => {
  it('finds nothing wrong in a consistent state', () => {
    const r = checkIpam(clean());
    expect(r.findings).toEqual([]);
    expect(r.summary).toEqual({ blocks: 1, affinities: 1, handles: 1, allocations: 1, errors: 0, warnings: 0 });
  });

  it.each<{ name: string; change: (i: CheckInput) => CheckInput; lines: string[] }>([
    {
      name: 'a malformed block (an ordinal both free and allocated)',
      change: (i) => {
        const b = block('10.0.0.0/29', 'n1', [['h1', { node: 'n1', namespace: 'ns', pod: 'p1' }]]);
        b.unallocated.push(0);
        return { ...i, blocks: [b] };
      },
      lines: ['IPAMBlock 10-0-0-0-29: spec.allocations: ordinal 0 is both allocated and in unallocated'],
    },
    {
      name: 'an address allocated in two overlapping blocks',
      change: (i) => ({
        ...i,
        blocks: [...i.blocks, block('10.0.0.0/30', 'n1', [['h1', { node: 'n1', namespace: 'ns', pod: 'p1' }]])],
        affinities: [...i.affinities, aff('n1', '10.0.0.0/30')],
        handles: [handle('h1', { '10.0.0.0/29': 1, '10.0.0.0/30': 1 })],
      }),
      lines: [
        'IPAMBlock 10-0-0-0-30: spec.allocations[0]: 10.0.0.0 is also allocated in overlapping block 10.0.0.0/29',
      ],
    },
    {
      name: 'an affinity without its block',
      change: (i) => ({ ...i, affinities: [...i.affinities, aff('n1', '10.0.0.8/29')] }),
      lines: ['BlockAffinity n1-10-0-0-8-29: spec.cidr: block 10.0.0.8/29 does not exist'],
    },
    {
      name: 'a block without its affinity',
      change: (i) => ({ ...i, affinities: [] }),
      lines: ['IPAMBlock 10-0-0-0-29: spec.affinity: affine to host:n1 but there is no confirmed BlockAffinity for it'],
    },
    {
      name: 'blocks and affinities of a deleted node, and its leaked address',
      change: (i) => ({ ...i, nodes: new Set<string>(), pods: new Map() }),
      lines: [
        'BlockAffinity n1-10-0-0-0-29: spec.node: node n1 no longer exists',
        'IPAMBlock 10-0-0-0-29: spec.affinity: node n1 no longer exists',
        'IPAMBlock 10-0-0-0-29: spec.allocations[0]: 10.0.0.0 is held for pod ns/p1, which no longer uses it',
      ],
    },
    {
      name: 'a handle that disagrees with the block',
      change: (i) => ({ ...i, handles: [handle('h1', { '10.0.0.0/29': 2, '10.0.9.0/29': 1 })] }),
      lines: [
        'IPAMHandle h1: spec.block["10.0.0.0/29"]: records 2 address(es) in block 10.0.0.0/29, the block holds 1 under this handle',
        'IPAMHandle h1: spec.block["10.0.9.0/29"]: records 1 address(es) in block 10.0.9.0/29, the block holds 0 under this handle',
      ],
    },
    {
      name: 'an allocation whose handle has no IPAMHandle',
      change: (i) => ({ ...i, handles: [] }),
      lines: ['IPAMBlock 10-0-0-0-29: spec.attributes: allocations under handle h1 have no IPAMHandle h1'],
    },
    {
      name: 'two pods with one address',
      change: (i) => ({ ...i, pods: new Map([...i.pods!, pod('p2', 'n1', ['10.0.0.0'])]) }),
      lines: ['Pod ns/p2: status.podIPs: 10.0.0.0 is also the address of pod ns/p1'],
    },
  ])('reports $name', ({ change, lines }) => {
    const r = checkIpam(change(clean()));
    expect(r.findings.filter((f) => f.severity === 'error').map(formatIssue)).toEqual(lines);
    expect(r.summary.errors).toBe(lines.length);
  });

  it('warns (does not fail) about affinities in transition and owner-less allocations', () => {
    const i = clean();
    const r = checkIpam({
      ...i,
      blocks: [...i.blocks, block('10.0.0.8/29', 'n1', [['manual', { note: 'x' }]])],
      affinities: [...i.affinities, aff('n1', '10.0.0.8/29'), aff('n1', '10.0.0.16/29', 'pending')],
      handles: [...i.handles, handle('manual', { '10.0.0.8/29': 1 })],
    });
    expect(r.summary.errors).toBe(0);
    expect(r.findings.map((f) => `${f.severity} ${f.code}`)).toEqual([
      'warning affinityInTransition',
      'warning unknownOwner',
    ]);
  });

  it('accepts versioned objects straight from a store', () => {
    const i = clean();
    const r = checkIpam({
      blocks: i.blocks.map((b) => ({ value: b as IPAMBlockData, version: '1' })),
      affinities: i.affinities.map((a) => ({ value: a as BlockAffinityData, version: '1' })),
      handles: i.handles.map((h) => ({ value: h as IPAMHandleData, version: '1' })),
    });
    expect(r.summary.errors).toBe(0);
  });
});
