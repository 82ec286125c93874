// Builds a ClusterSnapshot from validated API objects: Calico's projectcalico.org/v3 kinds (already defaulted by
// src/api) plus core v1 Nodes and Pods, as `tabby render` reads them from files or the operator from its caches.
// Inputs: objects in any order. Outputs: the snapshot and every problem found, each naming the object (by its index in
// the input, kind and name) and the field; an object with a problem is left out of the snapshot, never half-read.
// Mapping (calico: libcalico-go/lib/backend/k8s/resources/node.go, felix/calc/l3_route_resolver.go):
//   Node      annotations projectcalico.org/IPv4Address, IPv6Address (interface CIDR), IPv4IPIPTunnelAddr,
//             IPv4VXLANTunnelAddr, VXLANTunnelMACAddr, IPv6VXLANTunnelAddr, VXLANTunnelMACAddrV6, ASNumber,
//             RouteReflectorClusterID; without an address annotation, the first InternalIP (as a host route).
//   Pod       spec.nodeName + status.podIPs (or podIP); host-network and unscheduled pods carry no Calico route.
//   IPAMBlock spec.affinity host:<node>; allocations whose attribute names another node become borrowed /32s;
//             soft-deleted blocks are absent. BlockAffinity (confirmed, host) stands in for a block not given.
//   Service   type, cluster/external/LoadBalancer addresses, externalTrafficPolicy, ipFamilies (what service
//             advertisement reads, calico: confd/pkg/backends/calico/routes.go).
//   EndpointSlice  its Service (label kubernetes.io/service-name), address type, and the nodes of ready endpoints.
import type { BGPConfiguration } from '../api/bgp-configuration.js';
import type { BGPFilter } from '../api/bgp-filter.js';
import type { BgpFilterRule } from '../api/node-dataplane.js';
import type { BGPPeer } from '../api/bgp-peer.js';
import type { BlockAffinity } from '../api/block-affinity.js';
import type { Issue } from '../api/errors.js';
import { durationSeconds } from '../api/fields.js';
import type { FelixConfiguration } from '../api/felix-configuration.js';
import type { IPAMBlock } from '../api/ipam-block.js';
import type { IPPool } from '../api/ip-pool.js';
import type { CoreObject } from '../api/reader.js';
import type { AnyTabbyObject } from '../api/validate.js';
import { formatIP, ipAtOffset, parseCidr, parseCidrLoose, parseIP } from '../net/index.js';
import type {
  BlockAllocation,
  ClusterSnapshot,
  NodeAddress,
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
} from './snapshot.js';

export const NODE_ANNOTATIONS = {
  ipv4Address: 'projectcalico.org/IPv4Address',
  ipv6Address: 'projectcalico.org/IPv6Address',
  ipipTunnelAddr: 'projectcalico.org/IPv4IPIPTunnelAddr',
  vxlanTunnelAddr: 'projectcalico.org/IPv4VXLANTunnelAddr',
  vxlanTunnelMac: 'projectcalico.org/VXLANTunnelMACAddr',
  vxlanTunnelAddrV6: 'projectcalico.org/IPv6VXLANTunnelAddr',
  vxlanTunnelMacV6: 'projectcalico.org/VXLANTunnelMACAddrV6',
  asNumber: 'projectcalico.org/ASNumber',
  rrClusterId: 'projectcalico.org/RouteReflectorClusterID',
} as const;

export type InputKindObject = AnyTabbyObject | CoreObject;

/** An issue plus the index of the object it is about in the input list (to find its file). */
export interface SnapshotIssue extends Issue {
  index: number;
}

export interface SnapshotOptions {
  /** Report a Node with no address at all (no annotation, no InternalIP) instead of planning it without routes. */
  requireNodeAddress?: boolean;
}

export interface SnapshotResult {
  snapshot: ClusterSnapshot;
  issues: SnapshotIssue[];
}

type Rec = Record<string, unknown>;

