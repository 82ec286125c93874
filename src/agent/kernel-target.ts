// The exact kernel state one node should hold, computed from its NodeDataplane and its view's RouteTable shards.
//
// Inputs: own node name, `status.desired` of its NodeDataplane, the `status` of every RouteTable shard of its view,
// the host environment (interfaces: for the host MTU and the VXLAN parent device) and kernel capabilities (ipip).
// Output: KernelTarget — tunnel devices (+ their addresses), routes marked with felix.clusterRouteProtocol, VXLAN
// neighbour and FDB entries, sysctls, the natOutgoing table, and issues found on the way.
// Rules (ARCHITECTURE.md "One writer per route"; calico-reference.md §4.3–4.5, §4.7):
// - own blocks → `blackhole <block>` (never for a /32 or /128 "block": the CNI plugin owns that address's route);
// - union of shard entries, skipping entries of this node: direct `<cidr> via <nodeIP>` (no device: the kernel picks
//   the uplink), ipip `via <nodeIP> dev tunl0 onlink`, vxlan `via <vtepIP> dev vxlan.calico onlink`; borrowed /32s
//   are entries like any other (longest prefix wins over the owner's block);
// - an entry whose tunnel device the NodeDataplane does not plan (a mode switch seen half-way: the shard and the
//   NodeDataplane arrive on two watches, in either order) is an error, and the route the kernel holds for that
//   destination (`currentRoutes`) stays as it is rather than being deleted — pods keep their path until both agree;
// - every remote VTEP (shard nodes and vxlan entries) → permanent ARP `vtepIP → vtepMAC` and FDB `vtepMAC → nodeIP`
//   on the VXLAN device (calico: felix/dataplane/linux/vxlan_mgr.go);
// - no ipip module → no tunl0, no ipip routes, one issue saying so (never an error loop).
// Invariants: pure (no I/O, no clock); deterministic for equal inputs (shards are visited by name); bad entries are
// skipped with an issue naming the object and field, never thrown.
import type { NodeDesired, TunnelDevice } from '../api/node-dataplane.js';
import { IssueCollector, type AgentIssue } from './agent-issues.js';
import { canonicalCidr, canonicalIP } from './canonical-text.js';
import {
  type FdbSpec,
  type NeighbourSpec,
  type RouteSpec,
  type TunnelDeviceSpec,
  type TunnelName,
  type HostEnvironment,
  TUNNEL_NAMES,
  fdbKey,
  neighbourKey,
} from './kernel-model.js';
import { compileIfacePattern, findHostMtu, tunnelMtu } from './mtu.js';
import { natOutgoingTarget, type NatOutgoingTarget, type NatProblem } from './nat-outgoing.js';
import {
  type RouteShard,
  type ShardContext,
  type TargetMemo,
  type VtepItem,
  canonicalMac,
  deriveShard,
} from './shard-routes.js';

export type { AgentIssue, AgentIssueCode } from './agent-issues.js';
export { TargetMemo, type RouteShard } from './shard-routes.js';
export const IPIP_UNAVAILABLE = 'IPIP unavailable: kernel module ipip not loaded';

export interface KernelCapabilities {
  /** The kernel can create `tunl0` (ipip module built in or loadable). */
  ipip: boolean;
}

export interface KernelTargetInput {
  nodeName: string;
  desired: NodeDesired;
  shards: readonly RouteShard[];
  env: HostEnvironment;
  capabilities: KernelCapabilities;
  /** Routes the agent holds now (its protocol), by destination; held for entries whose device is not planned. */
  currentRoutes?: ReadonlyMap<string, RouteSpec>;
}

export interface SysctlSetting {
  /** Path under /proc/sys, e.g. `net/ipv4/conf/vxlan.calico/rp_filter`. */
  path: string;
  value: string;
}

