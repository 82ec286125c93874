// BGP sessions per node (calico-reference.md §5.3; confd goldens mesh/*, explicit_peering/*, reverse_peering/*).
import { describe, expect, it } from 'vitest';
import type { PlannedBgpPeer } from '../api/node-dataplane.js';
import { planCluster } from './pipeline.js';
import type { SnapshotBGPConfiguration, SnapshotBGPPeer, SnapshotNode } from './snapshot.js';
import { block, node, peer, pool, snapshot } from './snapshot-builder.js';

function sessions(
  nodes: SnapshotNode[],
  peers: SnapshotBGPPeer[] = [],
  bgpConfigurations: SnapshotBGPConfiguration[] = [],
): Record<string, PlannedBgpPeer[]> {
  const plan = planCluster(
    snapshot({ nodes, bgpPeers: peers, bgpConfigurations, pools: [pool('p', '10.244.0.0/16')] }),
  );
  return Object.fromEntries([...plan.nodes.keys()].map((n) => [n, plan.materialise(n)?.bgpPeers ?? []]));
}

function brief(peers: PlannedBgpPeer[]): string[] {
  return peers.map((p) =>
    [
      p.name,
      `as ${p.asNumber}`,
      p.port !== undefined ? `port ${p.port}` : '',
      p.passive ? 'passive' : '',
      p.routeReflectorClient ? 'rr-client' : '',
      p.sourceAddress !== undefined ? `src ${p.sourceAddress}` : '',
    ]
      .filter((x) => x !== '')
      .join(' '),
  );
}

const abc = [node('a', '10.0.0.11/24'), node('b', '10.0.0.12/24'), node('c', '10.0.1.13/24')];

describe('node-to-node mesh', () => {
  it('every node peers with every other; the side with the greater address string is passive', () => {
    const s = sessions(abc);
    expect(brief(s.a ?? [])).toEqual([
      'Mesh_10_0_0_12 as 64512 passive src 10.0.0.11',
      'Mesh_10_0_1_13 as 64512 passive src 10.0.0.11',
    ]);
    expect(brief(s.c ?? [])).toEqual([
      'Mesh_10_0_0_11 as 64512 src 10.0.1.13',
      'Mesh_10_0_0_12 as 64512 src 10.0.1.13',
    ]);
  });

  it('uses the peer node AS, else the BGPConfiguration default AS', () => {
    const s = sessions(
      [node('a', '10.0.0.11/24', { asNumber: 65001 }), node('b', '10.0.0.12/24')],
      [],
      [{ name: 'default', asNumber: 65000 }],
    );
    expect(brief(s.a ?? [])).toEqual(['Mesh_10_0_0_12 as 65000 passive src 10.0.0.11']);
    expect(brief(s.b ?? [])).toEqual(['Mesh_10_0_0_11 as 65001 src 10.0.0.12']);
    const plan = planCluster(
      snapshot({
        nodes: [node('a', '10.0.0.11/24', { asNumber: 65001 })],
        bgpConfigurations: [{ name: 'default', asNumber: 65000 }],
      }),
    );
    expect(plan.nodes.get('a')?.bgp).toMatchObject({ asNumber: 65001, defaultASNumber: 65000, routerID: '10.0.0.11' });
  });

  it('nodeToNodeMeshEnabled: false turns the mesh off; password and restart time go with the mesh', () => {
    expect(sessions(abc, [], [{ name: 'default', nodeToNodeMeshEnabled: false }]).a).toEqual([]);
    const s = sessions(
      abc,
      [],
      [{ name: 'default', nodeMeshPassword: { name: 'bgp', key: 'mesh' }, nodeMeshMaxRestartTimeSeconds: 300 }],
    );
    expect(s.a?.[0]).toMatchObject({
      passwordSecretRef: { name: 'bgp', key: 'mesh' },
      maxRestartTimeSeconds: 300,
      type: 'mesh',
    });
  });

  it('a node-specific listen port is used by the peers that connect to it', () => {
    const s = sessions(abc, [], [{ name: 'node.b', listenPort: 1790 }]);
    expect(brief(s.a ?? [])).toEqual([
      'Mesh_10_0_0_12 as 64512 port 1790 passive src 10.0.0.11',
      'Mesh_10_0_1_13 as 64512 passive src 10.0.0.11',
    ]);
    const plan = planCluster(snapshot({ nodes: abc, bgpConfigurations: [{ name: 'node.b', listenPort: 1790 }] }));
    expect(plan.nodes.get('b')?.bgp?.listenPort).toBe(1790);
    expect(plan.nodes.get('a')?.bgp?.listenPort).toBeUndefined();
  });
});

