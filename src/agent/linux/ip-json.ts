// Parses iproute2 `-json` output into the agent's kernel model.
//
// Inputs: text printed by `ip -json -d -batch -` (one JSON array per command, in order), `ip -json -6 route show`
// and `bridge -json fdb show dev <vxlan>`. Outputs: Observation (owned KernelState + HostEnvironment).
// Invariants: pure; unknown fields are ignored and missing ones defaulted, so newer iproute2 versions still parse;
// only owned objects enter KernelState (routes are already filtered by protocol in the command; neighbours and FDB
// entries only on tunnel devices, only permanent ones).
import {
  type FdbSpec,
  type HostInterface,
  type KernelState,
  type LinkState,
  type NeighbourSpec,
  type Observation,
  type RouteSpec,
  TUNNEL_NAMES,
  fdbKey,
  neighbourKey,
  withPrefix,
} from '../kernel-model.js';

type Json = Record<string, unknown>;

export class IpJsonError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IpJsonError';
  }
}

/** Splits concatenated JSON documents (`[...]\n[...]\n`) into values. */
export function parseJsonStream(text: string): unknown[] {
  const out: unknown[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (depth === 0) start = i;
      depth++;
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
      if (depth === 0) {
        try {
          out.push(JSON.parse(text.slice(start, i + 1)));
        } catch (e) {
          throw new IpJsonError(`iproute2 printed invalid JSON: ${(e as Error).message}`);
        }
      }
    }
  }
  if (depth !== 0) throw new IpJsonError('iproute2 output ended inside a JSON value');
  return out;
}

function asArray(v: unknown, what: string): Json[] {
  if (!Array.isArray(v)) throw new IpJsonError(`expected a JSON array from ${what}`);
  return v.filter((x): x is Json => typeof x === 'object' && x !== null);
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);
const strs = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

export interface AddrShowResult {
  links: LinkState[];
  interfaces: HostInterface[];
  /** Global-scope addresses (CIDR) per device. */
  addresses: Map<string, string[]>;
}

/** `ip -json -d address show`: every link with its link info and addresses. */
export function parseAddressShow(value: unknown): AddrShowResult {
  const links: LinkState[] = [];
  const interfaces: HostInterface[] = [];
  const addresses = new Map<string, string[]>();
  for (const l of asArray(value, 'address show')) {
    const name = str(l.ifname);
    if (name === undefined) continue;
    const flags = strs(l.flags);
    const info = (l.linkinfo ?? {}) as Json;
    const data = (info.info_data ?? {}) as Json;
    const link: LinkState = {
      name,
      kind: str(info.info_kind) ?? '',
      up: flags.includes('UP'),
      mtu: num(l.mtu) ?? 0,
    };
    const mac = str(l.address);
    if (mac !== undefined && /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(mac)) link.mac = mac.toLowerCase();
    if (link.kind === 'vxlan') {
      const vni = num(data.id);
      const port = num(data.port);
      const local = str(data.local) ?? str(data.local6);
      const parent = str(data.link);
      if (vni !== undefined) link.vni = vni;
      if (port !== undefined) link.port = port;
      if (local !== undefined) link.local = local;
      if (parent !== undefined) link.parent = parent;
      link.learning = data.learning === true;
    }
    links.push(link);
    const global: string[] = [];
    const plain: string[] = [];
    for (const a of asArray(l.addr_info ?? [], 'address show addr_info')) {
      const local = str(a.local);
      const len = num(a.prefixlen);
      if (local === undefined || len === undefined || str(a.scope) !== 'global') continue;
      global.push(`${local}/${len}`);
      plain.push(local);
    }
    addresses.set(name, global.sort());
    interfaces.push({ name, up: link.up, mtu: link.mtu, addresses: plain });
  }
  return { links, interfaces, addresses };
}

/** `ip -json route show proto N` (either family): unicast and blackhole routes of the main table. */
export function parseRoutes(value: unknown): RouteSpec[] {
  const out: RouteSpec[] = [];
  for (const r of asArray(value, 'route show')) {
    const dst = str(r.dst);
    if (dst === undefined || dst === 'default') continue;
    const type = str(r.type) ?? 'unicast';
    if (type === 'blackhole') {
      out.push({ dst: withPrefix(dst), type: 'blackhole' });
      continue;
    }
    if (type !== 'unicast') continue;
    const route: RouteSpec = { dst: withPrefix(dst), type: 'unicast' };
    const via = str(r.gateway) ?? str((r.via as Json | undefined)?.host);
    if (via !== undefined) route.via = via;
    const dev = str(r.dev);
    if (dev !== undefined) route.dev = dev;
    if (strs(r.flags).includes('onlink')) route.onlink = true;
    out.push(route);
  }
  return out;
}

/** `ip -json neigh show nud permanent`: permanent entries on the given devices. */
export function parseNeighbours(value: unknown, devices: ReadonlySet<string>): NeighbourSpec[] {
  const out: NeighbourSpec[] = [];
  for (const n of asArray(value, 'neigh show')) {
    const dev = str(n.dev);
    const ip = str(n.dst);
    const mac = str(n.lladdr);
    if (dev === undefined || ip === undefined || mac === undefined || !devices.has(dev)) continue;
    if (!strs(n.state).includes('PERMANENT')) continue;
    out.push({ dev, ip, mac: mac.toLowerCase() });
  }
  return out;
}

/** `bridge -json fdb show dev <dev>`: permanent entries with a remote dst (the ones VXLAN forwarding uses). */
export function parseFdb(value: unknown, dev: string): FdbSpec[] {
  const out: FdbSpec[] = [];
  for (const f of asArray(value, 'fdb show')) {
    const mac = str(f.mac);
    const dst = str(f.dst);
    if (mac === undefined || dst === undefined) continue;
    if (str(f.state) !== 'permanent') continue;
    if (str(f.ifname) !== undefined && str(f.ifname) !== dev) continue;
    out.push({ dev, mac: mac.toLowerCase(), dst });
  }
  return out;
}

export interface RawObservation {
  addressShow: unknown;
  routes: unknown[];
  neighbours: unknown;
  fdb: ReadonlyMap<string, unknown>;
}

/** Assembles an Observation from parsed command outputs. */
export function buildObservation(raw: RawObservation): Observation {
  const addr = parseAddressShow(raw.addressShow);
  const tunnelNames = new Set<string>(TUNNEL_NAMES);
  const links = new Map<string, LinkState>();
  const addresses = new Map<string, readonly string[]>();
  for (const l of addr.links) {
    if (!tunnelNames.has(l.name)) continue;
    links.set(l.name, l);
    addresses.set(l.name, addr.addresses.get(l.name) ?? []);
  }
  const routes = new Map<string, RouteSpec>();
  for (const v of raw.routes) for (const r of parseRoutes(v)) if (!routes.has(r.dst)) routes.set(r.dst, r);
  const neighbours = new Map<string, NeighbourSpec>();
  for (const n of parseNeighbours(raw.neighbours, new Set(links.keys()))) neighbours.set(neighbourKey(n), n);
  const fdb = new Map<string, FdbSpec>();
  for (const [dev, v] of raw.fdb) for (const f of parseFdb(v, dev)) fdb.set(fdbKey(f), f);
  const state: KernelState = { links, addresses, routes, neighbours, fdb };
  return { state, env: { interfaces: addr.interfaces } };
}
