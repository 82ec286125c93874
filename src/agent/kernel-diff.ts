// The smallest set of kernel changes that turns what the kernel holds into the target, and the reference semantics
// of those changes — and with them the route ownership rule (ARCHITECTURE.md "One writer per route"):
//   - the agent owns, on its node, the routes marked with its route protocol (NodeDataplane felix.clusterRouteProtocol:
//     80 while deviceRouteProtocol keeps Felix's 3, else that protocol — plan/felix-effective.ts), the tunnel devices
//     tunl0 / vxlan.calico / vxlan-v6.calico with their addresses, and the permanent neighbour and FDB entries on them;
//   - it makes the owned state exactly the target (its NodeDataplane and its view's RouteTables, kernel-target.ts):
//     what is owned and not planned is removed, what is planned is added, and nothing else is ever touched;
//   - a route of another protocol at a planned destination is never overwritten (the add fails and is reported);
//   - BIRD programs nothing the agent owns (its kernel protocol imports none: agent/bird/bird-config.ts).
//
// Inputs: KernelState (observed; only what the agent owns: routes with its protocol, tunnel devices, their
// addresses, permanent neighbour/FDB entries on them) and KernelTarget. Output: KernelPlan, ordered the way it must
// run: device deletions (to recreate), device creations and updates, addresses, neighbours, FDB, route deletions,
// additions, replacements, and last the deletion of devices no longer wanted.
// `simulatePlan` applies a plan to a state the way the kernel does (deleting a device drops its addresses, routes,
// neighbours and FDB entries); the diff is tested against it: simulatePlan(s, diffKernel(s, t)) satisfies t, and
// diffKernel of a state that satisfies t is empty (so a restart, or a second sync, changes nothing).
// Invariants: pure; nothing outside the owned state is ever in a plan; unchanged objects are never touched; a route
// the agent does not hold is added, never replaced, so a route of another protocol at the same destination makes the
// add fail (and be reported) instead of being overwritten.
import {
  type FdbSpec,
  type KernelState,
  type LinkState,
  type NeighbourSpec,
  type RouteSpec,
  type TunnelDeviceSpec,
  deviceNeedsRecreate,
  deviceUpdates,
  fdbKey,
  linkStateOf,
  neighbourKey,
  routeSatisfies,
} from './kernel-model.js';
import type { KernelTarget } from './kernel-target.js';

export interface LinkUpdate {
  name: string;
  mtu?: number;
  mac?: string;
  up?: true;
}

export interface AddressChange {
  dev: string;
  cidr: string;
}

export interface KernelPlan {
  /** Devices deleted first, to be created again with attributes only creation can set. */
  linkDeletes: string[];
  linkAdds: TunnelDeviceSpec[];
  linkUpdates: LinkUpdate[];
  addressDeletes: AddressChange[];
  addressAdds: AddressChange[];
  neighbourDeletes: NeighbourSpec[];
  neighbourSets: NeighbourSpec[];
  fdbDeletes: FdbSpec[];
  fdbSets: FdbSpec[];
  routeDeletes: RouteSpec[];
  /** Routes the agent does not hold yet: `route add`, which fails rather than replace another protocol's route. */
  routeAdds: RouteSpec[];
  /** Routes the agent holds in another form: `route replace`, which changes them without a gap. */
  routeReplaces: RouteSpec[];
  /**
   * Devices no longer wanted, deleted last: routes through them that change form (VXLAN → direct) are replaced
   * first, so a mode switch has no gap; what is left on them goes with them.
   */
  linkRetires: string[];
}

/** The subset of a KernelTarget the diff needs (a KernelTarget is one). */
export type KernelWant = Pick<
  KernelTarget,
  'devices' | 'deleteDevices' | 'stripDevices' | 'addresses' | 'routes' | 'neighbours' | 'fdb'
>;

export function emptyPlan(): KernelPlan {
  return {
    linkDeletes: [],
    linkAdds: [],
    linkUpdates: [],
    addressDeletes: [],
    addressAdds: [],
    neighbourDeletes: [],
    neighbourSets: [],
    fdbDeletes: [],
    fdbSets: [],
    routeDeletes: [],
    routeAdds: [],
    routeReplaces: [],
    linkRetires: [],
  };
}

