// The confd golden tests Tabby's BIRD output is compared with (calico: confd/tests/*_test.go): each names its golden
// directory under confd/tests/compiled_templates/, the input files under confd/tests/mock_data/calicoctl/ applied in
// order (a later object replaces an earlier one of the same kind and name, as the tests' upserts do), the node confd
// ran as, whether the tests' standard block affinities exist, the Secrets (namespace kube-system) and the edits the
// Go test made between steps. `scripts/confd-goldens.ts` reads these files from a Calico checkout into
// confd-goldens.json. Test support only.

export type Obj = Record<string, unknown> & { kind: string; metadata: { name: string; [k: string]: unknown } };

export interface ConfdCase {
  golden: string;
  inputs: string[];
  /** Default kube-master. */
  node?: string;
  /** The tests' standard block affinities of kube-master (helpers_test.go standardBlockAffinities). Default true. */
  affinities?: boolean;
  /** Secret name → data. */
  secrets?: Record<string, Record<string, string>>;
  /** What the Go test changed before expecting this golden. */
  edit?: (objects: Obj[]) => Obj[];
}

const simple = (golden: string, extra: string[] = []): ConfdCase => ({
  golden,
  inputs: [`${golden}/input.yaml`, ...extra.map((f) => `${golden}/${f}`)],
});

function patchSpec(kind: string, name: string, patch: Record<string, unknown>) {
  return (objects: Obj[]): Obj[] =>
    objects.map((o) =>
      o.kind === kind && o.metadata.name === name
        ? { ...o, spec: { ...((o.spec as Record<string, unknown> | undefined) ?? {}), ...patch } }
        : o,
    );
}

const SIMPLE = [
  'mesh/bgp-export',
  'mesh/ipip-always',
  'mesh/ipip-cross-subnet',
  'mesh/ipip-off',
  'mesh/vxlan-always',
  'mesh/communities',
  'mesh/restart-time',
  'mesh/route-reflector-mesh-enabled',
  'explicit_peering/global',
  'explicit_peering/global-external',
  'explicit_peering/global-ipv6',
  'explicit_peering/specific_node',
  'explicit_peering/selectors',
  'explicit_peering/route_reflector',
  'explicit_peering/route_reflector_v6_by_ip',
  'explicit_peering/keepnexthop',
  'explicit_peering/keepnexthop-global',
  'explicit_peering/local-as',
  'explicit_peering/local-as-global',
  'explicit_peering/local-as-ipv6',
  'explicit_peering/local-as-global-ipv6',
  'bgpfilter/single_filter/global_peer',
  'bgpfilter/single_filter/explicit_peer',
  'bgpfilter/multi_filter/global_peer',
  'bgpfilter/multi_filter/explicit_peer',
  'bgpfilter/node_mesh',
  'bgpfilter/match_operators',
  'bgpfilter/match_source',
  'bgpfilter/match_interface',
  'bgpfilter/filter_names',
  'bgpfilter/import_only/explicit_peer',
  'bgpfilter/import_only/global_peer',
  'bgpfilter/export_only/explicit_peer',
  'bgpfilter/export_only/global_peer',
  'bgpfilter/v4_only/explicit_peer',
  'bgpfilter/v4_only/global_peer',
  'bgpfilter/v6_only/explicit_peer',
  'bgpfilter/v6_only/global_peer',
  'bgpfilter/communities_and_operations',
  'bgpfilter/peer_type',
  'bgpfilter/as_path_and_priority',
  'bgpfilter/large_community',
  'ttl_security/explicit_node',
  'ttl_security/peer_selector',
  'ttl_security/global',
  'ignored_interfaces',
  'reachable_by/global_peers',
  'reachable_by/route_reflectors',
  'next_hop_mode/global_peers',
  'next_hop_mode/route_reflectors',
  'reverse_peering/manual',
  'reverse_peering/auto',
];

const node1 = { node: 'node1', affinities: false };
const meshPassword = (golden: string, secrets?: Record<string, Record<string, string>>): ConfdCase => ({
  golden: `mesh/password/${golden}`,
  inputs: ['mesh_password/input.yaml'],
  ...(secrets ? { secrets } : {}),
});
const peerPassword = (step: number, secrets: Record<string, Record<string, string>>): ConfdCase => ({
  golden: `password/step${step}`,
  inputs: ['password/input.yaml'],
  ...node1,
  secrets,
});
const sourceAddr = (step: number, patch?: Record<string, unknown>): ConfdCase => ({
  golden: `sourceaddr_gracefulrestart/step${step}`,
  inputs: ['sourceaddr_gracefulrestart/input.yaml'],
  ...node1,
  ...(patch ? { edit: patchSpec('BGPPeer', 'bgppeer-1', patch) } : {}),
});
const priority = (step: number, patch?: Record<string, unknown>): ConfdCase => ({
  golden: `bgpfilter/node_mesh/priority${step}`,
  inputs: ['bgpfilter/node_mesh/input.yaml'],
  affinities: false,
  ...(patch ? { edit: patchSpec('BGPConfiguration', 'default', patch) } : {}),
});