export interface KernelTarget {
  routeProtocol: number;
  hostMtu: number;
  devices: TunnelDeviceSpec[];
  /** Devices to delete if present. */
  deleteDevices: TunnelName[];
  /** Devices kept but stripped of every address (tunl0 is the kernel's fallback device and cannot be deleted). */
  stripDevices: TunnelName[];
  /** Exact global addresses (CIDR text) of each device in `devices`. */
  addresses: Map<string, string[]>;
  routes: Map<string, RouteSpec>;
  neighbours: Map<string, NeighbourSpec>;
  fdb: Map<string, FdbSpec>;
  sysctls: SysctlSetting[];
  nat: NatOutgoingTarget | undefined;
  issues: AgentIssue[];
  /** Planned routes not programmed because the kernel lacks ipip. */
  skippedIpipRoutes: number;
  /** Destinations kept in their current kernel form because their planned route needs a device not planned. */
  heldRoutes: number;
}

function deviceSpec(
  t: TunnelDevice,
  index: number,
  input: KernelTargetInput,
  hostMtu: number,
  out: IssueCollector,
): { spec: TunnelDeviceSpec; address?: string } | undefined {
  const { desired, nodeName } = input;
  const path = ['status', 'desired', 'tunnels', index];
  const address = t.address === undefined || t.address === '' ? undefined : canonicalIP(t.address, t.family);
  if (t.address !== undefined && t.address !== '' && address === undefined) {
    out.invalid(
      'NodeDataplane',
      nodeName,
      [...path, 'address'],
      `${JSON.stringify(t.address)} is not an IPv${t.family} address`,
    );
    return undefined;
  }
  const cidr = address === undefined ? undefined : `${address}/${t.family === 4 ? 32 : 128}`;
  if (t.type === 'ipip') {
    if (t.name !== 'tunl0' || t.family !== 4) {
      out.invalid('NodeDataplane', nodeName, [...path, 'name'], `an ipip tunnel must be tunl0 (IPv4), got ${t.name}`);
      return undefined;
    }
    const mtu = tunnelMtu('tunl0', hostMtu, t.mtu, desired.mtu.ipip);
    return { spec: { kind: 'ipip', name: 'tunl0', family: 4, mtu }, address: cidr };
  }
  if (t.name === 'tunl0') {
    out.invalid('NodeDataplane', nodeName, [...path, 'type'], 'tunl0 must have type ipip');
    return undefined;
  }
  const mac = canonicalMac(t.mac);
  if (t.mac !== undefined && t.mac !== '' && mac === undefined) {
    out.invalid('NodeDataplane', nodeName, [...path, 'mac'], `${JSON.stringify(t.mac)} is not a MAC address`);
    return undefined;
  }
  const spec: TunnelDeviceSpec = {
    kind: 'vxlan',
    name: t.name,
    family: t.family,
    vni: t.vni ?? desired.felix.vxlanVNI,
    port: t.port ?? desired.felix.vxlanPort,
    mtu: tunnelMtu(t.name, hostMtu, t.mtu, t.family === 4 ? desired.mtu.vxlan : desired.mtu.vxlanV6),
  };
  if (mac !== undefined) spec.mac = mac;
  if (t.parentAddress !== undefined && t.parentAddress !== '') {
    const local = canonicalIP(t.parentAddress);
    if (local === undefined) {
      out.invalid(
        'NodeDataplane',
        nodeName,
        [...path, 'parentAddress'],
        `${JSON.stringify(t.parentAddress)} is not an IP address`,
      );
    } else {
      spec.local = local;
      const parent = input.env.interfaces.find((i) => i.addresses.includes(local));
      if (parent !== undefined) spec.parent = parent.name;
      else {
        out.add({
          code: 'vxlan_parent_missing',
          severity: 'warning',
          message: `no interface holds the VXLAN parent address ${local}; ${t.name} is created without a parent device`,
          object: `device ${t.name}`,
        });
      }
    }
  }
  return { spec, address: cidr };
}

const isTunnelName = (name: string): name is TunnelName => (TUNNEL_NAMES as readonly string[]).includes(name);

