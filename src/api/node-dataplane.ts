// NodeDataplane (dataplane.tabby.dev/v1alpha1, cluster-scoped, one per Node, same name, owned by the Node).
//
// What is particular to one node, written by two managers (ARCHITECTURE.md "The NodeDataplane contract"):
// - `status.desired` (field manager `tabby-operator`): the node's view, own blocks (blackholes), borrowed /32s, tunnel
//   devices, MTU overrides, NAT-outgoing sets, BGP, the effective FelixConfiguration subset — plus `revision`, a
//   content hash of everything else in `desired` so "nothing changed" is a string comparison.
// - `status.applied` (field manager `tabby-agent`): which desired revision and, per route view, which revision of its
//   RouteTable shards (one digest per view, src/plan/view-revision.ts) the agent has programmed, when, with what
//   counts and errors.
// - `status.conditions`: `Planned` (operator) and `Programmed` (agent), each with `observedGeneration`.
// - `status.pathMTU` and the `PathMTU` condition (field manager `tabby-agent-pathmtu`): whether the configured MTU
//   crosses the underlay to each peer (agent/path-mtu.ts).
// Routes to other nodes' blocks are NOT here: they live in the shared per-view RouteTable shards (route-table.ts), so
// a node join writes one NodeDataplane and one shard per view, never all N objects.
// Invariants: every list is sorted by its key (named below) so equal content gives an equal revision; addresses are
// canonical text (IPv6 per RFC 5952), CIDRs have host bits zero except `nodeAddress.ipv4`/`ipv6` (interface form).
import { z } from 'zod';
import { ConditionsSchema, envelope } from './common.js';
import { defineKind, field, TABBY_API_VERSION, TABBY_GROUP, TABBY_VERSION } from './meta.js';

const cidr = (description: string) => field(z.string().min(1).max(64), description);
const ip = (description: string) => field(z.string().min(1).max(45), description);
const uint = () => z.number().int().min(0);

// Required lists that one manager writes whole are atomic. Under server-side apply a `map` list whose last owned item
// is removed disappears from the object instead of becoming [] (structured-merge-diff prunes it), so the apiserver
// rejects the apply ("Required value") the moment e.g. a node's last tunnel or BGP peer goes — seen against
// kube-apiserver v1.36. An atomic list is replaced as a value and [] stays [].
const ATOMIC_REQUIRED_LIST = { 'x-kubernetes-list-type': 'atomic' } as const;

export const NodeDataplaneSpecSchema = z.looseObject({
  nodeName: field(z.string().min(1).max(253), 'The Node this dataplane belongs to (equal to metadata.name).'),
});
export type NodeDataplaneSpec = z.infer<typeof NodeDataplaneSpecSchema>;

export const OwnBlockSchema = z.looseObject({
  cidr: cidr('Block CIDR affine to this node; programmed as a blackhole route (except a /32 or /128 block).'),
  pool: field(z.string(), 'Name of the IPPool the block belongs to.'),
});
export type OwnBlock = z.infer<typeof OwnBlockSchema>;

export const BorrowedAddressSchema = z.looseObject({
  cidr: cidr('The /32 (or /128) address this node uses from a block that is not affine to it.'),
  block: cidr('The block the address was borrowed from.'),
  blockNode: field(z.string().optional(), 'The node the block is affine to; absent for an un-affine block.'),
  pool: field(z.string(), 'Name of the IPPool the block belongs to.'),
});
export type BorrowedAddress = z.infer<typeof BorrowedAddressSchema>;

export const WorkloadRouteSchema = z.looseObject({
  cidr: cidr('Pod address as /32 or /128.'),
  interface: field(z.string().min(1).max(15), 'Host-side veth, e.g. cali1234567890a.'),
  namespace: field(z.string().optional(), 'Pod namespace.'),
  pod: field(z.string().optional(), 'Pod name.'),
});
export type WorkloadRoute = z.infer<typeof WorkloadRouteSchema>;