export function planSize(p: KernelPlan): number {
  return (
    p.linkDeletes.length +
    p.linkAdds.length +
    p.linkUpdates.length +
    p.addressDeletes.length +
    p.addressAdds.length +
    p.neighbourDeletes.length +
    p.neighbourSets.length +
    p.fdbDeletes.length +
    p.fdbSets.length +
    p.routeDeletes.length +
    p.routeAdds.length +
    p.routeReplaces.length +
    p.linkRetires.length
  );
}

/** Devices whose neighbour and FDB entries the agent owns: every VXLAN device it manages or retires. */
function managedNeighbourDevices(want: KernelWant): Set<string> {
  const s = new Set<string>();
  for (const d of want.devices) if (d.kind === 'vxlan') s.add(d.name);
  for (const n of want.deleteDevices) s.add(n);
  return s;
}

function sameNeighbour(a: NeighbourSpec, b: NeighbourSpec): boolean {
  return a.mac === b.mac;
}

function sameFdb(a: FdbSpec, b: FdbSpec): boolean {
  return a.dst === b.dst;
}

export function diffKernel(observed: KernelState, want: KernelWant): KernelPlan {
  const plan = emptyPlan();

  for (const d of want.devices) {
    const have = observed.links.get(d.name);
    if (have === undefined) plan.linkAdds.push(d);
    else if (deviceNeedsRecreate(have, d)) {
      plan.linkDeletes.push(d.name);
      plan.linkAdds.push(d);
    } else {
      const u = deviceUpdates(have, d);
      if (Object.keys(u).length > 0) plan.linkUpdates.push({ name: d.name, ...u });
    }
  }
  for (const name of want.deleteDevices) if (observed.links.has(name)) plan.linkRetires.push(name);
  const retiring = new Set(plan.linkRetires);

  // What is left once deletions and creations ran: the rest of the diff works on that.
  const base =
    plan.linkDeletes.length + plan.linkAdds.length === 0
      ? observed
      : simulatePlan(observed, { ...emptyPlan(), linkDeletes: plan.linkDeletes, linkAdds: plan.linkAdds });

  for (const d of want.devices) {
    const have = new Set(base.addresses.get(d.name) ?? []);
    const wantAddrs = new Set(want.addresses.get(d.name) ?? []);
    for (const a of [...have].sort()) if (!wantAddrs.has(a)) plan.addressDeletes.push({ dev: d.name, cidr: a });
    for (const a of [...wantAddrs].sort()) if (!have.has(a)) plan.addressAdds.push({ dev: d.name, cidr: a });
  }
  for (const name of want.stripDevices) {
    if (!base.links.has(name)) continue;
    for (const a of base.addresses.get(name) ?? []) plan.addressDeletes.push({ dev: name, cidr: a });
  }

  const owned = managedNeighbourDevices(want);
  for (const [k, n] of base.neighbours) {
    if (!owned.has(n.dev) || retiring.has(n.dev)) continue;
    if (!want.neighbours.has(k)) plan.neighbourDeletes.push(n);
  }
  for (const [k, n] of want.neighbours) {
    const have = base.neighbours.get(k);
    if (have === undefined || !sameNeighbour(have, n)) plan.neighbourSets.push(n);
  }
  for (const [k, f] of base.fdb) {
    if (!owned.has(f.dev) || retiring.has(f.dev)) continue;
    if (!want.fdb.has(k)) plan.fdbDeletes.push(f);
  }
  for (const [k, f] of want.fdb) {
    const have = base.fdb.get(k);
    if (have === undefined || !sameFdb(have, f)) plan.fdbSets.push(f);
  }

  for (const [dst, r] of base.routes) {
    if (!want.routes.has(dst) && !(r.dev !== undefined && retiring.has(r.dev))) plan.routeDeletes.push(r);
  }
  for (const [dst, r] of want.routes) {
    const have = base.routes.get(dst);
    if (have === undefined) plan.routeAdds.push(r);
    // A route that still runs through a device being retired would go with it: move it first.
    else if (!routeSatisfies(have, r) || (have.dev !== undefined && retiring.has(have.dev))) plan.routeReplaces.push(r);
  }
  return plan;
}

export interface MutableKernelState {
  links: Map<string, LinkState>;
  addresses: Map<string, readonly string[]>;
  routes: Map<string, RouteSpec>;
  neighbours: Map<string, NeighbourSpec>;
  fdb: Map<string, FdbSpec>;
}

