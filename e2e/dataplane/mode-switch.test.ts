// Live encapsulation switch of the default pool on two real nodes in one subnet — VXLAN Always → CrossSubnet →
// Never (and back to Always) with `kubectl patch ippool` — under a continuous ping in both directions between pods on
// the two nodes: no loss window of a second or more, and after every switch each node's kernel routes are its plan
// and the packets on the wire have the new form (UDP 4789 when encapsulated, bare pod ICMP when not).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeDataplane } from '../../src/api/index.js';
import { startContinuousPing, type PingReport } from './continuous-ping.js';
import { startCapture } from './packet-capture.js';
import { plumbPodsInOwnBlocks, type TestPod } from './pods.js';
import { buildNodeImage } from './images.js';
import { startTabbyCluster, type TabbyCluster } from './tabby-cluster.js';
import { waitUntil } from './wait-until.js';

type Mode = 'Always' | 'CrossSubnet' | 'Never';
const NAMES = ['ms-1', 'ms-2'];

describe('VXLAN mode switch Always → CrossSubnet → Never under a continuous ping', () => {
  let c: TabbyCluster;
  let pods: TestPod[] = [];
  const pod = (node: string): TestPod => pods.find((p) => p.node.name === node)!;

  beforeAll(async () => {
    const image = buildNodeImage();
    c = await startTabbyCluster({
      image,
      networks: [{ name: 'ms', subnet: '172.30.71.0/24' }],
      nodes: NAMES.map((name) => ({ name, network: 'ms' })),
      poolEnv: {
        CALICO_IPV4POOL_CIDR: '10.244.0.0/16',
        CALICO_IPV4POOL_IPIP: 'Never',
        CALICO_IPV4POOL_VXLAN: 'Always',
      },
      agentArgs: ['--no-bird'],
    });
    await c.waitProgrammed();
    pods = await plumbPodsInOwnBlocks(c, [10]);
  });

  afterAll(async () => {
    await c?.stop();
  });

  /** Every node programmed for `mode`: its plan routes the other node's block the mode's way, and the kernel is the plan. */
  async function converged(mode: Mode): Promise<boolean> {
    const ndps = (await c.getJson<{ items: NodeDataplane[] }>(['get', 'nodedataplanes'])).items;
    for (const name of NAMES) {
      const n = ndps.find((i) => i.metadata.name === name)!;
      const desired = n.status?.desired;
      const cond = n.status?.conditions?.find((x) => x.type === 'Programmed');
      if (!desired || n.status?.applied?.revision !== desired.revision || cond?.status !== 'True') return false;
      const other = NAMES.find((x) => x !== name)!;
      const od = ndps.find((i) => i.metadata.name === other)!.status!.desired!;
      const block = od.blocks[0]!.cidr;
      const vtep = od.tunnels.find((t) => t.name === 'vxlan.calico')?.address;
      const want =
        mode === 'Always' ? `${block} via ${vtep} dev vxlan.calico onlink` : `${block} via ${c.nodes.get(other)!.ip}`;
      const planned = await c.plannedRoutes(name);
      if (!planned.includes(want)) return false;
      if (JSON.stringify(await c.kernelRoutes(name)) !== JSON.stringify(planned)) return false;
      const hasVxlan = (await c.nodes.get(name)!.exec(['ip', 'link', 'show', 'vxlan.calico'])).exitCode === 0;
      if (hasVxlan !== (mode !== 'Never')) return false;
    }
    return true;
  }

  /** One second of the ongoing pings on ms-1's wire: encapsulated or bare, as the mode says. */
  async function assertWire(mode: Mode): Promise<void> {
    const node = c.nodes.get('ms-1')!;
    const cap = await startCapture(node, 'eth0', 'udp port 4789 or icmp');
    await new Promise((r) => setTimeout(r, 1000));
    await cap.stop();
    const a = pod('ms-1').ip;
    const vxlan = await cap.count('udp port 4789');
    const bare = await cap.count(`icmp and host ${a}`);
    if (mode === 'Always') {
      expect(vxlan, `${mode}: VXLAN packets`).toBeGreaterThanOrEqual(10);
      expect(bare, `${mode}: bare pod packets`).toBe(0);
    } else {
      expect(vxlan, `${mode}: VXLAN packets`).toBe(0);
      expect(bare, `${mode}: bare pod packets`).toBeGreaterThanOrEqual(10);
    }
  }

  it('switches with no loss window of a second, routes following every switch', async () => {
    expect(await converged('Always')).toBe(true);
    const pings = [
      await startContinuousPing(pod('ms-1'), pod('ms-2').ip),
      await startContinuousPing(pod('ms-2'), pod('ms-1').ip),
    ];
    let reports: PingReport[] = [];
    try {
      await new Promise((r) => setTimeout(r, 500));
      await assertWire('Always');
      for (const mode of ['CrossSubnet', 'Never', 'Always'] as const) {
        const r = await c.cp.kubectl([
          'patch',
          'ippool',
          'default-ipv4-ippool',
          '--type=merge',
          '-p',
          JSON.stringify({ spec: { vxlanMode: mode } }),
        ]);
        expect(r.code, r.stderr).toBe(0);
        const { ms } = await waitUntil(
          `routes for vxlanMode ${mode}`,
          async () => ((await converged(mode)) ? true : undefined),
          {
            timeoutMs: 30_000,
            everyMs: 100,
            describe: async () =>
              (
                await Promise.all(
                  NAMES.map(
                    async (n) =>
                      `${n} planned ${JSON.stringify(await c.plannedRoutes(n))}\n${n} kernel  ${JSON.stringify(await c.kernelRoutes(n))}`,
                  ),
                )
              ).join('\n'),
          },
        );
        console.log(
          `vxlanMode ${mode}: kernel routes equal the plan on both nodes ${Math.round(ms)} ms after the patch`,
        );
        await assertWire(mode);
      }
    } finally {
      reports = await Promise.all(pings.map((p) => p.stop()));
    }
    for (const r of reports) {
      console.log(
        `${r.target}: ${r.received}/${r.sent} replies over ${r.durationMs} ms; loss window ${r.lossWindowMs} ms ` +
          `(${r.lossRuns.join(', ') || 'none'}); longest time without a reply ${r.maxReplyGapMs} ms`,
      );
      expect(r.sent, r.target).toBeGreaterThan(r.durationMs / r.intervalMs / 2);
      expect(r.lossWindowMs, r.target).toBeLessThan(1000);
      expect(r.maxReplyGapMs, r.target).toBeLessThan(1000);
    }
  });
});
