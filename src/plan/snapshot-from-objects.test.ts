import { describe, expect, it } from 'vitest';
import { readInputs } from '../api/reader.js';
import { formatIssue } from '../api/errors.js';
import { type InputKindObject, parseASNumber, snapshotFromObjects } from './snapshot-from-objects.js';

function read(yaml: string) {
  const r = readInputs([{ name: 'in.yaml', content: yaml }]);
  expect(r.issues.map((i) => formatIssue(i))).toEqual([]);
  return r.objects.map((o) => o.object as InputKindObject);
}

const dump = `
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Node
  metadata:
    name: node-1
    labels: {kubernetes.io/hostname: node-1, rack: r1}
    annotations:
      projectcalico.org/IPv4Address: 172.17.0.32/16
      projectcalico.org/IPv4IPIPTunnelAddr: 10.244.101.128
      projectcalico.org/IPv4VXLANTunnelAddr: 10.244.101.129
      projectcalico.org/VXLANTunnelMACAddr: 66:AA:99:2F:DC:24
      projectcalico.org/ASNumber: "1.10"
      projectcalico.org/RouteReflectorClusterID: 224.0.0.1
  status:
    addresses: [{type: InternalIP, address: 172.17.0.32}]
- apiVersion: v1
  kind: Node
  metadata: {name: node-2}
  status:
    addresses: [{type: InternalIP, address: 172.17.0.33}, {type: InternalIP, address: "fd00::33"}]
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop}
spec: {nodeName: node-1}
status: {podIP: 10.244.101.130, podIPs: [{ip: 10.244.101.130}, {ip: "fd10::1:82"}]}
---
apiVersion: v1
kind: Pod
metadata: {name: kube-proxy-x, namespace: kube-system}
spec: {nodeName: node-1, hostNetwork: true}
status: {podIP: 172.17.0.32}
---
apiVersion: v1
kind: Pod
metadata: {name: pending, namespace: shop}
spec: {}
---
apiVersion: crd.projectcalico.org/v1
kind: IPPool
metadata: {name: default-ipv4-ippool}
spec:
  cidr: 10.244.0.0/16
  ipipMode: Always
  natOutgoing: true
  blockSize: 26
---
apiVersion: projectcalico.org/v3
kind: IPAMBlock
metadata: {name: 10-244-101-128-26}
spec:
  cidr: 10.244.101.128/26
  affinity: host:node-1
  allocations: [0, 0, 1, 2${', null'.repeat(60)}]
  unallocated: [${Array.from({ length: 60 }, (_, i) => i + 4).join(', ')}]
  attributes:
  - {handle_id: ipip-tunnel-addr-node-1, secondary: {node: node-1, type: ipipTunnelAddress}}
  - {handle_id: k8s-pod-network.abc, secondary: {node: node-1, namespace: shop, pod: web}}
  - {handle_id: k8s-pod-network.def, secondary: {node: node-2, namespace: shop, pod: borrowed}}
---
apiVersion: projectcalico.org/v3
kind: IPAMBlock
metadata: {name: 10-244-9-0-26}
spec: {cidr: 10.244.9.0/26, affinity: host:node-2, allocations: [${Array(64).fill('null').join(', ')}], unallocated: [${Array.from({ length: 64 }, (_, i) => i).join(', ')}], attributes: [], deleted: true}
---
apiVersion: projectcalico.org/v3
kind: BlockAffinity
metadata: {name: node-2-10-244-36-0-26}
spec: {state: confirmed, node: node-2, cidr: 10.244.36.0/26}
---
apiVersion: projectcalico.org/v3
kind: BlockAffinity
metadata: {name: node-2-10-244-37-0-26}
spec: {state: pending, node: node-2, cidr: 10.244.37.0/26}
---
apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata: {name: default}
spec:
  asNumber: 65000
  nodeToNodeMeshEnabled: true
  nodeMeshMaxRestartTime: 2m
  serviceClusterIPs: [{cidr: 10.96.0.0/12}]
---
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata: {name: tor}
spec:
  nodeSelector: rack == 'r1'
  peerIP: 172.17.0.1
  asNumber: 65001
  password: {secretKeyRef: {name: bgp, key: tor}}
  keepaliveTime: 30s
---
apiVersion: projectcalico.org/v3
kind: FelixConfiguration
metadata: {name: node.node-1}
spec: {vxlanPort: 8472}
`;

