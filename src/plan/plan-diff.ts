// What a change does to each node's dataplane (for `tabby diff`): two plans of the same cluster, without and with the
// change, compared node by node on what an agent programs — the materialised `ip route` table (with the rule that
// chose each route), the tunnel devices and VXLAN neighbours, and the BGP sessions (mesh included).
// Inputs: two ClusterPlans. Output: per node that differs, what goes and what comes, sorted as materialise sorts.
// A route whose destination stays but whose form changes (e.g. IPIP → VXLAN) shows as one removed and one added line,
// as `diff` would show it; a node that appears or disappears shows all of its state.
import type { PlannedBgpPeer, TunnelDevice } from '../api/node-dataplane.js';
import { compareStrings } from './facts.js';
import type { RouteLine, VxlanNeighbour } from './materialise.js';
import type { ClusterPlan } from './pipeline.js';

export interface Changes<T> {
  removed: T[];
  added: T[];
}

export interface NodePlanDiff {
  node: string;
  /** `added`/`removed`: the node is planned only with / only without the change. */
  status: 'added' | 'removed' | 'changed';
  routes: Changes<RouteLine>;
  /** Tunnel devices and VXLAN neighbours, one line each (`tunnelLine`, `neighbourLine`). */
  tunnels: Changes<string>;
  bgpSessions: Changes<PlannedBgpPeer>;
}

/** `vxlan.calico address 10.65.0.0 mtu 1450 vni 4096 port 4789 mac 66:…` — the fields an agent programs. */
export function tunnelLine(t: TunnelDevice): string {
  const parts: string[] = [t.name];
  if (t.address !== undefined) parts.push(`address ${t.address}`);
  if (t.mtu !== undefined && t.mtu !== 0) parts.push(`mtu ${t.mtu}`);
  if (t.vni !== undefined) parts.push(`vni ${t.vni}`);
  if (t.port !== undefined) parts.push(`port ${t.port}`);
  if (t.mac !== undefined) parts.push(`mac ${t.mac}`);
  if (t.parentAddress !== undefined) parts.push(`local ${t.parentAddress}`);
  return parts.join(' ');
}

/** `neighbour vxlan.calico 10.65.1.0 lladdr 66:… via 192.168.0.12 (node-2)`: the ARP and FDB entries of a VTEP. */
export function neighbourLine(n: VxlanNeighbour): string {
  return `neighbour ${n.device} ${n.ip} lladdr ${n.mac} via ${n.nodeIP} (${n.node})`;
}

/** `Mesh_192_168_0_12 192.168.0.12 AS 64512 mesh` plus what sets the session apart (port, password, passive…). */
export function bgpSessionLine(p: PlannedBgpPeer): string {
  const parts = [p.name, p.peerIP + (p.port !== undefined ? `:${p.port}` : ''), `AS ${p.asNumber}`, p.type];
  if (p.localASNumber !== undefined) parts.push(`local AS ${p.localASNumber}`);
  if (p.sourceAddress !== undefined) parts.push(`source ${p.sourceAddress}`);
  if (p.passive === true) parts.push('passive');
  if (p.routeReflectorClient === true) parts.push('rr-client');
  if (p.passwordSecretRef !== undefined) parts.push(`password ${p.passwordSecretRef.name}/${p.passwordSecretRef.key}`);
  if (p.nextHopMode !== undefined) parts.push(`next-hop ${p.nextHopMode}`);
  if (p.ttlSecurity !== undefined) parts.push(`ttl-security ${p.ttlSecurity}`);
  if (p.maxRestartTimeSeconds !== undefined) parts.push(`restart ${p.maxRestartTimeSeconds}s`);
  if (p.keepaliveTimeSeconds !== undefined) parts.push(`keepalive ${p.keepaliveTimeSeconds}s`);
  if (p.filters !== undefined && p.filters.length > 0) parts.push(`filters ${p.filters.join(',')}`);
  return parts.join(' ');
}

function changes<T>(before: readonly T[], after: readonly T[], key: (x: T) => string): Changes<T> {
  const b = new Set(before.map(key));
  const a = new Set(after.map(key));
  return { removed: before.filter((x) => !a.has(key(x))), added: after.filter((x) => !b.has(key(x))) };
}

function size(c: Changes<unknown>): number {
  return c.removed.length + c.added.length;
}

export function diffPlans(before: ClusterPlan, after: ClusterPlan): NodePlanDiff[] {
  const names = [...new Set([...before.nodes.keys(), ...after.nodes.keys()])].sort(compareStrings);
  const out: NodePlanDiff[] = [];
  for (const node of names) {
    const d0 = before.nodes.get(node);
    const d1 = after.nodes.get(node);
    const m0 = before.materialise(node);
    const m1 = after.materialise(node);
    const tunnels = (d: typeof d0, m: typeof m0): string[] =>
      d === undefined
        ? []
        : [...d.tunnels.map(tunnelLine), ...(m?.vxlanNeighbours ?? []).map(neighbourLine)].sort(compareStrings);
    const diff: NodePlanDiff = {
      node,
      status: d0 === undefined ? 'added' : d1 === undefined ? 'removed' : 'changed',
      routes: changes(m0?.routes ?? [], m1?.routes ?? [], (r) => r.line),
      tunnels: changes(tunnels(d0, m0), tunnels(d1, m1), (t) => t),
      bgpSessions: changes(m0?.bgpPeers ?? [], m1?.bgpPeers ?? [], bgpSessionLine),
    };
    if (size(diff.routes) + size(diff.tunnels) + size(diff.bgpSessions) > 0 || diff.status !== 'changed')
      out.push(diff);
  }
  return out;
}