export const TunnelDeviceSchema = z.looseObject({
  name: field(z.enum(['tunl0', 'vxlan.calico', 'vxlan-v6.calico']), 'Device name, as Calico names it.'),
  type: field(z.enum(['ipip', 'vxlan']), 'Encapsulation the device carries.'),
  family: field(z.union([z.literal(4), z.literal(6)]), 'Address family of the tunnelled traffic.'),
  address: field(
    z.string().max(45).optional(),
    "The node's tunnel address (plain IP, programmed as /32 or /128); absent: the device carries no address.",
  ),
  mtu: field(
    uint().max(65535).optional(),
    'Device MTU; absent or 0: the agent derives it from the host MTU (IPIP -20, VXLAN -50, VXLAN v6 -70).',
  ),
  vni: field(uint().max(16777215).optional(), 'VXLAN network identifier (Felix vxlanVNI, default 4096).'),
  port: field(uint().max(65535).optional(), 'VXLAN UDP destination port (Felix vxlanPort, default 4789).'),
  mac: field(
    z.string().max(17).optional(),
    "VXLAN device MAC: the Node's projectcalico.org/VXLANTunnelMACAddr, else Calico's computed 66:xx MAC.",
  ),
  parentAddress: field(
    z.string().max(45).optional(),
    'Node address the VXLAN device binds to as source (its parent interface is the one holding it).',
  ),
});
export type TunnelDevice = z.infer<typeof TunnelDeviceSchema>;

export const MtuSchema = z.looseObject({
  workload: field(
    uint().max(65535).optional(),
    'MTU for pod veths; absent or 0: the smallest of the enabled encapsulations derived from the host MTU.',
  ),
  ipip: field(uint().max(65535).optional(), 'Configured tunl0 MTU (Felix ipipMTU); 0 or absent = auto.'),
  vxlan: field(uint().max(65535).optional(), 'Configured vxlan.calico MTU (Felix vxlanMTU); 0 or absent = auto.'),
  vxlanV6: field(
    uint().max(65535).optional(),
    'Configured vxlan-v6.calico MTU (Felix vxlanMTUV6); 0 or absent = auto.',
  ),
  ifacePattern: field(
    z.string().max(256).optional(),
    'Regular expression selecting host interfaces whose smallest MTU is the host MTU (Felix mtuIfacePattern).',
  ),
});
export type Mtu = z.infer<typeof MtuSchema>;

export const NatOutgoingSchema = z.looseObject({
  sourceCidrs: field(
    z.array(z.string().max(64)),
    'CIDRs of pools with natOutgoing: traffic from them to outside allPoolCidrs is masqueraded. Sorted.',
  ),
  allPoolCidrs: field(
    z.array(z.string().max(64)),
    'CIDRs of every pool (disabled included): destinations inside them are not masqueraded. Sorted.',
  ),
  outgoingAddress: ip(
    'Source address for masquerade (Felix natOutgoingAddress); absent = the outgoing interface.',
  ).optional(),
  portRange: field(z.string().max(16).optional(), 'Port range for SNAT (Felix natPortRange), e.g. 32768:65535.'),
});
export type NatOutgoing = z.infer<typeof NatOutgoingSchema>;

export const SecretKeyRefSchema = z.looseObject({
  name: field(z.string().min(1).max(253), 'Secret name.'),
  key: field(z.string().min(1).max(253), 'Key in the Secret.'),
  namespace: field(z.string().max(63).optional(), "Secret namespace; absent = the agent's own namespace."),
});
export type SecretKeyRef = z.infer<typeof SecretKeyRefSchema>;

export const BgpPeerTypeSchema = z.enum(['mesh', 'global', 'node', 'routeReflector', 'routeReflectorClient']);
export type BgpPeerType = z.infer<typeof BgpPeerTypeSchema>;

export const PlannedBgpPeerSchema = z.looseObject({
  name: field(
    z.string().min(1).max(128),
    'Session name, unique on the node and stable (BIRD protocol name: Mesh_/Node_/Global_ + address).',
  ),
  peerIP: ip('Remote address (plain IP).'),
  port: field(uint().max(65535).optional(), 'Remote TCP port; absent = 179.'),
  asNumber: field(uint().max(4294967295), 'Remote AS number.'),
  localASNumber: field(uint().max(4294967295).optional(), 'Local AS for this session; absent = the node AS.'),
  type: field(BgpPeerTypeSchema, 'Why the session exists: node mesh, global BGPPeer, node-specific BGPPeer, or RR.'),
  source: field(z.string().max(253).optional(), 'BGPPeer object (or remote node for mesh) this session comes from.'),
  passwordSecretRef: field(SecretKeyRefSchema.optional(), 'Secret holding the TCP MD5 password.'),
  sourceAddress: ip(
    'Local address to bind the session to (BGPPeer sourceAddress UseNodeIP); absent = none.',
  ).optional(),
  passive: field(z.boolean().optional(), 'Wait for the peer to connect (Calico: the lexically lower IP side).'),
  routeReflectorClient: field(z.boolean().optional(), 'This node reflects routes to the peer (peer is its client).'),
  nextHopMode: field(z.enum(['Auto', 'Self', 'Keep']).optional(), 'Next-hop handling for routes sent to the peer.'),
  ttlSecurity: field(uint().max(255).optional(), 'GTSM hop count; absent = off.'),
  maxRestartTimeSeconds: field(uint().optional(), 'Graceful restart time.'),
  keepaliveTimeSeconds: field(uint().optional(), 'Keepalive time.'),
  numAllowedLocalASNumbers: field(uint().optional(), 'allow local as N.'),
  reachableBy: ip('Gateway for a static route to the peer.').optional(),
  filters: field(z.array(z.string()).optional(), 'BGPFilter names applied to this session, in order.'),
});
export type PlannedBgpPeer = z.infer<typeof PlannedBgpPeerSchema>;

