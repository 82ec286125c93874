// Route tables per encapsulation mode, as `ip route` lines (calico-reference.md §4.7, v3.24 form without protocol).
import { describe, expect, it } from 'vitest';
import { IncrementalPlanner } from './incremental-planner.js';
import { type ClusterPlan, planCluster } from './pipeline.js';
import type { ClusterSnapshot, SnapshotNode } from './snapshot.js';
import { block, node, pod, pool, snapshot } from './snapshot-builder.js';

function table(plan: ClusterPlan, name: string): string[] {
  const m = plan.materialise(name);
  if (!m) throw new Error(`no plan for ${name}`);
  return m.routes.map((r) => r.line);
}

function tables(s: ClusterSnapshot): Record<string, string[]> {
  const plan = planCluster(s);
  return Object.fromEntries([...plan.nodes.keys()].map((n) => [n, table(plan, n)]));
}

/** Three nodes: a, b in 10.0.0.0/24, c in 10.0.1.0/24; each with one /26 whose first address is its tunnel IP. */
function threeNodes(tunnels: 'ipip' | 'vxlan' | 'none'): SnapshotNode[] {
  const t = (i: number) =>
    tunnels === 'ipip' ? { ipip: `10.244.${i}.0` } : tunnels === 'vxlan' ? { vxlan: `10.244.${i}.0` } : {};
  return [node('a', '10.0.0.11/24', t(1)), node('b', '10.0.0.12/24', t(2)), node('c', '10.0.1.13/24', t(3))];
}

const threeBlocks = [block('10.244.1.0/26', 'a'), block('10.244.2.0/26', 'b'), block('10.244.3.0/26', 'c')];