describe('snapshotFromObjects', () => {
  const { snapshot, issues } = snapshotFromObjects(read(dump));

  it('reads Calico node annotations, falling back to the InternalIP', () => {
    expect(issues).toEqual([]);
    expect(snapshot.nodes).toEqual([
      {
        name: 'node-1',
        labels: { 'kubernetes.io/hostname': 'node-1', rack: 'r1' },
        ipv4: { address: '172.17.0.32', prefixLength: 16, source: 'annotation' },
        ipipTunnelAddress: '10.244.101.128',
        vxlanTunnelAddress: '10.244.101.129',
        vxlanTunnelMac: '66:aa:99:2f:dc:24',
        asNumber: 65546,
        routeReflectorClusterId: '224.0.0.1',
      },
      {
        name: 'node-2',
        labels: {},
        ipv4: { address: '172.17.0.33', prefixLength: 32, source: 'internal-ip' },
        ipv6: { address: 'fd00::33', prefixLength: 128, source: 'internal-ip' },
      },
    ]);
  });

  it('reads pod IPs of scheduled, non-host-network pods', () => {
    expect(snapshot.pods).toEqual([
      { namespace: 'shop', name: 'web', node: 'node-1', ips: ['10.244.101.130', 'fd10::1:82'] },
    ]);
  });

  it('converts pools (Calico v1 dumps included) with defaults', () => {
    expect(snapshot.pools).toEqual([
      {
        name: 'default-ipv4-ippool',
        cidr: '10.244.0.0/16',
        blockSize: 26,
        ipipMode: 'Always',
        vxlanMode: 'Never',
        natOutgoing: true,
        disabled: false,
        disableBGPExport: false,
        nodeSelector: 'all()',
        allowedUses: ['Workload', 'Tunnel'],
      },
    ]);
  });

  it('places blocks by affinity, keeps only foreign allocations, drops deleted blocks, uses confirmed affinities', () => {
    expect(snapshot.blocks).toEqual([
      { cidr: '10.244.101.128/26', affinity: 'node-1', allocations: [{ address: '10.244.101.131', node: 'node-2' }] },
      { cidr: '10.244.36.0/26', affinity: 'node-2', allocations: [] },
    ]);
  });

  it('reads BGP and Felix configuration', () => {
    expect(snapshot.bgpConfigurations).toEqual([
      {
        name: 'default',
        asNumber: 65000,
        nodeToNodeMeshEnabled: true,
        nodeMeshMaxRestartTimeSeconds: 120,
        logSeverityScreen: 'Info',
        serviceClusterIPs: ['10.96.0.0/12'],
        serviceLoadBalancerAggregation: 'Enabled',
      },
    ]);
    expect(snapshot.bgpPeers).toEqual([
      {
        name: 'tor',
        nodeSelector: "rack == 'r1'",
        peerIP: '172.17.0.1',
        asNumber: 65001,
        password: { name: 'bgp', key: 'tor' },
        keepaliveTimeSeconds: 30,
      },
    ]);
    expect(snapshot.felixConfigurations).toEqual([{ name: 'node.node-1', spec: { vxlanPort: 8472 } }]);
  });

  it.each([
    {
      name: 'malformed IPv4Address annotation',
      annotations: { 'projectcalico.org/IPv4Address': '10.0.0.300/24' },
      path: ['metadata', 'annotations', 'projectcalico.org/IPv4Address'],
    },
    {
      name: 'IPv6 text in the IPv4 annotation',
      annotations: { 'projectcalico.org/IPv4Address': 'fd00::1/64' },
      path: ['metadata', 'annotations', 'projectcalico.org/IPv4Address'],
    },
    {
      name: 'bad VTEP MAC',
      annotations: { 'projectcalico.org/IPv4Address': '10.0.0.1/24', 'projectcalico.org/VXLANTunnelMACAddr': 'nope' },
      path: ['metadata', 'annotations', 'projectcalico.org/VXLANTunnelMACAddr'],
    },
    {
      name: 'bad AS number',
      annotations: { 'projectcalico.org/IPv4Address': '10.0.0.1/24', 'projectcalico.org/ASNumber': 'x' },
      path: ['metadata', 'annotations', 'projectcalico.org/ASNumber'],
    },
    {
      name: 'a node without any address (when required)',
      annotations: {},
      path: ['metadata', 'annotations', 'projectcalico.org/IPv4Address'],
    },
  ])('reports $name with object and field, and leaves the node out', ({ annotations, path }) => {
    const node = {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'bad', annotations },
    } as unknown as InputKindObject;
    const r = snapshotFromObjects([node], { requireNodeAddress: true });
    expect(r.snapshot.nodes).toEqual([]);
    expect(r.issues).toHaveLength(1);
    expect(r.issues[0]).toMatchObject({ object: { kind: 'Node', name: 'bad' }, path, index: 0 });
  });

  it.each([
    ['64512', 64512],
    ['1.10', 65546],
    ['4294967295', 4294967295],
    ['4294967296', undefined],
    ['65536.1', undefined],
    ['', undefined],
  ])('AS number %s → %s', (text, want) => {
    expect(parseASNumber(text)).toBe(want);
  });
});
