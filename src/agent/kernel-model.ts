// The agent's model of the kernel state it owns: tunnel devices and their addresses, routes marked with the agent's
// route protocol, permanent neighbour (ARP/NDP) entries and FDB entries on the VXLAN devices.
//
// Inputs: none (types and small pure helpers). The same shapes describe three things: what the kernel holds
// (`KernelState`, parsed from `ip -json`), what it should hold (`KernelTarget`, from kernel-target.ts), and the steps
// between them (`KernelPlan`, from kernel-diff.ts).
// Invariants: every address is canonical text (IPv6 per RFC 5952); route destinations always carry a prefix length
// (`10.0.0.5/32`, never `10.0.0.5`); MACs are lower case; map keys come from the key functions below and nowhere else.

export type TunnelName = 'tunl0' | 'vxlan.calico' | 'vxlan-v6.calico';
export const TUNNEL_NAMES: readonly TunnelName[] = ['tunl0', 'vxlan.calico', 'vxlan-v6.calico'];

export interface RouteSpec {
  /** Canonical destination CIDR with an explicit prefix length. */
  dst: string;
  type: 'unicast' | 'blackhole';
  /** Next hop (unicast only). */
  via?: string;
  /** Outgoing device; absent in a target means "the kernel resolves it" (direct routes), so any device satisfies it. */
  dev?: string;
  onlink?: boolean;
}

/** A permanent neighbour entry: `<ip> lladdr <mac> dev <dev> nud permanent`. */
export interface NeighbourSpec {
  dev: string;
  ip: string;
  mac: string;
}

/** A permanent FDB entry on a VXLAN device: `<mac> dev <dev> dst <dst> self permanent`. */
export interface FdbSpec {
  dev: string;
  mac: string;
  /** Remote node address the encapsulated frames for `mac` go to. */
  dst: string;
}

export interface VxlanDeviceSpec {
  kind: 'vxlan';
  name: TunnelName;
  family: 4 | 6;
  vni: number;
  port: number;
  /** Source address of the encapsulated packets (the node address); absent: the kernel picks one. */
  local?: string;
  /** Parent interface (the one holding `local`); absent: none named. */
  parent?: string;
  /** Device MAC; absent: whatever the kernel chose. */
  mac?: string;
  mtu: number;
}

export interface IpipDeviceSpec {
  kind: 'ipip';
  name: 'tunl0';
  family: 4;
  mtu: number;
}

export type TunnelDeviceSpec = VxlanDeviceSpec | IpipDeviceSpec;

/** One link as read from the kernel (any kind; the agent only changes tunnel devices). */
export interface LinkState {
  name: string;
  /** `linkinfo.info_kind` (`vxlan`, `ipip`, `veth`, ...); '' for plain devices. */
  kind: string;
  up: boolean;
  mtu: number;
  mac?: string;
  vni?: number;
  port?: number;
  local?: string;
  parent?: string;
  learning?: boolean;
}

export interface KernelState {
  /** Tunnel devices that exist, by name. */
  links: ReadonlyMap<string, LinkState>;
  /** Global-scope addresses (CIDR text) on each tunnel device, sorted. */
  addresses: ReadonlyMap<string, readonly string[]>;
  /** Routes carrying the agent's route protocol, by destination. */
  routes: ReadonlyMap<string, RouteSpec>;
  /** Permanent neighbour entries on tunnel devices, by `neighbourKey`. */
  neighbours: ReadonlyMap<string, NeighbourSpec>;
  /** Permanent FDB entries with a remote dst on VXLAN devices, by `fdbKey`. */
  fdb: ReadonlyMap<string, FdbSpec>;
}

/** Facts about the host the target depends on but the agent does not own. */
export interface HostEnvironment {
  interfaces: readonly HostInterface[];
}

export interface HostInterface {
  name: string;
  up: boolean;
  mtu: number;
  /** Addresses without prefix length, global scope only. */
  addresses: readonly string[];
}

export interface Observation {
  state: KernelState;
  env: HostEnvironment;
}

export const neighbourKey = (n: { dev: string; ip: string }): string => `${n.dev}|${n.ip}`;
export const fdbKey = (f: { dev: string; mac: string }): string => `${f.dev}|${f.mac}`;

export function emptyKernelState(): KernelState {
  return { links: new Map(), addresses: new Map(), routes: new Map(), neighbours: new Map(), fdb: new Map() };
}

/**
 * Whether the route the kernel holds (`have`) is the one wanted (`want`). A wanted route without a device is
 * satisfied by any device: the kernel resolved the uplink for `via`.
 */
export function routeSatisfies(have: RouteSpec, want: RouteSpec): boolean {
  if (have.dst !== want.dst || have.type !== want.type) return false;
  if (want.type === 'blackhole') return true;
  if (have.via !== want.via) return false;
  if (want.dev !== undefined && have.dev !== want.dev) return false;
  return (have.onlink ?? false) === (want.onlink ?? false);
}

/** Device attributes that can only be set at creation: a difference means delete and re-add (as Felix does). */
export function deviceNeedsRecreate(have: LinkState, want: TunnelDeviceSpec): boolean {
  if (have.kind !== want.kind) return true;
  if (want.kind === 'ipip') return false;
  return (
    have.vni !== want.vni ||
    have.port !== want.port ||
    have.local !== want.local ||
    have.parent !== want.parent ||
    have.learning !== false
  );
}

/** The attribute changes `ip link set` can make in place; empty when the device is as wanted. */
export function deviceUpdates(have: LinkState, want: TunnelDeviceSpec): { mtu?: number; mac?: string; up?: true } {
  const out: { mtu?: number; mac?: string; up?: true } = {};
  if (have.mtu !== want.mtu) out.mtu = want.mtu;
  if (want.kind === 'vxlan' && want.mac !== undefined && have.mac !== want.mac) out.mac = want.mac;
  if (!have.up) out.up = true;
  return out;
}

/** The LinkState a freshly created device has. */
export function linkStateOf(spec: TunnelDeviceSpec): LinkState {
  if (spec.kind === 'ipip') return { name: spec.name, kind: 'ipip', up: true, mtu: spec.mtu };
  const s: LinkState = {
    name: spec.name,
    kind: 'vxlan',
    up: true,
    mtu: spec.mtu,
    vni: spec.vni,
    port: spec.port,
    learning: false,
  };
  if (spec.mac !== undefined) s.mac = spec.mac;
  if (spec.local !== undefined) s.local = spec.local;
  if (spec.parent !== undefined) s.parent = spec.parent;
  return s;
}

/** `10.0.0.5` → `10.0.0.5/32`, `fd00::1` → `fd00::1/128`; CIDRs pass through. */
export function withPrefix(dst: string): string {
  if (dst.includes('/')) return dst;
  return dst.includes(':') ? `${dst}/128` : `${dst}/32`;
}

export function familyOf(addressOrCidr: string): 4 | 6 {
  return addressOrCidr.includes(':') ? 6 : 4;
}
