// Whether two nodes in one subnet have converged on a pool's vxlanMode, for the mode switch test and its benchmark.
import type { NodeDataplane } from '../../src/api/index.js';
import type { TabbyCluster } from './tabby-cluster.js';

export type VxlanMode = 'Always' | 'CrossSubnet' | 'Never';

/**
 * Every node in `names` programmed for `mode`: Programmed for its current plan, its plan routes the other node's block
 * the mode's way (through vxlan.calico only when Always: the nodes share a subnet), its kernel routes are its plan,
 * and it has vxlan.calico unless the mode is Never.
 */
export async function vxlanModeConverged(c: TabbyCluster, names: readonly string[], mode: VxlanMode): Promise<boolean> {
  const ndps = (await c.getJson<{ items: NodeDataplane[] }>(['get', 'nodedataplanes'])).items;
  for (const name of names) {
    const n = ndps.find((i) => i.metadata.name === name)!;
    const desired = n.status?.desired;
    const cond = n.status?.conditions?.find((x) => x.type === 'Programmed');
    if (!desired || n.status?.applied?.revision !== desired.revision || cond?.status !== 'True') return false;
    const planned = await c.plannedRoutes(name);
    for (const other of names.filter((x) => x !== name)) {
      const od = ndps.find((i) => i.metadata.name === other)!.status!.desired!;
      const block = od.blocks[0]!.cidr;
      const vtep = od.tunnels.find((t) => t.name === 'vxlan.calico')?.address;
      const want =
        mode === 'Always' ? `${block} via ${vtep} dev vxlan.calico onlink` : `${block} via ${c.nodes.get(other)!.ip}`;
      if (!planned.includes(want)) return false;
    }
    if (JSON.stringify(await c.kernelRoutes(name)) !== JSON.stringify(planned)) return false;
    const hasVxlan = (await c.nodes.get(name)!.exec(['ip', 'link', 'show', 'vxlan.calico'])).exitCode === 0;
    if (hasVxlan !== (mode !== 'Never')) return false;
  }
  return true;
}
