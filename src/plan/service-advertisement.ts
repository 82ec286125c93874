// Which Service addresses a node announces over BGP — Calico's rule (calico: confd/pkg/backends/calico/client.go
// updateGlobalRoutes / onClusterIPsUpdate / onExternalIPsUpdate / onLoadBalancerIPsUpdate, and routes.go
// advertiseThisService / getAllRoutesForService), in one place:
//
// Ranges (BGPConfiguration `default`): every serviceClusterIPs range, every serviceExternalIPs range that is not a
// single address, and — while serviceLoadBalancerAggregation is Enabled (the default) — every serviceLoadBalancerIPs
// range that is not a single address, are announced from every node not labelled
// node.kubernetes.io/exclude-from-external-load-balancers=true, and are never programmed into any node's kernel from
// BGP (confd's /rejectcidrs, on excluded nodes too).
//
// Single addresses (per Service; only ClusterIP, NodePort and LoadBalancer services with a cluster IP, and only once
// the Service has an EndpointSlice): a Service is announced
//   - from every node, when its externalTrafficPolicy is Cluster and it is a LoadBalancer with an address inside a
//     single-address (/32, /128) serviceLoadBalancerIPs entry, or has an external IP inside a single-address
//     serviceExternalIPs entry;
//   - otherwise, for externalTrafficPolicy Local: from each node running a ready endpoint of it;
//   - otherwise (not Local) while aggregation is Disabled: from every node, once any endpoint is ready;
//   - otherwise not at all.
// A Service announced from a node contributes its cluster IPs (when serviceClusterIPs is set at all), its external
// IPs inside serviceExternalIPs, and its LoadBalancer ingress IPs inside serviceLoadBalancerIPs, each as a /32 (/128).
// Only EndpointSlices of an address type the Service has count.
// Inputs: the default BGPConfiguration, a Service and its EndpointSlices. Outputs: prefixes and where they are
// announced. Pure.
import { type Cidr, cidrContainsIP, cidrMasked, formatCidr, parseCidrLoose, tryParseIP } from '../net/index.js';
import type { ExportedPrefix } from '../api/node-dataplane.js';
import type { SnapshotBGPConfiguration, SnapshotEndpointSlice, SnapshotService } from './snapshot.js';

/** Nodes labelled so announce no service address (calico: client.go ExcludeServiceAdvertisement). */
export const EXCLUDE_SERVICE_ADVERTISEMENT_LABEL = 'node.kubernetes.io/exclude-from-external-load-balancers';

export type ServiceOrigin = Extract<ExportedPrefix['origin'], `service${string}`>;

export interface ServicePrefix {
  /** Canonical CIDR text. */
  cidr: string;
  origin: ServiceOrigin;
}

/** The parts of the default BGPConfiguration service advertisement reads, parsed once. */
export interface ServiceSettings {
  clusterRanges: readonly Cidr[];
  externalRanges: readonly Cidr[];
  loadBalancerRanges: readonly Cidr[];
  aggregate: boolean;
}

function hostLength(c: Cidr): boolean {
  return c.prefix === (c.family === 4 ? 32 : 128);
}

function ranges(texts: readonly string[] | undefined): Cidr[] {
  return (texts ?? []).map((t) =>
    cidrMasked(parseCidrLoose(t.includes('/') ? t : `${t}/${t.includes(':') ? 128 : 32}`)),
  );
}

export function serviceSettings(cfg: SnapshotBGPConfiguration | undefined): ServiceSettings {
  return {
    clusterRanges: ranges(cfg?.serviceClusterIPs),
    externalRanges: ranges(cfg?.serviceExternalIPs),
    loadBalancerRanges: ranges(cfg?.serviceLoadBalancerIPs),
    aggregate: (cfg?.serviceLoadBalancerAggregation ?? 'Enabled') === 'Enabled',
  };
}

/** The ranges every (non-excluded) node announces, which are also what no node takes into its kernel from BGP. */
export function serviceRanges(s: ServiceSettings): ServicePrefix[] {
  const out: ServicePrefix[] = [];
  for (const c of s.clusterRanges) out.push({ cidr: formatCidr(c), origin: 'serviceClusterIP' });
  for (const c of s.externalRanges) if (!hostLength(c)) out.push({ cidr: formatCidr(c), origin: 'serviceExternalIP' });
  if (s.aggregate) {
    for (const c of s.loadBalancerRanges) {
      if (!hostLength(c)) out.push({ cidr: formatCidr(c), origin: 'serviceLoadBalancerIP' });
    }
  }
  return out;
}

