// The ADD result (SPEC.md section 5, "ADD Success") in the shape of each supported version, and the `prevResult`
// a runtime hands back on chained ADD, CHECK and DEL.
//
// Shape differences handled here:
// - 0.3.x / 0.4.0: each `ips` entry carries `version` ("4" | "6"); 1.0.0 removed it.
// - 1.1.0: interfaces may carry `mtu` (and socketPath / pciID, which we never set).
// Chaining: a plugin given a `prevResult` on ADD must output it with its own additions (SPEC.md section 2, ADD), so
// ours are appended and our `ips[].interface` indexes are shifted past the interfaces already listed. Parsing a
// prevResult needs zod and lives in prev-result.ts, loaded only by the verbs that get one.
import { versionAtLeast } from './version.js';

export interface ResultInterface {
  name: string;
  mac?: string;
  mtu?: number;
  sandbox?: string;
}

export interface ResultIP {
  /** CIDR notation, e.g. `10.244.1.5/32`. */
  address: string;
  gateway?: string;
  interface?: number;
}

export interface ResultRoute {
  dst: string;
  gw?: string;
}

export interface ResultDns {
  nameservers?: string[];
  domain?: string;
  search?: string[];
  options?: string[];
}

/** Version-independent result; `renderResult` gives it a version's shape. */
export interface CniResult {
  interfaces: ResultInterface[];
  ips: ResultIP[];
  routes: ResultRoute[];
  dns: ResultDns;
}

function familyOfCidr(address: string): '4' | '6' {
  return address.includes(':') ? '6' : '4';
}

/** The JSON object printed for `version` (undefined members are left out by JSON.stringify). */
export function renderResult(r: CniResult, version: string): Record<string, unknown> {
  const legacy = !versionAtLeast(version, '1.0.0');
  const withMtu = versionAtLeast(version, '1.1.0');
  return {
    cniVersion: version,
    interfaces: r.interfaces.map((i) => ({
      name: i.name,
      mac: i.mac,
      ...(withMtu && i.mtu !== undefined ? { mtu: i.mtu } : {}),
      sandbox: i.sandbox,
    })),
    ips: r.ips.map((ip) => ({
      ...(legacy ? { version: familyOfCidr(ip.address) } : {}),
      address: ip.address,
      gateway: ip.gateway,
      interface: ip.interface,
    })),
    routes: r.routes.map((rt) => ({ dst: rt.dst, gw: rt.gw })),
    dns: r.dns,
  };
}

/** `o` without its undefined members. */
export function strip<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}

/** `ours` appended to `prev`, our interface indexes shifted; `prev`'s DNS kept unless it has none. */
export function appendResult(prev: CniResult, ours: CniResult): CniResult {
  const shift = prev.interfaces.length;
  return {
    interfaces: [...prev.interfaces, ...ours.interfaces],
    ips: [
      ...prev.ips,
      ...ours.ips.map((ip) => (ip.interface === undefined ? ip : { ...ip, interface: ip.interface + shift })),
    ],
    routes: [...prev.routes, ...ours.routes],
    dns: Object.keys(prev.dns).length > 0 ? prev.dns : ours.dns,
  };
}

/** What this attachment added, found in a (possibly chained) result by our interface names. */
export interface OwnAttachment {
  host: ResultInterface | undefined;
  container: ResultInterface | undefined;
  /** Addresses on the container interface, CIDR notation. */
  addresses: string[];
  routes: ResultRoute[];
}

export function findOwnAttachment(r: CniResult, hostIf: string, containerIf: string, netns: string): OwnAttachment {
  const hostIdx = r.interfaces.findIndex((i) => i.name === hostIf && (i.sandbox ?? '') === '');
  const contIdx = r.interfaces.findIndex((i) => i.name === containerIf && i.sandbox === netns);
  return {
    host: hostIdx < 0 ? undefined : r.interfaces[hostIdx],
    container: contIdx < 0 ? undefined : r.interfaces[contIdx],
    addresses: contIdx < 0 ? [] : r.ips.filter((ip) => ip.interface === contIdx).map((ip) => ip.address),
    routes: r.routes,
  };
}
