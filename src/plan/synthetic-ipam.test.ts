import { describe, expect, it } from 'vitest';
import { planCluster } from './pipeline.js';
import { block, node, pod, pool, snapshot } from './snapshot-builder.js';
import { withSyntheticIpam } from './synthetic-ipam.js';

describe('withSyntheticIpam', () => {
  it('one block per node, first free block of the first matching pool, in node-name order; tunnel at .0', () => {
    const r = withSyntheticIpam(
      snapshot({
        nodes: [node('c', '10.0.0.13/24'), node('a', '10.0.0.11/24'), node('b', '10.0.0.12/24')],
        pools: [pool('default-ipv4-ippool', '10.244.0.0/16', { ipip: 'Always' })],
      }),
    );
    expect(r.snapshot.blocks).toEqual([
      { cidr: '10.244.0.0/26', affinity: 'a', allocations: [] },
      { cidr: '10.244.0.64/26', affinity: 'b', allocations: [] },
      { cidr: '10.244.0.128/26', affinity: 'c', allocations: [] },
    ]);
    expect(r.snapshot.nodes.map((n) => `${n.name} ${n.ipipTunnelAddress}`)).toEqual([
      'c 10.244.0.128',
      'a 10.244.0.0',
      'b 10.244.0.64',
    ]);
  });

  it('nodeSelector and disabled pools decide which pool a node draws from', () => {
    const r = withSyntheticIpam(
      snapshot({
        nodes: [node('cpu-1', '10.0.0.11/24'), node('gpu-1', '10.0.0.12/24', { labels: { gpu: 'true' } })],
        pools: [
          pool('a-old', '10.100.0.0/16', { disabled: true }),
          pool('b-gpu', '10.200.0.0/16', { nodeSelector: 'gpu == "true"', vxlan: 'Always' }),
          pool('c-default', '10.244.0.0/16', { vxlan: 'Always' }),
        ],
      }),
    );
    expect(r.blocks.map((b) => `${b.node} ${b.block} ${b.pool}`)).toEqual([
      'cpu-1 10.244.0.0/26 c-default',
      'gpu-1 10.200.0.0/26 b-gpu',
    ]);
    expect(r.snapshot.nodes.map((n) => n.vxlanTunnelAddress)).toEqual(['10.244.0.0', '10.200.0.0']);
  });

  it('addresses already in the input keep their blocks; foreign ones become borrowed allocations', () => {
    const r = withSyntheticIpam(
      snapshot({
        nodes: [
          node('a', '10.0.0.11/24', { ipip: '10.244.101.128' }),
          node('b', '10.0.0.12/24', { ipip: '10.244.36.0' }),
        ],
        pools: [pool('p', '10.244.0.0/16', { ipip: 'Always' })],
        pods: [pod('default', 'web', 'a', '10.244.101.130'), pod('default', 'stray', 'b', '10.244.101.135')],
      }),
    );
    expect(r.snapshot.blocks).toEqual([
      { cidr: '10.244.36.0/26', affinity: 'b', allocations: [] },
      { cidr: '10.244.101.128/26', affinity: 'a', allocations: [{ address: '10.244.101.135', node: 'b' }] },
    ]);
    const routes = planCluster(r.snapshot)
      .materialise('a')
      ?.routes.map((x) => x.line);
    expect(routes).toContain('10.244.101.135 via 10.0.0.12 dev tunl0 onlink');
  });

  it('IPv6: nodes with an IPv6 address get an IPv6 block and a vxlan-v6 tunnel address', () => {
    const r = withSyntheticIpam(
      snapshot({
        nodes: [node('a', '10.0.0.11/24', { ipv6: 'fd00::11/64' }), node('b', '10.0.0.12/24')],
        pools: [pool('v4', '10.244.0.0/16'), pool('v6', 'fd10::/48', { vxlan: 'Always' })],
      }),
    );
    expect(r.snapshot.blocks.map((b) => `${b.cidr} ${b.affinity}`)).toEqual([
      '10.244.0.0/26 a',
      '10.244.0.64/26 b',
      'fd10::/122 a',
    ]);
    expect(r.snapshot.nodes[0]?.vxlanTunnelAddressV6).toBe('fd10::');
  });

  it('leaves a snapshot that has blocks alone', () => {
    const s = snapshot({
      nodes: [node('a', '10.0.0.11/24')],
      pools: [pool('p', '10.244.0.0/16')],
      blocks: [block('10.244.7.0/26', 'a')],
    });
    expect(withSyntheticIpam(s).snapshot).toBe(s);
  });
});
