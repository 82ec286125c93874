import { describe, expect, it } from 'vitest';
import type { RouteEntry } from '../api/route-table.js';
import { buildNodeDesired, buildShard } from './test-support/desired-builder.js';
import type { HostEnvironment } from './kernel-model.js';
import {
  IPIP_UNAVAILABLE,
  TargetMemo,
  computeKernelTarget,
  targetCounts,
  type KernelTargetInput,
} from './kernel-target.js';

const env: HostEnvironment = {
  interfaces: [
    { name: 'lo', up: true, mtu: 65536, addresses: ['127.0.0.1'] },
    { name: 'eth0', up: true, mtu: 1500, addresses: ['192.168.0.11'] },
  ],
};

const vxlanTunnel = {
  name: 'vxlan.calico' as const,
  type: 'vxlan' as const,
  family: 4 as const,
  address: '10.244.1.0',
  mac: '66:AA:BB:CC:DD:01',
  parentAddress: '192.168.0.11',
};

function entry(e: Partial<RouteEntry> & Pick<RouteEntry, 'cidr' | 'node' | 'kind'>): RouteEntry {
  const nodeIP = e.nodeIP ?? '192.168.0.12';
  return { nodeIP, via: nodeIP, pool: 'default-ipv4-ippool', ...e };
}

function input(over: Partial<KernelTargetInput> = {}): KernelTargetInput {
  return {
    nodeName: 'node-a',
    desired: buildNodeDesired({ blocks: [{ cidr: '10.244.1.0/26', pool: 'p' }] }),
    shards: [],
    env,
    capabilities: { ipip: true },
    ...over,
  };
}

describe('computeKernelTarget routes', () => {
  it.each([
    {
      name: 'direct: via the node IP, no device (the kernel picks the uplink)',
      e: entry({ cidr: '10.244.2.0/26', node: 'node-b', kind: 'direct' }),
      want: { dst: '10.244.2.0/26', type: 'unicast', via: '192.168.0.12' },
    },
    {
      name: 'ipip: via the node IP on tunl0, onlink',
      e: entry({ cidr: '10.244.2.0/26', node: 'node-b', kind: 'ipip', device: 'tunl0' }),
      want: { dst: '10.244.2.0/26', type: 'unicast', via: '192.168.0.12', dev: 'tunl0', onlink: true },
    },
    {
      name: 'vxlan: via the VTEP IP on vxlan.calico, onlink',
      e: entry({
        cidr: '10.244.2.0/26',
        node: 'node-b',
        kind: 'vxlan',
        via: '10.244.2.0',
        device: 'vxlan.calico',
        vtepIP: '10.244.2.0',
        vtepMAC: '66:aa:bb:cc:dd:02',
      }),
      want: { dst: '10.244.2.0/26', type: 'unicast', via: '10.244.2.0', dev: 'vxlan.calico', onlink: true },
    },
    {
      name: 'borrowed /32 routed to the borrower',
      e: entry({ cidr: '10.244.1.7/32', node: 'node-b', kind: 'direct', borrowed: true }),
      want: { dst: '10.244.1.7/32', type: 'unicast', via: '192.168.0.12' },
    },
  ])('$name', ({ e, want }) => {
    const t = computeKernelTarget(
      input({
        desired: buildNodeDesired({
          blocks: [{ cidr: '10.244.1.0/26', pool: 'p' }],
          tunnels: [vxlanTunnel, { name: 'tunl0', type: 'ipip', family: 4, address: '10.244.1.1' }],
          felix: { vxlanEnabled: true, ipipEnabled: true },
        }),
        shards: [buildShard('cluster-0', [e])],
      }),
    );
    expect(t.routes.get(want.dst)).toEqual(want);
    expect(t.issues).toEqual([]);
  });

  it('blackholes own blocks but never a /32 block (the CNI plugin owns that route)', () => {
    const t = computeKernelTarget(
      input({
        desired: buildNodeDesired({
          blocks: [
            { cidr: '10.244.1.0/26', pool: 'p' },
            { cidr: '10.244.9.9/32', pool: 'p' },
            { cidr: 'fd00:1::/122', pool: 'p6' },
          ],
        }),
      }),
    );
    expect([...t.routes.values()]).toEqual([
      { dst: '10.244.1.0/26', type: 'blackhole' },
      { dst: 'fd00:1::/122', type: 'blackhole' },
    ]);
  });

  it("skips this node's own entries and keeps the blackhole against a conflicting remote entry", () => {
    const t = computeKernelTarget(
      input({
        shards: [
          buildShard('cluster-0', [
            entry({ cidr: '10.244.1.0/26', node: 'node-a', kind: 'direct' }),
            entry({ cidr: '10.244.1.5/32', node: 'node-a', kind: 'direct', borrowed: true }),
            entry({ cidr: '10.244.1.0/26', node: 'node-x', kind: 'direct' }),
          ]),
        ],
      }),
    );
    expect([...t.routes.values()]).toEqual([{ dst: '10.244.1.0/26', type: 'blackhole' }]);
    expect(t.issues.map((i) => i.code)).toEqual(['conflict']);
  });

  it('takes the union of shards, visited by name, and reports a duplicate destination', () => {
    const t = computeKernelTarget(
      input({
        shards: [
          buildShard('cluster-1', [
            entry({ cidr: '10.244.3.0/26', node: 'node-c', kind: 'direct', via: '192.168.0.13' }),
          ]),
          buildShard('cluster-0', [
            entry({ cidr: '10.244.2.0/26', node: 'node-b', kind: 'direct' }),
            entry({ cidr: '10.244.3.0/26', node: 'node-z', kind: 'direct', via: '192.168.0.99' }),
          ]),
        ],
      }),
    );
    expect(t.routes.get('10.244.2.0/26')?.via).toBe('192.168.0.12');
    expect(t.routes.get('10.244.3.0/26')?.via).toBe('192.168.0.99');
    expect(t.issues).toHaveLength(1);
    expect(t.issues[0]?.message).toContain('RouteTable cluster-1 routes 10.244.3.0/26');
  });

  it('skips a bad entry with an error naming the RouteTable and field, and keeps the rest', () => {
    const t = computeKernelTarget(
      input({
        shards: [
          buildShard('cluster-0', [
            entry({ cidr: '10.244.2.1/26', node: 'node-b', kind: 'direct' }),
            entry({ cidr: '10.244.3.0/26', node: 'node-c', kind: 'direct', via: 'not-an-ip' }),
            entry({ cidr: '10.244.4.0/26', node: 'node-d', kind: 'direct' }),
          ]),
        ],
      }),
    );
    expect([...t.routes.keys()].sort()).toEqual(['10.244.1.0/26', '10.244.4.0/26']);
    expect(t.issues.map((i) => i.message)).toEqual([
      'RouteTable cluster-0: status.entries[0].cidr: "10.244.2.1/26" is not a valid CIDR',
      'RouteTable cluster-0: status.entries[1].via: is not an IPv4 address',
    ]);
  });
});