function isRecord(v: unknown): v is Rec {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

class Problems {
  readonly list: SnapshotIssue[] = [];
  constructor(
    private readonly index: number,
    private readonly kind: string,
    private readonly name: string,
  ) {}

  add(path: (string | number)[], message: string, code = 'invalid_value'): void {
    this.list.push({ code, object: { kind: this.kind, name: this.name }, path, message, index: this.index });
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** One object as the planner reads it: its record under its key, or nothing when the planner ignores it. */
export type PlanRecord =
  | { kind: 'node'; key: string; record: SnapshotNode }
  | { kind: 'pool'; key: string; record: SnapshotPool }
  | { kind: 'block'; key: string; record: SnapshotBlock }
  | { kind: 'pod'; key: string; record: SnapshotPod }
  | { kind: 'bgpConfiguration'; key: string; record: SnapshotBGPConfiguration }
  | { kind: 'bgpPeer'; key: string; record: SnapshotBGPPeer }
  | { kind: 'felixConfiguration'; key: string; record: SnapshotFelixConfiguration }
  | { kind: 'bgpFilter'; key: string; record: SnapshotBGPFilter }
  | { kind: 'service'; key: string; record: SnapshotService }
  | { kind: 'endpointSlice'; key: string; record: SnapshotEndpointSlice };

export interface PlanRecordResult {
  /** Absent when the object has a problem (see `issues`) or is nothing the planner reads. */
  record?: PlanRecord;
  issues: SnapshotIssue[];
}

/**
 * The record one object contributes to a plan (`index` is its position in the caller's input, carried by issues).
 * An object with a problem contributes nothing and says why; one the planner does not read (a pod without an address,
 * a soft-deleted block, a kind of no interest) contributes nothing and no issue.
 */
export function planRecordOf(obj: InputKindObject, index = 0, opts: SnapshotOptions = {}): PlanRecordResult {
  const name = obj.metadata.name;
  const p = new Problems(index, obj.kind, name);
  const record = ((): PlanRecord | undefined => {
    switch (obj.kind) {
      case 'Node': {
        const n = nodeFromObject(obj as CoreObject, p, opts);
        return n && { kind: 'node', key: name, record: n };
      }
      case 'Pod': {
        const pod = podFromObject(obj as CoreObject, p);
        return pod && { kind: 'pod', key: `${pod.namespace}/${pod.name}`, record: pod };
      }
      case 'IPPool': {
        const pool = poolFromObject(obj as IPPool, p);
        return pool && { kind: 'pool', key: name, record: pool };
      }
      case 'IPAMBlock': {
        const b = blockFromObject(obj as IPAMBlock, p);
        return b && { kind: 'block', key: b.cidr, record: b };
      }
      case 'BGPConfiguration':
        return { kind: 'bgpConfiguration', key: name, record: bgpConfigurationFromObject(obj as BGPConfiguration) };
      case 'BGPPeer':
        return { kind: 'bgpPeer', key: name, record: bgpPeerFromObject(obj as BGPPeer) };
      case 'FelixConfiguration':
        return {
          kind: 'felixConfiguration',
          key: name,
          record: { name, spec: { ...((obj as FelixConfiguration).spec ?? {}) } },
        };
      case 'BGPFilter':
        return { kind: 'bgpFilter', key: name, record: bgpFilterFromObject(obj as BGPFilter) };
      case 'Service': {
        const svc = serviceFromObject(obj as CoreObject, p);
        return svc && { kind: 'service', key: `${svc.namespace}/${svc.name}`, record: svc };
      }
      case 'EndpointSlice': {
        const e = endpointSliceFromObject(obj as CoreObject, p);
        return e && { kind: 'endpointSlice', key: `${e.namespace}/${e.name}`, record: e };
      }
      default:
        // BlockAffinity (see snapshotFromObjects), IPAMHandle, IPAMConfiguration, Namespace, Secret, our own kinds.
        return undefined;
    }
  })();
  if (p.list.length > 0) return { issues: p.list };
  return record ? { record, issues: [] } : { issues: [] };
}

/** Adds a record to a snapshot being built (the last record under a key wins). */
export function addToSnapshot(into: MutableSnapshot, r: PlanRecord): void {
  switch (r.kind) {
    case 'node':
      into.nodes.set(r.key, r.record);
      break;
    case 'pool':
      into.pools.set(r.key, r.record);
      break;
    case 'block':
      into.blocks.set(r.key, r.record);
      break;
    case 'pod':
      into.pods.set(r.key, r.record);
      break;
    case 'bgpConfiguration':
      into.bgpConfigurations.set(r.key, r.record);
      break;
    case 'bgpPeer':
      into.bgpPeers.set(r.key, r.record);
      break;
    case 'felixConfiguration':
      into.felixConfigurations.set(r.key, r.record);
      break;
    case 'bgpFilter':
      into.bgpFilters.set(r.key, r.record);
      break;
    case 'service':
      into.services.set(r.key, r.record);
      break;
    case 'endpointSlice':
      into.endpointSlices.set(r.key, r.record);
      break;
  }
}

/** A snapshot under construction, one map per kind keyed as `PlanRecord.key`. */
export interface MutableSnapshot {
  nodes: Map<string, SnapshotNode>;
  pools: Map<string, SnapshotPool>;
  blocks: Map<string, SnapshotBlock>;
  pods: Map<string, SnapshotPod>;
  bgpConfigurations: Map<string, SnapshotBGPConfiguration>;
  bgpPeers: Map<string, SnapshotBGPPeer>;
  felixConfigurations: Map<string, SnapshotFelixConfiguration>;
  bgpFilters: Map<string, SnapshotBGPFilter>;
  services: Map<string, SnapshotService>;
  endpointSlices: Map<string, SnapshotEndpointSlice>;
}

export function mutableSnapshot(): MutableSnapshot {
  return {
    nodes: new Map(),
    pools: new Map(),
    blocks: new Map(),
    pods: new Map(),
    bgpConfigurations: new Map(),
    bgpPeers: new Map(),
    felixConfigurations: new Map(),
    bgpFilters: new Map(),
    services: new Map(),
    endpointSlices: new Map(),
  };
}

export function freezeSnapshot(m: MutableSnapshot): ClusterSnapshot {
  return {
    nodes: [...m.nodes.values()],
    pools: [...m.pools.values()],
    blocks: [...m.blocks.values()],
    pods: [...m.pods.values()],
    bgpConfigurations: [...m.bgpConfigurations.values()],
    bgpPeers: [...m.bgpPeers.values()],
    felixConfigurations: [...m.felixConfigurations.values()],
    bgpFilters: [...m.bgpFilters.values()],
    services: [...m.services.values()],
    endpointSlices: [...m.endpointSlices.values()],
  };
}

export function snapshotFromObjects(objects: readonly InputKindObject[], opts: SnapshotOptions = {}): SnapshotResult {
  const into = mutableSnapshot();
  const affinities: { cidr: string; node: string }[] = [];
  const issues: SnapshotIssue[] = [];

  objects.forEach((obj, index) => {
    if (obj.kind === 'BlockAffinity') {
      const p = new Problems(index, obj.kind, obj.metadata.name);
      const a = (obj as BlockAffinity).spec;
      const usable = !a.deleted && (a.type ?? 'host') === 'host' && (a.state === 'confirmed' || a.state === '');
      if (usable) affinities.push({ cidr: canonicalCidr(a.cidr, p, ['spec', 'cidr']) ?? a.cidr, node: a.node });
      issues.push(...p.list);
      return;
    }
    const r = planRecordOf(obj, index, opts);
    issues.push(...r.issues);
    // An object named twice (two dumps of one cluster) counts once: the later copy wins, as the planner's index does.
    if (r.record) addToSnapshot(into, r.record);
  });
  // A confirmed affinity without its block (a dump of affinities only) still places the block on its node.
  for (const a of affinities)
    if (!into.blocks.has(a.cidr)) into.blocks.set(a.cidr, { cidr: a.cidr, affinity: a.node, allocations: [] });
  return { snapshot: freezeSnapshot(into), issues };
}

function canonicalCidr(text: string, p: Problems, path: (string | number)[]): string | undefined {
  try {
    const c = parseCidr(text);
    return `${formatIP(c.network)}/${c.prefix}`;
  } catch (err) {
    p.add(path, errorText(err));
    return undefined;
  }
}

function annotationAddress(text: string, p: Problems, key: string): NodeAddress | undefined {
  try {
    const c = parseCidrLoose(text.includes('/') ? text : `${text}/${text.includes(':') ? 128 : 32}`);
    return { address: formatIP(c.address), prefixLength: c.prefix, source: 'annotation' };
  } catch {
    p.add(
      ['metadata', 'annotations', key],
      `must be the node's address with its subnet's prefix length, e.g. 192.168.0.11/24 (got ${JSON.stringify(text)})`,
    );
    return undefined;
  }
}

function plainIP(text: string | undefined, p: Problems, key: string): string | undefined {
  if (text === undefined || text === '') return undefined;
  try {
    return formatIP(parseIP(text));
  } catch (err) {
    p.add(['metadata', 'annotations', key], errorText(err));
    return undefined;
  }
}

/** Decimal or "asdot" `X.Y` (X·65536+Y), as Calico's numorstring.ASNumber reads it. */
export function parseASNumber(text: string): number | undefined {
  const dot = /^(\d+)\.(\d+)$/.exec(text);
  const n = dot ? Number(dot[1]) * 65536 + Number(dot[2]) : /^\d+$/.test(text) ? Number(text) : NaN;
  if (dot && (Number(dot[1]) > 65535 || Number(dot[2]) > 65535)) return undefined;
  return Number.isInteger(n) && n >= 0 && n <= 4294967295 ? n : undefined;
}

const MAC_RE = /^([0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}$/;

function nodeFromObject(obj: CoreObject, p: Problems, opts: SnapshotOptions): SnapshotNode | undefined {
  const meta = obj.metadata as Rec;
  const ann = (isRecord(meta.annotations) ? meta.annotations : {}) as Record<string, string>;
  const labels = (isRecord(meta.labels) ? meta.labels : {}) as Record<string, string>;
  const before = p.list.length;
  const n: SnapshotNode = { name: obj.metadata.name, labels };
  const A = NODE_ANNOTATIONS;
  const v4 = ann[A.ipv4Address];
  const v6 = ann[A.ipv6Address];
  if (v4 !== undefined && v4 !== '') {
    const a = annotationAddress(v4, p, A.ipv4Address);
    if (a && a.address.includes(':'))
      p.add(['metadata', 'annotations', A.ipv4Address], `must be an IPv4 CIDR (got ${JSON.stringify(v4)})`);
    else if (a) n.ipv4 = a;
  }
  if (v6 !== undefined && v6 !== '') {
    const a = annotationAddress(v6, p, A.ipv6Address);
    if (a && !a.address.includes(':'))
      p.add(['metadata', 'annotations', A.ipv6Address], `must be an IPv6 CIDR (got ${JSON.stringify(v6)})`);
    else if (a) n.ipv6 = a;
  }
  // calico: DstNodeIp falls back to the first InternalIP when the node has no BGP address.
  const status = isRecord(obj.status) ? obj.status : {};
  const addresses = Array.isArray(status.addresses) ? status.addresses : [];
  for (const a of addresses) {
    if (!isRecord(a) || a.type !== 'InternalIP' || typeof a.address !== 'string') continue;
    let ip;
    try {
      ip = parseIP(a.address);
    } catch {
      continue;
    }
    const addr: NodeAddress = {
      address: formatIP(ip),
      prefixLength: ip.family === 4 ? 32 : 128,
      source: 'internal-ip',
    };
    if (ip.family === 4 && !n.ipv4 && v4 === undefined) n.ipv4 = addr;
    if (ip.family === 6 && !n.ipv6 && v6 === undefined) n.ipv6 = addr;
  }
  if (opts.requireNodeAddress && !n.ipv4 && !n.ipv6 && p.list.length === before) {
    p.add(
      ['metadata', 'annotations', A.ipv4Address],
      `is required: the node has no ${A.ipv4Address} or ${A.ipv6Address} annotation and no InternalIP address`,
      'missing_address',
    );
  }
  const ipip = plainIP(ann[A.ipipTunnelAddr], p, A.ipipTunnelAddr);
  if (ipip !== undefined) n.ipipTunnelAddress = ipip;
  const vx = plainIP(ann[A.vxlanTunnelAddr], p, A.vxlanTunnelAddr);
  if (vx !== undefined) n.vxlanTunnelAddress = vx;
  const vx6 = plainIP(ann[A.vxlanTunnelAddrV6], p, A.vxlanTunnelAddrV6);
  if (vx6 !== undefined) n.vxlanTunnelAddressV6 = vx6;
  for (const [key, field] of [
    [A.vxlanTunnelMac, 'vxlanTunnelMac'],
    [A.vxlanTunnelMacV6, 'vxlanTunnelMacV6'],
  ] as const) {
    const mac = ann[key];
    if (mac === undefined || mac === '') continue;
    if (!MAC_RE.test(mac))
      p.add(['metadata', 'annotations', key], `must be a MAC address (got ${JSON.stringify(mac)})`);
    else n[field] = mac.toLowerCase().replace(/-/g, ':');
  }
  const as = ann[A.asNumber];
  if (as !== undefined && as !== '') {
    const v = parseASNumber(as);
    if (v === undefined)
      p.add(['metadata', 'annotations', A.asNumber], `must be an AS number (got ${JSON.stringify(as)})`);
    else n.asNumber = v;
  }
  const rr = ann[A.rrClusterId];
  if (rr !== undefined && rr !== '') {
    const ok = (() => {
      try {
        return parseIP(rr).family === 4;
      } catch {
        return false;
      }
    })();
    if (!ok)
      p.add(
        ['metadata', 'annotations', A.rrClusterId],
        `must be an IPv4-formatted cluster id (got ${JSON.stringify(rr)})`,
      );
    else n.routeReflectorClusterId = rr;
  }
  return p.list.length === before ? n : undefined;
}

function podFromObject(obj: CoreObject, p: Problems): SnapshotPod | undefined {
  const spec = isRecord(obj.spec) ? obj.spec : {};
  const status = isRecord(obj.status) ? obj.status : {};
  if (spec.hostNetwork === true) return undefined;
  const nodeName = spec.nodeName;
  if (typeof nodeName !== 'string' || nodeName === '') return undefined;
  const texts: { text: string; path: (string | number)[] }[] = [];
  if (Array.isArray(status.podIPs) && status.podIPs.length > 0) {
    status.podIPs.forEach((x, i) => {
      if (isRecord(x) && typeof x.ip === 'string') texts.push({ text: x.ip, path: ['status', 'podIPs', i, 'ip'] });
    });
  } else if (typeof status.podIP === 'string' && status.podIP !== '') {
    texts.push({ text: status.podIP, path: ['status', 'podIP'] });
  }
  if (texts.length === 0) return undefined;
  const ips: string[] = [];
  const before = p.list.length;
  for (const t of texts) {
    try {
      ips.push(formatIP(parseIP(t.text)));
    } catch (err) {
      p.add(t.path, errorText(err));
    }
  }
  if (p.list.length > before) return undefined;
  return { namespace: obj.metadata.namespace ?? 'default', name: obj.metadata.name, node: nodeName, ips };
}

function poolFromObject(obj: IPPool, p: Problems): SnapshotPool | undefined {
  const s = obj.spec;
  const cidr = canonicalCidr(s.cidr, p, ['spec', 'cidr']);
  if (cidr === undefined) return undefined;
  const v6 = cidr.includes(':');
  return {
    name: obj.metadata.name,
    cidr,
    blockSize: s.blockSize || (v6 ? 122 : 26),
    ipipMode: s.ipipMode ?? 'Never',
    vxlanMode: s.vxlanMode ?? 'Never',
    natOutgoing: s.natOutgoing ?? false,
    disabled: s.disabled ?? false,
    disableBGPExport: s.disableBGPExport ?? false,
    nodeSelector: s.nodeSelector ?? 'all()',
    allowedUses: s.allowedUses && s.allowedUses.length > 0 ? [...s.allowedUses] : ['Workload', 'Tunnel'],
  };
}

function blockFromObject(obj: IPAMBlock, p: Problems): SnapshotBlock | undefined {
  const s = obj.spec;
  if (s.deleted === true) return undefined;
  const cidr = canonicalCidr(s.cidr, p, ['spec', 'cidr']);
  if (cidr === undefined) return undefined;
  const host = s.affinity?.startsWith('host:') ? s.affinity.slice('host:'.length) : undefined;
  const c = parseCidr(cidr);
  const allocations: BlockAllocation[] = [];
  s.allocations.forEach((attrIndex, ordinal) => {
    if (attrIndex === null) return;
    const attr = s.attributes[attrIndex];
    if (!attr) {
      p.add(
        ['spec', 'allocations', ordinal],
        `refers to attribute ${attrIndex}, but spec.attributes has ${s.attributes.length}`,
      );
      return;
    }
    const owner = attr.secondary?.node;
    // Only addresses routed to a node other than the block's matter to planning (borrowed / un-affine).
    if (owner === undefined || owner === '' || owner === host) return;
    allocations.push({ address: formatIP(ipAtOffset(c, ordinal)), node: owner });
  });
  const b: SnapshotBlock = { cidr, allocations };
  if (host !== undefined) b.affinity = host;
  return b;
}

function secretRef(v: unknown): { name: string; key: string } | undefined {
  if (!isRecord(v) || !isRecord(v.secretKeyRef)) return undefined;
  const { name, key } = v.secretKeyRef;
  return typeof key === 'string' ? { name: typeof name === 'string' ? name : '', key } : undefined;
}

function cidrs(list: readonly { cidr?: string | undefined }[] | undefined): string[] | undefined {
  if (!list) return undefined;
  return list.map((x) => x.cidr).filter((x): x is string => typeof x === 'string' && x !== '');
}

function bgpConfigurationFromObject(obj: BGPConfiguration): SnapshotBGPConfiguration {
  const s = obj.spec;
  const out: SnapshotBGPConfiguration = { name: obj.metadata.name };
  if (s.asNumber !== undefined) out.asNumber = s.asNumber;
  if (s.nodeToNodeMeshEnabled !== undefined) out.nodeToNodeMeshEnabled = s.nodeToNodeMeshEnabled;
  if (s.listenPort !== undefined) out.listenPort = s.listenPort;
  const pw = secretRef(s.nodeMeshPassword);
  if (pw) out.nodeMeshPassword = pw;
  if (s.nodeMeshMaxRestartTime !== undefined) {
    out.nodeMeshMaxRestartTimeSeconds = Math.round(durationSeconds(s.nodeMeshMaxRestartTime));
  }
  if (s.bindMode !== undefined) out.bindMode = s.bindMode;
  if (s.logSeverityScreen !== undefined) out.logSeverityScreen = s.logSeverityScreen;
  const clusterIPs = cidrs(s.serviceClusterIPs);
  if (clusterIPs) out.serviceClusterIPs = clusterIPs;
  const externalIPs = cidrs(s.serviceExternalIPs);
  if (externalIPs) out.serviceExternalIPs = externalIPs;
  const lbIPs = cidrs(s.serviceLoadBalancerIPs);
  if (lbIPs) out.serviceLoadBalancerIPs = lbIPs;
  if (s.serviceLoadBalancerAggregation !== undefined) {
    out.serviceLoadBalancerAggregation = s.serviceLoadBalancerAggregation;
  }
  if (s.ipv4NormalRoutePriority !== undefined) out.ipv4NormalRoutePriority = s.ipv4NormalRoutePriority;
  if (s.ipv6NormalRoutePriority !== undefined) out.ipv6NormalRoutePriority = s.ipv6NormalRoutePriority;
  if (s.communities) out.communities = s.communities.map((c) => ({ name: c.name, value: c.value }));
  if (s.prefixAdvertisements) {
    out.prefixAdvertisements = s.prefixAdvertisements.map((a) => ({ cidr: a.cidr, communities: [...a.communities] }));
  }
  if (s.ignoredInterfaces) out.ignoredInterfaces = [...s.ignoredInterfaces];
  return out;
}

function bgpPeerFromObject(obj: BGPPeer): SnapshotBGPPeer {
  const s = obj.spec;
  const out: SnapshotBGPPeer = { name: obj.metadata.name };
  if (s.node) out.node = s.node;
  if (s.nodeSelector) out.nodeSelector = s.nodeSelector;
  if (s.peerIP) out.peerIP = s.peerIP;
  if (s.peerSelector) out.peerSelector = s.peerSelector;
  if (s.asNumber !== undefined) out.asNumber = s.asNumber;
  if (s.localASNumber !== undefined) out.localASNumber = s.localASNumber;
  const pw = secretRef(s.password);
  if (pw) out.password = pw;
  if (s.sourceAddress !== undefined) out.sourceAddress = s.sourceAddress;
  if (s.maxRestartTime !== undefined) out.maxRestartTimeSeconds = Math.round(durationSeconds(s.maxRestartTime));
  if (s.keepaliveTime !== undefined) out.keepaliveTimeSeconds = Math.round(durationSeconds(s.keepaliveTime));
  if (s.keepOriginalNextHop !== undefined) out.keepOriginalNextHop = s.keepOriginalNextHop;
  if (s.nextHopMode !== undefined) out.nextHopMode = s.nextHopMode;
  if (s.numAllowedLocalASNumbers !== undefined) out.numAllowedLocalASNumbers = s.numAllowedLocalASNumbers;
  if (s.ttlSecurity !== undefined) out.ttlSecurity = s.ttlSecurity;
  if (s.reachableBy) out.reachableBy = s.reachableBy;
  if (s.filters && s.filters.length > 0) out.filters = [...s.filters];
  if (s.reversePeering !== undefined) out.reversePeering = s.reversePeering;
  return out;
}

/** Keeps the rule fields the renderer reads, in Calico's shape (the BGPFilter kind validated them). */
function filterRule(
  r: NonNullable<BGPFilter['spec']['exportV4']>[number] | NonNullable<BGPFilter['spec']['exportV6']>[number],
): BgpFilterRule {
  const out: BgpFilterRule = { action: r.action };
  if (r.cidr !== undefined && r.cidr !== '') out.cidr = r.cidr;
  if (r.matchOperator !== undefined) out.matchOperator = r.matchOperator;
  if (r.prefixLength !== undefined) {
    out.prefixLength = {
      ...(r.prefixLength.min !== undefined ? { min: r.prefixLength.min } : {}),
      ...(r.prefixLength.max !== undefined ? { max: r.prefixLength.max } : {}),
    };
  }
  if (r.source !== undefined) out.source = r.source;
  if (r.interface !== undefined && r.interface !== '') out.interface = r.interface;
  if (r.peerType !== undefined) out.peerType = r.peerType;
  if (r.communities !== undefined) out.communities = { values: [...r.communities.values] };
  if (r.asPathPrefix !== undefined && r.asPathPrefix.length > 0) out.asPathPrefix = [...r.asPathPrefix];
  if (r.priority !== undefined) out.priority = r.priority;
  if (r.operations !== undefined && r.operations.length > 0) {
    out.operations = r.operations.map((op) => {
      if (op.addCommunity) return { addCommunity: { value: op.addCommunity.value } };
      if (op.prependASPath) return { prependASPath: { prefix: [...op.prependASPath.prefix] } };
      return { setPriority: { value: op.setPriority?.value ?? 0 } };
    });
  }
  return out;
}

function bgpFilterFromObject(obj: BGPFilter): SnapshotBGPFilter {
  const s = obj.spec;
  const out: SnapshotBGPFilter = { name: obj.metadata.name };
  if (s.exportV4 && s.exportV4.length > 0) out.exportV4 = s.exportV4.map(filterRule);
  if (s.importV4 && s.importV4.length > 0) out.importV4 = s.importV4.map(filterRule);
  if (s.exportV6 && s.exportV6.length > 0) out.exportV6 = s.exportV6.map(filterRule);
  if (s.importV6 && s.importV6.length > 0) out.importV6 = s.importV6.map(filterRule);
  return out;
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string' && x !== '') : [];
}

function canonicalIPs(texts: string[], p: Problems, path: (string | number)[]): string[] {
  const out: string[] = [];
  texts.forEach((t, i) => {
    try {
      out.push(formatIP(parseIP(t)));
    } catch (err) {
      p.add([...path, i], errorText(err));
    }
  });
  return out;
}

function serviceFromObject(obj: CoreObject, p: Problems): SnapshotService | undefined {
  const spec = isRecord(obj.spec) ? obj.spec : {};
  const status = isRecord(obj.status) ? obj.status : {};
  const before = p.list.length;
  const type = typeof spec.type === 'string' && spec.type !== '' ? spec.type : 'ClusterIP';
  const listed = strings(spec.clusterIPs);
  const single = typeof spec.clusterIP === 'string' ? [spec.clusterIP] : [];
  const rawClusterIPs = (listed.length > 0 ? listed : single).filter((x) => x !== '' && x !== 'None');
  const clusterIPs = canonicalIPs(rawClusterIPs, p, ['spec', listed.length > 0 ? 'clusterIPs' : 'clusterIP']);
  const externalIPs = canonicalIPs(strings(spec.externalIPs), p, ['spec', 'externalIPs']);
  const lb = isRecord(status.loadBalancer) ? status.loadBalancer : {};
  const ingress = Array.isArray(lb.ingress) ? lb.ingress : [];
  const ingressIPs: string[] = [];
  ingress.forEach((x, i) => {
    if (!isRecord(x) || typeof x.ip !== 'string' || x.ip === '') return;
    ingressIPs.push(...canonicalIPs([x.ip], p, ['status', 'loadBalancer', 'ingress', i, 'ip']));
  });
  if (p.list.length > before) return undefined;
  // The apiserver always fills ipFamilies; a hand-written manifest may not: its cluster IPs say the same.
  const families = strings(spec.ipFamilies);
  const ipFamilies =
    families.length > 0 ? families : [...new Set(clusterIPs.map((ip) => (ip.includes(':') ? 'IPv6' : 'IPv4')))];
  const out: SnapshotService = {
    namespace: obj.metadata.namespace ?? 'default',
    name: obj.metadata.name,
    type,
    clusterIPs,
    externalIPs,
    ingressIPs,
    ipFamilies,
  };
  if (typeof spec.loadBalancerIP === 'string' && spec.loadBalancerIP !== '') out.loadBalancerIP = spec.loadBalancerIP;
  if (typeof spec.externalTrafficPolicy === 'string' && spec.externalTrafficPolicy !== '') {
    out.externalTrafficPolicy = spec.externalTrafficPolicy;
  }
  return out;
}

/** discovery.k8s.io/v1 label naming an EndpointSlice's Service. */
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

function endpointSliceFromObject(obj: CoreObject, _p: Problems): SnapshotEndpointSlice | undefined {
  const meta = obj.metadata as Rec;
  const labels = (isRecord(meta.labels) ? meta.labels : {}) as Record<string, unknown>;
  const service = labels[SERVICE_NAME_LABEL];
  // A slice that names no Service is nothing Calico announces for.
  if (typeof service !== 'string' || service === '') return undefined;
  const endpoints = Array.isArray(obj.endpoints) ? obj.endpoints : [];
  let anyReady = false;
  const nodes = new Set<string>();
  for (const e of endpoints) {
    if (!isRecord(e)) continue;
    const conditions = isRecord(e.conditions) ? e.conditions : {};
    // EndpointSlice API: an absent `ready` means ready.
    if (conditions.ready === false) continue;
    anyReady = true;
    if (typeof e.nodeName === 'string' && e.nodeName !== '') nodes.add(e.nodeName);
  }
  return {
    namespace: obj.metadata.namespace ?? 'default',
    name: obj.metadata.name,
    service,
    addressType: typeof obj.addressType === 'string' ? obj.addressType : '',
    anyReady,
    readyNodes: [...nodes].sort(),
  };
}