/** One BGPFilter rule as Calico's spec writes it (validated by the BGPFilter kind before it gets here). */
export const BgpFilterRuleSchema = z.looseObject({
  action: field(z.enum(['Accept', 'Reject']), 'What a matching rule does.'),
  cidr: field(z.string().max(64).optional(), 'Prefix compared with the route (matchOperator, prefixLength).'),
  matchOperator: field(z.enum(['Equal', 'NotEqual', 'In', 'NotIn']).optional(), 'How the prefix is compared.'),
  prefixLength: field(
    z.looseObject({ min: uint().max(128).optional(), max: uint().max(128).optional() }).optional(),
    'Prefix-length range of the CIDR match.',
  ),
  source: field(z.enum(['RemotePeers']).optional(), 'Only routes learned from BGP peers.'),
  interface: field(z.string().max(15).optional(), 'Only routes via a matching interface.'),
  peerType: field(z.enum(['eBGP', 'iBGP']).optional(), 'Only sessions of this type.'),
  communities: field(
    z.looseObject({ values: z.array(z.string().max(32)) }).optional(),
    'Only routes carrying this community.',
  ),
  asPathPrefix: field(z.array(uint().max(4294967295)).optional(), 'Only routes whose AS path starts so.'),
  priority: field(uint().max(2147483646).optional(), 'Only routes of this priority.'),
  operations: field(
    z
      .array(
        z.looseObject({
          addCommunity: z.looseObject({ value: z.string().max(32) }).optional(),
          prependASPath: z.looseObject({ prefix: z.array(uint().max(4294967295)) }).optional(),
          setPriority: z.looseObject({ value: uint().max(2147483646) }).optional(),
        }),
      )
      .optional(),
    'Modifications before accepting.',
  ),
});
export type BgpFilterRule = z.infer<typeof BgpFilterRuleSchema>;

const filterRules = (what: string) => field(z.array(BgpFilterRuleSchema).optional(), what, ATOMIC_REQUIRED_LIST);

export const PlannedBgpFilterSchema = z.looseObject({
  name: field(z.string().min(1).max(253), 'BGPFilter name.'),
  exportV4: filterRules('IPv4 export rules, in order.'),
  importV4: filterRules('IPv4 import rules, in order.'),
  exportV6: filterRules('IPv6 export rules, in order.'),
  importV6: filterRules('IPv6 import rules, in order.'),
});
export type PlannedBgpFilter = z.infer<typeof PlannedBgpFilterSchema>;

export const CommunityRuleSchema = z.looseObject({
  cidr: cidr('Routes inside this prefix get the communities (BIRD `net ~ cidr`).'),
  communities: field(z.array(z.string().max(32)), 'aa:nn or aa:nn:mm values, sorted, no duplicates.'),
});
export type CommunityRule = z.infer<typeof CommunityRuleSchema>;

export const ExportedPrefixSchema = z.looseObject({
  cidr: cidr('Prefix announced to peers.'),
  origin: field(
    z.enum(['block', 'borrowed', 'serviceClusterIP', 'serviceExternalIP', 'serviceLoadBalancerIP', 'other']),
    'Why the prefix is exported.',
  ),
});
export type ExportedPrefix = z.infer<typeof ExportedPrefixSchema>;

