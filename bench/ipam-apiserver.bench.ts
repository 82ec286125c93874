// IPAM assignments against a real kube-apiserver v1.36.3 + etcd (e2e/harness), allocators as separate processes
// (e2e/integration/ipam-allocator-worker.ts), next to the figures issue 6 measured for Calico v3.31's own IPAM
// library on this machine.
//
// Modes:
// - calico: CalicoStyleAllocator — every assignment lists affinities and reads blocks from the apiserver, any
//   allocator claims and writes any block (what libcalico-go does in every CNI ADD).
// - split:  Tabby's agent (AddressAssigner, one per node, reads from informer caches, group commit: the requests of
//   a node in flight together cost one block write) with blocks from the operator's BlockClaimer (pre-claim). A
//   node's first block is claimed before the clock starts, as the operator does when a Node joins.
// "in flight" is how many assignments each allocator has outstanding (1 = one pod after the other, as Calico's
// figures were measured). One writer per block means one split allocator per node, so "4 allocators on 1 node"
// is, for split, one agent with 4 assignments in flight.
//
// Figures per scenario (IPAM objects are deleted between scenarios, so each starts from an empty pool):
// - assign/s: all assignments / the slowest allocator's time from "go" to its last assignment.
// - req/a: the apiserver's own apiserver_request_total for IPAMBlock/BlockAffinity/IPAMHandle (every verb but
//   WATCH: the informers' long-running watches are not per-assignment work) per assignment; store req/a is what
//   the allocators' BlockStore counted (reads + writes), writes/a its writes.
// - 409/a: the apiserver's Conflict/AlreadyExists answers per assignment (lost compare-and-swaps).
// - apisrv ms/a, etcd ms/a: CPU time of those processes per assignment (/proc); client ms/a: the allocator
//   processes' own CPU. On 2 shared cores the apiserver's CPU is the limit (issue 6).
// Run: npx tsx bench/run.ts ipam-apiserver
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { checkIpam } from '../src/ipam/check.js';
import { startControlPlane, type ControlPlane } from '../e2e/harness/index.js';
import type { KubeClient } from '../src/kube/index.js';
import {
  ipamRequestCounts,
  prepareIpamCluster,
  readIpamState,
  requestDelta,
  startWorker,
  type DoneEvent,
  type WorkerMode,
} from '../e2e/integration/ipam-support.js';

const NAMESPACE = 'bench';

interface Scenario {
  name: string;
  mode: WorkerMode;
  /** One entry per allocator process: the node it assigns for. */
  nodes: string[];
  inFlight: number;
  /** Assignments per allocator. */
  count: number;
  /** Calico v3.31's assignments/s for this scenario, from issue 6. */
  calico?: { perSecond: number };
}

interface Row {
  s: Scenario;
  assigned: number;
  perSecond: number;
  requestsPer: number;
  storeRequestsPer: number;
  writesPer: number;
  conflictsPer: number;
  apiserverMsPer: number;
  etcdMsPer: number;
  clientMsPer: number;
  verbs: string;
}

const CALICO_REQUESTS_PER_ASSIGNMENT = '12–24';

const FOUR_NODES = ['node-0', 'node-1', 'node-2', 'node-3'];
const scenarios: Scenario[] = [
  {
    name: '1 allocator, 1 node',
    mode: 'calico',
    nodes: ['node-0'],
    inFlight: 1,
    count: 50,
    calico: { perSecond: 9.7 },
  },
  {
    name: '1 allocator, 1 node',
    mode: 'split',
    nodes: ['node-0'],
    inFlight: 1,
    count: 200,
    calico: { perSecond: 9.7 },
  },
  {
    name: '1 allocator, 1 node',
    mode: 'split',
    nodes: ['node-0'],
    inFlight: 16,
    count: 800,
    calico: { perSecond: 9.7 },
  },
  {
    name: '4 allocators, 4 nodes',
    mode: 'calico',
    nodes: FOUR_NODES,
    inFlight: 1,
    count: 30,
    calico: { perSecond: 27.7 },
  },
  {
    name: '4 allocators, 4 nodes',
    mode: 'split',
    nodes: FOUR_NODES,
    inFlight: 1,
    count: 100,
    calico: { perSecond: 27.7 },
  },
  {
    name: '4 allocators, 4 nodes',
    mode: 'split',
    nodes: FOUR_NODES,
    inFlight: 16,
    count: 300,
    calico: { perSecond: 27.7 },
  },
  {
    name: '4 allocators, 1 node',
    mode: 'calico',
    nodes: ['node-0', 'node-0', 'node-0', 'node-0'],
    inFlight: 1,
    count: 30,
    calico: { perSecond: 12.5 },
  },
  {
    name: '4 allocators, 1 node',
    mode: 'split',
    nodes: ['node-0'],
    inFlight: 4,
    count: 400,
    calico: { perSecond: 12.5 },
  },
];

