// Time from a NodeDataplane status write (the operator's new desired revision) to the agent reporting it
// Programmed, on real node containers: 2 nodes (VXLAN Always), the pool's natOutgoing toggled N times; each toggle
// changes every node's desired state. Polled in-process with the kube client every 10 ms, so figures carry up to
// ~10 ms of polling granularity. Needs Docker and root (as the e2e tier).
import { NodeDataplaneKind } from '../src/api/index.js';
import { buildNodeImage } from '../e2e/dataplane/images.js';
import { startTabbyCluster } from '../e2e/dataplane/tabby-cluster.js';

const ROUNDS = 8;

function stats(xs: number[]): string {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
  return `p50 ${q(0.5).toFixed(0)} ms, max ${s[s.length - 1]!.toFixed(0)} ms`;
}

export default async function run(): Promise<void> {
  const image = buildNodeImage();
  const c = await startTabbyCluster({
    image,
    networks: [{ name: 'bench', subnet: '172.30.77.0/24' }],
    nodes: [
      { name: 'b-1', network: 'bench' },
      { name: 'b-2', network: 'bench' },
    ],
    poolEnv: { CALICO_IPV4POOL_CIDR: '10.246.0.0/16', CALICO_IPV4POOL_IPIP: 'Never', CALICO_IPV4POOL_VXLAN: 'Always' },
    agentArgs: ['--no-bird'],
  });
  try {
    await c.waitProgrammed();
    const ndps = c.client.kind(NodeDataplaneKind);
    const writeToProgrammed: number[] = [];
    const patchToProgrammed: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const before = (await ndps.get('b-1')).status?.desired?.revision;
      const t0 = performance.now();
      const r = await c.cp.kubectl([
        'patch',
        'ippool',
        'default-ipv4-ippool',
        '--type=merge',
        '-p',
        JSON.stringify({ spec: { natOutgoing: i % 2 === 0 ? false : true } }),
      ]);
      if (r.code !== 0) throw new Error(r.stderr);
      let written: number | undefined;
      for (;;) {
        const o = await ndps.get('b-1');
        const desired = o.status?.desired?.revision;
        const now = performance.now();
        if (written === undefined && desired !== undefined && desired !== before) written = now;
        const programmed = o.status?.conditions?.find((x) => x.type === 'Programmed');
        if (written !== undefined && o.status?.applied?.revision === desired && programmed?.status === 'True') {
          writeToProgrammed.push(now - written);
          patchToProgrammed.push(now - t0);
          break;
        }
        if (now - t0 > 30_000) throw new Error('not programmed within 30 s');
        await new Promise((res) => setTimeout(res, 10));
      }
    }
    console.log(`rounds: ${ROUNDS} (2 nodes, VXLAN Always, pool natOutgoing toggled)`);
    console.log(`| measure | result |`);
    console.log(`|---|---|`);
    console.log(`| desired revision written → Programmed (agent) | ${stats(writeToProgrammed)} |`);
    console.log(`| IPPool patched → Programmed (operator + agent) | ${stats(patchToProgrammed)} |`);
  } finally {
    await c.stop();
  }
}