export const PlannedBgpSchema = z.looseObject({
  asNumber: field(uint().max(4294967295), "The node's AS (Node bgp.asNumber, else BGPConfiguration default)."),
  routerID: field(z.string().max(45), 'BGP router id (IPv4 text).'),
  ipv4Address: field(z.string().max(64).optional(), 'Node BGP IPv4 address with its interface prefix.'),
  ipv6Address: field(z.string().max(64).optional(), 'Node BGP IPv6 address with its interface prefix.'),
  listenPort: field(uint().max(65535).optional(), 'BGP listen port; absent = 179.'),
  defaultASNumber: field(
    uint().max(4294967295).optional(),
    'BGPConfiguration default AS (64512 when unset): the AS of mesh peers whose node sets none.',
  ),
  defaultListenPort: field(
    uint().max(65535).optional(),
    'BGPConfiguration default listen port: the port of mesh peers without a node-specific one; absent = 179.',
  ),
  bindMode: field(z.enum(['None', 'NodeIP']).optional(), 'NodeIP: listen only on the node address.'),
  logSeverityScreen: field(z.string().max(16).optional(), 'BIRD debug level (BGPConfiguration logSeverityScreen).'),
  nodeToNodeMesh: field(
    z.boolean(),
    "Full mesh on: the agent peers with every other node listed in its view's RouteTable shards.",
  ),
  meshPasswordSecretRef: field(SecretKeyRefSchema.optional(), 'Password for mesh sessions.'),
  meshMaxRestartTimeSeconds: field(uint().optional(), 'Graceful restart time for mesh sessions.'),
  routeReflectorClusterID: field(
    z.string().max(45).optional(),
    'Set when this node is a route reflector (IPv4-formatted cluster id).',
  ),
  ignoredInterfaces: field(z.array(z.string()).optional(), 'Interface globs BIRD direct protocol skips.'),
  // Atomic, not a map list: see ATOMIC_REQUIRED_LIST.
  peers: field(z.array(PlannedBgpPeerSchema), 'Explicit sessions (not mesh). Sorted by name.', ATOMIC_REQUIRED_LIST),
  exportPrefixes: field(z.array(ExportedPrefixSchema), 'Prefixes this node announces. Sorted by cidr.'),
  rejectPrefixes: field(
    z.array(z.string().max(64)).optional(),
    'Pool CIDRs never exported (IPPool disableBGPExport). Sorted.',
  ),
  communities: field(
    z.array(CommunityRuleSchema).optional(),
    "Communities by prefix (BGPConfiguration prefixAdvertisements: the node's own, else the default's), in order.",
  ),
  filters: field(
    z.array(PlannedBgpFilterSchema).optional(),
    "The BGPFilters named by this node's peers that exist. Sorted by name.",
  ),
  serviceRejectPrefixes: field(
    z.array(z.string().max(64)).optional(),
    'Service ranges never programmed into the kernel from BGP (Calico /rejectcidrs), on every node. Sorted.',
  ),
  reflectedServiceRanges: field(
    z
      .looseObject({
        loadBalancerIPs: field(z.array(z.string().max(64)), 'serviceLoadBalancerIPs ranges.'),
        externalIPs: field(z.array(z.string().max(64)), 'serviceExternalIPs ranges.'),
      })
      .optional(),
    'On a route reflector: service ranges it re-exports from its clients (as written in BGPConfiguration).',
  ),
  normalRoutePriority: field(
    z.looseObject({ ipv4: uint().max(2147483646).optional(), ipv6: uint().max(2147483646).optional() }).optional(),
    'BGPConfiguration ipv4/ipv6NormalRoutePriority when set (BIRD priority arithmetic; default 1024).',
  ),
});
export type PlannedBgp = z.infer<typeof PlannedBgpSchema>;

