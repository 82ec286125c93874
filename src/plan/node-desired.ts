// One node's `NodeDataplane.status.desired`: everything particular to that node (ARCHITECTURE.md "The NodeDataplane
// contract") — its views, own blocks, borrowed addresses, tunnel devices, MTU, NAT-outgoing inputs, BGP speaker
// settings and explicit peers, effective FelixConfiguration — plus the content-hash revision. A pod's own /32 is not
// here: the CNI plugin programs it on its node and nobody else needs it (`localWorkloadRoutes` derives those lines for
// `tabby render` from the pods in its input).
// Inputs: node facts and a context giving the cluster-wide pieces. Output: `NodeDesired`.
// Invariants: every list sorted by its key; no field depends on another node's blocks or pods, so a node join does
// not change this object for any other node (except BGP peers that select the joining node — Calico's semantics).
import { hash } from 'node:crypto';
import {
  cidrMasked,
  formatCidr,
  formatIP,
  parseCidr,
  parseCidrLoose,
  parseIP,
  workloadInterfaceName,
} from '../net/index.js';
import type {
  BorrowedAddress,
  CommunityRule,
  EffectiveFelix,
  ExportedPrefix,
  Mtu,
  NatOutgoing,
  NodeDesired,
  OwnBlock,
  PlannedBgp,
  WorkloadRoute,
} from '../api/node-dataplane.js';
import type { ClusterIndex } from './cluster-index.js';
import { type NodeFacts, compareStrings, ipSortKey, cidrSortKey } from './facts.js';
import {
  type GlobalPeerings,
  type PeerContext,
  explicitPeers,
  filtersFor,
  listenPortOf,
  routerId,
} from './bgp-peers.js';
import { effectiveFelix, mergeFelix, mtuSettings, natOutgoing, tunnelDevices } from './felix-effective.js';
import type { PlanGlobals } from './plan-globals.js';
import { EXCLUDE_SERVICE_ADVERTISEMENT_LABEL, serviceRanges } from './service-advertisement.js';
import { type FelixSettings, PER_NODE_CONFIG_PREFIX, type SnapshotBGPConfiguration } from './snapshot.js';

export { EXCLUDE_SERVICE_ADVERTISEMENT_LABEL };

export interface NodeDesiredContext {
  idx: ClusterIndex;
  globals: PlanGlobals;
  peers: PeerContext;
  globalPeerings: GlobalPeerings;
  views(node: NodeFacts): { v4: string; v6: string };
  /** Parts equal for every node without its own FelixConfiguration; filled on first use within one pass. */
  shared: SharedParts;
}

export interface SharedParts {
  felixDefault?: FelixParts;
  /** Service ranges and the addresses of Services announced from every node. */
  services?: readonly Prefix[];
  serviceRejects?: readonly string[];
  communities?: readonly CommunityRule[];
}

interface FelixParts {
  spec: FelixSettings;
  felix: EffectiveFelix;
  mtu: Mtu;
  nat: NatOutgoing;
  /** JSON of the three, computed once for every node that shares them. */
  json: string;
}

interface Prefix {
  cidr: string;
  key: string;
  origin: ExportedPrefix['origin'];
}

/** NodeDesired fields hashed per node; SHARED_REVISION_FIELDS enter as the shared JSON (same order as felixParts). */
export const REVISION_FIELDS = [
  'view',
  'viewV6',
  'nodeAddress',
  'blocks',
  'borrowed',
  'tunnels',
  'removeTunnels',
  'bgp',
] as const;
export const SHARED_REVISION_FIELDS = ['mtu', 'natOutgoing', 'felix'] as const;

export function revisionOf(json: string): string {
  return `sha256:${hash('sha256', json, 'hex').slice(0, 32)}`;
}

function felixParts(spec: FelixSettings, g: PlanGlobals): FelixParts {
  const felix = effectiveFelix(spec, g.encap);
  const mtu = mtuSettings(spec);
  const nat = natOutgoing(g.poolsSorted, spec);
  return { spec, felix, mtu, nat, json: JSON.stringify([mtu, nat, felix]) };
}

