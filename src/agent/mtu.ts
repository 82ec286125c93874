// Host MTU and tunnel device MTUs, as Felix derives them.
//
// Inputs: the host's interfaces (name, up, MTU), FelixConfiguration mtuIfacePattern, and the configured MTUs.
// Outputs: the host MTU (smallest MTU among up interfaces matching the pattern, 1460 when none match) and each
// tunnel's MTU (configured value, else host MTU minus the encapsulation overhead).
// Matches calico: felix/dataplane/linux/int_dataplane.go (findHostMTU, ConfigureDefaultMTUs) and the defaults in
// felix/config/config_params.go (MTUIfacePattern).
import type { HostInterface, TunnelName } from './kernel-model.js';

/** Felix's default `mtuIfacePattern`. */
export const DEFAULT_MTU_IFACE_PATTERN = '^((en|wl|ww|sl|ib)[Pcopsvx].*|(eth|wlan|wwan).*)';
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
