import { describe, expect, it } from 'vitest';
import { formatIssue } from './errors.js';
import { NodeDataplaneKind, type NodeDataplane } from './node-dataplane.js';
import { RouteTableKind, type RouteTable } from './route-table.js';
import { parseAs, validateAs } from './validate.js';

const desired = {
  revision: 'sha256:4b1f',
  view: '192.168.0.0-24',
  nodeAddress: { ipv4: '192.168.0.11/24' },
  blocks: [{ cidr: '10.244.1.0/26', pool: 'default-ipv4-ippool' }],
  borrowed: [{ cidr: '10.244.2.7/32', block: '10.244.2.0/26', blockNode: 'node-2', pool: 'default-ipv4-ippool' }],
  tunnels: [
    {
      name: 'vxlan.calico',
      type: 'vxlan',
      family: 4,
      address: '10.244.1.0',
      vni: 4096,
      port: 4789,
      mac: '66:3e:ca:a4:db:65',
    },
  ],
  removeTunnels: ['tunl0'],
  mtu: { ifacePattern: '^(en|eth).*' },
  natOutgoing: { sourceCidrs: ['10.244.0.0/16'], allPoolCidrs: ['10.244.0.0/16'] },
  bgp: {
    asNumber: 64512,
    routerID: '192.168.0.11',
    nodeToNodeMesh: true,
    peers: [
      {
        name: 'Global_192_20_30_40',
        peerIP: '192.20.30.40',
        asNumber: 64567,
        type: 'global',
        passwordSecretRef: { name: 'bgp-secrets', key: 'rr-password' },
        sourceAddress: '192.168.0.11',
      },
    ],
    exportPrefixes: [{ cidr: '10.244.1.0/26', origin: 'block' }],
  },
  felix: {
    ipipEnabled: false,
    vxlanEnabled: true,
    vxlanEnabledV6: false,
    vxlanPort: 4789,
    vxlanVNI: 4096,
    deviceRouteProtocol: 3,
    clusterRouteProtocol: 80,
    removeExternalRoutes: true,
    routeRefreshIntervalSeconds: 90,
    routeSource: 'CalicoIPAM',
    ipForwarding: 'Enabled',
  },
};

describe('NodeDataplane', () => {
  it('carries desired, applied and conditions in status', () => {
    const ndp: NodeDataplane = parseAs(NodeDataplaneKind, {
      apiVersion: 'dataplane.tabby.dev/v1alpha1',
      kind: 'NodeDataplane',
      metadata: { name: 'node-1' },
      spec: { nodeName: 'node-1' },
      status: {
        desired,
        applied: {
          revision: 'sha256:4b1f',
          viewRevisions: [{ view: '192.168.0.0-24', revision: 'sha256:aa', shards: 1 }],
          time: '2026-01-01T00:00:00Z',
          counts: { routes: 12, blackholes: 1 },
        },
        conditions: [
          {
            type: 'Programmed',
            status: 'True',
            observedGeneration: 1,
            lastTransitionTime: '2026-01-01T00:00:00Z',
            reason: 'Applied',
            message: '',
          },
        ],
      },
    });
    expect(ndp.status?.desired?.bgp?.peers[0]?.type).toBe('global');
  });

  it.each([
    ['tunnel name', { tunnels: [{ ...desired.tunnels[0], name: 'vxlan0' }] }, 'status.desired.tunnels[0].name'],
    [
      'peer type',
      { bgp: { ...desired.bgp, peers: [{ ...desired.bgp.peers[0], type: 'ibgp' }] } },
      'status.desired.bgp.peers[0].type',
    ],
    ['missing revision', { revision: undefined }, 'status.desired.revision'],
  ] as const)('refuses a bad %s', (_name, patch, path) => {
    const r = validateAs(NodeDataplaneKind, {
      apiVersion: 'dataplane.tabby.dev/v1alpha1',
      kind: 'NodeDataplane',
      metadata: { name: 'node-1' },
      spec: { nodeName: 'node-1' },
      status: { desired: { ...desired, ...patch } },
    });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.issues.map(formatIssue).join('\n')).toContain(`NodeDataplane node-1: ${path}: `);
  });
});

describe('RouteTable', () => {
  it('holds a shard of one view', () => {
    const rt: RouteTable = parseAs(RouteTableKind, {
      apiVersion: 'dataplane.tabby.dev/v1alpha1',
      kind: 'RouteTable',
      metadata: { name: 'cluster-0', labels: { 'dataplane.tabby.dev/view': 'cluster' } },
      status: {
        view: 'cluster',
        shard: 0,
        revision: 'sha256:aa',
        entries: [
          {
            cidr: '10.244.2.0/26',
            node: 'node-2',
            nodeIP: '192.168.0.12',
            kind: 'vxlan',
            via: '10.244.2.0',
            device: 'vxlan.calico',
            vtepIP: '10.244.2.0',
            vtepMAC: '66:40:18:59:1f:16',
            pool: 'default-ipv4-ippool',
          },
          {
            cidr: '10.244.3.0/26',
            node: 'node-3',
            nodeIP: '192.168.0.13',
            kind: 'direct',
            via: '192.168.0.13',
            pool: 'p',
          },
        ],
        nodes: [{ name: 'node-2', ipv4: '192.168.0.12' }],
      },
    });
    expect(rt.status?.entries.map((e) => e.kind)).toEqual(['vxlan', 'direct']);
  });
});
