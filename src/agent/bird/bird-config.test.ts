// Cases re-expressed from Calico's confd golden tests (calico: confd/tests/compiled_templates/mesh/*,
// explicit_peering/*): cluster kube-master 10.192.0.2, kube-node-1 10.192.0.3, kube-node-2 10.192.0.4, AS 64512,
// rendered from kube-master's point of view. Assertions are on the decisions (sessions, their options, filters),
// the way §6.1 of calico-reference.md suggests, plus exact text for the fixed parts.
import { describe, expect, it } from 'vitest';
import type { PlannedBgp, PlannedBgpPeer } from '../../api/node-dataplane.js';
import type { ViewNode } from '../../api/route-table.js';
import { buildNodeDesired } from '../test-support/desired-builder.js';
import { type BirdConfigInput, addressId, birdSymbol, renderBirdConfig, secretRefKey } from './bird-config.js';

const nodes: ViewNode[] = [
  { name: 'kube-master', ipv4: '10.192.0.2' },
  { name: 'kube-node-1', ipv4: '10.192.0.3' },
  { name: 'kube-node-2', ipv4: '10.192.0.4' },
];

function bgp(over: Partial<PlannedBgp> = {}): PlannedBgp {
  return {
    asNumber: 64512,
    routerID: '10.192.0.2',
    ipv4Address: '10.192.0.2/16',
    nodeToNodeMesh: true,
    peers: [],
    exportPrefixes: [{ cidr: '192.168.221.64/26', origin: 'block' }],
    ...over,
  };
}

function render(b: PlannedBgp, extra: Partial<BirdConfigInput> = {}) {
  return renderBirdConfig({
    nodeName: 'kube-master',
    desired: buildNodeDesired({
      blocks: [{ cidr: '192.168.221.64/26', pool: 'default' }],
      natOutgoing: { sourceCidrs: [], allPoolCidrs: ['192.168.0.0/16'] },
      bgp: b,
    }),
    viewNodes: nodes,
    ...extra,
  });
}

