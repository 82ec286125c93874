// Terse constructors for snapshot records, with Calico's defaults: tests, benchmarks and examples build clusters with
// these instead of spelling every field. Inputs: names and the few fields that matter; outputs: snapshot records.
import type {
  ClusterSnapshot,
  EncapMode,
  SnapshotBGPPeer,
  SnapshotBlock,
  SnapshotNode,
  SnapshotPod,
  SnapshotPool,
} from './snapshot.js';
import { emptySnapshot } from './snapshot.js';

function address(text: string): { address: string; prefixLength: number; source: 'annotation' } {
  const [ip = '', len = ''] = text.split('/');
  return { address: ip, prefixLength: Number(len), source: 'annotation' };
}

export interface NodeOptions {
  ipv6?: string;
  labels?: Record<string, string>;
  ipip?: string;
  vxlan?: string;
  vxlanMac?: string;
  vxlanV6?: string;
  asNumber?: number;
  rr?: string;
}

/** `ipv4` in annotation form (`10.0.0.11/24`), or undefined for a node without an IPv4 address. */
export function node(name: string, ipv4: string | undefined, o: NodeOptions = {}): SnapshotNode {
  const n: SnapshotNode = { name, labels: o.labels ?? {} };
  if (ipv4 !== undefined) n.ipv4 = address(ipv4);
  if (o.ipv6 !== undefined) n.ipv6 = address(o.ipv6);
  if (o.ipip !== undefined) n.ipipTunnelAddress = o.ipip;
  if (o.vxlan !== undefined) n.vxlanTunnelAddress = o.vxlan;
  if (o.vxlanMac !== undefined) n.vxlanTunnelMac = o.vxlanMac;
  if (o.vxlanV6 !== undefined) n.vxlanTunnelAddressV6 = o.vxlanV6;
  if (o.asNumber !== undefined) n.asNumber = o.asNumber;
  if (o.rr !== undefined) n.routeReflectorClusterId = o.rr;
  return n;
}

export interface PoolOptions {
  ipip?: EncapMode;
  vxlan?: EncapMode;
  blockSize?: number;
  natOutgoing?: boolean;
  disabled?: boolean;
  disableBGPExport?: boolean;
  nodeSelector?: string;
  allowedUses?: string[];
}

export function pool(name: string, cidr: string, o: PoolOptions = {}): SnapshotPool {
  return {
    name,
    cidr,
    blockSize: o.blockSize ?? (cidr.includes(':') ? 122 : 26),
    ipipMode: o.ipip ?? 'Never',
    vxlanMode: o.vxlan ?? 'Never',
    natOutgoing: o.natOutgoing ?? false,
    disabled: o.disabled ?? false,
    disableBGPExport: o.disableBGPExport ?? false,
    nodeSelector: o.nodeSelector ?? 'all()',
    allowedUses: o.allowedUses ?? ['Workload', 'Tunnel'],
  };
}

/** A block affine to `affinity` (undefined = un-affine), with `borrowed` addresses held by other nodes. */
export function block(
  cidr: string,
  affinity: string | undefined,
  borrowed: Record<string, string> = {},
): SnapshotBlock {
  const b: SnapshotBlock = {
    cidr,
    allocations: Object.entries(borrowed).map(([ip, n]) => ({ address: ip, node: n })),
  };
  if (affinity !== undefined) b.affinity = affinity;
  return b;
}

export function pod(namespace: string, name: string, nodeName: string, ...ips: string[]): SnapshotPod {
  return { namespace, name, node: nodeName, ips };
}

export function peer(name: string, spec: Omit<SnapshotBGPPeer, 'name'>): SnapshotBGPPeer {
  return { name, ...spec };
}

export function snapshot(parts: Partial<ClusterSnapshot>): ClusterSnapshot {
  return { ...emptySnapshot(), ...parts };
}
