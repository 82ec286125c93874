// Test pods as network namespaces inside node containers, plumbed exactly as Calico's CNI plugin does (the
// tutorials' netns labs): host veth `cali…` (MAC ee:ee:ee:ee:ee:ee, proxy_arp), pod eth0 with a /32,
// `169.254.1.1 dev eth0 scope link`, `default via 169.254.1.1 dev eth0`, and `<ip> dev cali… scope link` on the host.
import { workloadInterfaceName } from '../../src/net/index.js';
import type { ClusterNode } from './cluster.js';

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

/** Pings `to` from `from` once per address; true when a reply came back. */
export async function ping(
  from: TestPod,
  toIp: string,
  opts: { count?: number; timeoutS?: number } = {},
): Promise<boolean> {
  const r = await from.node.exec([
    'ip',
    'netns',
    'exec',
    from.netns,
    'ping',
    '-c',
    String(opts.count ?? 1),
    '-W',
    String(opts.timeoutS ?? 2),
    '-q',
    toIp,
  ]);
  return r.exitCode === 0;
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
