// Agent dataplane benchmark on the real kernel (needs root): a throwaway network namespace per run.
// Figures: 5,000 routes applied from empty (whole syncOnce: kernel read, target, diff, one `ip -batch`), a one-route
// change (the steady state: no kernel read, one process), the same change with a full kernel reread (periodic resync
// / after drift), a no-op sync, and the pure part (target + diff) alone.
// Anchors (issue 9): ≤ 100 ms for 5k routes, ≤ 5 ms for one change; Felix resyncs 64k routes in 84 ms.
import type { RouteEntry, ViewNode } from '../src/api/route-table.js';
import {
  createAgentSyncer,
  createLinuxDataplane,
  computeKernelTarget,
  diffKernel,
  emptyKernelState,
} from '../src/agent/index.js';
import type { SyncInput } from '../src/agent/index.js';
import { buildNodeDesired, buildShard } from '../src/agent/test-support/desired-builder.js';
import { createProcessRunner } from '../src/agent/linux/command-runner.js';
import { createLab } from '../src/agent/linux/netns-lab.js';

const runner = createProcessRunner();

const ROUTES = 5000;
const BLOCKS_PER_NODE = 20;
const SHARD_SIZE = 2000;

function ip4(n: number): string {
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/** 5,000 remote /26 blocks on 250 nodes in 192.168.0.0/16 (+ one spare block for the one-route change), sharded. */
function scenario(kind: 'direct' | 'vxlan', extra: boolean): SyncInput {
  const entries: RouteEntry[] = [];
  const nodes: ViewNode[] = [];
  const base = (10 << 24) >>> 0;
  const count = ROUTES + (extra ? 1 : 0);
  for (let i = 0; i < count; i++) {
    // The spare block goes to the last node, so the change is exactly one route (no new VTEP).
    const node = Math.min(Math.floor(i / BLOCKS_PER_NODE), ROUTES / BLOCKS_PER_NODE - 1);
    const nodeIP = ip4(((192 << 24) | (168 << 16) | (node + 2)) >>> 0);
    const cidr = `${ip4(base + (i + 1) * 64)}/26`;
    const vtepIP = ip4(base + (node * BLOCKS_PER_NODE + 1) * 64);
    const vtepMAC = `66:00:00:00:${((node >> 8) & 255).toString(16).padStart(2, '0')}:${(node & 255).toString(16).padStart(2, '0')}`;
    if (nodes.length === node) nodes.push({ name: `n${node}`, ipv4: nodeIP, vtepIP, vtepMAC });
    entries.push(
      kind === 'direct'
        ? { cidr, node: `n${node}`, nodeIP, via: nodeIP, kind, pool: 'p' }
        : { cidr, node: `n${node}`, nodeIP, via: vtepIP, kind, device: 'vxlan.calico', vtepIP, vtepMAC, pool: 'p' },
    );
  }
  const shards = [];
  for (let s = 0; s * SHARD_SIZE < entries.length; s++) {
    shards.push(buildShard(`cluster-${s}`, entries.slice(s * SHARD_SIZE, (s + 1) * SHARD_SIZE), s === 0 ? nodes : []));
  }
  return {
    desired: buildNodeDesired({
      blocks: [{ cidr: '10.0.0.0/26', pool: 'p' }],
      tunnels:
        kind === 'vxlan'
          ? [
              {
                name: 'vxlan.calico',
                type: 'vxlan',
                family: 4,
                address: '10.0.0.0',
                mac: '66:00:00:00:ff:ff',
                parentAddress: '192.168.0.1',
              },
            ]
          : [],
      natOutgoing: { sourceCidrs: ['10.0.0.0/8'], allPoolCidrs: ['10.0.0.0/8'] },
      felix: { vxlanEnabled: kind === 'vxlan' },
    }),
    shards,
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const p90 = (xs: number[]) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * 0.9))] ?? NaN;
const ms = (x: number) => `${x.toFixed(1)} ms`;

