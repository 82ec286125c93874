// Operator at scale (issue 17), on a real etcd + kube-apiserver per size, with simulated agents:
//   - N Nodes with Calico's address annotation in four /16 subnets (no kubelets), one IPPool, VXLAN CrossSubnet
//     (four route views); the operator in this process (its writes counted under its client, its CPU and RSS read
//     from this process);
//   - N simulated agents in a forked process (bench/sim-agents.ts): each lists+watches its own NodeDataplane and its
//     view's RouteTable shards exactly as `tabby agent` does (field and label selectors, one watch each), and records
//     when each revision arrives and how many bytes its lists and watch events bring. Each writes its NodeDataplane's
//     status.applied and Programmed condition as the agent does after a sync (field manager tabby-agent, only when
//     they change), which the operator's route readiness gate reads; TABBY_BENCH_AGENT_STATUS=0 turns that off for
//     comparison (then no route gate ever opens, and every node stays pending in the gate). Simulated: no kernel, no
//     BIRD, programming succeeds at once; agents keep revisions only. Real: every request, watch and byte between them
//     and the apiserver.
// Scenarios, each timed from its change until every simulated agent holds the state the operator wrote (and, with
// agent status, has reported it and the operator has seen every report; a join also waits for the joining node's
// RoutesConverged=True, timed as "route gate open"); operator CPU is counted over that whole window:
//   node join, node delete (means of a few), pod churn with the agent's real pod IPAM on ten nodes (operator writes and
//   plan passes per pod, operator CPU), the pool's encapsulation change CrossSubnet → Always (every agent switches to
//   the new view: its whole table is delivered again — N² bytes in all, so it runs up to TABBY_BENCH_POOL_CHANGE_MAX
//   nodes), and the operator's RSS with 30 pods per node in its caches. Apiserver requests per second from its own
//   apiserver_request_total. Targets (issue 17) are printed with the measured/target ratio.
// TABBY_BENCH_OPERATOR_SIZES=1000 for one size; TABBY_BENCH_LOG_LEVEL=debug for the operator's log;
// TABBY_BENCH_SAMPLES joins and deletes per size (default 5); TABBY_BENCH_PROFILE=join for CPU profiles of the joins.
import { fork, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startControlPlane, type ControlPlane } from '../e2e/harness/index.js';
import {
  copyCounts,
  countingTransport,
  installCrds,
  newWriteCounts,
  nodeObject,
  poolObject,
  rawClients,
  writesBetween,
  type WriteCounts,
} from '../e2e/integration/operator-support.js';
import { createKubeClient, type KubeClient } from '../src/kube/index.js';
import { createTransport } from '../src/kube/transport.js';
import { createLogger } from '../src/log/logger.js';
import { settingsFromEnv } from '../src/operator/config.js';
import type { CacheName } from '../src/operator/caches.js';
import { createOperator, type Operator } from '../src/operator/operator.js';
import type { Converged, Message, Started } from './sim-agents.js';

const here = dirname(fileURLToPath(import.meta.url));
const SIZES = (process.env.TABBY_BENCH_OPERATOR_SIZES ?? '1000,5000').split(',').map(Number);
const POOL_CHANGE_MAX = Number(process.env.TABBY_BENCH_POOL_CHANGE_MAX ?? 1000);
/** Joins and deletes measured per size (TABBY_BENCH_SAMPLES): a periodic pass (IPAM GC) landing in one skews a mean of few. */
const SAMPLES = Number(process.env.TABBY_BENCH_SAMPLES ?? 5);
const SUBNETS = 4;
const POOL = 'bench-pool';
const PODS_PER_NODE = Number(process.env.TABBY_BENCH_PODS_PER_NODE ?? 30);
const CHURN = {
  perSecond: 100,
  seconds: Number(process.env.TABBY_BENCH_CHURN_SECONDS ?? 60),
  lifetimeMs: 10_000,
  nodes: 10,
};
const CONVERGE_CEILING_MS = 900_000;
/** The simulated agents write status.applied + Programmed as `tabby agent` does (TABBY_BENCH_AGENT_STATUS=0: not). */
const AGENT_STATUS = process.env.TABBY_BENCH_AGENT_STATUS !== '0';
/** TABBY_BENCH_SKIP=churn,pods leaves those scenarios out (a quick look at joins and deletes). */
const skipped = (scenario: string): boolean => (process.env.TABBY_BENCH_SKIP ?? '').split(',').includes(scenario);

