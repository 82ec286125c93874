// The renderer on what confd's goldens do not pin down (confd-goldens.test.ts compares it with 75 of them): the
// node-to-node mesh is the plan's rule (the sessions describe the remote node, whatever this node's own AS and port),
// how bad values are refused with the field named and nothing injected, passwords, and the session list it reports.
// Cluster: kube-master 10.192.0.2, kube-node-1 10.192.0.3, kube-node-2 10.192.0.4, default AS 64512.
import { describe, expect, it } from 'vitest';
import type { PlannedBgp, PlannedBgpPeer } from '../../api/node-dataplane.js';
import type { ViewNode } from '../../api/route-table.js';
import { meshPeers } from '../../plan/bgp-peers.js';
import { buildNodeDesired } from '../test-support/desired-builder.js';
import { type BirdConfigInput, addressId, birdSymbol, renderBirdConfig, secretRefKey } from './bird-config.js';
import { modelFromTabby } from './testdata/bird-model.js';

const nodes: ViewNode[] = [
  { name: 'kube-master', ipv4: '10.192.0.2' },
  { name: 'kube-node-1', ipv4: '10.192.0.3' },
  { name: 'kube-node-2', ipv4: '10.192.0.4' },
];

function bgp(over: Partial<PlannedBgp> = {}): PlannedBgp {
  return {
    asNumber: 64512,
    defaultASNumber: 64512,
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

/** Session name → its statements (filters aside), IPv4. */
function sessions(text: string, family: 4 | 6 = 4): Record<string, string[]> {
  return Object.fromEntries(Object.entries(modelFromTabby(text, family).sessions).map(([k, v]) => [k, v.statements]));
}

const peer = (p: Partial<PlannedBgpPeer> & Pick<PlannedBgpPeer, 'name' | 'peerIP'>): PlannedBgpPeer => ({
  asNumber: 64512,
  type: 'node',
  ...p,
});

describe('node-to-node mesh: the plan rule, rendered', () => {
  it("a node with its own AS and listen port opens sessions with the remote nodes' AS and port", () => {
    // kube-master has AS 65001 and listens on 1790 (node.kube-master); kube-node-1 has AS 65002 and port 1791;
    // kube-node-2 has neither: it uses the default AS 64512 and the default port 179.
    const records: ViewNode[] = [
      { name: 'kube-master', ipv4: '10.192.0.2', asNumber: 65001, listenPort: 1790 },
      { name: 'kube-node-1', ipv4: '10.192.0.3', asNumber: 65002, listenPort: 1791 },
      { name: 'kube-node-2', ipv4: '10.192.0.4' },
    ];
    const b = bgp({ asNumber: 65001, listenPort: 1790, defaultListenPort: 179 });
    const r = render(b, { viewNodes: records });
    expect(sessions(r.text)).toEqual({
      Mesh_10_192_0_3: [
        'multihop;',
        'neighbor 10.192.0.3 port 1791 as 65002;',
        'passive on;',
        'source address 10.192.0.2;',
        'ttl security off;',
      ],
      Mesh_10_192_0_4: [
        'multihop;',
        'neighbor 10.192.0.4 port 179 as 64512;',
        'passive on;',
        'source address 10.192.0.2;',
        'ttl security off;',
      ],
    });
    expect(r.text).toContain('  local port 1790 as 65001;');
    // Exactly the plan's sessions: render and the agent cannot disagree.
    expect(r.sessions.map((s) => [s.name, s.peerIP, s.port, s.asNumber, s.type])).toEqual(
      meshPeers('kube-master', b, records).map((p) => [p.name, p.peerIP, p.port, p.asNumber, 'node-to-node mesh']),
    );
    expect(r.issues).toEqual([]);
  });

  it('the side with the greater address string connects (exactly one side is passive)', () => {
    const other = renderBirdConfig({
      nodeName: 'kube-node-2',
      desired: buildNodeDesired({ bgp: bgp({ routerID: '10.192.0.4', ipv4Address: '10.192.0.4/16' }) }),
      viewNodes: nodes,
    });
    expect(sessions(other.text).Mesh_10_192_0_2).toEqual([
      'multihop;',
      'neighbor 10.192.0.2 as 64512;',
      'source address 10.192.0.4;',
      'ttl security off;',
    ]);
  });

  it('no mesh when it is off, on a route reflector, or towards a route reflector', () => {
    expect(sessions(render(bgp({ nodeToNodeMesh: false })).text)).toEqual({});
    expect(sessions(render(bgp({ routeReflectorClusterID: '10.0.0.1' })).text)).toEqual({});
    const withRR = [
      ...nodes.slice(0, 2),
      { name: 'kube-node-2', ipv4: '10.192.0.4', routeReflectorClusterID: '1.1.1.1' },
    ];
    expect(Object.keys(sessions(render(bgp(), { viewNodes: withRR }).text))).toEqual(['Mesh_10_192_0_3']);
  });

  it('a peer at our own address is skipped', () => {
    const r = render(
      bgp({
        nodeToNodeMesh: false,
        peers: [peer({ name: 'Global_10_192_0_2', peerIP: '10.192.0.2', type: 'global' })],
      }),
    );
    expect(sessions(r.text)).toEqual({});
    expect(r.text).toContain('# No BGP peers configured for this node');
  });
});

describe('passwords (confd mesh/password, password)', () => {
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
    const s = sessions(r.text);
    expect(s.Mesh_10_192_0_3).toContain('password "very-secret";');
    expect(s.Node_10_192_0_9).toContain('password "p\\2";');
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
      expect.stringMatching(/^NodeDataplane kube-master: status\.desired\.bgp\.meshPasswordSecretRef: /),
    ]);
    expect(r.issues[0]?.message).toMatch(msg);
    expect(sessions(r.text).Mesh_10_192_0_3).not.toContain(expect.stringMatching(/^password/));
  });
});

