// VXLAN CrossSubnet on four real nodes in two subnets joined by a router: traffic between nodes of one subnet goes
// on the wire as plain pod-to-pod IP (no UDP 4789), traffic between subnets is encapsulated (UDP 4789 between the
// node addresses, never a bare pod packet); each node's `ip route` is its plan. That every pod reaches every other
// in this mode is the kubelet tier's (e2e/kubelet: its connectivity matrix and Kubernetes' Granular Checks).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeDataplane } from '../../src/api/index.js';
import { startCapture } from './packet-capture.js';
import { ping, plumbPodsInOwnBlocks, type TestPod } from './pods.js';
import { buildNodeImage } from './images.js';
import { startTabbyCluster, type TabbyCluster } from './tabby-cluster.js';

const COUNT = 5;

describe('VXLAN CrossSubnet, 4 nodes in two subnets', () => {
  let c: TabbyCluster;
  let pods: TestPod[] = [];
  const pod = (node: string): TestPod => pods.find((p) => p.node.name === node)!;

  beforeAll(async () => {
    const image = buildNodeImage();
    c = await startTabbyCluster({
      image,
      networks: [
        { name: 'csa', subnet: '172.30.41.0/24' },
        { name: 'csb', subnet: '172.30.42.0/24' },
      ],
      nodes: [
        { name: 'cs-a1', network: 'csa' },
        { name: 'cs-a2', network: 'csa' },
        { name: 'cs-b1', network: 'csb' },
        { name: 'cs-b2', network: 'csb' },
      ],
      poolEnv: {
        CALICO_IPV4POOL_CIDR: '10.244.0.0/16',
        CALICO_IPV4POOL_IPIP: 'Never',
        CALICO_IPV4POOL_VXLAN: 'CrossSubnet',
      },
      agentArgs: ['--no-bird'],
    });
    await c.waitProgrammed();
    pods = await plumbPodsInOwnBlocks(c, [10]);
  });

  afterAll(async () => {
    await c?.stop();
  });

  it('programs exactly the planned routes: direct within a subnet, VXLAN across subnets', async () => {
    const ndps = await c.getJson<{ items: NodeDataplane[] }>(['get', 'nodedataplanes']);
    const desired = (n: string) => ndps.items.find((i) => i.metadata.name === n)!.status!.desired!;
    for (const [name, node] of c.nodes) {
      const planned = await c.plannedRoutes(name);
      expect(await c.kernelRoutes(name), `node ${name}`).toEqual(planned);
      expect(planned.filter((l) => l.startsWith('blackhole '))).toEqual([`blackhole ${desired(name).blocks[0]!.cidr}`]);
      for (const [otherName, other] of c.nodes) {
        if (otherName === name) continue;
        const block = desired(otherName).blocks[0]!.cidr;
        if (other.network === node.network) {
          expect(planned, `${name} → ${otherName}`).toContain(`${block} via ${other.ip}`);
          // The kernel resolved the direct route to the uplink.
          expect(await node.sh(`ip route show ${block} proto 80`)).toContain(`via ${other.ip} dev eth0`);
        } else {
          const vtep = desired(otherName).tunnels.find((t) => t.name === 'vxlan.calico')!.address!;
          expect(planned, `${name} → ${otherName}`).toContain(`${block} via ${vtep} dev vxlan.calico onlink`);
        }
      }
    }
  });

  it.each([
    ['cs-a1', 'cs-a2'],
    ['cs-b2', 'cs-b1'],
  ])('sends pod traffic between %s and %s (one subnet) unencapsulated', async (a, b) => {
    const node = c.nodes.get(a)!;
    const from = pod(a);
    const to = pod(b);
    const cap = await startCapture(node, 'eth0', 'udp port 4789 or icmp');
    const requests = `icmp and src host ${from.ip} and dst host ${to.ip}`;
    const replies = `icmp and src host ${to.ip} and dst host ${from.ip}`;
    try {
      expect(await ping(from, to.ip, { count: COUNT, intervalS: 0.2 })).toBe(true);
      // Every packet was on this wire before its answer reached the pod; wait until tcpdump has written them all.
      await cap.waitFor(requests, COUNT);
      await cap.waitFor(replies, COUNT);
    } finally {
      await cap.stop();
    }
    expect(await cap.count('udp port 4789'), await cap.print('udp port 4789')).toBe(0);
    // Every request and every reply crossed the wire as a bare pod-to-pod packet.
    const all = await cap.print('');
    expect(await cap.count(requests), all).toBe(COUNT);
    expect(await cap.count(replies), all).toBe(COUNT);
  });

  it.each([
    ['cs-a1', 'cs-b1'],
    ['cs-b2', 'cs-a2'],
  ])('encapsulates pod traffic between %s and %s (two subnets) in VXLAN', async (a, b) => {
    const node = c.nodes.get(a)!;
    const peer = c.nodes.get(b)!;
    const from = pod(a);
    const to = pod(b);
    const cap = await startCapture(node, 'eth0', 'udp port 4789 or icmp');
    const out = `udp dst port 4789 and src host ${node.ip} and dst host ${peer.ip}`;
    const back = `udp dst port 4789 and src host ${peer.ip} and dst host ${node.ip}`;
    try {
      expect(await ping(from, to.ip, { count: COUNT, intervalS: 0.2 })).toBe(true);
      await cap.waitFor(out, COUNT);
      await cap.waitFor(back, COUNT);
    } finally {
      await cap.stop();
    }
    // Requests out and replies in, each in UDP 4789 between the two node addresses (routed by the router).
    const all = await cap.print('');
    expect(await cap.count(out), all).toBe(COUNT);
    expect(await cap.count(back), all).toBe(COUNT);
    expect(await cap.count(`icmp and host ${from.ip}`), await cap.print('icmp')).toBe(0);
  });
});
