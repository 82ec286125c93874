// `npm run demo`: Tabby's main job on a local cluster it brings up itself — a real control plane, the operator,
// three node containers running `tabby agent`, two pods on each (made through the CNI plugin) — then what a Calico user would look at:
// `kubectl get ippools`, each node's `ip route`, and a ping matrix between all pods.
// TABBY_DEMO_MODE=VXLAN (default) | IPIP-less modes: VXLANCrossSubnet | Never. TABBY_DEMO_KEEP=1 keeps it running
// until Ctrl-C.
import { buildNodeImage } from './dataplane/images.js';
import { cniPod, ping, type TestPod } from './dataplane/pods.js';
import { startTabbyCluster } from './dataplane/tabby-cluster.js';

const started = Date.now();
const step = (text: string): void =>
  console.log(`\n\x1b[1m== ${text}\x1b[0m (t=${((Date.now() - started) / 1000).toFixed(1)} s)`);
const mode = process.env.TABBY_DEMO_MODE ?? 'VXLAN';
const poolEnv: Record<string, string> = {
  CALICO_IPV4POOL_CIDR: '10.244.0.0/16',
  CALICO_IPV4POOL_IPIP: 'Never',
  CALICO_IPV4POOL_VXLAN: mode === 'Never' ? 'Never' : mode === 'VXLANCrossSubnet' ? 'CrossSubnet' : 'Always',
};

step('building the Tabby and node images (docker build; cached after the first run)');
const image = buildNodeImage();

step(
  `starting a control plane, the operator and 3 node containers (pool 10.244.0.0/16, VXLAN ${poolEnv.CALICO_IPV4POOL_VXLAN})`,
);
const c = await startTabbyCluster({
  image,
  networks: [{ name: 'demo', subnet: '172.30.99.0/24' }],
  nodes: [
    { name: 'node-1', network: 'demo' },
    { name: 'node-2', network: 'demo' },
    { name: 'node-3', network: 'demo' },
  ],
  poolEnv,
  agentArgs: mode === 'Never' ? [] : ['--no-bird'],
  progress: (l) => console.log(`   ${l}`),
});
try {
  await c.waitProgrammed();
  // Pods as a container runtime makes them: a network namespace, then `cnitool add` of tabby-cni, which the agent
  // installed; the address comes from the node's own block through the agent's IPAM.
  const pods: TestPod[] = [];
  for (const node of c.nodes.values()) {
    for (const i of [1, 2]) pods.push(await cniPod(node, 'default', `${node.name.replace('node-', 'pod-')}-${i}`));
  }

  step('$ kubectl get ippools -o wide');
  process.stdout.write((await c.cp.kubectl(['get', 'ippools', '-o', 'wide'])).stdout);
  step('$ kubectl get nodedataplanes');
  process.stdout.write((await c.cp.kubectl(['get', 'nodedataplanes'])).stdout);
  for (const node of c.nodes.values()) {
    step(`${node.name} (${node.ip})$ ip route`);
    process.stdout.write(await node.sh('ip route'));
  }

  step('ping matrix (each pod pings every other pod once)');
  const header = ['from \\ to', ...pods.map((p) => p.name)];
  const rows: string[][] = [];
  let failures = 0;
  for (const a of pods) {
    const row = [`${a.name} ${a.ip}`];
    for (const b of pods) {
      if (a === b) row.push('-');
      else {
        const ok = await ping(a, b.ip);
        if (!ok) failures++;
        row.push(ok ? 'ok' : 'FAIL');
      }
    }
    rows.push(row);
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  for (const r of [header, ...rows]) console.log(r.map((cell, i) => cell.padEnd(widths[i]!)).join('  '));
  step(failures === 0 ? `all ${pods.length * (pods.length - 1)} pings succeeded` : `${failures} pings FAILED`);
  process.exitCode = failures === 0 ? 0 : 1;

  if (process.env.TABBY_DEMO_KEEP === '1') {
    console.log(
      `\nkubeconfig: ${c.cp.kubeconfigPath}\nnode shells: docker exec -it ${[...c.nodes.values()].map((n) => n.container.getName().replace(/^\//, '')).join(' | ')} bash\nCtrl-C stops everything.`,
    );
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
  }
} finally {
  step('stopping the cluster');
  await c.stop();
}
