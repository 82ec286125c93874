// The validation matrix shared by the unit tests (src/api/validate.test.ts, through our zod schemas) and the
// integration test (e2e/integration/api-crds.test.ts, through `kubectl apply` against the generated CRDs): every
// valid object must pass both, every invalid one must be refused by both with the field named. Cases marked
// `clientOnly` need something the CRD cannot express (a selector parser, other fields' families, list lengths
// derived from a CIDR); the operator reports those from the same zod check.
//
// Sources: Calico's documented examples (docs.tigera.io IPPool / BGPConfiguration / BGPPeer / FelixConfiguration
// reference pages), the tutorial pools of calico-user-view.md §2.2, and the accept/reject rules of
// `calico: libcalico-go/lib/validator/v3/validator_test.go` re-expressed as objects.

type Obj = Record<string, unknown>;

export interface ValidCase {
  name: string;
  object: Obj;
  /** Where the example comes from. */
  source: string;
}

export interface InvalidCase {
  name: string;
  object: Obj;
  /** The field our validation names, as formatPath renders it. */
  path: string;
  /** What the apiserver's message must contain; defaults to `path`. */
  serverField?: string;
  /** Why only our validation (not the CRD) refuses it. */
  clientOnly?: string;
}

const V3 = 'projectcalico.org/v3';
const TABBY = 'dataplane.tabby.dev/v1alpha1';

function make(kind: string, name: string, spec: Obj | undefined, apiVersion = V3): Obj {
  const o: Obj = { apiVersion, kind, metadata: { name } };
  if (spec !== undefined) o.spec = spec;
  return o;
}
const pool = (name: string, spec: Obj) => make('IPPool', name, spec);
const bgpConfig = (name: string, spec: Obj) => make('BGPConfiguration', name, spec);
const peer = (name: string, spec: Obj) => make('BGPPeer', name, spec);
const filter = (name: string, spec: Obj) => make('BGPFilter', name, spec);
const felix = (name: string, spec: Obj) => make('FelixConfiguration', name, spec);

function block30(extra: Obj = {}): Obj {
  return {
    cidr: '10.244.1.0/30',
    affinity: 'host:node-1',
    allocations: [0, null, 1, null],
    unallocated: [1, 3],
    attributes: [
      { handle_id: 'ipip-tunnel-addr-node-1', secondary: { node: 'node-1', type: 'ipipTunnelAddress' } },
      { handle_id: 'k8s-pod-network.abc', secondary: { namespace: 'default', node: 'node-1', pod: 'web-1' } },
    ],
    sequenceNumber: 1700000000000,
    strictAffinity: false,
    ...extra,
  };
}