describe('route tables per mode', () => {
  it.each([
    {
      name: 'IPIP Always: every remote block through tunl0 to the node IP',
      ipip: 'Always',
      vxlan: 'Never',
      tunnels: 'ipip',
      a: [
        'blackhole 10.244.1.0/26',
        '10.244.2.0/26 via 10.0.0.12 dev tunl0 onlink',
        '10.244.3.0/26 via 10.0.1.13 dev tunl0 onlink',
      ],
      c: [
        '10.244.1.0/26 via 10.0.0.11 dev tunl0 onlink',
        '10.244.2.0/26 via 10.0.0.12 dev tunl0 onlink',
        'blackhole 10.244.3.0/26',
      ],
    },
    {
      name: 'IPIP CrossSubnet: direct within 10.0.0.0/24, tunl0 across',
      ipip: 'CrossSubnet',
      vxlan: 'Never',
      tunnels: 'ipip',
      a: ['blackhole 10.244.1.0/26', '10.244.2.0/26 via 10.0.0.12', '10.244.3.0/26 via 10.0.1.13 dev tunl0 onlink'],
      c: [
        '10.244.1.0/26 via 10.0.0.11 dev tunl0 onlink',
        '10.244.2.0/26 via 10.0.0.12 dev tunl0 onlink',
        'blackhole 10.244.3.0/26',
      ],
    },
    {
      name: 'VXLAN Always: every remote block through vxlan.calico to the VTEP',
      ipip: 'Never',
      vxlan: 'Always',
      tunnels: 'vxlan',
      a: [
        'blackhole 10.244.1.0/26',
        '10.244.2.0/26 via 10.244.2.0 dev vxlan.calico onlink',
        '10.244.3.0/26 via 10.244.3.0 dev vxlan.calico onlink',
      ],
      c: [
        '10.244.1.0/26 via 10.244.1.0 dev vxlan.calico onlink',
        '10.244.2.0/26 via 10.244.2.0 dev vxlan.calico onlink',
        'blackhole 10.244.3.0/26',
      ],
    },
    {
      name: 'VXLAN CrossSubnet: direct within the subnet, VTEP across',
      ipip: 'Never',
      vxlan: 'CrossSubnet',
      tunnels: 'vxlan',
      a: [
        'blackhole 10.244.1.0/26',
        '10.244.2.0/26 via 10.0.0.12',
        '10.244.3.0/26 via 10.244.3.0 dev vxlan.calico onlink',
      ],
      c: [
        '10.244.1.0/26 via 10.244.1.0 dev vxlan.calico onlink',
        '10.244.2.0/26 via 10.244.2.0 dev vxlan.calico onlink',
        'blackhole 10.244.3.0/26',
      ],
    },
    {
      name: 'Never/Never: plain routes to node IPs, whatever the subnet',
      ipip: 'Never',
      vxlan: 'Never',
      tunnels: 'none',
      a: ['blackhole 10.244.1.0/26', '10.244.2.0/26 via 10.0.0.12', '10.244.3.0/26 via 10.0.1.13'],
      c: ['10.244.1.0/26 via 10.0.0.11', '10.244.2.0/26 via 10.0.0.12', 'blackhole 10.244.3.0/26'],
    },
  ] as const)('$name', ({ ipip, vxlan, tunnels, a, c }) => {
    const t = tables(
      snapshot({
        nodes: threeNodes(tunnels),
        pools: [pool('p', '10.244.0.0/16', { ipip, vxlan })],
        blocks: threeBlocks,
      }),
    );
    expect(t.a).toEqual(a);
    expect(t.c).toEqual(c);
  });

  it('VXLAN: a node without a VTEP gets routes to others, but nobody routes to it yet', () => {
    const nodes = threeNodes('vxlan');
    nodes[2] = node('c', '10.0.1.13/24');
    const t = tables(
      snapshot({ nodes, pools: [pool('p', '10.244.0.0/16', { vxlan: 'Always' })], blocks: threeBlocks }),
    );
    expect(t.a).toEqual(['blackhole 10.244.1.0/26', '10.244.2.0/26 via 10.244.2.0 dev vxlan.calico onlink']);
    expect(t.c).toEqual([
      '10.244.1.0/26 via 10.244.1.0 dev vxlan.calico onlink',
      '10.244.2.0/26 via 10.244.2.0 dev vxlan.calico onlink',
      'blackhole 10.244.3.0/26',
    ]);
  });

  it('multiple pools with different modes: each block follows its own pool', () => {
    const s = snapshot({
      nodes: [
        node('a', '10.0.0.11/24', { ipip: '10.10.0.0', vxlan: '10.20.0.0' }),
        node('b', '10.0.1.12/24', { ipip: '10.10.0.64', vxlan: '10.20.0.64' }),
      ],
      pools: [
        pool('ipip', '10.10.0.0/16', { ipip: 'Always' }),
        pool('vxlan', '10.20.0.0/16', { vxlan: 'CrossSubnet' }),
        pool('plain', '10.30.0.0/16'),
      ],
      blocks: [
        block('10.10.0.0/26', 'a'),
        block('10.20.0.0/26', 'a'),
        block('10.30.0.0/26', 'a'),
        block('10.10.0.64/26', 'b'),
        block('10.20.0.64/26', 'b'),
        block('10.30.0.64/26', 'b'),
      ],
    });
    expect(tables(s).a).toEqual([
      'blackhole 10.10.0.0/26',
      '10.10.0.64/26 via 10.0.1.12 dev tunl0 onlink',
      'blackhole 10.20.0.0/26',
      '10.20.0.64/26 via 10.20.0.64 dev vxlan.calico onlink',
      'blackhole 10.30.0.0/26',
      '10.30.0.64/26 via 10.0.1.12',
    ]);
  });

  it('disabled pools: existing blocks are still routed and blackholed', () => {
    const s = snapshot({
      nodes: threeNodes('ipip'),
      pools: [pool('p', '10.244.0.0/16', { ipip: 'Always', disabled: true })],
      blocks: threeBlocks,
    });
    const t = tables(s);
    expect(t.a).toContain('blackhole 10.244.1.0/26');
    expect(t.a).toContain('10.244.3.0/26 via 10.0.1.13 dev tunl0 onlink');
    expect(
      planCluster(s)
        .nodes.get('a')
        ?.tunnels.map((d) => d.name),
    ).toEqual(['tunl0']);
  });

  it('nodeSelector-restricted pools: the selector limits allocation, not routing — every node routes the blocks', () => {
    const s = snapshot({
      nodes: [node('a', '10.0.0.11/24', { labels: { gpu: 'true' } }), node('b', '10.0.0.12/24')],
      pools: [pool('gpu', '10.50.0.0/16', { nodeSelector: 'gpu == "true"' }), pool('p', '10.244.0.0/16')],
      blocks: [block('10.50.0.0/26', 'a'), block('10.244.2.0/26', 'b')],
    });
    expect(tables(s)).toEqual({
      a: ['blackhole 10.50.0.0/26', '10.244.2.0/26 via 10.0.0.12'],
      b: ['10.50.0.0/26 via 10.0.0.11', 'blackhole 10.244.2.0/26'],
    });
  });

  it('LoadBalancer-only pools and blocks outside every pool produce no routes', () => {
    const s = snapshot({
      nodes: threeNodes('none'),
      pools: [pool('p', '10.244.0.0/16'), pool('lb', '10.96.0.0/16', { allowedUses: ['LoadBalancer'] })],
      blocks: [...threeBlocks, block('10.96.0.0/26', 'b'), block('192.168.9.0/26', 'b')],
    });
    const t = tables(s);
    expect(t.a).toEqual(['blackhole 10.244.1.0/26', '10.244.2.0/26 via 10.0.0.12', '10.244.3.0/26 via 10.0.1.13']);
    expect(t.b).toEqual(['10.244.1.0/26 via 10.0.0.11', 'blackhole 10.244.2.0/26', '10.244.3.0/26 via 10.0.1.13']);
  });

  it('blocks affine to an unknown node are not routed', () => {
    const s = snapshot({
      nodes: threeNodes('none'),
      pools: [pool('p', '10.244.0.0/16')],
      blocks: [...threeBlocks, block('10.244.9.0/26', 'gone')],
    });
    expect(tables(s).a).not.toContain('10.244.9.0/26 via');
    expect(tables(s).a).toHaveLength(3);
  });
});

