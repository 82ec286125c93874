// The planner's view of a cluster: plain, normalised data, one record per object, no Kubernetes envelope.
// Inputs: whatever the caller parsed (api-typed objects via `snapshotFromObjects`, the operator's informer cache, or a
// test building records by hand). Outputs: a `ClusterSnapshot` that every planner in src/plan reads.
// Invariants: addresses and CIDRs are text the net layer parses (planners parse once and emit canonical forms);
// encapsulation modes are already defaulted (`Never` when absent); pending or deleted IPAM state is already dropped.
// Lists carry no meaning in their order: planners sort everything they emit.

import type { FelixConfigurationSpec } from '../api/felix-configuration.js';
import type { PlannedBgpFilter } from '../api/node-dataplane.js';

export type EncapMode = 'Never' | 'Always' | 'CrossSubnet';

/** A node's address as Calico's `projectcalico.org/IPv4Address` (or `IPv6Address`) annotation writes it. */
export interface NodeAddress {
  /** The node's own address, e.g. `10.0.0.11`. */
  address: string;
  /** The interface prefix length written after it (`/24`); CrossSubnet compares against this subnet. */
  prefixLength: number;
  /**
   * `annotation` = Calico's BGP address; `internal-ip` = fallback from the k8s Node's InternalIP, which Calico treats
   * as a /32 "subnet" (CrossSubnet always encapsulates) and which does not enable BGP or a VXLAN VTEP.
   */
  source: 'annotation' | 'internal-ip';
}

export interface SnapshotNode {
  name: string;
  labels: Readonly<Record<string, string>>;
  ipv4?: NodeAddress;
  ipv6?: NodeAddress;
  /** `projectcalico.org/IPv4IPIPTunnelAddr`. */
  ipipTunnelAddress?: string;
  /** `projectcalico.org/IPv4VXLANTunnelAddr` and `VXLANTunnelMACAddr`. */
  vxlanTunnelAddress?: string;
  vxlanTunnelMac?: string;
  /** `projectcalico.org/IPv6VXLANTunnelAddr` and `VXLANTunnelMACAddrV6`. */
  vxlanTunnelAddressV6?: string;
  vxlanTunnelMacV6?: string;
  /** `projectcalico.org/ASNumber`: overrides the global AS for this node. */
  asNumber?: number;
  /** `projectcalico.org/RouteReflectorClusterID`: makes the node a route reflector. */
  routeReflectorClusterId?: string;
}

export interface SnapshotPool {
  name: string;
  cidr: string;
  blockSize: number;
  ipipMode: EncapMode;
  vxlanMode: EncapMode;
  natOutgoing: boolean;
  disabled: boolean;
  disableBGPExport: boolean;
  /** Calico selector over node labels; `all()` when the pool did not say. */
  nodeSelector: string;
  /** `Workload`, `Tunnel`, `LoadBalancer`; already defaulted to `[Workload, Tunnel]`. */
  allowedUses: readonly string[];
}

/** One allocated address of a block, with the node its `secondary.node` attribute names (if any). */
export interface BlockAllocation {
  address: string;
  node?: string;
}

export interface SnapshotBlock {
  cidr: string;
  /** Node named by the block's `affinity: host:<node>`; absent for un-affine (and `virtual:`) blocks. */
  affinity?: string;
  /** Only allocations whose owner node differs from `affinity` matter for routing; others may be omitted. */
  allocations: readonly BlockAllocation[];
}

export interface SnapshotPod {
  namespace: string;
  name: string;
  node: string;
  /** Pod IPs (`status.podIPs`), both families. Host-network pods are not in the snapshot. */
  ips: readonly string[];
}

export interface SecretKeyRef {
  name: string;
  key: string;
}

export interface PrefixAdvertisement {
  cidr: string;
  /** Literal community values (`aa:nn` or `aa:nn:mm`) or names defined in `communities`. */
  communities: readonly string[];
}

export interface SnapshotBGPConfiguration {
  /** `default` (global) or `node.<nodename>`. */
  name: string;
  asNumber?: number;
  nodeToNodeMeshEnabled?: boolean;
  listenPort?: number;
  nodeMeshPassword?: SecretKeyRef;
  /** Seconds, already rounded as confd renders them. */
  nodeMeshMaxRestartTimeSeconds?: number;
  bindMode?: 'None' | 'NodeIP';
  logSeverityScreen?: string;
  serviceClusterIPs?: readonly string[];
  serviceExternalIPs?: readonly string[];
  serviceLoadBalancerIPs?: readonly string[];
  /** `Enabled` (default): LoadBalancer ranges from every node; `Disabled`: only per-Service addresses. */
  serviceLoadBalancerAggregation?: 'Enabled' | 'Disabled';
  /** Metric of BGP-learned routes (default 1024); BIRD's priority arithmetic is relative to it. */
  ipv4NormalRoutePriority?: number;
  ipv6NormalRoutePriority?: number;
  communities?: readonly { name: string; value: string }[];
  prefixAdvertisements?: readonly PrefixAdvertisement[];
  ignoredInterfaces?: readonly string[];
}