export function buildNodeDesired(n: NodeFacts, ctx: NodeDesiredContext): NodeDesired {
  const { idx, globals } = ctx;
  const own = idx.felixConfigurations.get(PER_NODE_CONFIG_PREFIX + n.name)?.spec;
  const fx = own
    ? felixParts(mergeFelix(globals.felixDefault, own), globals)
    : (ctx.shared.felixDefault ??= felixParts(mergeFelix(globals.felixDefault, undefined), globals));
  const { tunnels, removeTunnels } = tunnelDevices(n, fx.felix, fx.mtu);
  const views = ctx.views(n);

  const blocks: OwnBlock[] = [];
  const blockKeys: string[] = [];
  for (const b of idx.blocksOf(n.name)) {
    const pool = idx.poolFor(b);
    // A block with no pool, or in a LoadBalancer-only pool, has no pool type: Felix installs no blackhole for it.
    if (!pool || pool.routeType === 'none') continue;
    blocks.push({ cidr: b.cidrText, pool: pool.name });
    blockKeys.push(b.sortKey);
  }
  let borrowed: BorrowedAddress[] = [];
  let borrowedKeys: string[] = [];
  for (const b of idx.borrowingBlocksOf(n.name)) {
    const pool = idx.poolFor(b);
    if (!pool) continue;
    for (const a of b.borrowed) {
      if (a.holder !== n.name) continue;
      const entry: BorrowedAddress = { cidr: a.cidrText, block: b.cidrText, pool: pool.name };
      if (b.affinity !== undefined) entry.blockNode = b.affinity;
      borrowed.push(entry);
      borrowedKeys.push(ipSortKey(a.address));
    }
  }
  if (borrowed.length > 1) {
    const order = borrowed
      .map((_, i) => i)
      .sort((x, y) => compareStrings(borrowedKeys[x] ?? '', borrowedKeys[y] ?? ''));
    borrowed = order.map((i) => borrowed[i] as BorrowedAddress);
    borrowedKeys = order.map((i) => borrowedKeys[i] ?? '');
  }

  const desired: NodeDesired = {
    revision: '',
    view: views.v4,
    blocks,
    borrowed,
    tunnels,
    mtu: fx.mtu,
    natOutgoing: fx.nat,
    felix: fx.felix,
  };
  if (views.v6 !== views.v4) desired.viewV6 = views.v6;
  if (n.v4?.bgp || n.v6?.bgp) {
    const nodeAddress: { ipv4?: string; ipv6?: string } = {};
    if (n.v4?.bgp) nodeAddress.ipv4 = n.v4.interfaceText;
    if (n.v6?.bgp) nodeAddress.ipv6 = n.v6.interfaceText;
    desired.nodeAddress = nodeAddress;
  }
  desired.removeTunnels = removeTunnels;
  const bgp = bgpSection(n, ctx, blocks, blockKeys, borrowed, borrowedKeys);
  if (bgp) desired.bgp = bgp;
  // The revision hashes every field but itself. The parts shared by all nodes without their own FelixConfiguration
  // (mtu, natOutgoing, felix) enter as their JSON, serialised once per pass. A new field of NodeDesired must be
  // listed in REVISION_FIELDS, or it would change without changing the revision (node-desired.test.ts checks it).
  const ownJson = JSON.stringify(REVISION_FIELDS.map((k) => desired[k] ?? null));
  desired.revision = revisionOf(`${ownJson}\n${fx.json}`);
  return desired;
}

/** The routes the CNI plugin gives `node`'s pods (`<ip> dev cali… scope link`), for materialising its table. */
export function localWorkloadRoutes(idx: ClusterIndex, node: string): WorkloadRoute[] {
  const out: (WorkloadRoute & { key: string })[] = [];
  for (const pod of idx.podsOf(node)) {
    const iface = workloadInterfaceName(pod.namespace, pod.name);
    for (const text of pod.ips) {
      const ip = parseIP(text);
      out.push({
        cidr: `${formatIP(ip)}/${ip.family === 4 ? 32 : 128}`,
        interface: iface,
        namespace: pod.namespace,
        pod: pod.name,
        key: `${ipSortKey(ip)} ${pod.namespace}/${pod.name}`,
      });
    }
  }
  out.sort((a, b) => compareStrings(a.key, b.key));
  return out.map(({ key: _key, ...rest }) => rest);
}

