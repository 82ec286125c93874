// Planner benchmarks (issue 7): full plan at 5,000 nodes × 1 block and at 2,000 nodes × 4 blocks in 3 pools over 20
// subnets, and one node joining an already planned cluster (incremental). Prints time, heap retained by the plan,
// peak RSS, and the ratio to the targets (≤ 250 ms full at 5,000 nodes, ≤ 5 ms per join, ≤ 256 MB).
// Nothing here materialises N² routes: only the shared per-view shards and per-node desired state are built.
import { IncrementalPlanner } from '../src/plan/incremental-planner.js';
import { planCluster } from '../src/plan/pipeline.js';
import type { ClusterSnapshot, SnapshotBlock, SnapshotNode } from '../src/plan/snapshot.js';
import { block, node, pool, snapshot } from '../src/plan/snapshot-builder.js';

const TARGET_FULL_MS = 250;
const TARGET_JOIN_MS = 5;
const TARGET_MB = 256;

function gc(): void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) g();
}

function mb(bytes: number): number {
  return Math.round((bytes / 1048576) * 10) / 10;
}

function v4(n: number): string {
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/** 5,000 nodes in one /16, one IPIP Always pool, one /26 each: one view. */
function oneBlockCluster(nodes: number): ClusterSnapshot {
  const ns: SnapshotNode[] = [];
  const bs: SnapshotBlock[] = [];
  for (let i = 0; i < nodes; i++) {
    const name = `node-${String(i).padStart(5, '0')}`;
    const blockBase = (10 << 24) | (64 << 16) | (i * 64);
    ns.push(node(name, `${v4((172 << 24) | (16 << 16) | (i + 10))}/16`, { ipip: v4(blockBase) }));
    bs.push(block(`${v4(blockBase)}/26`, name));
  }
  return snapshot({ nodes: ns, blocks: bs, pools: [pool('default-ipv4-ippool', '10.64.0.0/10', { ipip: 'Always' })] });
}

/**
 * 2,000 nodes over 20 /24 subnets; pools: IPIP Always, VXLAN CrossSubnet, no-encap; 4 blocks per node
 * (2 in the VXLAN pool). The CrossSubnet pool makes one view per subnet.
 */
function multiPoolCluster(nodes: number, subnets: number): ClusterSnapshot {
  const ns: SnapshotNode[] = [];
  const bs: SnapshotBlock[] = [];
  for (let i = 0; i < nodes; i++) {
    const name = `node-${String(i).padStart(5, '0')}`;
    const subnet = i % subnets;
    const host = Math.floor(i / subnets) + 10;
    const ipip = (10 << 24) | (i * 64);
    const vx1 = (11 << 24) | (i * 128);
    const vx2 = vx1 + 64;
    const plain = (12 << 24) | (i * 64);
    ns.push(node(name, `192.168.${subnet}.${host}/24`, { ipip: v4(ipip), vxlan: v4(vx1) }));
    bs.push(block(`${v4(ipip)}/26`, name), block(`${v4(vx1)}/26`, name), block(`${v4(vx2)}/26`, name));
    bs.push(block(`${v4(plain)}/26`, name));
  }
  return snapshot({
    nodes: ns,
    blocks: bs,
    pools: [
      pool('ipip', '10.0.0.0/8', { ipip: 'Always' }),
      pool('vxlan', '11.0.0.0/8', { vxlan: 'CrossSubnet' }),
      pool('plain', '12.0.0.0/8'),
    ],
  });
}

interface Row {
  scenario: string;
  nodes: number;
  routes: number;
  views: number;
  shards: number;
  ms: number;
  cpuMs: number;
  coldMs: number;
  coldCpuMs: number;
  heapMB: number;
  rssMB: number;
  target: string;
}

function full(scenario: string, s: ClusterSnapshot, target?: number): Row {
  // A warm-up run so the JIT is not measured. Then the best of five back-to-back runs ("warm": the heap as an
  // operator has it after reading its caches), and one run right after a forced full GC ("cold": V8 has shrunk the
  // young generation, so nearly every object of the plan is copied by scavenges once more).
  planCluster(s);
  let best = Infinity;
  let bestCpu = Infinity;
  let plan: ReturnType<typeof planCluster> | undefined;
  for (let r = 0; r < 5; r++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    plan = planCluster(s);
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(c0);
    best = Math.min(best, ms);
    bestCpu = Math.min(bestCpu, (cpu.user + cpu.system) / 1000);
  }
  plan = undefined;
  gc();
  const before = process.memoryUsage().heapUsed;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  plan = planCluster(s);
  const cold = performance.now() - t0;
  const coldCpu = process.cpuUsage(c0);
  gc();
  const heap = process.memoryUsage().heapUsed - before;
  const views = new Set([...plan.routeTables.values()].map((t) => t.view)).size;
  let routes = 0;
  for (const t of plan.routeTables.values()) routes += t.entries.length;
  return {
    scenario,
    nodes: s.nodes.length,
    routes,
    views,
    shards: plan.routeTables.size,
    ms: Math.round(best * 10) / 10,
    cpuMs: Math.round(bestCpu * 10) / 10,
    coldMs: Math.round(cold * 10) / 10,
    coldCpuMs: Math.round(((coldCpu.user + coldCpu.system) / 1000) * 10) / 10,
    heapMB: mb(heap),
    rssMB: mb(process.memoryUsage().rss),
    target:
      target === undefined
        ? '-'
        : `${(best / target).toFixed(2)}× of ${target} ms (cold ${(cold / target).toFixed(2)}×)`,
  };
}

function joins(scenario: string, s: ClusterSnapshot, count: number): Row {
  const planner = new IncrementalPlanner(s);
  const t: number[] = [];
  const cpu: number[] = [];
  let touched = 0;
  for (let j = 0; j < count; j++) {
    const i = s.nodes.length + j;
    const name = `joiner-${j}`;
    const blockBase = (10 << 24) | (96 << 16) | (j * 64);
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const d = planner.apply([
      {
        kind: 'node',
        name,
        node: node(name, `${v4((172 << 24) | (16 << 16) | (i + 10))}/16`, { ipip: v4(blockBase) }),
      },
      { kind: 'block', cidr: `${v4(blockBase)}/26`, block: block(`${v4(blockBase)}/26`, name) },
    ]);
    t.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
    touched += d.changedNodes.length + d.changedRouteTables.length;
  }
  t.sort((a, b) => a - b);
  cpu.sort((a, b) => a - b);
  const median = t[Math.floor(t.length / 2)] ?? 0;
  const p95 = t[Math.floor(t.length * 0.95)] ?? 0;
  const plan = planner.plan();
  return {
    scenario: `${scenario} (median; p95 ${p95.toFixed(2)} ms; ${(touched / count).toFixed(1)} objects written/join)`,
    nodes: plan.nodes.size,
    routes: [...plan.routeTables.values()].reduce((n, r) => n + r.entries.length, 0),
    views: new Set([...plan.routeTables.values()].map((r) => r.view)).size,
    shards: plan.routeTables.size,
    ms: Math.round(median * 100) / 100,
    cpuMs: Math.round((cpu[Math.floor(cpu.length / 2)] ?? 0) * 100) / 100,
    coldMs: 0,
    coldCpuMs: 0,
    heapMB: 0,
    rssMB: mb(process.memoryUsage().rss),
    target: `${(median / TARGET_JOIN_MS).toFixed(2)}× of ${TARGET_JOIN_MS} ms`,
  };
}

export default async function run(): Promise<void> {
  if (!(globalThis as { gc?: () => void }).gc) {
    console.log('(run with node --expose-gc, as `npm run bench` does, for exact heap figures)');
  }
  const rows: Row[] = [];
  const big = oneBlockCluster(5000);
  rows.push(full('full: 5,000 nodes × 1 block, IPIP', big, TARGET_FULL_MS));
  rows.push(full('full: 2,000 nodes × 4 blocks, 3 pools, 20 subnets', multiPoolCluster(2000, 20)));
  rows.push(joins('join: 1 node into 5,000', big, 200));
  console.table(rows);
  console.log(
    'ms = wall clock, best of 5 warm runs (median for joins); cpuMs = process CPU time (GC threads included); ' +
      'coldMs/coldCpuMs = one run right after a forced full GC; heapMB = heap the plan retains.',
  );
  const peak = Math.max(...rows.map((r) => r.rssMB));
  console.log(`peak RSS ${peak} MB (${(peak / TARGET_MB).toFixed(2)}× of ${TARGET_MB} MB)`);
}
