// Calico's own validation test vectors, carried over as data with Calico's expected outcome (never ours): every
// entry of `calico: libcalico-go/lib/validator/v3/validator_test.go` ("Validator" table) and
// `crd_validation_test.go` about a field of IPPool, BGPConfiguration, BGPPeer, BGPFilter, IPReservation or
// FelixConfiguration (IPAMConfiguration has no entries there), re-expressed as the object a user would apply. The
// test's Go values are written as they serialise: `200 * time.Second` is "3m20s", a port range `3000:4000`.
//
// Calico's table passes some entries as a bare spec or rule (not a runtime.Object), so only its Go validator ran,
// not its CRD's schema; where that CRD refuses what the Go validator accepts, `crdRefuses` says how, and Calico's
// apiserver (CRD or aggregated, both run the CRD schema) refuses it: so does Tabby. `differs` marks the entries where
// Tabby deliberately decides otherwise, with the reason. Selector vectors of Calico's EntityRule entries are carried
// to IPPool nodeSelector, which uses the same `selector` validator.

type Obj = Record<string, unknown>;

export interface CalicoCase {
  /** The Entry title (or crd_validation_test name) as Calico wrote it. */
  calico: string;
  source: 'validator_test.go' | 'crd_validation_test.go';
  kind: 'IPPool' | 'BGPConfiguration' | 'BGPPeer' | 'BGPFilter' | 'IPReservation' | 'FelixConfiguration';
  /** metadata.name; Calico's if the entry had one, else a valid one. */
  name: string;
  spec: Obj;
  /** Calico's expected outcome. */
  valid: boolean;
  /** The entry ran only Calico's Go validator; its CRD refuses the object this way. */
  crdRefuses?: string;
  /** Tabby deliberately decides otherwise: why. */
  differs?: string;
}

const V = 'validator_test.go' as const;
const C = 'crd_validation_test.go' as const;

// validator_test.go's shared values
const ipv4_1 = '1.2.3.4';
const ipv4_2 = '100.200.0.0';
const ipv6_1 = 'aabb:aabb::ffff';
const ipv6_2 = 'aabb::abcd';
const netv4_1 = '1.2.3.4/32';
const netv4_3 = '1.2.3.0/26';
const netv4_4 = '1.0.0.0/10';
const netv4_5 = '1.2.3.0/27';
const netv6_1 = 'aabb:aabb::ffff/128';
const peerv4_1 = '9.9.9.9:4444';
const peerv6_1 = '[aabb::ffff]:4444';
const bad_ipv4_1 = '999.999.999.999';
const bad_ipv6_1 = 'xyz:::';

const pool = (calico: string, name: string, spec: Obj, valid: boolean, src: CalicoCase['source'] = V): CalicoCase => ({
  calico,
  source: src,
  kind: 'IPPool',
  name,
  spec,
  valid,
});
const bgp = (calico: string, spec: Obj, valid: boolean, extra: Partial<CalicoCase> = {}): CalicoCase => ({
  calico,
  source: V,
  kind: 'BGPConfiguration',
  name: 'default',
  spec,
  valid,
  ...extra,
});
const peer = (calico: string, spec: Obj, valid: boolean, name = 'test-peer', src: CalicoCase['source'] = V): CalicoCase => ({
  calico,
  source: src,
  kind: 'BGPPeer',
  name,
  spec,
  valid,
});
const v4rule = (calico: string, rule: Obj, valid: boolean): CalicoCase => ({
  calico,
  source: V,
  kind: 'BGPFilter',
  name: 'test-filter',
  spec: { exportV4: [rule] },
  valid,
});
const v6rule = (calico: string, rule: Obj, valid: boolean): CalicoCase => ({
  calico,
  source: V,
  kind: 'BGPFilter',
  name: 'test-filter',
  spec: { exportV6: [rule] },
  valid,
});
const reservation = (calico: string, reservedCIDRs: string[], valid: boolean, extra: Partial<CalicoCase> = {}) =>
  ({
    calico,
    source: V,
    kind: 'IPReservation',
    name: 'ip-reservation.name',
    spec: { reservedCIDRs },
    valid,
    ...extra,
  }) satisfies CalicoCase;
const felix = (calico: string, spec: Obj, valid: boolean): CalicoCase => ({
  calico,
  source: V,
  kind: 'FelixConfiguration',
  name: 'default',
  spec,
  valid,
});

const SVC_CIDR = 'format cidr: a bare address is not a CIDR';
const addCommunity = { addCommunity: { value: '65000:100' } };
const prependASPath = { prependASPath: { prefix: [65000] } };
const setPriority = { setPriority: { value: 256 } };