function bgpSection(
  n: NodeFacts,
  ctx: NodeDesiredContext,
  blocks: readonly OwnBlock[],
  blockKeys: readonly string[],
  borrowed: readonly BorrowedAddress[],
  borrowedKeys: readonly string[],
): PlannedBgp | undefined {
  // confd renders "IPv4 disabled on this node" without a BGP address; with neither family there is no speaker.
  if (!n.v4?.bgp && !n.v6?.bgp) return undefined;
  const g = ctx.globals;
  const nodeConfig = ctx.idx.bgpConfigurations.get(PER_NODE_CONFIG_PREFIX + n.name);
  const bgp: PlannedBgp = {
    asNumber: n.asNumber ?? g.bgp.asNumber,
    routerID: routerId(n),
    nodeToNodeMesh: g.bgp.meshEnabled && n.routeReflectorClusterId === undefined,
    peers: [],
    exportPrefixes: [],
  };
  if (n.v4?.bgp) bgp.ipv4Address = n.v4.interfaceText;
  if (n.v6?.bgp) bgp.ipv6Address = n.v6.interfaceText;
  const listenPort = listenPortOf(n.name, ctx.idx.bgpConfigurations, g.bgp);
  if (listenPort !== undefined) bgp.listenPort = listenPort;
  bgp.defaultASNumber = g.bgp.asNumber;
  if (g.bgp.listenPort !== undefined) bgp.defaultListenPort = g.bgp.listenPort;
  if (g.bgpDefault?.bindMode !== undefined) bgp.bindMode = g.bgpDefault.bindMode;
  const severity = nodeConfig?.logSeverityScreen ?? g.bgpDefault?.logSeverityScreen;
  if (severity !== undefined && severity !== '') bgp.logSeverityScreen = severity;
  if (bgp.nodeToNodeMesh && g.bgp.meshPassword) bgp.meshPasswordSecretRef = { ...g.bgp.meshPassword };
  if (bgp.nodeToNodeMesh && g.bgp.meshRestartSeconds !== undefined) {
    bgp.meshMaxRestartTimeSeconds = g.bgp.meshRestartSeconds;
  }
  if (n.routeReflectorClusterId !== undefined) bgp.routeReflectorClusterID = n.routeReflectorClusterId;
  const ignored = g.bgpDefault?.ignoredInterfaces;
  if (ignored && ignored.length > 0) bgp.ignoredInterfaces = [...ignored];
  bgp.peers = explicitPeers(n, ctx.peers, ctx.globalPeerings);
  const filters = filtersFor(bgp.peers, ctx.idx.bgpFilters);
  if (filters.length > 0) bgp.filters = filters;
  bgp.exportPrefixes = exportPrefixes(n, ctx, blocks, blockKeys, borrowed, borrowedKeys);
  if (g.rejectPrefixes.length > 0) bgp.rejectPrefixes = [...g.rejectPrefixes];
  // Equal for every node without its own prefixAdvertisements: worked out once per pass.
  const communities = nodeConfig?.prefixAdvertisements
    ? communityRules(nodeConfig, g.bgpDefault)
    : (ctx.shared.communities ??= communityRules(undefined, g.bgpDefault));
  if (communities.length > 0)
    bgp.communities = communities.map((c) => ({ cidr: c.cidr, communities: [...c.communities] }));
  const rejects = (ctx.shared.serviceRejects ??= serviceRejects(ctx));
  if (rejects.length > 0) bgp.serviceRejectPrefixes = [...rejects];
  // confd bird_ipam.cfg: a route reflector re-exports what its clients announce inside these ranges.
  if (n.routeReflectorClusterId !== undefined) {
    const lb = g.bgpDefault?.serviceLoadBalancerIPs ?? [];
    const ext = g.bgpDefault?.serviceExternalIPs ?? [];
    if (lb.length + ext.length > 0) bgp.reflectedServiceRanges = { loadBalancerIPs: [...lb], externalIPs: [...ext] };
  }
  const v4 = g.bgpDefault?.ipv4NormalRoutePriority;
  const v6 = g.bgpDefault?.ipv6NormalRoutePriority;
  if (v4 !== undefined || v6 !== undefined) {
    bgp.normalRoutePriority = { ...(v4 !== undefined ? { ipv4: v4 } : {}), ...(v6 !== undefined ? { ipv6: v6 } : {}) };
  }
  return bgp;
}

