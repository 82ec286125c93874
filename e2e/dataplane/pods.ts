// Test pods as network namespaces inside node containers, plumbed exactly as Calico's CNI plugin does (the
// tutorials' netns labs): host veth `cali…` (MAC ee:ee:ee:ee:ee:ee, proxy_arp), pod eth0 with a /32,
// `169.254.1.1 dev eth0 scope link`, `default via 169.254.1.1 dev eth0`, and `<ip> dev cali… scope link` on the host.
import type { NodeDataplane } from '../../src/api/index.js';
import { workloadInterfaceName } from '../../src/net/index.js';
import type { ClusterNode } from './cluster.js';
import type { TabbyCluster } from './tabby-cluster.js';

export interface TestPod {
  node: ClusterNode;
  namespace: string;
  name: string;
  ip: string;
  netns: string;
  hostIface: string;
}

export async function plumbPod(node: ClusterNode, namespace: string, name: string, ip: string): Promise<TestPod> {
  const hostIface = workloadInterfaceName(namespace, name);
  const netns = `pod-${name}`;
  await node.sh(`
ip netns add ${netns}
ip link add ${hostIface} type veth peer name eth0 netns ${netns}
ip link set ${hostIface} address ee:ee:ee:ee:ee:ee
echo 1 > /proc/sys/net/ipv4/conf/${hostIface}/proxy_arp
echo 0 > /proc/sys/net/ipv4/neigh/${hostIface}/proxy_delay
echo 1 > /proc/sys/net/ipv4/ip_forward
ip link set ${hostIface} up
ip -n ${netns} link set lo up
ip -n ${netns} addr add ${ip}/32 dev eth0
ip -n ${netns} link set eth0 up
ip -n ${netns} route add 169.254.1.1 dev eth0 scope link
ip -n ${netns} route add default via 169.254.1.1 dev eth0
ip route add ${ip} dev ${hostIface} scope link
`);
  return { node, namespace, name, ip, netns, hostIface };
}

/**
 * Pods `<node>-pod<offset>` on every node, addressed at `offset` into the node's first block (in VXLAN modes the
 * block's first address is the node's VTEP, so offsets start above it).
 */
export async function plumbPodsInOwnBlocks(c: TabbyCluster, offsets: readonly number[]): Promise<TestPod[]> {
  const pods: TestPod[] = [];
  for (const name of c.nodes.keys()) {
    const ndp = await c.getJson<NodeDataplane>(['get', 'nodedataplane', name]);
    const block = ndp.status?.desired?.blocks[0]?.cidr;
    if (block === undefined) throw new Error(`node ${name} has no block planned`);
    const base = block.split('/')[0]!.split('.').map(Number);
    for (const i of offsets) {
      const ip = `${base[0]}.${base[1]}.${base[2]}.${base[3]! + i}`;
      pods.push(await plumbPod(c.nodes.get(name)!, 'default', `${name}-pod${i}`, ip));
    }
  }
  return pods;
}

/** Pings `to` from `from`; true when every echo request was answered. */
export async function ping(
  from: TestPod,
  toIp: string,
  opts: { count?: number; timeoutS?: number; intervalS?: number } = {},
): Promise<boolean> {
  const count = opts.count ?? 1;
  const r = await from.node.exec([
    'ip',
    'netns',
    'exec',
    from.netns,
    'ping',
    '-c',
    String(count),
    '-W',
    String(opts.timeoutS ?? 2),
    ...(opts.intervalS !== undefined ? ['-i', String(opts.intervalS)] : []),
    '-q',
    toIp,
  ]);
  return r.exitCode === 0 && new RegExp(`\\b${count} received`).test(r.output);
}

/** Every pod pings every other pod; returns the failing pairs as `a -> b` lines (empty when all succeed). */
export async function pingMatrix(pods: readonly TestPod[]): Promise<string[]> {
  const failures: string[] = [];
  await Promise.all(
    pods.map(async (a) => {
      for (const b of pods) {
        if (a === b) continue;
        if (!(await ping(a, b.ip))) failures.push(`${a.name}@${a.node.name} -> ${b.name}@${b.node.name} (${b.ip})`);
      }
    }),
  );
  return failures.sort();
}

export interface CniResult {
  ips: { address: string }[];
  interfaces?: { name: string; mac?: string; sandbox?: string }[];
}

/**
 * A pod created the way a container runtime does it: a fresh network namespace, then `cnitool add` of Tabby's
 * CNI plugin (installed by the node's agent into /opt/cni/bin and /etc/cni/net.d), which gets the address from the
 * agent's IPAM and plumbs the veth. Returns the pod with the address IPAM gave it.
 */
export async function cniPod(
  node: ClusterNode,
  namespace: string,
  name: string,
): Promise<TestPod & { containerId: string }> {
  const netns = `pod-${name}`;
  const containerId = `${name}-0123456789abcdef`;
  const out = await node.sh(`
ip netns add ${netns}
export CNI_PATH=/opt/cni/bin NETCONFPATH=/etc/cni/net.d CNI_CONTAINERID=${containerId}
export CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=${namespace};K8S_POD_NAME=${name};K8S_POD_INFRA_CONTAINER_ID=${containerId}"
cnitool add k8s-pod-network /var/run/netns/${netns}
`);
  const result = JSON.parse(out.slice(out.indexOf('{'))) as CniResult;
  const ip = result.ips[0]!.address.split('/')[0]!;
  return { node, namespace, name, ip, netns, hostIface: workloadInterfaceName(namespace, name), containerId };
}

/** `cnitool del` for a pod made by cniPod, then its namespace goes. */
export async function cniDelete(pod: TestPod & { containerId: string }): Promise<void> {
  await pod.node.sh(`
export CNI_PATH=/opt/cni/bin NETCONFPATH=/etc/cni/net.d CNI_CONTAINERID=${pod.containerId}
export CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=${pod.namespace};K8S_POD_NAME=${pod.name};K8S_POD_INFRA_CONTAINER_ID=${pod.containerId}"
cnitool del k8s-pod-network /var/run/netns/${pod.netns}
ip netns del ${pod.netns}
`);
}