export const VALID: ValidCase[] = [
  // Tutorial pools (calico-user-view.md §2.2), with Calico's real allowedUses spelling.
  {
    name: 'tutorial P-IPIP-26 default pool',
    source: 'calico-user-view.md §2.2 P-IPIP-26',
    object: pool('default-ipv4-ippool', {
      allowedUses: ['Workload', 'Tunnel'],
      blockSize: 26,
      cidr: '10.244.0.0/16',
      ipipMode: 'Always',
      natOutgoing: true,
      nodeSelector: 'all()',
      vxlanMode: 'Never',
    }),
  },
  {
    name: 'tutorial P-IPIP-24-v3',
    source: 'calico-user-view.md §2.2 P-IPIP-24-v3',
    object: pool('tutorial-ipip-24', {
      blockSize: 24,
      cidr: '10.244.0.0/16',
      ipipMode: 'Always',
      natOutgoing: true,
      nodeSelector: 'all()',
      vxlanMode: 'Never',
    }),
  },
  {
    name: 'tutorial P-XSUB-IPIP',
    source: 'calico-user-view.md §2.2 P-XSUB-IPIP',
    object: pool('tutorial-xsub-ipip', {
      blockSize: 24,
      cidr: '192.168.0.0/16',
      ipipMode: 'CrossSubnet',
      natOutgoing: true,
      nodeSelector: 'all()',
      vxlanMode: 'Never',
    }),
  },
  {
    name: 'tutorial P-BGP-24',
    source: 'calico-user-view.md §2.2 P-BGP-24',
    object: pool('tutorial-bgp-24', {
      blockSize: 24,
      cidr: '10.244.0.0/16',
      ipipMode: 'Never',
      natOutgoing: true,
      nodeSelector: 'all()',
      vxlanMode: 'Never',
    }),
  },
  {
    name: 'tutorial P-VXLAN-24',
    source: 'calico-user-view.md §2.2 P-VXLAN-24',
    object: pool('tutorial-vxlan-24', {
      blockSize: 24,
      cidr: '192.168.0.0/16',
      ipipMode: 'Never',
      natOutgoing: true,
      nodeSelector: 'all()',
      vxlanMode: 'Always',
    }),
  },
  {
    name: 'tutorial P-XSUB-VXLAN-26 v3 file',
    source: 'calico-user-view.md §2.2 reconstructed v3 file',
    object: pool('tutorial-xsub-vxlan-26', {
      blockSize: 26,
      cidr: '10.244.0.0/16',
      ipipMode: 'Never',
      natOutgoing: true,
      nodeSelector: 'all()',
      vxlanMode: 'CrossSubnet',
    }),
  },
  {
    name: 'pool with only a cidr',
    source: 'Calico defaults everything else',
    object: pool('minimal', { cidr: '10.10.0.0/16' }),
  },
  {
    name: 'Calico docs IPPool example',
    source: 'Calico IPPool reference, sample YAML',
    object: pool('my.ippool-1', {
      cidr: '10.1.0.0/16',
      ipipMode: 'CrossSubnet',
      natOutgoing: true,
      disabled: false,
      nodeSelector: 'all()',
      allowedUses: ['Workload', 'Tunnel'],
    }),
  },
  {
    name: 'IPv6 pool with VXLAN',
    source: 'Calico validator: VXLAN allowed on IPv6',
    object: pool('v6-vxlan', { cidr: 'fd00:10:244::/64', vxlanMode: 'Always', blockSize: 122 }),
  },
  {
    name: 'IPv6 pool default block size',
    source: 'Calico IPv6 default pool',
    object: pool('default-ipv6-ippool', { cidr: 'fd5f:1234::/48', natOutgoing: false }),
  },
  {
    name: 'LoadBalancer pool',
    source: 'Calico LoadBalancer IPAM docs',
    object: pool('loadbalancer-ip-pool', {
      cidr: '192.210.0.0/20',
      blockSize: 24,
      natOutgoing: true,
      disabled: false,
      assignmentMode: 'Automatic',
      allowedUses: ['LoadBalancer'],
    }),
  },
  {
    name: 'disabled /27 pool smaller than a block',
    source: 'Calico validator_test: disabled pool may be smaller than its block',
    object: pool('disabled-small', { cidr: '10.99.0.0/27', disabled: true }),
  },
  {
    name: 'disabled /128 IPv6 pool',
    source: 'Calico validator_test: disabled /128',
    object: pool('disabled-v6-host', { cidr: 'fd00:99::1/128', disabled: true }),
  },
  {
    name: 'pool with selectors and manual assignment',
    source: 'Calico IPPool reference (nodeSelector, namespaceSelector, assignmentMode)',
    object: pool('rack-a', {
      cidr: '10.20.0.0/20',
      blockSize: 28,
      nodeSelector: 'rack == "a" && !has(edge)',
      namespaceSelector: "team in {'blue', 'green'}",
      allowedUses: ['Workload'],
      assignmentMode: 'Manual',
      disableBGPExport: true,
    }),
  },
  {
    name: 'tunnel-only pool',
    source: 'Calico allowedUses Tunnel',
    object: pool('tunnel-only', { cidr: '10.30.0.0/24', blockSize: 32, allowedUses: ['Tunnel'] }),
  },
  {
    name: 'pool with an unknown future field',
    source: 'unknown Calico fields are kept',
    object: pool('future-field', { cidr: '10.31.0.0/24', someFutureField: { enabled: true } }),
  },
  {
    name: 'Calico docs BGPConfiguration default',
    source: 'Calico BGPConfiguration reference, sample YAML',
    object: bgpConfig('default', {
      logSeverityScreen: 'Info',
      nodeToNodeMeshEnabled: true,
      nodeMeshMaxRestartTime: '120s',
      asNumber: 63400,
      serviceClusterIPs: [{ cidr: '10.96.0.0/12' }],
      serviceExternalIPs: [{ cidr: '104.244.42.129/32' }, { cidr: '172.217.3.0/24' }],
      listenPort: 178,
      bindMode: 'NodeIP',
      communities: [{ name: 'bgp-large-community', value: '63400:300:100' }],
      prefixAdvertisements: [{ cidr: '172.218.4.0/26', communities: ['bgp-large-community', '63400:120'] }],
    }),
  },
  {
    name: 'BGPConfiguration mesh off (route reflectors)',
    source: 'Calico route reflector docs',
    object: bgpConfig('mesh-off', { nodeToNodeMeshEnabled: false, asNumber: 64512 }),
  },
  {
    name: 'BGPConfiguration per-node override',
    source: 'Calico per-node BGPConfiguration (node.<name>)',
    object: bgpConfig('node.node-1', { listenPort: 1790, logSeverityScreen: 'debug' }),
  },
  {
    name: 'BGPConfiguration with no spec',
    source: 'Calico accepts an empty configuration',
    object: make('BGPConfiguration', 'empty', undefined),
  },
  {
    name: 'BGPFilter docs example',
    source: 'Calico BGPFilter docs (reference/resources/bgpfilter)',
    object: filter('my-filter', {
      exportV4: [
        { action: 'Accept', matchOperator: 'In', cidr: '77.0.0.0/16' },
        { action: 'Reject', interface: '*.calico', source: 'RemotePeers' },
      ],
      importV4: [{ action: 'Reject', matchOperator: 'NotIn', cidr: '44.0.0.0/16' }],
      exportV6: [{ action: 'Accept', matchOperator: 'Equal', cidr: '9000::/64', prefixLength: { min: 64, max: 96 } }],
      importV6: [
        {
          action: 'Accept',
          peerType: 'eBGP',
          communities: { values: ['65000:100'] },
          asPathPrefix: [65000, 65001],
          operations: [{ addCommunity: { value: '65000:1:2' } }, { prependASPath: { prefix: [65000] } }],
        },
      ],
    }),
  },
  {
    name: 'BGPPeer naming a BGPFilter',
    source: 'Calico BGPFilter docs',
    object: peer('tor-with-filter', { peerIP: '192.20.30.40', asNumber: 64567, filters: ['my-filter'] }),
  },
  {
    name: 'global BGP peer',
    source: 'Calico BGPPeer docs: global peer',
    object: peer('my-global-peer', { peerIP: '192.20.30.40', asNumber: 64567 }),
  },
  {
    name: 'node-specific BGP peer',
    source: 'Calico BGPPeer docs: node-specific peer',
    object: peer('rack1-tor', { node: 'rack1-host1', peerIP: '192.20.30.40', asNumber: 64567 }),
  },
  {
    name: 'route reflector peering by selectors',
    source: 'Calico route reflector docs',
    object: peer('peer-with-route-reflectors', { nodeSelector: 'all()', peerSelector: "route-reflector == 'true'" }),
  },
  {
    name: 'BGP peer with port',
    source: 'Calico validator_test: IPv4:port',
    object: peer('peer-v4-port', { peerIP: '192.20.30.40:1790', asNumber: 64567 }),
  },
  {
    name: 'BGP peer IPv6 with port',
    source: 'Calico validator_test: [IPv6]:port',
    object: peer('peer-v6-port', { peerIP: '[2001:db8::1]:179', asNumber: 4200000000, localASNumber: 65001 }),
  },
  {
    name: 'BGP peer with password and options',
    source: 'Calico BGP password docs',
    object: peer('peer-password', {
      peerIP: '10.0.0.99',
      asNumber: 64512,
      password: { secretKeyRef: { name: 'bgp-secrets', key: 'rr-password' } },
      sourceAddress: 'None',
      maxRestartTime: '15s',
      keepaliveTime: '1m30s',
      ttlSecurity: 1,
      keepOriginalNextHop: true,
      numAllowedLocalASNumbers: 2,
      reachableBy: '10.0.0.1',
      reversePeering: 'Manual',
    }),
  },
  {
    name: 'BGP peer with nextHopMode',
    source: 'Calico BGPPeer nextHopMode',
    object: peer('peer-nexthop', { peerIP: 'fd00::10', asNumber: 65000, nextHopMode: 'Self' }),
  },
  {
    name: 'FelixConfiguration default as calico-node writes it',
    source: 'calico-node startup default FelixConfiguration',
    object: felix('default', {
      bpfLogLevel: '',
      floatingIPs: 'Disabled',
      logSeverityScreen: 'Info',
      reportingInterval: '0s',
      vxlanEnabled: true,
      vxlanVNI: 4096,
      vxlanPort: 4789,
      ipipEnabled: false,
      ipipMTU: 1440,
      vxlanMTU: 1410,
      mtuIfacePattern: '^(en|eth).*',
      natPortRange: '32768:65535',
      routeRefreshInterval: '90s',
      routeSource: 'CalicoIPAM',
    }),
  },
  {
    name: 'FelixConfiguration per-node with routing fields',
    source: 'Calico FelixConfiguration reference',
    object: felix('node.node-1', {
      routeTableRanges: [{ min: 1, max: 100 }],
      deviceRouteSourceAddress: '10.0.0.11',
      deviceRouteProtocol: 80,
      removeExternalRoutes: false,
      ipv4NormalRoutePriority: 1024,
      natOutgoingAddress: '10.0.0.11',
      ipForwarding: 'Enabled',
      externalNodesList: ['10.1.0.0/16', '10.2.0.5'],
      programClusterRoutes: 'Enabled',
      natPortRange: 32768,
    }),
  },
  {
    name: 'IPAMBlock as Calico stores it',
    source: 'calico: libcalico-go/lib/backend/model/block.go shape',
    object: make('IPAMBlock', '10-244-1-0-30', block30()),
  },
  {
    name: 'BlockAffinity confirmed',
    source: 'calico: api/pkg/apis/projectcalico/v3/blockaffinity.go',
    object: make('BlockAffinity', 'node-1-10-244-1-0-26', {
      state: 'confirmed',
      node: 'node-1',
      type: 'host',
      cidr: '10.244.1.0/26',
      deleted: false,
    }),
  },
  {
    name: 'IPAMHandle',
    source: 'calico: api/pkg/apis/projectcalico/v3/ipamhandles.go',
    object: make('IPAMHandle', 'k8s-pod-network.abc', {
      handleID: 'k8s-pod-network.abc',
      block: { '10.244.1.0/26': 1 },
    }),
  },
  {
    name: 'IPAMConfiguration default',
    source: 'Calico IPAMConfiguration reference',
    object: make('IPAMConfiguration', 'default', { strictAffinity: true, maxBlocksPerHost: 4, autoAllocateBlocks: true }),
  },
  {
    name: 'NodeDataplane with desired state',
    source: 'ARCHITECTURE.md NodeDataplane contract',
    object: make(
      'NodeDataplane',
      'node-1',
      { nodeName: 'node-1' },
      TABBY,
    ),
  },
  {
    name: 'RouteTable shard',
    source: 'ARCHITECTURE.md NodeDataplane contract',
    object: {
      apiVersion: TABBY,
      kind: 'RouteTable',
      metadata: { name: 'cluster-0', labels: { 'dataplane.tabby.dev/view': 'cluster', 'dataplane.tabby.dev/shard': '0' } },
      spec: {},
    },
  },
];

