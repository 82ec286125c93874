// CHECK (SPEC.md section 2): compares what ADD left, as listed in prevResult and reserved in IPAM, with what the
// kernel has now. Pure: the observed state comes from linux-dataplane.ts `inspect`, the reservation from the agent.
// Returns one line per problem; an empty list means the pod is plumbed as expected.
// Routes a later chained plugin may have changed are only required when prevResult still lists them.
import type { WorkloadState } from './linux-dataplane.js';
import type { ResultRoute } from './result.js';
import { HOST_VETH_MAC, IPV4_GATEWAY, IPV6_GATEWAY, hostSysctlsFor } from './workload-plumbing.js';

export interface CheckExpectation {
  hostIf: string;
  containerIf: string;
  netns: string;
  /** The pod's addresses from prevResult, CIDR notation (`10.0.0.5/32`). */
  addresses: string[];
  /** The container interface's MAC as prevResult lists it, if it does. */
  containerMac: string | undefined;
  routes: ResultRoute[];
  /** Addresses IPAM holds for the pod's handle (plain addresses). */
  reserved: string[];
}

function plain(cidr: string): string {
  const slash = cidr.indexOf('/');
  return slash < 0 ? cidr : cidr.slice(0, slash);
}

function isV6(addr: string): boolean {
  return addr.includes(':');
}

/** iproute2 prints a host route as the bare address; accept the /32 or /128 spelling too. */
function sameDst(printed: string, addr: string): boolean {
  return printed === addr || printed === `${addr}/${isV6(addr) ? 128 : 32}`;
}

export function checkWorkload(exp: CheckExpectation, state: WorkloadState): string[] {
  const problems: string[] = [];
  const addrs = exp.addresses.map(plain);
  const v4 = addrs.some((a) => !isV6(a));
  const v6 = addrs.some(isV6);
  if (addrs.length === 0) problems.push(`prevResult lists no address on ${exp.containerIf}`);

  const h = state.host;
  if (!h.exists) {
    problems.push(`host interface ${exp.hostIf} does not exist`);
  } else {
    if (h.mac !== HOST_VETH_MAC)
      problems.push(`host interface ${exp.hostIf} has MAC ${h.mac ?? '(none)'}, expected ${HOST_VETH_MAC}`);
    if (h.up !== true) problems.push(`host interface ${exp.hostIf} is down`);
    for (const s of hostSysctlsFor(exp.hostIf, v4, v6)) {
      const got = h.sysctls[s.path];
      if (got !== s.value) problems.push(`${s.path} is ${got ?? '(unset)'}, expected ${s.value}`);
    }
    for (const a of addrs) {
      if (!h.routes.some((r) => sameDst(r.dst, a))) problems.push(`no host route to ${a} via ${exp.hostIf}`);
    }
  }

  const c = state.container;
  if (!c.exists) {
    problems.push(`interface ${exp.containerIf} does not exist in ${exp.netns}`);
    return problems;
  }
  if (c.up !== true) problems.push(`interface ${exp.containerIf} in ${exp.netns} is down`);
  if (exp.containerMac !== undefined && c.mac?.toLowerCase() !== exp.containerMac.toLowerCase()) {
    problems.push(`interface ${exp.containerIf} has MAC ${c.mac ?? '(none)'}, prevResult says ${exp.containerMac}`);
  }
  for (const a of addrs) {
    const want = `${a}/${isV6(a) ? 128 : 32}`;
    if (!c.addresses.includes(want)) problems.push(`address ${want} missing on ${exp.containerIf} in ${exp.netns}`);
  }
  if (v4 && !c.routes.some((r) => r.dst === IPV4_GATEWAY && r.scope === 'link')) {
    problems.push(`route "${IPV4_GATEWAY} dev ${exp.containerIf} scope link" missing in ${exp.netns}`);
  }
  for (const r of exp.routes) {
    if (r.gw !== IPV4_GATEWAY && r.gw !== IPV6_GATEWAY) continue;
    const dst = r.dst === '0.0.0.0/0' || r.dst === '::/0' ? 'default' : r.dst;
    if (!c.routes.some((x) => x.dst === dst && x.gateway === r.gw)) {
      problems.push(`route "${dst} via ${r.gw} dev ${exp.containerIf}" missing in ${exp.netns}`);
    }
  }
  for (const a of addrs) {
    if (!exp.reserved.includes(a)) problems.push(`IPAM no longer holds ${a} for this pod`);
  }
  return problems;
}