export default async function run(): Promise<void> {
  if (process.getuid?.() !== 0) {
    console.log('agent bench skipped: needs root (network namespaces)');
    return;
  }
  const rows: [string, string, string, string][] = [];
  const load = (await import('node:os')).loadavg()[0] ?? 0;
  for (const kind of ['direct', 'vxlan'] as const) {
    const base = scenario(kind, false);
    const plus = scenario(kind, true);

    // Pure part: target + diff from empty, in memory.
    const pure: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      const t = computeKernelTarget({
        nodeName: 'self',
        desired: base.desired,
        shards: base.shards,
        env: { interfaces: [{ name: 'eth0', up: true, mtu: 1500, addresses: ['192.168.0.1'] }] },
        capabilities: { ipip: false },
      });
      diffKernel(emptyKernelState(), t);
      pure.push(performance.now() - t0);
    }

    const fromEmpty: number[] = [];
    const oneChange: number[] = [];
    const oneChangeReread: number[] = [];
    const noop: number[] = [];
    const floor: number[] = [];
    let lines = 0;
    for (let rep = 0; rep < 3; rep++) {
      const lab = await createLab();
      try {
        const ns = await lab.namespace('bench');
        await lab.exec(ns, ['ip', 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'peer0']);
        await lab.exec(ns, ['ip', 'link', 'set', 'peer0', 'up']);
        await lab.exec(ns, ['ip', 'addr', 'add', '192.168.0.1/16', 'dev', 'eth0']);
        await lab.exec(ns, ['ip', 'link', 'set', 'eth0', 'up']);
        const agent = createAgentSyncer({
          nodeName: 'self',
          dataplane: createLinuxDataplane({ namespace: { kind: 'netns', name: ns } }),
        });
        const first = await agent.syncOnce(base);
        if (first.errors.length > 0) throw new Error(`bench sync failed: ${first.message}`);
        fromEmpty.push(first.durationMs);
        lines = first.operations.ipLines + first.operations.bridgeLines;
        for (let i = 0; i < 10; i++) {
          const r = await agent.syncOnce(i % 2 === 0 ? plus : base);
          if (r.operations.ipLines !== 1 || r.operations.processes !== 1)
            throw new Error(`one change did not give one line: ${JSON.stringify(r.operations)} ${r.message}`);
          oneChange.push(r.durationMs);
        }
        for (let i = 0; i < 4; i++) {
          oneChangeReread.push((await agent.syncOnce(i % 2 === 0 ? plus : base, { reread: true })).durationMs);
        }
        for (let i = 0; i < 5; i++) noop.push((await agent.syncOnce(base)).durationMs);
        // The floor under any change: starting one `ip -batch` process that has nothing to do.
        for (let i = 0; i < 5; i++) {
          const t0 = performance.now();
          await runner.run(['ip', '-n', ns, '-batch', '-'], { input: '' });
          floor.push(performance.now() - t0);
        }
      } finally {
        await lab.cleanup();
      }
    }
    rows.push([`${kind}: target + diff (pure, 5k)`, ms(median(pure)), ms(p90(pure)), '']);
    rows.push([
      `${kind}: 5k routes from empty (${lines} lines)`,
      ms(median(fromEmpty)),
      ms(p90(fromEmpty)),
      `${(median(fromEmpty) / 100).toFixed(2)}× of 100 ms`,
    ]);
    rows.push([
      `${kind}: one-route change`,
      ms(median(oneChange)),
      ms(p90(oneChange)),
      `${(median(oneChange) / 5).toFixed(2)}× of 5 ms`,
    ]);
    rows.push([`${kind}: one-route change + kernel reread`, ms(median(oneChangeReread)), ms(p90(oneChangeReread)), '']);
    rows.push([`${kind}: no-op sync`, ms(median(noop)), ms(p90(noop)), '']);
    rows.push([`${kind}: floor: one empty ip -batch process`, ms(median(floor)), ms(p90(floor)), '']);
  }
  const w = rows.reduce((m, r) => Math.max(m, r[0].length), 0);
  console.log(`(1-minute load average at start: ${load.toFixed(1)}; process start-up dominates small changes)`);
  console.log(`${'case'.padEnd(w)}  ${'median'.padStart(9)}  ${'p90'.padStart(9)}  vs anchor`);
  for (const [name, med, p, anchor] of rows)
    console.log(`${name.padEnd(w)}  ${med.padStart(9)}  ${p.padStart(9)}  ${anchor}`);
}
