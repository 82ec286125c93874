// Pod create → Running through the whole path users run: the apiserver, kube-scheduler, kubelet, containerd, runc
// and tabby-cni (address from the node's block through the agent's IPAM), on a kubelet cluster brought up as
// `npm run demo` does (3 nodes, Tabby from its Helm chart, VXLAN CrossSubnet). 30 pods: one at a time (each
// created once the previous runs: the path's latency) and all at once (a burst, as a Deployment scale-up). Times are
// taken by this process: from the create request's answer to the first watch event showing the pod Running.
// Needs root, Docker and the binaries scripts/setup.sh builds.
import { cpus, loadavg } from 'node:os';
import { PodSchema, createInformer, createKubeClient, type Pod } from '../src/kube/index.js';
import { waitUntil } from '../e2e/dataplane/wait-until.js';
import { startTabbyKubeCluster } from '../e2e/kubelet/tabby-kube.js';

const PODS = 30;
const NS = 'bench';

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

export default async function main(): Promise<void> {
  const c = await startTabbyKubeCluster({ mode: 'VXLANCrossSubnet', progress: (l) => console.log(`  ${l}`) });
  const client = createKubeClient({ source: { kubeconfigPath: c.cp.kubeconfigPath } });
  const created = new Map<string, number>();
  const running = new Map<string, number>();
  const waiters = new Map<string, () => void>();
  const informer = createInformer<Pod>({
    name: 'bench-pods',
    kind: 'Pod',
    source: client.pods().listWatch({ namespace: NS }),
    schema: PodSchema,
    handlers: { onAdd: (pod) => seen(pod), onUpdate: (_old, pod) => seen(pod) },
  });
  function seen(pod: Pod): void {
    if (pod.status?.phase !== 'Running' || running.has(pod.metadata.name)) return;
    running.set(pod.metadata.name, performance.now());
    waiters.get(pod.metadata.name)?.();
  }
  try {
    await c.kubectl(['create', 'namespace', NS]);
    // The ServiceAccount admission refuses a pod until the namespace's default account exists.
    await waitUntil('the default ServiceAccount in the bench namespace', async () =>
      (await c.cp.kubectl(['get', 'serviceaccount', 'default', '-n', NS])).code === 0 ? true : undefined,
    );
    informer.start();
    const create = async (name: string): Promise<void> => {
      const isRunning = new Promise<void>((r) => waiters.set(name, r));
      await client.pods().create(
        {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name, namespace: NS },
          spec: { terminationGracePeriodSeconds: 0, containers: [{ name: 'pause', image: c.images.pause }] },
        },
        { namespace: NS },
      );
      created.set(name, performance.now());
      // A ceiling, so a pod that never runs ends the bench with its name instead of leaving it waiting.
      let timer: NodeJS.Timeout | undefined;
      const ceiling = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`pod ${NS}/${name} not Running after 300 s`)), 300_000);
      });
      await Promise.race([isRunning, ceiling]).finally(() => clearTimeout(timer));
    };
    const figures = (prefix: string): number[] =>
      [...created.keys()]
        .filter((n) => n.startsWith(prefix))
        .map((n) => running.get(n)! - created.get(n)!)
        .sort((a, b) => a - b);

    for (let i = 0; i < PODS; i++) await create(`one-${i}`);
    const burstStart = performance.now();
    await Promise.all(Array.from({ length: PODS }, (_, i) => create(`burst-${i}`)));
    const burstMs = performance.now() - burstStart;

    console.log(`\n${PODS} pods, ${cpus().length} cores, load average ${loadavg()[0]!.toFixed(1)}`);
    console.log('scenario            p50 ms   p99 ms   max ms');
    for (const [label, prefix] of [
      ['one at a time', 'one-'],
      ['all at once', 'burst-'],
    ] as const) {
      const xs = figures(prefix);
      console.log(
        `${label.padEnd(18)} ${quantile(xs, 0.5).toFixed(0).padStart(7)} ${quantile(xs, 0.99).toFixed(0).padStart(8)} ${xs[xs.length - 1]!.toFixed(0).padStart(8)}`,
      );
    }
    console.log(`all ${PODS} at once: the last pod Running ${burstMs.toFixed(0)} ms after the first create`);
  } finally {
    await informer.stop();
    client.close();
    await c.stop();
  }
}
