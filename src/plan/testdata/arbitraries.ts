// fast-check generators for random clusters and random change sequences, shared by the planner's property and
// differential tests. Names come from small fixed sets so that changes collide with existing objects (updates and
// deletes, not only inserts), and addresses from a few subnets so that CrossSubnet has both outcomes.
import fc from 'fast-check';
import type { PlanChange } from '../plan-state.js';
import type {
  ClusterSnapshot,
  EncapMode,
  SnapshotBGPConfiguration,
  SnapshotBGPFilter,
  SnapshotBGPPeer,
  SnapshotBlock,
  SnapshotEndpointSlice,
  SnapshotFelixConfiguration,
  SnapshotNode,
  SnapshotPod,
  SnapshotPool,
  SnapshotService,
} from '../snapshot.js';

export const NODE_NAMES = ['n0', 'n1', 'n2', 'n3', 'n4', 'n5', 'n6', 'n7'];
const MODES: EncapMode[] = ['Never', 'Always', 'CrossSubnet'];

/** Pool templates: two IPv4 pools and one IPv6 pool, /26 (/122) blocks; block i of pool k is fixed text. */
export const POOL_TEMPLATES = [
  { name: 'pool-a', cidr: '10.10.0.0/16', family: 4 as const },
  { name: 'pool-b', cidr: '10.20.0.0/16', family: 4 as const },
  { name: 'pool-v6', cidr: 'fd10::/48', family: 6 as const },
];

export function blockCidr(pool: number, i: number): string {
  if (pool === 2) return `fd10:0:0:${i.toString(16)}::/122`;
  return `10.${pool === 0 ? 10 : 20}.${i}.0/26`;
}

function blockAddress(pool: number, i: number, offset: number): string {
  if (pool === 2) return `fd10:0:0:${i.toString(16)}::${offset.toString(16)}`;
  return `10.${pool === 0 ? 10 : 20}.${i}.${offset}`;
}

export interface NodeShape {
  /** Subnet index (0..2) or -1 for no IPv4 address. */
  subnet: number;
  host: number;
  v6: boolean;
  ipip: boolean;
  vxlan: boolean;
  vxlanV6: boolean;
  rack: 'r0' | 'r1';
  as?: number;
  rr: boolean;
  /** node.kubernetes.io/exclude-from-external-load-balancers=true */
  excluded?: boolean;
}

export const nodeShape: fc.Arbitrary<NodeShape> = fc.record(
  {
    subnet: fc.integer({ min: -1, max: 2 }),
    host: fc.integer({ min: 1, max: 250 }),
    v6: fc.boolean(),
    ipip: fc.boolean(),
    vxlan: fc.boolean(),
    vxlanV6: fc.boolean(),
    rack: fc.constantFrom('r0' as const, 'r1' as const),
    as: fc.option(fc.constantFrom(64512, 65001), { nil: undefined }),
    rr: fc.boolean(),
    excluded: fc.boolean(),
  },
  { requiredKeys: ['subnet', 'host', 'v6', 'ipip', 'vxlan', 'vxlanV6', 'rack', 'rr'] },
);

export function nodeFromShape(name: string, s: NodeShape): SnapshotNode {
  const idx = NODE_NAMES.indexOf(name);
  const n: SnapshotNode = {
    name,
    labels: {
      rack: s.rack,
      ...(s.rr ? { 'route-reflector': 'true' } : {}),
      ...(s.excluded ? { 'node.kubernetes.io/exclude-from-external-load-balancers': 'true' } : {}),
    },
  };
  // Subnet 2 uses a /16 so that prefix lengths differ between views.
  if (s.subnet >= 0) n.ipv4 = { address: `192.168.${s.subnet}.${s.host}`, prefixLength: s.subnet === 2 ? 16 : 24, source: 'annotation' };
  if (s.v6) n.ipv6 = { address: `fd00:${s.subnet < 0 ? 9 : s.subnet}::${s.host.toString(16)}`, prefixLength: 64, source: 'annotation' };
  if (s.ipip) n.ipipTunnelAddress = `10.10.${40 + idx}.1`;
  if (s.vxlan) n.vxlanTunnelAddress = `10.20.${40 + idx}.1`;
  if (s.vxlanV6) n.vxlanTunnelAddressV6 = `fd10:0:0:${(64 + idx).toString(16)}::1`;
  if (s.as !== undefined) n.asNumber = s.as;
  if (s.rr) n.routeReflectorClusterId = '224.0.0.1';
  return n;
}