export interface SnapshotBGPPeer {
  name: string;
  node?: string;
  nodeSelector?: string;
  /** `<ip>`, `<ip>:<port>` or `[<ipv6>]:<port>` as written. */
  peerIP?: string;
  peerSelector?: string;
  asNumber?: number;
  localASNumber?: number;
  password?: SecretKeyRef;
  sourceAddress?: 'UseNodeIP' | 'None';
  maxRestartTimeSeconds?: number;
  keepaliveTimeSeconds?: number;
  keepOriginalNextHop?: boolean;
  nextHopMode?: 'Auto' | 'Self' | 'Keep';
  numAllowedLocalASNumbers?: number;
  ttlSecurity?: number;
  reachableBy?: string;
  filters?: readonly string[];
  reversePeering?: 'Auto' | 'Manual';
}

/** A BGPFilter: its rules as Calico's spec writes them (`name` = the object's name). */
export type SnapshotBGPFilter = PlannedBgpFilter;

/**
 * What service advertisement reads of a core v1 Service (calico: confd/pkg/backends/calico/routes.go): its type,
 * addresses, traffic policy and families. Headless and ExternalName services carry no cluster IP.
 */
export interface SnapshotService {
  namespace: string;
  name: string;
  type: string;
  /** `spec.clusterIPs` (or `spec.clusterIP`); empty for a headless (`None`) or unallocated service. */
  clusterIPs: readonly string[];
  externalIPs: readonly string[];
  /** `spec.loadBalancerIP` (deprecated, still read for Calico's single-address rule). */
  loadBalancerIP?: string;
  /** `status.loadBalancer.ingress[].ip`. */
  ingressIPs: readonly string[];
  /** `Cluster`, `Local`, or absent (ClusterIP services). */
  externalTrafficPolicy?: string;
  /** `spec.ipFamilies` (`IPv4`, `IPv6`). */
  ipFamilies: readonly string[];
}

/**
 * What service advertisement reads of a discovery.k8s.io/v1 EndpointSlice: its Service (label
 * kubernetes.io/service-name), address type, and where its ready endpoints run — so pods coming and going on nodes
 * that already have one change nothing.
 */
export interface SnapshotEndpointSlice {
  namespace: string;
  name: string;
  service: string;
  addressType: string;
  /** A ready endpoint exists (Calico: `ready` absent counts as ready). */
  anyReady: boolean;
  /** Nodes with a ready endpoint, sorted. */
  readyNodes: readonly string[];
}

/** A FelixConfiguration spec as src/api parses it: no defaults filled, so `node.<name>` overlays field by field. */
export type FelixSettings = FelixConfigurationSpec;

export interface SnapshotFelixConfiguration {
  /** `default` (global) or `node.<nodename>`. */
  name: string;
  spec: Readonly<FelixSettings>;
}

export interface ClusterSnapshot {
  nodes: readonly SnapshotNode[];
  pools: readonly SnapshotPool[];
  blocks: readonly SnapshotBlock[];
  pods: readonly SnapshotPod[];
  bgpConfigurations: readonly SnapshotBGPConfiguration[];
  bgpPeers: readonly SnapshotBGPPeer[];
  felixConfigurations: readonly SnapshotFelixConfiguration[];
  bgpFilters?: readonly SnapshotBGPFilter[];
  services?: readonly SnapshotService[];
  endpointSlices?: readonly SnapshotEndpointSlice[];
}

export function emptySnapshot(): ClusterSnapshot {
  return { nodes: [], pools: [], blocks: [], pods: [], bgpConfigurations: [], bgpPeers: [], felixConfigurations: [] };
}

/** Calico's names for the singleton config objects (confd `perNodeConfigNamePrefix`). */
export const GLOBAL_CONFIG_NAME = 'default';
export const PER_NODE_CONFIG_PREFIX = 'node.';

// The adapter from API objects lives beside this file; re-exported so "the snapshot" has one import path.
export { snapshotFromObjects } from './snapshot-from-objects.js';
