// Shared by ipam.test.ts and bench/ipam-apiserver.bench.ts: a control plane prepared for IPAM (CRDs, one IPPool,
// Nodes, a namespace whose pods the allocations name), allocator worker processes (ipam-allocator-worker.ts) with
// their JSON-line reports, one consistent read of the IPAM objects, Pods for live allocations, a GC pass as the
// operator runs it (ipam-sync.ts gc: planGc + executeGc from Nodes and Pods), `tabby ipam check` from dist, and the
// apiserver's own request counters for the IPAM kinds.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { BlockAffinityKind, IPAMBlockKind, IPAMHandleKind, IPPoolKind } from '../../src/api/index.js';
import {
  affinityFromSpec,
  allocationsOf,
  blockFromSpec,
  executeGc,
  handleFromSpec,
  planGc,
  type AllocationRecord,
  type BlockAffinityData,
  type BlockStore,
  type GcAction,
  type GcActionResult,
  type GcMemory,
  type IPAMBlockData,
  type IPAMHandleData,
  podInfos,
} from '../../src/ipam/index.js';
import {
  createKubeClient,
  kindResource,
  type KubeClient,
  type KubeObject,
  type ObjectList,
} from '../../src/kube/index.js';
import { runCommand, type ControlPlane, type ExecResult } from '../harness/index.js';

export const REPO = resolve(import.meta.dirname, '../..');
export const WORKER = join(REPO, 'e2e/integration/ipam-allocator-worker.ts');
export const TABBY_MAIN = join(REPO, 'dist/cli/main.js');

export interface IpamClusterOptions {
  nodes: readonly string[];
  namespace: string;
  poolCidr?: string;
  blockSize?: number;
}

/** CRDs, the namespace (with its `default` ServiceAccount, which pod admission requires), one pool, the Nodes. */
export async function prepareIpamCluster(cp: ControlPlane, o: IpamClusterOptions): Promise<KubeClient> {
  const crds = join(REPO, 'crds');
  const applied = await cp.kubectl(['apply', '-f', crds]);
  if (applied.code !== 0) throw new Error(`kubectl apply crds: ${applied.stderr}`);
  const established = await cp.kubectl(['wait', '--for=condition=Established', '--timeout=60s', '-f', crds]);
  if (established.code !== 0) throw new Error(`CRDs not established: ${established.stderr}`);
  const ns = await cp.kubectl(['apply', '-f', '-'], {
    input: `apiVersion: v1
kind: Namespace
metadata: {name: ${o.namespace}}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: default, namespace: ${o.namespace}}
automountServiceAccountToken: false
`,
  });
  if (ns.code !== 0) throw new Error(`namespace: ${ns.stderr}`);
  const client = createKubeClient({ source: { kubeconfigPath: cp.kubeconfigPath } });
  await client.resource(kindResource(IPPoolKind)).create({
    apiVersion: 'projectcalico.org/v3',
    kind: 'IPPool',
    metadata: { name: 'pool-a' },
    spec: {
      cidr: o.poolCidr ?? '10.244.0.0/16',
      blockSize: o.blockSize ?? 26,
      ipipMode: 'Never',
      vxlanMode: 'Never',
      natOutgoing: true,
      nodeSelector: 'all()',
    },
  });
  await createNodes(client, o.nodes);
  return client;
}

