// An external router in front of a BGP cluster, as Calico users run a top-of-rack switch: a BIRD 2 container on the
// nodes' network (AS 65000), peered with every node through one global BGPPeer (Calico's docs: "Configure a global
// BGP peer"), three nodes in AS 64512 except tor-3, which has its own AS (projectcalico.org/ASNumber 65010) — so its
// mesh sessions and its session with the router are eBGP. The router learns every pod block and the Service ranges
// of BGPConfiguration, each pod block with the communities prefixAdvertisements gives it (`birdc show route all`);
// an externalTrafficPolicy: Local Service's address is announced by the node running its endpoint; a BGPFilter named
// by the BGPPeer that rejects a CIDR keeps it out of the router's table until the peer stops naming it.
// Every wait is for what BIRD or the plan shows, with a generous ceiling.
import { GenericContainer, type StartedTestContainer } from 'testcontainers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildNodeImage } from './images.js';
import { startTabbyCluster, type TabbyCluster } from './tabby-cluster.js';
import { waitUntil } from './wait-until.js';

const NODE_BIRDC = 'birdc -s /var/run/tabby/bird.ctl';
const TOR_BIRDC = 'birdc -s /run/tor.ctl';
const TOR_AS = 65000;
const CLUSTER_AS = 64512;
/** tor-3's own AS. */
const OWN_AS = 65010;
const CLUSTER_IPS = '10.96.0.0/16';
const LB_IPS = '198.51.100.0/24';
const POOL = '10.244.0.0/16';
const CEILING = { timeoutMs: 180_000, everyMs: 500 };

function yamlDoc(lines: string[]): string {
  return lines.join('\n');
}

