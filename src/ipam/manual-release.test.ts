// `tabby ipam release`: what a release by hand may take. Expected values: calicoctl's message for a free address
// ("IP address X is not assigned"), and GC's rule for what is in use (kube-controllers' ipam_allocation.go, as
// allocations.ts states it), derived by hand for each owner.
import { describe, expect, it } from 'vitest';
import type { PodInfo } from './allocations.js';
import { assignOrdinal, newBlock } from './block.js';
import { planManualRelease } from './manual-release.js';
import type { IPAMBlockData, IPAMHandleData } from './model.js';

function block(cidr: string, entries: [number, string, Record<string, string>][]): IPAMBlockData {
  const b = newBlock(cidr, 64, { affinity: 'host:n1', affinityClaimTime: null, sequenceNumber: 7n });
  for (const [o, handle, attrs] of entries) assignOrdinal(b, o, handle, attrs);
  return b;
}

const blocks = [
  block('10.0.0.0/26', [
    [5, 'k8s-pod-network.live', { namespace: 'default', pod: 'web', node: 'n1' }],
    [6, 'k8s-pod-network.gone', { namespace: 'default', pod: 'deleted', node: 'n1' }],
    [7, 'vxlan-tunnel-addr-n1', { node: 'n1', type: 'vxlanTunnelAddress' }],
    [8, 'vxlan-tunnel-addr-n9', { node: 'n9', type: 'vxlanTunnelAddress' }],
    [9, 'made-by-hand', {}],
    [10, 'k8s-pod-network.live', { namespace: 'default', pod: 'web', node: 'n1' }],
  ]),
  block('fd00::/122', [[1, 'k8s-pod-network.v6', { namespace: 'default', pod: 'v6pod', node: 'n1' }]]),
];
const handles: IPAMHandleData[] = [
  { handleID: 'k8s-pod-network.live', block: { '10.0.0.0/26': 2 }, deleted: false },
  { handleID: 'k8s-pod-network.gone', block: { '10.0.0.0/26': 1 }, deleted: false },
  { handleID: 'k8s-pod-network.empty', block: {}, deleted: false },
];
const pods = new Map<string, PodInfo>([
  ['default/web', { namespace: 'default', name: 'web', node: 'n1', ips: ['10.0.0.5', '10.0.0.10'] }],
]);
const input = { blocks, handles, nodes: new Set(['n1']), pods };

describe('planManualRelease --ip', () => {
  it('a free address: calicoctl\'s "IP address X is not assigned"', () => {
    expect(planManualRelease({ ip: '10.0.0.11' }, input, false)).toEqual({
      kind: 'notFound',
      message: 'IP address 10.0.0.11 is not assigned',
    });
    expect(planManualRelease({ ip: '192.168.9.9' }, input, true).kind).toBe('notFound');
  });

  it("a leaked pod address (its pod is gone) is released, with the allocation's sequence number", () => {
    const p = planManualRelease({ ip: '10.0.0.6' }, input, false);
    expect(p.kind).toBe('release');
    if (p.kind !== 'release') return;
    expect(p.allocations.map((a) => [a.address, a.handleId, a.sequenceNumber])).toEqual([
      ['10.0.0.6', 'k8s-pod-network.gone', 7n],
    ]);
  });

  it('an address its live pod holds is refused unless forced, naming the pod and node', () => {
    const p = planManualRelease({ ip: '10.0.0.5' }, input, false);
    expect(p).toMatchObject({ kind: 'inUse' });
    expect(p.kind === 'inUse' && p.message).toBe(
      '10.0.0.5 is in use by pod default/web on node n1: releasing it would let IPAM give it to another pod while it ' +
        'is still used; refused (--force releases it anyway)',
    );
    expect(planManualRelease({ ip: '10.0.0.5' }, input, true).kind).toBe('release');
  });

  it('a tunnel address of a node that exists is refused; one of a deleted node is not', () => {
    const p = planManualRelease({ ip: '10.0.0.7' }, input, false);
    expect(p.kind === 'inUse' && p.message).toMatch(/^10\.0\.0\.7 is the tunnel address of node n1, which exists:/);
    expect(planManualRelease({ ip: '10.0.0.8' }, input, false).kind).toBe('release');
  });

  it('an allocation with no owner IPAM can judge is released as calicoctl would', () => {
    expect(planManualRelease({ ip: '10.0.0.9' }, input, false).kind).toBe('release');
  });

  it('IPv6, written in any form, finds the canonical address', () => {
    const p = planManualRelease({ ip: 'fd00:0::1' }, input, false);
    expect(p.kind).toBe('release');
    if (p.kind === 'release') expect(p.allocations.map((a) => a.address)).toEqual(['fd00::1']);
  });
});

describe('planManualRelease --handle', () => {
  it('every address of the handle, refused while its pod lives (both addresses named)', () => {
    const p = planManualRelease({ handle: 'k8s-pod-network.live' }, input, false);
    expect(p.kind === 'inUse' && p.message).toMatch(
      /^10\.0\.0\.5 is in use by pod default\/web on node n1; 10\.0\.0\.10 is in use by pod default\/web on node n1:/,
    );
    const forced = planManualRelease({ handle: 'k8s-pod-network.live' }, input, true);
    expect(forced.kind === 'release' && forced.allocations.map((a) => a.address)).toEqual(['10.0.0.5', '10.0.0.10']);
  });

  it('a leaked handle is released', () => {
    const p = planManualRelease({ handle: 'k8s-pod-network.gone' }, input, false);
    expect(p.kind === 'release' && p.allocations.map((a) => a.address)).toEqual(['10.0.0.6']);
  });

  it('an unknown handle, or one holding nothing, is said so', () => {
    expect(planManualRelease({ handle: 'nope' }, input, false)).toEqual({
      kind: 'notFound',
      message: 'handle nope does not exist',
    });
    expect(planManualRelease({ handle: 'k8s-pod-network.empty' }, input, false)).toEqual({
      kind: 'notFound',
      message: 'handle k8s-pod-network.empty holds no address',
    });
  });
});