/** The FelixConfiguration fields the agent acts on, after merging `default` and `node.<name>`, defaults filled. */
export const EffectiveFelixSchema = z.looseObject({
  ipipEnabled: field(z.boolean(), 'tunl0 wanted (FelixConfiguration ipipEnabled, else any pool ipipMode != Never).'),
  vxlanEnabled: field(z.boolean(), 'vxlan.calico wanted (vxlanEnabled, else any IPv4 pool vxlanMode != Never).'),
  vxlanEnabledV6: field(z.boolean(), 'vxlan-v6.calico wanted (any IPv6 pool vxlanMode != Never).'),
  vxlanPort: field(uint().max(65535), 'VXLAN UDP port.'),
  vxlanVNI: field(uint().max(16777215), 'VXLAN VNI.'),
  deviceRouteProtocol: field(uint().max(255), 'Route protocol number on local workload routes (default 3).'),
  clusterRouteProtocol: field(
    uint().max(255),
    'Protocol number marking cluster routes the agent owns (80 when deviceRouteProtocol is the default 3).',
  ),
  deviceRouteSourceAddress: ip('src hint on IPv4 workload routes.').optional(),
  deviceRouteSourceAddressIPv6: ip('src hint on IPv6 workload routes.').optional(),
  removeExternalRoutes: field(z.boolean(), 'Remove unexpected routes to workload interfaces.'),
  routeRefreshIntervalSeconds: field(z.number().min(0), 'Full kernel resync period.'),
  routeSource: field(z.enum(['CalicoIPAM', 'WorkloadIPs']), 'Where remote routes come from.'),
  routeTableRanges: field(
    z.array(z.looseObject({ min: uint(), max: uint() })).optional(),
    'Extra routing tables the agent may use.',
  ),
  ipv4NormalRoutePriority: field(uint().optional(), 'Metric on IPv4 workload routes; absent = none (v3.24).'),
  ipv6NormalRoutePriority: field(uint().optional(), 'Metric on IPv6 workload routes; absent = none.'),
  ipForwarding: field(z.enum(['Enabled', 'Disabled']), 'Whether the agent enables net.ipv4.ip_forward.'),
  externalNodesCidrs: field(z.array(z.string().max(64)).optional(), 'Extra CIDRs allowed to send VXLAN/IPIP.'),
});
export type EffectiveFelix = z.infer<typeof EffectiveFelixSchema>;

export const NodeDesiredSchema = z.looseObject({
  revision: field(
    z.string().min(1).max(128),
    'Content hash of every other field in desired (e.g. sha256:...); changes exactly when the content does.',
  ),
  view: field(
    z.string().min(1).max(63),
    'Route view (IPv4 subnet of the node, or "cluster"); RouteTable shards labelled dataplane.tabby.dev/view=<view>.',
  ),
  viewV6: field(z.string().max(63).optional(), 'IPv6 route view when it differs from view.'),
  nodeAddress: field(
    z
      .looseObject({
        ipv4: field(z.string().max(64).optional(), 'projectcalico.org/IPv4Address, e.g. 192.168.0.11/24.'),
        ipv6: field(z.string().max(64).optional(), 'projectcalico.org/IPv6Address.'),
      })
      .optional(),
    'Node addresses in interface form, as planning saw them.',
  ),
  blocks: field(z.array(OwnBlockSchema), 'Blocks affine to this node (blackholed locally). Sorted by cidr.'),
  borrowed: field(
    z.array(BorrowedAddressSchema),
    "Addresses this node uses from other nodes' (or un-affine) blocks. Sorted by cidr.",
  ),
  tunnels: field(
    z.array(TunnelDeviceSchema),
    'Tunnel devices to create or keep. Sorted by name.',
    ATOMIC_REQUIRED_LIST,
  ),
  removeTunnels: field(
    z.array(z.enum(['tunl0', 'vxlan.calico', 'vxlan-v6.calico'])).optional(),
    'Tunnel devices to delete (or strip of their address, for tunl0). Sorted.',
  ),
  mtu: field(MtuSchema, 'MTU settings; absent values are derived by the agent from the host MTU.'),
  natOutgoing: field(NatOutgoingSchema, 'Masquerade rule inputs.'),
  bgp: field(PlannedBgpSchema.optional(), 'BGP speaker configuration; absent when BGP is off for this node.'),
  felix: field(EffectiveFelixSchema, 'Effective FelixConfiguration subset the agent acts on.'),
});
export type NodeDesired = z.infer<typeof NodeDesiredSchema>;

export const ViewRevisionSchema = z.looseObject({
  view: field(z.string().min(1).max(253), 'Route view (status.desired.view or viewV6).'),
  revision: field(
    z.string().min(1).max(128),
    "Digest of the view's RouteTable shards as programmed: sha256 over their sorted `name revision` lines.",
  ),
  shards: field(uint(), 'How many RouteTable shards of the view were programmed.'),
});

export const ApplyErrorSchema = z.looseObject({
  message: field(z.string().max(4096), 'What failed.'),
  object: field(z.string().max(256).optional(), 'What it failed on: a route, device, peer (e.g. route 10.0.1.0/26).'),
  time: field(z.string().optional(), 'When (RFC 3339).'),
});

