// Dual stack on three real nodes in two subnets, each Docker network with IPv4 and IPv6 (`--internal`, a router
// container between them for both families): an IPv4 pool and an IPv6 pool, both vxlanMode CrossSubnet; every Node
// carries projectcalico.org/IPv4Address and IPv6Address; pods made through the CNI plugin the agent installed
// (assign_ipv6) get one address of each family. Within a subnet both families route directly and BGP (BIRD, one
// mesh session per family and peer) announces the blocks; across subnets IPv4 goes through vxlan.calico and IPv6
// through vxlan-v6.calico over the nodes' IPv6 addresses. Every pod pings every other pod in both families, and
// each node's kernel holds exactly the routes `tabby render` plans for both families.
// Expected IPv6 routes are derived in the test from Calico's CrossSubnet rule (as examples/dual-stack/
// hand-derived-routes.txt derives them for its own layout): own block → blackhole; same subnet → `<block> via
// <node IPv6>`; other subnet → `<block> via <VTEP> dev vxlan-v6.calico onlink`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeDataplane } from '../../src/api/index.js';
import { cidrContainsIP, parseCidr, parseIP, workloadInterfaceName } from '../../src/net/index.js';
import type { ClusterNode } from './cluster.js';
import { buildNodeImage } from './images.js';
import { ping, WAIT_FOR_CNI_CONFIG, type TestPod } from './pods.js';
import { startTabbyCluster, type TabbyCluster } from './tabby-cluster.js';
import { waitUntil } from './wait-until.js';

const POOL4 = '10.244.0.0/16';
const POOL6 = 'fd5f:1234:5678::/48';
const SAME = ['ds-1', 'ds-2'];
const OTHER = 'ds-3';

interface DualPod extends TestPod {
  ip6: string;
}

/** A pod through `cnitool add` of the installed conflist: its IPv4 and IPv6 addresses, as the plugin returned them. */
async function dualPod(node: ClusterNode, name: string): Promise<DualPod> {
  const netns = `pod-${name}`;
  const containerId = `${name}-0123456789abcdef`;
  const out = await node.sh(`${WAIT_FOR_CNI_CONFIG}
ip netns add ${netns}
export CNI_PATH=/opt/cni/bin NETCONFPATH=/etc/cni/net.d CNI_CONTAINERID=${containerId}
export CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=${name};K8S_POD_INFRA_CONTAINER_ID=${containerId}"
cnitool add k8s-pod-network /var/run/netns/${netns}
`);
  const result = JSON.parse(out.slice(out.indexOf('{'))) as { ips: { address: string }[] };
  const of = (family: 4 | 6) =>
    result.ips.map((x) => x.address.split('/')[0]!).find((a) => parseIP(a).family === family);
  const ip = of(4);
  const ip6 = of(6);
  if (ip === undefined || ip6 === undefined) throw new Error(`${name}: not one address of each family: ${out}`);
  return { node, namespace: 'default', name, ip, ip6, netns, hostIface: workloadInterfaceName('default', name) };
}

/**
 * `ip -6 route` lines in the plan's syntax: no protocol, metric or preference, a blackhole without the `dev lo` IPv6
 * prints, a direct route without its device.
 */
function normalise6(line: string): string {
  const l = line
    .trim()
    .replace(/\s+proto \S+/, '')
    .replace(/\s+metric \d+/, '')
    .replace(/\s+pref \S+/, '')
    .replace(/^(blackhole \S+) dev lo\b/, '$1')
    .replace(/\s+/g, ' ');
  const direct = /^(\S+ via \S+) dev (\S+)$/.exec(l);
  return direct && direct[2] !== 'vxlan-v6.calico' ? direct[1]! : l;
}

async function kernelRoutes6(node: ClusterNode): Promise<string[]> {
  const out = await node.sh('ip -6 route show proto 80; ip -6 route show type blackhole');
  return [...new Set(out.split('\n').map(normalise6).filter(Boolean))].sort();
}

/** The rows of one family's table in `tabby agent status` (calicoctl node status's layout) as `peer state info`. */
async function sessions(node: ClusterNode, family: 4 | 6): Promise<string[]> {
  const out = await node.sh('tabby agent status');
  const section = (out.split(`IPv${family} BGP status`)[1] ?? '').split('BGP status')[0]!;
  const rows: string[] = [];
  for (const line of section.split('\n')) {
    const cells = line.split('|').map((s) => s.trim());
    if (cells.length !== 7 || cells[1] === 'PEER ADDRESS') continue;
    rows.push(`${cells[1]} ${cells[3]} ${cells[5]}`);
  }
  return rows.sort();
}