/** utime + stime of a process, in ms (clock ticks from /proc/<pid>/stat). */
function cpuMsOf(pid: number, ticksPerSecond: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start at state (field 3); utime and stime are 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) / ticksPerSecond) * 1000;
}

/** Deletes every IPAM object with one DELETE per kind (deletecollection; kubectl delete --all goes one by one). */
async function resetIpam(cp: ControlPlane): Promise<void> {
  for (const plural of ['ipamhandles', 'ipamblocks', 'blockaffinities']) {
    const r = await cp.kubectl(['delete', '--raw', `/apis/projectcalico.org/v3/${plural}`]);
    if (r.code !== 0) throw new Error(`deleting ${plural}: ${r.stderr}`);
  }
}

interface Bench {
  cp: ControlPlane;
  client: KubeClient;
  pids: { apiserver: number; etcd: number };
  /** Clock ticks per second of /proc/<pid>/stat. */
  tick: number;
}

async function measure(b: Bench, s: Scenario, id: string): Promise<Row> {
  const { cp, pids, tick } = b;
  const started = Date.now();
  await resetIpam(cp);
  const workers = s.nodes.map((node, i) =>
    startWorker({
      kubeconfig: cp.kubeconfigPath,
      nodes: [node],
      count: s.count,
      mode: s.mode,
      concurrency: s.inFlight,
      prefix: `${id}-${i}`,
      namespace: NAMESPACE,
      waitGo: true,
      quiet: true,
    }),
  );
  await Promise.all(workers.map((w) => w.ready));
  const before = await ipamRequestCounts(cp);
  const cpu0 = { apiserver: cpuMsOf(pids.apiserver, tick), etcd: cpuMsOf(pids.etcd, tick) };
  for (const w of workers) w.go();
  const reports: DoneEvent[] = await Promise.all(workers.map((w) => w.done));
  const cpu1 = { apiserver: cpuMsOf(pids.apiserver, tick), etcd: cpuMsOf(pids.etcd, tick) };
  const requests = requestDelta(await ipamRequestCounts(cp), before);
  const failures = workers.flatMap((w) => w.failures);
  if (failures.length > 0) throw new Error(`${s.name} ${s.mode}: ${failures.slice(0, 5).join('; ')}`);
  const assigned = reports.reduce((n, r) => n + r.assigned, 0);
  // The result must be right, not only fast: every assignment held once, handles agreeing with blocks.
  const check = checkIpam(await readIpamState(b.client));
  if (check.summary.errors > 0 || check.summary.allocations !== assigned) {
    throw new Error(
      `${s.name} ${s.mode}: ${check.summary.errors} check errors, ${check.summary.allocations} allocations held for ${assigned} assigned`,
    );
  }
  process.stderr.write(
    `${s.name}, ${s.mode}, ${s.inFlight} in flight: ${assigned} assignments (${Date.now() - started} ms with set-up)\n`,
  );
  const sum = (f: (r: DoneEvent) => number) => reports.reduce((n, r) => n + f(r), 0);
  const nonWatch = [...requests.byVerb].filter(([verb]) => verb !== 'WATCH');
  return {
    s,
    assigned,
    perSecond: (assigned / Math.max(...reports.map((r) => r.assignMs))) * 1000,
    requestsPer: nonWatch.reduce((n, [, c]) => n + c, 0) / assigned,
    storeRequestsPer: sum((r) => r.assignStore.reads + r.assignStore.writes) / assigned,
    writesPer: sum((r) => r.assignStore.writes) / assigned,
    conflictsPer: requests.conflicts / assigned,
    apiserverMsPer: (cpu1.apiserver - cpu0.apiserver) / assigned,
    etcdMsPer: (cpu1.etcd - cpu0.etcd) / assigned,
    clientMsPer: sum((r) => r.assignCpuMs) / assigned,
    verbs: nonWatch
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([verb, c]) => `${verb} ${(c / assigned).toFixed(2)}`)
      .join(', '),
  };
}

