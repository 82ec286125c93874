import { describe, expect, it } from 'vitest';
import { buildNodeDesired, buildShard } from '../test-support/desired-builder.js';
import { diffKernel, emptyPlan } from '../kernel-diff.js';
import { emptyKernelState } from '../kernel-model.js';
import { computeKernelTarget } from '../kernel-target.js';
import { type BatchLine, parseBatchErrors, renderBatches, routeLine } from './ip-batch.js';

describe('routeLine', () => {
  it.each([
    {
      name: 'blackhole',
      r: { dst: '10.244.1.0/26', type: 'blackhole' as const },
      want: 'route replace blackhole 10.244.1.0/26 proto 80',
    },
    {
      name: 'direct (no device: the kernel resolves the uplink)',
      r: { dst: '10.244.2.0/26', type: 'unicast' as const, via: '192.168.0.12' },
      want: 'route replace 10.244.2.0/26 via 192.168.0.12 proto 80',
    },
    {
      name: 'ipip',
      r: { dst: '10.244.2.0/26', type: 'unicast' as const, via: '192.168.0.12', dev: 'tunl0', onlink: true },
      want: 'route replace 10.244.2.0/26 via 192.168.0.12 dev tunl0 proto 80 onlink',
    },
    {
      name: 'vxlan',
      r: { dst: '10.244.2.0/26', type: 'unicast' as const, via: '10.244.2.0', dev: 'vxlan.calico', onlink: true },
      want: 'route replace 10.244.2.0/26 via 10.244.2.0 dev vxlan.calico proto 80 onlink',
    },
    {
      name: 'borrowed /32',
      r: { dst: '10.244.1.7/32', type: 'unicast' as const, via: '192.168.0.12' },
      want: 'route replace 10.244.1.7/32 via 192.168.0.12 proto 80',
    },
  ])('$name', ({ r, want }) => {
    expect(routeLine('replace', r, 80)).toBe(want);
  });

  it("adds with the same form (add fails instead of overwriting another protocol's route)", () => {
    expect(
      routeLine(
        'add',
        { dst: '10.244.2.0/26', type: 'unicast', via: '10.244.2.0', dev: 'vxlan.calico', onlink: true },
        80,
      ),
    ).toBe('route add 10.244.2.0/26 via 10.244.2.0 dev vxlan.calico proto 80 onlink');
  });

  it('deletes only by destination and protocol, so it cannot remove a route of another protocol', () => {
    expect(routeLine('del', { dst: '10.244.2.0/26', type: 'blackhole' }, 80)).toBe('route del 10.244.2.0/26 proto 80');
  });
});