describe('computeKernelTarget VXLAN', () => {
  const desired = buildNodeDesired({
    blocks: [{ cidr: '10.244.1.0/26', pool: 'p' }],
    tunnels: [vxlanTunnel],
    felix: { vxlanEnabled: true },
  });

  it('creates vxlan.calico as Felix does: VNI, port, local address, parent, MAC, MTU host-50, /32 address', () => {
    const t = computeKernelTarget(input({ desired }));
    expect(t.devices).toEqual([
      {
        kind: 'vxlan',
        name: 'vxlan.calico',
        family: 4,
        vni: 4096,
        port: 4789,
        local: '192.168.0.11',
        parent: 'eth0',
        mac: '66:aa:bb:cc:dd:01',
        mtu: 1450,
      },
    ]);
    expect(t.addresses.get('vxlan.calico')).toEqual(['10.244.1.0/32']);
    expect(t.sysctls).toEqual([
      { path: 'net/ipv4/ip_forward', value: '1' },
      { path: 'net/ipv4/conf/vxlan.calico/rp_filter', value: '0' },
    ]);
  });

  it.each([
    { name: 'tunnel MTU wins', tunnelMtu: 1400, cfg: 1300, want: 1400 },
    { name: 'FelixConfiguration vxlanMTU next', tunnelMtu: 0, cfg: 1300, want: 1300 },
    { name: 'else host MTU minus 50', tunnelMtu: undefined, cfg: undefined, want: 1450 },
  ])('MTU: $name', ({ tunnelMtu, cfg, want }) => {
    const d = buildNodeDesired({
      tunnels: [{ ...vxlanTunnel, mtu: tunnelMtu }],
      mtu: { vxlan: cfg },
      felix: { vxlanEnabled: true },
    });
    expect(computeKernelTarget(input({ desired: d })).devices[0]?.mtu).toBe(want);
  });

  it('programs ARP and FDB entries for every remote VTEP, including nodes without blocks', () => {
    const t = computeKernelTarget(
      input({
        desired,
        shards: [
          buildShard(
            'cluster-0',
            [
              entry({
                cidr: '10.244.2.0/26',
                node: 'node-b',
                kind: 'vxlan',
                via: '10.244.2.0',
                vtepIP: '10.244.2.0',
                vtepMAC: '66:aa:bb:cc:dd:02',
              }),
            ],
            [
              { name: 'node-a', ipv4: '192.168.0.11', vtepIP: '10.244.1.0', vtepMAC: '66:aa:bb:cc:dd:01' },
              { name: 'node-b', ipv4: '192.168.0.12', vtepIP: '10.244.2.0', vtepMAC: '66:aa:bb:cc:dd:02' },
              { name: 'node-c', ipv4: '192.168.0.13', vtepIP: '10.244.3.0', vtepMAC: '66:AA:BB:CC:DD:03' },
            ],
          ),
        ],
      }),
    );
    expect([...t.neighbours.values()]).toEqual([
      { dev: 'vxlan.calico', ip: '10.244.2.0', mac: '66:aa:bb:cc:dd:02' },
      { dev: 'vxlan.calico', ip: '10.244.3.0', mac: '66:aa:bb:cc:dd:03' },
    ]);
    expect([...t.fdb.values()]).toEqual([
      { dev: 'vxlan.calico', mac: '66:aa:bb:cc:dd:02', dst: '192.168.0.12' },
      { dev: 'vxlan.calico', mac: '66:aa:bb:cc:dd:03', dst: '192.168.0.13' },
    ]);
    expect(targetCounts(t)).toEqual({ routes: 1, blackholes: 1, neighbours: 2, fdbEntries: 2, devices: 1 });
  });

  it('warns and creates the device without a parent when no interface holds the parent address', () => {
    const t = computeKernelTarget(
      input({
        desired: buildNodeDesired({
          tunnels: [{ ...vxlanTunnel, parentAddress: '192.168.7.7' }],
          felix: { vxlanEnabled: true },
        }),
      }),
    );
    expect(t.devices[0]).toMatchObject({ local: '192.168.7.7' });
    expect(t.devices[0]).not.toHaveProperty('parent');
    expect(t.issues).toMatchObject([{ code: 'vxlan_parent_missing', severity: 'warning' }]);
  });

  describe('a shard that routes through a device the NodeDataplane does not plan yet (mode switch half-seen)', () => {
    const vxlanShard = buildShard('cluster-0', [
      entry({
        cidr: '10.244.2.0/26',
        node: 'node-b',
        kind: 'vxlan',
        via: '10.244.2.0',
        vtepIP: '10.244.2.0',
        vtepMAC: '66:aa:bb:cc:dd:02',
      }),
    ]);
    const noVxlan = buildNodeDesired({ blocks: [{ cidr: '10.244.1.0/26', pool: 'p' }] });
    const direct = { dst: '10.244.2.0/26', type: 'unicast' as const, via: '192.168.0.12', dev: 'eth0' };
    const viaVxlan = {
      dst: '10.244.2.0/26',
      type: 'unicast' as const,
      via: '10.244.2.0',
      dev: 'vxlan.calico',
      onlink: true,
    };

    it.each([
      { name: 'keeps the direct route the kernel holds', current: [direct], want: direct, held: 1 },
      { name: 'adds nothing when the kernel holds no route', current: [], want: undefined, held: 0 },
      {
        name: 'does not keep a route through a tunnel device this target removes',
        current: [viaVxlan],
        want: undefined,
        held: 0,
      },
    ])('$name, and reports the mismatch as an error', ({ current, want, held }) => {
      const t = computeKernelTarget(
        input({ desired: noVxlan, shards: [vxlanShard], currentRoutes: new Map(current.map((r) => [r.dst, r])) }),
      );
      expect(t.routes.get('10.244.2.0/26')).toEqual(want);
      expect(t.heldRoutes).toBe(held);
      expect(t.issues).toMatchObject([
        {
          code: 'conflict',
          severity: 'error',
          object: 'route 10.244.2.0/26',
          message: expect.stringContaining('vxlan.calico'),
        },
      ]);
    });

    it('programs the planned route once the NodeDataplane plans the device', () => {
      const t = computeKernelTarget(
        input({ desired, shards: [vxlanShard], currentRoutes: new Map([[direct.dst, direct]]) }),
      );
      expect(t.routes.get('10.244.2.0/26')).toEqual({ ...viaVxlan });
      expect(t.heldRoutes).toBe(0);
      expect(t.issues).toEqual([]);
    });
  });

  it('retires the VXLAN devices when VXLAN is off, and only strips tunl0 (the fallback device stays)', () => {
    const t = computeKernelTarget(input({ desired: buildNodeDesired({ removeTunnels: ['tunl0', 'vxlan.calico'] }) }));
    expect(t.deleteDevices).toEqual(['vxlan-v6.calico', 'vxlan.calico']);
    expect(t.stripDevices).toEqual(['tunl0']);
  });
});