export const INVALID: InvalidCase[] = [
  // IPPool: CIDR
  { name: 'pool cidr with host bits', object: pool('bad-cidr-hostbits', { cidr: '10.0.0.1/24' }), path: 'spec.cidr' },
  { name: 'pool cidr /33', object: pool('bad-cidr-33', { cidr: '10.0.0.0/33' }), path: 'spec.cidr' },
  { name: 'pool cidr garbage', object: pool('bad-cidr-text', { cidr: 'not-a-cidr' }), path: 'spec.cidr' },
  { name: 'pool cidr /129', object: pool('bad-cidr-129', { cidr: 'fd00::/129' }), path: 'spec.cidr' },
  { name: 'pool cidr missing', object: pool('bad-cidr-missing', { natOutgoing: true }), path: 'spec.cidr' },
  { name: 'pool cidr bare IP', object: pool('bad-cidr-bare', { cidr: '10.0.0.0' }), path: 'spec.cidr' },
  // IPPool: modes
  { name: 'ipipMode lower case', object: pool('bad-ipip-case', { cidr: '10.0.0.0/16', ipipMode: 'never' }), path: 'spec.ipipMode' },
  {
    name: 'vxlanMode lower case',
    object: pool('bad-vxlan-case', { cidr: '10.0.0.0/16', vxlanMode: 'always' }),
    path: 'spec.vxlanMode',
  },
  {
    name: 'ipipMode tutorial spelling Cross-Subnet',
    object: pool('bad-ipip-dash', { cidr: '10.0.0.0/16', ipipMode: 'Cross-Subnet' }),
    path: 'spec.ipipMode',
  },
  {
    name: 'IPIP and VXLAN both Always',
    object: pool('bad-both-always', { cidr: '10.0.0.0/16', ipipMode: 'Always', vxlanMode: 'Always' }),
    path: 'spec.vxlanMode',
  },
  {
    name: 'IPIP CrossSubnet and VXLAN Always',
    object: pool('bad-both-mixed', { cidr: '10.0.0.0/16', ipipMode: 'CrossSubnet', vxlanMode: 'Always' }),
    path: 'spec.vxlanMode',
  },
  {
    name: 'IPIP on an IPv6 pool',
    object: pool('bad-ipip-v6', { cidr: 'fd00::/64', ipipMode: 'Always' }),
    path: 'spec.ipipMode',
  },
  // IPPool: block size
  { name: 'v4 blockSize 33', object: pool('bad-bs-33', { cidr: '10.0.0.0/16', blockSize: 33 }), path: 'spec.blockSize' },
  { name: 'v4 blockSize 19', object: pool('bad-bs-19', { cidr: '10.0.0.0/16', blockSize: 19 }), path: 'spec.blockSize' },
  { name: 'v6 blockSize 115', object: pool('bad-bs-115', { cidr: 'fd00::/64', blockSize: 115 }), path: 'spec.blockSize' },
  { name: 'blockSize 129', object: pool('bad-bs-129', { cidr: 'fd00::/64', blockSize: 129 }), path: 'spec.blockSize' },
  { name: 'blockSize text', object: pool('bad-bs-text', { cidr: '10.0.0.0/16', blockSize: '26' }), path: 'spec.blockSize' },
  {
    name: 'pool /27 smaller than the default /26 block',
    object: pool('bad-small-pool', { cidr: '10.0.0.0/27' }),
    path: 'spec.blockSize',
  },
  {
    name: 'pool /24 with blockSize 20',
    object: pool('bad-block-larger', { cidr: '10.0.0.0/24', blockSize: 20 }),
    path: 'spec.blockSize',
  },
  {
    name: 'IPv6 /124 pool with default /122 block',
    object: pool('bad-small-v6', { cidr: 'fd00::/124' }),
    path: 'spec.blockSize',
  },
  // IPPool: link-local
  { name: 'pool is link-local', object: pool('bad-linklocal', { cidr: '169.254.0.0/16' }), path: 'spec.cidr' },
  { name: 'pool contains link-local', object: pool('bad-linklocal-super', { cidr: '169.0.0.0/8' }), path: 'spec.cidr' },
  { name: 'pool inside link-local', object: pool('bad-linklocal-sub', { cidr: '169.254.10.0/24' }), path: 'spec.cidr' },
  { name: 'IPv6 link-local pool', object: pool('bad-linklocal-v6', { cidr: 'fe80::/64' }), path: 'spec.cidr' },
  // IPPool: allowed uses
  {
    name: 'allowedUses lower case (tutorial OCR spelling)',
    object: pool('bad-use-case', { cidr: '10.0.0.0/16', allowedUses: ['workload', 'Tunnel'] }),
    path: 'spec.allowedUses[0]',
  },
  {
    name: 'LoadBalancer with Workload',
    object: pool('bad-lb-workload', { cidr: '10.0.0.0/16', allowedUses: ['LoadBalancer', 'Workload'] }),
    path: 'spec.allowedUses',
  },
  {
    name: 'LoadBalancer with IPIP',
    object: pool('bad-lb-ipip', { cidr: '10.0.0.0/16', allowedUses: ['LoadBalancer'], ipipMode: 'Always' }),
    path: 'spec.allowedUses',
  },
  {
    name: 'LoadBalancer with disableBGPExport',
    object: pool('bad-lb-export', { cidr: '10.0.0.0/16', allowedUses: ['LoadBalancer'], disableBGPExport: true }),
    path: 'spec.disableBGPExport',
  },
  {
    name: 'LoadBalancer with a node selector',
    object: pool('bad-lb-selector', { cidr: '10.0.0.0/16', allowedUses: ['LoadBalancer'], nodeSelector: "rack == 'a'" }),
    path: 'spec.nodeSelector',
  },
  {
    name: 'Tunnel use with namespaceSelector',
    object: pool('bad-tunnel-ns', { cidr: '10.0.0.0/16', allowedUses: ['Tunnel'], namespaceSelector: 'all()' }),
    path: 'spec.namespaceSelector',
  },
  {
    name: 'too many allowedUses',
    object: pool('bad-uses-many', { cidr: '10.0.0.0/16', allowedUses: Array.from({ length: 11 }, () => 'Workload') }),
    path: 'spec.allowedUses',
  },
  // IPPool: selectors and other fields
  {
    name: 'nodeSelector global()',
    object: pool('bad-global', { cidr: '10.0.0.0/16', nodeSelector: 'global()' }),
    path: 'spec.nodeSelector',
  },
  {
    name: 'namespaceSelector global()',
    object: pool('bad-global-ns', { cidr: '10.0.0.0/16', namespaceSelector: 'global()' }),
    path: 'spec.namespaceSelector',
  },
  {
    name: 'nodeSelector that does not parse',
    object: pool('bad-selector-syntax', { cidr: '10.0.0.0/16', nodeSelector: 'rack ==' }),
    path: 'spec.nodeSelector',
    clientOnly: 'the CRD cannot parse Calico selectors; the webhook refuses it (the operator reports it without one)',
  },
  {
    name: 'natOutgoing not a boolean',
    object: pool('bad-nat', { cidr: '10.0.0.0/16', natOutgoing: 'yes' }),
    path: 'spec.natOutgoing',
  },
  {
    name: 'assignmentMode unknown',
    object: pool('bad-assign', { cidr: '10.0.0.0/16', assignmentMode: 'Auto' }),
    path: 'spec.assignmentMode',
  },
  { name: 'pool name with capitals', object: pool('Bad_Pool', { cidr: '10.0.0.0/16' }), path: 'metadata.name' },
  // BGPConfiguration
  { name: 'BGP asNumber 0', object: bgpConfig('bad-as-0', { asNumber: 0 }), path: 'spec.asNumber' },
  {
    name: 'BGP asNumber above 32 bits',
    object: bgpConfig('bad-as-big', { asNumber: 4294967296 }),
    path: 'spec.asNumber',
  },
  { name: 'BGP asNumber negative', object: bgpConfig('bad-as-neg', { asNumber: -1 }), path: 'spec.asNumber' },
  {
    name: 'logSeverityScreen unknown',
    object: bgpConfig('bad-log', { logSeverityScreen: 'Verbose' }),
    path: 'spec.logSeverityScreen',
  },
  { name: 'listenPort 0', object: bgpConfig('bad-port-0', { listenPort: 0 }), path: 'spec.listenPort' },
  { name: 'listenPort 70000', object: bgpConfig('bad-port-big', { listenPort: 70000 }), path: 'spec.listenPort' },
  {
    name: 'mesh password with mesh off',
    object: bgpConfig('bad-mesh-pw', {
      nodeToNodeMeshEnabled: false,
      nodeMeshPassword: { secretKeyRef: { name: 's', key: 'k' } },
    }),
    path: 'spec.nodeMeshPassword',
  },
  {
    name: 'mesh restart time with mesh off',
    object: bgpConfig('bad-mesh-restart', { nodeToNodeMeshEnabled: false, nodeMeshMaxRestartTime: '60s' }),
    path: 'spec.nodeMeshMaxRestartTime',
  },
  {
    name: 'communities without prefixAdvertisements',
    object: bgpConfig('bad-communities', { communities: [{ name: 'c1', value: '64512:100' }] }),
    path: 'spec.communities',
  },
  {
    name: 'community value out of 16-bit range',
    object: bgpConfig('bad-community-range', {
      communities: [{ name: 'c1', value: '70000:100' }],
      prefixAdvertisements: [{ cidr: '10.0.0.0/24', communities: ['c1'] }],
    }),
    path: 'spec.communities[0].value',
  },
  {
    name: 'community value not a community',
    object: bgpConfig('bad-community-text', {
      communities: [{ name: 'c1', value: 'no-export' }],
      prefixAdvertisements: [{ cidr: '10.0.0.0/24', communities: ['c1'] }],
    }),
    path: 'spec.communities[0].value',
  },
  {
    name: 'prefix advertisement uses an undefined community name',
    object: bgpConfig('bad-community-ref', {
      prefixAdvertisements: [{ cidr: '10.0.0.0/24', communities: ['undefined-name'] }],
    }),
    path: 'spec.prefixAdvertisements[0].communities[0]',
    clientOnly: 'a reference within the object (Calico Go validator); the webhook refuses it',
  },
  {
    name: 'prefix advertisement community value out of 16-bit range',
    object: bgpConfig('bad-community-pa-range', {
      prefixAdvertisements: [{ cidr: '10.0.0.0/24', communities: ['100:1147483647'] }],
    }),
    path: 'spec.prefixAdvertisements[0].communities[0]',
    clientOnly: "CEL per entry is over the apiserver's cost budget; the webhook refuses it (Calico Go validator)",
  },
  {
    name: 'peerSelector that does not parse',
    object: peer('bad-peer-selector-syntax', { peerSelector: 'kubernetes.io/hostname: == "node-4"' }),
    path: 'spec.peerSelector',
    clientOnly: 'the CRD cannot parse Calico selectors; the webhook refuses it',
  },
  {
    name: 'mtuIfacePattern with a lookahead (JavaScript takes it, Go does not)',
    object: felix('bad-mtu-regex', { mtuIfacePattern: '^(?!cali)eth.*' }),
    path: 'spec.mtuIfacePattern',
    clientOnly: 'the CRD cannot compile Go regular expressions; the webhook refuses it',
  },
  {
    name: "bpfDataIfacePattern '*' (Calico's validator test)",
    object: felix('bad-bpf-iface-regex', { bpfDataIfacePattern: '*' }),
    path: 'spec.bpfDataIfacePattern',
    clientOnly: 'the CRD cannot compile Go regular expressions; the webhook refuses it',
  },
  {
    name: 'featureGates key that is not a word',
    // The CRD's pattern takes '-' in a key; Calico's keyValueList wants word characters.
    object: felix('bad-feature-gates', { featureGates: 'a-b=true' }),
    path: 'spec.featureGates',
    clientOnly: "Calico's keyValueList check; the webhook refuses it",
  },
  {
    name: 'bpfExcludeCIDRsFromNAT entry that is no CIDR',
    object: felix('bad-bpf-exclude', { bpfExcludeCIDRsFromNAT: ['garbage'] }),
    path: 'spec.bpfExcludeCIDRsFromNAT[0]',
    clientOnly: "Calico's cidrs validator; the webhook refuses it",
  },
  {
    name: 'service cluster IP range not a CIDR',
    object: bgpConfig('bad-svc-cidr', { serviceClusterIPs: [{ cidr: '10.96.0.0/40' }] }),
    path: 'spec.serviceClusterIPs[0].cidr',
  },
  { name: 'bindMode unknown', object: bgpConfig('bad-bind', { bindMode: 'Any' }), path: 'spec.bindMode' },
  {
    name: 'mesh restart time not a duration',
    object: bgpConfig('bad-duration', { nodeMeshMaxRestartTime: '2 minutes' }),
    path: 'spec.nodeMeshMaxRestartTime',
  },
  {
    name: 'programClusterRoutes unknown',
    object: bgpConfig('bad-pcr', { programClusterRoutes: 'Always' }),
    path: 'spec.programClusterRoutes',
  },
  // BGPPeer
  {
    name: 'peer with node and nodeSelector',
    object: peer('bad-node-and-selector', { node: 'n1', nodeSelector: 'all()', peerIP: '10.0.0.1', asNumber: 64512 }),
    path: 'spec.nodeSelector',
  },
  {
    name: 'peer with peerIP and peerSelector',
    object: peer('bad-ip-and-selector', { peerIP: '10.0.0.1', peerSelector: 'all()' }),
    path: 'spec.peerSelector',
  },
  {
    name: 'peer with peerSelector and asNumber',
    object: peer('bad-selector-as', { peerSelector: 'rr == "true"', asNumber: 64512 }),
    path: 'spec.asNumber',
  },
  { name: 'peerIP octet 300', object: peer('bad-peerip-octet', { peerIP: '300.1.1.1', asNumber: 64512 }), path: 'spec.peerIP' },
  { name: 'peerIP port 0', object: peer('bad-peerip-port0', { peerIP: '10.0.0.1:0', asNumber: 64512 }), path: 'spec.peerIP' },
  {
    name: 'peerIP port 70000',
    object: peer('bad-peerip-portbig', { peerIP: '10.0.0.1:70000', asNumber: 64512 }),
    path: 'spec.peerIP',
  },
  { name: 'peerIP hostname', object: peer('bad-peerip-host', { peerIP: 'router.example', asNumber: 64512 }), path: 'spec.peerIP' },
  { name: 'peer asNumber 0', object: peer('bad-peer-as0', { peerIP: '10.0.0.1', asNumber: 0 }), path: 'spec.asNumber' },
  {
    name: 'peer localASNumber above 32 bits',
    object: peer('bad-peer-localas', { peerIP: '10.0.0.1', asNumber: 64512, localASNumber: 4294967296 }),
    path: 'spec.localASNumber',
  },
  {
    name: 'sourceAddress unknown',
    object: peer('bad-source', { peerIP: '10.0.0.1', asNumber: 64512, sourceAddress: 'NodeIP' }),
    path: 'spec.sourceAddress',
  },
  {
    name: 'nextHopMode lower case',
    object: peer('bad-nexthop', { peerIP: '10.0.0.1', asNumber: 64512, nextHopMode: 'self' }),
    path: 'spec.nextHopMode',
  },
  {
    name: 'keepOriginalNextHop with nextHopMode',
    object: peer('bad-keep-and-mode', { peerIP: '10.0.0.1', asNumber: 64512, keepOriginalNextHop: true, nextHopMode: 'Keep' }),
    path: 'spec.nextHopMode',
  },
  {
    name: 'reachableBy without peerIP',
    object: peer('bad-reachable', { peerSelector: 'all()', reachableBy: '10.0.0.1' }),
    path: 'spec.reachableBy',
  },
  {
    name: 'reachableBy of the other family',
    object: peer('bad-reachable-family', { peerIP: '10.0.0.9', asNumber: 64512, reachableBy: 'fd00::1' }),
    path: 'spec.reachableBy',
  },
  {
    name: 'localWorkloadSelector with peerIP',
    object: peer('bad-lws', { localWorkloadSelector: 'app == "bgp"', peerIP: '10.0.0.1', asNumber: 64512 }),
    path: 'spec.peerIP',
  },
  {
    name: 'localWorkloadSelector without asNumber',
    object: peer('bad-lws-as', { localWorkloadSelector: 'app == "bgp"' }),
    path: 'spec.asNumber',
  },
  { name: 'ttlSecurity 256', object: peer('bad-ttl', { peerIP: '10.0.0.1', asNumber: 64512, ttlSecurity: 256 }), path: 'spec.ttlSecurity' },
  {
    name: 'peer maxRestartTime not a duration',
    object: peer('bad-peer-restart', { peerIP: '10.0.0.1', asNumber: 64512, maxRestartTime: 'soon' }),
    path: 'spec.maxRestartTime',
  },
  { name: 'peer node name invalid', object: peer('bad-peer-node', { node: 'Node_1', peerIP: '10.0.0.1', asNumber: 1 }), path: 'spec.node' },
  // FelixConfiguration
  { name: 'vxlanPort 0', object: felix('bad-vxlan-port', { vxlanPort: 0 }), path: 'spec.vxlanPort' },
  { name: 'vxlanVNI above 24 bits', object: felix('bad-vni', { vxlanVNI: 16777216 }), path: 'spec.vxlanVNI' },
  { name: 'ipipMTU 40', object: felix('bad-mtu', { ipipMTU: 40 }), path: 'spec.ipipMTU' },
  { name: 'vxlanMTU 70000', object: felix('bad-mtu-big', { vxlanMTU: 70000 }), path: 'spec.vxlanMTU' },
  {
    name: 'routeTableRange and routeTableRanges',
    object: felix('bad-rt-both', { routeTableRange: { min: 1, max: 250 }, routeTableRanges: [{ min: 1, max: 10 }] }),
    path: 'spec.routeTableRanges',
  },
  {
    name: 'routeTableRanges min 0',
    object: felix('bad-rt-min', { routeTableRanges: [{ min: 0, max: 10 }] }),
    path: 'spec.routeTableRanges[0].min',
  },
  {
    name: 'routeTableRange max below min',
    object: felix('bad-rt-order', { routeTableRange: { min: 20, max: 10 } }),
    path: 'spec.routeTableRange.max',
    serverField: 'spec.routeTableRange',
  },
  {
    name: 'deviceRouteSourceAddress IPv6',
    object: felix('bad-src-v6', { deviceRouteSourceAddress: 'fd00::1' }),
    path: 'spec.deviceRouteSourceAddress',
  },
  { name: 'ipForwarding On', object: felix('bad-fwd', { ipForwarding: 'On' }), path: 'spec.ipForwarding' },
  {
    name: 'natOutgoingAddress not an IP',
    object: felix('bad-nat-addr', { natOutgoingAddress: 'eth0' }),
    path: 'spec.natOutgoingAddress',
  },
  {
    name: 'routeRefreshInterval without unit',
    object: felix('bad-refresh', { routeRefreshInterval: '10' }),
    path: 'spec.routeRefreshInterval',
  },
  { name: 'deviceRouteProtocol 256', object: felix('bad-proto', { deviceRouteProtocol: 256 }), path: 'spec.deviceRouteProtocol' },
  { name: 'routeSource unknown', object: felix('bad-route-source', { routeSource: 'BGP' }), path: 'spec.routeSource' },
  // IPAM kinds
  {
    name: 'IPAMConfiguration not named default',
    object: make('IPAMConfiguration', 'cluster', { strictAffinity: true }),
    path: 'metadata.name',
    serverField: 'default',
  },
  {
    name: 'maxBlocksPerHost negative',
    object: make('IPAMConfiguration', 'default', { strictAffinity: true, maxBlocksPerHost: -1 }),
    path: 'spec.maxBlocksPerHost',
  },
  {
    name: 'maxBlocksPerHost without strictAffinity',
    object: make('IPAMConfiguration', 'default', { strictAffinity: false, maxBlocksPerHost: 5 }),
    path: 'spec.maxBlocksPerHost',
  },
  {
    name: 'strictAffinity and autoAllocateBlocks both false',
    object: make('IPAMConfiguration', 'default', { strictAffinity: false, autoAllocateBlocks: false }),
    path: 'spec.autoAllocateBlocks',
  },
  {
    name: 'ipCooldownSeconds above 1200',
    object: make('IPAMConfiguration', 'default', { ipCooldownSeconds: 1201 }),
    path: 'spec.ipCooldownSeconds',
  },
  {
    name: 'BlockAffinity state unknown',
    object: make('BlockAffinity', 'bad-state', { state: 'claimed', node: 'n1', cidr: '10.0.0.0/26' }),
    path: 'spec.state',
  },
  {
    name: 'BlockAffinity without node',
    object: make('BlockAffinity', 'bad-node', { state: 'confirmed', cidr: '10.0.0.0/26' }),
    path: 'spec.node',
  },
  {
    name: 'BlockAffinity cidr with host bits',
    object: make('BlockAffinity', 'bad-aff-cidr', { state: 'confirmed', node: 'n1', cidr: '10.0.0.1/26' }),
    path: 'spec.cidr',
  },
  {
    name: 'BlockAffinity type unknown',
    object: make('BlockAffinity', 'bad-type', { state: 'confirmed', node: 'n1', cidr: '10.0.0.0/26', type: 'node' }),
    path: 'spec.type',
  },
  {
    name: 'IPAMBlock affinity without prefix',
    object: make('IPAMBlock', 'bad-affinity', block30({ affinity: 'node-1' })),
    path: 'spec.affinity',
  },
  {
    name: 'IPAMBlock allocations shorter than the block',
    object: make('IPAMBlock', 'bad-allocations', block30({ allocations: [0, null] })),
    path: 'spec.allocations',
    clientOnly: 'the length depends on the CIDR; checked by our validation and the IPAM consistency check',
  },
  {
    name: 'IPAMBlock attribute index out of range',
    object: make('IPAMBlock', 'bad-attr-index', block30({ allocations: [0, null, 5, null] })),
    path: 'spec.allocations[2]',
    clientOnly: 'index ranges are checked by our validation, not the CRD',
  },
  {
    name: 'IPAMHandle negative count',
    object: make('IPAMHandle', 'bad-count', { handleID: 'h', block: { '10.0.0.0/26': -1 } }),
    path: 'spec.block["10.0.0.0/26"]',
    serverField: 'spec.block',
  },
  {
    name: 'IPAMHandle without handleID',
    object: make('IPAMHandle', 'bad-handle', { block: {} }),
    path: 'spec.handleID',
  },
  // Our kinds
  {
    name: 'NodeDataplane without nodeName',
    object: make('NodeDataplane', 'bad-ndp', {}, TABBY),
    path: 'spec.nodeName',
  },
  {
    name: 'RouteTable entry with an unknown kind',
    object: {
      apiVersion: TABBY,
      kind: 'RouteTable',
      metadata: { name: 'bad-rt' },
      status: {
        view: 'cluster',
        shard: 0,
        revision: 'sha256:0',
        entries: [{ cidr: '10.0.1.0/26', node: 'n2', nodeIP: '10.0.0.2', kind: 'gre', via: '10.0.0.2', pool: 'p' }],
      },
    },
    path: 'status.entries[0].kind',
    clientOnly: 'status is written through the status subresource, which `kubectl apply` does not touch',
  },
  {
    name: 'BGPFilter rule with a cidr but no matchOperator',
    object: filter('no-op', { exportV4: [{ action: 'Accept', cidr: '10.0.0.0/8' }] }),
    path: 'spec.exportV4[0].matchOperator',
    serverField: 'spec.exportV4[0]',
  },
  {
    name: 'BGPFilter IPv6 cidr in an IPv4 rule',
    object: filter('wrong-family', { importV4: [{ action: 'Reject', matchOperator: 'In', cidr: 'fd00::/8' }] }),
    path: 'spec.importV4[0].cidr',
  },
  {
    name: 'BGPFilter operations on a Reject rule',
    object: filter('reject-ops', {
      exportV4: [{ action: 'Reject', operations: [{ addCommunity: { value: '65000:1' } }] }],
    }),
    path: 'spec.exportV4[0].operations',
    serverField: 'spec.exportV4[0]',
  },
  {
    name: 'BGPFilter interface with a space',
    object: filter('bad-iface', { exportV6: [{ action: 'Accept', interface: 'eth 0' }] }),
    path: 'spec.exportV6[0].interface',
  },
  // Every CEL rule must refuse something (api-crds.test.ts checks): the rules of each BGPFilter list and of each
  // BGPConfiguration CIDR list, written for all of them. serverField is the rule's message, which names the field.
  ...(['exportV4', 'importV4', 'exportV6', 'importV6'] as const).flatMap((list): InvalidCase[] => {
    const v6 = list.endsWith('V6');
    const other = v6 ? '10.0.0.0/8' : 'fd00::/8';
    const unmasked = v6 ? 'fd00::1/64' : '10.0.0.1/24';
    const key = list.toLowerCase();
    const one = (r: Obj) => ({ [list]: [r] });
    return [
      {
        name: `BGPFilter ${list} cidr of the other family`,
        object: filter(`${key}-family`, one({ action: 'Accept', matchOperator: 'In', cidr: other })),
        path: `spec.${list}[0].cidr`,
        serverField: `spec.${list}[].cidr must be an IPv${v6 ? 6 : 4} CIDR`,
      },
      {
        name: `BGPFilter ${list} cidr with host bits`,
        object: filter(`${key}-unmasked`, one({ action: 'Accept', matchOperator: 'In', cidr: unmasked })),
        path: `spec.${list}[0].cidr`,
        serverField: `spec.${list}[].cidr must be strictly masked (host bits zero)`,
      },
      {
        name: `BGPFilter ${list} operation setting two things`,
        object: filter(
          `${key}-two-ops`,
          one({ action: 'Accept', operations: [{ addCommunity: { value: '65000:1' }, setPriority: { value: 10 } }] }),
        ),
        path: `spec.${list}[0].operations[0]`,
        serverField: `spec.${list}[].operations[] must set exactly one of addCommunity, prependASPath, setPriority`,
      },
      {
        name: `BGPFilter ${list} matchOperator without cidr`,
        object: filter(`${key}-op-only`, one({ action: 'Accept', matchOperator: 'Equal' })),
        path: `spec.${list}[0].cidr`,
        serverField: `spec.${list}[].cidr and spec.${list}[].matchOperator must both be set or both be empty`,
      },
      {
        name: `BGPFilter ${list} prefixLength without cidr`,
        object: filter(`${key}-length-only`, one({ action: 'Accept', prefixLength: { min: v6 ? 64 : 24 } })),
        path: `spec.${list}[0].prefixLength`,
        serverField: `spec.${list}[].cidr is required when spec.${list}[].prefixLength is set`,
      },
      {
        name: `BGPFilter ${list} operations on a Reject rule`,
        object: filter(`${key}-reject-ops`, one({ action: 'Reject', operations: [{ setPriority: { value: 10 } }] })),
        path: `spec.${list}[0].operations`,
        serverField: `spec.${list}[].operations may only be used with action Accept`,
      },
    ];
  }),
  ...(['serviceClusterIPs', 'serviceExternalIPs', 'serviceLoadBalancerIPs', 'prefixAdvertisements'] as const).flatMap(
    (list): InvalidCase[] => {
      // A prefix advertisement needs its communities (the CRD checks CEL only on an object its schema accepts).
      const entry = (cidr: string): Obj => (list === 'prefixAdvertisements' ? { cidr, communities: ['65000:1'] } : { cidr });
      return [
      {
        name: `BGPConfiguration ${list} entry that is no CIDR`,
        object: bgpConfig(`${list.toLowerCase()}-garbage`, { [list]: [entry('10.0.0.300/24')] }),
        path: `spec.${list}[0].cidr`,
        serverField: `spec.${list}[].cidr must be a CIDR such as 10.0.0.0/16 or fd00::/48`,
      },
      {
        name: `BGPConfiguration ${list} entry with host bits`,
        object: bgpConfig(`${list.toLowerCase()}-unmasked`, { [list]: [entry('10.0.0.1/24')] }),
        path: `spec.${list}[0].cidr`,
        serverField: `spec.${list}[].cidr must be strictly masked (host bits zero)`,
      },
      ];
    },
  ),
  {
    name: 'bpfLogFilters key that is no interface name',
    object: felix('bad-bpf-log-filters', { bpfLogFilters: { 'eth0 and more': 'tcp' } }),
    path: 'spec.bpfLogFilters["eth0 and more"]',
    serverField: 'spec.bpfLogFilters keys must be interface names',
  },
  {
    name: 'bpfPSNATPorts range upside down',
    object: felix('bad-psnat-ports', { bpfPSNATPorts: '30000:20000' }),
    path: 'spec.bpfPSNATPorts',
  },
  {
    name: 'natPortRange above 65535',
    object: felix('bad-nat-port-range', { natPortRange: '60000:70000' }),
    path: 'spec.natPortRange',
  },
  ...(['vxlanMTUV6', 'wireguardMTU', 'wireguardMTUV6'] as const).map(
    (f): InvalidCase => ({
      name: `${f} below IPv4's minimum of 68`,
      object: felix(`bad-${f.toLowerCase()}`, { [f]: 67 }),
      path: `spec.${f}`,
    }),
  ),
  {
    name: "nodeSelector on the 'default' FelixConfiguration",
    object: felix('default', { nodeSelector: 'all()' }),
    path: 'spec.nodeSelector',
  },
];