export const poolShape = (template: number): fc.Arbitrary<SnapshotPool> =>
  fc
    .record({
      ipip: fc.constantFrom(...MODES),
      vxlan: fc.constantFrom(...MODES),
      natOutgoing: fc.boolean(),
      disabled: fc.boolean(),
      disableBGPExport: fc.boolean(),
      lb: fc.integer({ min: 0, max: 9 }),
    })
    .map((r) => {
      const t = POOL_TEMPLATES[template] ?? POOL_TEMPLATES[0]!;
      // Calico rejects both encapsulations at once, and IPIP on IPv6: keep generated pools valid.
      const vxlan = r.vxlan;
      const ipip = t.family === 6 || vxlan !== 'Never' ? 'Never' : r.ipip;
      return {
        name: t.name,
        cidr: t.cidr,
        blockSize: t.family === 4 ? 26 : 122,
        ipipMode: ipip,
        vxlanMode: vxlan,
        natOutgoing: r.natOutgoing,
        disabled: r.disabled,
        disableBGPExport: r.disableBGPExport,
        nodeSelector: 'all()',
        allowedUses: r.lb === 0 ? ['LoadBalancer'] : ['Workload', 'Tunnel'],
      };
    });

export const blockShape: fc.Arbitrary<SnapshotBlock> = fc
  .record({
    pool: fc.integer({ min: 0, max: 2 }),
    index: fc.integer({ min: 0, max: 11 }),
    owner: fc.option(fc.constantFrom(...NODE_NAMES, 'ghost'), { nil: undefined, freq: 6 }),
    borrowed: fc.array(fc.tuple(fc.integer({ min: 2, max: 60 }), fc.constantFrom(...NODE_NAMES)), { maxLength: 3 }),
  })
  .map((r) => {
    const b: SnapshotBlock = {
      cidr: blockCidr(r.pool, r.index),
      allocations: r.borrowed.map(([off, holder]) => ({ address: blockAddress(r.pool, r.index, off), node: holder })),
    };
    if (r.owner !== undefined) b.affinity = r.owner;
    return b;
  });

export const podShape: fc.Arbitrary<SnapshotPod> = fc
  .record({
    name: fc.constantFrom('web', 'db', 'cache', 'api'),
    node: fc.constantFrom(...NODE_NAMES),
    pool: fc.integer({ min: 0, max: 2 }),
    index: fc.integer({ min: 0, max: 11 }),
    offset: fc.integer({ min: 2, max: 60 }),
  })
  .map((r) => ({ namespace: 'default', name: r.name, node: r.node, ips: [blockAddress(r.pool, r.index, r.offset)] }));

export const peerShape: fc.Arbitrary<SnapshotBGPPeer> = fc.oneof(
  fc.constant<SnapshotBGPPeer>({ name: 'rr-peers', nodeSelector: '!has(route-reflector)', peerSelector: 'has(route-reflector)' }),
  fc.constant<SnapshotBGPPeer>({ name: 'rr-mesh', nodeSelector: 'has(route-reflector)', peerSelector: 'has(route-reflector)' }),
  fc.constant<SnapshotBGPPeer>({ name: 'tor-r0', nodeSelector: 'rack == "r0"', peerIP: '192.168.0.254', asNumber: 65010, filters: ['no-pods'] }),
  fc.constant<SnapshotBGPPeer>({ name: 'global-tor', peerIP: '192.168.1.254:1179', asNumber: 65020, filters: ['tag', 'no-pods'] }),
  fc.constantFrom(...NODE_NAMES).map<SnapshotBGPPeer>((n) => ({ name: 'to-node', node: n, peerIP: '192.168.0.1', asNumber: 64512 })),
  fc.constant<SnapshotBGPPeer>({ name: 'rr-peers', peerSelector: 'rack == "r1"', reversePeering: 'Manual' }),
);