const TARGETS = {
  joinCpuMs: 5,
  joinPlanWritesOverViews: 2,
  joinWrittenKiB: 16,
  joinDeliveredKiBPerAgent: 4,
  poolChangeP99S: 5,
  rssMiB: 512,
};

function nodeName(i: number): string {
  return `node-${String(i).padStart(4, '0')}`;
}

/** Node i in subnet i mod 4: 10.10x.y.z/16. */
function nodeAddress(i: number): string {
  const host = Math.floor(i / SUBNETS) + 10;
  return `10.${100 + (i % SUBNETS)}.${Math.floor(host / 250)}.${(host % 250) + 1}/16`;
}

async function inBatches<T>(items: readonly T[], width: number, fn: (x: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

// ---------------------------------------------------------------------------------------------------------------
// The simulated agents' process

interface Agents {
  ask<T>(m: Message, reply: string): Promise<T>;
  stop(): Promise<void>;
}

async function startAgents(): Promise<Agents> {
  const child: ChildProcess = fork(join(here, 'sim-agents.ts'), [], {
    execArgv: ['--import', 'tsx', '--max-old-space-size=8192'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const waiting = new Map<string, (m: unknown) => void>();
  child.on('message', (m: { type: string; message?: string }) => {
    if (m.type === 'error') {
      console.error(`sim-agents: ${m.message}`);
      for (const w of waiting.values()) w(m);
      return;
    }
    waiting.get(m.type)?.(m);
    waiting.delete(m.type);
  });
  const expect = (type: string) => new Promise<unknown>((resolve) => waiting.set(type, resolve));
  // A child that dies (a module that fails to load, a crash) must not leave the bench waiting for its answer.
  child.once('exit', (code) => {
    for (const w of waiting.values()) w({ type: 'error', message: `sim-agents exited (code ${code})` });
    waiting.clear();
  });
  const hello = (await expect('hello')) as { type: string; message?: string };
  if (hello.type === 'error') throw new Error(hello.message);
  return {
    async ask<T>(m: Message, reply: string): Promise<T> {
      const p = expect(reply);
      child.send(m);
      const r = (await p) as { type: string; message?: string };
      if (r.type === 'error') throw new Error(`sim-agents: ${r.message}`);
      return r as T;
    },
    async stop() {
      const done = new Promise((r) => child.once('exit', r));
      child.send({ type: 'stop' } satisfies Message);
      await done;
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Measuring

async function apiserverRequests(cp: ControlPlane): Promise<number> {
  const r = await cp.kubectl(['get', '--raw', '/metrics']);
  let n = 0;
  for (const line of r.stdout.split('\n')) {
    if (line.startsWith('apiserver_request_total{')) n += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return n;
}

/** CPU (user + system) a control-plane process has used so far, ms, from /proc (clock ticks of 10 ms); NaN if none. */
function processCpuMs(cp: ControlPlane, name: string): number {
  const proc = cp.processes.find((p) => p.name === name);
  if (proc === undefined) return NaN;
  const stat = readFileSync(`/proc/${proc.pid}/stat`, 'utf8');
  // Fields after the command name's closing parenthesis start at field 3; utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** What every agent must hold now: each node's NodeDataplane revision and each view's shard revisions (as planned). */
function expectedState(op: Operator): {
  ndp: Record<string, string>;
  shards: Record<string, Record<string, string>>;
  views: number;
} {
  const r = op.plannedRevisions();
  if (!r) throw new Error('the operator is not leading');
  const shards: Record<string, Record<string, string>> = {};
  for (const [view, m] of r.views) shards[view] = Object.fromEntries(m);
  return { ndp: Object.fromEntries(r.nodes), shards, views: r.views.size };
}

interface Sample {
  /** Operator CPU (user + system, every thread of the process) from the change until it settled, ms. */
  cpuMs: number;
  /** Time the operator's event loop was busy meanwhile (its JavaScript), ms. */
  busyMs: number;
  settledMs: number;
  writes: Record<string, number>;
  writtenBytes: number;
  planWrites: number;
  planBytes: number;
  converged: Converged;
  requestsPerSecond: number;
  /** CPU of kube-apiserver and etcd over the same window, ms. */
  apiserverCpuMs: number;
  etcdCpuMs: number;
}

/** Figures that may be missing (a gate that never opened comes back as null) as text. */
const ms = (x: number | null | undefined): string => (x === null || x === undefined ? 'n/a' : String(round(x)));

async function scenario(
  cp: ControlPlane,
  op: Operator,
  counts: WriteCounts,
  agents: Agents,
  admin: KubeClient,
  /** Makes the change; returns when the operator has seen it (resourceVersions per cache, or a condition). */
  change: () => Promise<{ seen?: Partial<Record<CacheName, string>>; until?: () => boolean } | void>,
  opts: {
    exclude?: string[];
    /** Nodes whose agent must see RoutesConverged=True before the scenario ends (with agent status). */
    gate?: string[];
    profile?: { name: string; dir: string };
  } = {},
): Promise<Sample> {
  trace('scenario: waiting for the operator to settle');
  await op.settled();
  const before = copyCounts(counts);
  const req0 = await apiserverRequests(cp);
  await agents.ask({ type: 'mark' }, 'marked');
  const stopProfile = opts.profile ? await startProfile(opts.profile.name, opts.profile.dir) : undefined;
  const cpu0 = process.cpuUsage();
  const elu0 = performance.eventLoopUtilization();
  const apiserverCpu0 = processCpuMs(cp, 'kube-apiserver');
  const etcdCpu0 = processCpuMs(cp, 'etcd');
  const t0 = performance.now();
  const seen = (await change()) ?? {};
  trace('scenario: changed; waiting for the operator to settle');
  while (seen.until && !seen.until()) await new Promise((r) => setTimeout(r, 10));
  await op.settled(seen.seen ? { seen: seen.seen } : {});
  const settledMs = performance.now() - t0;
  const want = expectedState(op);
  trace('scenario: settled; waiting for every agent');
  const converged = await agents.ask<Converged>(
    {
      type: 'await',
      ndp: want.ndp,
      shards: want.shards,
      ...(opts.exclude ? { exclude: opts.exclude } : {}),
      ...(opts.gate ? { gate: opts.gate } : {}),
      timeoutMs: CONVERGE_CEILING_MS,
    },
    'converged',
  );
  // The agents' status writes are operator work too (NodeDataplane events, the route gate): wait until it saw them.
  trace('scenario: agents there; waiting for the operator to take in their status');
  await op.settled(converged.statusRv !== '' ? { seen: { nodeDataplanes: converged.statusRv } } : {});
  const cpu = process.cpuUsage(cpu0);
  const busyMs = performance.eventLoopUtilization(elu0).active;
  const apiserverCpuMs = processCpuMs(cp, 'kube-apiserver') - apiserverCpu0;
  const etcdCpuMs = processCpuMs(cp, 'etcd') - etcdCpu0;
  await stopProfile?.();
  const seconds = (performance.now() - t0) / 1000;
  const req1 = await apiserverRequests(cp);
  const writes = writesBetween(before, counts);
  const planWrites = Object.entries(writes)
    .filter(([k]) => /nodedataplanes|routetables/.test(k))
    .reduce((s, [, n]) => s + n, 0);
  let planBytes = 0;
  for (const [k, v] of counts.byKind) {
    if (/nodedataplanes|routetables/.test(k)) planBytes += v.bytes - (before.byKind.get(k)?.bytes ?? 0);
  }
  return {
    cpuMs: (cpu.user + cpu.system) / 1000,
    busyMs,
    settledMs,
    writes,
    writtenBytes: counts.bytes - before.bytes,
    planWrites,
    planBytes,
    converged,
    requestsPerSecond: (req1 - req0) / seconds,
    apiserverCpuMs,
    etcdCpuMs,
  };
}

const trace = (s: string): void => {
  if (process.env.TABBY_BENCH_TRACE === '1') console.log(`    ${new Date().toISOString()} ${s}`);
};
const mean = (xs: number[]) => xs.reduce((a, x) => a + x, 0) / Math.max(1, xs.length);
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? 0 : (s[(s.length - 1) >> 1]! + s[s.length >> 1]!) / 2;
};
const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
/** Nearest-rank quantile of sorted figures; null when there are none. */
const quantile = (sorted: number[], q: number): number | null =>
  sorted.length === 0 ? null : sorted[Math.min(sorted.length - 1, Math.floor(q * (sorted.length - 1) + 0.5))]!;

/**
 * With TABBY_BENCH_PROFILE=<scenario>, a V8 CPU profile of this process (the operator) over that scenario, written
 * to the log folder (sampling every TABBY_BENCH_PROFILE_INTERVAL_US, default 200 µs); returns the function that ends it.
 */
let profiles = 0;
async function startProfile(scenario: string, dir: string): Promise<() => Promise<void>> {
  if (process.env.TABBY_BENCH_PROFILE !== scenario.replace(/-.*$/, '')) return async () => undefined;
  const session = new Session();
  session.connect();
  const post = (method: string, params?: object) =>
    new Promise<unknown>((resolve, reject) =>
      session.post(method, params ?? {}, (err, r) => (err ? reject(err) : resolve(r))),
    );
  await post('Profiler.enable');
  // A finer interval costs the operator more CPU than it measures (200 µs: several times the join's own CPU).
  await post('Profiler.setSamplingInterval', { interval: Number(process.env.TABBY_BENCH_PROFILE_INTERVAL_US ?? 200) });
  await post('Profiler.start');
  return async () => {
    const { profile } = (await post('Profiler.stop')) as { profile: unknown };
    const file = join(dir, `${scenario}-${++profiles}.cpuprofile`);
    writeFileSync(file, JSON.stringify(profile));
    session.disconnect();
    console.log(`  CPU profile of ${scenario}: ${file}`);
  };
}

function rssMiB(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().rss / 1048576;
}

// ---------------------------------------------------------------------------------------------------------------

interface SizeResult {
  nodes: number;
  lines: string[];
  rows: Record<string, string | number>[];
}

async function measure(n: number, logDir: string): Promise<SizeResult> {
  const lines: string[] = [];
  const rows: Record<string, string | number>[] = [];
  const say = (s: string) => {
    lines.push(s);
    console.log(`  [${n}] ${s}`);
  };
  const row = (what: string, figure: string | number, target?: string, ratio?: number) =>
    rows.push({
      nodes: n,
      what,
      figure,
      ...(target !== undefined ? { target } : {}),
      ...(ratio !== undefined ? { 'figure/target': round(ratio, 2) } : {}),
    });
  const cp = await startControlPlane({ name: `bench-op-${n}`, controllerManager: false });
  const admin = createKubeClient({ source: { kubeconfigPath: cp.kubeconfigPath } });
  const counts = newWriteCounts();
  const opClient = createKubeClient({
    transport: countingTransport(createTransport({ kubeconfigPath: cp.kubeconfigPath }), counts),
    fieldManager: 'tabby-operator',
  });
  const op = createOperator({
    client: opClient,
    logger: createLogger({
      component: 'operator',
      level: (process.env.TABBY_BENCH_LOG_LEVEL ?? 'warn') as 'warn',
      destination: createWriteStream(join(logDir, `operator-${n}.log`)),
    }),
    settings: settingsFromEnv({ CALICO_IPV4POOL_CREATE: 'false' }),
    driftCheckIntervalMs: 0,
  });
  let agents: Agents | undefined;
  try {
    await installCrds(cp);
    // No kube-controller-manager here: the ServiceAccount admission of Pods needs the namespace's default account.
    const sa = await cp.kubectl(['create', 'serviceaccount', 'default', '-n', 'default']);
    if (sa.code !== 0 && !sa.stderr.includes('AlreadyExists')) throw new Error(`serviceaccount: ${sa.stderr}`);
    const names: string[] = Array.from({ length: n }, (_, i) => nodeName(i));
    const t = performance.now();
    await inBatches(
      names.map((_, i) => i),
      32,
      (i) => admin.nodes().create(nodeObject({ name: nodeName(i), ipv4: nodeAddress(i) }) as never),
    );
    say(`${n} Nodes created in ${round((performance.now() - t) / 1000)} s`);
    const rss0 = rssMiB();
    await op.start();
    const t1 = performance.now();
    const cpu0 = process.cpuUsage();
    const pool = await rawClients(admin).pools.create(poolObject(POOL, '10.128.0.0/12', { vxlanMode: 'CrossSubnet' }));
    await op.settled({ seen: { ippools: String(pool.metadata.resourceVersion) } });
    const cpu1 = process.cpuUsage(cpu0);
    const planned = (performance.now() - t1) / 1000;
    say(
      `pool created → every node planned (blocks, VTEPs, routes written): ${round(planned)} s, ` +
        `operator CPU ${round((cpu1.user + cpu1.system) / 1e6)} s`,
    );
    row('pool create → all planned (s)', round(planned));

    agents = await startAgents();
    const started = await agents.ask<Started>(
      {
        type: 'start',
        kubeconfig: cp.kubeconfigPath,
        nodes: names,
        batch: 50,
        status: AGENT_STATUS,
        timeoutMs: CONVERGE_CEILING_MS,
      },
      'started',
    );
    say(
      `${started.agents} simulated agents listed and watching after ${round(started.ms / 1000)} s; ` +
        (AGENT_STATUS
          ? `every status reported after ${ms(started.reportedMs)} ms, every node's route gate open after ` +
            `${ms(started.gatesOpenMs)} ms (${started.gatesClosed} still closed)`
          : 'agent status off (TABBY_BENCH_AGENT_STATUS=0): no agent reports, no route gate opens'),
    );
    row('agent status writes (TABBY_BENCH_AGENT_STATUS)', AGENT_STATUS ? 'on' : 'off');

    // Joins: each into subnet 0. Its own agent starts as soon as the Node exists (a DaemonSet pod at its quickest) and
    // waits for its NodeDataplane; it is left out of the figures (its first list is not "a change") except the route
    // gate's, which opens only once it has reported too.
    const joins: Sample[] = [];
    for (let j = 0; j < SAMPLES; j++) {
      const name = nodeName(n + j * SUBNETS);
      const s = await scenario(
        cp,
        op,
        counts,
        agents,
        admin,
        async () => {
          const created = await admin.nodes().create(nodeObject({ name, ipv4: nodeAddress(n + j * SUBNETS) }));
          await agents!.ask({ type: 'add', nodes: [name] }, 'added');
          return { seen: { nodes: created.metadata.resourceVersion ?? '0' } };
        },
        {
          exclude: [name],
          gate: [name],
          profile: { name: `join-${n}`, dir: logDir },
        },
      );
      joins.push(s);
      names.push(name);
    }
    const views = expectedState(op).views;
    const joinPlanWrites = mean(joins.map((s) => s.planWrites));
    const joinCpu = mean(joins.map((s) => s.cpuMs));
    const perAgent = mean(joins.map((s) => s.converged.bytesPerAgentP50)) / 1024;
    const perAgentMax = Math.max(...joins.map((s) => s.converged.bytesPerAgentMax)) / 1024;
    const gateMs = joins.flatMap((s) => s.converged.gateMs);
    const gateOpened = gateMs.filter((x): x is number => x !== null).sort((a, b) => a - b);
    const gateText = AGENT_STATUS
      ? `p50 ${ms(quantile(gateOpened, 0.5))} p99 ${ms(quantile(gateOpened, 0.99))} ms` +
        (gateOpened.length < gateMs.length ? ` (${gateMs.length - gateOpened.length} never opened)` : '')
      : 'n/a (agent status off)';
    const statusWrites = mean(joins.map((s) => s.converged.statusWrites));
    say(
      `join (mean of ${SAMPLES}): operator CPU ${round(joinCpu)} ms (median ${round(median(joins.map((s) => s.cpuMs)))}, each: ${joins.map((s) => round(s.cpuMs)).join(', ')}; event loop busy ${round(mean(joins.map((s) => s.busyMs)))} ms), settled ${round(mean(joins.map((s) => s.settledMs)))} ms, ` +
        `writes ${JSON.stringify(joins[0]!.writes)}, every agent has the route p50 ${round(mean(joins.map((s) => s.converged.p50)))} ms ` +
        `p99 ${round(mean(joins.map((s) => s.converged.p99)))} ms; delivered per agent p50 ${round(perAgent, 2)} KiB ` +
        `(max ${round(perAgentMax, 2)}), all agents ${round(mean(joins.map((s) => s.converged.bytesTotal)) / 1048576, 2)} MiB; ` +
        `apiserver ${round(mean(joins.map((s) => s.requestsPerSecond)))} req/s; ` +
        `agent status writes ${round(statusWrites)} (failed ${joins.reduce((s, j) => s + j.converged.statusWriteFailures, 0)}` +
        `${
          joins
            .map((j) => j.converged.statusWriteError)
            .find((e) => e !== undefined)
            ?.replace(/^/, ': ') ?? ''
        }); ` +
        `route gate open after ${gateText}`,
    );
    row('join: operator CPU (ms)', round(joinCpu), `≤ ${TARGETS.joinCpuMs}`, joinCpu / TARGETS.joinCpuMs);
    row(
      'join: plan writes',
      round(joinPlanWrites),
      `≤ views + ${TARGETS.joinPlanWritesOverViews} = ${views + TARGETS.joinPlanWritesOverViews}`,
      joinPlanWrites / (views + TARGETS.joinPlanWritesOverViews),
    );
    const planKiB = mean(joins.map((s) => s.planBytes)) / 1024;
    const writtenKiB = mean(joins.map((s) => s.writtenBytes)) / 1024;
    row(
      'join: plan bytes written (KiB)',
      round(planKiB, 2),
      `≤ ${TARGETS.joinWrittenKiB}`,
      planKiB / TARGETS.joinWrittenKiB,
    );
    row('join: all bytes written incl. IPAM (KiB)', round(writtenKiB, 2));
    row(
      'join: delivered per agent p50 (KiB)',
      round(perAgent, 2),
      `≤ ${TARGETS.joinDeliveredKiBPerAgent}`,
      perAgent / TARGETS.joinDeliveredKiBPerAgent,
    );
    row('join: operator CPU median (ms)', round(median(joins.map((s) => s.cpuMs))));
    row(
      'join: every agent has it p50/p99 (ms)',
      `${round(mean(joins.map((s) => s.converged.p50)))}/${round(mean(joins.map((s) => s.converged.p99)))}`,
    );
    row('join: agent status writes', round(statusWrites));
    row(
      `join → RoutesConverged=True p50/p99 of ${SAMPLES} (ms)`,
      AGENT_STATUS ? `${ms(quantile(gateOpened, 0.5))}/${ms(quantile(gateOpened, 0.99))}` : 'n/a (status off)',
    );
    row('join: apiserver req/s', round(mean(joins.map((s) => s.requestsPerSecond))));
    row(
      'join: CPU of apiserver/etcd/sim agents (ms)',
      [
        median(joins.map((s) => s.apiserverCpuMs)),
        median(joins.map((s) => s.etcdCpuMs)),
        median(joins.map((s) => s.converged.cpuMs)),
      ]
        .map((x) => round(x, 0))
        .join('/'),
    );

    // Deletes of original nodes.
    const deletes: Sample[] = [];
    for (let j = 0; j < SAMPLES; j++) {
      const name = nodeName(j * 7 + 1);
      await agents.ask({ type: 'remove', nodes: [name] }, 'removed');
      deletes.push(
        await scenario(cp, op, counts, agents, admin, async () => {
          await admin.nodes().delete(name);
          return { until: () => op.plannedRevisions()?.nodes.has(name) === false };
        }),
      );
      names.splice(names.indexOf(name), 1);
    }
    say(
      `delete (mean of ${SAMPLES}): operator CPU ${round(mean(deletes.map((s) => s.cpuMs)))} ms, writes ${JSON.stringify(deletes[0]!.writes)}, ` +
        `every agent p50 ${round(mean(deletes.map((s) => s.converged.p50)))} ms p99 ${round(mean(deletes.map((s) => s.converged.p99)))} ms, ` +
        `delivered per agent p50 ${round(mean(deletes.map((s) => s.converged.bytesPerAgentP50)) / 1024, 2)} KiB; ` +
        `apiserver ${round(mean(deletes.map((s) => s.requestsPerSecond)))} req/s`,
    );
    row('delete: operator CPU (ms)', round(mean(deletes.map((s) => s.cpuMs))));
    row('delete: operator CPU median (ms)', round(median(deletes.map((s) => s.cpuMs))));
    row(
      'delete: every agent has it p50/p99 (ms)',
      `${round(mean(deletes.map((s) => s.converged.p50)))}/${round(mean(deletes.map((s) => s.converged.p99)))}`,
    );
    row('delete: agent status writes', round(mean(deletes.map((s) => s.converged.statusWrites))));
    row('delete: apiserver req/s', round(mean(deletes.map((s) => s.requestsPerSecond))));
    row('delete: plan writes', round(mean(deletes.map((s) => s.planWrites))));

    if (!skipped('churn')) {
      // Pod churn with the agent's real pod IPAM on ten nodes.
      const churnNodes = names.slice(0, CHURN.nodes);
      let churned: { started: number; failed: number; firstError?: string; achievedPerSecond: number } | undefined;
      const passes = async () => {
        const m = await op.metrics.registry.metrics();
        return m
          .split('\n')
          .filter((l) => l.startsWith('tabby_plan_passes_total'))
          .reduce((s, l) => s + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
      };
      const passes0 = await passes();
      const churn = await scenario(cp, op, counts, agents, admin, async () => {
        churned = await agents!.ask(
          {
            type: 'churn',
            nodes: churnNodes,
            perSecond: CHURN.perSecond,
            seconds: CHURN.seconds,
            lifetimeMs: CHURN.lifetimeMs,
          },
          'churned',
        );
      });
      const churnPasses = (await passes()) - passes0;
      const pods = churned?.started ?? 0;
      const opWrites = Object.values(churn.writes).reduce((s, x) => s + x, 0);
      say(
        `pod churn: ${pods} pods (${round(churned?.achievedPerSecond ?? 0)}/s achieved, ${churned?.failed ?? 0} failed` +
          `${churned?.firstError ? `, first: ${churned.firstError}` : ''}) on ${CHURN.nodes} nodes: ` +
          `operator writes ${JSON.stringify(churn.writes)} (${round(opWrites / Math.max(1, pods), 3)}/pod), plan passes ${churnPasses} ` +
          `(${round(churnPasses / Math.max(1, pods), 3)}/pod), operator CPU ${round(churn.cpuMs / 1000, 2)} s ` +
          `(${round(churn.cpuMs / Math.max(1, pods), 3)} ms/pod); apiserver ${round(churn.requestsPerSecond)} req/s`,
      );
      row('pod churn: operator writes per pod', round(opWrites / Math.max(1, pods), 3), '0 unless a block runs low');
      row('pod churn: plan passes per pod', round(churnPasses / Math.max(1, pods), 3), '0 unless a block runs low');
      row('pod churn: operator CPU per pod (ms)', round(churn.cpuMs / Math.max(1, pods), 3));
    }

    // The pool's encapsulation change: every agent changes view and lists its new view's whole table.
    if (n <= POOL_CHANGE_MAX) {
      const change = await scenario(cp, op, counts, agents, admin, async () => {
        const patched = await rawClients(admin).pools.mergePatch(POOL, { spec: { vxlanMode: 'Always' } });
        return { seen: { ippools: String(patched.metadata.resourceVersion) } };
      });
      say(
        `pool CrossSubnet → Always: operator settled ${round(change.settledMs / 1000, 2)} s (CPU ${round(change.cpuMs / 1000, 2)} s), ` +
          `${Object.values(change.writes).reduce((s, x) => s + x, 0)} writes; every agent holds it p50 ${round(change.converged.p50 / 1000, 2)} s ` +
          `p99 ${round(change.converged.p99 / 1000, 2)} s (unconverged: ${change.converged.unconverged.length}); ` +
          `delivered ${round(change.converged.bytesTotal / 1048576)} MiB in all, ${round(change.converged.bytesPerAgentP50 / 1024)} KiB per agent; ` +
          `apiserver ${round(change.requestsPerSecond)} req/s`,
      );
      row(
        'pool change: every agent has it p99 (s)',
        round(change.converged.p99 / 1000, 2),
        n === 1000 ? `≤ ${TARGETS.poolChangeP99S}` : undefined,
        n === 1000 ? change.converged.p99 / 1000 / TARGETS.poolChangeP99S : undefined,
      );
    } else {
      say(`pool change skipped at ${n} nodes (> TABBY_BENCH_POOL_CHANGE_MAX=${POOL_CHANGE_MAX}): see the header`);
    }

    if (!skipped('pods')) {
      // Operator RSS with pods in its caches.
      const cpu2 = process.cpuUsage();
      const loaded = await agents.ask<{ pods: number; ms: number }>(
        { type: 'pods', perNode: PODS_PER_NODE, nodes: names, width: 32 },
        'podsDone',
      );
      await op.settled();
      const cpu3 = process.cpuUsage(cpu2);
      const rss = rssMiB();
      say(
        `${loaded.pods} pods created with podIPs in ${round(loaded.ms / 1000)} s; operator CPU meanwhile ` +
          `${round((cpu3.user + cpu3.system) / 1e6, 2)} s; this process's RSS ${round(rss)} MiB (before the operator ` +
          `started: ${round(rss0)} MiB)`,
      );
      row(
        `RSS with ${loaded.pods} pods (MiB)`,
        round(rss),
        n === 5000 ? `≤ ${TARGETS.rssMiB}` : undefined,
        n === 5000 ? rss / TARGETS.rssMiB : undefined,
      );
    }
    return { nodes: n, lines, rows };
  } finally {
    await agents?.stop();
    await op.stop();
    opClient.close();
    admin.close();
    await cp.stop();
  }
}

export default async function run(): Promise<void> {
  const logDir = mkdtempSync(join(tmpdir(), 'tabby-bench-operator-'));
  const started = performance.now();
  const results: SizeResult[] = [];
  for (const n of SIZES) {
    results.push(await measure(n, logDir));
    console.log(`  ${n} nodes done (${Math.round((performance.now() - started) / 1000)} s so far)`);
  }
  console.table(results.flatMap((r) => r.rows));
  for (const r of results) for (const l of r.lines) console.log(`${r.nodes}: ${l}`);
  console.log(`total ${Math.round((performance.now() - started) / 1000)} s; operator logs in ${logDir}`);
}
