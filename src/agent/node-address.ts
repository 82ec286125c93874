// The node's own address for Calico's `projectcalico.org/IPv4Address` annotation (address with the interface's
// prefix, e.g. 10.0.0.201/24), which CrossSubnet decisions and BGP peering read. calico-node fills it at start by
// autodetection (calico: node/pkg/lifecycle/startup/autodetection/, IP_AUTODETECTION_METHOD); a Node registered
// by kubelet has only its InternalIP, which the planner can only treat as a /32.
//
// Methods, with Calico's names and rules (autodetection_methods.go, filtered.go, interfaces.go): interfaces are
// searched from the highest kernel index down (Calico keeps that order "to maintain behavior with older versions"),
// each interface's addresses in order, taking the first global unicast IPv4 address; name patterns are unanchored
// regular expressions, as Go's MatchString is.
//   first-found (default)      every interface but Calico's excluded names (docker*, br-*, cali*, vxlan.calico, ...)
//   interface=RE[,RE]          only interfaces matching one of the patterns (no default exclusions)
//   skip-interface=RE[,RE]     the default exclusions plus these
//   cidr=CIDR[,CIDR]           addresses inside one of the CIDRs, on any interface
//   kubernetes-internal-ip     the Node's first IPv4 InternalIP, with the prefix of the interface holding it
// Pure: the caller lists the host's addresses and reads the Node.
import { cidrContainsIP, parseCidr, parseIP, tryParseIP, type Cidr } from '../net/index.js';

export const IPV4_ADDRESS_ANNOTATION = 'projectcalico.org/IPv4Address';

/** Calico's DEFAULT_INTERFACES_TO_EXCLUDE (calico-reference.md 2.10). */
export const EXCLUDED_INTERFACES = [
  '^docker.*',
  '^cbr.*',
  '^dummy.*',
  '^podman.*',
  '^virbr.*',
  '^lxcbr.*',
  '^veth.*',
  '^lo',
  '^br-.*',
  '^cali.*',
  '^tunl.*',
  '^flannel.*',
  '^kube-ipvs.*',
  '^cni.*',
  '^vxlan\\.calico.*',
  '^vxlan-v6\\.calico.*',
  '^wireguard\\.cali.*',
  '^wg-v6\\.cali.*',
  '^nodelocaldns.*',
];

export interface HostAddress {
  iface: string;
  /** Kernel interface index: the search goes from the highest down. */
  index: number;
  address: string;
  prefixLength: number;
}

export type AutodetectMethod =
  | { kind: 'first-found' }
  | { kind: 'kubernetes-internal-ip' }
  | { kind: 'interface'; patterns: RegExp[] }
  | { kind: 'skip-interface'; patterns: RegExp[] }
  | { kind: 'cidr'; cidrs: Cidr[] };

/** Parses IP_AUTODETECTION_METHOD; throws an Error naming the variable and the bad part. */
export function parseAutodetectMethod(text: string): AutodetectMethod {
  const t = text.trim();
  if (t === '' || t === 'first-found') return { kind: 'first-found' };
  if (t === 'kubernetes-internal-ip') return { kind: 'kubernetes-internal-ip' };
  const eq = t.indexOf('=');
  const key = eq < 0 ? t : t.slice(0, eq);
  const values =
    eq < 0
      ? []
      : t
          .slice(eq + 1)
          .split(',')
          .map((v) => v.trim())
          .filter((v) => v !== '');
  const fail = (why: string): never => {
    throw new Error(`IP_AUTODETECTION_METHOD=${JSON.stringify(text)}: ${why}`);
  };
  if (key === 'interface' || key === 'skip-interface') {
    if (values.length === 0) fail(`${key}= needs at least one regular expression`);
    const patterns = values.map((v) => {
      try {
        return new RegExp(v);
      } catch (e) {
        return fail(`${JSON.stringify(v)} is not a valid regular expression (${(e as Error).message})`);
      }
    });
    return { kind: key, patterns };
  }
  if (key === 'cidr') {
    if (values.length === 0) fail('cidr= needs at least one CIDR');
    const cidrs = values.map((v) => {
      try {
        return parseCidr(v);
      } catch (e) {
        return fail(`${JSON.stringify(v)} is not a CIDR (${(e as Error).message})`);
      }
    });
    return { kind: 'cidr', cidrs };
  }
  return fail(
    'expected first-found, kubernetes-internal-ip, interface=REGEX, skip-interface=REGEX or cidr=CIDR (can-reach is not supported)',
  );
}

const EXCLUDED = EXCLUDED_INTERFACES.map((p) => new RegExp(p));

/** Go's IP.IsGlobalUnicast for IPv4: not 0.0.0.0, loopback, link-local, multicast or 255.255.255.255. */
function globalUnicastV4(address: string): boolean {
  const ip = tryParseIP(address);
  if (!ip || ip.family !== 4) return false;
  const [a, b, c, d] = address.split('.').map(Number) as [number, number, number, number];
  if (a === 0 && b === 0 && c === 0 && d === 0) return false;
  if (a === 255 && b === 255 && c === 255 && d === 255) return false;
  return !(a === 127 || (a === 169 && b === 254) || (a >= 224 && a < 240));
}

/** `address/prefix` for the annotation, or undefined when the method finds nothing. */
export function detectNodeAddress(
  method: AutodetectMethod,
  addresses: readonly HostAddress[],
  internalIPs: readonly string[] = [],
): string | undefined {
  // Stable sort: an interface's addresses keep their order.
  const v4 = [...addresses].filter((a) => globalUnicastV4(a.address)).sort((x, y) => y.index - x.index);
  const format = (a: HostAddress): string => `${a.address}/${a.prefixLength}`;
  if (method.kind === 'kubernetes-internal-ip') {
    const internal = internalIPs.find((ip) => tryParseIP(ip)?.family === 4);
    const held = internal === undefined ? undefined : v4.find((a) => a.address === internal);
    return held ? format(held) : undefined;
  }
  const excluded = (name: string): boolean => EXCLUDED.some((r) => r.test(name));
  const candidates = v4.filter((a) => {
    switch (method.kind) {
      case 'first-found':
        return !excluded(a.iface);
      case 'interface':
        return method.patterns.some((r) => r.test(a.iface));
      case 'skip-interface':
        return !excluded(a.iface) && !method.patterns.some((r) => r.test(a.iface));
      case 'cidr':
        return method.cidrs.some((c) => cidrContainsIP(c, parseIP(a.address)));
    }
  });
  return candidates[0] === undefined ? undefined : format(candidates[0]);
}

/** The IPv4 addresses of `ip -json -4 address show`, with their interface and its index. */
export function hostAddressesFromIpJson(value: unknown): HostAddress[] {
  if (!Array.isArray(value)) throw new Error('ip -json address show: expected a JSON array');
  const out: HostAddress[] = [];
  for (const link of value as Record<string, unknown>[]) {
    const iface = link?.ifname;
    const index = link?.ifindex;
    if (typeof iface !== 'string' || typeof index !== 'number' || !Array.isArray(link.addr_info)) continue;
    for (const a of link.addr_info as Record<string, unknown>[]) {
      if (a?.family !== 'inet' || typeof a.local !== 'string' || typeof a.prefixlen !== 'number') continue;
      out.push({ iface, index, address: a.local, prefixLength: a.prefixlen });
    }
  }
  return out;
}