/** protocol name → its body lines (trimmed, comments dropped). */
function protocols(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const m of text.matchAll(/^protocol bgp (\S+) from \S+ \{\n([\s\S]*?)\n\}/gm)) {
    const body = (m[2] ?? '')
      .split('\n')
      .map((l) => l.replace(/#.*$/, '').trim())
      .filter((l) => l !== '');
    out.set(m[1] ?? '', body);
  }
  return out;
}

const peer = (p: Partial<PlannedBgpPeer> & Pick<PlannedBgpPeer, 'name' | 'peerIP'>): PlannedBgpPeer => ({
  asNumber: 64512,
  type: 'node',
  ...p,
});

describe('renderBirdConfig: node-to-node mesh (confd mesh/ipip-always)', () => {
  const r = render(bgp());
  it('peers with every other node, from its own address, passive towards greater addresses', () => {
    expect([...protocols(r.text)]).toEqual([
      ['Mesh_10_192_0_3', ['neighbor 10.192.0.3 as 64512;', 'source address 10.192.0.2;', 'passive on;']],
      ['Mesh_10_192_0_4', ['neighbor 10.192.0.4 as 64512;', 'source address 10.192.0.2;', 'passive on;']],
    ]);
    expect(r.sessions.map((s) => [s.name, s.type])).toEqual([
      ['Mesh_10_192_0_3', 'node-to-node mesh'],
      ['Mesh_10_192_0_4', 'node-to-node mesh'],
    ]);
    expect(r.issues).toEqual([]);
  });

  it('the side with the greater address string connects (exactly one side is passive)', () => {
    const other = renderBirdConfig({
      nodeName: 'kube-node-2',
      desired: buildNodeDesired({ bgp: bgp({ routerID: '10.192.0.4', ipv4Address: '10.192.0.4/16' }) }),
      viewNodes: nodes,
    });
    expect(protocols(other.text).get('Mesh_10_192_0_2')).toEqual([
      'neighbor 10.192.0.2 as 64512;',
      'source address 10.192.0.4;',
    ]);
  });

  it('blackholes own blocks in BIRD only, aggregates them, exports pools, and keeps pool routes out of the kernel', () => {
    expect(r.text).toContain('router id 10.192.0.2;\n');
    expect(r.text).toContain(
      'protocol static static4 {\n  ipv4;\n  # IP blocks for this host.\n  route 192.168.221.64/26 blackhole;\n}',
    );
    expect(r.text).toContain(
      'function calico_aggr ()\n{\n  # Block 192.168.221.64/26 is confirmed.\n  if ( net = 192.168.221.64/26 ) then { accept; }\n  if ( net ~ 192.168.221.64/26 ) then { reject; }\n}',
    );
    expect(r.text).toContain(
      'function calico_export_to_bgp_peers ()\n{\n  reject_disabled_pools();\n  apply_communities();\n  calico_aggr();\n  if ( net ~ 192.168.0.0/16 ) then { accept; }\n}',
    );
    expect(r.text).toMatch(
      /filter calico_kernel_programming\n\{\n.*\n {2}if \( net ~ 192\.168\.0\.0\/16 \) then \{ reject; \}/,
    );
    expect(r.text).toMatch(/protocol kernel kernel4 \{\n {2}ipv4 \{\n {4}import none; /);
    expect(r.text).toContain('  interface -"cali*", -"kube-ipvs*", "*";');
  });

  it('is deterministic', () => {
    expect(render(bgp()).text).toBe(r.text);
  });
});

describe('renderBirdConfig: peering rules', () => {
  it.each([
    {
      name: 'mesh off: no Mesh_ sessions (confd mesh disabled)',
      b: bgp({ nodeToNodeMesh: false }),
      want: {},
      text: '# Node-to-node mesh disabled',
    },
    {
      name: 'route reflector: no mesh, iBGP peers become clients (confd explicit_peering/route_reflector)',
      b: bgp({
        routeReflectorClusterID: '10.0.0.1',
        peers: [
          peer({
            name: 'Node_10_192_0_3',
            peerIP: '10.192.0.3',
            routeReflectorClient: true,
            sourceAddress: '10.192.0.2',
          }),
          peer({ name: 'Node_172_19_4_87', peerIP: '172.19.4.87', asNumber: 64533, sourceAddress: '10.192.0.2' }),
        ],
      }),
      want: {
        Node_10_192_0_3: [
          'neighbor 10.192.0.3 as 64512;',
          'source address 10.192.0.2;',
          'ttl security off;',
          'multihop;',
          'rr client;',
          'rr cluster id 10.0.0.1;',
        ],
        Node_172_19_4_87: [
          'neighbor 172.19.4.87 as 64533;',
          'source address 10.192.0.2;',
          'ttl security off;',
          'multihop;',
        ],
      },
      text: 'is configured as a route reflector with cluster ID 10.0.0.1;',
    },
    {
      name: 'a node that is a route reflector is left out of the mesh',
      b: bgp({ peers: [peer({ name: 'Node_10_192_0_4', peerIP: '10.192.0.4', type: 'routeReflector' })] }),
      want: {
        Mesh_10_192_0_3: ['neighbor 10.192.0.3 as 64512;', 'source address 10.192.0.2;', 'passive on;'],
        Node_10_192_0_4: ['neighbor 10.192.0.4 as 64512;', 'ttl security off;', 'multihop;'],
      },
      text: '# Skipping 10.192.0.4 (kube_node_2) as it is a route reflector',
    },
    {
      name: 'global peer with port, local AS, restart and keepalive times, next hop keep (confd explicit_peering/global, local-as)',
      b: bgp({
        nodeToNodeMesh: false,
        peers: [
          peer({
            name: 'Global_10_192_0_5_port_1790',
            peerIP: '10.192.0.5',
            port: 1790,
            asNumber: 64567,
            localASNumber: 65001,
            type: 'global',
            maxRestartTimeSeconds: 100,
            keepaliveTimeSeconds: 10,
            nextHopMode: 'Keep',
            numAllowedLocalASNumbers: 2,
          }),
        ],
      }),
      want: {
        Global_10_192_0_5_port_1790: [
          'neighbor 10.192.0.5 port 1790 as 64567;',
          'local as 65001;',
          'ttl security off;',
          'multihop;',
          'graceful restart time 100;',
          'keepalive time 10;',
          'allow local as 2;',
          'ipv4 { next hop keep; };',
        ],
      },
      text: '# No node-specific peers configured.',
    },
    {
      name: 'TTL security and next hop self (confd ttl_security, next_hop_mode)',
      b: bgp({
        nodeToNodeMesh: false,
        peers: [
          peer({ name: 'Node_10_192_0_9', peerIP: '10.192.0.9', asNumber: 65000, ttlSecurity: 2, nextHopMode: 'Self' }),
        ],
      }),
      want: {
        Node_10_192_0_9: [
          'neighbor 10.192.0.9 as 65000;',
          'ttl security on;',
          'multihop 2;',
          'ipv4 { next hop self; };',
        ],
      },
      text: '# No global peers configured.',
    },
    {
      name: 'a peer at our own address is skipped',
      b: bgp({
        nodeToNodeMesh: false,
        peers: [peer({ name: 'Global_10_192_0_2', peerIP: '10.192.0.2', type: 'global' })],
      }),
      want: {},
      text: '# Skipping ourselves (10.192.0.2)',
    },
  ])('$name', ({ b, want, text }) => {
    const r = render(b);
    expect(Object.fromEntries(protocols(r.text))).toEqual(want);
    expect(r.text).toContain(text);
    expect(r.issues).toEqual([]);
  });
});

describe('renderBirdConfig: passwords (confd mesh/password)', () => {
  const ref = { name: 'bgp-secrets', key: 'mesh', namespace: 'kube-system' };
  it('puts resolved passwords on mesh and explicit sessions', () => {
    const r = render(
      bgp({
        meshPasswordSecretRef: ref,
        peers: [peer({ name: 'Node_10_192_0_9', peerIP: '10.192.0.9', passwordSecretRef: { name: 's2', key: 'k' } })],
      }),
      {
        passwords: new Map([
          [secretRefKey(ref), 'very-secret'],
          ['/s2/k', 'p\\2'],
        ]),
      },
    );
    const p = protocols(r.text);
    expect(p.get('Mesh_10_192_0_3')).toContain('password "very-secret";');
    expect(p.get('Node_10_192_0_9')).toContain('password "p\\2";');
    expect(r.issues).toEqual([]);
  });

  it.each([
    { name: 'missing Secret', pw: undefined, msg: /Secret kube-system\/bgp-secrets key mesh is not available/ },
    { name: 'password BIRD cannot quote', pw: 'a"b', msg: /contains a quote or a line break/ },
  ])('$name: error naming the field, session kept without a password', ({ pw, msg }) => {
    const r = render(bgp({ meshPasswordSecretRef: ref }), {
      passwords: new Map(pw === undefined ? [] : [[secretRefKey(ref), pw]]),
    });
    expect(r.issues.map((i) => i.message)).toEqual([
      expect.stringMatching(/^NodeDataplane kube-master: status\.desired\.bgp\.meshPasswordSecretRef: /),
    ]);
    expect(r.issues[0]?.message).toMatch(msg);
    expect(protocols(r.text).get('Mesh_10_192_0_3')).not.toContain(expect.stringMatching(/^password/));
  });
});

describe('renderBirdConfig: node-level values', () => {
  it.each([
    {
      name: 'listen port: template and mesh port (confd listen_port)',
      b: bgp({ listenPort: 1790 }),
      contains: ['  local port 1790 as 64512;', '  neighbor 10.192.0.3 port 1790 as 64512;'],
    },
    { name: 'bind to the node IP', b: bgp({ bindMode: 'NodeIP' }), contains: ['  local 10.192.0.2 as 64512;'] },
    { name: 'debug logging', b: bgp({ logSeverityScreen: 'Debug' }), contains: ['protocol device {\n  debug all;'] },
    {
      name: 'ignored interfaces (confd ignored_interfaces)',
      b: bgp({ ignoredInterfaces: ['iface-1', 'iface-2*'] }),
      contains: ['  interface -"iface-1", -"iface-2*", -"cali*", -"kube-ipvs*", "*";'],
    },
    {
      name: 'communities (confd mesh/communities)',
      b: bgp({
        exportPrefixes: [{ cidr: '192.168.221.64/26', origin: 'block', communities: ['65001:300', '65001:100:20'] }],
      }),
      contains: [
        // Values sorted as strings, as confd does.
        '  if ( net ~ 192.168.221.64/26 ) then {\n    bgp_large_community.add((65001, 100, 20));\n    bgp_community.add((65001, 300));\n  }',
      ],
    },
    {
      name: 'disableBGPExport pools (confd mesh/bgp-export)',
      b: bgp({ rejectPrefixes: ['192.168.0.0/16'] }),
      contains: [
        '  if ( net ~ 192.168.0.0/16 ) then { reject; }\n}',
        '  # Skip 192.168.0.0/16 as BGP export is disabled for it',
      ],
    },
    {
      name: 'borrowed addresses and service prefixes are announced from the static protocol',
      b: bgp({
        exportPrefixes: [
          { cidr: '192.168.221.64/26', origin: 'block' },
          { cidr: '192.168.5.7/32', origin: 'borrowed' },
          { cidr: '10.96.0.0/12', origin: 'serviceClusterIP' },
        ],
      }),
      contains: [
        '  # Other prefixes this host announces (borrowed addresses, services).\n  route 10.96.0.0/12 blackhole;\n  route 192.168.5.7/32 blackhole;',
        '  if ( net = 10.96.0.0/12 ) then { accept; }\n  if ( net = 192.168.5.7/32 ) then { accept; }',
      ],
    },
    {
      name: 'reachableBy adds a static route to the peer (confd reachable_by)',
      b: bgp({
        nodeToNodeMesh: false,
        peers: [peer({ name: 'Node_10_225_0_4', peerIP: '10.225.0.4', reachableBy: '10.192.0.1' })],
      }),
      contains: ['  # Static routes needed for BGP peers.\n  route 10.225.0.4/32 via 10.192.0.1;'],
    },
  ])('$name', ({ b, contains }) => {
    const r = render(b);
    for (const c of contains) expect(r.text).toContain(c);
    expect(r.issues).toEqual([]);
  });

  it('IPv6 peers get their own family section (confd explicit_peering/global-ipv6)', () => {
    const r = render(
      bgp({
        ipv6Address: 'fd5f:1801::2/64',
        nodeToNodeMesh: false,
        peers: [peer({ name: 'Global_fd5f_1801__9', peerIP: 'fd5f:1801::9', type: 'global' })],
        exportPrefixes: [{ cidr: 'fd5f:1801:abcd::/122', origin: 'block' }],
      }),
    );
    expect(r.text).toContain(
      'protocol bgp Global_fd5f_1801__9 from bgp_template6 {\n  neighbor fd5f:1801::9 as 64512;',
    );
    expect(r.text).toContain('  route fd5f:1801:abcd::/122 blackhole;');
    expect(r.sessions).toEqual([
      { name: 'Global_fd5f_1801__9', peerIP: 'fd5f:1801::9', asNumber: 64512, type: 'global', family: 6 },
    ]);
  });

  it('a node without an IPv4 BGP address renders no IPv4 section', () => {
    const r = renderBirdConfig({
      nodeName: 'n',
      desired: buildNodeDesired({ bgp: bgp({ ipv4Address: undefined }) }),
      viewNodes: nodes,
    });
    expect(r.text).toContain('# IPv4 disabled on this node.');
    expect(r.sessions).toEqual([]);
  });

  it('rejects a peer address that is not an IP, naming the field, and renders the rest', () => {
    const r = render(bgp({ peers: [peer({ name: 'Node_x', peerIP: '10.0.0.1"; }' })] }));
    expect(r.issues.map((i) => i.message)).toEqual([
      'NodeDataplane kube-master: status.desired.bgp.peers[0].peerIP: "10.0.0.1\\"; }" is not an IP address',
    ]);
    expect(r.text).not.toContain('Node_x');
    expect(protocols(r.text).size).toBe(2);
  });
});

describe('names', () => {
  it.each([
    ['10.192.0.3', '10_192_0_3'],
    ['fd00::1', 'fd00__1'],
  ])('addressId(%s)', (ip, want) => expect(addressId(ip)).toBe(want));
  it.each([
    ['Mesh_10_0_0_1', 'Mesh_10_0_0_1'],
    ['kube-node-1', 'kube_node_1'],
    ['1abc', 'p_1abc'],
  ])('birdSymbol(%s)', (n, want) => expect(birdSymbol(n)).toBe(want));
});
