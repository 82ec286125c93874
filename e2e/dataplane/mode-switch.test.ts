// Live encapsulation switch of the default pool on two real nodes in one subnet — VXLAN Always → CrossSubnet →
// Never → Always with `kubectl patch ippool`. After every switch each node's kernel routes are its plan, the packets on
// the wire have the new form (UDP 4789 when encapsulated, bare pod ICMP when not) and pods answer each other. Across
// all of it, the kernel's own event stream on each node shows make-before-break: the route to the other node's block
// is never deleted, and is moved off vxlan.calico before that device is deleted (IPv4 routes that go with a deleted
// device are not announced, so the order is what proves it). How long pings go unanswered during a switch on a given
// machine is a figure, not a property: `npm run bench -- mode-switch`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeDataplane } from '../../src/api/index.js';
import { watchKernelEvents, type KernelEvents } from './kernel-events.js';
import { startCapture } from './packet-capture.js';
import { ping, pingMatrix, plumbPodsInOwnBlocks, type TestPod } from './pods.js';
import { buildNodeImage } from './images.js';
import { startTabbyCluster, type TabbyCluster } from './tabby-cluster.js';
import { vxlanModeConverged, type VxlanMode } from './vxlan-mode.js';
import { waitUntil } from './wait-until.js';

type Mode = VxlanMode;
const NAMES = ['ms-1', 'ms-2'];

describe('VXLAN mode switch Always → CrossSubnet → Never → Always', () => {
  let c: TabbyCluster;
  let pods: TestPod[] = [];
  const pod = (node: string): TestPod => pods.find((p) => p.node.name === node)!;
  /** The block of the other node, by node. */
  const otherBlock = new Map<string, string>();

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

  const converged = (mode: Mode) => vxlanModeConverged(c, NAMES, mode);

  /**
   * Ten pings from ms-1's pod to ms-2's, all answered, captured on ms-1's wire until all 20 packets (requests and
   * replies) are there in the mode's form; none of them in the other form.
   */
  async function assertWire(mode: Mode): Promise<void> {
    const node = c.nodes.get('ms-1')!;
    const a = pod('ms-1').ip;
    const vxlan = 'udp port 4789';
    const bare = `icmp and host ${a}`;
    const [want, never] = mode === 'Always' ? [vxlan, bare] : [bare, vxlan];
    const cap = await startCapture(node, 'eth0', 'udp port 4789 or icmp');
    try {
      expect(await ping(pod('ms-1'), pod('ms-2').ip, { count: 10, intervalS: 0.1 }), `${mode}: ping`).toBe(true);
      await cap.waitFor(want, 20);
    } finally {
      await cap.stop();
    }
    expect(await cap.count(never), `${mode}: packets in the other form\n${await cap.print('')}`).toBe(0);
  }

  /**
   * In node `name`'s kernel events: the route to the other node's block is never deleted, and each deletion of
   * vxlan.calico comes after that route was last announced going directly to the other node. Returns how many
   * deletions of vxlan.calico there were.
   */
  function assertMakeBeforeBreak(name: string, events: string[]): number {
    const other = NAMES.find((x) => x !== name)!;
    const block = otherBlock.get(name)!;
    const direct = `${block} via ${c.nodes.get(other)!.ip} dev eth0 `;
    const log = events.join('\n');
    expect(
      events.filter((l) => l.startsWith(`Deleted ${block} `)),
      `${name}: deletions of the route to ${block}\n${log}`,
    ).toEqual([]);
    let deleted = 0;
    events.forEach((l, i) => {
      if (!/^Deleted \d+: vxlan\.calico[:@]/.test(l)) return;
      deleted++;
      const last = events.slice(0, i).findLast((x) => x.startsWith(`${block} `));
      expect(last?.startsWith(direct), `${name}: the route to ${block} when vxlan.calico was deleted\n${log}`).toBe(
        true,
      );
    });
    return deleted;
  }

  it('switches with routes following every switch, make-before-break, the wire in the new form, pods answering', async () => {
    await waitUntil('routes for vxlanMode Always', async () => ((await converged('Always')) ? true : undefined));
    const ndps = (await c.getJson<{ items: NodeDataplane[] }>(['get', 'nodedataplanes'])).items;
    for (const name of NAMES) {
      const other = NAMES.find((x) => x !== name)!;
      otherBlock.set(name, ndps.find((i) => i.metadata.name === other)!.status!.desired!.blocks[0]!.cidr);
    }
    const watchers = new Map<string, KernelEvents>();
    try {
      for (const name of NAMES) watchers.set(name, await watchKernelEvents(c.nodes.get(name)!));
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
        await waitUntil(`routes for vxlanMode ${mode}`, async () => ((await converged(mode)) ? true : undefined), {
          timeoutMs: 120_000,
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
        });
        for (const [name, w] of watchers) {
          // Every event so far: the switch to Never is where the device goes, and its monitor must have seen that.
          const deletions = assertMakeBeforeBreak(name, await w.barrier());
          expect(deletions, `${name}: deletions of vxlan.calico seen so far`).toBe(mode === 'CrossSubnet' ? 0 : 1);
        }
        await assertWire(mode);
        expect(await pingMatrix(pods), `pings after the switch to ${mode}`).toEqual([]);
      }
    } finally {
      for (const w of watchers.values()) await w.stop();
    }
  });
});