export async function createNodes(client: KubeClient, names: readonly string[]): Promise<void> {
  for (const name of names) {
    await client.nodes().create({ apiVersion: 'v1', kind: 'Node', metadata: { name } });
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Worker processes

export type WorkerMode = 'split' | 'calico';

export interface WorkerOptions {
  kubeconfig: string;
  nodes: readonly string[];
  /** Assignments per node. */
  count: number;
  mode: WorkerMode;
  concurrency?: number;
  releaseHalf?: boolean;
  prefix: string;
  namespace: string;
  waitGo?: boolean;
  quiet?: boolean;
}

export interface StoreCounts {
  reads: number;
  writes: number;
  conflicts: number;
}

export interface AssignerCounts {
  rounds: number;
  blockWrites: number;
  blockConflicts: number;
  handleWrites: number;
  claimsRequested: number;
}

export interface DoneEvent {
  ev: 'done';
  assigned: number;
  released: number;
  failed: number;
  assignMs: number;
  /** The worker's own CPU time while assigning. */
  assignCpuMs: number;
  releaseMs: number;
  store: StoreCounts;
  assignStore: StoreCounts;
  assigner?: AssignerCounts;
}

export interface Allocation {
  handle: string;
  ip: string;
  node: string;
  namespace: string;
  pod: string;
}

export type WorkerEvent =
  | { ev: 'ready'; pid: number }
  | ({ ev: 'assigned' } & Allocation)
  | { ev: 'released'; handle: string; ip: string }
  | { ev: 'failed' | 'releaseFailed'; handle: string; error: string }
  | { ev: 'claimFailed'; node: string; error: string }
  | { ev: 'progress'; assigned: number }
  | { ev: 'assignDone'; assigned: number; failed: number; ms: number }
  | DoneEvent
  | { ev: 'fatal'; message: string };

export interface Worker {
  readonly opts: WorkerOptions;
  readonly child: ChildProcess;
  /** Assignments reported and not reported released, by handle. */
  readonly live: Map<string, Allocation>;
  /** Every assignment ever reported, by handle. */
  readonly assigned: Map<string, Allocation>;
  readonly failures: string[];
  readonly ready: Promise<void>;
  /** Resolves with the final report; rejects when the process ends without one. */
  readonly done: Promise<DoneEvent>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Called for every event, after the maps above are updated. */
  onEvent?: (e: WorkerEvent) => void;
  go(): void;
  kill9(): void;
  stderr(): string;
}

export function workerArgs(o: WorkerOptions): string[] {
  return [
    `--kubeconfig=${o.kubeconfig}`,
    `--nodes=${o.nodes.join(',')}`,
    `--count=${o.count}`,
    `--mode=${o.mode}`,
    `--concurrency=${o.concurrency ?? 1}`,
    `--prefix=${o.prefix}`,
    `--namespace=${o.namespace}`,
    ...(o.releaseHalf ? ['--release-half'] : []),
    ...(o.waitGo ? ['--wait-go'] : []),
    ...(o.quiet ? ['--quiet'] : []),
  ];
}

/** `node --import tsx <worker>` (what `npx tsx` runs, without npx's own start-up). */
export function startWorker(opts: WorkerOptions): Worker {
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER, ...workerArgs(opts)], {
    cwd: REPO,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr = (stderr + c).slice(-20_000)));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) =>
    // 'close', not 'exit': by then stdout is drained, so a final report is never mistaken for a missing one.
    child.on('close', (code, signal) => res({ code, signal })),
  );
  let markReady: () => void = () => undefined;
  let markDone: (d: DoneEvent) => void = () => undefined;
  let finished = false;
  const ready = new Promise<void>((res) => (markReady = res));
  const done = new Promise<DoneEvent>((res, rej) => {
    markDone = res;
    void exited.then(({ code, signal }) => {
      if (!finished) {
        rej(new Error(`worker ${opts.prefix} ended (code ${code}, signal ${signal}) without a report:\n${stderr}`));
      }
    });
  });
  // A worker killed on purpose has no report; nobody waits on `done` then.
  done.catch(() => undefined);
  const w: Worker = {
    opts,
    child,
    live: new Map(),
    assigned: new Map(),
    failures: [],
    ready,
    done,
    exited,
    go: () => child.stdin!.write('go\n'),
    kill9: () => child.kill('SIGKILL'),
    stderr: () => stderr,
  };
  createInterface({ input: child.stdout! }).on('line', (line) => {
    let e: WorkerEvent;
    try {
      e = JSON.parse(line) as WorkerEvent;
    } catch {
      w.failures.push(`unparsable line: ${line}`);
      return;
    }
    switch (e.ev) {
      case 'ready':
        markReady();
        break;
      case 'assigned': {
        const a: Allocation = { handle: e.handle, ip: e.ip, node: e.node, namespace: e.namespace, pod: e.pod };
        w.assigned.set(e.handle, a);
        w.live.set(e.handle, a);
        break;
      }
      case 'released':
        w.live.delete(e.handle);
        break;
      case 'failed':
      case 'releaseFailed':
        w.failures.push(`${e.ev} ${e.handle}: ${e.error}`);
        break;
      case 'claimFailed':
        w.failures.push(`claim for ${e.node}: ${e.error}`);
        break;
      case 'fatal':
        w.failures.push(`fatal: ${e.message}`);
        break;
      case 'done':
        finished = true;
        markDone(e);
        break;
    }
    w.onEvent?.(e);
  });
  return w;
}

// ---------------------------------------------------------------------------------------------------------------
// Reading IPAM state

export interface IpamState {
  blocks: IPAMBlockData[];
  affinities: BlockAffinityData[];
  handles: IPAMHandleData[];
  /** Every allocated address, once per allocation (a duplicate shows as two records with one address). */
  allocations: AllocationRecord[];
}