describe('renderBatches from empty', () => {
  it('IPIP: the exact tunl0 and route commands', () => {
    const desired = buildNodeDesired({
      blocks: [{ cidr: '10.244.1.0/26', pool: 'p' }],
      tunnels: [{ name: 'tunl0', type: 'ipip', family: 4, address: '10.244.1.1' }],
      felix: { ipipEnabled: true },
    });
    const shards = [
      buildShard('cluster-0', [
        {
          cidr: '10.244.2.0/26',
          node: 'node-b',
          nodeIP: '192.168.0.12',
          via: '192.168.0.12',
          kind: 'ipip',
          device: 'tunl0',
          pool: 'p',
        },
      ]),
    ];
    const t = computeKernelTarget({
      nodeName: 'node-a',
      desired,
      shards,
      env: { interfaces: [{ name: 'eth0', up: true, mtu: 1500, addresses: ['192.168.0.11'] }] },
      capabilities: { ipip: true },
    });
    const b = renderBatches(diffKernel(emptyKernelState(), t), 80);
    expect(b.ip.map((l) => l.text)).toEqual([
      'link add name tunl0 type ipip',
      'link set dev tunl0 mtu 1480 up',
      'address replace 10.244.1.1/32 dev tunl0',
      'route add blackhole 10.244.1.0/26 proto 80',
      'route add 10.244.2.0/26 via 192.168.0.12 dev tunl0 proto 80 onlink',
    ]);
    expect(b.bridge).toEqual([]);
  });

  it('VXLAN: device, address, ARP, FDB (bridge batch), routes', () => {
    const desired = buildNodeDesired({
      tunnels: [
        {
          name: 'vxlan.calico',
          type: 'vxlan',
          family: 4,
          address: '10.244.1.0',
          mac: '66:00:00:00:00:01',
          parentAddress: '192.168.0.11',
        },
      ],
      felix: { vxlanEnabled: true },
    });
    const shards = [
      buildShard('cluster-0', [
        {
          cidr: '10.244.2.0/26',
          node: 'node-b',
          nodeIP: '192.168.0.12',
          via: '10.244.2.0',
          kind: 'vxlan',
          device: 'vxlan.calico',
          vtepIP: '10.244.2.0',
          vtepMAC: '66:00:00:00:00:02',
          pool: 'p',
        },
      ]),
    ];
    const t = computeKernelTarget({
      nodeName: 'node-a',
      desired,
      shards,
      env: { interfaces: [{ name: 'eth0', up: true, mtu: 1500, addresses: ['192.168.0.11'] }] },
      capabilities: { ipip: false },
    });
    const b = renderBatches(diffKernel(emptyKernelState(), t), 80);
    expect(b.ip.map((l) => l.text)).toEqual([
      'link add name vxlan.calico address 66:00:00:00:00:01 mtu 1450 type vxlan id 4096 dstport 4789 local 192.168.0.11 dev eth0 nolearning',
      'link set dev vxlan.calico up',
      'address replace 10.244.1.0/32 dev vxlan.calico',
      'neigh replace 10.244.2.0 lladdr 66:00:00:00:00:02 dev vxlan.calico nud permanent',
      'route add 10.244.2.0/26 via 10.244.2.0 dev vxlan.calico proto 80 onlink',
    ]);
    expect(b.bridge.map((l) => l.text)).toEqual([
      'fdb replace 66:00:00:00:00:02 dev vxlan.calico dst 192.168.0.12 self permanent',
    ]);
  });

  it('renders deletions and in-place updates in plan order', () => {
    const plan = {
      ...emptyPlan(),
      linkDeletes: ['vxlan.calico'],
      linkUpdates: [{ name: 'tunl0', mtu: 1440, up: true as const }],
      addressDeletes: [{ dev: 'tunl0', cidr: '10.0.0.1/32' }],
      neighbourDeletes: [{ dev: 'vxlan.calico', ip: '10.0.2.0', mac: '66:00:00:00:00:02' }],
      fdbDeletes: [{ dev: 'vxlan.calico', mac: '66:00:00:00:00:02', dst: '192.168.0.12' }],
      routeDeletes: [{ dst: '10.0.9.0/26', type: 'blackhole' as const }],
    };
    const b = renderBatches(plan, 77);
    expect(b.ip.map((l) => l.text)).toEqual([
      'link del dev vxlan.calico',
      'link set dev tunl0 mtu 1440 up',
      'address del 10.0.0.1/32 dev tunl0',
      'neigh del 10.0.2.0 dev vxlan.calico',
      'route del 10.0.9.0/26 proto 77',
    ]);
    expect(b.bridge.map((l) => l.text)).toEqual(['fdb del 66:00:00:00:00:02 dev vxlan.calico dst 192.168.0.12 self']);
  });
});

describe('parseBatchErrors', () => {
  const lines: BatchLine[] = [
    { text: 'a', object: 'route 10.0.0.0/26' },
    { text: 'b', object: 'route 10.0.1.0/26' },
    { text: 'c', object: 'device tunl0' },
  ];
  it('maps each "Command failed -:N" to its line and the message printed before it', () => {
    const stderr =
      'Error: Nexthop has invalid gateway.\nCommand failed -:2\nError: Unknown device type.\nCommand failed -:3\n';
    expect(parseBatchErrors(stderr, lines)).toEqual([
      { line: 2, object: 'route 10.0.1.0/26', message: 'Error: Nexthop has invalid gateway.' },
      { line: 3, object: 'device tunl0', message: 'Error: Unknown device type.' },
    ]);
  });
  it('keeps output it cannot attribute', () => {
    expect(parseBatchErrors('something odd\n', lines)).toEqual([
      { line: 0, object: 'batch', message: 'something odd' },
    ]);
  });
});