describe('computeKernelTarget without the ipip module', () => {
  const desired = buildNodeDesired({
    blocks: [{ cidr: '10.244.1.0/26', pool: 'p' }],
    tunnels: [{ name: 'tunl0', type: 'ipip', family: 4, address: '10.244.1.1' }],
    felix: { ipipEnabled: true },
  });
  const shards = [
    buildShard('cluster-0', [
      entry({ cidr: '10.244.2.0/26', node: 'node-b', kind: 'ipip', device: 'tunl0' }),
      entry({ cidr: '10.244.3.0/26', node: 'node-c', kind: 'ipip', device: 'tunl0', via: '192.168.0.13' }),
      entry({ cidr: '10.244.4.0/26', node: 'node-d', kind: 'direct', via: '192.168.0.14' }),
    ]),
  ];

  it('skips tunl0 and its routes, keeps the rest, and says why', () => {
    const t = computeKernelTarget(input({ desired, shards, capabilities: { ipip: false } }));
    expect(t.devices).toEqual([]);
    expect([...t.routes.keys()].sort()).toEqual(['10.244.1.0/26', '10.244.4.0/26']);
    expect(t.skippedIpipRoutes).toBe(2);
    expect(t.issues).toEqual([
      {
        code: 'ipip_unavailable',
        severity: 'error',
        message: `${IPIP_UNAVAILABLE}; skipped tunl0 and 2 tunnel route(s)`,
        object: 'device tunl0',
      },
    ]);
    expect(t.stripDevices).toEqual([]);
  });

  it('with the module: tunl0 at host MTU − 20 with its /32, and onlink routes', () => {
    const t = computeKernelTarget(input({ desired, shards }));
    expect(t.devices).toEqual([{ kind: 'ipip', name: 'tunl0', family: 4, mtu: 1480 }]);
    expect(t.addresses.get('tunl0')).toEqual(['10.244.1.1/32']);
    expect(t.routes.get('10.244.3.0/26')).toEqual({
      dst: '10.244.3.0/26',
      type: 'unicast',
      via: '192.168.0.13',
      dev: 'tunl0',
      onlink: true,
    });
  });
});

