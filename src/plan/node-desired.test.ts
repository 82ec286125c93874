// Node-particular desired state: tunnel devices, MTU, FelixConfiguration overlay, NAT-outgoing, revision.
import { describe, expect, it } from 'vitest';
import { NodeDesiredSchema } from '../api/node-dataplane.js';
import { REVISION_FIELDS, SHARED_REVISION_FIELDS } from './node-desired.js';
import { planCluster } from './pipeline.js';
import type { ClusterSnapshot, FelixSettings } from './snapshot.js';
import { block, node, pool, snapshot } from './snapshot-builder.js';

function vxlanCluster(felix: { name: string; spec: FelixSettings }[] = []): ClusterSnapshot {
  return snapshot({
    nodes: [
      node('remotehostname', '192.168.0.2/24', { vxlan: '10.0.1.0' }),
      node('localhostname', '192.168.0.1/24', { vxlan: '10.0.0.0', vxlanMac: '66:00:00:00:00:01' }),
    ],
    pools: [pool('p', '10.0.0.0/16', { vxlan: 'Always', natOutgoing: true })],
    blocks: [block('10.0.0.0/26', 'localhostname'), block('10.0.1.0/26', 'remotehostname')],
    felixConfigurations: felix,
  });
}

describe('tunnel devices', () => {
  it('vxlan.calico: VNI 4096, port 4789, Calico computed MAC when the node has none', () => {
    const d = planCluster(vxlanCluster()).nodes.get('remotehostname');
    expect(d?.tunnels).toEqual([
      {
        name: 'vxlan.calico',
        type: 'vxlan',
        family: 4,
        address: '10.0.1.0',
        vni: 4096,
        port: 4789,
        // calico felix/calc/states_for_test.go: remotehostname → 66:3e:ca:a4:db:65
        mac: '66:3e:ca:a4:db:65',
        parentAddress: '192.168.0.2',
      },
    ]);
    expect(d?.removeTunnels).toEqual(['tunl0', 'vxlan-v6.calico']);
  });

  it('a MAC recorded on the node wins; remote nodes learn it through the view records', () => {
    const plan = planCluster(vxlanCluster());
    expect(plan.nodes.get('localhostname')?.tunnels[0]?.mac).toBe('66:00:00:00:00:01');
    expect(plan.materialise('remotehostname')?.vxlanNeighbours).toEqual([
      {
        device: 'vxlan.calico',
        node: 'localhostname',
        ip: '10.0.0.0',
        mac: '66:00:00:00:00:01',
        nodeIP: '192.168.0.1',
      },
    ]);
    expect(plan.materialise('localhostname')?.vxlanNeighbours).toEqual([
      {
        device: 'vxlan.calico',
        node: 'remotehostname',
        ip: '10.0.1.0',
        mac: '66:3e:ca:a4:db:65',
        nodeIP: '192.168.0.2',
      },
    ]);
  });

  it('FelixConfiguration default overlaid by node.<name>, field by field', () => {
    const plan = planCluster(
      vxlanCluster([
        { name: 'default', spec: { vxlanVNI: 4097, vxlanPort: 8472, vxlanMTU: 1400 } },
        { name: 'node.localhostname', spec: { vxlanPort: 4790, ipipMTU: 1300 } },
      ]),
    );
    expect(plan.nodes.get('remotehostname')?.tunnels[0]).toMatchObject({ vni: 4097, port: 8472, mtu: 1400 });
    expect(plan.nodes.get('localhostname')?.tunnels[0]).toMatchObject({ vni: 4097, port: 4790, mtu: 1400 });
    expect(plan.nodes.get('localhostname')?.mtu).toEqual({ ipip: 1300, vxlan: 1400 });
    expect(plan.nodes.get('localhostname')?.felix).toMatchObject({ vxlanVNI: 4097, vxlanPort: 4790 });
  });

  it('ipipEnabled/vxlanEnabled in FelixConfiguration override what the pools imply', () => {
    const plan = planCluster(
      vxlanCluster([{ name: 'node.remotehostname', spec: { vxlanEnabled: false, ipipEnabled: true } }]),
    );
    const d = plan.nodes.get('remotehostname');
    expect(d?.tunnels.map((t) => t.name)).toEqual(['tunl0']);
    expect(d?.removeTunnels).toEqual(['vxlan-v6.calico', 'vxlan.calico']);
    expect(plan.nodes.get('localhostname')?.tunnels.map((t) => t.name)).toEqual(['vxlan.calico']);
  });

  it('IPIP: tunl0 carries the IPIP tunnel address', () => {
    const s = snapshot({
      nodes: [node('a', '10.0.0.11/24', { ipip: '10.244.1.0' })],
      pools: [pool('p', '10.244.0.0/16', { ipip: 'Always' })],
      blocks: [block('10.244.1.0/26', 'a')],
    });
    expect(planCluster(s).nodes.get('a')?.tunnels).toEqual([
      { name: 'tunl0', type: 'ipip', family: 4, address: '10.244.1.0' },
    ]);
  });
});