export const CONFD_CASES: ConfdCase[] = [
  ...SIMPLE.map((g) => simple(g)),
  simple('mesh/static-routes', ['kubectl-input.yaml']),
  simple('mesh/static-routes-exclude-node', ['kubectl-input.yaml']),
  {
    golden: 'mesh/communities/step2',
    inputs: ['mesh/communities/input.yaml', 'mesh/communities/step2/input.yaml'],
  },
  {
    golden: 'mesh/static-routes/step2',
    inputs: [
      'mesh/static-routes/input.yaml',
      'mesh/static-routes/kubectl-input.yaml',
      'mesh/static-routes/step2/input.yaml',
    ],
  },
  {
    golden: 'mesh/static-routes-exclude-node/step2',
    inputs: [
      'mesh/static-routes-exclude-node/input.yaml',
      'mesh/static-routes-exclude-node/kubectl-input.yaml',
      'mesh/static-routes-exclude-node/step2/input.yaml',
    ],
  },
  {
    golden: 'explicit_peering/selectors/step2',
    inputs: ['explicit_peering/selectors/input.yaml', 'explicit_peering/selectors/step2/input.yaml'],
  },
  // daemon_test.go TestNodeMeshBGPPassword.
  meshPassword('step1'),
  meshPassword('step2', { 'my-secrets-1': { a: 'password-a' } }),
  meshPassword('step3', { 'my-secrets-1': { a: 'new-password-a' } }),
  // daemon_test.go TestBGPPeerPassword.
  peerPassword(1, {}),
  peerPassword(2, { 'my-secrets-1': { b: 'password-b' } }),
  peerPassword(3, { 'my-secrets-1': { b: 'password-b', a: 'password-a' }, 'my-secrets-2': { c: 'password-c' } }),
  peerPassword(4, { 'my-secrets-1': { b: 'password-b', a: 'password-a' } }),
  peerPassword(5, { 'my-secrets-1': { b: 'new-password-b', a: 'new-password-a' } }),
  peerPassword(6, { 'my-secrets-1': { b: 'new-password-b' } }),
  // daemon_test.go TestSourceAddrGracefulRestart.
  sourceAddr(1),
  sourceAddr(2, { sourceAddress: 'None' }),
  sourceAddr(3, { sourceAddress: 'None', maxRestartTime: '10s' }),
  // daemon_test.go TestNormalRoutePriorityChange.
  priority(1),
  priority(2, { ipv4NormalRoutePriority: 5000 }),
  priority(3, { ipv4NormalRoutePriority: 5000, ipv6NormalRoutePriority: 80 }),
  // daemon_test.go TestBGPFilterDeletion.
  { golden: 'bgpfilter/filter_deletion/step1', inputs: ['bgpfilter/filter_deletion/input.yaml'] },
  {
    golden: 'bgpfilter/filter_deletion/step2',
    inputs: ['bgpfilter/filter_deletion/input.yaml'],
    edit: (objects) => objects.filter((o) => !(o.kind === 'BGPFilter' && o.metadata.name === 'test-filter')),
  },
];

/** helpers_test.go standardBlockAffinities: kube-master's blocks (the pending one is left out by confd). */
export const STANDARD_AFFINITIES: { cidr: string; state: string }[] = [
  { cidr: '10.0.0.0/30', state: '' },
  { cidr: '10.1.0.0/24', state: '' },
  { cidr: '10.2.0.1/32', state: '' },
  { cidr: '192.168.221.192/26', state: '' },
  { cidr: '192.168.221.64/26', state: 'confirmed' },
  { cidr: '192.168.221.0/26', state: 'pending' },
];

export const GOLDEN_FILES = [
  'bird.cfg',
  'bird_aggr.cfg',
  'bird_ipam.cfg',
  'bird6.cfg',
  'bird6_aggr.cfg',
  'bird6_ipam.cfg',
] as const;
