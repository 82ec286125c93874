// No encapsulation (ipipMode and vxlanMode Never) with BIRD on three real nodes: the node-to-node mesh comes up on
// every node, every node's block is learned over BGP, pods made through the CNI plugin (addresses from their node's
// IPAM) ping across nodes; then one node becomes an in-cluster route reflector the way Calico's docs do it
// (RouteReflectorClusterID annotation, a label, a BGPPeer selecting it, the mesh turned off) and the others peer only
// with it. The agent alone programs the kernel from the plan, so the move must not touch a single route: the kernel's
// own event stream on every node shows no route of the agent's protocol added, changed or deleted, and pods answer.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeDataplane } from '../../src/api/index.js';
import type { ClusterNode } from './cluster.js';
import { watchKernelEvents, type KernelEvents } from './kernel-events.js';
import { cidrContainsIP, parseCidr, parseIP } from '../../src/net/index.js';
import { cniPod, pingMatrix, type TestPod } from './pods.js';
import { buildNodeImage } from './images.js';
import { startTabbyCluster, type TabbyCluster } from './tabby-cluster.js';
import { waitUntil } from './wait-until.js';
import { modelFromTabby } from '../../src/agent/bird/testdata/bird-model.js';

const BIRDC = 'birdc -s /var/run/tabby/bird.ctl';
const RR = 'bgp-1';
const CLIENTS = ['bgp-2', 'bgp-3'];

interface StatusRow {
  peer: string;
  type: string;
  state: string;
  info: string;
}

/** The IPv4 rows of `tabby agent status` (calicoctl node status layout). */
async function agentStatus(node: ClusterNode): Promise<StatusRow[]> {
  const out = await node.sh('tabby agent status');
  if (!out.includes('BIRD is running.')) throw new Error(`${node.name}: ${out}`);
  const v4 = out.split('IPv6 BGP status')[0]!;
  const rows: StatusRow[] = [];
  for (const line of v4.split('\n')) {
    const cells = line.split('|').map((s) => s.trim());
    if (cells.length !== 7 || cells[1] === 'PEER ADDRESS') continue;
    rows.push({ peer: cells[1]!, type: cells[2]!, state: cells[3]!, info: cells[5]! });
  }
  return rows.sort((a, b) => (a.peer < b.peer ? -1 : 1));
}

function protocolName(prefix: string, ip: string): string {
  return `${prefix}_${ip.replace(/\./g, '_')}`;
}

/** Whether BIRD on `node` holds `block` learned from `protocol` with next hop `via` (BIRD 2 `show route` text). */
async function learned(node: ClusterNode, protocol: string, block: string, via: string): Promise<boolean> {
  const out = await node.sh(`${BIRDC} show route protocol ${protocol}`);
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  return new RegExp(`^${esc(block)}\\s+unicast \\[${protocol}\\b[^\\n]*\\n\\s+via ${esc(via)} on eth0`, 'm').test(out);
}