describe('borrowed and un-affine addresses', () => {
  const s = snapshot({
    nodes: threeNodes('ipip'),
    pools: [pool('p', '10.244.0.0/16', { ipip: 'CrossSubnet' })],
    blocks: [
      block('10.244.1.0/26', 'a', { '10.244.1.7': 'c', '10.244.1.9': 'a' }),
      block('10.244.2.0/26', 'b'),
      block('10.244.3.0/26', 'c'),
      block('10.244.4.0/26', undefined, { '10.244.4.1': 'b', '10.244.4.2': 'c' }),
      block('10.244.5.5/32', 'b'),
    ],
    pods: [pod('default', 'web', 'c', '10.244.1.7'), pod('default', 'db', 'a', '10.244.1.9')],
  });
  const t = tables(s);

  it('the block owner keeps its blackhole and routes the borrowed /32 to the borrower', () => {
    expect(t.a).toEqual([
      'blackhole 10.244.1.0/26',
      '10.244.1.7 via 10.0.1.13 dev tunl0 onlink',
      '10.244.1.9 dev calie57ed5aa5ae scope link',
      '10.244.2.0/26 via 10.0.0.12',
      '10.244.3.0/26 via 10.0.1.13 dev tunl0 onlink',
      '10.244.4.1 via 10.0.0.12',
      '10.244.4.2 via 10.0.1.13 dev tunl0 onlink',
      '10.244.5.5 via 10.0.0.12',
    ]);
  });

  it('the borrower has its pod route, not a route to itself', () => {
    expect(t.c).toEqual([
      '10.244.1.0/26 via 10.0.0.11 dev tunl0 onlink',
      '10.244.1.7 dev cali68caf03a5f4 scope link',
      '10.244.2.0/26 via 10.0.0.12 dev tunl0 onlink',
      'blackhole 10.244.3.0/26',
      '10.244.4.1 via 10.0.0.12 dev tunl0 onlink',
      '10.244.5.5 via 10.0.0.12 dev tunl0 onlink',
    ]);
  });

  it('a /32 block gets no blackhole on its owner', () => {
    expect(t.b).not.toContain('blackhole 10.244.5.5/32');
    expect(t.b).toContain('blackhole 10.244.2.0/26');
  });

  it('borrowed addresses are listed on the borrower with their block and its owner', () => {
    const plan = planCluster(s);
    expect(plan.nodes.get('c')?.borrowed).toEqual([
      { cidr: '10.244.1.7/32', block: '10.244.1.0/26', pool: 'p', blockNode: 'a' },
      { cidr: '10.244.4.2/32', block: '10.244.4.0/26', pool: 'p' },
    ]);
    expect(plan.nodes.get('c')?.bgp?.exportPrefixes.map((p) => `${p.cidr} ${p.origin}`)).toEqual([
      '10.244.1.7/32 borrowed',
      '10.244.3.0/26 block',
      '10.244.4.2/32 borrowed',
    ]);
  });
});