/** `memo` (optional) makes a sync whose shards did not change skip re-deriving them. */
export function computeKernelTarget(input: KernelTargetInput, memo?: TargetMemo): KernelTarget {
  const { desired, nodeName } = input;
  const out = new IssueCollector();
  const { pattern, error: patternError } = compileIfacePattern(desired.mtu.ifacePattern);
  if (patternError !== undefined)
    out.invalid('NodeDataplane', nodeName, ['status', 'desired', 'mtu', 'ifacePattern'], patternError);
  const hostMtu = findHostMtu(input.env.interfaces, pattern);

  // Devices.
  const devices: TunnelDeviceSpec[] = [];
  const addresses = new Map<string, string[]>();
  let ipipWanted = false;
  desired.tunnels.forEach((t, i) => {
    if (t.type === 'ipip') {
      ipipWanted = true;
      if (!input.capabilities.ipip) return;
    }
    if (devices.some((d) => d.name === t.name)) {
      out.invalid('NodeDataplane', nodeName, ['status', 'desired', 'tunnels', i, 'name'], `duplicate tunnel ${t.name}`);
      return;
    }
    const d = deviceSpec(t, i, input, hostMtu, out);
    if (d === undefined) return;
    devices.push(d.spec);
    addresses.set(d.spec.name, d.address === undefined ? [] : [d.address]);
  });
  devices.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const wanted = new Set<string>(devices.map((d) => d.name));
  const declared = new Set<string>(desired.tunnels.map((t) => t.name));

  const deleteDevices = new Set<TunnelName>();
  const stripDevices = new Set<TunnelName>();
  const retire = (name: TunnelName) => {
    if (declared.has(name)) return;
    if (name === 'tunl0') stripDevices.add(name);
    else deleteDevices.add(name);
  };
  for (const name of desired.removeTunnels ?? []) retire(name);
  if (!desired.felix.vxlanEnabled) retire('vxlan.calico');
  if (!desired.felix.vxlanEnabledV6) retire('vxlan-v6.calico');
  if (!desired.felix.ipipEnabled && input.capabilities.ipip) retire('tunl0');

  // Own blocks: blackholes.
  const routes = new Map<string, RouteSpec>();
  const ownBlocks = new Set<string>();
  desired.blocks.forEach((b, i) => {
    const c = canonicalCidr(b.cidr);
    if (c === undefined) {
      out.invalid(
        'NodeDataplane',
        nodeName,
        ['status', 'desired', 'blocks', i, 'cidr'],
        `${JSON.stringify(b.cidr)} is not a valid CIDR`,
      );
      return;
    }
    const dst = c.text;
    ownBlocks.add(dst);
    if (c.prefix === (c.family === 4 ? 32 : 128)) return;
    routes.set(dst, { dst, type: 'blackhole' });
  });

  // Per shard, memoised by shard object: a shard the watch did not change is not parsed again.
  const shards = [...input.shards].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const ctx: ShardContext = { nodeName, ipip: input.capabilities.ipip, wanted };
  const derived = shards.map((shard) => ({ shard, d: memo?.derive(shard, ctx) ?? deriveShard(shard, ctx) }));
  for (const { d } of derived) for (const i of d.issues) out.add(i);

  // Remote VTEPs: shard nodes first (they exist before their first block), then what vxlan entries carry.
  const neighbours = new Map<string, NeighbourSpec>();
  const fdb = new Map<string, FdbSpec>();
  const addVtep = ({ dev, ip, mac, nodeIP, owner }: VtepItem) => {
    const n: NeighbourSpec = { dev, ip, mac };
    const prev = neighbours.get(neighbourKey(n));
    if (prev !== undefined && prev.mac !== mac) {
      out.add({
        code: 'conflict',
        severity: 'warning',
        message: `VTEP ${ip} has two MACs (${prev.mac}, ${mac}); keeping ${prev.mac}`,
        object: owner,
      });
      return;
    }
    const f: FdbSpec = { dev, mac, dst: nodeIP };
    const prevF = fdb.get(fdbKey(f));
    if (prevF !== undefined && prevF.dst !== nodeIP) {
      out.add({
        code: 'conflict',
        severity: 'warning',
        message: `VTEP MAC ${mac} is claimed by ${prevF.dst} and ${nodeIP}; keeping ${prevF.dst}`,
        object: owner,
      });
      return;
    }
    neighbours.set(neighbourKey(n), n);
    fdb.set(fdbKey(f), f);
  };
  const seenVteps = new Set<VtepItem>();
  for (const { d } of derived) for (const v of d.nodeVteps) addVtep(v);

  let skippedIpipRoutes = 0;
  const origin = new Map<string, string>();
  for (const { shard, d } of derived) {
    skippedIpipRoutes += d.skippedIpip;
    for (const { route, node, vtep } of d.items) {
      const dst = route.dst;
      const object = `route ${dst}`;
      if (ownBlocks.has(dst)) {
        out.add({
          code: 'conflict',
          severity: 'warning',
          message: `RouteTable ${shard.name} routes ${dst} to node ${node}, but it is a block of this node; keeping the blackhole`,
          object,
        });
        continue;
      }
      if (vtep !== undefined && !seenVteps.has(vtep)) {
        seenVteps.add(vtep);
        addVtep(vtep);
      }
      if (routes.has(dst)) {
        out.add({
          code: 'conflict',
          severity: 'warning',
          message: `RouteTable ${shard.name} routes ${dst} to node ${node}, already routed by ${origin.get(dst) ?? 'another entry'}; keeping the first`,
          object,
        });
        continue;
      }
      routes.set(dst, route);
      origin.set(dst, `RouteTable ${shard.name}`);
    }
  }

  // Hold what the kernel has for destinations the shards route through a device the node does not plan yet — as
  // long as that route does not itself go through a tunnel device this target removes.
  let heldRoutes = 0;
  for (const { d } of derived) {
    for (const dst of d.unplannedDevice) {
      if (routes.has(dst) || ownBlocks.has(dst)) continue;
      const have = input.currentRoutes?.get(dst);
      if (have === undefined || have.type !== 'unicast') continue;
      if (have.dev !== undefined && isTunnelName(have.dev) && !wanted.has(have.dev)) continue;
      routes.set(dst, have);
      heldRoutes++;
    }
  }

  if (ipipWanted && !input.capabilities.ipip) {
    out.add({
      code: 'ipip_unavailable',
      severity: 'error',
      message: `${IPIP_UNAVAILABLE}; skipped tunl0 and ${skippedIpipRoutes} tunnel route(s)`,
      object: 'device tunl0',
    });
  } else if (skippedIpipRoutes > 0) {
    out.add({
      code: 'ipip_unavailable',
      severity: 'error',
      message: `${IPIP_UNAVAILABLE}; skipped ${skippedIpipRoutes} tunnel route(s)`,
      object: 'device tunl0',
    });
  }

  // Sysctls: forwarding, and loose reverse-path filtering on IPv4 tunnel devices.
  const sysctls: SysctlSetting[] = [];
  if (desired.felix.ipForwarding === 'Enabled') {
    sysctls.push({ path: 'net/ipv4/ip_forward', value: '1' });
    const v6 =
      devices.some((d) => d.family === 6) ||
      [...routes.keys()].some((k) => k.includes(':')) ||
      desired.blocks.some((b) => b.cidr.includes(':'));
    if (v6) sysctls.push({ path: 'net/ipv6/conf/all/forwarding', value: '1' });
  }
  for (const d of devices) if (d.family === 4) sysctls.push({ path: `net/ipv4/conf/${d.name}/rp_filter`, value: '0' });

  const natProblems: NatProblem[] = [];
  const nat = natOutgoingTarget(desired.natOutgoing, natProblems);
  for (const p of natProblems) out.invalid('NodeDataplane', nodeName, ['status', 'desired', ...p.path], p.message);

  return {
    routeProtocol: desired.felix.clusterRouteProtocol,
    hostMtu,
    devices,
    deleteDevices: [...deleteDevices].sort(),
    stripDevices: [...stripDevices].sort(),
    addresses,
    routes,
    neighbours,
    fdb,
    sysctls,
    nat,
    issues: out.issues,
    skippedIpipRoutes,
    heldRoutes,
  };
}

/** Counts for status.applied. */
export function targetCounts(t: KernelTarget): {
  routes: number;
  blackholes: number;
  neighbours: number;
  fdbEntries: number;
  devices: number;
} {
  let blackholes = 0;
  for (const r of t.routes.values()) if (r.type === 'blackhole') blackholes++;
  return {
    routes: t.routes.size - blackholes,
    blackholes,
    neighbours: t.neighbours.size,
    fdbEntries: t.fdb.size,
    devices: t.devices.length,
  };
}
