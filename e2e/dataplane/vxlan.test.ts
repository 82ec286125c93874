// VXLAN Always on three real nodes: operator plans, agents program their kernels, pods on different nodes reach
// each other through vxlan.calico, and each node's `ip route` is exactly what `tabby render` plans for it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeDataplane } from '../../src/api/index.js';
import { pingMatrix, plumbPodsInOwnBlocks, type TestPod } from './pods.js';
import { buildNodeImage } from './images.js';
import { startTabbyCluster, type TabbyCluster } from './tabby-cluster.js';

describe('VXLAN Always, 3 nodes', () => {
  let c: TabbyCluster;
  let pods: TestPod[] = [];

  beforeAll(async () => {
    const image = buildNodeImage();
    c = await startTabbyCluster({
      image,
      networks: [{ name: 'vx', subnet: '172.30.31.0/24' }],
      nodes: [
        { name: 'vx-1', network: 'vx' },
        { name: 'vx-2', network: 'vx' },
        { name: 'vx-3', network: 'vx' },
      ],
      poolEnv: {
        CALICO_IPV4POOL_CIDR: '10.244.0.0/16',
        CALICO_IPV4POOL_IPIP: 'Never',
        CALICO_IPV4POOL_VXLAN: 'Always',
      },
      agentArgs: ['--no-bird'],
    });
    // Two pods per node, from the node's own block (the first address is the node's VTEP).
    pods = await plumbPodsInOwnBlocks(c, [10, 11]);
  });

  afterAll(async () => {
    await c?.stop();
  });

  it('lets every pod ping every other pod', async () => {
    expect(pods).toHaveLength(6);
    expect(await pingMatrix(pods)).toEqual([]);
  });

  it('programs exactly the planned routes on every node', async () => {
    for (const name of c.nodes.keys()) {
      const planned = await c.plannedRoutes(name);
      const kernel = await c.kernelRoutes(name);
      // Planned includes every route (blackhole, remote blocks); kernel shows the agent's (proto 80) and blackholes.
      expect(kernel, `node ${name}`).toEqual(planned);
      expect(planned.filter((l) => l.includes('dev vxlan.calico onlink'))).toHaveLength(2);
      expect(planned.filter((l) => l.startsWith('blackhole '))).toHaveLength(1);
    }
  });

  it('configures vxlan.calico and its neighbours as planned', async () => {
    const ndps = await c.getJson<{ items: NodeDataplane[] }>(['get', 'nodedataplanes']);
    for (const ndp of ndps.items) {
      const node = c.nodes.get(ndp.metadata.name)!;
      const tunnel = ndp.status!.desired!.tunnels.find((t) => t.name === 'vxlan.calico')!;
      const link = JSON.parse(await node.sh('ip -d -j link show vxlan.calico'))[0];
      expect(link.address).toBe(tunnel.mac);
      expect(link.linkinfo.info_data.id).toBe(4096);
      expect(link.linkinfo.info_data.port).toBe(4789);
      expect(link.linkinfo.info_data.learning).toBe(false);
      const addr = await node.sh('ip -4 -br addr show vxlan.calico');
      expect(addr).toContain(`${tunnel.address}/32`);
      // One permanent ARP entry and one FDB entry per other node.
      for (const other of ndps.items.filter((o) => o !== ndp)) {
        const t = other.status!.desired!.tunnels.find((x) => x.name === 'vxlan.calico')!;
        const neigh = await node.sh(`ip neigh show dev vxlan.calico ${t.address}`);
        expect(neigh).toContain(`lladdr ${t.mac} PERMANENT`);
        const fdb = await node.sh(`bridge fdb show dev vxlan.calico | grep '${t.mac}'`);
        expect(fdb).toContain(`dst ${c.nodes.get(other.metadata.name)!.ip}`);
      }
    }
  });
});