export const CALICO_CASES: CalicoCase[] = [
  // --- IPPool
  pool('should allow a name of 253 chars', 'x'.repeat(253), { cidr: netv4_3 }, true),
  pool('should disallow a name of 254 chars', 'x'.repeat(254), { cidr: netv4_3 }, false),
  pool('should allow a valid nodeSelector', 'pool.name', { cidr: netv4_3, nodeSelector: 'foo == "bar"' }, true),
  pool(
    'should disallow a invalid nodeSelector',
    'pool.name',
    { cidr: netv4_3, nodeSelector: 'this is not valid selector syntax' },
    false,
  ),
  pool('should accept IP pool with IPv4 CIDR /26', 'pool.name', { cidr: netv4_3 }, true),
  pool('should accept IP pool with IPv4 CIDR /10', 'pool.name', { cidr: netv4_4 }, true),
  pool(
    'should accept IP pool with IPv6 CIDR /122',
    'pool.name',
    { cidr: 'aabb:aabb::/122', ipipMode: 'Never', vxlanMode: 'Never' },
    true,
  ),
  pool(
    'should accept IP pool with IPv6 CIDR /10',
    'pool.name',
    { cidr: 'aa00::/10', ipipMode: 'Never', vxlanMode: 'Never' },
    true,
  ),
  pool('should accept a disabled IP pool with IPv4 CIDR /27', 'pool.name', { cidr: netv4_5, disabled: true }, true),
  pool(
    'should accept a disabled IP pool with IPv6 CIDR /128',
    'pool.name',
    { cidr: netv6_1, ipipMode: 'Never', vxlanMode: 'Never', disabled: true },
    true,
  ),
  pool('should reject IP pool with IPv4 CIDR /27', 'pool.name', { cidr: netv4_5 }, false),
  pool('should reject IP pool with IPv6 CIDR /128', 'pool.name', { cidr: netv6_1 }, false),
  pool('should reject IP pool with IPv4 CIDR /33', 'pool.name', { cidr: '1.2.3.4/33' }, false),
  pool('should reject IP pool with IPv6 CIDR /129', 'pool.name', { cidr: 'aa:bb::/129' }, false),
  pool(
    "should reject IPIPMode 'Always' for IPv6 pool",
    'pool.name',
    { cidr: netv6_1, ipipMode: 'Always', vxlanMode: 'Never' },
    false,
  ),
  pool(
    "should reject VXLANMode 'Always' for IPv6 pool",
    'pool.name',
    { cidr: netv6_1, vxlanMode: 'Always', ipipMode: 'Never' },
    false,
  ),
  pool(
    'should reject IPv4 pool with a CIDR range overlapping with Link Local range',
    'pool.name',
    { cidr: '169.254.5.0/24' },
    false,
  ),
  pool(
    'should reject IPv6 pool with a CIDR range overlapping with Link Local range',
    'pool.name',
    { cidr: 'fe80::/120' },
    false,
  ),
  pool(
    'should accept IP pool with valid allowed uses',
    'pool.name',
    { cidr: netv4_4, allowedUses: ['Workload', 'Tunnel'] },
    true,
  ),
  pool(
    'should reject IP pool with invalid allowed uses combination',
    'pool.name',
    { cidr: netv4_4, allowedUses: ['LoadBalancer', 'Tunnel'] },
    false,
  ),
  pool('should reject IP pool with invalid allowed uses', 'pool.name', { cidr: netv4_4, allowedUses: ['Garbage'] }, false),
  pool(
    'should accept IP pool with valid AssignmentMode',
    'pool.name',
    { cidr: netv4_4, assignmentMode: 'Automatic' },
    true,
  ),
  pool('should reject IP pool with empty assignment mode', 'pool.name', { cidr: netv4_4, assignmentMode: '' }, false),
  pool(
    'should reject IP pool with LoadBlancer and disableBGPExport true',
    'pool.name',
    { cidr: netv4_4, allowedUses: ['LoadBalancer'], disableBGPExport: true },
    false,
  ),
  pool(
    'should reject IP pool with LoadBlancer and VXLAN mode enabled',
    'pool.name',
    { cidr: netv4_4, allowedUses: ['LoadBalancer'], vxlanMode: 'Always' },
    false,
  ),
  pool(
    'should reject IP pool with LoadBlancer and IPIP mode enabled',
    'pool.name',
    { cidr: netv4_4, allowedUses: ['LoadBalancer'], ipipMode: 'Always' },
    false,
  ),
  pool(
    'should reject IP pool with LoadBlancer and nodeSelector other than all()',
    'pool.name',
    { cidr: netv4_4, allowedUses: ['LoadBalancer'], nodeSelector: '!all()' },
    false,
  ),
  pool(
    'should reject IP pool with Tunnel allowedUse and namespaceSelector',
    'pool.name',
    { cidr: netv4_4, allowedUses: ['Tunnel'], namespaceSelector: 'region == "east"' },
    false,
  ),
  pool(
    'should reject IP pool with Tunnel and Workload allowedUses and namespaceSelector',
    'pool.name',
    { cidr: netv4_4, allowedUses: ['Workload', 'Tunnel'], namespaceSelector: 'region == "east"' },
    false,
  ),
  pool(
    'should accept IP pool with Tunnel allowedUse and no namespaceSelector',
    'pool.name',
    { cidr: netv4_4, allowedUses: ['Tunnel'] },
    true,
  ),
  pool(
    'should reject IP pool with invalid nodeSelector (global)',
    'pool.name',
    { cidr: netv4_4, nodeSelector: 'global()' },
    false,
  ),
  pool(
    'should accept IP pool with valid nodeSelector',
    'pool.name',
    { cidr: netv4_4, nodeSelector: 'region == "east"' },
    true,
  ),
  pool(
    'should accept IP pool with complex nodeSelector',
    'pool.name',
    { cidr: netv4_4, nodeSelector: 'region == "east" && environment == "production"' },
    true,
  ),
  pool(
    'should accept IP pool with set-based nodeSelector',
    'pool.name',
    { cidr: netv4_4, nodeSelector: 'region in {"east", "west"}' },
    true,
  ),
  pool(
    'should accept IP pool with existence check nodeSelector',
    'pool.name',
    { cidr: netv4_4, nodeSelector: 'has(team)' },
    true,
  ),
  pool('should accept IP pool with all() nodeSelector', 'pool.name', { cidr: netv4_4, nodeSelector: 'all()' }, true),
  pool(
    'should reject IP pool with invalid namespaceSelector (global)',
    'pool.name',
    { cidr: netv4_4, namespaceSelector: 'global()' },
    false,
  ),
  pool(
    'should accept IP pool with valid namespaceSelector',
    'pool.name',
    { cidr: netv4_4, namespaceSelector: 'region == "east"' },
    true,
  ),
  pool(
    'should accept IP pool with complex namespaceSelector',
    'pool.name',
    { cidr: netv4_4, namespaceSelector: 'team == "backend" || team == "frontend"' },
    true,
  ),
  pool(
    'should accept IP pool with substring namespaceSelector',
    'pool.name',
    { cidr: netv4_4, namespaceSelector: 'environment contains "prod"' },
    true,
  ),
  pool('should accept IPPool with no IPIP mode specified', 'test-pool', { cidr: '1.2.3.0/24' }, true),
  pool(
    'should accept IPIP mode Never (api)',
    'test-pool',
    { cidr: '1.2.3.0/24', ipipMode: 'Never', vxlanMode: 'Never' },
    true,
  ),
  pool('should accept IPIP mode Never', 'test-pool', { cidr: '1.2.3.0/24', ipipMode: 'Never' }, true),
  pool('should accept IPIP mode Always', 'test-pool', { cidr: '1.2.3.0/24', ipipMode: 'Always' }, true),
  pool('should accept IPIP mode CrossSubnet', 'test-pool', { cidr: '1.2.3.0/24', ipipMode: 'CrossSubnet' }, true),
  pool('should reject IPIP mode badVal', 'test-pool', { cidr: '1.2.3.0/24', ipipMode: 'badVal' }, false),
  pool('should reject IPIP mode never (lower case)', 'test-pool', { cidr: '1.2.3.0/24', ipipMode: 'never' }, false),
  pool(
    'should reject IPIP mode and VXLAN mode',
    'pool.name',
    { cidr: '1.2.3.0/24', ipipMode: 'Always', vxlanMode: 'Always' },
    false,
  ),
  pool('should accept VXLAN mode Always', 'test-pool', { cidr: '1.2.3.0/24', vxlanMode: 'Always' }, true),
  pool('should accept VXLAN mode CrossSubnet', 'test-pool', { cidr: '1.2.3.0/24', vxlanMode: 'CrossSubnet' }, true),
  pool('should accept VXLAN mode Never', 'test-pool', { cidr: '1.2.3.0/24', vxlanMode: 'Never' }, true),
  pool('should reject VXLAN mode never', 'test-pool', { cidr: '1.2.3.0/24', vxlanMode: 'never' }, false),
  pool('should reject VXLAN mode badVal', 'test-pool', { cidr: '1.2.3.0/24', vxlanMode: 'badVal' }, false),
  pool('valid ipipMode passes', 'test-pool', { cidr: '10.0.0.0/24', ipipMode: 'Always' }, true, C),
  pool('invalid ipipMode fails enum', 'test-pool', { cidr: '10.0.0.0/24', ipipMode: 'BadMode' }, false, C),
  pool('invalid vxlanMode fails enum', 'test-pool', { cidr: '10.0.0.0/24', vxlanMode: 'BadMode' }, false, C),
  // Calico's EntityRule selector entries, through IPPool's nodeSelector (the same `selector` validator).
  pool('should accept valid selector', 'sel', { cidr: netv4_4, nodeSelector: 'foo == "bar"' }, true),
  pool("should accept valid selector with 'has' and a '/'", 'sel', { cidr: netv4_4, nodeSelector: 'has(calico/k8s_ns)' }, true),
  pool(
    "should accept valid selector with 'has' and two '/'",
    'sel',
    { cidr: netv4_4, nodeSelector: 'has(calico/k8s_ns/role)' },
    true,
  ),
  pool(
    "should accept valid selector with 'has' and two '/' and '-.'",
    'sel',
    { cidr: netv4_4, nodeSelector: 'has(calico/k8s_NS-.1/role)' },
    true,
  ),
  pool('should reject invalid selector', 'sel', { cidr: netv4_4, nodeSelector: 'thing=hello &' }, false),

  // --- IPReservation
  reservation('should accept IPReservation with an IP', ['10.0.0.1'], true, {
    crdRefuses: 'items format cidr: a bare address is not a CIDR',
    differs: "bare addresses accepted, as Calico's validator and docs take them",
  }),
  reservation('should accept IPReservation with a CIDR', ['10.0.1.0/24'], true),
  reservation('should accept IPReservation IP and a CIDR', ['10.0.1.0/24', '192.168.0.34'], true, {
    crdRefuses: 'items format cidr: a bare address is not a CIDR',
    differs: "bare addresses accepted, as Calico's validator and docs take them",
  }),
  reservation('should reject IPReservation with bad CIDR', ['garbage'], false),
  reservation('should reject IPReservation with too-long CIDR', ['10.0.1.0/33'], false),
  reservation('should accept IPReservation with an IPv6', ['10.0.0.1', 'cafe::1', 'cafe:f00d::/96'], true, {
    crdRefuses: 'items format cidr: a bare address is not a CIDR',
    differs: "bare addresses accepted, as Calico's validator and docs take them",
  }),

  // --- BGPConfiguration
  bgp('should accept a valid BGP logging level: Info', { logSeverityScreen: 'Info' }, true),
  bgp('should accept a lowercase BGP logging level: info', { logSeverityScreen: 'info' }, true),
  bgp('should accept an uppercase BGP logging level: INFO', { logSeverityScreen: 'INFO' }, true),
  bgp('should reject an invalid BGP logging level: invalidLvl', { logSeverityScreen: 'invalidLvl' }, false),
  bgp('should accept a valid BGP clusterIPs: 1.2.3.4', { serviceClusterIPs: [{ cidr: '1.2.3.4' }] }, true, {
    crdRefuses: SVC_CIDR,
  }),
  bgp('should accept a valid BGP externalIPs: 8.8.8.8', { serviceExternalIPs: [{ cidr: '8.8.8.8' }] }, true, {
    crdRefuses: SVC_CIDR,
  }),
  bgp('should reject invalid BGP clusterIPs: x.x.x.x', { serviceClusterIPs: [{ cidr: 'x.x.x.x' }] }, false),
  bgp('should reject invalid BGP externalIPs: x.x.x.x', { serviceExternalIPs: [{ cidr: 'y.y.y.y' }] }, false),
  bgp('should accept valid IPv6 BGP clusterIP', { serviceClusterIPs: [{ cidr: 'fdf5:1234::102:304' }] }, true, {
    crdRefuses: SVC_CIDR,
  }),
  bgp('should accept valid IPv6 BGP externalIP', { serviceExternalIPs: [{ cidr: 'fdf5:1234::808:808' }] }, true, {
    crdRefuses: SVC_CIDR,
  }),
  bgp(
    'should accept a node mesh BGP password if node to node mesh is enabled',
    {
      nodeToNodeMeshEnabled: true,
      nodeMeshPassword: { secretKeyRef: { name: 'test-secret', key: 'bgp-password' } },
    },
    true,
  ),
  bgp(
    'should reject a node mesh BGP password if node to node mesh is disabled',
    {
      nodeToNodeMeshEnabled: false,
      nodeMeshPassword: { secretKeyRef: { name: 'test-secret', key: 'bgp-password' } },
    },
    false,
  ),
  bgp(
    'should accept a node mesh max restart time if node to node mesh is enabled',
    { nodeToNodeMeshEnabled: true, nodeMeshMaxRestartTime: '3m20s' },
    true,
  ),
  bgp(
    'should reject a node mesh max restart time if node to node mesh is disabled',
    { nodeToNodeMeshEnabled: false, nodeMeshMaxRestartTime: '3m20s' },
    false,
  ),
  bgp('should accept valid interface names', { ignoredInterfaces: ['valid_iface*', 'interface_name'] }, true),
  bgp('should reject invalid interface name', { ignoredInterfaces: ['*'] }, false),
  bgp(
    'should not accept community when PrefixAdvertisement is empty',
    { communities: [{ name: 'community-test', value: '101:5695' }] },
    false,
  ),
  bgp(
    'should not accept communities with value and without name',
    {
      communities: [{ value: '536:785' }],
      prefixAdvertisements: [{ cidr: '192.168.10.0/28', communities: ['100:100'] }],
    },
    false,
  ),
  bgp(
    'should not accept communities with name and without value',
    {
      communities: [{ name: 'community-test' }],
      prefixAdvertisements: [{ cidr: '192.168.10.0/28', communities: ['100:100'] }],
    },
    false,
  ),
  bgp(
    'should accept communities with name and standard BGP community value',
    {
      communities: [{ name: 'community-test', value: '100:520' }],
      prefixAdvertisements: [{ cidr: '192.168.10.0/28', communities: ['100:100'] }],
    },
    true,
  ),
  bgp(
    'should accept communities with name and large BGP community value',
    {
      communities: [{ name: 'community-test', value: '100:520:56' }],
      prefixAdvertisements: [{ cidr: '192.168.10.0/28', communities: ['100:100'] }],
    },
    true,
  ),
  ...['100', 'ab-n'].map((value) =>
    bgp(
      'should not accept communities with name and invalid community value/format',
      {
        communities: [{ name: 'community-test', value }],
        prefixAdvertisements: [{ cidr: '192.168.10.0/28', communities: ['100:100'] }],
      },
      false,
    ),
  ),
  bgp(
    'should not accept communities with name and invalid standard community value(> 16 bit)',
    {
      communities: [{ name: 'community-test', value: '65536:999999' }],
      prefixAdvertisements: [{ cidr: '192.168.10.0/28', communities: ['100:100'] }],
    },
    false,
  ),
  bgp(
    'should not accept communities with name and invalid large community value(> 32 bit)',
    {
      communities: [{ name: 'community-test', value: '4147483647:999999' }],
      prefixAdvertisements: [{ cidr: '192.168.10.0/28', communities: ['100:100'] }],
    },
    false,
  ),
  bgp(
    'should not accept communities without CIDR in PrefixAdvertisement',
    { prefixAdvertisements: [{ communities: ['100:5964'] }] },
    false,
  ),
  bgp(
    'should not accept CIDR without communities in PrefixAdvertisement',
    { prefixAdvertisements: [{ cidr: '192.168.10.0/28' }] },
    false,
  ),
  bgp(
    'should accept IPv4 CIDR in PrefixAdvertisement',
    { prefixAdvertisements: [{ cidr: '192.168.10.0/28', communities: ['100:5964:50'] }] },
    true,
  ),
  bgp(
    'should accept IPv6 CIDR in PrefixAdvertisement',
    { prefixAdvertisements: [{ cidr: '2001:4860::/128', communities: ['100:5964:50'] }] },
    true,
  ),
  bgp(
    'should accept standard BGP community value in PrefixAdvertisement',
    { prefixAdvertisements: [{ cidr: '2001:4860::/128', communities: ['100:5964', '200:594'] }] },
    true,
  ),
  bgp(
    'should accept large BGP community value in PrefixAdvertisement',
    { prefixAdvertisements: [{ cidr: '2001:4860::/128', communities: ['100:5964:1147483647'] }] },
    true,
  ),
  bgp(
    'should not accept invalid standard community value(> 16 bit) in PrefixAdvertisement',
    { prefixAdvertisements: [{ cidr: '2001:4860::/128', communities: ['100:1147483647'] }] },
    false,
  ),
  bgp(
    'should not accept invalid large community value(> 32 bit) in PrefixAdvertisement',
    { prefixAdvertisements: [{ cidr: '2001:4860::/128', communities: ['100:100:5147483647'] }] },
    false,
  ),
  bgp(
    'should accept combination of large and standard BGP community value in PrefixAdvertisement',
    { prefixAdvertisements: [{ cidr: '2001:4860::/128', communities: ['100:5964:1147483647', '100:5223'] }] },
    true,
  ),
  bgp(
    'should not accept community name that is not defined',
    { prefixAdvertisements: [{ cidr: '2001:4860::/128', communities: ['nonexistent-community'] }] },
    false,
  ),
  bgp(
    'should accept community name whose values are defined',
    {
      communities: [{ name: 'community-test', value: '101:5695' }],
      prefixAdvertisements: [{ cidr: '2001:4860::/128', communities: ['community-test', '8988:202'] }],
    },
    true,
  ),
  bgp(
    'should accept IPv4 and IPv6 in LocalWorkloadPeeringIPV4 and LocalWorkloadPeeringIPV6',
    { localWorkloadPeeringIPV4: ipv4_1, localWorkloadPeeringIPV6: ipv6_1 },
    true,
  ),
  bgp('should not accept an invalid IPv4 in LocalWorkloadPeeringIPV4', { localWorkloadPeeringIPV4: bad_ipv4_1 }, false),
  bgp('should not accept an invalid IPv6 in LocalWorkloadPeeringIPV6', { localWorkloadPeeringIPV6: bad_ipv6_1 }, false),

  // --- BGPFilter (Calico's bare rules and operations, each as the only rule of a filter)
  ...(
    [
      ['should reject invalid BGPFilter rule-v4 interface - 1', 'eth&'],
      ['should reject invalid BGPFilter rule-v4 interface - 2', '%face'],
      ['should reject invalid BGPFilter rule-v4 interface - 3', '"ace'],
    ] as const
  ).map(([t, iface]) => v4rule(t, { interface: iface, action: 'Reject' }, false)),
  ...(
    [
      ['should reject invalid BGPFilter rule-v6 interface - 1', '$cali'],
      ['should reject invalid BGPFilter rule-v6 interface - 2', 'eth#'],
      ['should reject invalid BGPFilter rule-v6 interface - 3', '"face'],
    ] as const
  ).map(([t, iface]) => v6rule(t, { interface: iface, action: 'Reject' }, false)),
  v4rule(
    'should accept valid BGPFilter rule-v4 interface - 1 ',
    { interface: 'ethx', source: 'RemotePeers', cidr: '192.168.0.0/26', matchOperator: 'In', action: 'Accept' },
    true,
  ),
  v4rule(
    'should accept valid BGPFilter rule-v4 interface - 2',
    { interface: '*.calico', cidr: '192.168.0.0/26', matchOperator: 'In', action: 'Accept' },
    true,
  ),
  v4rule(
    'should accept valid BGPFilter rule-v4 interface - 3',
    { interface: 'eth*', source: 'RemotePeers', action: 'Accept' },
    true,
  ),
  v6rule(
    'should accept valid BGPFilter rule-v6 interface - 1',
    { interface: 'ethx', source: 'RemotePeers', cidr: 'ffee::/64', matchOperator: 'In', action: 'Accept' },
    true,
  ),
  v6rule(
    'should accept valid BGPFilter rule-v6 interface - 2',
    { interface: '*.calico', cidr: 'ee2::dddd/128', matchOperator: 'In', action: 'Accept' },
    true,
  ),
  v6rule(
    'should accept valid BGPFilter rule-v6 interface - 3',
    { interface: '*.calico', source: 'RemotePeers', action: 'Accept' },
    true,
  ),
  v4rule('should accept BGPFilter with only rule-v4 interface - 1 ', { interface: 'ethx', action: 'Accept' }, true),
  v4rule('should accept BGPFilter with only rule-v4 interface - 2', { interface: 'eth*', action: 'Accept' }, true),
  v6rule('should accept BGPFilter with only rule-v6 interface - 1', { interface: 'ethx.', action: 'Accept' }, true),
  v6rule('should accept BGPFilter with only rule-v6 interface - 2', { interface: '*.calico', action: 'Accept' }, true),
  v4rule('should reject invalid BGPFilter rule-v4 source', { source: 'xyz', action: 'Reject' }, false),
  v6rule('should reject invalid BGPFilter rule-v6 source', { source: 'xyz', action: 'Reject' }, false),
  v4rule(
    'should accept valid BGPFilter rule-v4 source',
    { source: 'RemotePeers', cidr: '192.168.0.0/26', matchOperator: 'In', action: 'Reject' },
    true,
  ),
  v6rule(
    'should accept valid BGPFilter rule-v6 source',
    { source: 'RemotePeers', cidr: 'ffee::/64', matchOperator: 'In', action: 'Reject' },
    true,
  ),
  v4rule('should accept BGPFilter rule with only source set - 1', { source: 'RemotePeers', action: 'Reject' }, true),
  v6rule('should accept BGPFilter rule with only source set - 2', { source: 'RemotePeers', action: 'Reject' }, true),
  v4rule(
    'should accept BGPFilter rule with valid IPv4 CIDR',
    { cidr: '192.168.0.0/26', matchOperator: 'In', action: 'Accept' },
    true,
  ),
  v6rule(
    'should accept BGPFilter rule with valid IPv6 CIDR',
    { cidr: 'ffee::/64', matchOperator: 'In', action: 'Accept' },
    true,
  ),
  v4rule(
    'should reject BGPFilter rule with invalid IPv4 CIDR - 1 ',
    { cidr: 'x.x.x.x/26', matchOperator: 'In', action: 'Accept' },
    false,
  ),
  v4rule(
    'should reject BGPFilter rule with invalid IPv4 CIDR - 2',
    { cidr: 'ffee::/64', matchOperator: 'In', action: 'Accept' },
    false,
  ),
  v6rule(
    'should reject BGPFilter rule with invalid IPv6 CIDR - 1',
    { cidr: 'xxxx::/64', matchOperator: 'In', action: 'Accept' },
    false,
  ),
  v6rule(
    'should reject BGPFilter rule with invalid IPv6 CIDR - 2',
    { cidr: '10.0.10.0/32', matchOperator: 'In', action: 'Accept' },
    false,
  ),
  v4rule(
    'should reject BGPFilter rule with invalid operator - 1',
    { cidr: '10.0.10.0/32', matchOperator: 'fancyOperator', action: 'Accept' },
    false,
  ),
  v6rule(
    'should reject BGPFilter rule with invalid operator - 2',
    { cidr: 'ffff::/128', matchOperator: 'fancyOperator', action: 'Accept' },
    false,
  ),
  ...(['In', 'NotIn', 'Equal', 'NotEqual'] as const).flatMap((op) => [
    v4rule(
      `should accept BGPFilter rule with ${op} operator - 1`,
      { cidr: '10.0.10.0/32', matchOperator: op, action: 'Accept' },
      true,
    ),
    v6rule(
      `should accept BGPFilter rule with ${op} operator - 2`,
      { cidr: 'ffff::/128', matchOperator: op, action: 'Accept' },
      true,
    ),
  ]),
  v4rule(
    'should reject BGPFilter rule with no CIDR when MatchOperator is set - 1',
    { matchOperator: 'NotEqual', action: 'Reject' },
    false,
  ),
  v6rule(
    'should reject BGPFilter rule with no CIDR when MatchOperator is set - 2',
    { matchOperator: 'NotEqual', action: 'Reject' },
    false,
  ),
  v4rule(
    'should reject BGPFilter rule with no MatchOperator when CIDR is set - 1',
    { cidr: '10.0.10.0/32', action: 'Reject' },
    false,
  ),
  v6rule(
    'should reject BGPFilter rule with no MatchOperator when CIDR is set - 2',
    { cidr: 'ffff::/128', action: 'Reject' },
    false,
  ),
  v4rule(
    'should reject BGPFilter rule with invalid Action - 1',
    { cidr: '10.0.10.0/32', matchOperator: 'NotEqual', action: 'ActionX' },
    false,
  ),
  v6rule(
    'should reject BGPFilter rule with invalid action - 2',
    { cidr: 'ffff::/128', matchOperator: 'NotEqual', action: 'ActionX' },
    false,
  ),
  ...(['Accept', 'Reject'] as const).flatMap((action) => [
    v4rule(
      `should accept BGPFilter rule with ${action} action - 1`,
      { cidr: '10.0.10.0/32', matchOperator: 'NotEqual', action },
      true,
    ),
    v6rule(
      `should accept BGPFilter rule with ${action} action - 2`,
      { cidr: 'ffff::/128', matchOperator: 'NotEqual', action },
      true,
    ),
  ]),
  v4rule('should reject BGPFilter rule with no action - 1', { matchOperator: 'NotEqual', cidr: '10.0.10.0/32' }, false),
  v6rule('should reject BGPFilter rule with no action - 2', { matchOperator: 'NotEqual', cidr: 'ffff::/128' }, false),
  v4rule('should accept BGPFilter rule with just an action - 1', { action: 'Reject' }, true),
  v6rule('should accept BGPFilter rule with just an action - 2', { action: 'Reject' }, true),
  v4rule(
    'should accept BGPFilterV4 rule with PrefixLength Min set',
    { cidr: '10.0.10.0/24', matchOperator: 'In', action: 'Reject', prefixLength: { min: 25 } },
    true,
  ),
  v4rule(
    'should accept BGPFilterV4 rule with PrefixLength Max set',
    { cidr: '10.0.10.0/24', matchOperator: 'In', action: 'Reject', prefixLength: { max: 30 } },
    true,
  ),
  v4rule(
    'should reject BGPFilterV4 rule with PrefixLength Max is out-of-bounds',
    { cidr: '10.0.10.0/24', matchOperator: 'In', action: 'Reject', prefixLength: { max: 64 } },
    false,
  ),
  v4rule(
    'should reject BGPFilterV4 rule with PrefixLength populated and CIDR missing',
    { interface: 'ethx.', action: 'Reject', prefixLength: { min: 16 } },
    false,
  ),
  v6rule(
    'should accept BGPFilterV6 rule with PrefixLength Min set',
    { cidr: 'ffff::/128', matchOperator: 'In', action: 'Reject', prefixLength: { min: 65 } },
    true,
  ),
  v6rule(
    'should accept BGPFilterV6 rule with PrefixLength Max set',
    { cidr: 'ffff::/128', matchOperator: 'In', action: 'Reject', prefixLength: { max: 96 } },
    true,
  ),
  v6rule(
    'should reject BGPFilterV6 rule with PrefixLength Min is negative',
    { cidr: 'ffff::/128', matchOperator: 'In', action: 'Reject', prefixLength: { min: -16 } },
    false,
  ),
  v6rule(
    'should reject BGPFilterV6 rule with PrefixLength populated and CIDR missing',
    { interface: '*.calico', action: 'Reject', prefixLength: { min: 120 } },
    false,
  ),
  v4rule(
    'should accept BGPFilterOperation with AddCommunity set',
    { action: 'Accept', operations: [addCommunity] },
    true,
  ),
  v4rule(
    'should accept BGPFilterOperation with PrependASPath set',
    { action: 'Accept', operations: [prependASPath] },
    true,
  ),
  v4rule('should accept BGPFilterOperation with SetPriority set', { action: 'Accept', operations: [setPriority] }, true),
  v4rule('should reject BGPFilterOperation with no fields set', { action: 'Accept', operations: [{}] }, false),
  v4rule(
    'should reject BGPFilterOperation with two fields set',
    { action: 'Accept', operations: [{ ...addCommunity, ...setPriority }] },
    false,
  ),
  v4rule(
    'should reject BGPFilterOperation with all fields set',
    { action: 'Accept', operations: [{ ...addCommunity, ...prependASPath, ...setPriority }] },
    false,
  ),
  v4rule('should accept BGPFilterRuleV4 with single operation', { action: 'Accept', operations: [setPriority] }, true),
  v4rule(
    'should accept BGPFilterRuleV4 with multiple operations',
    { action: 'Accept', operations: [addCommunity, prependASPath] },
    true,
  ),
  v4rule('should reject BGPFilterRuleV4 with empty operation', { action: 'Accept', operations: [{}] }, false),

  // --- BGPPeer
  peer('should accept valid BGPPeerSpec', { peerIP: ipv4_1 }, true),
  peer('should reject invalid BGPPeerSpec (IPv4)', { peerIP: bad_ipv4_1 }, false),
  peer('should reject invalid BGPPeerSpec (IPv6)', { peerIP: bad_ipv6_1 }, false),
  peer('should reject BGPPeerSpec with both Node and NodeSelector', { node: 'my-node', nodeSelector: 'has(mylabel)' }, false, 'test'),
  peer('should reject BGPPeerSpec with both PeerIP and PeerSelector', { peerIP: ipv4_1, peerSelector: 'has(mylabel)' }, false, 'test'),
  peer(
    'should reject BGPPeerSpec with both ASNumber and PeerSelector',
    { asNumber: 61234, peerSelector: 'has(mylabel)' },
    false,
    'test',
  ),
  peer(
    'should accept BGPPeerSpec with NodeSelector and PeerSelector',
    { nodeSelector: 'has(mylabel)', peerSelector: 'has(mylabel)' },
    true,
    'test',
  ),
  peer(
    'should reject BGPPeerSpec with LocalWorkloadSelector and empty ASNumber',
    { localWorkloadSelector: 'has(labelone)' },
    false,
    'test',
  ),
  peer(
    'should reject BGPPeerSpec with both LocalWorkloadSelector and PeerSelector',
    { localWorkloadSelector: 'has(labelone)', peerSelector: 'has(labeltwo)', asNumber: 61234 },
    false,
    'test',
  ),
  peer(
    'should reject BGPPeerSpec with both LocalWorkloadSelector and PeerIP',
    { localWorkloadSelector: 'has(labelone)', peerIP: ipv4_1, asNumber: 61234 },
    false,
    'test',
  ),
  peer(
    'should reject BGPPeerSpec with both positive KeepOriginalNextHop and non-empty NextHopMode',
    { keepOriginalNextHop: true, nextHopMode: 'Auto' },
    false,
  ),
  peer('should reject BGPPeer with ReachableBy but without PeerIP', { reachableBy: ipv4_2 }, false),
  peer('should reject BGPPeer with ReachableBy (IPv6) but without PeerIP', { reachableBy: ipv6_2 }, false),
  peer('should accept BGPPeer with ReachableBy and PeerIP', { peerIP: peerv4_1, reachableBy: ipv4_1 }, true),
  peer(
    'should accept BGPPeer with ReachableBy (IPv6) and PeerIP (IPv6)',
    { peerIP: peerv6_1, reachableBy: ipv6_1 },
    true,
  ),
  peer('should reject BGPPeer with invalid ReachableBy', { peerIP: peerv4_1, reachableBy: bad_ipv4_1 }, false),
  peer('should reject BGPPeer with invalid ReachableBy (IPv6)', { peerIP: peerv6_1, reachableBy: bad_ipv6_1 }, false),
  peer(
    'should reject BGPPeer with mismatched family address of ReachableBy and PeerIP',
    { peerIP: ipv4_1, reachableBy: ipv6_1 },
    false,
  ),
  peer(
    'should reject BGPPeer with mismatched family address of ReachableBy and PeerIP:Port',
    { peerIP: peerv4_1, reachableBy: ipv6_1 },
    false,
  ),
  peer(
    'should reject BGPPeer with mismatched family address of ReachableBy and PeerIP (IPv6)',
    { peerIP: ipv6_1, reachableBy: ipv4_1 },
    false,
  ),
  peer(
    'should reject BGPPeer with mismatched family address of ReachableBy and PeerIP:Port (IPv6)',
    { peerIP: peerv6_1, reachableBy: ipv4_1 },
    false,
  ),
  peer(
    'should accept BGPPeerSpec with Password',
    { peerIP: ipv4_1, password: { secretKeyRef: { name: 'tigera-bgp-passwords', key: 'my-peering' } } },
    true,
  ),
  peer(
    'should reject invalid BGPPeerSpec (selector)',
    { nodeSelector: "kubernetes.io/hostname: == 'casey-crc-kadm-node-4'" },
    false,
  ),
  peer('should accept BGPPeerSpec with port in PeerIP (IPv4)', { peerIP: '192.168.1.1:500' }, true),
  peer('should accept BGPPeerSpec with port in PeerIP (IPv6)', { peerIP: '[9000::]:500' }, true),
  ...['[192.168.0.0]:98956', '192.168.0.0:65536', '192.168.0.0:0'].map((peerIP) =>
    peer('should reject BGPPeerSpec with invalid port in PeerIP (IPv4)', { peerIP }, false),
  ),
  peer('should reject BGPPeerSpec with invalid IP in PeerIP (IPv4)', { peerIP: '192.168.0.330:170' }, false),
  ...['[9000::]:98956', '[9000::]:65536', '[9000::]:0'].map((peerIP) =>
    peer('should reject BGPPeerSpec with invalid port in PeerIP (IPv6)', { peerIP }, false),
  ),
  peer('should reject invalid BGPPeerSpec without port set in PeerIP (IPv4)', { peerIP: '192.168.0.0:' }, false),
  peer('should reject invalid BGPPeerSpec without port set in PeerIP (IPv6)', { peerIP: '[9000::]:' }, false),
  peer('should reject BGPPeerSpec with invalid IP in PeerIP (IPv6)', { peerIP: '[9000::FFFFF]:170' }, false),
  peer('should reject invalid BGPPeerSpec when port is set with empty IP in PeerIP (IPv4)', { peerIP: ':8552' }, false),
  peer('should reject invalid BGPPeerSpec when port is set with empty IP in PeerIP (IPv6)', { peerIP: '[]:8552' }, false),
  peer('BGPPeer with valid SourceAddress UseNodeIP', { sourceAddress: 'UseNodeIP' }, true),
  peer('BGPPeer with valid SourceAddress None', { sourceAddress: 'None' }, true),
  peer('BGPPeer with invalid SourceAddress', { sourceAddress: 'rubbish' }, false),
  peer('BGPPeer with valid MaxRestartTime', { maxRestartTime: '10s' }, true),
  peer('valid nextHopMode passes', { nextHopMode: 'Auto' }, true, 'test-peer', C),
  peer('invalid nextHopMode fails enum', { nextHopMode: 'Invalid' }, false, 'test-peer', C),
  peer(
    'localWorkloadSelector with asNumber passes',
    { localWorkloadSelector: "color == 'red'", asNumber: 65401 },
    true,
    'test-peer',
    C,
  ),
  peer('localWorkloadSelector without asNumber fails', { localWorkloadSelector: "color == 'red'" }, false, 'test-peer', C),
  peer('peerSelector with asNumber fails', { peerSelector: 'has(label)', asNumber: 65401 }, false, 'test-peer', C),
  peer('valid node and peerIP passes', { node: 'node1', peerIP: '10.0.0.1' }, true, 'test-peer', C),
  peer(
    'reachableBy without peerIP fails',
    { peerSelector: 'all()', reachableBy: '10.0.0.254' },
    false,
    'test-peer',
    C,
  ),
  peer(
    'reachableBy with peerIP passes',
    { peerIP: '10.0.0.1', asNumber: 64512, reachableBy: '10.0.0.254' },
    true,
    'test-peer',
    C,
  ),
  peer(
    'keepOriginalNextHop with nextHopMode fails',
    { peerIP: '10.0.0.1', asNumber: 64512, keepOriginalNextHop: true, nextHopMode: 'Self' },
    false,
    'test-peer',
    C,
  ),
  peer(
    'keepOriginalNextHop alone passes',
    { peerIP: '10.0.0.1', asNumber: 64512, keepOriginalNextHop: true },
    true,
    'test-peer',
    C,
  ),
  peer('nextHopMode alone passes', { peerIP: '10.0.0.1', asNumber: 64512, nextHopMode: 'Keep' }, true, 'test-peer', C),

  // --- FelixConfiguration
  ...(['Legacy', 'NFT', 'Auto'] as const).map((v) =>
    felix(`should accept a valid IptablesBackend value '${v}'`, { iptablesBackend: v }, true),
  ),
  felix("should reject an invalid IptablesBackend value 'badVal'", { iptablesBackend: 'badVal' }, false),
  felix('should accept a valid DefaultEndpointToHostAction value', { defaultEndpointToHostAction: 'Drop' }, true),
  felix(
    "should accept a lowercase DefaultEndpointToHostAction value 'drop'",
    { defaultEndpointToHostAction: 'drop' },
    true,
  ),
  felix("should accept a valid IptablesFilterAllowAction value 'Accept'", { iptablesFilterAllowAction: 'Accept' }, true),
  felix("should accept a valid IptablesMangleAllowAction value 'Return'", { iptablesMangleAllowAction: 'Return' }, true),
  felix("should reject an invalid IptablesMangleAllowAction value 'Drop'", { iptablesMangleAllowAction: 'Drop' }, false),
  felix("should accept a valid IptablesFilterDenyAction value 'Drop'", { iptablesFilterDenyAction: 'Drop' }, true),
  felix("should accept a valid IptablesFilterDenyAction value 'Reject'", { iptablesFilterDenyAction: 'Reject' }, true),
  felix(
    'should accept a valid KubeNodePortRanges value',
    {
      kubeNodePortRanges: ['3000:4000', '5000:6000', '7000:8000', '8000:9000', '10000:11000', '12000:13000', 15000],
    },
    true,
  ),
  felix(
    'should reject a too-long KubeNodePortRanges value',
    {
      kubeNodePortRanges: [
        '3000:4000',
        '5000:6000',
        '7000:8000',
        '8000:9000',
        '10000:11000',
        '12000:13000',
        '14000:15000',
        '16000:17000',
      ],
    },
    false,
  ),
  felix('should reject a named port KubeNodePortRanges value', { kubeNodePortRanges: ['testport'] }, false),
  felix(
    'should accept a valid list of ExternalNodesCIDRList',
    { externalNodesList: ['1.1.1.1', '1.1.1.2/32', '1.1.3.0/23'] },
    true,
  ),
  felix('should reject an invalid list of ExternalNodesCIDRList', { externalNodesList: ['foobar', '1.1.1.1'] }, false),
  felix('should reject IPv6 list of ExternalNodesCIDRList', { externalNodesList: ['abcd::1', 'abef::2/128'] }, false),
  felix('should accept aan empty OpenStackRegion', { openstackRegion: '' }, true),
  felix('should accept a valid OpenStackRegion', { openstackRegion: 'foo' }, true),
  felix('should reject an invalid OpenStackRegion', { openstackRegion: 'FOO' }, false),
  felix(
    'should reject an overlong OpenStackRegion',
    { openstackRegion: 'my-region-has-a-very-long-and-extremely-interesting-name' },
    false,
  ),
  felix("should reject an invalid LogSeverityScreen value 'badVal'", { logSeverityScreen: 'badVal' }, false),
  felix("should reject an invalid LogSeverityFile value 'badVal'", { logSeverityFile: 'badVal' }, false),
  felix("should reject an invalid LogSeveritySys value 'badVal'", { logSeveritySys: 'badVal' }, false),
  felix("should reject an invalid LogSeveritySys value 'Critical'", { logSeveritySys: 'Critical' }, false),
  felix("should accept a valid LogSeverityScreen value 'Fatal'", { logSeverityScreen: 'Fatal' }, true),
  felix("should accept a valid LogSeverityScreen value 'Warning'", { logSeverityScreen: 'Warning' }, true),
  felix("should accept a valid LogSeverityScreen value 'Trace'", { logSeverityScreen: 'Trace' }, true),
  felix("should accept a valid LogSeverityFile value 'Debug'", { logSeverityFile: 'Debug' }, true),
  felix("should accept a valid LogSeveritySys value 'Info'", { logSeveritySys: 'Info' }, true),
  felix("should accept a valid LogSeveritySys value 'Trace'", { logSeveritySys: 'Trace' }, true),
  felix(
    "should accept a valid IptablesNATOutgoingInterfaceFilter value 'cali-123'",
    { iptablesNATOutgoingInterfaceFilter: 'cali-123' },
    true,
  ),
  felix(
    "should reject an invalid IptablesNATOutgoingInterfaceFilter value 'cali@123'",
    { iptablesNATOutgoingInterfaceFilter: 'cali@123' },
    false,
  ),
  felix("should reject an invalid BPFLogLevel value 'badVal'", { bpfLogLevel: 'badVal' }, false),
  ...(['Info', 'Debug', 'Off'] as const).map((v) =>
    felix(`should accept a valid BPFLogLevel value '${v}'`, { bpfLogLevel: v }, true),
  ),
  felix("should reject an invalid BPFExternalServiceMode value 'Foo'", { bpfExternalServiceMode: 'Foo' }, false),
  felix("should accept a valid BPFExternalServiceMode value 'Tunnel'", { bpfExternalServiceMode: 'Tunnel' }, true),
  felix("should accept a valid BPFExternalServiceMode value 'DSR'", { bpfExternalServiceMode: 'DSR' }, true),
  felix('should reject a negative BPFExtToServiceConnmark value', { bpfExtToServiceConnmark: -1 }, false),
  felix('should reject a gte 32bit BPFExtToServiceConnmark value', { bpfExtToServiceConnmark: 0x100000000 }, false),
  felix('should accept a zero BPFExtToServiceConnmark value', { bpfExtToServiceConnmark: 0 }, true),
  felix('should accept a 0xffffffff BPFExtToServiceConnmark value', { bpfExtToServiceConnmark: 0xffffffff }, true),
  felix("should reject an invalid BPFDataIfacePattern value '*'", { bpfDataIfacePattern: '*' }, false),
  felix("should accept a valid BPFDataIfacePattern value 'eth.*'", { bpfDataIfacePattern: 'eth.*' }, true),
  felix('should accept valid route table range', { routeTableRange: { min: 1, max: 250 } }, true),
  felix('should reject route table range min too small', { routeTableRange: { min: 0, max: 250 } }, false),
  felix('should reject route table range min negative', { routeTableRange: { min: -5, max: 250 } }, false),
  felix('should reject route table range max < min', { routeTableRange: { min: 50, max: 45 } }, false),
  felix('should reject route table range max too large', { routeTableRange: { min: 1, max: 253 } }, false),
  felix('should accept route table range with min == max', { routeTableRange: { min: 8, max: 8 } }, true),
  felix('should accept valid route table ranges', { routeTableRanges: [{ min: 1, max: 10000 }] }, true),
  felix('should accept route table ranges with min == max', { routeTableRanges: [{ min: 8, max: 8 }] }, true),
  felix(
    'should accept multiple route table ranges with min == max',
    {
      routeTableRanges: [
        { min: 8, max: 8 },
        { min: 7, max: 7 },
      ],
    },
    true,
  ),
  felix('should reject route table ranges min too small', { routeTableRanges: [{ min: 0, max: 250 }] }, false),
  felix('should reject route table ranges min negative', { routeTableRanges: [{ min: -5, max: 250 }] }, false),
  felix('should reject route table ranges max < min', { routeTableRanges: [{ min: 50, max: 45 }] }, false),
  felix('should reject route table ranges max too large', { routeTableRanges: [{ min: 1, max: 0xf00000000 }] }, false),
  felix(
    'should reject single route table ranges targeting too many tables',
    { routeTableRanges: [{ min: 1, max: 0x10000 }] },
    false,
  ),
  felix(
    'should reject multiple route table ranges targeting too many tables',
    {
      routeTableRanges: [
        { min: 1, max: 2 },
        { min: 3, max: 4 },
        { min: 5, max: 0x10000 },
      ],
    },
    false,
  ),
  felix(
    'should reject spec with both RouteTableRanges and RouteTableRange',
    { routeTableRanges: [{ min: 1, max: 250 }], routeTableRange: { min: 1, max: 250 } },
    false,
  ),
  felix("should reject an invalid MTUIfacePattern value '*'", { mtuIfacePattern: '*' }, false),
  felix("should accept a valid MTUIfacePattern value 'eth.*'", { mtuIfacePattern: 'eth.*' }, true),
  felix('should allow HealthTimeoutOverride 0', { healthTimeoutOverrides: [{ name: 'Valid', timeout: '0s' }] }, true),
  felix('should reject HealthTimeoutOverride -1', { healthTimeoutOverrides: [{ name: 'Valid', timeout: '-1ns' }] }, false),
  felix(
    'should reject HealthTimeoutOverride with bad name',
    { healthTimeoutOverrides: [{ name: '%', timeout: '10ns' }] },
    false,
  ),
  felix(
    'should reject HealthTimeoutOverride with no name',
    { healthTimeoutOverrides: [{ name: '', timeout: '10ns' }] },
    false,
  ),
  felix('invalid route priority 0', { ipv4ElevatedRoutePriority: 0 }, false),
  felix('valid route priority 1', { ipv4ElevatedRoutePriority: 1 }, true),
  felix('valid route priority 10000', { ipv4ElevatedRoutePriority: 10000 }, true),
  felix('valid route priority 2147483646', { ipv4ElevatedRoutePriority: 2147483646 }, true),
  felix('invalid route priority 2147483647', { ipv4ElevatedRoutePriority: 2147483647 }, false),
  ...(['DoNothing', 'Enable', 'Disable'] as const).map((v) =>
    felix(`should accept a valid AWSSrcDstCheck value '${v}'`, { awsSrcDstCheck: v }, true),
  ),
  felix("should reject an invalid AWSSrcDstCheck value 'enable'", { awsSrcDstCheck: 'enable' }, false),
  felix("should reject an invalid AWSSrcDstCheck value 'badVal'", { awsSrcDstCheck: 'badVal' }, false),
  ...(['Disabled', 'Enabled'] as const).map((v) =>
    felix(
      `should accept a valid BPFHostNetworkedNATWithoutCTLB value '${v}'`,
      { bpfHostNetworkedNATWithoutCTLB: v },
      true,
    ),
  ),
  ...(['Enabled', 'Disabled', 'TCP'] as const).map((v) =>
    felix(`should accept a valid BPFConnectTimeLoadBalancing value '${v}'`, { bpfConnectTimeLoadBalancing: v }, true),
  ),
  felix(
    "should reject an invalid BPFHostNetworkedNATWithoutCTLB value 'enabled'",
    { bpfHostNetworkedNATWithoutCTLB: 'enabled' },
    false,
  ),
  felix(
    "should reject an invalid BPFHostNetworkedNATWithoutCTLB value 'BadVal'",
    { bpfHostNetworkedNATWithoutCTLB: 'badVal' },
    false,
  ),
  felix(
    "should reject an invalid BPFConnectTimeLoadBalancing value 'BadVal'",
    { bpfConnectTimeLoadBalancing: 'badVal' },
    false,
  ),
  felix('should not accept an invalid IP address', { natOutgoingAddress: bad_ipv4_1 }, false),
  felix('should not accept a masked IP', { natOutgoingAddress: netv4_1 }, false),
  felix('should not accept an IPV6 address', { natOutgoingAddress: ipv6_1 }, false),
  felix('should accept a valid IP address', { natOutgoingAddress: ipv4_1 }, true),
  ...['localhost', '10.0.0.1', 'fe80::ea7a:70fa:cf74:25d5'].map((v) =>
    felix(`should accept a valid prometheusMetricsHost value '${v}'`, { prometheusMetricsHost: v }, true),
  ),
  ...['localhost#', '0: 1::1'].map((v) =>
    felix(`should reject an invalid prometheusMetricsHost value '${v}'`, { prometheusMetricsHost: v }, false),
  ),
  felix('should accept a valid IPv4 address', { deviceRouteSourceAddress: ipv4_1 }, true),
  felix('should not accept a valid IPv6 address', { deviceRouteSourceAddress: ipv6_1 }, false),
  felix('should not accept an invalid IP address', { deviceRouteSourceAddress: bad_ipv4_1 }, false),
  felix('should not accept a masked IP address', { deviceRouteSourceAddress: netv4_1 }, false),
  felix('should accept a valid IPv6 address', { deviceRouteSourceAddressIPv6: ipv6_1 }, true),
  felix('should not accept a valid IPv4 address', { deviceRouteSourceAddressIPv6: ipv4_1 }, false),
  felix('should not accept an invalid IPv4 address', { deviceRouteSourceAddressIPv6: bad_ipv6_1 }, false),
  felix('should not accept a masked IPv6 address', { deviceRouteSourceAddressIPv6: netv6_1 }, false),
  felix('should accept a valid listening port', { wireguardListeningPort: 12345 }, true),
  felix('should reject a valid listening port', { wireguardListeningPort: 99999 }, false),
  felix('should accept a valid routing rule priority', { wireguardRoutingRulePriority: 12345 }, true),
  felix('should reject a valid routing rule priority', { wireguardRoutingRulePriority: 99999 }, false),
  felix('should accept valid Wireguard interface', { wireguardInterfaceName: 'wg0' }, true),
  felix('should reject valid Wireguard interface', { wireguardInterfaceName: 'wg&0' }, false),
  ...(['Drop', 'Reject', 'Disabled'] as const).map((v) =>
    felix(`should accept ServiceLoopPrevention ${v}`, { serviceLoopPrevention: v }, true),
  ),
  felix('should reject ServiceLoopPrevention Wibbly', { serviceLoopPrevention: 'Wibbly' }, false),
  felix('should accept WindowsManageFirewallRules value Disabled', { windowsManageFirewallRules: 'Disabled' }, true),
  felix('should accept WindowsManageFirewallRules value Enabled', { windowsManageFirewallRules: 'Enabled' }, true),
  felix('should reject WindowsManageFirewallRules value blah', { windowsManageFirewallRules: 'blah' }, false),
  felix(
    "should accept a valid BPFForceTrackPacketsFromIfaces value 'docker+'",
    { bpfForceTrackPacketsFromIfaces: ['docker+'] },
    true,
  ),
  felix(
    "should accept a valid BPFForceTrackPacketsFromIfaces value 'docker0,docker1'",
    { bpfForceTrackPacketsFromIfaces: ['docker0', 'docker1'] },
    true,
  ),
  felix(
    "should reject invalid BPFForceTrackPacketsFromIfaces value 'cali-123,cali@456'",
    { bpfForceTrackPacketsFromIfaces: ['cali-123', 'cali@456'] },
    false,
  ),
];
