// Tunnel addresses (calico: node/pkg/allocateip/allocateip.go) and their Node annotations.
import { describe, expect, it } from 'vitest';
import { vxlanMacForNode } from '../net/index.js';
import { lookupAddress } from './releases.js';
import {
  type AddressLookup,
  TUNNEL_ADDRESS_ANNOTATIONS,
  VXLAN_MAC_ANNOTATION,
  planTunnelAddress,
  reconcileTunnelAddresses,
  tunnelHandleId,
  tunnelPools,
} from './tunnel-addresses.js';
import { harness, nodes, testPool } from './test-fixtures.js';
import type { IpamPool } from './pools.js';
import type { IpAllocator } from './allocator.js';

const node = { name: 'node-1', labels: { zone: 'a' } };

describe('tunnelPools', () => {
  it.each<{ name: string; pool: IpamPool; ipip: boolean; vxlan: boolean }>([
    { name: 'ipipMode Always', pool: testPool('p', '10.0.0.0/16', { ipipMode: 'Always' }), ipip: true, vxlan: false },
    {
      name: 'ipipMode CrossSubnet',
      pool: testPool('p', '10.0.0.0/16', { ipipMode: 'CrossSubnet' }),
      ipip: true,
      vxlan: false,
    },
    { name: 'vxlanMode Always', pool: testPool('p', '10.0.0.0/16', { vxlanMode: 'Always' }), ipip: false, vxlan: true },
    { name: 'no encapsulation', pool: testPool('p', '10.0.0.0/16'), ipip: false, vxlan: false },
    {
      name: 'Workload-only use',
      pool: testPool('p', '10.0.0.0/16', { ipipMode: 'Always', allowedUses: ['Workload'] }),
      ipip: false,
      vxlan: false,
    },
    {
      name: 'disabled',
      pool: testPool('p', '10.0.0.0/16', { ipipMode: 'Always', disabled: true }),
      ipip: false,
      vxlan: false,
    },
    {
      name: 'not selecting the node',
      pool: testPool('p', '10.0.0.0/16', { ipipMode: 'Always', nodeSelector: "zone == 'b'" }),
      ipip: false,
      vxlan: false,
    },
  ])('$name', ({ pool, ipip, vxlan }) => {
    expect(tunnelPools('ipip', node, [pool]).length > 0).toBe(ipip);
    expect(tunnelPools('vxlan', node, [pool]).length > 0).toBe(vxlan);
    expect(tunnelPools('vxlanV6', node, [pool])).toEqual([]);
  });

  it('VXLAN v6 uses IPv6 pools', () => {
    expect(tunnelPools('vxlanV6', node, [testPool('v6', 'fd00::/48', { vxlanMode: 'Always' })])).toHaveLength(1);
  });
});

describe('planTunnelAddress', () => {
  const pools = [testPool('p', '10.0.0.0/16', { ipipMode: 'Always' })];
  const mine: AddressLookup = {
    allocated: true,
    attribute: { handle_id: 'ipip-tunnel-addr-node-1', secondary: { node: 'node-1', type: 'ipipTunnelAddress' } },
  };
  it.each<{
    name: string;
    pools: IpamPool[];
    current: string | undefined;
    lookup: AddressLookup | undefined;
    want: object;
  }>([
    {
      name: 'no candidate pool: remove',
      pools: [testPool('p', '10.0.0.0/16')],
      current: '10.0.0.1',
      lookup: mine,
      want: { kind: 'remove', address: '10.0.0.1' },
    },
    {
      name: 'no address yet: release by handle defensively, assign',
      pools,
      current: undefined,
      lookup: undefined,
      want: { kind: 'assign', releaseFirst: true },
    },
    {
      name: 'ours, in a candidate pool: keep',
      pools,
      current: '10.0.0.1',
      lookup: mine,
      want: { kind: 'keep', address: '10.0.0.1' },
    },
    {
      name: 'ours but in a pool no longer a candidate: reassign',
      pools,
      current: '10.9.0.1',
      lookup: mine,
      want: { kind: 'assign', releaseFirst: true },
    },
    {
      name: 'not allocated: release by handle, assign',
      pools,
      current: '10.0.0.1',
      lookup: { allocated: false },
      want: { kind: 'assign', releaseFirst: true },
    },
    {
      name: 'allocated without attributes or handle (old data): re-assign the same address',
      pools,
      current: '10.0.0.1',
      lookup: { allocated: true, attribute: { handle_id: null, secondary: null } },
      want: { kind: 'reassignSame', address: '10.0.0.1' },
    },
    {
      name: "a workload's address (handle, no attributes): assign a new one, leave it",
      pools,
      current: '10.0.0.1',
      lookup: { allocated: true, attribute: { handle_id: 'k8s-pod-network.x', secondary: null } },
      want: { kind: 'assign', releaseFirst: false },
    },
    {
      name: "someone else's address: assign a new one, leave it",
      pools,
      current: '10.0.0.1',
      lookup: {
        allocated: true,
        attribute: { handle_id: 'k8s-pod-network.x', secondary: { pod: 'x', namespace: 'y' } },
      },
      want: { kind: 'assign', releaseFirst: false },
    },
  ])('$name', ({ pools: p, current, lookup, want }) => {
    expect(planTunnelAddress('ipip', node, p, current, lookup)).toMatchObject(want);
  });

  it('refuses an annotation that is not an address, naming it', () => {
    expect(() => planTunnelAddress('ipip', node, pools, 'banana', undefined)).toThrow(
      /projectcalico\.org\/IPv4IPIPTunnelAddr|banana/,
    );
  });
});

