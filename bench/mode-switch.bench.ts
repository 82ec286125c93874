// What a live VXLAN mode switch costs pod traffic on real node containers: 2 nodes in one subnet, one pod each, the
// default pool switched Always → CrossSubnet → Never → Always, ROUNDS times. Around each switch a continuous ping runs
// in both directions (every 20 ms, from 1 s before the patch to 1 s after both nodes' kernels equal their plans).
// Figures per switch: IPPool patched → both kernels converged; loss window (longest run of unanswered requests × the
// interval) and longest time without a reply, per direction. The nodes switch one after the other, so a few requests
// in flight between them may go unanswered; routes are replaced before a device goes (make-before-break, asserted in
// e2e/dataplane/mode-switch.test.ts). Needs Docker and root (as the e2e tier).
import { startContinuousPing, type PingReport } from '../e2e/dataplane/continuous-ping.js';
import { buildNodeImage } from '../e2e/dataplane/images.js';
import { plumbPodsInOwnBlocks } from '../e2e/dataplane/pods.js';
import { startTabbyCluster } from '../e2e/dataplane/tabby-cluster.js';
import { vxlanModeConverged, type VxlanMode } from '../e2e/dataplane/vxlan-mode.js';

const ROUNDS = 3;
const INTERVAL_MS = 20;
const NAMES = ['bms-1', 'bms-2'];
const SWITCHES = ['CrossSubnet', 'Never', 'Always'] as const;

function stats(xs: number[]): string {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
  return `p50 ${q(0.5).toFixed(0)} ms, max ${s[s.length - 1]!.toFixed(0)} ms`;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export default async function run(): Promise<void> {
  const image = buildNodeImage();
  const c = await startTabbyCluster({
    image,
    networks: [{ name: 'bms', subnet: '172.30.78.0/24' }],
    nodes: NAMES.map((name) => ({ name, network: 'bms' })),
    poolEnv: { CALICO_IPV4POOL_CIDR: '10.247.0.0/16', CALICO_IPV4POOL_IPIP: 'Never', CALICO_IPV4POOL_VXLAN: 'Always' },
    agentArgs: ['--no-bird'],
  });
  try {
    await c.waitProgrammed();
    const pods = await plumbPodsInOwnBlocks(c, [10]);
    const [a, b] = NAMES.map((n) => pods.find((p) => p.node.name === n)!);
    const rows = new Map<string, { converge: number[]; loss: number[]; gap: number[] }>();
    let from: VxlanMode = 'Always';
    for (let round = 0; round < ROUNDS; round++) {
      for (const mode of SWITCHES) {
        const pings = [
          await startContinuousPing(a!, b!.ip, INTERVAL_MS),
          await startContinuousPing(b!, a!.ip, INTERVAL_MS),
        ];
        let reports: PingReport[];
        let converge: number;
        try {
          await sleep(1000);
          const t0 = performance.now();
          const r = await c.cp.kubectl([
            'patch',
            'ippool',
            'default-ipv4-ippool',
            '--type=merge',
            '-p',
            JSON.stringify({ spec: { vxlanMode: mode } }),
          ]);
          if (r.code !== 0) throw new Error(r.stderr);
          while (!(await vxlanModeConverged(c, NAMES, mode))) {
            if (performance.now() - t0 > 120_000) throw new Error(`vxlanMode ${mode}: not converged in 120 s`);
            await sleep(50);
          }
          converge = performance.now() - t0;
          await sleep(1000);
        } finally {
          reports = await Promise.all(pings.map((p) => p.stop()));
        }
        const key = `${from} → ${mode}`;
        const row = rows.get(key) ?? { converge: [], loss: [], gap: [] };
        row.converge.push(converge);
        for (const rep of reports) {
          row.loss.push(rep.lossWindowMs);
          row.gap.push(rep.maxReplyGapMs);
        }
        rows.set(key, row);
        from = mode;
      }
    }
    console.log(
      `rounds: ${ROUNDS} of ${SWITCHES.length} switches (2 nodes, one subnet; ping every ${INTERVAL_MS} ms both ways)`,
    );
    console.log(
      '| switch | patch → both kernels as planned | loss window (both directions) | longest without a reply |',
    );
    console.log('|---|---|---|---|');
    const all = { converge: [] as number[], loss: [] as number[], gap: [] as number[] };
    for (const [key, r] of rows) {
      console.log(`| ${key} | ${stats(r.converge)} | ${stats(r.loss)} | ${stats(r.gap)} |`);
      all.converge.push(...r.converge);
      all.loss.push(...r.loss);
      all.gap.push(...r.gap);
    }
    console.log(`| all | ${stats(all.converge)} | ${stats(all.loss)} | ${stats(all.gap)} |`);
  } finally {
    await c.stop();
  }
}
