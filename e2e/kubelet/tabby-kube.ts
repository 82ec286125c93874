// A kubelet cluster whose pod network is Tabby, installed as users install it: `helm install tabby charts/tabby`
// with the chart's defaults and the pool's values. The agent DaemonSet's pods install tabby-cni on each node, which
// turns the node Ready; the operator Deployment plans routes; then CoreDNS (kubeadm's DNS add-on) runs on the pod
// network. Three nodes by default: two in one subnet and one behind a router in another (one subnet in BGP mode,
// where routes without encapsulation need every node on-link, as Calico's do without a BGP-speaking router), each
// in a zone of its own (topology-aware routing in kube-proxy wants three).
import { buildKubeImages, type KubeImages } from './images.js';
import { startKubeCluster, type KubeCluster, type KubeNodeSpec } from './kube-cluster.js';
import { corednsManifests } from './coredns.js';
import { CHART, helmOk, setJson } from '../packaging/support.js';
import { waitUntil } from '../dataplane/wait-until.js';
import type { NetworkSpec } from '../dataplane/cluster.js';

export const MODES = ['VXLANCrossSubnet', 'VXLAN', 'BGP'] as const;
export type Mode = (typeof MODES)[number];

/** Pod networks a cluster may take: the first one this machine has no route for (see routePodNetwork). */
export const POD_CIDRS = Array.from({ length: 10 }, (_, i) => `10.${244 + i}.0.0/16`);
export const TABBY_NAMESPACE = 'tabby-system';

/** The chart's defaultPool values for a mode (Calico's CALICO_IPV4POOL_* settings). */
export function poolValues(mode: Mode, cidr: string): Record<string, unknown> {
  return {
    cidr,
    ipipMode: 'Never',
    vxlanMode: mode === 'VXLANCrossSubnet' ? 'CrossSubnet' : mode === 'VXLAN' ? 'Always' : 'Never',
    natOutgoing: true,
  };
}

export function defaultTopology(mode: Mode): { networks: NetworkSpec[]; nodes: KubeNodeSpec[] } {
  if (mode === 'BGP') {
    return {
      networks: [{ name: 'kube-a', subnet: '172.30.40.0/24' }],
      nodes: ['node-1', 'node-2', 'node-3'].map((name, i) => ({ name, network: 'kube-a', zone: `zone-${'abc'[i]}` })),
    };
  }
  return {
    networks: [
      { name: 'kube-a', subnet: '172.30.40.0/24' },
      { name: 'kube-b', subnet: '172.30.41.0/24' },
    ],
    nodes: [
      { name: 'node-1', network: 'kube-a', zone: 'zone-a' },
      { name: 'node-2', network: 'kube-a', zone: 'zone-b' },
      { name: 'node-3', network: 'kube-b', zone: 'zone-c' },
    ],
  };
}

export interface TabbyKubeOptions {
  mode: Mode;
  topology?: { networks: NetworkSpec[]; nodes: KubeNodeSpec[] };
  images?: KubeImages;
  /** Extra chart values (merged over the image and pool values). */
  values?: Record<string, unknown>;
  /** Install the DNS add-on (default true). */
  coredns?: boolean;
  progress?: (line: string) => void;
  keepDir?: boolean;
}

export interface TabbyKubeCluster extends KubeCluster {
  mode: Mode;
  /** The default pool's CIDR. */
  podCidr: string;
  /** Milliseconds per bring-up step, in order. */
  timings: [string, number][];
}

interface NodeJson {
  metadata: { name: string };
  status?: { conditions?: { type: string; status: string; reason?: string; message?: string }[] };
}

export const condition = (n: NodeJson, type: string): string | undefined =>
  n.status?.conditions?.find((c) => c.type === type)?.status;

export async function startTabbyKubeCluster(opts: TabbyKubeOptions): Promise<TabbyKubeCluster> {
  const progress = opts.progress ?? ((): void => undefined);
  const timings: [string, number][] = [];
  let t = Date.now();
  const lap = (step: string): void => {
    const now = Date.now();
    timings.push([step, now - t]);
    progress(`${step}: ${((now - t) / 1000).toFixed(1)} s`);
    t = now;
  };
  const images = opts.images ?? (await buildKubeImages(progress));
  if (!opts.images) lap('images');
  const topology = opts.topology ?? defaultTopology(opts.mode);
  const cluster = await startKubeCluster({
    ...topology,
    images,
    progress,
    ...(opts.keepDir ? { keepDir: true } : {}),
  });
  try {
    lap('control plane and kubelets registered');
    const podCidr = await cluster.routePodNetwork(POD_CIDRS);
    const [repository, tag] = images.tabby.split(':');
    await helmOk(
      [
        'install',
        'tabby',
        CHART,
        '--namespace',
        TABBY_NAMESPACE,
        '--create-namespace',
        ...setJson({ image: { repository, tag }, defaultPool: poolValues(opts.mode, podCidr), ...opts.values }),
      ],
      { kubeconfig: cluster.cp.kubeconfigPath },
    );
    lap('helm install tabby');

    const describe = async (): Promise<string> => {
      const pods = await cluster.kubectl(['get', 'pods', '-A', '-o', 'wide']).catch((e: Error) => e.message);
      const nodes = await cluster.kubectl(['get', 'nodes', '-o', 'wide']).catch((e: Error) => e.message);
      const logs = await Promise.all([...cluster.nodes.values()].map((n) => n.logs(8)));
      return `${nodes}\n${pods}\n${logs.join('\n')}`;
    };
    await waitUntil(
      'every node Ready with the agent running on it',
      async () => {
        const nodes = await cluster.getJson<{ items: NodeJson[] }>(['get', 'nodes']);
        const ready = nodes.items.filter((n) => condition(n, 'Ready') === 'True').length;
        const ds = await cluster.getJson<{ status: { numberReady?: number } }>([
          'get',
          'daemonset',
          'tabby-agent',
          '-n',
          TABBY_NAMESPACE,
        ]);
        return ready === cluster.nodes.size && ds.status.numberReady === cluster.nodes.size ? true : undefined;
      },
      { timeoutMs: 300_000, everyMs: 1000, describe },
    );
    lap('nodes Ready, agents ready');
    await cluster.kubectl(['rollout', 'status', 'deployment/tabby-operator', '-n', TABBY_NAMESPACE, '--timeout=300s']);
    lap('operator available');
    // It judges every write of the Calico kinds (failing closed): the operator's default pool waits for it.
    await cluster.kubectl(['rollout', 'status', 'deployment/tabby-webhook', '-n', TABBY_NAMESPACE, '--timeout=300s'], {
      timeoutMs: 320_000,
    });
    lap('webhook available');

    if (opts.coredns !== false) {
      await cluster.kubectl(['apply', '-f', '-'], { input: corednsManifests() });
      await cluster.kubectl(['rollout', 'status', 'deployment/coredns', '-n', 'kube-system', '--timeout=300s'], {
        timeoutMs: 320_000,
      });
      lap('CoreDNS available');
    }
    return { ...cluster, mode: opts.mode, podCidr, timings };
  } catch (err) {
    await cluster.stop();
    throw err;
  }
}
