// IPIP Always on real nodes whose kernel has no ipip module (this machine's): the agent says so in the Programmed
// condition and status.applied (naming the module), keeps running without a retry loop (when a kernel change makes
// it look again, it finds nothing left to do and schedules no retry: its log says why each sync ran), and programs
// and repairs everything that is not the tunnel. What it would do where the kernel has ipip is asserted command by command: the
// agent's own read of the node's kernel, its target with ipip available, and the `ip -batch` lines it renders.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeDataplane, RouteTable } from '../../src/api/index.js';
import {
  computeKernelTarget,
  createLinuxDataplane,
  createProcessRunner,
  diffKernel,
  planSize,
  renderBatches,
  type CommandRunner,
  type RouteShard,
} from '../../src/agent/index.js';
import type { ClusterNode } from './cluster.js';
import { buildNodeImage } from './images.js';
import { startTabbyCluster, type TabbyCluster } from './tabby-cluster.js';
import { waitUntil } from './wait-until.js';
import { agentSyncs } from './agent-syncs.js';

const NAMES = ['ipip-1', 'ipip-2'];

/** Runs the agent's commands inside a node container, as the agent there would. */
function containerRunner(node: ClusterNode): CommandRunner {
  const base = createProcessRunner();
  return { run: (argv, o) => base.run(['/usr/bin/docker', 'exec', '-i', node.container.getId(), ...argv], o) };
}

function programmed(ndp: NodeDataplane) {
  return ndp.status?.conditions?.find((c) => c.type === 'Programmed');
}