export async function readIpamState(client: KubeClient): Promise<IpamState> {
  const valid = <T>(kind: string, r: ObjectList<T>): T[] => {
    if (r.invalid.length > 0) throw new Error(`invalid ${kind} stored: ${JSON.stringify(r.invalid)}`);
    return r.items;
  };
  const [blockList, affinityList, handleList] = await Promise.all([
    client.kind(IPAMBlockKind).list(),
    client.kind(BlockAffinityKind).list(),
    client.kind(IPAMHandleKind).list(),
  ]);
  const [blocks, affinities, handles] = [
    valid('IPAMBlock', blockList),
    valid('BlockAffinity', affinityList),
    valid('IPAMHandle', handleList),
  ];
  const b = blocks.map((x) => blockFromSpec(x.spec)).filter((x) => !x.deleted);
  return {
    blocks: b,
    affinities: affinities.map((x) => affinityFromSpec(x.spec)).filter((x) => !x.deleted),
    handles: handles.map((x) => handleFromSpec(x.spec)).filter((x) => !x.deleted),
    allocations: b.flatMap((x) => allocationsOf(x)),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Pods, GC, check

/** Creates a Pod per allocation (unstarted: no kubelet runs here), `lanes` requests at a time. */
export async function createPods(client: KubeClient, allocations: readonly Allocation[], lanes = 16): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: lanes }, async () => {
      while (next < allocations.length) {
        const a = allocations[next++]!;
        const pod: KubeObject = {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: a.pod, namespace: a.namespace },
          spec: {
            nodeName: a.node,
            automountServiceAccountToken: false,
            containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.10' }],
          },
        } as KubeObject;
        await client.pods().create(pod, { namespace: a.namespace });
      }
    }),
  );
}

export async function deletePods(client: KubeClient, pods: readonly { namespace: string; pod: string }[]) {
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < pods.length) {
        const p = pods[next++]!;
        await client.pods().delete(p.pod, { namespace: p.namespace, gracePeriodSeconds: 0 });
      }
    }),
  );
}

export interface GcPassResult {
  actions: GcAction[];
  results: GcActionResult[];
  memory: GcMemory;
}

/** One GC pass as the operator's ipam-sync runs it, from Nodes and Pods read now, at time `now`. */
export async function gcPass(
  client: KubeClient,
  store: BlockStore,
  now: number,
  memory: GcMemory,
  leakGracePeriodMs: number,
): Promise<GcPassResult> {
  const [nodes, podList] = await Promise.all([client.nodes().list(), client.pods().list()]);
  const pods = podInfos(podList.items);
  const plan = planGc(
    {
      blocks: await store.blocks.list(),
      affinities: await store.affinities.list(),
      handles: await store.handles.list(),
      nodes: new Set(nodes.items.map((n) => n.metadata.name)),
      pods,
      now,
      leakGracePeriodMs,
    },
    memory,
  );
  const results = await executeGc(store, plan.actions, now);
  return { actions: plan.actions, results, memory: plan.memory };
}

/** `tabby ipam check` from dist (run `npm run build` first). */
export async function ipamCheck(kubeconfig: string): Promise<ExecResult> {
  if (!existsSync(TABBY_MAIN)) throw new Error(`${TABBY_MAIN} is missing: run 'npm run build' first`);
  return runCommand(process.execPath, [TABBY_MAIN, 'ipam', 'check', '--kubeconfig', kubeconfig], {
    timeoutMs: 60_000,
  });
}

// ---------------------------------------------------------------------------------------------------------------
// The apiserver's request counters

export const IPAM_RESOURCES = ['ipamblocks', 'blockaffinities', 'ipamhandles'] as const;

export interface RequestCounts {
  /** verb → requests for IPAM kinds (WATCH counts watch starts). */
  byVerb: Map<string, number>;
  /** Answers with code 409 (CAS conflicts and AlreadyExists). */
  conflicts: number;
  total: number;
}

/** `apiserver_request_total` for the IPAM kinds, from `kubectl get --raw /metrics`. */
export async function ipamRequestCounts(cp: ControlPlane): Promise<RequestCounts> {
  const r = await cp.kubectl(['get', '--raw', '/metrics'], { timeoutMs: 60_000 });
  if (r.code !== 0) throw new Error(`kubectl get --raw /metrics: ${r.stderr}`);
  const out: RequestCounts = { byVerb: new Map(), conflicts: 0, total: 0 };
  for (const line of r.stdout.split('\n')) {
    if (!line.startsWith('apiserver_request_total{')) continue;
    const close = line.lastIndexOf('}');
    const labels = new Map<string, string>();
    for (const m of line.slice(line.indexOf('{') + 1, close).matchAll(/(\w+)="([^"]*)"/g)) labels.set(m[1]!, m[2]!);
    if (!(IPAM_RESOURCES as readonly string[]).includes(labels.get('resource') ?? '')) continue;
    const n = Number(line.slice(close + 1).trim());
    const verb = labels.get('verb') ?? '?';
    out.byVerb.set(verb, (out.byVerb.get(verb) ?? 0) + n);
    if (labels.get('code') === '409') out.conflicts += n;
    out.total += n;
  }
  return out;
}

export function requestDelta(after: RequestCounts, before: RequestCounts): RequestCounts {
  const byVerb = new Map<string, number>();
  for (const [verb, n] of after.byVerb) {
    const d = n - (before.byVerb.get(verb) ?? 0);
    if (d !== 0) byVerb.set(verb, d);
  }
  return { byVerb, conflicts: after.conflicts - before.conflicts, total: after.total - before.total };
}
