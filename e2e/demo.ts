// `npm run demo`: Tabby as its users run it, on a cluster this machine brings up itself — a real control plane
// (etcd, kube-apiserver, kube-controller-manager, kube-scheduler), three kubelet nodes (containerd, kube-proxy) in
// two subnets behind a router, Tabby installed with `helm install`, CoreDNS, and a Deployment of agnhost pods spread
// over the nodes. Then what a Calico user looks at: nodes, pods and pools, each node's routes, and the connectivity
// matrix (every pod fetches /hostname from every other pod and from the Service's ClusterIP).
// TABBY_DEMO_MODE=VXLANCrossSubnet (default) | VXLAN | BGP; TABBY_DEMO_KEEP=1 keeps the cluster until Ctrl-C.
import { MODES, startTabbyKubeCluster, type Mode } from './kubelet/tabby-kube.js';
import { connectivityMatrix, deployNetexec, formatMatrix } from './kubelet/workload.js';

const started = Date.now();
const step = (text: string): void =>
  console.log(`\n\x1b[1m== ${text}\x1b[0m (t=${((Date.now() - started) / 1000).toFixed(1)} s)`);
const mode = (process.env.TABBY_DEMO_MODE ?? 'VXLANCrossSubnet') as Mode;
if (!MODES.includes(mode)) throw new Error(`TABBY_DEMO_MODE=${mode}: expected one of ${MODES.join(', ')}`);

step(`bringing up the cluster (${mode}): images, control plane, 3 kubelet nodes, helm install tabby, CoreDNS`);
const c = await startTabbyKubeCluster({ mode, progress: (l) => console.log(`   ${l}`) });
try {
  step('a Deployment of 6 agnhost netexec pods spread over the nodes, and a ClusterIP Service');
  const pods = await deployNetexec(c, 'netexec', 'default', 6);
  const serviceIP = (await c.kubectl(['get', 'service', 'netexec', '-o', 'jsonpath={.spec.clusterIP}'])).trim();

  step('$ kubectl get nodes -o wide');
  process.stdout.write(await c.kubectl(['get', 'nodes', '-o', 'wide']));
  step('$ kubectl get pods -A -o wide');
  process.stdout.write(await c.kubectl(['get', 'pods', '-A', '-o', 'wide']));
  step('$ kubectl get ippools -o wide');
  process.stdout.write(await c.kubectl(['get', 'ippools', '-o', 'wide']));
  // The route readiness gate: each node took pods only once every other node routed to it (join → converged).
  step('$ kubectl get events --field-selector reason=RoutesConverged');
  process.stdout.write(
    await c.kubectl([
      'get',
      'events',
      '--field-selector',
      'reason=RoutesConverged',
      '-o',
      'custom-columns=NODE:.involvedObject.name,MESSAGE:.message',
    ]),
  );
  for (const node of c.nodes.values()) {
    step(`${node.name} (${node.ip})$ ip route`);
    process.stdout.write(await node.sh('ip route'));
  }

  step(`connectivity matrix: HTTP GET /hostname from every pod to every pod and to the Service ${serviceIP}`);
  const matrix = await connectivityMatrix(c, 'default', pods, serviceIP);
  console.log(formatMatrix(pods, matrix));
  const checks = pods.length * (pods.length + 1);
  step(
    matrix.failures.length === 0
      ? `all ${checks} requests answered by the right pod`
      : `${matrix.failures.length} of ${checks} requests FAILED:\n${matrix.failures.join('\n')}`,
  );
  process.exitCode = matrix.failures.length === 0 ? 0 : 1;

  if (process.env.TABBY_DEMO_KEEP === '1') {
    console.log(
      `\nexport KUBECONFIG=${c.cp.kubeconfigPath}\nnode shells: docker exec -it ${[...c.nodes.values()].map((n) => n.container).join(' | ')} bash\nCtrl-C stops everything.`,
    );
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
  }
} finally {
  step('stopping the cluster');
  await c.stop();
  step('done');
}