export const bgpConfigShape: fc.Arbitrary<SnapshotBGPConfiguration> = fc.oneof(
  fc.record(
    {
      name: fc.constant('default'),
      asNumber: fc.constantFrom(64512, 65000),
      nodeToNodeMeshEnabled: fc.boolean(),
      listenPort: fc.constantFrom(179, 1179),
      serviceClusterIPs: fc.constantFrom(['10.96.0.0/12'], []),
      serviceExternalIPs: fc.constantFrom(['192.0.2.0/24', '192.0.2.7/32'], ['192.0.2.0/24']),
      serviceLoadBalancerIPs: fc.constantFrom(['198.51.100.0/24', '198.51.100.9/32'], ['198.51.100.9/32']),
      serviceLoadBalancerAggregation: fc.constantFrom('Enabled' as const, 'Disabled' as const),
      prefixAdvertisements: fc.constantFrom([{ cidr: '10.10.0.0/16', communities: ['65000:1'] }]),
    },
    { requiredKeys: ['name', 'asNumber', 'nodeToNodeMeshEnabled'] },
  ),
  fc.constantFrom(...NODE_NAMES).map((n) => ({ name: `node.${n}`, listenPort: 1790 })),
);

/** Filters peers name (`no-pods`, `tag`), and one nobody names. */
export const filterShape: fc.Arbitrary<SnapshotBGPFilter> = fc.oneof(
  fc.constantFrom<SnapshotBGPFilter>(
    { name: 'no-pods', exportV4: [{ action: 'Reject', matchOperator: 'In', cidr: '10.10.0.0/16' }] },
    { name: 'no-pods', exportV4: [{ action: 'Reject', matchOperator: 'In', cidr: '10.20.0.0/16' }] },
    { name: 'tag', importV6: [{ action: 'Accept', operations: [{ addCommunity: { value: '65000:7' } }] }] },
    { name: 'tag', importV4: [{ action: 'Accept', peerType: 'eBGP' }] },
    { name: 'unused', exportV4: [{ action: 'Reject' }] },
  ),
);

const SERVICE_NAMES = ['web', 'db', 'edge'];

export const serviceShape: fc.Arbitrary<SnapshotService> = fc
  .record(
    {
      name: fc.constantFrom(...SERVICE_NAMES),
      type: fc.constantFrom('ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'),
      policy: fc.constantFrom(undefined, 'Cluster', 'Local'),
      ip: fc.integer({ min: 1, max: 20 }),
      external: fc.constantFrom([], ['192.0.2.7'], ['192.0.2.30']),
      ingress: fc.constantFrom([], ['198.51.100.9'], ['198.51.100.20']),
    },
    { requiredKeys: ['name', 'type', 'ip', 'external', 'ingress'] },
  )
  .map((r) => {
    const svc: SnapshotService = {
      namespace: 'default',
      name: r.name,
      type: r.type,
      clusterIPs: r.type === 'ExternalName' ? [] : [`10.96.0.${r.ip}`],
      externalIPs: r.external,
      ingressIPs: r.type === 'LoadBalancer' ? r.ingress : [],
      ipFamilies: ['IPv4'],
    };
    if (r.policy !== undefined) svc.externalTrafficPolicy = r.policy;
    return svc;
  });