export function cloneKernelState(state: KernelState): MutableKernelState {
  return {
    links: new Map(state.links),
    addresses: new Map(state.addresses),
    routes: new Map(state.routes),
    neighbours: new Map(state.neighbours),
    fdb: new Map(state.fdb),
  };
}

/** Applies `plan` to `state` as the kernel would; the input is not modified. */
export function simulatePlan(state: KernelState, plan: KernelPlan): KernelState {
  const next = cloneKernelState(state);
  applyPlanInPlace(next, plan);
  return next;
}

/**
 * simulatePlan without the copy, for a state its owner keeps current after every apply (the syncer's view of the
 * kernel): a one-route change then costs one map update, not a copy of 5,000 routes.
 */
export function applyPlanInPlace(state: MutableKernelState, plan: KernelPlan): void {
  const { links, addresses, routes, neighbours, fdb } = state;
  const removeDevice = (name: string) => {
    links.delete(name);
    addresses.delete(name);
    for (const [k, r] of routes) if (r.dev === name) routes.delete(k);
    for (const [k, n] of neighbours) if (n.dev === name) neighbours.delete(k);
    for (const [k, f] of fdb) if (f.dev === name) fdb.delete(k);
  };
  for (const name of plan.linkDeletes) removeDevice(name);
  for (const d of plan.linkAdds) {
    links.set(d.name, linkStateOf(d));
    addresses.set(d.name, []);
  }
  for (const u of plan.linkUpdates) {
    const have = links.get(u.name);
    if (have === undefined) continue;
    const next: LinkState = { ...have };
    if (u.mtu !== undefined) next.mtu = u.mtu;
    if (u.mac !== undefined) next.mac = u.mac;
    if (u.up) next.up = true;
    links.set(u.name, next);
  }
  for (const a of plan.addressDeletes)
    addresses.set(
      a.dev,
      (addresses.get(a.dev) ?? []).filter((x) => x !== a.cidr),
    );
  for (const a of plan.addressAdds) {
    const cur = addresses.get(a.dev) ?? [];
    if (!cur.includes(a.cidr)) addresses.set(a.dev, [...cur, a.cidr].sort());
  }
  for (const n of plan.neighbourDeletes) neighbours.delete(neighbourKey(n));
  for (const n of plan.neighbourSets) neighbours.set(neighbourKey(n), n);
  for (const f of plan.fdbDeletes) fdb.delete(fdbKey(f));
  for (const f of plan.fdbSets) fdb.set(fdbKey(f), f);
  for (const r of plan.routeDeletes) routes.delete(r.dst);
  for (const r of plan.routeAdds) routes.set(r.dst, r);
  for (const r of plan.routeReplaces) routes.set(r.dst, r);
  for (const name of plan.linkRetires) removeDevice(name);
}

/** Whether `state` holds exactly what `want` asks for (on the owned subset). Used by tests and the syncer. */
export function stateSatisfies(state: KernelState, want: KernelWant): boolean {
  for (const d of want.devices) {
    const have = state.links.get(d.name);
    if (have === undefined || deviceNeedsRecreate(have, d) || Object.keys(deviceUpdates(have, d)).length > 0) {
      return false;
    }
    const a = [...(state.addresses.get(d.name) ?? [])].sort().join(',');
    const w = [...(want.addresses.get(d.name) ?? [])].sort().join(',');
    if (a !== w) return false;
  }
  for (const name of want.deleteDevices) if (state.links.has(name)) return false;
  for (const name of want.stripDevices)
    if ((state.addresses.get(name) ?? []).length > 0 && state.links.has(name)) return false;
  const owned = managedNeighbourDevices(want);
  const ownedNeigh = [...state.neighbours.values()].filter((n) => owned.has(n.dev));
  if (ownedNeigh.length !== want.neighbours.size) return false;
  for (const n of ownedNeigh) {
    const w = want.neighbours.get(neighbourKey(n));
    if (w === undefined || !sameNeighbour(n, w)) return false;
  }
  const ownedFdb = [...state.fdb.values()].filter((f) => owned.has(f.dev));
  if (ownedFdb.length !== want.fdb.size) return false;
  for (const f of ownedFdb) {
    const w = want.fdb.get(fdbKey(f));
    if (w === undefined || !sameFdb(f, w)) return false;
  }
  if (state.routes.size !== want.routes.size) return false;
  for (const [dst, w] of want.routes) {
    const have = state.routes.get(dst);
    if (have === undefined || !routeSatisfies(have, w)) return false;
  }
  return true;
}