describe('bad values are refused, naming the field, and nothing of them reaches the file', () => {
  it('a peer address that is not an IP', () => {
    const r = render(bgp({ peers: [peer({ name: 'Node_x', peerIP: '10.0.0.1"; }' })] }));
    expect(r.issues.map((i) => i.message)).toEqual([
      'NodeDataplane kube-master: status.desired.bgp.peers[0].peerIP: "10.0.0.1\\"; }" is not an IP address',
    ]);
    expect(r.text).not.toContain('Node_x');
    expect(Object.keys(sessions(r.text))).toEqual(['Mesh_10_192_0_3', 'Mesh_10_192_0_4']);
  });

  it('a BGPFilter rule that cannot be written makes its function reject every route', () => {
    const r = render(
      bgp({
        nodeToNodeMesh: false,
        peers: [
          peer({ name: 'Global_10_0_0_254', peerIP: '10.0.0.254', asNumber: 65000, type: 'global', filters: ['f'] }),
        ],
        filters: [
          {
            name: 'f',
            exportV4: [
              { action: 'Reject', matchOperator: 'In', cidr: '10.244.0.0/16' },
              { action: 'Accept', interface: 'eth0"; accept; #' },
            ],
          },
        ],
      }),
    );
    expect(r.issues.map((i) => i.message)).toEqual([
      expect.stringContaining('status.desired.bgp.filters: BGPFilter exportV4[1].interface: "eth0\\"; accept; #"'),
    ]);
    expect(modelFromTabby(r.text, 4).filterFunctions).toEqual({ "'bgp_f_exportFilterV4'": ['reject;'] });
    expect(r.text).not.toContain('accept; #');
  });

  it('a community that is not aa:nn or aa:nn:mm', () => {
    const r = render(bgp({ communities: [{ cidr: '192.168.0.0/16', communities: ['65000:1', 'no-export'] }] }));
    expect(r.issues.map((i) => i.message)).toEqual([
      'NodeDataplane kube-master: status.desired.bgp.communities[0].communities[1]: "no-export" is not aa:nn or aa:nn:mm',
    ]);
    expect(modelFromTabby(r.text, 4).communities).toEqual([
      'if ( net ~ 192.168.0.0/16 ) then {',
      'bgp_community.add((65000, 1));',
      '}',
    ]);
  });
});

describe('families and node-level values', () => {
  it('IPv6 sessions use the IPv6 template and functions', () => {
    const r = render(
      bgp({
        ipv6Address: 'fd5f:1801::2/64',
        nodeToNodeMesh: false,
        peers: [peer({ name: 'Global_fd5f_1801__9', peerIP: 'fd5f:1801::9', type: 'global' })],
        exportPrefixes: [{ cidr: 'fd5f:1801:abcd::/122', origin: 'block' }],
      }),
    );
    expect(r.text).toContain('protocol bgp Global_fd5f_1801__9 from bgp_template6 {');
    expect(r.text).toContain('      calico_export_to_bgp_peers6(true);');
    expect(modelFromTabby(r.text, 6).staticRoutes).toEqual(['route fd5f:1801:abcd::/122 blackhole;']);
    expect(r.sessions).toEqual([
      { name: 'Global_fd5f_1801__9', peerIP: 'fd5f:1801::9', asNumber: 64512, type: 'global', family: 6 },
    ]);
  });

  it('a node without an IPv4 BGP address renders no IPv4 section, and says why a peer is skipped', () => {
    const r = renderBirdConfig({
      nodeName: 'n',
      desired: buildNodeDesired({
        bgp: bgp({ ipv4Address: undefined, peers: [peer({ name: 'Node_10_0_0_9', peerIP: '10.0.0.9' })] }),
      }),
      viewNodes: nodes,
    });
    expect(r.text).toContain('# IPv4 disabled on this node.');
    expect(r.sessions).toEqual([]);
    expect(r.issues.map((i) => i.message)).toEqual([
      'NodeDataplane n: status.desired.bgp.peers[0].peerIP: this node has no IPv4 BGP address, so peer 10.0.0.9 is skipped',
    ]);
  });

  it.each([
    { name: 'bind to the node IP', b: bgp({ bindMode: 'NodeIP' }), contains: '  local 10.192.0.2 as 64512;' },
    { name: 'debug logging', b: bgp({ logSeverityScreen: 'Debug' }), contains: 'protocol device {\n  debug all;' },
    { name: 'no logging', b: bgp({ logSeverityScreen: 'None' }), contains: 'protocol device {\n  scan time 2;' },
  ])('$name', ({ b, contains }) => {
    const r = render(b);
    expect(r.text).toContain(contains);
    expect(r.issues).toEqual([]);
  });

  it('is deterministic', () => {
    expect(render(bgp()).text).toBe(render(bgp()).text);
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