function serviceRejects(ctx: NodeDesiredContext): string[] {
  const out = serviceRanges(ctx.idx.services.currentSettings).map((p) => parseCidr(p.cidr));
  return [...new Set(out.sort((a, b) => compareStrings(cidrSortKey(a), cidrSortKey(b))).map((c) => formatCidr(c)))];
}

/** Service ranges plus the addresses of Services announced from every node: equal for every announcing node. */
function sharedServicePrefixes(ctx: NodeDesiredContext): Prefix[] {
  const all = [...serviceRanges(ctx.idx.services.currentSettings), ...ctx.idx.services.everywherePrefixes()];
  return all.map((p) => ({ cidr: p.cidr, key: cidrSortKey(parseCidr(p.cidr)), origin: p.origin }));
}

/**
 * Communities by prefix: the node's own BGPConfiguration's prefixAdvertisements replace the default's (confd
 * getNodeOrGlobalValue); names resolve against the `communities` of the same object; each prefix's values are
 * de-duplicated and sorted as text (confd getCommunitiesArray); prefixes keep their order.
 */
function communityRules(
  nodeConfig: SnapshotBGPConfiguration | undefined,
  global: SnapshotBGPConfiguration | undefined,
): CommunityRule[] {
  const adv = nodeConfig?.prefixAdvertisements ? nodeConfig : global;
  const out: CommunityRule[] = [];
  for (const a of adv?.prefixAdvertisements ?? []) {
    const values = new Set<string>();
    for (const c of a.communities) {
      const v = /^\d+:\d+(:\d+)?$/.test(c) ? c : adv?.communities?.find((d) => d.name === c)?.value;
      if (v !== undefined) values.add(v);
    }
    if (values.size === 0) continue;
    out.push({
      cidr: formatCidr(
        cidrMasked(parseCidrLoose(a.cidr.includes('/') ? a.cidr : `${a.cidr}/${a.cidr.includes(':') ? 128 : 32}`)),
      ),
      communities: [...values].sort(),
    });
  }
  return out;
}

function exportPrefixes(
  n: NodeFacts,
  ctx: NodeDesiredContext,
  blocks: readonly OwnBlock[],
  blockKeys: readonly string[],
  borrowed: readonly BorrowedAddress[],
  borrowedKeys: readonly string[],
): ExportedPrefix[] {
  const g = ctx.globals;
  const out: Prefix[] = [];
  // disableBGPExport pools are rejected before anything else in calico_export_to_bgp_peers.
  const exported = (poolName: string) => !g.poolsSorted.some((p) => p.name === poolName && p.disableBGPExport);
  blocks.forEach((b, i) => {
    if (exported(b.pool)) out.push({ cidr: b.cidr, key: blockKeys[i] ?? '', origin: 'block' });
  });
  borrowed.forEach((a, i) => {
    if (exported(a.pool)) out.push({ cidr: a.cidr, key: borrowedKeys[i] ?? '', origin: 'borrowed' });
  });
  if (n.labels[EXCLUDE_SERVICE_ADVERTISEMENT_LABEL] !== 'true') {
    out.push(...(ctx.shared.services ??= sharedServicePrefixes(ctx)));
    for (const p of ctx.idx.services.localPrefixes(n.name)) {
      out.push({ cidr: p.cidr, key: cidrSortKey(parseCidr(p.cidr)), origin: p.origin });
    }
  }
  out.sort((a, b) => compareStrings(a.key, b.key) || compareStrings(a.origin, b.origin));
  const seen = new Set<string>();
  const result: ExportedPrefix[] = [];
  for (const { cidr, origin } of out) {
    // One announcement per prefix (confd reference-counts routes announced for several reasons).
    if (seen.has(cidr)) continue;
    seen.add(cidr);
    result.push({ cidr, origin });
  }
  return result;
}
