// What to run to plumb one pod the way Calico's CNI plugin does (calico: cni-plugin/pkg/dataplane/linux/
// dataplane_linux.go DoNetworking, configureSysctls, configureContainerSysctls, SetupRoutes), as iproute2 batch
// lines and sysctl writes, in the order the executor (linux-dataplane.ts) runs them. Pure: no I/O.
//
// Resulting state (calico-user-view.md 1.3):
// - host: veth `cali<11 hex>` with MAC ee:ee:ee:ee:ee:ee, MTU from the plan, up; proxy_arp=1, proxy_delay=0,
//   forwarding=1, route_localnet=1 (v4); disable_ipv6=0, accept_dad=0, proxy_ndp=1, forwarding=1 (v6); accept_ra=0;
//   `<ip>/32 dev cali… scope link` (and `<ip6>/128 dev cali…`), with Felix's deviceRouteProtocol when given.
// - pod: `eth0` (CNI_IFNAME) up with `<ip>/32`, `169.254.1.1 dev eth0 scope link`, `default via 169.254.1.1 dev
//   eth0`; for IPv6 `<ip6>/128` (no DAD) and `default via fe80::ecee:eeff:feee:eeee dev eth0`, the host veth's
//   EUI-64 link-local address (its addrgenmode is pinned to eui64 so that address exists); ip_forward=0 in the pod
//   (Calico's default allow_ip_forwarding=false), IPv6 forwarding off.
// Like Calico, the host side gets no IPv6 configuration when the pod has no IPv6 address (its link-local address,
// as the tutorials show it, comes from the kernel's defaults).
//
// Latency: the veth is created from the host with its peer placed straight into the pod's namespace (`netns
// <path>`), so nothing moves between namespaces afterwards; the host route goes in with the veth (a route on a
// link whose peer is still down is accepted, flagged linkdown until the pod side comes up). IPv4-only pods take two
// processes: one `ip -batch` on the host, one `nsenter … ip -batch` in the pod. IPv6 needs DAD off before the host
// link comes up, so the host's `up` and routes move to a third batch after the sysctls.

export const HOST_VETH_MAC = 'ee:ee:ee:ee:ee:ee';
export const IPV4_GATEWAY = '169.254.1.1';
export const IPV6_GATEWAY = 'fe80::ecee:eeff:feee:eeee';

export interface WorkloadSpec {
  hostIf: string;
  containerIf: string;
  /** Path to the pod's network namespace (CNI_NETNS). */
  netns: string;
  mtu: number;
  ipv4?: string;
  ipv6?: string;
  /** Felix's deviceRouteProtocol for the host routes; absent = the kernel default (boot). */
  routeProtocol?: number;
  /** A host interface of that name exists already (an earlier ADD of the same pod): replace it. */
  replaceHostIf: boolean;
}

export interface Sysctl {
  path: string;
  value: string;
}

export interface PlumbingSteps {
  /** `ip -batch` lines on the host: creates the pair (pod end inside the pod's namespace). */
  hostCreate: string[];
  /** Written on the host once the host end exists. */
  hostSysctls: Sysctl[];
  /** Written inside the pod's namespace before `containerBatch`. */
  containerSysctls: Sysctl[];
  /** `ip -json -batch` lines inside the pod's namespace; the last prints the pod interface (for its MAC). */
  containerBatch: string[];
  /** `ip -batch` lines on the host after the sysctls; empty for IPv4-only pods (done in hostCreate). */
  hostFinish: string[];
}

/** The host-side sysctls ADD writes (and CHECK expects) for a pod with these families. */
export function hostSysctlsFor(hostIf: string, v4: boolean, v6: boolean): Sysctl[] {
  const out: Sysctl[] = [];
  if (v4) {
    out.push(
      { path: `/proc/sys/net/ipv4/conf/${hostIf}/route_localnet`, value: '1' },
      { path: `/proc/sys/net/ipv4/neigh/${hostIf}/proxy_delay`, value: '0' },
      { path: `/proc/sys/net/ipv4/conf/${hostIf}/proxy_arp`, value: '1' },
      { path: `/proc/sys/net/ipv4/conf/${hostIf}/forwarding`, value: '1' },
    );
  }
  if (v6) {
    out.push(
      { path: `/proc/sys/net/ipv6/conf/${hostIf}/disable_ipv6`, value: '0' },
      { path: `/proc/sys/net/ipv6/conf/${hostIf}/accept_dad`, value: '0' },
      { path: `/proc/sys/net/ipv6/conf/${hostIf}/proxy_ndp`, value: '1' },
      { path: `/proc/sys/net/ipv6/conf/${hostIf}/forwarding`, value: '1' },
    );
  }
  out.push({ path: `/proc/sys/net/ipv6/conf/${hostIf}/accept_ra`, value: '0' });
  return out;
}

