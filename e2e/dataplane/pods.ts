// Test pods as network namespaces inside node containers, plumbed exactly as Calico's CNI plugin does (the
// tutorials' netns labs): host veth `cali…` (MAC ee:ee:ee:ee:ee:ee, proxy_arp), pod eth0 with a /32,
// `169.254.1.1 dev eth0 scope link`, `default via 169.254.1.1 dev eth0`, and `<ip> dev cali… scope link` on the host.
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
  for (const [name, block] of await c.waitBlocks()) {
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
export type CniPod = TestPod & { containerId: string };

/**
 * What kubelet does before it starts a pod: wait for a CNI configuration. The agent writes it when the node's route
 * readiness gate opens (src/agent/cni-config-gate.ts), which may be a moment after its NodeDataplane is programmed.
 */
export const WAIT_FOR_CNI_CONFIG = `
for _ in $(seq 1200); do [ -f /etc/cni/net.d/10-tabby.conflist ] && break; sleep 0.1; done
[ -f /etc/cni/net.d/10-tabby.conflist ] || { echo 'no CNI configuration in /etc/cni/net.d after 120 s: route gate still closed' >&2; exit 1; }`;

export async function cniPod(node: ClusterNode, namespace: string, name: string): Promise<CniPod> {
  const netns = `pod-${name}`;
  const containerId = `${name}-0123456789abcdef`;
  const out = await node.sh(`${WAIT_FOR_CNI_CONFIG}
ip netns add ${netns}
export CNI_PATH=/opt/cni/bin NETCONFPATH=/etc/cni/net.d CNI_CONTAINERID=${containerId}
export CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=${namespace};K8S_POD_NAME=${name};K8S_POD_INFRA_CONTAINER_ID=${containerId}"
cnitool add k8s-pod-network /var/run/netns/${netns}
`);
  const result = JSON.parse(out.slice(out.indexOf('{'))) as CniResult;
  const ip = result.ips[0]!.address.split('/')[0]!;
  return { node, namespace, name, ip, netns, hostIface: workloadInterfaceName(namespace, name), containerId };
}

export interface ChurnStep {
  name: string;
  /** DEL the pod right after its ADD succeeded (while other ADDs of the batch still run). */
  del: boolean;
}

export interface ChurnOutcome {
  pod: CniPod;
  deleted: boolean;
  addMs: number;
  /** Undefined when the pod was kept. */
  delMs: number | undefined;
}

/**
 * Many pods on one node through the CNI plugin, `parallel` at a time, as a busy kubelet drives its runtime: every
 * step is `ip netns add` + `cnitool add`, and for a step marked `del` a `cnitool del` + `ip netns del` right after,
 * concurrently with the other steps' ADDs. One script runs in the node for the whole batch (xargs -P): a `docker exec`
 * per pod would add ~60 ms of exec overhead each (measured here), about as much as the plugin's own node start, and
 * would tie the churn's pace to dockerd. Throws naming every step that failed, with its output.
 */
export async function cniChurn(
  node: ClusterNode,
  namespace: string,
  steps: readonly ChurnStep[],
  parallel: number,
): Promise<ChurnOutcome[]> {
  for (const s of steps) {
    if (!/^[a-z0-9-]+$/.test(s.name))
      throw new Error(`cniChurn: pod name ${JSON.stringify(s.name)} is not a DNS label`);
  }
  // Per step one line `name|addMs|delMs|error|base64(ADD output)`; the ADD output is cnitool's result JSON.
  const out = await node.sh(`${WAIT_FOR_CNI_CONFIG}
export OUT=$(mktemp -d /tmp/cni-churn.XXXXXX) NS=${namespace}
one() {
  local name=$1 del=$2 t0 t1 t2 err=
  local cid=$name-0123456789abcdef netns=pod-$name
  export CNI_PATH=/opt/cni/bin NETCONFPATH=/etc/cni/net.d CNI_CONTAINERID=$cid
  export CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=$NS;K8S_POD_NAME=$name;K8S_POD_INFRA_CONTAINER_ID=$cid"
  t0=$(date +%s%N)
  if ! ip netns add "$netns" >"$OUT/$name.add" 2>&1; then
    err="ip netns add failed"
  elif ! cnitool add k8s-pod-network "/var/run/netns/$netns" >"$OUT/$name.add" 2>&1; then
    err="cnitool add failed"
  fi
  t1=$(date +%s%N)
  t2=$t1
  if [ -z "$err" ] && [ "$del" = 1 ]; then
    if ! cnitool del k8s-pod-network "/var/run/netns/$netns" >"$OUT/$name.del" 2>&1; then
      err="cnitool del failed: $(tr '\\n|' '  ' <"$OUT/$name.del")"
    elif ! ip netns del "$netns" >"$OUT/$name.del" 2>&1; then
      err="ip netns del failed: $(tr '\\n|' '  ' <"$OUT/$name.del")"
    fi
    t2=$(date +%s%N)
  fi
  printf '%s|%s|%s|%s|%s\\n' "$name" $(((t1 - t0) / 1000000)) $(((t2 - t1) / 1000000)) "$err" \
    "$(base64 -w0 <"$OUT/$name.add")" >"$OUT/$name.line"
}
export -f one
xargs -P ${parallel} -n 2 bash -c 'one "$@"' _ <<'STEPS'
${steps.map((s) => `${s.name} ${s.del ? 1 : 0}`).join('\n')}
STEPS
for name in ${steps.map((s) => s.name).join(' ')}; do
  cat "$OUT/$name.line" 2>/dev/null || echo "$name|0|0|never ran|"
done
rm -rf "$OUT"
`);
  const lines = new Map<string, string[]>();
  for (const line of out.split('\n')) {
    const cells = line.split('|');
    if (cells.length === 5) lines.set(cells[0]!, cells);
  }
  const failures: string[] = [];
  const outcomes: ChurnOutcome[] = [];
  for (const s of steps) {
    const cells = lines.get(s.name);
    if (cells === undefined) {
      failures.push(`${s.name}: no result line`);
      continue;
    }
    const [, addMs, delMs, err, add64] = cells as [string, string, string, string, string];
    const addOut = Buffer.from(add64, 'base64').toString('utf8');
    if (err !== '') {
      failures.push(`${s.name}: ${err}: ${addOut.trim()}`);
      continue;
    }
    const result = JSON.parse(addOut.slice(addOut.indexOf('{'))) as CniResult;
    const ip = result.ips[0]!.address.split('/')[0]!;
    const pod: CniPod = {
      node,
      namespace,
      name: s.name,
      ip,
      netns: `pod-${s.name}`,
      hostIface: workloadInterfaceName(namespace, s.name),
      containerId: `${s.name}-0123456789abcdef`,
    };
    outcomes.push({ pod, deleted: s.del, addMs: Number(addMs), delMs: s.del ? Number(delMs) : undefined });
  }
  if (failures.length > 0)
    throw new Error(`${node.name}: ${failures.length} churn steps failed:\n${failures.join('\n')}`);
  return outcomes;
}
