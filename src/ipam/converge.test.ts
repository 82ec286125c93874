import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { convergeIpam, type IpamWorld } from './converge.js';
import { allocationsOf } from './allocations.js';
import { DEFAULT_IPAM_CONFIG } from './model.js';
import { seededRandom } from './test-fixtures.js';

const NOW = Date.UTC(2026, 0, 1);

function world(over: Partial<IpamWorld>): IpamWorld {
  return {
    pools: [],
    config: DEFAULT_IPAM_CONFIG,
    nodes: [],
    pods: [],
    blocks: [],
    affinities: [],
    handles: [],
    ...over,
  };
}

describe('IPAM converged in memory', () => {
  it('each node gets one block of the pool selecting it, and a tunnel address where the pool is VXLAN', async () => {
    const c = await convergeIpam(
      world({
        pools: [
          { metadata: { name: 'a' }, spec: { cidr: '10.1.0.0/26', blockSize: 26, nodeSelector: "zone == 'a'" } },
          { metadata: { name: 'b' }, spec: { cidr: '10.2.0.0/26', blockSize: 26, vxlanMode: 'Always' } },
        ],
        nodes: [
          { name: 'n1', labels: { zone: 'a' }, annotations: {} },
          { name: 'n2', labels: { zone: 'b' }, annotations: {} },
        ],
      }),
      { now: NOW, random: seededRandom(1) },
    );
    // Pools are tried in name order: n1 gets a's only block; n2 (not selected by a) gets b's only block. Tunnel
    // addresses come after the blocks, node by node in name order, from b, the one VXLAN pool: n1 has no block of b
    // and b has none left, so it borrows (strictAffinity off) the first free address of n2's block; n2 gets the
    // next one.
    expect(c.blocks.map((b) => `${b.cidr} ${b.affinity}`).sort()).toEqual([
      '10.1.0.0/26 host:n1',
      '10.2.0.0/26 host:n2',
    ]);
    expect(c.decisions.map((d) => `${d.kind} ${d.node} ${d.block} ${d.reason}`)).toEqual([
      'claimed n1 10.1.0.0/26 noBlock',
      'claimed n2 10.2.0.0/26 noBlock',
    ]);
    expect(c.annotations.get('n1')?.['projectcalico.org/IPv4VXLANTunnelAddr']).toBe('10.2.0.0');
    expect(c.annotations.get('n2')?.['projectcalico.org/IPv4VXLANTunnelAddr']).toBe('10.2.0.1');
    expect(c.settled).toBe(true);
    expect(c.problems).toEqual([]);
  });

  it('a seed gives a cluster described without IPAM objects the state it shows: its addresses stay put', async () => {
    const c = await convergeIpam(
      world({
        pools: [{ metadata: { name: 'p' }, spec: { cidr: '10.1.0.0/24', blockSize: 26, ipipMode: 'Always' } }],
        nodes: [{ name: 'n1', labels: {}, annotations: { 'projectcalico.org/IPv4IPIPTunnelAddr': '10.1.0.128' } }],
      }),
      {
        now: NOW,
        random: seededRandom(1),
        seed: {
          claims: [{ node: 'n1', block: '10.1.0.128/26' }],
          addresses: [
            {
              address: '10.1.0.128',
              node: 'n1',
              handleId: 'ipip-tunnel-addr-n1',
              attrs: { node: 'n1', type: 'ipipTunnelAddress' },
              use: 'Tunnel',
            },
            {
              address: '10.1.0.130',
              node: 'n1',
              handleId: 'k8s-pod-network.default.web',
              attrs: { node: 'n1', namespace: 'default', pod: 'web' },
              use: 'Workload',
            },
          ],
        },
      },
    );
    expect(c.decisions).toEqual([]);
    expect(c.annotations.get('n1')?.['projectcalico.org/IPv4IPIPTunnelAddr']).toBe('10.1.0.128');
    expect(c.blocks.flatMap((b) => allocationsOf(b).map((a) => `${a.address} ${a.handleId}`))).toEqual([
      '10.1.0.128 ipip-tunnel-addr-n1',
      '10.1.0.130 k8s-pod-network.default.web',
    ]);
  });

  it('converging what converged changes nothing (whatever the pools and nodes)', async () => {
    const zones = ['a', 'b'];
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.tuple(fc.constantFrom('n1', 'n2', 'n3', 'n4'), fc.constantFrom(...zones)), {
          selector: (t) => t[0],
          minLength: 1,
          maxLength: 4,
        }),
        fc.constantFrom('all()', "zone == 'a'", "zone == 'b'"),
        fc.constantFrom('Never', 'Always', 'CrossSubnet'),
        fc.integer({ min: 26, max: 28 }),
        async (nodes, selector, vxlanMode, blockSize) => {
          const w = world({
            pools: [
              { metadata: { name: 'p1' }, spec: { cidr: '10.1.0.0/25', blockSize, nodeSelector: selector, vxlanMode } },
              { metadata: { name: 'p2' }, spec: { cidr: '10.2.0.0/25', blockSize } },
            ],
            nodes: nodes.map(([name, zone]) => ({ name, labels: { zone }, annotations: {} })),
          });
          const first = await convergeIpam(w, { now: NOW, random: seededRandom(7) });
          const again = await convergeIpam(
            {
              ...w,
              nodes: w.nodes.map((n) => ({ ...n, annotations: first.annotations.get(n.name) ?? {} })),
              blocks: first.blocks,
              affinities: first.affinities,
              handles: first.handles,
            },
            { now: NOW, random: seededRandom(7) },
          );
          expect(again.decisions).toEqual([]);
          expect(again.blocks).toEqual(first.blocks);
          expect(again.annotations).toEqual(first.annotations);
        },
      ),
      { numRuns: 40 },
    );
  });
});