describe('an external router peered through a global BGPPeer', () => {
  let c: TabbyCluster;
  let tor: StartedTestContainer;
  let torIP = '';
  const blocks = new Map<string, string>();
  const asOf = (n: string) => (n === 'tor-3' ? OWN_AS : CLUSTER_AS);

  const torSh = async (script: string): Promise<string> => {
    const r = await tor.exec(['bash', '-ec', script]);
    if (r.exitCode !== 0) throw new Error(`router: script failed (${r.exitCode}):\n${script}\n---\n${r.output}`);
    return r.output;
  };
  const kubectl = async (args: string[], input?: string) => {
    const r = await c.cp.kubectl(args, input === undefined ? {} : { input });
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  /** The router's table: prefix → the text BIRD prints for it (`show route all`). */
  const torRoutes = async (): Promise<Map<string, string>> => {
    const out = await torSh(`${TOR_BIRDC} show route all`);
    const routes = new Map<string, string>();
    let current: string | undefined;
    for (const line of out.split('\n')) {
      const m = /^(\d+\.\d+\.\d+\.\d+\/\d+)\s/.exec(line);
      if (m) current = m[1]!;
      if (current) routes.set(current, `${routes.get(current) ?? ''}${line}\n`);
    }
    return routes;
  };

  beforeAll(async () => {
    const image = buildNodeImage();
    c = await startTabbyCluster({
      image,
      networks: [{ name: 'tor', subnet: '172.30.57.0/24' }],
      nodes: [
        { name: 'tor-1', network: 'tor' },
        { name: 'tor-2', network: 'tor' },
        { name: 'tor-3', network: 'tor', annotations: { 'projectcalico.org/ASNumber': String(OWN_AS) } },
      ],
      poolEnv: { CALICO_IPV4POOL_CIDR: POOL, CALICO_IPV4POOL_IPIP: 'Never', CALICO_IPV4POOL_VXLAN: 'Never' },
      manifests: yamlDoc([
        'apiVersion: projectcalico.org/v3',
        'kind: BGPConfiguration',
        'metadata:',
        '  name: default',
        'spec:',
        '  nodeToNodeMeshEnabled: true',
        `  asNumber: ${CLUSTER_AS}`,
        '  serviceClusterIPs:',
        `    - cidr: ${CLUSTER_IPS}`,
        '  serviceLoadBalancerIPs:',
        `    - cidr: ${LB_IPS}`,
        '  communities:',
        '    - name: pods',
        `      value: "${TOR_AS}:100"`,
        '  prefixAdvertisements:',
        `    - cidr: ${POOL}`,
        '      communities:',
        '        - pods',
        `        - "${TOR_AS}:1:2"`,
      ]),
    });
    for (const [name, block] of await c.waitBlocks()) blocks.set(name, block);

    // The top-of-rack router: BIRD 2 from the node image, alone on its container, on the nodes' network.
    const net = c.networks.get('tor')!;
    tor = await new GenericContainer(image)
      .withPullPolicy({ shouldPull: () => false })
      .withName(`tabby-tor-router-${process.pid.toString(36)}`)
      .withNetworkMode(net.dockerName)
      .withCommand(['sleep', 'infinity'])
      .start();
    torIP = tor.getIpAddress(net.dockerName);
    const neighbours = [...c.nodes.values()].map((n) =>
      [
        `protocol bgp ${n.name.replace(/-/g, '_')} {`,
        `  local as ${TOR_AS};`,
        `  neighbor ${n.ip} as ${asOf(n.name)};`,
        '  ipv4 { import all; export none; };',
        '}',
      ].join('\n'),
    );
    const conf = [`router id ${torIP};`, 'protocol device {}', ...neighbours].join('\n');
    await tor.copyContentToContainer([{ content: `${conf}\n`, target: '/etc/tor-bird.conf' }]);
    await torSh('bird -c /etc/tor-bird.conf -s /run/tor.ctl');

    // Calico's docs: a global BGPPeer — every node peers with the router.
    await kubectl(
      ['apply', '-f', '-'],
      yamlDoc([
        'apiVersion: projectcalico.org/v3',
        'kind: BGPPeer',
        'metadata:',
        '  name: tor',
        'spec:',
        `  peerIP: ${torIP}`,
        `  asNumber: ${TOR_AS}`,
      ]),
    );
  });

  afterAll(async () => {
    await tor?.stop({ timeout: 1 }).catch(() => undefined);
    await c?.stop();
  });

  it('peers with every node over eBGP, the node with its own AS included, and the mesh stays up', async () => {
    for (const n of c.nodes.values()) {
      const proto = n.name.replace(/-/g, '_');
      await waitUntil(
        `router session with ${n.name} (AS ${asOf(n.name)}) Established`,
        async () =>
          new RegExp(`^${proto}\\s+BGP\\s.*\\sup\\s.*Established`, 'm').test(await torSh(`${TOR_BIRDC} show protocols`))
            ? true
            : undefined,
        { ...CEILING, describe: () => torSh(`${TOR_BIRDC} show protocols all ${proto}`) },
      );
      // The node's side, and its mesh: with tor-3 in its own AS these sessions are eBGP, each describing the
      // remote node's AS.
      await waitUntil(
        `${n.name}: every session Established`,
        async () => {
          const out = await n.sh(`${NODE_BIRDC} show protocols`);
          const rows = out.split('\n').filter((l) => /^(Global|Mesh)_\S+\s+BGP\s/.test(l));
          return rows.length === 3 && rows.every((l) => /\sup\s.*Established/.test(l)) ? rows : undefined;
        },
        { ...CEILING, describe: () => n.sh(`${NODE_BIRDC} show protocols`) },
      );
    }
    const details = await torSh(`${TOR_BIRDC} show protocols all tor_3`);
    expect(details).toMatch(new RegExp(`Neighbor AS:\\s+${OWN_AS}`));
  });

  it('learns every pod block and the service ranges; pod blocks carry the prefixAdvertisements communities', async () => {
    const want = [...blocks.values(), CLUSTER_IPS, LB_IPS];
    const { value: routes } = await waitUntil(
      `router to learn ${want.join(', ')}`,
      async () => {
        const r = await torRoutes();
        if (!want.every((p) => r.has(p))) return undefined;
        // tor-1 and tor-2 pass tor-3's block on too: the check of its AS path below needs tor-3's own announcement.
        const fromTor3 = await torSh(`${TOR_BIRDC} show route ${blocks.get('tor-3')} protocol tor_3`);
        return fromTor3.includes(blocks.get('tor-3')!) ? r : undefined;
      },
      { ...CEILING, describe: async () => torSh(`${TOR_BIRDC} show route`) },
    );
    for (const [owner, block] of blocks) {
      const text = routes.get(block)!;
      expect(text, `${block} of ${owner}`).toMatch(/BGP\.community: .*\(65000,100\)/);
      expect(text, `${block} of ${owner}`).toMatch(/BGP\.large_community: .*\(65000, 1, 2\)/);
    }
    // The Service range is outside the pool: no community on it.
    expect(routes.get(CLUSTER_IPS)).not.toMatch(/BGP\.community/);
    // tor-3's block, learned from tor-3 itself, starts its AS path with tor-3's own AS.
    const own = await torSh(`${TOR_BIRDC} show route ${blocks.get('tor-3')} protocol tor_3 all`);
    expect(own).toMatch(new RegExp(`BGP\\.as_path: ${OWN_AS}\\b`));
  });

  it('an externalTrafficPolicy: Local Service is announced by the node running its endpoint', async () => {
    await kubectl(
      ['apply', '-f', '-'],
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'web', namespace: 'default' },
        spec: { type: 'LoadBalancer', externalTrafficPolicy: 'Local', ports: [{ port: 80 }] },
      }),
    );
    await kubectl(
      ['apply', '-f', '-'],
      JSON.stringify({
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: { name: 'web-1', namespace: 'default', labels: { 'kubernetes.io/service-name': 'web' } },
        addressType: 'IPv4',
        endpoints: [{ addresses: ['10.244.200.1'], nodeName: 'tor-2', conditions: { ready: true } }],
      }),
    );
    const ip = (await kubectl(['get', 'service', 'web', '-o', 'jsonpath={.spec.clusterIP}'])).trim();
    await waitUntil(`router to learn ${ip}/32`, async () => ((await torRoutes()).has(`${ip}/32`) ? true : undefined), {
      ...CEILING,
      describe: async () => torSh(`${TOR_BIRDC} show route`),
    });
    // Only tor-2 originates it: its static protocol holds the address, the others' do not.
    for (const n of c.nodes.values()) {
      const statics = await n.sh(`${NODE_BIRDC} show route protocol static4`);
      expect(statics.includes(`${ip}/32`), `${n.name} originates ${ip}/32`).toBe(n.name === 'tor-2');
    }
  });

  it('a BGPFilter rejecting a CIDR keeps it out of the router, until the peer stops naming it', async () => {
    await kubectl(
      ['apply', '-f', '-'],
      yamlDoc([
        'apiVersion: projectcalico.org/v3',
        'kind: BGPFilter',
        'metadata:',
        '  name: no-load-balancers',
        'spec:',
        '  exportV4:',
        '    - action: Reject',
        '      matchOperator: In',
        `      cidr: ${LB_IPS}`,
      ]),
    );
    await kubectl(['patch', 'bgppeer', 'tor', '--type=merge', '-p', '{"spec":{"filters":["no-load-balancers"]}}']);
    await waitUntil(
      `${LB_IPS} to leave the router's table`,
      async () => {
        const r = await torRoutes();
        return !r.has(LB_IPS) && r.has(CLUSTER_IPS) && [...blocks.values()].every((b) => r.has(b)) ? true : undefined;
      },
      { ...CEILING, describe: async () => torSh(`${TOR_BIRDC} show route`) },
    );
    await kubectl(['patch', 'bgppeer', 'tor', '--type=json', '-p', '[{"op":"remove","path":"/spec/filters"}]']);
    await waitUntil(
      `${LB_IPS} back in the router's table`,
      async () => ((await torRoutes()).has(LB_IPS) ? true : undefined),
      { ...CEILING, describe: async () => torSh(`${TOR_BIRDC} show route`) },
    );
  });
});
