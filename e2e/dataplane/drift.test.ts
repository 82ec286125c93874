// Drift repair on real nodes (VXLAN Always): a route, a neighbour or FDB entry, or vxlan.calico itself changed by hand
// is put back within 2 s (timed inside the node, from the change to the repaired state); and an agent restart —
// graceful or killed — deletes and re-adds nothing (`ip monitor` runs across the restart and sees no change to what
// the agent owns).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeDataplane, TunnelDevice } from '../../src/api/index.js';
import type { ClusterNode } from './cluster.js';
import { stopProcessScript } from './node-processes.js';
import { pingMatrix, plumbPodsInOwnBlocks, type TestPod } from './pods.js';
import { buildNodeImage } from './images.js';
import { startTabbyCluster, type TabbyCluster } from './tabby-cluster.js';
import { waitUntil } from './wait-until.js';

const NAMES = ['dr-1', 'dr-2'];
const REPAIR_BOUND_MS = 2000;

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
  });

  afterAll(async () => {
    await c?.stop();
  });

  /**
   * Runs `change` in dr-1, then polls `repaired` (a shell condition) every 10 ms; returns the milliseconds between
   * the change and the first poll that found the state repaired (fails after 10 s).
   */
  async function timeRepair(change: string, repaired: string): Promise<number> {
    const out = await node.sh(
      `t0=$(date +%s%N); ${change}\n` +
        `for i in $(seq 1000); do if ${repaired}; then echo $(( ($(date +%s%N) - t0) / 1000000 )); exit 0; fi; sleep 0.01; done\n` +
        'echo "not repaired within 10 s"; exit 1',
    );
    return Number(out.trim().split('\n').pop());
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
  ])('restores %s within 2 s', async (what, change, repaired) => {
    const ms = await timeRepair(change(), repaired());
    console.log(`dr-1: ${what} restored in ${ms} ms`);
    expect(ms).toBeLessThan(REPAIR_BOUND_MS);
    // Repaired to the plan, not just to something that passes the probe.
    await waitUntil(
      'dr-1 to be exactly as planned',
      async () => {
        await expectAsPlanned();
        return true;
      },
      { timeoutMs: 5000 },
    );
  });

  it.each([['TERM'], ['KILL']] as const)(
    'restarts the agent (SIG%s) without deleting or re-adding anything',
    async (signal) => {
      for (const n of c.nodes.values()) {
        await n.sh(
          'nohup ip -o -ts monitor route link neigh >/tmp/monitor.log 2>&1 </dev/null & echo $! >/tmp/monitor.pid\n' +
            'nohup bridge -ts monitor fdb >/tmp/fdb-monitor.log 2>&1 </dev/null & echo $! >/tmp/fdb-monitor.pid',
        );
      }
      const syncs = async (name: string) =>
        (await c.agentLog(name)).split('\n').filter((l) => l.includes('"sync done"'));
      const before = new Map<string, number>();
      for (const name of NAMES) before.set(name, (await syncs(name)).length);
      await new Promise((r) => setTimeout(r, 300));
      let monitors: string[] = [];
      try {
        for (const name of NAMES) {
          const old = await c.agentPid(name);
          await c.stopAgent(name, signal);
          expect(await c.agentPid(name)).toBeUndefined();
          const pid = await c.startAgent(name);
          expect(pid).not.toBe(old);
        }
        // The new agents read the kernel and found their whole plan in place.
        for (const name of NAMES) {
          const { value: first } = await waitUntil(
            `${name}'s restarted agent to sync`,
            async () => {
              const lines = (await syncs(name)).slice(before.get(name)!);
              return lines.length > 0 ? (JSON.parse(lines[0]!) as { programmed: boolean }) : undefined;
            },
            { timeoutMs: 30_000, everyMs: 200, describe: () => c.agentLog(name) },
          );
          expect(first.programmed, `${name}: first sync after the restart`).toBe(true);
        }
        await c.waitProgrammed();
        await new Promise((r) => setTimeout(r, 500));
        // The monitors were listening all along: a route someone else adds and deletes now shows up in them.
        for (const n of c.nodes.values()) {
          await n.sh('ip route add 192.0.2.1/32 dev lo proto 81 && ip route del 192.0.2.1/32 dev lo proto 81');
        }
        await new Promise((r) => setTimeout(r, 200));
      } finally {
        for (const n of c.nodes.values()) {
          await n.sh(
            `${stopProcessScript('/tmp/monitor.pid', 'TERM')}; ${stopProcessScript('/tmp/fdb-monitor.pid', 'TERM')}`,
          );
          monitors.push(`--- ${n.name}\n${await n.sh('cat /tmp/monitor.log /tmp/fdb-monitor.log')}`);
        }
      }
      monitors = monitors.map((m) => m.trim());
      // Nothing the agent owns moved: no route of its protocol, no tunnel device, no VXLAN neighbour or FDB entry.
      const owned = monitors
        .join('\n')
        .split('\n')
        .filter((l) => /\bproto 80\b|vxlan\.calico|\bblackhole\b/.test(l));
      expect(owned, monitors.join('\n')).toEqual([]);
      for (const m of monitors) expect(m).toMatch(/Deleted 192\.0\.2\.1 dev lo proto 81/);
      await expectAsPlanned();
    },
  );
});