describe('mode switch', () => {
  const before = snapshot({
    nodes: threeNodes('ipip'),
    pools: [pool('p', '10.244.0.0/16', { ipip: 'Always' })],
    blocks: threeBlocks,
  });
  // Calico frees the IPIP address and allocates a VXLAN one (next free ordinal) when the pool switches.
  const after = snapshot({
    nodes: [
      node('a', '10.0.0.11/24', { vxlan: '10.244.1.1' }),
      node('b', '10.0.0.12/24', { vxlan: '10.244.2.1' }),
      node('c', '10.0.1.13/24', { vxlan: '10.244.3.1' }),
    ],
    pools: [pool('p', '10.244.0.0/16', { vxlan: 'CrossSubnet' })],
    blocks: threeBlocks,
  });

  it('IPIP Always → VXLAN CrossSubnet: routes and devices follow, applied live', () => {
    const planner = new IncrementalPlanner(before);
    expect(table(planner.plan(), 'a')).toContain('10.244.2.0/26 via 10.0.0.12 dev tunl0 onlink');
    planner.apply([
      { kind: 'pool', name: 'p', pool: after.pools[0] },
      ...after.nodes.map((n) => ({ kind: 'node' as const, name: n.name, node: n })),
    ]);
    const live = planner.plan();
    expect(table(live, 'a')).toEqual([
      'blackhole 10.244.1.0/26',
      '10.244.2.0/26 via 10.0.0.12',
      '10.244.3.0/26 via 10.244.3.1 dev vxlan.calico onlink',
    ]);
    expect(live.nodes.get('a')?.tunnels.map((d) => d.name)).toEqual(['vxlan.calico']);
    expect(live.nodes.get('a')?.removeTunnels).toContain('tunl0');
    expect(live.nodes).toEqual(planCluster(after).nodes);
    expect(live.routeTables).toEqual(planCluster(after).routeTables);
  });

  it('VXLAN CrossSubnet → Never: every route becomes direct', () => {
    const none = snapshot({ ...after, pools: [pool('p', '10.244.0.0/16')] });
    expect(tables(none).c).toEqual([
      '10.244.1.0/26 via 10.0.0.11',
      '10.244.2.0/26 via 10.0.0.12',
      'blackhole 10.244.3.0/26',
    ]);
  });
});

describe('views', () => {
  it('without CrossSubnet pools every node shares the cluster view', () => {
    const plan = planCluster(
      snapshot({
        nodes: threeNodes('ipip'),
        pools: [pool('p', '10.244.0.0/16', { ipip: 'Always' })],
        blocks: threeBlocks,
      }),
    );
    expect([...plan.nodes.values()].map((d) => d.view)).toEqual(['cluster', 'cluster', 'cluster']);
    expect([...plan.routeTables.keys()]).toEqual(['cluster-0']);
  });

  it('with a CrossSubnet pool each subnet is a view; nodes in one subnet share its shards', () => {
    const plan = planCluster(
      snapshot({
        nodes: threeNodes('ipip'),
        pools: [pool('p', '10.244.0.0/16', { ipip: 'CrossSubnet' })],
        blocks: threeBlocks,
      }),
    );
    expect(plan.nodes.get('a')?.view).toBe('ipv4-10-0-0-0-24');
    expect(plan.nodes.get('b')?.view).toBe('ipv4-10-0-0-0-24');
    expect(plan.nodes.get('c')?.view).toBe('ipv4-10-0-1-0-24');
    expect([...plan.routeTables.keys()]).toEqual(['ipv4-10-0-0-0-24-0', 'ipv4-10-0-1-0-24-0']);
    const shard = plan.routeTables.get('ipv4-10-0-0-0-24-0');
    expect(shard?.entries.map((e) => `${e.cidr} ${e.node} ${e.kind}`)).toEqual([
      '10.244.1.0/26 a direct',
      '10.244.2.0/26 b direct',
      '10.244.3.0/26 c ipip',
    ]);
    expect(shard?.nodes?.map((n) => n.name)).toEqual(['a', 'b', 'c']);
  });

  it('a node known only by its InternalIP has a host-length subnet: it always tunnels, others judge by their own', () => {
    const nodes = threeNodes('ipip');
    nodes[1] = {
      ...node('b', undefined, { ipip: '10.244.2.0' }),
      ipv4: { address: '10.0.0.12', prefixLength: 24, source: 'internal-ip' },
    };
    const plan = planCluster(
      snapshot({ nodes, pools: [pool('p', '10.244.0.0/16', { ipip: 'CrossSubnet' })], blocks: threeBlocks }),
    );
    expect(plan.nodes.get('b')?.view).toBe('ipv4-none');
    // SameSubnet is decided by the *local* node's prefix (felix l3_route_resolver): a's /24 contains b's address.
    expect(table(plan, 'a')).toContain('10.244.2.0/26 via 10.0.0.12');
    expect(table(plan, 'b')).toContain('10.244.1.0/26 via 10.0.0.11 dev tunl0 onlink');
    expect(plan.nodes.get('b')?.bgp).toBeUndefined();
  });
});

