// IPAM allocation benchmark, in memory: Tabby's split (operator claims blocks, each node's agent assigns only in
// its own blocks with group commit) against Calico's way (every allocator claims and assigns anywhere, reading the
// store on every call), with 1, 4 and 8 concurrent allocators.
//
// Two store models:
// - "none": the in-memory store as is — CPU cost of the allocator itself (allocations/s).
// - "yield": every store operation first yields to the event loop (setImmediate), as a network round trip does, so
//   concurrent allocators interleave their reads and compare-and-swap writes as they would against an API server.
//   CAS conflicts and store operations per assignment are measured here.
// "requests/assign" counts every store call (reads + writes + refused writes); "@500 req/s" projects the
// assignment rate an API server that serves ~500 requests/s (issue 6: kube-apiserver on this machine) would allow —
// the physical limit once the allocator's own CPU is negligible.
// Run: npx tsx bench/run.ts ipam
import { checkIpam } from '../src/ipam/check.js';
import { InMemoryBlockStore, storeReads, storeWrites } from '../src/ipam/in-memory-block-store.js';
import { type AllocatorMode, harness, nodes, testPool } from '../src/ipam/test-fixtures.js';

interface Row {
  scenario: string;
  mode: AllocatorMode;
  store: 'none' | 'yield';
  assignments: number;
  perSecond: number;
  readsPer: number;
  writesPer: number;
  conflictsPer: number;
  requestsPer: number;
}

const API_SERVER_REQUESTS_PER_SECOND = 500;

async function scenario(
  name: string,
  mode: AllocatorMode,
  storeModel: 'none' | 'yield',
  workers: number,
  nodeCount: number,
  total: number,
): Promise<Row> {
  const store = new InMemoryBlockStore(
    storeModel === 'yield' ? { hooks: { before: () => new Promise<void>((r) => setImmediate(r)) } } : {},
  );
  const names = Array.from({ length: nodeCount }, (_, i) => `node-${i}`);
  const h = harness(mode, {
    pools: [testPool('pool', '10.0.0.0/16')],
    nodes: nodes(...names),
    store,
    config: { maxBlocksPerHost: 200 },
  });
  const perWorker = Math.floor(total / workers);
  let failures = 0;
  store.resetStats();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: workers }, async (_, w) => {
      const node = names[w % nodeCount]!;
      const alloc = h.allocator(node);
      for (let i = 0; i < perWorker; i++) {
        const r = await alloc.autoAssign({
          num4: 1,
          num6: 0,
          handleId: `k8s-pod-network.w${w}-${i}`,
          attrs: { node, namespace: 'bench', pod: `w${w}-${i}` },
          node,
          use: 'Workload',
        });
        if (r.error !== undefined || r.v4?.ips.length !== 1) failures++;
      }
    }),
  );
  const ms = performance.now() - t0;
  const done = perWorker * workers;
  const s = store.snapshot();
  const check = checkIpam({ blocks: s.blocks, affinities: s.affinities, handles: s.handles });
  if (failures > 0 || check.summary.errors > 0 || check.summary.allocations !== done) {
    throw new Error(`${name} ${mode}: ${failures} failed assignments, ${check.summary.errors} check errors`);
  }
  const st = store.stats;
  return {
    scenario: name,
    mode,
    store: storeModel,
    assignments: done,
    perSecond: (done / ms) * 1000,
    readsPer: storeReads(st) / done,
    writesPer: storeWrites(st) / done,
    conflictsPer: st.conflicts / done,
    requestsPer: (storeReads(st) + storeWrites(st) + st.conflicts) / done,
  };
}

function fmt(n: number, digits = 2): string {
  return n >= 100 ? Math.round(n).toString() : n.toFixed(digits);
}

export default async function run(): Promise<void> {
  const cases: [string, number, number][] = [
    ['1 allocator, 1 node', 1, 1],
    ['4 allocators, 4 nodes', 4, 4],
    ['4 allocators, 1 node', 4, 1],
    ['8 allocators, 8 nodes', 8, 8],
    ['8 allocators, 1 node', 8, 1],
  ];
  // Warm-up: the first runs pay for JIT compilation of both allocators; measure only after it.
  for (const [name, workers, nodeCount] of cases) {
    for (const mode of ['split', 'calico'] as const) await scenario(name, mode, 'none', workers, nodeCount, 400);
  }
  const rows: Row[] = [];
  for (const storeModel of ['none', 'yield'] as const) {
    for (const [name, workers, nodeCount] of cases) {
      for (const mode of ['split', 'calico'] as const) {
        rows.push(await scenario(name, mode, storeModel, workers, nodeCount, 2000));
      }
    }
  }
  console.log(
    [
      'store'.padEnd(6),
      'scenario'.padEnd(24),
      'mode'.padEnd(7),
      'assign/s'.padStart(9),
      'reads/a'.padStart(8),
      'writes/a'.padStart(9),
      'CAS-conf/a'.padStart(11),
      'requests/a'.padStart(11),
      `@${API_SERVER_REQUESTS_PER_SECOND}req/s`.padStart(11),
    ].join(' '),
  );
  for (const r of rows) {
    console.log(
      [
        r.store.padEnd(6),
        r.scenario.padEnd(24),
        r.mode.padEnd(7),
        fmt(r.perSecond).padStart(9),
        fmt(r.readsPer).padStart(8),
        fmt(r.writesPer).padStart(9),
        fmt(r.conflictsPer, 3).padStart(11),
        fmt(r.requestsPer).padStart(11),
        fmt(API_SERVER_REQUESTS_PER_SECOND / r.requestsPer).padStart(11),
      ].join(' '),
    );
  }
  console.log('\nsplit vs calico (same scenario):');
  for (const storeModel of ['none', 'yield'] as const) {
    for (const [name] of cases) {
      const split = rows.find((r) => r.store === storeModel && r.scenario === name && r.mode === 'split')!;
      const calico = rows.find((r) => r.store === storeModel && r.scenario === name && r.mode === 'calico')!;
      console.log(
        `  ${storeModel.padEnd(6)} ${name.padEnd(24)} assign/s x${fmt(split.perSecond / calico.perSecond)}` +
          `  requests/assign ${fmt(split.requestsPer)} vs ${fmt(calico.requestsPer)}` +
          `  CAS conflicts/assign ${fmt(split.conflictsPer, 3)} vs ${fmt(calico.conflictsPer, 3)}`,
      );
    }
  }
}
