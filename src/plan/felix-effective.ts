// Node-level dataplane settings that come from FelixConfiguration and the pools: the effective Felix subset, tunnel
// devices, MTU overrides, NAT-outgoing inputs.
// Inputs: FelixConfiguration `default` and `node.<name>` specs, pool facts, node facts. Outputs: the NodeDesired parts
// of the same names. calico: felix/config/config_params.go (defaults), felix/dataplane/linux/vxlan_mgr.go (device);
// which encapsulations the pools call for is decided in encap-decider.ts.
// Invariants: a per-node field overrides the default only when set; a field set by neither takes Felix's default from
// FELIX_DEFAULTS (api/felix-configuration.ts, the one place they are written); pool-derived encapsulation counts
// disabled pools too (Calico does); emitted lists are sorted. The MTUs themselves are derived by the agent
// (agent/mtu.ts), which knows the host MTU; the plan carries only the configured values.
import { DURATION, durationSeconds } from '../api/fields.js';
import { FELIX_DEFAULTS } from '../api/felix-configuration.js';
import type { EffectiveFelix, Mtu, NatOutgoing, TunnelDevice } from '../api/node-dataplane.js';
import { type EncapFlags, vxlanDevice } from './encap-decider.js';
import { type NodeFacts, type PoolFacts, vxlanMacOf } from './facts.js';
import type { FelixSettings } from './snapshot.js';

/** Cluster routes' protocol while deviceRouteProtocol keeps Felix's default (RTPROT_BOOT, 3). */
const CALICO_ROUTE_PROTOCOL = 80;
const DEFAULT_ROUTE_REFRESH_SECONDS = durationSeconds(FELIX_DEFAULTS.routeRefreshInterval);

/** `default` overlaid field by field with `node.<name>` (fields set to undefined/null do not override). */
export function mergeFelix(global: Readonly<FelixSettings> | undefined, node: Readonly<FelixSettings> | undefined) {
  const out: FelixSettings = { ...(global ?? {}) };
  if (node) {
    for (const [k, v] of Object.entries(node)) if (v !== undefined && v !== null) out[k] = v;
  }
  return out;
}

