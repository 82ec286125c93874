// CNI plugin latency: ADD and DEL of 200 pods on one node, each a full plugin execution as a runtime does it
// (the installed launcher → node → dist/cni/main.js, config on stdin, CNI_* in the environment), so process start
// is included. The node's IPAM is the real allocator behind the agent's socket (in-memory store) for the main rows;
// the last rows repeat ADD and DEL against the agent as it runs on a node — its pod IPAM over a real kube-apiserver,
// the operator (its own process) claiming blocks — where each ADD reads the pod and namespace and writes the block
// and the handle. All of it shares this machine's cores with the plugin processes.
// Needs root and `npm run build`. Reference rows: a bare `node -e ''` start (the floor for any node-based plugin) and VERSION (the
// plugin's start-up with its imports, no work). Aim (issue 10): ADD p99 ≤ 100 ms.
import { readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import {
  CNI_MAIN,
  NETWORK,
  addNetns,
  cleanup,
  installPlugin,
  makeCniDirs,
  prerequisitesMissing,
  runProcess,
  startTestAgent,
  uniquePrefix,
} from '../e2e/integration/cni-support.js';
import { workloadInterfaceName } from '../src/net/index.js';
import { createPodIpam, type PodIpam } from '../src/agent/pod-ipam.js';
import { buildNodeDesired } from '../src/agent/test-support/desired-builder.js';
import { freePort, startControlPlane } from '../e2e/harness/index.js';
import {
  type OperatorProcess,
  eventually,
  fileLogger,
  installCrds,
  logFile,
  nodeObject,
  poolObject,
  rawClients,
  spawnOperator,
} from '../e2e/integration/operator-support.js';
import { createKubeClient } from '../src/kube/index.js';

const PODS = 200;

/**
 * CPU time (ms) of all reaped descendants so far: /proc/self/stat cutime + cstime. Plugin runs nest (launcher →
 * node → ip/nsenter), and each parent waits for its children, so everything one ADD spends is counted — a figure
 * that, unlike wall time, does not grow with the machine's load.
 */
function childCpuMs(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After the command name: state is field 3; cutime and cstime are fields 16 and 17 (1-based) → indexes 13, 14.
  return ((Number(fields[13]) + Number(fields[14])) * 1000) / 100;
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

function row(name: string, xs: number[], cpuMs: number, extra = ''): string {
  const s = [...xs].sort((a, b) => a - b);
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const f = (v: number) => v.toFixed(1).padStart(8);
  return `${name.padEnd(28)} ${String(xs.length).padStart(5)} ${f(quantile(s, 0.5))} ${f(quantile(s, 0.99))} ${f(mean)} ${f(s[s.length - 1]!)} ${f(cpuMs / xs.length)}  ${extra}`;
}

/** Runs `ops` and returns their wall times and the CPU all of them used. */
async function measured(
  ops: (() => Promise<number>)[],
  parallel = 1,
): Promise<{ ms: number[]; cpu: number; wall: number }> {
  const cpu0 = childCpuMs();
  const t0 = performance.now();
  const ms: number[] = [];
  for (let i = 0; i < ops.length; i += parallel)
    ms.push(...(await Promise.all(ops.slice(i, i + parallel).map((op) => op()))));
  return { ms, cpu: childCpuMs() - cpu0, wall: performance.now() - t0 };
}

async function timed(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  input: string,
): Promise<[number, string, string]> {
  const t = performance.now();
  const r = await runProcess(cmd, args, env, input);
  const ms = performance.now() - t;
  if (r.code !== 0) throw new Error(`${cmd} failed (${r.code}): ${r.stdout}${r.stderr}`);
  return [ms, r.stdout, r.stderr];
}

/** The plugin's own phase timings (TABBY_CNI_TRACE=1 copies its "pod plumbed" line to stderr). */
function phases(stderr: string): Record<string, number> | undefined {
  for (const line of stderr.split('\n')) {
    if (!line.includes('"pod plumbed"')) continue;
    return (JSON.parse(line) as { ms?: Record<string, number> }).ms;
  }
  return undefined;
}

/**
 * kube-apiserver + etcd, the operator as its own process (as it runs, on another node, in a cluster), one Node and
 * pool, and the agent's pod IPAM serving `socketPath` in this process.
 */
async function realAgent(socketPath: string): Promise<{ socketPath: string; stop(): Promise<void> }> {
  const cp = await startControlPlane({ name: 'cni-bench' });
  const log = logFile('cni-bench');
  const client = createKubeClient({ source: { kubeconfigPath: cp.kubeconfigPath }, fieldManager: 'tabby-agent' });
  let operator: OperatorProcess | undefined;
  let ipam: PodIpam | undefined;
  const stop = async () => {
    await ipam?.stop();
    await operator?.stop();
    client.close();
    await cp.stop();
  };
  try {
    await installCrds(cp);
    await client.nodes().create(nodeObject({ name: 'bench-node', ipv4: '10.0.0.11/24' }));
    await rawClients(client).pools.create(poolObject('bench-pool', '10.78.0.0/16'));
    operator = spawnOperator({
      kubeconfig: cp.kubeconfigPath,
      identity: 'cni-bench-operator',
      metricsPort: await freePort(),
    });
    ipam = createPodIpam({
      client,
      nodeName: 'bench-node',
      socketPath,
      logger: fileLogger(log),
      // A planned node without encapsulation on a 1500-byte host: pods get MTU 1500.
      desired: () => buildNodeDesired(),
      hostMtu: () => 1500,
    });
    await ipam.start();
    // A node has its first block from the operator when it joins, long before its pods: time pods, not the join.
    await eventually('the node to have a block', async () => {
      const out = await cp.kubectl(['get', 'ipamblocks.projectcalico.org', '-o', 'jsonpath={.items[*].spec.affinity}']);
      return out.stdout.split(' ').includes('host:bench-node');
    });
  } catch (e) {
    await stop();
    throw e;
  }
  return { socketPath, stop };
}

export default async function run(): Promise<void> {
  const missing = prerequisitesMissing();
  if (missing !== undefined) {
    console.log(`cni bench skipped: ${missing}`);
    return;
  }
  const prefix = uniquePrefix('b');
  const dirs = makeCniDirs(prefix);
  const hostIfs = new Set<string>();
  const agent = await startTestAgent({
    socketPath: dirs.socketPath,
    node: 'bench-node',
    pools: [{ name: 'bench-pool', cidr: '10.77.0.0/16', blockSize: 26 }],
  });
  try {
    installPlugin(dirs);
    const plugin = join(dirs.binDir, 'tabby-cni');
    const conf = JSON.stringify({
      cniVersion: '1.0.0',
      name: NETWORK,
      type: 'tabby-cni',
      ipam: { type: 'tabby-ipam' },
      agent_socket: dirs.socketPath,
    });
    const netns: string[] = [];
    for (let i = 0; i < PODS; i++) netns.push(await addNetns(`${prefix}-${i}`));
    const env = (cmd: string, i: number): NodeJS.ProcessEnv => ({
      CNI_COMMAND: cmd,
      CNI_CONTAINERID: `${prefix}c${i}`,
      CNI_NETNS: netns[i],
      CNI_IFNAME: 'eth0',
      CNI_PATH: dirs.binDir,
      CNI_ARGS: `K8S_POD_NAMESPACE=bench;K8S_POD_NAME=pod-${i}`,
      TABBY_CNI_TRACE: '1',
    });
    const phase: Record<string, number[]> = { start: [], ipam: [], plumb: [] };

    const load0 = loadavg()[0]!;
    const bare = await measured(
      [...Array(20)].map(() => async () => (await timed(process.execPath, ['-e', ''], {}, ''))[0]),
    );
    const version = await measured(
      [...Array(20)].map(
        () => async () => (await timed(plugin, [], { CNI_COMMAND: 'VERSION' }, '{"cniVersion":"1.0.0"}'))[0],
      ),
    );
    const addresses = new Set<string>();
    const addOp = (i: number) => async () => {
      hostIfs.add(workloadInterfaceName('bench', `pod-${i}`));
      const [ms, out, err] = await timed(plugin, [], env('ADD', i), conf);
      const ip = (JSON.parse(out) as { ips: { address: string }[] }).ips[0]?.address;
      if (ip !== undefined) addresses.add(ip);
      const p = phases(err);
      for (const k of Object.keys(phase)) if (p?.[k] !== undefined) phase[k]!.push(p[k]);
      return ms;
    };
    const delOp = (i: number) => async () => (await timed(plugin, [], env('DEL', i), conf))[0];
    const ids = [...Array(PODS).keys()];
    const add = await measured(ids.map(addOp));
    const distinct = addresses.size;
    const seqPhases = Object.entries(phase).map(
      ([k, v]) =>
        `${k} ${quantile(
          [...v].sort((a, b) => a - b),
          0.5,
        ).toFixed(1)}`,
    );
    const del = await measured(ids.map(delOp));
    // The same ADD/DEL in parallel batches of 8, as a node starting many pods at once sees it.
    const batch = 8;
    const parAdd = await measured(ids.map(addOp), batch);
    const parDel = await measured(ids.map(delOp), batch);
    const load1 = loadavg()[0]!;

    console.log(
      `CNI plugin latency, ${PODS} pods on one node (process start included: launcher → node ${process.version}); ` +
        `${cpus().length} CPUs, load average ${load0.toFixed(1)} → ${load1.toFixed(1)}`,
    );
    const f = (h: string) => h.padStart(8);
    console.log(
      `${'operation'.padEnd(28)} ${'n'.padStart(5)} ${f('p50 ms')} ${f('p99 ms')} ${f('mean')} ${f('max')} ${f('cpu ms')}`,
    );
    console.log(row('node -e "" (floor)', bare.ms, bare.cpu));
    console.log(row('VERSION (plugin start-up)', version.ms, version.cpu));
    console.log(row('ADD sequential', add.ms, add.cpu, `distinct addresses ${distinct}/${PODS}`));
    console.log(
      `${''.padEnd(28)} p50 inside the plugin (ms): ${seqPhases.join(', ')} (start = process start + imports)`,
    );
    console.log(row('DEL sequential', del.ms, del.cpu));
    console.log(
      row(`ADD ${batch} in parallel`, parAdd.ms, parAdd.cpu, `${((PODS / parAdd.wall) * 1000).toFixed(0)} pods/s`),
    );
    console.log(
      row(`DEL ${batch} in parallel`, parDel.ms, parDel.cpu, `${((PODS / parDel.wall) * 1000).toFixed(0)} pods/s`),
    );
    const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
    const addP99 = quantile(sorted(add.ms), 0.99);
    console.log(
      `ADD p99 / aim (100 ms): ${(addP99 / 100).toFixed(2)}   ADD p50 / node floor p50: ` +
        `${(quantile(sorted(add.ms), 0.5) / quantile(sorted(bare.ms), 0.5)).toFixed(2)}   ` +
        `ADD cpu / node floor cpu: ${(add.cpu / PODS / (bare.cpu / 20)).toFixed(2)}`,
    );

    // The agent as deployed: its pod IPAM against a real apiserver, the operator claiming blocks.
    const real = await realAgent(join(dirs.root, 'real.sock'));
    try {
      const realConf = JSON.stringify({ ...JSON.parse(conf), agent_socket: real.socketPath });
      const realEnv = (cmd: string, i: number) => ({ ...env(cmd, i), CNI_CONTAINERID: `${prefix}r${i}` });
      const realAdd = await measured(
        ids.map((i) => async () => (await timed(plugin, [], realEnv('ADD', i), realConf))[0]),
      );
      const realDel = await measured(
        ids.map((i) => async () => (await timed(plugin, [], realEnv('DEL', i), realConf))[0]),
      );
      console.log(row('ADD sequential, real agent', realAdd.ms, realAdd.cpu, 'pod IPAM over a real apiserver'));
      console.log(row('DEL sequential, real agent', realDel.ms, realDel.cpu));
      const p99 = quantile(sorted(realAdd.ms), 0.99);
      console.log(
        `ADD p99 real agent / aim (100 ms): ${(p99 / 100).toFixed(2)}   real agent / in-memory ADD p50: ` +
          `${(quantile(sorted(realAdd.ms), 0.5) / quantile(sorted(add.ms), 0.5)).toFixed(2)}`,
      );
    } finally {
      await real.stop();
    }
    console.log(`plugin entry: ${CNI_MAIN}`);
  } finally {
    await cleanup({ hostIfs, netnsPrefix: `${prefix}-`, dirs, agent });
    rmSync(dirs.root, { recursive: true, force: true });
  }
}