describe('effective FelixConfiguration', () => {
  it('defaults as Felix has them', () => {
    expect(planCluster(vxlanCluster()).nodes.get('remotehostname')?.felix).toEqual({
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
    });
  });

  it('a moved deviceRouteProtocol is used for cluster routes too; durations are read', () => {
    const plan = planCluster(
      vxlanCluster([
        {
          name: 'default',
          spec: { deviceRouteProtocol: 5, routeRefreshInterval: '1m30s', routeSource: 'WorkloadIPs' },
        },
      ]),
    );
    expect(plan.nodes.get('remotehostname')?.felix).toMatchObject({
      deviceRouteProtocol: 5,
      clusterRouteProtocol: 5,
      routeRefreshIntervalSeconds: 90,
      routeSource: 'WorkloadIPs',
    });
  });
});

describe('natOutgoing', () => {
  it('masquerades from natOutgoing pools to outside every pool (disabled pools included)', () => {
    const s = snapshot({
      nodes: [node('a', '10.0.0.11/24')],
      pools: [
        pool('b', '10.245.0.0/16', { natOutgoing: false, disabled: true }),
        pool('a', '10.244.0.0/16', { natOutgoing: true }),
        pool('v6', 'fd10::/48', { natOutgoing: true }),
      ],
      felixConfigurations: [
        { name: 'default', spec: { natOutgoingAddress: '10.0.0.100', natPortRange: '32768:65535' } },
      ],
    });
    expect(planCluster(s).nodes.get('a')?.natOutgoing).toEqual({
      sourceCidrs: ['10.244.0.0/16', 'fd10::/48'],
      allPoolCidrs: ['10.244.0.0/16', '10.245.0.0/16', 'fd10::/48'],
      outgoingAddress: '10.0.0.100',
      portRange: '32768:65535',
    });
  });
});

describe('revision', () => {
  it('covers every field of NodeDesired', () => {
    const fields = [...REVISION_FIELDS, ...SHARED_REVISION_FIELDS].sort();
    expect(fields).toEqual(
      Object.keys(NodeDesiredSchema.shape)
        .filter((k) => k !== 'revision')
        .sort(),
    );
  });

  it('is a content hash: equal content, equal revision; any change, a new one', () => {
    const a = planCluster(vxlanCluster()).nodes.get('remotehostname');
    const b = planCluster(vxlanCluster()).nodes.get('remotehostname');
    expect(a?.revision).toMatch(/^sha256:[0-9a-f]{32}$/);
    expect(a?.revision).toBe(b?.revision);
    const c = planCluster(vxlanCluster([{ name: 'node.remotehostname', spec: { vxlanMTU: 1400 } }])).nodes.get(
      'remotehostname',
    );
    expect(c?.revision).not.toBe(a?.revision);
  });
});