describe('BGP without encapsulation (BIRD), 3 nodes, then a route reflector', () => {
  let c: TabbyCluster;
  const pods: TestPod[] = [];
  const blocks = new Map<string, string>();
  const node = (n: string): ClusterNode => c.nodes.get(n)!;

  beforeAll(async () => {
    const image = buildNodeImage();
    c = await startTabbyCluster({
      image,
      networks: [{ name: 'bgp', subnet: '172.30.51.0/24' }],
      nodes: [
        { name: 'bgp-1', network: 'bgp' },
        { name: 'bgp-2', network: 'bgp' },
        { name: 'bgp-3', network: 'bgp' },
      ],
      poolEnv: { CALICO_IPV4POOL_CIDR: '10.244.0.0/16', CALICO_IPV4POOL_IPIP: 'Never', CALICO_IPV4POOL_VXLAN: 'Never' },
      // As Calico's docs write it; the route reflector step below patches the mesh off.
      manifests: [
        'apiVersion: projectcalico.org/v3',
        'kind: BGPConfiguration',
        'metadata:',
        '  name: default',
        'spec:',
        '  logSeverityScreen: Info',
        '  nodeToNodeMeshEnabled: true',
        '  asNumber: 64512',
      ].join('\n'),
    });
    for (const [name, block] of await c.waitBlocks()) blocks.set(name, block);
    // One pod per node made by the CNI plugin the agent installed, with the address its node's IPAM gave it.
    for (const n of c.nodes.values()) pods.push(await cniPod(n, 'default', `${n.name}-pod`));
  });

  afterAll(async () => {
    await c?.stop();
  });

  it('establishes the node-to-node mesh on every node', async () => {
    const t0 = performance.now();
    for (const [name, n] of c.nodes) {
      const others = [...c.nodes.values()]
        .filter((o) => o !== n)
        .map((o) => o.ip)
        .sort();
      const want = others.map((ip) => ({ peer: ip, type: 'node-to-node mesh', state: 'up', info: 'Established' }));
      await waitUntil(
        `mesh sessions Established on ${name}`,
        async () => {
          const rows = await agentStatus(n);
          return JSON.stringify(rows) === JSON.stringify(want) ? rows : undefined;
        },
        { timeoutMs: 120_000, everyMs: 500, describe: async () => n.sh(`tabby agent status; ${BIRDC} show protocols`) },
      );
      // BIRD itself agrees, protocol by protocol.
      const protocols = await n.sh(`${BIRDC} show protocols`);
      for (const ip of others)
        expect(protocols).toMatch(new RegExp(`^${protocolName('Mesh', ip)}\\s+BGP\\s.*\\sup\\s.*Established`, 'm'));
    }
    console.log(
      `mesh Established on all nodes ${Math.round(performance.now() - t0)} ms after the nodes were programmed`,
    );
  });

  it("learns every other node's block over BGP, while the agent alone programs the kernel", async () => {
    for (const [name, n] of c.nodes) {
      for (const [otherName, other] of c.nodes) {
        if (other === n) continue;
        const block = blocks.get(otherName)!;
        await waitUntil(`${name} to learn ${block} from ${otherName}`, async () =>
          (await learned(n, protocolName('Mesh', other.ip), block, other.ip)) ? true : undefined,
        );
      }
      // BIRD exports nothing to the kernel: every cluster route there is the agent's (proto 80), as planned.
      expect(await n.sh('ip route show proto bird')).toBe('');
      expect(await c.kernelRoutes(name), `node ${name}`).toEqual(await c.plannedRoutes(name));
    }
  });

  it("gives each pod an address from its node's own block", async () => {
    expect(pods).toHaveLength(3);
    const ndps = await c.getJson<{ items: NodeDataplane[] }>(['get', 'nodedataplanes']);
    for (const p of pods) {
      const planned = ndps.items
        .find((n) => n.metadata.name === p.node.name)!
        .status!.desired!.blocks.map((b) => b.cidr);
      expect(
        planned.some((b) => cidrContainsIP(parseCidr(b), parseIP(p.ip))),
        `${p.name} ${p.ip} in ${planned.join(', ')}`,
      ).toBe(true);
    }
    expect(new Set(pods.map((p) => p.ip)).size).toBe(pods.length);
  });

  it('lets pods ping across nodes', async () => {
    expect(pods).toHaveLength(3);
    expect(await pingMatrix(pods)).toEqual([]);
  });

  it('moves to a route reflector: the others peer only with it, and no kernel route moves', async () => {
    const rr = node(RR);
    // Listening before the first change (watchKernelEvents returns once its monitor has printed a probe).
    const watchers = new Map<string, KernelEvents>();
    const events: string[] = [];
    try {
      for (const [name, n] of c.nodes) watchers.set(name, await watchKernelEvents(n));
      const t0 = performance.now();
      // calico docs, "Configure in-cluster route reflectors".
      const kubectl = async (args: string[], input?: string) => {
        const r = await c.cp.kubectl(args, input === undefined ? {} : { input });
        if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
      };
      await kubectl(['annotate', 'node', RR, 'projectcalico.org/RouteReflectorClusterID=244.0.0.1']);
      await kubectl(['label', 'node', RR, 'route-reflector=true']);
      await kubectl(
        ['apply', '-f', '-'],
        [
          'kind: BGPPeer',
          'apiVersion: projectcalico.org/v3',
          'metadata:',
          '  name: peer-with-route-reflectors',
          'spec:',
          '  nodeSelector: all()',
          "  peerSelector: route-reflector == 'true'",
        ].join('\n'),
      );
      await kubectl([
        'patch',
        'bgpconfiguration',
        'default',
        '--type=merge',
        '-p',
        '{"spec":{"nodeToNodeMeshEnabled":false}}',
      ]);

      for (const name of CLIENTS) {
        const want = [{ peer: rr.ip, type: 'node specific', state: 'up', info: 'Established' }];
        await waitUntil(
          `${name} to peer only with the route reflector`,
          async () => (JSON.stringify(await agentStatus(node(name))) === JSON.stringify(want) ? true : undefined),
          { timeoutMs: 120_000, everyMs: 500, describe: async () => node(name).sh('tabby agent status') },
        );
      }
      const clientIPs = CLIENTS.map((n) => node(n).ip).sort();
      const wantRR = clientIPs.map((ip) => ({ peer: ip, type: 'node specific', state: 'up', info: 'Established' }));
      await waitUntil(
        'the route reflector to peer with both clients',
        async () => (JSON.stringify(await agentStatus(rr)) === JSON.stringify(wantRR) ? true : undefined),
        { timeoutMs: 120_000, everyMs: 500, describe: async () => rr.sh('tabby agent status') },
      );
      console.log(
        `route reflector topology Established ${Math.round(performance.now() - t0)} ms after the first change`,
      );
      // The reflector marks the others as its clients; a client learns the other client's block through the
      // reflector, with the other client's own address as next hop.
      const rrSessions = modelFromTabby(await rr.sh('cat /var/run/tabby/bird.conf'), 4).sessions;
      for (const ip of clientIPs) {
        expect(rrSessions[protocolName('Node', ip)]?.statements).toEqual(
          expect.arrayContaining([`neighbor ${ip} as 64512;`, 'rr client;', 'rr cluster id 244.0.0.1;']),
        );
      }
      for (const [a, b] of [CLIENTS, [...CLIENTS].reverse()] as const) {
        await waitUntil(`${a} to learn ${b}'s block through the reflector`, async () =>
          (await learned(node(a!), protocolName('Node', rr.ip), blocks.get(b!)!, node(b!).ip)) ? true : undefined,
        );
      }
      for (const name of c.nodes.keys())
        expect(await c.kernelRoutes(name), `node ${name}`).toEqual(await c.plannedRoutes(name));
      // Everything the kernels announced during the move is in the monitors' logs.
      for (const [name, w] of watchers) events.push(...(await w.barrier()).map((l) => `${name}: ${l}`));
    } finally {
      for (const w of watchers.values()) await w.stop();
    }
    expect(
      events.filter((l) => /\bproto 80\b|\bblackhole\b/.test(l)),
      events.join('\n'),
    ).toEqual([]);
    expect(await pingMatrix(pods)).toEqual([]);
  });
});