describe('reconcileTunnelAddresses', () => {
  const setup = (pool: IpamPool) => {
    const h = harness('split', { pools: [pool], nodes: nodes('node-1') });
    const run = (annotations: Record<string, string>) =>
      reconcileTunnelAddresses(h.operatorAllocator, h.view.node('node-1')!, h.view.pools(), annotations, (a) =>
        lookupAddress(h.store, h.view.pools(), a),
      );
    return { h, run };
  };

  it("gives IPIP the first address of the node's block, then keeps it", async () => {
    const { h, run } = setup(testPool('p', '10.0.0.0/26', { ipipMode: 'Always' }));
    const first = await run({});
    expect(first.annotations).toEqual({ [TUNNEL_ADDRESS_ANNOTATIONS.ipip]: '10.0.0.0' });
    expect(await h.operatorAllocator.ipsByHandle(tunnelHandleId('ipip', 'node-1'))).toEqual(['10.0.0.0']);
    const block = h.store.snapshot().blocks[0]!.value;
    expect(block.affinity).toBe('host:node-1');
    expect(block.attributes[0]).toEqual({
      handle_id: 'ipip-tunnel-addr-node-1',
      secondary: { node: 'node-1', type: 'ipipTunnelAddress' },
    });
    const second = await run({ [TUNNEL_ADDRESS_ANNOTATIONS.ipip]: '10.0.0.0' });
    expect(second.annotations).toEqual({});
  });

  it('switching the pool from IPIP to VXLAN frees the IPIP address and takes the next free one, with the VTEP MAC', async () => {
    const { h, run } = setup(testPool('p', '10.0.0.0/26', { ipipMode: 'Always' }));
    const first = await run({});
    const pod = await h
      .allocator('node-1')
      .autoAssign({ num4: 1, num6: 0, handleId: 'pod', attrs: {}, node: 'node-1', use: 'Workload' });
    expect(pod.v4?.ips).toEqual(['10.0.0.1/26']);
    h.view.poolList = [testPool('p', '10.0.0.0/26', { vxlanMode: 'Always' })];
    const r = await run(first.annotations as Record<string, string>);
    expect(r.annotations).toEqual({
      [TUNNEL_ADDRESS_ANNOTATIONS.ipip]: null,
      [TUNNEL_ADDRESS_ANNOTATIONS.vxlan]: '10.0.0.2',
      [VXLAN_MAC_ANNOTATION]: vxlanMacForNode('node-1'),
    });
    expect(await h.operatorAllocator.ipsByHandle(tunnelHandleId('ipip', 'node-1'))).toEqual([]);
  });

  it('keeps a VTEP MAC the node already has', async () => {
    const { run } = setup(testPool('p', '10.0.0.0/26', { vxlanMode: 'Always' }));
    const r = await run({ [VXLAN_MAC_ANNOTATION]: '66:00:00:00:00:01' });
    expect(r.annotations).toEqual({ [TUNNEL_ADDRESS_ANNOTATIONS.vxlan]: '10.0.0.0' });
  });

  it('re-assigns an old tunnel address that has no handle, with handle and attributes', async () => {
    const { h, run } = setup(testPool('p', '10.0.0.0/26', { ipipMode: 'Always' }));
    await h.operatorAllocator.assignIP({ ip: '10.0.0.5', handleId: null, attrs: {}, node: 'node-1' });
    const r = await run({ [TUNNEL_ADDRESS_ANNOTATIONS.ipip]: '10.0.0.5' });
    expect(r.decisions.ipip?.kind).toBe('reassignSame');
    expect(r.annotations).toEqual({});
    expect(await h.operatorAllocator.ipsByHandle(tunnelHandleId('ipip', 'node-1'))).toEqual(['10.0.0.5']);
  });

  it('releases what it assigned in this pass when a later step fails', async () => {
    const { h } = setup(testPool('p', '10.0.0.0/26', { ipipMode: 'Always' }));
    h.view.poolList = [...h.view.poolList, testPool('v6', 'fd00::/120', { vxlanMode: 'Always' })];
    const real = h.operatorAllocator;
    const assigned: string[] = [];
    const failing: IpAllocator = {
      autoAssign: async (args) => {
        if (args.num6 > 0) throw new Error('v6 failed');
        const r = await real.autoAssign(args);
        assigned.push(...(r.v4?.ips ?? []));
        return r;
      },
      assignIP: (a) => real.assignIP(a),
      releaseIPs: (o) => real.releaseIPs(o),
      releaseByHandle: (id) => real.releaseByHandle(id),
      ipsByHandle: (id) => real.ipsByHandle(id),
    };
    await expect(
      reconcileTunnelAddresses(failing, h.view.node('node-1')!, h.view.pools(), {}, (a) =>
        lookupAddress(h.store, h.view.pools(), a),
      ),
    ).rejects.toThrow('v6 failed');
    expect(assigned).toEqual(['10.0.0.0/26']);
    expect(await real.ipsByHandle(tunnelHandleId('ipip', 'node-1'))).toEqual([]);
  });
});