export const NodeAppliedSchema = z.looseObject({
  revision: field(z.string().max(128), 'status.desired.revision the agent last programmed completely.'),
  viewRevisions: field(
    z.array(ViewRevisionSchema),
    'Per route view, the revision of its RouteTable shards programmed (one digest per view). Sorted by view.',
    ATOMIC_REQUIRED_LIST,
  ),
  time: field(z.string(), 'When that programming finished (RFC 3339).'),
  counts: field(
    z
      .looseObject({
        routes: uint().optional(),
        blackholes: uint().optional(),
        neighbours: uint().optional(),
        fdbEntries: uint().optional(),
        devices: uint().optional(),
        bgpPeers: uint().optional(),
        bgpEstablished: uint().optional(),
      })
      .optional(),
    'What is programmed now.',
  ),
  errors: field(z.array(ApplyErrorSchema).max(64).optional(), 'Problems in the last pass (first 64).'),
});
export type NodeApplied = z.infer<typeof NodeAppliedSchema>;

export const PathMtuFailureSchema = z.looseObject({
  peer: field(z.string().max(253), 'The node at the other end.'),
  address: ip("The peer's underlay address the probes went to."),
  encapsulation: field(z.enum(['vxlan', 'vxlan-v6', 'ipip', 'none']), 'How this node reaches the peer.'),
  mtu: field(uint().max(65535), 'The MTU configured for the path: the tunnel device MTU, or the pod MTU (none).'),
  size: field(uint().max(65535), 'Bytes on the wire that MTU needs: mtu plus the encapsulation overhead.'),
  largestPassed: field(uint().max(65535), "The largest don't-fragment probe (bytes on the wire) that passed."),
  pools: field(z.array(z.string().max(253)), 'IPPools whose routes take this path. Sorted.'),
});

export const PathMtuStatusSchema = z.looseObject({
  paths: field(uint(), 'Paths (peer, address, encapsulation) probed.'),
  unreachable: field(uint(), 'Paths whose probes got no answer at all.'),
  failing: field(
    z.array(PathMtuFailureSchema).max(64),
    'Paths that cannot carry the configured MTU (first 64), sorted by peer, address, encapsulation.',
    ATOMIC_REQUIRED_LIST,
  ),
});
export type PathMtuStatus = z.infer<typeof PathMtuStatusSchema>;

export const NodeDataplaneStatusSchema = z.looseObject({
  desired: field(NodeDesiredSchema.optional(), 'Written by tabby-operator: what this node should program.'),
  applied: field(NodeAppliedSchema.optional(), 'Written by tabby-agent: what it has programmed.'),
  pathMTU: field(
    PathMtuStatusSchema.optional(),
    "Written by tabby-agent (field manager tabby-agent-pathmtu): don't-fragment probes to its peers at the " +
      'configured MTU plus the encapsulation overhead (the PathMTU condition says the same in words).',
  ),
  conditions: ConditionsSchema.optional(),
});
export type NodeDataplaneStatus = z.infer<typeof NodeDataplaneStatusSchema>;

export const NodeDataplaneSchema = z.looseObject({
  ...envelope(TABBY_API_VERSION, 'NodeDataplane'),
  spec: NodeDataplaneSpecSchema,
  status: NodeDataplaneStatusSchema.optional(),
});
export type NodeDataplane = z.infer<typeof NodeDataplaneSchema>;

/** Condition types on NodeDataplane. */
export const NODE_DATAPLANE_CONDITIONS = { planned: 'Planned', programmed: 'Programmed', pathMTU: 'PathMTU' } as const;

export const NodeDataplaneKind = defineKind({
  group: TABBY_GROUP,
  version: TABBY_VERSION,
  kind: 'NodeDataplane',
  plural: 'nodedataplanes',
  shortNames: ['ndp'],
  description:
    "One Node's planned dataplane (status.desired, by tabby-operator) and what its agent programmed " +
    '(status.applied, by tabby-agent). Routes to other nodes are in the RouteTable shards of its view.',
  schema: NodeDataplaneSchema,
  hasStatus: true,
  printerColumns: [
    { name: 'View', type: 'string', jsonPath: '.status.desired.view' },
    { name: 'Desired', type: 'string', jsonPath: '.status.desired.revision' },
    { name: 'Applied', type: 'string', jsonPath: '.status.applied.revision' },
    { name: 'Planned', type: 'string', jsonPath: ".status.conditions[?(@.type=='Planned')].status" },
    { name: 'Programmed', type: 'string', jsonPath: ".status.conditions[?(@.type=='Programmed')].status" },
    { name: 'PathMTU', type: 'string', jsonPath: ".status.conditions[?(@.type=='PathMTU')].status" },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
    { name: 'Blocks', type: 'string', jsonPath: '.status.desired.blocks[*].cidr', priority: 1 },
  ],
});
