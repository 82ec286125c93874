// Drift repair on real nodes (VXLAN Always): a route, a neighbour or FDB entry, or vxlan.calico itself changed by hand
// is put back by a sync the agent's kernel monitor started (its log names each sync's trigger; the periodic resync is
// off here, so nothing else could repair it); and an agent restart — graceful or killed — deletes and re-adds nothing
// (`ip monitor` runs across the restart and sees no change to what the agent owns). How fast a repair is: `npm run
// bench -- agent` is where such figures belong.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeDataplane, TunnelDevice } from '../../src/api/index.js';
import type { ClusterNode } from './cluster.js';
import { agentMonitorListening, agentSyncs } from './agent-syncs.js';
import { watchKernelEvents, type KernelEvents } from './kernel-events.js';
import { pingMatrix, plumbPodsInOwnBlocks, type TestPod } from './pods.js';
import { buildNodeImage } from './images.js';
import { startTabbyCluster, type TabbyCluster } from './tabby-cluster.js';
import { waitUntil } from './wait-until.js';

const NAMES = ['dr-1', 'dr-2'];

describe('drift repair and agent restarts, VXLAN Always, 2 nodes', () => {
  let c: TabbyCluster;
  let pods: TestPod[] = [];
  let node: ClusterNode;
  let peer: ClusterNode;
  let peerBlock: string;
  let ownBlock: string;
  let peerVtep: TunnelDevice;
  let ownVtep: TunnelDevice;

  beforeAll(async () => {
    const image = buildNodeImage();
    c = await startTabbyCluster({
      image,
      networks: [{ name: 'dr', subnet: '172.30.81.0/24' }],
      nodes: NAMES.map((name) => ({ name, network: 'dr' })),
      poolEnv: {
        CALICO_IPV4POOL_CIDR: '10.244.0.0/16',
        CALICO_IPV4POOL_IPIP: 'Never',
        CALICO_IPV4POOL_VXLAN: 'Always',
      },
      agentArgs: ['--no-bird'],
      // No periodic resync: a repair can only come from the kernel monitor (or the retry of a sync it started).
      manifests: [
        'apiVersion: projectcalico.org/v3',
        'kind: FelixConfiguration',
        'metadata:',
        '  name: default',
        'spec:',
        '  routeRefreshInterval: 0s',
      ].join('\n'),
    });
    await c.waitProgrammed();
    pods = await plumbPodsInOwnBlocks(c, [10]);
    node = c.nodes.get('dr-1')!;
    peer = c.nodes.get('dr-2')!;
    const desired = async (n: string) => (await c.getJson<NodeDataplane>(['get', 'nodedataplane', n])).status!.desired!;
    const d1 = await desired('dr-1');
    const d2 = await desired('dr-2');
    ownBlock = d1.blocks[0]!.cidr;
    peerBlock = d2.blocks[0]!.cidr;
    ownVtep = d1.tunnels.find((t) => t.name === 'vxlan.calico')!;
    peerVtep = d2.tunnels.find((t) => t.name === 'vxlan.calico')!;
    expect(d1.felix.routeRefreshIntervalSeconds).toBe(0);
    await agentMonitorListening(c, 'dr-1');
  });

  afterAll(async () => {
    await c?.stop();
  });

  /**
   * Runs `change` in dr-1 and waits until the shell condition `repaired` holds and the agent has logged a sync its
   * kernel monitor started that changed the kernel (a sync logs after it applied, so the state may be repaired first).
   */
  async function repairedByKernelSync(change: string, repaired: string): Promise<void> {
    const from = (await agentSyncs(c, 'dr-1')).length;
    await node.sh(change);
    await waitUntil(
      'dr-1 repaired by a sync its kernel monitor started',
      async () => {
        const since = (await agentSyncs(c, 'dr-1')).slice(from);
        if (!since.some((s) => s.triggers.includes('kernel') && s.changed)) return undefined;
        return (await node.exec(['bash', '-c', repaired])).exitCode === 0 ? true : undefined;
      },
      {
        timeoutMs: 120_000,
        everyMs: 100,
        describe: async () => (await c.agentLog('dr-1')).split('\n').slice(-10).join('\n'),
      },
    );
    // The only other causes: a snapshot (the plan did not change) and the periodic resync (off here).
    const since = (await agentSyncs(c, 'dr-1')).slice(from);
    expect(
      since.filter((s) => s.triggers.some((t) => t !== 'kernel' && t !== 'retry')),
      JSON.stringify(since),
    ).toEqual([]);
  }

  async function expectAsPlanned(): Promise<void> {
    for (const name of NAMES) expect(await c.kernelRoutes(name), `node ${name}`).toEqual(await c.plannedRoutes(name));
    const link = JSON.parse(await node.sh('ip -d -j link show vxlan.calico'))[0];
    expect(link.address).toBe(ownVtep.mac);
    expect(link.mtu).toBe(1450);
    expect(link.flags).toContain('UP');
    expect(link.linkinfo.info_data.id).toBe(4096);
    expect(await node.sh('ip -4 -br addr show vxlan.calico')).toContain(`${ownVtep.address}/32`);
    expect(await node.sh(`ip neigh show dev vxlan.calico ${peerVtep.address}`)).toContain(
      `lladdr ${peerVtep.mac} PERMANENT`,
    );
    expect(await node.sh(`bridge fdb show dev vxlan.calico | grep '${peerVtep.mac}'`)).toContain(`dst ${peer.ip}`);
    expect(await pingMatrix(pods)).toEqual([]);
  }

  const remoteRoute = () =>
    `ip route show ${peerBlock} proto 80 | grep -q 'via ${peerVtep.address} dev vxlan.calico onlink'`;

  it.each([
    ['a deleted remote route', () => `ip route del ${peerBlock} proto 80`, remoteRoute],
    [
      'a remote route changed to another next hop',
      () => `ip route replace ${peerBlock} via ${peer.ip} dev eth0 proto 80`,
      remoteRoute,
    ],
    [
      'a deleted blackhole',
      () => `ip route del blackhole ${ownBlock} proto 80`,
      () => `ip route show type blackhole ${ownBlock} proto 80 | grep -q .`,
    ],
    [
      'a deleted VXLAN neighbour',
      () => `ip neigh del ${peerVtep.address} dev vxlan.calico`,
      () => `ip neigh show dev vxlan.calico ${peerVtep.address} | grep -q 'lladdr ${peerVtep.mac} PERMANENT'`,
    ],
    [
      'a changed VXLAN neighbour',
      () => `ip neigh replace ${peerVtep.address} lladdr 66:00:00:00:00:01 dev vxlan.calico nud permanent`,
      () => `ip neigh show dev vxlan.calico ${peerVtep.address} | grep -q 'lladdr ${peerVtep.mac} PERMANENT'`,
    ],
    [
      'a deleted FDB entry',
      () => `bridge fdb del ${peerVtep.mac} dev vxlan.calico dst ${peer.ip}`,
      () => `bridge fdb show dev vxlan.calico | grep -q '${peerVtep.mac} dst ${peer.ip}'`,
    ],
    [
      'a changed vxlan.calico MTU',
      () => 'ip link set dev vxlan.calico mtu 1300',
      () => `ip link show dev vxlan.calico | grep -q 'mtu 1450 '`,
    ],
    [
      'vxlan.calico set down',
      () => 'ip link set dev vxlan.calico down',
      () => `ip link show dev vxlan.calico | grep -q '[<,]UP[,>]'`,
    ],
    [
      'a changed vxlan.calico MAC',
      () => 'ip link set dev vxlan.calico address 66:00:00:00:00:02',
      () => `ip link show dev vxlan.calico | grep -q 'link/ether ${ownVtep.mac} '`,
    ],
    [
      'a deleted vxlan.calico address',
      () => `ip addr del ${ownVtep.address}/32 dev vxlan.calico`,
      () => `ip -4 addr show dev vxlan.calico | grep -q 'inet ${ownVtep.address}/32 '`,
    ],
    [
      'a deleted vxlan.calico (with its routes and neighbours)',
      () => 'ip link del vxlan.calico',
      () => `${remoteRoute()} && ip neigh show dev vxlan.calico ${peerVtep.address} | grep -q PERMANENT`,
    ],
  ])('restores %s through a sync the kernel monitor started', async (_what, change, repaired) => {
    await repairedByKernelSync(change(), repaired());
    // Repaired to the plan, not just to something that passes the probe.
    await waitUntil(
      'dr-1 to be exactly as planned',
      async () => {
        await expectAsPlanned();
        return true;
      },
      { timeoutMs: 120_000 },
    );
  });

  it.each([['TERM'], ['KILL']] as const)(
    'restarts the agent (SIG%s) without deleting or re-adding anything',
    async (signal) => {
      // Listening before the restarts (watchKernelEvents returns once its monitors have printed a probe).
      const watchers = new Map<string, KernelEvents>();
      for (const name of NAMES) watchers.set(name, await watchKernelEvents(c.nodes.get(name)!, { fdb: true }));
      const before = new Map<string, number>();
      for (const name of NAMES) before.set(name, (await agentSyncs(c, name)).length);
      const events: string[] = [];
      try {
        for (const name of NAMES) {
          const old = await c.agentPid(name);
          await c.stopAgent(name, signal);
          expect(await c.agentPid(name)).toBeUndefined();
          const pid = await c.startAgent(name);
          expect(pid).not.toBe(old);
        }
        // The new agents read the kernel and found their whole plan in place: the first sync of each is Programmed.
        // Once it has logged, what it did to the kernel is done, and the barrier below brings it into the logs.
        for (const name of NAMES) {
          const { value: first } = await waitUntil(
            `${name}'s restarted agent to sync`,
            async () => (await agentSyncs(c, name)).slice(before.get(name)!)[0],
            { timeoutMs: 120_000, everyMs: 200, describe: () => c.agentLog(name) },
          );
          expect(first.programmed, `${name}: first sync after the restart`).toBe(true);
        }
        await c.waitProgrammed(120_000);
        // Everything the kernel announced until now is in the monitors' logs.
        for (const [name, w] of watchers) events.push(...(await w.barrier()).map((l) => `${name}: ${l}`));
      } finally {
        for (const w of watchers.values()) await w.stop();
      }
      // Nothing the agent owns moved: no route of its protocol, no tunnel device, no VXLAN neighbour or FDB entry.
      const owned = events.filter((l) => /\bproto 80\b|vxlan\.calico|\bblackhole\b/.test(l));
      expect(owned, events.join('\n')).toEqual([]);
      await expectAsPlanned();
    },
  );
});