function fmt(n: number, digits = 2): string {
  return n >= 100 ? Math.round(n).toString() : n.toFixed(digits);
}

export default async function run(): Promise<void> {
  const tick = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  const cp = await startControlPlane({ name: 'ipam-bench', controllerManager: false });
  let client: KubeClient | undefined;
  try {
    client = await prepareIpamCluster(cp, { nodes: ['node-0', 'node-1', 'node-2', 'node-3'], namespace: NAMESPACE });
    const pid = (name: string) => {
      const p = cp.processes.find((x) => x.name === name);
      if (p === undefined) throw new Error(`no ${name} process`);
      return p.pid;
    };
    const bench: Bench = { cp, client, pids: { apiserver: pid('kube-apiserver'), etcd: pid('etcd') }, tick };
    // Warm-up: the apiserver's first requests for these kinds and the allocators' first runs are not measured.
    await measure(bench, { ...scenarios[2]!, count: 200 }, 'warm');
    await measure(bench, { ...scenarios[0]!, count: 10 }, 'warmc');
    const rows: Row[] = [];
    for (const [i, s] of scenarios.entries()) rows.push(await measure(bench, s, `s${i}`));

    const load = loadavg().map((x) => x.toFixed(1));
    console.log(
      `kube-apiserver v1.36.3 + etcd 3.6.16 here (load average now ${load.join(' ')} on ${cpus().length} cores);\n` +
        `"vs calico-mode": against this run's calico row of the same scenario (same load);\n` +
        `"Calico v3.31": issue 6's figures for Calico's own library on this machine (measured when it was less loaded)\n`,
    );
    const header = [
      'scenario'.padEnd(22),
      'mode'.padEnd(7),
      'in flight'.padStart(9),
      'assigns'.padStart(7),
      'assign/s'.padStart(9),
      'vs calico-mode'.padStart(14),
      'Calico v3.31/s'.padStart(14),
      'req/a'.padStart(6),
      'store req/a'.padStart(11),
      'writes/a'.padStart(8),
      '409/a'.padStart(6),
      'apisrv ms/a'.padStart(11),
      'etcd ms/a'.padStart(9),
      'client ms/a'.padStart(11),
    ];
    console.log(header.join(' '));
    for (const r of rows) {
      const ref = r.s.calico?.perSecond;
      const same = rows.find((x) => x.s.name === r.s.name && x.s.mode === 'calico');
      console.log(
        [
          r.s.name.padEnd(22),
          r.s.mode.padEnd(7),
          String(r.s.inFlight).padStart(9),
          String(r.assigned).padStart(7),
          fmt(r.perSecond, 1).padStart(9),
          (same === undefined || same === r ? '-' : `x${fmt(r.perSecond / same.perSecond, 1)}`).padStart(14),
          (ref === undefined ? '-' : fmt(ref, 1)).padStart(14),
          fmt(r.requestsPer).padStart(6),
          fmt(r.storeRequestsPer).padStart(11),
          fmt(r.writesPer).padStart(8),
          fmt(r.conflictsPer, 3).padStart(6),
          fmt(r.apiserverMsPer).padStart(11),
          fmt(r.etcdMsPer).padStart(9),
          fmt(r.clientMsPer).padStart(11),
        ].join(' '),
      );
    }
    console.log(
      `\nCalico v3.31 (issue 6): ${CALICO_REQUESTS_PER_ASSIGNMENT} API requests per assignment, 0.62 conflicts per ` +
        'assignment with 4 allocators on one node.',
    );
    console.log('Requests per assignment by verb (apiserver counters, WATCH excluded):');
    for (const r of rows) {
      console.log(`  ${r.s.name.padEnd(22)} ${r.s.mode.padEnd(7)} ${String(r.s.inFlight).padStart(2)}: ${r.verbs}`);
    }
  } finally {
    client?.close();
    await cp.stop();
  }
}