describe('route reflectors (confd explicit_peering/route_reflector)', () => {
  const nodes = [
    node('rr1', '10.0.0.1/24', { rr: '224.0.0.1', labels: { 'route-reflector': 'true' } }),
    node('rr2', '10.0.0.2/24', { rr: '224.0.0.1', labels: { 'route-reflector': 'true' } }),
    node('a', '10.0.0.11/24'),
    node('b', '10.0.0.12/24'),
  ];
  const peers = [
    peer('peer-with-route-reflectors', { nodeSelector: 'all()', peerSelector: 'route-reflector == "true"' }),
  ];
  const s = sessions(nodes, peers);

  it('clients keep the mesh among themselves and peer with every reflector', () => {
    expect(brief(s.a ?? [])).toEqual([
      'Mesh_10_0_0_12 as 64512 passive src 10.0.0.11',
      'Node_10_0_0_1 as 64512 src 10.0.0.11',
      'Node_10_0_0_2 as 64512 src 10.0.0.11',
    ]);
  });

  it('a reflector skips the mesh, marks clients rr-client and peers with the other reflector as a non-client', () => {
    expect(brief(s.rr1 ?? [])).toEqual([
      'Node_10_0_0_11 as 64512 rr-client src 10.0.0.1',
      'Node_10_0_0_12 as 64512 rr-client src 10.0.0.1',
      'Node_10_0_0_2 as 64512 src 10.0.0.1',
    ]);
    const plan = planCluster(snapshot({ nodes, bgpPeers: peers }));
    expect(plan.nodes.get('rr1')?.bgp).toMatchObject({ nodeToNodeMesh: false, routeReflectorClusterID: '224.0.0.1' });
    // View records carry the cluster id so agents leave reflectors out of the mesh.
    const records = [...plan.routeTables.values()].flatMap((t) => t.nodes ?? []);
    expect(records.find((r) => r.name === 'rr1')?.routeReflectorClusterID).toBe('224.0.0.1');
  });

  it('reverse peerings are not made when the BGPPeer says Manual', () => {
    const manual = sessions(nodes, [
      peer('clients-to-rrs', {
        nodeSelector: '!has(route-reflector)',
        peerSelector: 'has(route-reflector)',
        reversePeering: 'Manual',
      }),
    ]);
    expect(brief(manual.a ?? []).filter((x) => x.startsWith('Node_'))).toHaveLength(2);
    expect(manual.rr1).toEqual([]);
  });
});

