// The MTU rule, in one place: host MTU, tunnel device MTUs and the pod MTU, as Felix derives them.
//   - host MTU: the smallest MTU among up interfaces matching mtuIfacePattern (our tunnels never count), else 1460;
//   - a tunnel's MTU: its configured value (ipipMTU / vxlanMTU / vxlanMTUV6), else host MTU − 20 (IPIP), − 50
//     (VXLAN) or − 70 (VXLAN over IPv6);
//   - the pod MTU: the configured workload MTU, else the smallest MTU among the enabled encapsulations, else the
//     host MTU.
// The plan carries only the configured values (plan/felix-effective.ts); the kernel target (tunnel devices) and the
// IPAM socket (the MTU the CNI plugin gives a pod's veth) both derive theirs here, because only the agent knows the
// host's interfaces.
//
// Inputs: the host's interfaces (name, up, MTU), FelixConfiguration mtuIfacePattern, and the configured MTUs.
// Outputs: the host MTU, each tunnel's MTU, and the pod MTU (or what is still missing to know it).
// Matches calico: felix/dataplane/linux/int_dataplane.go (findHostMTU, ConfigureDefaultMTUs, determinePodMTU) and
// the defaults in felix/config/config_params.go (MTUIfacePattern).
import { FELIX_DEFAULTS } from '../api/felix-configuration.js';
import type { NodeDesired } from '../api/node-dataplane.js';
import type { PlannedMtu } from './ipam-server.js';
import type { HostInterface, TunnelName } from './kernel-model.js';

/** Felix's default `mtuIfacePattern`. */
export const DEFAULT_MTU_IFACE_PATTERN: string = FELIX_DEFAULTS.mtuIfacePattern;
/** Felix's host MTU when no interface matches the pattern. */
export const FALLBACK_HOST_MTU = 1460;

export const ENCAP_OVERHEAD: Readonly<Record<TunnelName, number>> = {
  tunl0: 20,
  'vxlan.calico': 50,
  'vxlan-v6.calico': 70,
};

const TUNNEL_DEVICES = new Set<string>(['tunl0', 'vxlan.calico', 'vxlan-v6.calico']);

/**
 * Smallest MTU among up interfaces whose name matches `pattern`. Our own tunnel devices never count: their MTU is
 * derived from the host MTU, not the other way round.
 */
export function findHostMtu(interfaces: readonly HostInterface[], pattern: RegExp): number {
  let best = Infinity;
  for (const i of interfaces) {
    if (!i.up || TUNNEL_DEVICES.has(i.name) || !pattern.test(i.name)) continue;
    if (i.mtu > 0 && i.mtu < best) best = i.mtu;
  }
  return Number.isFinite(best) ? best : FALLBACK_HOST_MTU;
}

/**
 * Compiles `mtuIfacePattern`; an invalid pattern falls back to Felix's default and says why, so one bad field
 * never stops the dataplane.
 */
export function compileIfacePattern(source: string | undefined): { pattern: RegExp; error?: string } {
  if (source === undefined || source === '') return { pattern: new RegExp(DEFAULT_MTU_IFACE_PATTERN) };
  try {
    return { pattern: new RegExp(source) };
  } catch (e) {
    return {
      pattern: new RegExp(DEFAULT_MTU_IFACE_PATTERN),
      error: `${JSON.stringify(source)} is not a valid regular expression (${(e as Error).message}); using the default`,
    };
  }
}

/** First positive value wins: the device's own MTU, then the FelixConfiguration one, then host MTU − overhead. */
export function tunnelMtu(name: TunnelName, hostMtu: number, ...configured: (number | undefined)[]): number {
  for (const c of configured) if (c !== undefined && c > 0) return c;
  return hostMtu - ENCAP_OVERHEAD[name];
}

/**
 * The pod (veth) MTU: the configured one, else the smallest MTU among the enabled encapsulations (each as its device
 * gets it), else the host MTU — what Felix writes to /var/lib/calico/mtu for the CNI plugin.
 */
export function podMtu(desired: Pick<NodeDesired, 'mtu' | 'felix'>, hostMtu: number): number {
  const { mtu, felix } = desired;
  if (mtu.workload) return mtu.workload;
  const enabled: number[] = [];
  if (felix.ipipEnabled) enabled.push(tunnelMtu('tunl0', hostMtu, mtu.ipip));
  if (felix.vxlanEnabled) enabled.push(tunnelMtu('vxlan.calico', hostMtu, mtu.vxlan));
  if (felix.vxlanEnabledV6) enabled.push(tunnelMtu('vxlan-v6.calico', hostMtu, mtu.vxlanV6));
  return enabled.length > 0 ? Math.min(...enabled) : hostMtu;
}

/** The pod MTU from the node's plan and its host MTU, or what is still missing (never a guess). */
export function podMtuOf(node: string, desired: NodeDesired | undefined, hostMtu: number | undefined): PlannedMtu {
  if (desired === undefined) {
    return { unknown: `NodeDataplane ${node} has no status.desired yet (the operator has not planned this node)` };
  }
  if (hostMtu === undefined) {
    return { unknown: `the host MTU of node ${node} is read by the agent's first sync, which has not finished` };
  }
  return podMtu(desired, hostMtu);
}