describe('dual stack: IPv4 and IPv6 pools, VXLAN over IPv6, BGP over IPv6, 3 nodes in 2 subnets', () => {
  let c: TabbyCluster;
  const pods: DualPod[] = [];
  const node = (n: string): ClusterNode => c.nodes.get(n)!;

  beforeAll(async () => {
    const image = buildNodeImage();
    c = await startTabbyCluster({
      image,
      networks: [
        { name: 'ds-a', subnet: '172.30.61.0/24', ipv6: true },
        { name: 'ds-b', subnet: '172.30.62.0/24', ipv6: true },
      ],
      nodes: [
        { name: 'ds-1', network: 'ds-a' },
        { name: 'ds-2', network: 'ds-a' },
        { name: 'ds-3', network: 'ds-b' },
      ],
      poolEnv: {
        CALICO_IPV4POOL_CIDR: POOL4,
        CALICO_IPV4POOL_IPIP: 'Never',
        CALICO_IPV4POOL_VXLAN: 'CrossSubnet',
      },
      manifests: [
        'apiVersion: projectcalico.org/v3',
        'kind: IPPool',
        'metadata:',
        '  name: default-ipv6-ippool',
        'spec:',
        `  cidr: ${POOL6}`,
        '  vxlanMode: CrossSubnet',
        '  natOutgoing: false',
      ].join('\n'),
      agentArgs: ['--cni-assign-ipv6'],
    });
    await c.waitProgrammed();
    for (const n of c.nodes.values()) {
      for (const i of [1, 2]) pods.push(await dualPod(n, `${n.name}-pod${i}`));
    }
  });

  afterAll(async () => {
    await c?.stop();
  });

  it('gives every node an IPv6 address and every pod one address of each family, from the pools', () => {
    for (const n of c.nodes.values()) expect(n.ip6, n.name).toMatch(/^fd7a:7ab:/);
    expect(pods).toHaveLength(6);
    for (const p of pods) {
      expect(cidrContainsIP(parseCidr(POOL4), parseIP(p.ip)), p.ip).toBe(true);
      expect(cidrContainsIP(parseCidr(POOL6), parseIP(p.ip6)), p.ip6).toBe(true);
    }
  });

  it('lets every pod ping every other pod over IPv4 and over IPv6', async () => {
    const failures: string[] = [];
    await Promise.all(
      pods.map(async (a) => {
        for (const b of pods) {
          if (a === b) continue;
          if (!(await ping(a, b.ip))) failures.push(`v4 ${a.name} -> ${b.name} (${b.ip})`);
          if (!(await ping(a, b.ip6))) failures.push(`v6 ${a.name} -> ${b.name} (${b.ip6})`);
        }
      }),
    );
    expect(failures.sort()).toEqual([]);
  });

  it("programs exactly the planned routes of both families, by Calico's CrossSubnet rule", async () => {
    const ndps = await c.getJson<{ items: NodeDataplane[] }>(['get', 'nodedataplanes']);
    const blocksOf = (n: string, family: 4 | 6) =>
      ndps.items
        .find((x) => x.metadata.name === n)!
        .status!.desired!.blocks.map((b) => b.cidr)
        .filter((b) => parseCidr(b).family === family);
    const vtep6 = (n: string) =>
      ndps.items.find((x) => x.metadata.name === n)!.status!.desired!.tunnels.find((t) => t.name === 'vxlan-v6.calico')!
        .address;
    for (const name of c.nodes.keys()) {
      const planned = await c.plannedRoutes(name);
      const planned6 = planned.filter((l) => l.includes(':')).sort();
      expect(await kernelRoutes6(node(name)), `node ${name} IPv6`).toEqual(planned6);
      expect(await c.kernelRoutes(name), `node ${name} IPv4`).toEqual(planned.filter((l) => !l.includes(':')).sort());
      // Hand-derived IPv6 routes: own blocks blackholed, same subnet direct, other subnet through vxlan-v6.calico.
      const want6: string[] = [];
      for (const other of c.nodes.keys()) {
        for (const b of blocksOf(other, 6)) {
          if (other === name) want6.push(`blackhole ${b}`);
          else if (SAME.includes(name) && SAME.includes(other)) want6.push(`${b} via ${node(other).ip6}`);
          else want6.push(`${b} via ${vtep6(other)} dev vxlan-v6.calico onlink`);
        }
      }
      expect(planned6, `node ${name} planned IPv6`).toEqual(want6.sort());
    }
  });

  it('runs vxlan-v6.calico over the IPv6 underlay, with a neighbour and an FDB entry per remote VTEP', async () => {
    const ndps = await c.getJson<{ items: NodeDataplane[] }>(['get', 'nodedataplanes']);
    const tunnel = (n: string) =>
      ndps.items
        .find((x) => x.metadata.name === n)!
        .status!.desired!.tunnels.find((t) => t.name === 'vxlan-v6.calico')!;
    for (const name of c.nodes.keys()) {
      const t = tunnel(name);
      const link = JSON.parse(await node(name).sh('ip -d -j link show vxlan-v6.calico'))[0];
      expect(link.address).toBe(t.mac);
      expect(link.linkinfo.info_data.id).toBe(4096);
      expect(link.linkinfo.info_data.port).toBe(4789);
      // iproute2 names an IPv6 local address `local6` in its JSON.
      expect(link.linkinfo.info_data.local6).toBe(node(name).ip6);
      expect(await node(name).sh('ip -6 -br addr show vxlan-v6.calico')).toContain(`${t.address}/128`);
    }
    // ds-3 reaches the others' IPv6 blocks through their VTEPs, resolved to their IPv6 addresses.
    for (const other of SAME) {
      const t = tunnel(other);
      expect(await node(OTHER).sh(`ip -6 neigh show dev vxlan-v6.calico ${t.address}`)).toContain(
        `lladdr ${t.mac} PERMANENT`,
      );
      expect(await node(OTHER).sh(`bridge fdb show dev vxlan-v6.calico | grep '${t.mac}'`)).toContain(
        `dst ${node(other).ip6}`,
      );
    }
  });

  it('brings up one BGP session per family between every pair of nodes, the IPv6 one over IPv6', async () => {
    for (const [name, n] of c.nodes) {
      for (const family of [4, 6] as const) {
        const want = [...c.nodes.values()]
          .filter((o) => o !== n)
          .map((o) => `${family === 4 ? o.ip : o.ip6} up Established`)
          .sort();
        await waitUntil(
          `IPv${family} mesh sessions Established on ${name}`,
          async () => {
            const rows = await sessions(n, family);
            return JSON.stringify(rows) === JSON.stringify(want) ? rows : undefined;
          },
          { timeoutMs: 120_000, everyMs: 500, describe: async () => n.sh('tabby agent status') },
        );
      }
    }
  });
});