export const sliceShape: fc.Arbitrary<SnapshotEndpointSlice> = fc
  .record({
    service: fc.constantFrom(...SERVICE_NAMES),
    suffix: fc.constantFrom('a', 'b'),
    nodes: fc.uniqueArray(fc.constantFrom(...NODE_NAMES), { maxLength: 3 }),
    notReady: fc.boolean(),
  })
  .map((r) => ({
    namespace: 'default',
    name: `${r.service}-${r.suffix}`,
    service: r.service,
    addressType: 'IPv4',
    anyReady: r.nodes.length > 0 || !r.notReady,
    readyNodes: [...r.nodes].sort(),
  }));

export const felixShape: fc.Arbitrary<SnapshotFelixConfiguration> = fc.oneof(
  fc.record({ name: fc.constant('default'), spec: fc.record({ vxlanVNI: fc.constantFrom(4096, 4097), ipipMTU: fc.constantFrom(0, 1400) }) }),
  fc.constantFrom(...NODE_NAMES).map((n) => ({ name: `node.${n}`, spec: { vxlanPort: 8472, ipipEnabled: true } })),
);

export const clusterShape: fc.Arbitrary<ClusterSnapshot> = fc
  .record({
    nodes: fc.uniqueArray(fc.tuple(fc.constantFrom(...NODE_NAMES), nodeShape), { selector: (t) => t[0], minLength: 1, maxLength: 8 }),
    pools: fc.tuple(fc.option(poolShape(0)), fc.option(poolShape(1)), fc.option(poolShape(2))),
    blocks: fc.uniqueArray(blockShape, { selector: (b) => b.cidr, maxLength: 14 }),
    pods: fc.uniqueArray(podShape, { selector: (p) => p.name, maxLength: 4 }),
    peers: fc.uniqueArray(peerShape, { selector: (p) => p.name, maxLength: 3 }),
    bgp: fc.uniqueArray(bgpConfigShape, { selector: (c) => c.name, maxLength: 2 }),
    felix: fc.uniqueArray(felixShape, { selector: (c) => c.name, maxLength: 2 }),
    filters: fc.uniqueArray(filterShape, { selector: (f) => f.name, maxLength: 3 }),
    services: fc.uniqueArray(serviceShape, { selector: (x) => x.name, maxLength: 3 }),
    slices: fc.uniqueArray(sliceShape, { selector: (x) => x.name, maxLength: 4 }),
  })
  .map((r) => ({
    nodes: r.nodes.map(([name, s]) => nodeFromShape(name, s)),
    pools: r.pools.filter((p): p is SnapshotPool => p !== null),
    blocks: r.blocks,
    pods: r.pods,
    bgpConfigurations: r.bgp,
    bgpPeers: r.peers,
    felixConfigurations: r.felix,
    bgpFilters: r.filters,
    services: r.services,
    endpointSlices: r.slices,
  }));