/** A metav1.Duration (`90s`, `1m30s`) or a number of seconds → seconds; undefined when absent or unreadable. */
export function durationOrSeconds(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return v;
  return typeof v === 'string' && DURATION.test(v) ? durationSeconds(v) : undefined;
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function bool(v: unknown): boolean | undefined {
  return typeof v === 'boolean' ? v : undefined;
}

export function effectiveFelix(f: Readonly<FelixSettings>, pools: EncapFlags): EffectiveFelix {
  const deviceRouteProtocol = num(f.deviceRouteProtocol) ?? FELIX_DEFAULTS.deviceRouteProtocol;
  const out: EffectiveFelix = {
    ipipEnabled: bool(f.ipipEnabled) ?? pools.ipip,
    vxlanEnabled: bool(f.vxlanEnabled) ?? pools.vxlan,
    vxlanEnabledV6: bool(f.vxlanEnabled) ?? pools.vxlanV6,
    vxlanPort: num(f.vxlanPort) || FELIX_DEFAULTS.vxlanPort,
    vxlanVNI: num(f.vxlanVNI) || FELIX_DEFAULTS.vxlanVNI,
    deviceRouteProtocol,
    // calico: felix/dataplane/linux/route_mgr.go — protocol 80 unless the user moved deviceRouteProtocol off 3.
    clusterRouteProtocol:
      deviceRouteProtocol === FELIX_DEFAULTS.deviceRouteProtocol ? CALICO_ROUTE_PROTOCOL : deviceRouteProtocol,
    removeExternalRoutes: bool(f.removeExternalRoutes) ?? FELIX_DEFAULTS.removeExternalRoutes,
    routeRefreshIntervalSeconds: durationOrSeconds(f.routeRefreshInterval) ?? DEFAULT_ROUTE_REFRESH_SECONDS,
    routeSource: f.routeSource === 'WorkloadIPs' ? 'WorkloadIPs' : FELIX_DEFAULTS.routeSource,
    ipForwarding: f.ipForwarding === 'Disabled' ? 'Disabled' : FELIX_DEFAULTS.ipForwarding,
  };
  const src4 = str(f.deviceRouteSourceAddress);
  if (src4 !== undefined) out.deviceRouteSourceAddress = src4;
  const src6 = str(f.deviceRouteSourceAddressIPv6);
  if (src6 !== undefined) out.deviceRouteSourceAddressIPv6 = src6;
  const ranges = routeTableRanges(f);
  if (ranges) out.routeTableRanges = ranges;
  const prio4 = num(f.ipv4NormalRoutePriority);
  if (prio4 !== undefined) out.ipv4NormalRoutePriority = prio4;
  const prio6 = num(f.ipv6NormalRoutePriority);
  if (prio6 !== undefined) out.ipv6NormalRoutePriority = prio6;
  if (Array.isArray(f.externalNodesList) && f.externalNodesList.length > 0) {
    out.externalNodesCidrs = f.externalNodesList.filter((x): x is string => typeof x === 'string').sort();
  }
  return out;
}

function routeTableRanges(f: Readonly<FelixSettings>): { min: number; max: number }[] | undefined {
  const asRange = (r: unknown) => {
    if (typeof r !== 'object' || r === null) return undefined;
    const { min, max } = r as { min?: unknown; max?: unknown };
    return typeof min === 'number' && typeof max === 'number' ? { min, max } : undefined;
  };
  if (Array.isArray(f.routeTableRanges)) {
    const out = f.routeTableRanges.map(asRange).filter((r): r is { min: number; max: number } => r !== undefined);
    return out.length > 0 ? out.sort((a, b) => a.min - b.min || a.max - b.max) : undefined;
  }
  const single = asRange(f.routeTableRange);
  return single ? [single] : undefined;
}

export function mtuSettings(f: Readonly<FelixSettings>): Mtu {
  const out: Mtu = {};
  const ipip = num(f.ipipMTU);
  if (ipip) out.ipip = ipip;
  const vxlan = num(f.vxlanMTU);
  if (vxlan) out.vxlan = vxlan;
  const vxlanV6 = num(f.vxlanMTUV6);
  if (vxlanV6) out.vxlanV6 = vxlanV6;
  const pattern = str(f.mtuIfacePattern);
  if (pattern !== undefined) out.ifacePattern = pattern;
  return out;
}

/** Devices to keep (sorted by name) and devices to remove, for one node. */
export function tunnelDevices(node: NodeFacts, felix: EffectiveFelix, mtu: Mtu) {
  const tunnels: TunnelDevice[] = [];
  const removeTunnels: ('tunl0' | 'vxlan.calico' | 'vxlan-v6.calico')[] = [];
  if (felix.ipipEnabled) {
    const d: TunnelDevice = { name: 'tunl0', type: 'ipip', family: 4 };
    if (node.ipipTunnelAddress !== undefined) d.address = node.ipipTunnelAddress;
    if (mtu.ipip) d.mtu = mtu.ipip;
    tunnels.push(d);
  } else {
    removeTunnels.push('tunl0');
  }
  // VXLAN is the same device per family: its own name, tunnel address, MTU, VTEP MAC and parent address.
  const vxlan = (family: 4 | 6, enabled: boolean): void => {
    const name = vxlanDevice(family);
    if (!enabled) {
      removeTunnels.push(name);
      return;
    }
    const d: TunnelDevice = { name, type: 'vxlan', family };
    const address = family === 4 ? node.vxlanTunnelAddress : node.vxlanTunnelAddressV6;
    if (address !== undefined) d.address = address;
    const deviceMtu = family === 4 ? mtu.vxlan : mtu.vxlanV6;
    if (deviceMtu) d.mtu = deviceMtu;
    d.vni = felix.vxlanVNI;
    d.port = felix.vxlanPort;
    d.mac = (family === 4 ? node.vtep4 : node.vtep6)?.mac ?? vxlanMacOf(node.record, family);
    const parent = family === 4 ? node.v4 : node.v6;
    if (parent?.bgp) d.parentAddress = parent.text;
    tunnels.push(d);
  };
  vxlan(4, felix.vxlanEnabled);
  vxlan(6, felix.vxlanEnabledV6);
  tunnels.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  removeTunnels.sort();
  return { tunnels, removeTunnels };
}

/** calico: felix ipsets `masq-ipam-pools` (natOutgoing pools) and `all-ipam-pools` (every pool, disabled included). */
export function natOutgoing(poolsSorted: readonly PoolFacts[], f: Readonly<FelixSettings>): NatOutgoing {
  const out: NatOutgoing = {
    sourceCidrs: poolsSorted.filter((p) => p.natOutgoing).map((p) => p.cidrText),
    allPoolCidrs: poolsSorted.map((p) => p.cidrText),
  };
  const addr = str(f.natOutgoingAddress);
  if (addr !== undefined) out.outgoingAddress = addr;
  const range = typeof f.natPortRange === 'number' ? String(f.natPortRange) : str(f.natPortRange);
  if (range !== undefined) out.portRange = range;
  return out;
}