describe('explicit BGPPeers', () => {
  it('node-specific peer (node: a) with password, AS and keepalive', () => {
    const s = sessions(abc, [
      peer('tor-a', {
        node: 'a',
        peerIP: '192.168.1.1',
        asNumber: 65010,
        password: { name: 'bgp-secrets', key: 'tor' },
        keepaliveTimeSeconds: 10,
        maxRestartTimeSeconds: 120,
      }),
    ]);
    expect(s.a?.find((p) => p.type === 'node')).toEqual({
      name: 'Node_192_168_1_1',
      peerIP: '192.168.1.1',
      asNumber: 65010,
      type: 'node',
      source: 'tor-a',
      passwordSecretRef: { name: 'bgp-secrets', key: 'tor' },
      sourceAddress: '10.0.0.11',
      maxRestartTimeSeconds: 120,
      keepaliveTimeSeconds: 10,
    });
    expect(s.b?.some((p) => p.type === 'node')).toBe(false);
  });

  it('nodeSelector picks the nodes; a port in peerIP names the session', () => {
    const s = sessions(
      [node('a', '10.0.0.11/24', { labels: { rack: 'r1' } }), node('b', '10.0.0.12/24', { labels: { rack: 'r2' } })],
      [
        peer('tor-r1', {
          nodeSelector: 'rack == "r1"',
          peerIP: '10.0.0.254:1179',
          asNumber: 65020,
          sourceAddress: 'None',
        }),
      ],
    );
    expect(brief((s.a ?? []).filter((p) => p.type === 'node'))).toEqual([
      'Node_10_0_0_254_port_1179 as 65020 port 1179',
    ]);
    expect((s.b ?? []).filter((p) => p.type === 'node')).toEqual([]);
  });

  it('global peers apply to every node; a node-specific duplicate of a global peering is dropped', () => {
    const s = sessions(abc, [
      peer('global-tor', { peerIP: '10.0.0.254', asNumber: 65030 }),
      peer('z-dup', { node: 'a', peerIP: '10.0.0.254', asNumber: 65031 }),
    ]);
    for (const n of ['a', 'b', 'c']) {
      expect(brief((s[n] ?? []).filter((p) => p.type !== 'mesh')).map((x) => x.split(' src')[0])).toEqual([
        'Global_10_0_0_254 as 65030',
      ]);
    }
  });

  it('a global peer at a Calico node address: passive on the lower side, reverse sessions on that node', () => {
    const s = sessions(
      abc,
      [peer('to-b', { peerIP: '10.0.0.12', asNumber: 64512 })],
      [{ name: 'default', nodeToNodeMeshEnabled: false }],
    );
    expect(brief(s.a ?? [])).toEqual(['Global_10_0_0_12 as 64512 passive src 10.0.0.11']);
    expect(brief(s.c ?? [])).toEqual(['Global_10_0_0_12 as 64512 src 10.0.1.13']);
    expect(brief(s.b ?? [])).toEqual([
      'Node_10_0_0_11 as 64512 src 10.0.0.12',
      'Node_10_0_1_13 as 64512 src 10.0.0.12',
    ]);
  });

  it('next hop: nextHopMode wins; keepOriginalNextHop only for eBGP', () => {
    const s = sessions(abc, [
      peer('ibgp-keep', { node: 'a', peerIP: '192.168.1.1', asNumber: 64512, keepOriginalNextHop: true }),
      peer('ebgp-keep', { node: 'a', peerIP: '192.168.1.2', asNumber: 65001, keepOriginalNextHop: true }),
      peer('self', { node: 'a', peerIP: '192.168.1.3', asNumber: 65001, nextHopMode: 'Self', ttlSecurity: 2 }),
    ]);
    const byName = Object.fromEntries((s.a ?? []).map((p) => [p.name, p]));
    expect(byName.Node_192_168_1_1?.nextHopMode).toBeUndefined();
    expect(byName.Node_192_168_1_2?.nextHopMode).toBe('Keep');
    expect(byName.Node_192_168_1_3).toMatchObject({ nextHopMode: 'Self', ttlSecurity: 2 });
  });

  it('IPv6 peers only on nodes with an IPv6 BGP address', () => {
    const s = sessions(
      [node('a', '10.0.0.11/24', { ipv6: 'fd00::11/64' }), node('b', '10.0.0.12/24')],
      [peer('v6-tor', { peerIP: 'fd00::fe', asNumber: 65040 })],
      [{ name: 'default', nodeToNodeMeshEnabled: false }],
    );
    expect(brief(s.a ?? [])).toEqual(['Global_fd00__fe as 65040 src fd00::11']);
    expect(s.b).toEqual([]);
  });
});

describe('exported prefixes', () => {
  it('own blocks and service ranges; communities by prefix; disableBGPExport pools are held back', () => {
    const plan = planCluster(
      snapshot({
        nodes: [node('a', '10.0.0.11/24')],
        pools: [pool('p', '10.244.0.0/16'), pool('quiet', '10.245.0.0/16', { disableBGPExport: true })],
        blocks: [block('10.244.1.0/26', 'a'), block('10.245.1.0/26', 'a')],
        bgpConfigurations: [
          {
            name: 'default',
            serviceClusterIPs: ['10.96.0.0/12'],
            communities: [{ name: 'pods', value: '65000:100' }],
            prefixAdvertisements: [{ cidr: '10.244.0.0/16', communities: ['pods', '65000:200'] }],
          },
        ],
      }),
    );
    const bgp = plan.nodes.get('a')?.bgp;
    expect(bgp?.exportPrefixes).toEqual([
      { cidr: '10.96.0.0/12', origin: 'serviceClusterIP' },
      { cidr: '10.244.1.0/26', origin: 'block' },
    ]);
    // confd apply_communities: one rule per prefixAdvertisement, names resolved, values sorted as text.
    expect(bgp?.communities).toEqual([{ cidr: '10.244.0.0/16', communities: ['65000:100', '65000:200'] }]);
    expect(bgp?.rejectPrefixes).toEqual(['10.245.0.0/16']);
    expect(bgp?.serviceRejectPrefixes).toEqual(['10.96.0.0/12']);
  });
});