export const changeShape: fc.Arbitrary<PlanChange> = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(fc.constantFrom(...NODE_NAMES), nodeShape).map<PlanChange>(([name, s]) => ({ kind: 'node', name, node: nodeFromShape(name, s) })) },
  { weight: 1, arbitrary: fc.constantFrom(...NODE_NAMES).map<PlanChange>((name) => ({ kind: 'node', name })) },
  {
    weight: 2,
    arbitrary: fc.integer({ min: 0, max: 2 }).chain((t) => fc.tuple(fc.constant(t), fc.option(poolShape(t)))).map<PlanChange>(([t, p]) => {
      const name = POOL_TEMPLATES[t]?.name ?? 'pool-a';
      return p ? { kind: 'pool', name, pool: p } : { kind: 'pool', name };
    }),
  },
  { weight: 4, arbitrary: blockShape.map<PlanChange>((b) => ({ kind: 'block', cidr: b.cidr, block: b })) },
  { weight: 1, arbitrary: blockShape.map<PlanChange>((b) => ({ kind: 'block', cidr: b.cidr })) },
  { weight: 2, arbitrary: podShape.map<PlanChange>((p) => ({ kind: 'pod', namespace: p.namespace, name: p.name, pod: p })) },
  { weight: 1, arbitrary: podShape.map<PlanChange>((p) => ({ kind: 'pod', namespace: p.namespace, name: p.name })) },
  { weight: 2, arbitrary: peerShape.map<PlanChange>((p) => ({ kind: 'bgpPeer', name: p.name, peer: p })) },
  { weight: 1, arbitrary: peerShape.map<PlanChange>((p) => ({ kind: 'bgpPeer', name: p.name })) },
  { weight: 1, arbitrary: bgpConfigShape.map<PlanChange>((c) => ({ kind: 'bgpConfiguration', name: c.name, config: c })) },
  { weight: 1, arbitrary: bgpConfigShape.map<PlanChange>((c) => ({ kind: 'bgpConfiguration', name: c.name })) },
  { weight: 1, arbitrary: felixShape.map<PlanChange>((c) => ({ kind: 'felixConfiguration', name: c.name, config: c })) },
  { weight: 1, arbitrary: felixShape.map<PlanChange>((c) => ({ kind: 'felixConfiguration', name: c.name })) },
  { weight: 1, arbitrary: filterShape.map<PlanChange>((f) => ({ kind: 'bgpFilter', name: f.name, filter: f })) },
  { weight: 1, arbitrary: filterShape.map<PlanChange>((f) => ({ kind: 'bgpFilter', name: f.name })) },
  { weight: 2, arbitrary: serviceShape.map<PlanChange>((x) => ({ kind: 'service', namespace: x.namespace, name: x.name, service: x })) },
  { weight: 1, arbitrary: serviceShape.map<PlanChange>((x) => ({ kind: 'service', namespace: x.namespace, name: x.name })) },
  { weight: 3, arbitrary: sliceShape.map<PlanChange>((x) => ({ kind: 'endpointSlice', namespace: x.namespace, name: x.name, slice: x })) },
  { weight: 1, arbitrary: sliceShape.map<PlanChange>((x) => ({ kind: 'endpointSlice', namespace: x.namespace, name: x.name })) },
);

/** Applies a change to a plain snapshot: the reference the incremental planner is compared against. */
export function applyToSnapshot(s: ClusterSnapshot, c: PlanChange): ClusterSnapshot {
  const upsert = <T>(list: readonly T[], same: (x: T) => boolean, value: T | undefined): T[] => {
    const rest = list.filter((x) => !same(x));
    return value === undefined ? rest : [...rest, value];
  };
  switch (c.kind) {
    case 'node':
      return { ...s, nodes: upsert(s.nodes, (x) => x.name === c.name, c.node) };
    case 'pool':
      return { ...s, pools: upsert(s.pools, (x) => x.name === c.name, c.pool) };
    case 'block':
      return { ...s, blocks: upsert(s.blocks, (x) => x.cidr === c.cidr, c.block) };
    case 'pod':
      return { ...s, pods: upsert(s.pods, (x) => x.namespace === c.namespace && x.name === c.name, c.pod) };
    case 'bgpPeer':
      return { ...s, bgpPeers: upsert(s.bgpPeers, (x) => x.name === c.name, c.peer) };
    case 'bgpConfiguration':
      return { ...s, bgpConfigurations: upsert(s.bgpConfigurations, (x) => x.name === c.name, c.config) };
    case 'felixConfiguration':
      return { ...s, felixConfigurations: upsert(s.felixConfigurations, (x) => x.name === c.name, c.config) };
    case 'bgpFilter':
      return { ...s, bgpFilters: upsert(s.bgpFilters ?? [], (x) => x.name === c.name, c.filter) };
    case 'service':
      return {
        ...s,
        services: upsert(s.services ?? [], (x) => x.namespace === c.namespace && x.name === c.name, c.service),
      };
    case 'endpointSlice':
      return {
        ...s,
        endpointSlices: upsert(s.endpointSlices ?? [], (x) => x.namespace === c.namespace && x.name === c.name, c.slice),
      };
  }
}