describe('computeKernelTarget NAT and MTU pattern', () => {
  it('masquerades from natOutgoing pools to outside every pool', () => {
    const t = computeKernelTarget(
      input({
        desired: buildNodeDesired({
          natOutgoing: { sourceCidrs: ['10.244.0.0/16'], allPoolCidrs: ['10.244.0.0/16', '10.96.0.0/16'] },
        }),
      }),
    );
    expect(t.nat).toEqual({ v4: { sources: ['10.244.0.0/16'], pools: ['10.244.0.0/16', '10.96.0.0/16'] } });
  });

  it('falls back to the default interface pattern, with an error naming the field', () => {
    const t = computeKernelTarget(
      input({ desired: buildNodeDesired({ mtu: { ifacePattern: '(' }, tunnels: [vxlanTunnel] }) }),
    );
    expect(t.hostMtu).toBe(1500);
    expect(t.issues[0]?.message).toMatch(/^NodeDataplane node-a: status\.desired\.mtu\.ifacePattern: "\(" is not/);
  });
});

describe('TargetMemo', () => {
  const entries = (n: number) =>
    Array.from({ length: n }, (_, i) => entry({ cidr: `10.244.${i + 2}.0/26`, node: `node-${i}`, kind: 'direct' }));

  it('gives the same target as a fresh computation, and re-derives a shard whose object changed', () => {
    const memo = new TargetMemo();
    const s0 = buildShard('cluster-0', entries(3));
    const s1 = buildShard('cluster-1', [entry({ cidr: '10.245.0.0/26', node: 'node-z', kind: 'direct' })]);
    const first = computeKernelTarget(input({ shards: [s0, s1] }), memo);
    expect(first).toEqual(computeKernelTarget(input({ shards: [s0, s1] })));
    expect(computeKernelTarget(input({ shards: [s0, s1] }), memo)).toEqual(first);

    const s1b = buildShard(
      'cluster-1',
      [entry({ cidr: '10.246.0.0/26', node: 'node-z', kind: 'direct' })],
      [],
      'cluster-1-rev',
    );
    const next = computeKernelTarget(input({ shards: [s0, s1b] }), memo);
    expect(next).toEqual(computeKernelTarget(input({ shards: [s0, s1b] })));
    expect(next.routes.has('10.246.0.0/26')).toBe(true);
    expect(next.routes.has('10.245.0.0/26')).toBe(false);
  });

  it('re-derives when the node facts a derivation read change (ipip capability)', () => {
    const memo = new TargetMemo();
    const s = buildShard('cluster-0', [
      entry({ cidr: '10.244.2.0/26', node: 'node-b', kind: 'ipip', device: 'tunl0' }),
    ]);
    expect(computeKernelTarget(input({ shards: [s] }), memo).routes.has('10.244.2.0/26')).toBe(true);
    expect(
      computeKernelTarget(input({ shards: [s], capabilities: { ipip: false } }), memo).routes.has('10.244.2.0/26'),
    ).toBe(false);
  });
});