function hostRoutes(s: WorkloadSpec): string[] {
  const proto = s.routeProtocol === undefined ? '' : ` proto ${s.routeProtocol}`;
  const out: string[] = [];
  if (s.ipv4 !== undefined) out.push(`route add ${s.ipv4}/32 dev ${s.hostIf} scope link${proto}`);
  if (s.ipv6 !== undefined) out.push(`route add ${s.ipv6}/128 dev ${s.hostIf}${proto}`);
  return out;
}

export function plumbingSteps(s: WorkloadSpec): PlumbingSteps {
  const v4 = s.ipv4 !== undefined;
  const v6 = s.ipv6 !== undefined;
  if (!v4 && !v6) throw new Error('a workload needs at least one address');
  const hostCreate: string[] = [];
  if (s.replaceHostIf) hostCreate.push(`link del ${s.hostIf}`);
  hostCreate.push(
    `link add ${s.hostIf} mtu ${s.mtu} address ${HOST_VETH_MAC} type veth peer name ${s.containerIf} mtu ${s.mtu} netns ${s.netns}`,
  );
  let hostFinish: string[];
  if (v6) {
    hostFinish = [`link set dev ${s.hostIf} addrgenmode eui64`, `link set dev ${s.hostIf} up`, ...hostRoutes(s)];
  } else {
    hostCreate.push(`link set dev ${s.hostIf} up`, ...hostRoutes(s));
    hostFinish = [];
  }

  const containerSysctls: Sysctl[] = [];
  if (v4) containerSysctls.push({ path: '/proc/sys/net/ipv4/ip_forward', value: '0' });
  if (v6) {
    for (const conf of ['all', 'default', 'lo']) {
      containerSysctls.push({ path: `/proc/sys/net/ipv6/conf/${conf}/disable_ipv6`, value: '0' });
    }
    containerSysctls.push(
      { path: `/proc/sys/net/ipv6/conf/${s.containerIf}/accept_dad`, value: '0' },
      { path: '/proc/sys/net/ipv6/conf/all/forwarding', value: '0' },
    );
  }
  const c = s.containerIf;
  const containerBatch = [`link set dev ${c} up`];
  if (v4) {
    containerBatch.push(
      `addr add ${s.ipv4}/32 dev ${c}`,
      `route add ${IPV4_GATEWAY} dev ${c} scope link`,
      `route add default via ${IPV4_GATEWAY} dev ${c}`,
    );
  }
  if (v6) {
    containerBatch.push(`addr add ${s.ipv6}/128 dev ${c} nodad`, `route add default via ${IPV6_GATEWAY} dev ${c}`);
  }
  containerBatch.push(`link show dev ${c}`);
  return { hostCreate, hostSysctls: hostSysctlsFor(s.hostIf, v4, v6), containerSysctls, containerBatch, hostFinish };
}

/**
 * The host interface name for a pod (calico: cni-plugin/pkg/plugin: Kubernetes pods use VethNameForWorkload,
 * `cali` + 11 hex of sha1("<namespace>.<pod>"); other orchestrators `cali` + the first 11 characters of the
 * container ID). `hashName` is src/net's workloadInterfaceName, passed in to keep this module free of imports.
 */
export function hostInterfaceName(
  pod: { namespace: string; name: string } | undefined,
  containerId: string,
  hashName: (namespace: string, pod: string) => string,
): string {
  return pod === undefined ? `cali${containerId.slice(0, 11)}` : hashName(pod.namespace, pod.name);
}

/** Which line of an `ip -batch` input failed, from iproute2's "Command failed -:N" (1-based), if it says. */
export function failedBatchLine(stderr: string, lines: readonly string[]): string | undefined {
  const m = /Command failed -:(\d+)/.exec(stderr);
  if (m === null) return undefined;
  return lines[Number(m[1]) - 1];
}