describe('IPv6', () => {
  const dual = snapshot({
    nodes: [
      node('a', '10.0.0.11/24', { ipv6: 'fd00::11/64', ipip: '10.244.1.0', vxlanV6: 'fd10:0:0:1::' }),
      node('b', '10.0.0.12/24', { ipv6: 'fd00::12/64', ipip: '10.244.2.0', vxlanV6: 'fd10:0:0:2::' }),
      node('c', '10.0.1.13/24', { ipv6: 'fd00:1::13/64', ipip: '10.244.3.0', vxlanV6: 'fd10:0:0:3::' }),
    ],
    pools: [pool('v4', '10.244.0.0/16', { ipip: 'CrossSubnet' }), pool('v6', 'fd10::/48', { vxlan: 'Always' })],
    blocks: [
      ...threeBlocks,
      block('fd10:0:0:1::/122', 'a'),
      block('fd10:0:0:2::/122', 'b'),
      block('fd10:0:0:3::/122', 'c'),
    ],
    pods: [pod('default', 'web', 'a', '10.244.1.5', 'fd10:0:0:1::5')],
  });

  it('dual stack: IPv4 CrossSubnet alongside IPv6 VXLAN through vxlan-v6.calico', () => {
    expect(tables(dual).a).toEqual([
      'blackhole 10.244.1.0/26',
      '10.244.1.5 dev cali68caf03a5f4 scope link',
      '10.244.2.0/26 via 10.0.0.12',
      '10.244.3.0/26 via 10.0.1.13 dev tunl0 onlink',
      'blackhole fd10:0:0:1::/122',
      'fd10:0:0:1::5 dev cali68caf03a5f4 scope link',
      'fd10:0:0:2::/122 via fd10:0:0:2:: dev vxlan-v6.calico onlink',
      'fd10:0:0:3::/122 via fd10:0:0:3:: dev vxlan-v6.calico onlink',
    ]);
    const a = planCluster(dual).nodes.get('a');
    expect(a?.view).toBe('ipv4-10-0-0-0-24');
    expect(a?.viewV6).toBeUndefined();
    expect(a?.tunnels.map((d) => `${d.name} ${d.address}`)).toEqual([
      'tunl0 10.244.1.0',
      'vxlan-v6.calico fd10:0:0:1::',
    ]);
    expect(a?.tunnels[1]).toMatchObject({ family: 6, vni: 4096, port: 4789, parentAddress: 'fd00::11' });
  });

  it('CrossSubnet in both families: separate IPv4 and IPv6 views', () => {
    const s = snapshot({
      ...dual,
      pools: [pool('v4', '10.244.0.0/16', { ipip: 'CrossSubnet' }), pool('v6', 'fd10::/48', { vxlan: 'CrossSubnet' })],
    });
    const plan = planCluster(s);
    expect(plan.nodes.get('a')).toMatchObject({ view: 'ipv4-10-0-0-0-24', viewV6: 'ipv6-fd00---64' });
    expect(plan.nodes.get('c')).toMatchObject({ view: 'ipv4-10-0-1-0-24', viewV6: 'ipv6-fd00-1---64' });
    expect(table(plan, 'a')).toEqual([
      'blackhole 10.244.1.0/26',
      '10.244.1.5 dev cali68caf03a5f4 scope link',
      '10.244.2.0/26 via 10.0.0.12',
      '10.244.3.0/26 via 10.0.1.13 dev tunl0 onlink',
      'blackhole fd10:0:0:1::/122',
      'fd10:0:0:1::5 dev cali68caf03a5f4 scope link',
      'fd10:0:0:2::/122 via fd00::12',
      'fd10:0:0:3::/122 via fd10:0:0:3:: dev vxlan-v6.calico onlink',
    ]);
  });

  it('IPv6-only no-encap cluster', () => {
    const s = snapshot({
      nodes: [node('a', undefined, { ipv6: 'fd00::11/64' }), node('b', undefined, { ipv6: 'fd00::12/64' })],
      pools: [pool('v6', 'fd10::/48')],
      blocks: [block('fd10:0:0:1::/122', 'a'), block('fd10:0:0:2::/122', 'b')],
    });
    const plan = planCluster(s);
    expect(table(plan, 'a')).toEqual(['blackhole fd10:0:0:1::/122', 'fd10:0:0:2::/122 via fd00::12']);
    // No IPv4 address: router id from the hashed node name (confd HashToIPv4).
    expect(plan.nodes.get('a')?.bgp?.routerID).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(plan.nodes.get('a')?.bgp?.routerID).not.toBe(plan.nodes.get('b')?.bgp?.routerID);
  });
});