describe('IPIP Always on a kernel without the ipip module, 2 nodes', () => {
  let c: TabbyCluster;
  const pids = new Map<string, number>();

  const ndp = (name: string) => c.getJson<NodeDataplane>(['get', 'nodedataplane', name]);

  beforeAll(async () => {
    const image = buildNodeImage();
    c = await startTabbyCluster({
      image,
      networks: [{ name: 'ipip', subnet: '172.30.61.0/24' }],
      nodes: NAMES.map((name) => ({ name, network: 'ipip' })),
      poolEnv: {
        CALICO_IPV4POOL_CIDR: '10.244.0.0/16',
        CALICO_IPV4POOL_IPIP: 'Always',
        CALICO_IPV4POOL_VXLAN: 'Never',
      },
      agentArgs: ['--no-bird'],
    });
    // Each agent has reported on the whole plan of its node, the other node's block included (it cannot be
    // Programmed=True here, so the condition's message is what says the agent got that far).
    for (const name of NAMES) {
      await waitUntil(
        `${name} to report on its plan`,
        async () => {
          const n = await ndp(name);
          const cond = programmed(n);
          return cond?.observedGeneration === n.metadata.generation &&
            cond?.reason === 'IPIPUnavailable' &&
            cond.message.includes(`and ${NAMES.length - 1} tunnel route(s)`)
            ? true
            : undefined;
        },
        { timeoutMs: 120_000, everyMs: 250, describe: async () => JSON.stringify((await ndp(name)).status, null, 1) },
      );
      pids.set(name, (await c.agentPid(name))!);
    }
  });

  afterAll(async () => {
    await c?.stop();
  });

  it('plans tunl0 routes, and says which kernel module is missing in Programmed and status.applied', async () => {
    for (const name of NAMES) {
      const other = NAMES.find((n) => n !== name)!;
      const n = await ndp(name);
      const otherBlock = (await ndp(other)).status!.desired!.blocks[0]!.cidr;
      // The plan is IPIP; only the kernel cannot follow it.
      expect(await c.plannedRoutes(name)).toContain(`${otherBlock} via ${c.nodes.get(other)!.ip} dev tunl0 onlink`);
      expect(n.status!.desired!.tunnels.map((t) => t.name)).toEqual(['tunl0']);

      const cond = programmed(n)!;
      expect(cond.status).toBe('False');
      expect(cond.reason).toBe('IPIPUnavailable');
      expect(cond.observedGeneration).toBe(n.metadata.generation);
      expect(cond.message).toContain('kernel module ipip not loaded');
      expect(cond.message).toContain('skipped tunl0 and 1 tunnel route(s)');

      const applied = n.status!.applied!;
      expect(applied.errors).toEqual([
        expect.objectContaining({ object: 'device tunl0', message: expect.stringContaining('kernel module ipip') }),
      ]);
      expect(applied.counts).toMatchObject({ routes: 0, blackholes: 1, neighbours: 0, fdbEntries: 0, devices: 0 });
    }
  });

  it('programs everything but the tunnel, repairs its blackhole, and schedules no retry', async () => {
    for (const name of NAMES) {
      const node = c.nodes.get(name)!;
      const block = (await ndp(name)).status!.desired!.blocks[0]!.cidr;
      expect((await node.exec(['ip', 'link', 'show', 'tunl0'])).exitCode).not.toBe(0);
      expect(await c.kernelRoutes(name)).toEqual([`blackhole ${block}`]);
      expect((await node.sh('cat /proc/sys/net/ipv4/ip_forward')).trim()).toBe('1');
      expect(await node.sh('nft list table inet tabby-nat')).toContain('masquerade');

      // A change the agent's kernel monitor sees makes it look again: it puts the blackhole back, and the sync that
      // follows its own change finds nothing left to do. A sync that changes nothing causes no kernel event and, having
      // scheduled no retry, no further sync: there is no loop, and nothing to wait for.
      const from = (await agentSyncs(c, name)).length;
      await node.sh(`ip route del blackhole ${block} proto 80`);
      const { value: since } = await waitUntil(
        `${name}: the blackhole repaired by a sync the kernel monitor started, then a sync that found nothing to do`,
        async () => {
          const s = (await agentSyncs(c, name)).slice(from);
          const repair = s.findIndex((x) => x.triggers.includes('kernel') && x.changed);
          return repair >= 0 && s.slice(repair + 1).some((x) => x.triggers.includes('kernel') && !x.changed)
            ? s
            : undefined;
        },
        { timeoutMs: 120_000, everyMs: 100, describe: async () => c.agentLog(name) },
      );
      expect(await c.kernelRoutes(name)).toEqual([`blackhole ${block}`]);
      // An unavailable module is not a failure to retry: no sync of this agent ever scheduled a retry or ran as one.
      const all = await agentSyncs(c, name);
      expect(all.filter((x) => x.retryInMs !== null || x.triggers.includes('retry'))).toEqual([]);
      expect(since.every((x) => !x.programmed)).toBe(true);
      expect(await c.agentPid(name), `${name} agent restarted or died`).toBe(pids.get(name));
      expect(await c.agentLog(name)).not.toMatch(/sync threw|snapshot source failed|report callback failed/);
    }
  });

  it('follows a plan change', async () => {
    const before = new Map<string, number>();
    for (const name of NAMES) before.set(name, (await agentSyncs(c, name)).length);
    const r = await c.cp.kubectl([
      'patch',
      'ippool',
      'default-ipv4-ippool',
      '--type=merge',
      '-p',
      '{"spec":{"natOutgoing":false}}',
    ]);
    expect(r.code, r.stderr).toBe(0);
    for (const name of NAMES) {
      const node = c.nodes.get(name)!;
      // The table goes during the sync; the sync's log line (which names its trigger) comes when it has finished.
      await waitUntil(
        `${name} to remove its natOutgoing table in a sync of the new snapshot`,
        async () =>
          (await node.exec(['nft', 'list', 'table', 'inet', 'tabby-nat'])).exitCode !== 0 &&
          (await agentSyncs(c, name)).slice(before.get(name)!).some((s) => s.triggers.includes('snapshot'))
            ? true
            : undefined,
        { timeoutMs: 120_000 },
      );
      expect(await c.agentPid(name)).toBe(pids.get(name));
      const n = await ndp(name);
      const cond = programmed(n)!;
      expect(cond.reason).toBe('IPIPUnavailable');
      expect(cond.observedGeneration).toBe(n.metadata.generation);
    }
  });

  it('would create tunl0 and route through it, exactly so, where the kernel has ipip', async () => {
    const rts = await c.getJson<{ items: RouteTable[] }>(['get', 'routetables']);
    for (const name of NAMES) {
      const node = c.nodes.get(name)!;
      const other = NAMES.find((n) => n !== name)!;
      const desired = (await ndp(name)).status!.desired!;
      const otherBlock = (await ndp(other)).status!.desired!.blocks[0]!.cidr;
      const tunl0 = desired.tunnels.find((t) => t.name === 'tunl0')!;
      const shards: RouteShard[] = rts.items
        .filter((rt) => rt.status?.view === desired.view)
        .map((rt) => ({ name: rt.metadata.name, status: rt.status! }));
      const proto = desired.felix.clusterRouteProtocol;
      expect(proto).toBe(80);
      // The agent's own read of this node's kernel, through the same code, in the node container.
      const obs = await createLinuxDataplane({ runner: containerRunner(node), ipipAvailable: true }).read(proto);
      const target = (ipip: boolean) =>
        computeKernelTarget({ nodeName: name, desired, shards, env: obs.env, capabilities: { ipip } });

      // Without ipip the kernel already holds all the agent can program: nothing is left to do.
      const without = target(false);
      expect(planSize(diffKernel(obs.state, without))).toBe(0);
      expect(without.issues.map((i) => i.code)).toEqual(['ipip_unavailable']);

      // With ipip: tunl0 at host MTU 1500 − 20, its /32, and the remote block through it, onlink, marked proto 80.
      const withIpip = target(true);
      expect(withIpip.issues).toEqual([]);
      const batches = renderBatches(diffKernel(obs.state, withIpip), proto);
      expect(batches.ip.map((l) => l.text)).toEqual([
        'link add name tunl0 type ipip',
        'link set dev tunl0 mtu 1480 up',
        `address replace ${tunl0.address}/32 dev tunl0`,
        `route add ${otherBlock} via ${c.nodes.get(other)!.ip} dev tunl0 proto 80 onlink`,
      ]);
      expect(batches.bridge).toEqual([]);
    }
  });
});