export type ServiceScope =
  | { kind: 'none' }
  | { kind: 'all'; prefixes: readonly ServicePrefix[] }
  | { kind: 'local'; nodes: readonly string[]; prefixes: readonly ServicePrefix[] };

const ANNOUNCED_TYPES = new Set(['ClusterIP', 'NodePort', 'LoadBalancer']);

function inSingleEntry(ip: string | undefined, list: readonly Cidr[]): boolean {
  const addr = ip === undefined || ip === '' ? undefined : tryParseIP(ip);
  return addr !== undefined && list.some((c) => hostLength(c) && cidrContainsIP(c, addr));
}

function hostPrefix(ip: string, origin: ServiceOrigin): ServicePrefix | undefined {
  const addr = tryParseIP(ip);
  if (addr === undefined) return undefined;
  return { cidr: formatCidr(parseCidrLoose(`${ip}/${addr.family === 4 ? 32 : 128}`)), origin };
}

/** The /32s (/128s) a node announcing `svc` announces for it. */
export function serviceAddresses(svc: SnapshotService, s: ServiceSettings): ServicePrefix[] {
  const out: ServicePrefix[] = [];
  const push = (p: ServicePrefix | undefined) => {
    if (p && !out.some((x) => x.cidr === p.cidr)) out.push(p);
  };
  // calico: AdvertiseClusterIPs — any serviceClusterIPs entry turns on every Service's cluster IPs.
  if (s.clusterRanges.length > 0) for (const ip of svc.clusterIPs) push(hostPrefix(ip, 'serviceClusterIP'));
  for (const ip of svc.externalIPs) {
    const addr = tryParseIP(ip);
    if (addr && s.externalRanges.some((c) => cidrContainsIP(c, addr))) push(hostPrefix(ip, 'serviceExternalIP'));
  }
  for (const ip of svc.ingressIPs) {
    const addr = tryParseIP(ip);
    if (addr && s.loadBalancerRanges.some((c) => cidrContainsIP(c, addr))) {
      push(hostPrefix(ip, 'serviceLoadBalancerIP'));
    }
  }
  return out;
}

/** Where `svc` is announced and what it contributes (see the header). `slices` are the Service's EndpointSlices. */
export function serviceScope(
  svc: SnapshotService,
  slices: readonly SnapshotEndpointSlice[],
  s: ServiceSettings,
): ServiceScope {
  if (!ANNOUNCED_TYPES.has(svc.type) || svc.clusterIPs.length === 0) return { kind: 'none' };
  // confd decides when a Service or one of its EndpointSlices changes; with no EndpointSlice it never decides.
  if (slices.length === 0) return { kind: 'none' };
  const prefixes = serviceAddresses(svc, s);
  const policy = svc.externalTrafficPolicy;
  if (policy === 'Cluster') {
    const singleLB =
      svc.type === 'LoadBalancer' &&
      (inSingleEntry(svc.loadBalancerIP, s.loadBalancerRanges) ||
        svc.ingressIPs.some((ip) => inSingleEntry(ip, s.loadBalancerRanges)));
    const singleExternal = svc.externalIPs.some((ip) => inSingleEntry(ip, s.externalRanges));
    if (singleLB || singleExternal) return prefixes.length > 0 ? { kind: 'all', prefixes } : { kind: 'none' };
  }
  if (policy !== 'Local' && s.aggregate) return { kind: 'none' };
  const families = new Set(svc.ipFamilies);
  const counted = slices.filter((e) => families.has(e.addressType));
  if (prefixes.length === 0) return { kind: 'none' };
  if (policy !== 'Local') return counted.some((e) => e.anyReady) ? { kind: 'all', prefixes } : { kind: 'none' };
  const nodes = [...new Set(counted.flatMap((e) => e.readyNodes))].sort();
  return nodes.length > 0 ? { kind: 'local', nodes, prefixes } : { kind: 'none' };
}
