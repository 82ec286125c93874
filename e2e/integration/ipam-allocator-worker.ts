// An IPAM allocator as its own process, for the integration test (ipam.test.ts) and the apiserver benchmark
// (bench/ipam-apiserver.bench.ts): it performs pod assignments against a real kube-apiserver, optionally releases
// half of them, and reports on stdout as JSON lines. It may be killed -9 at any point: the store must stay
// consistent and GC must recover whatever it left half done.
//
// Run: node --import tsx e2e/integration/ipam-allocator-worker.ts --kubeconfig K --nodes n1,n2 --count N
//        --mode split|calico [--concurrency C] [--release-half] [--prefix P] [--namespace NS] [--wait-go] [--quiet]
// Modes:
// - split: Tabby's way. One AddressAssigner per node (the agent: assigns only in its node's blocks, group commit),
//   over the Kubernetes BlockStore reading from informer caches (IPAMBlock, BlockAffinity); blocks come from a
//   BlockClaimer (the operator's side, in this process for the test), which also pre-claims as the operator does
//   on every block change of the node. Each node's first block is claimed before `ready`, as the operator does when
//   a Node joins.
// - calico: Calico's way. One CalicoStyleAllocator over the Kubernetes BlockStore without caches: every assignment
//   lists affinities and reads blocks from the apiserver, claiming blocks itself.
// `--count` is per node; `--concurrency` is the number of assignments in flight per node (1 = one pod after the
// other). Handles are `k8s-pod-network.<prefix>-<node>-<i>`, pods `<prefix>-<node>-<i>` in `--namespace`, with
// Calico's attributes (namespace, pod, node, timestamp).
// Lines (field `ev`): ready, assigned {handle, ip, node, namespace, pod}, failed {handle, error}, progress
// {assigned} (with --quiet, instead of `assigned` lines), assignDone {assigned, failed, ms, cpuMs, store,
// assigner}, released {handle, ip}, releaseFailed, done {assigned, released, failed, assignMs, assignCpuMs,
// releaseMs, store, assignStore, assigner}, claimFailed {node, error}, fatal {message}. `cpuMs` is this process's
// CPU time while assigning; `store` counts the BlockStore's own requests (reads, writes, conflicts) — informer
// list+watch are not in it (the benchmark reads the apiserver's metrics for those).
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import {
  BlockAffinitySchema,
  IPAMBlockSchema,
  IPAMConfigurationKind,
  IPPoolKind,
  type BlockAffinity,
  type IPAMBlock,
  type IPAMConfiguration,
} from '../../src/api/index.js';
import {
  ATTR_NAMESPACE,
  ATTR_NODE,
  ATTR_POD,
  ATTR_TIMESTAMP,
  AddressAssigner,
  BlockClaimer,
  CalicoStyleAllocator,
  affinityIsConfirmed,
  hostAffinity,
  ipamConfigFromSpec,
  ipamPoolFrom,
  type AssignerStats,
  type IpAllocator,
  type IpamPool,
  type IpamView,
  type NodeInfo,
} from '../../src/ipam/index.js';
import { BLOCK_AFFINITIES, IPAM_BLOCKS, createKubeBlockStore } from '../../src/kube/kube-block-store.js';
import {
  NotFoundError,
  createInformer,
  createKubeClient,
  type Informer,
  type KubeClient,
} from '../../src/kube/index.js';

type Mode = 'split' | 'calico';

interface Options {
  kubeconfig: string;
  nodes: string[];
  count: number;
  mode: Mode;
  concurrency: number;
  releaseHalf: boolean;
  prefix: string;
  namespace: string;
  waitGo: boolean;
  quiet: boolean;
}

function options(): Options {
  const { values } = parseArgs({
    options: {
      kubeconfig: { type: 'string' },
      nodes: { type: 'string' },
      count: { type: 'string' },
      mode: { type: 'string', default: 'split' },
      concurrency: { type: 'string', default: '1' },
      'release-half': { type: 'boolean', default: false },
      prefix: { type: 'string', default: `w${process.pid}` },
      namespace: { type: 'string', default: 'ipam-test' },
      'wait-go': { type: 'boolean', default: false },
      quiet: { type: 'boolean', default: false },
    },
  });
  const need = (name: string, v: string | undefined): string => {
    if (v === undefined || v === '') throw new Error(`--${name} is required`);
    return v;
  };
  const int = (name: string, v: string | undefined): number => {
    const n = Number(need(name, v));
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got ${v}`);
    return n;
  };
  if (values.mode !== 'split' && values.mode !== 'calico') throw new Error(`--mode must be split or calico`);
  return {
    kubeconfig: need('kubeconfig', values.kubeconfig),
    nodes: need('nodes', values.nodes).split(','),
    count: int('count', values.count),
    mode: values.mode,
    concurrency: int('concurrency', values.concurrency),
    releaseHalf: values['release-half'],
    prefix: values.prefix,
    namespace: values.namespace,
    waitGo: values['wait-go'],
    quiet: values.quiet,
  };
}

function emit(line: Record<string, unknown>): void {
  // stdout is a pipe: writes are synchronous on Linux, so a line printed is a line the parent gets even after kill -9.
  process.stdout.write(JSON.stringify(line) + '\n');
}

/** Pools, IPAMConfiguration and Nodes, read once: the view is static for a run (the test changes none of them). */
async function readView(client: KubeClient): Promise<IpamView> {
  const pools: IpamPool[] = (await client.kind(IPPoolKind).list()).items.map((p) => ipamPoolFrom(p));
  let cfgSpec: IPAMConfiguration['spec'] | undefined;
  try {
    cfgSpec = (await client.kind(IPAMConfigurationKind).get('default')).spec;
  } catch (e) {
    if (!(e instanceof NotFoundError)) throw e;
  }
  const config = ipamConfigFromSpec(cfgSpec);
  const nodes = new Map<string, NodeInfo>();
  for (const n of (await client.nodes().list()).items) {
    nodes.set(n.metadata.name, { name: n.metadata.name, labels: (n.metadata.labels ?? {}) as Record<string, string> });
  }
  return { pools: () => pools, config: () => config, node: (name) => nodes.get(name) };
}

interface Allocators {
  allocatorFor(node: string): IpAllocator;
  assignerStats(): AssignerStats | undefined;
  stop(): Promise<void>;
}

async function splitAllocators(client: KubeClient, view: IpamView, nodes: readonly string[]) {
  const blocksInf: Informer<IPAMBlock> = createInformer({
    name: 'ipamblocks',
    kind: 'IPAMBlock',
    source: client.resource(IPAM_BLOCKS, IPAMBlockSchema).listWatch(),
    schema: IPAMBlockSchema,
  });
  const affInf: Informer<BlockAffinity> = createInformer({
    name: 'blockaffinities',
    kind: 'BlockAffinity',
    source: client.resource(BLOCK_AFFINITIES, BlockAffinitySchema).listWatch(),
    schema: BlockAffinitySchema,
  });
  blocksInf.start();
  affInf.start();
  if (!(await blocksInf.waitForSync()) || !(await affInf.waitForSync())) throw new Error('informers did not sync');
  const store = createKubeBlockStore(client, {
    fieldManager: 'ipam-worker',
    readers: { blocks: blocksInf.store, affinities: affInf.store },
  });
  const claimer = new BlockClaimer({ store, view, clock: Date.now, random: Math.random });
  const assigners = new Map(nodes.map((n) => [n, new AddressAssigner({ store, view, node: n, source: claimer })]));

  /** Hands the assigner the node's confirmed blocks it does not know yet (pre-claimed ones). */
  async function adoptNewBlocks(node: string): Promise<void> {
    const assigner = assigners.get(node)!;
    const known = new Set(assigner.ownBlocks());
    const confirmed = new Set(
      (await store.affinities.list())
        .filter((a) => a.value.node === node && affinityIsConfirmed(a.value))
        .map((a) => a.value.cidr),
    );
    for (const b of await store.blocks.list()) {
      const cidr = b.value.cidr;
      if (b.value.affinity === hostAffinity(node) && confirmed.has(cidr) && !known.has(cidr)) {
        assigner.observeBlock(cidr, b);
      }
    }
  }

  // The operator's per-node reconcile (claim, pre-claim, repair), run again whenever a block of the node changes;
  // changes during a pass coalesce into one more pass.
  const running = new Map<string, Promise<void>>();
  const dirty = new Set<string>();
  let stopped = false;
  function kick(node: string): Promise<void> {
    if (stopped) return Promise.resolve();
    const current = running.get(node);
    if (current !== undefined) {
      dirty.add(node);
      return current;
    }
    const pass = (async () => {
      do {
        dirty.delete(node);
        const results = await claimer.reconcile([node]);
        for (const r of results) {
          if (r.outcome === 'failed') emit({ ev: 'claimFailed', node, error: r.error.message });
        }
        await adoptNewBlocks(node);
      } while (dirty.has(node) && !stopped);
    })().finally(() => running.delete(node));
    running.set(node, pass);
    return pass;
  }
  blocksInf.addHandler({
    onAdd: (b) => onBlock(b),
    onUpdate: (_old, b) => onBlock(b),
  });
  function onBlock(b: IPAMBlock): void {
    const aff = b.spec.affinity;
    const node = aff?.startsWith('host:') ? aff.slice(5) : undefined;
    if (node !== undefined && assigners.has(node)) {
      kick(node).catch((e: unknown) => emit({ ev: 'claimFailed', node, error: (e as Error).message }));
    }
  }
  for (const n of nodes) await kick(n);

  const allocators: Allocators & { store: typeof store } = {
    store,
    allocatorFor: (node) => assigners.get(node)!,
    assignerStats() {
      const sum: AssignerStats = { rounds: 0, blockWrites: 0, blockConflicts: 0, handleWrites: 0, claimsRequested: 0 };
      for (const a of assigners.values()) {
        for (const k of Object.keys(sum) as (keyof AssignerStats)[]) sum[k] += a.stats[k];
      }
      return sum;
    },
    async stop() {
      stopped = true;
      await Promise.allSettled([...running.values()]);
      await Promise.all([blocksInf.stop(), affInf.stop()]);
    },
  };
  return allocators;
}

function calicoAllocators(client: KubeClient, view: IpamView) {
  const store = createKubeBlockStore(client, { fieldManager: 'ipam-worker' });
  const allocator = new CalicoStyleAllocator({ store, view, clock: Date.now, random: Math.random });
  const allocators: Allocators & { store: typeof store } = {
    store,
    allocatorFor: () => allocator,
    assignerStats: () => undefined,
    stop: async () => undefined,
  };
  return allocators;
}

function waitForGo(): Promise<void> {
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: process.stdin });
    rl.on('line', (line) => {
      if (line.trim() === 'go') {
        rl.close();
        resolve();
      }
    });
    rl.on('close', () => resolve());
    rl.on('error', reject);
  });
}

/** Runs `work(i)` for i in [0, n) with at most `lanes` in flight. */
async function inLanes(n: number, lanes: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(lanes, n) }, async () => {
      while (next < n) await work(next++);
    }),
  );
}

async function main(): Promise<void> {
  const opts = options();
  const client = createKubeClient({ source: { kubeconfigPath: opts.kubeconfig } });
  const view = await readView(client);
  for (const n of opts.nodes) if (view.node(n) === undefined) throw new Error(`node ${n} does not exist`);
  const allocs =
    opts.mode === 'split' ? await splitAllocators(client, view, opts.nodes) : calicoAllocators(client, view);
  const storeStats = () => ({ ...allocs.store.stats });
  emit({ ev: 'ready', pid: process.pid, mode: opts.mode, nodes: opts.nodes, setup: storeStats() });
  if (opts.waitGo) await waitForGo();

  const startStats = storeStats();
  const delta = (from: typeof startStats) => {
    const now = storeStats();
    return {
      reads: now.reads - from.reads,
      writes: now.writes - from.writes,
      conflicts: now.conflicts - from.conflicts,
    };
  };
  const live: { handle: string; ip: string; node: string }[] = [];
  let assigned = 0;
  let failed = 0;
  const total = opts.count * opts.nodes.length;
  const step = Math.max(1, Math.floor(total / 10));
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const cpuMs = () => {
    const c = process.cpuUsage(cpu0);
    return (c.user + c.system) / 1000;
  };
  await Promise.all(
    opts.nodes.map((node) =>
      inLanes(opts.count, opts.concurrency, async (i) => {
        const pod = `${opts.prefix}-${node}-${i}`;
        const handle = `k8s-pod-network.${pod}`;
        const attrs = {
          [ATTR_NAMESPACE]: opts.namespace,
          [ATTR_POD]: pod,
          [ATTR_NODE]: node,
          [ATTR_TIMESTAMP]: new Date().toISOString(),
        };
        try {
          const r = await allocs
            .allocatorFor(node)
            .autoAssign({ num4: 1, num6: 0, handleId: handle, attrs, node, use: 'Workload' });
          const ip = r.v4?.ips[0]?.split('/')[0];
          if (r.error !== undefined || ip === undefined) {
            throw new Error(r.error?.message ?? `no address: ${r.v4?.msgs.join('; ') ?? ''}`);
          }
          assigned++;
          live.push({ handle, ip, node });
          if (!opts.quiet) emit({ ev: 'assigned', handle, ip, node, namespace: opts.namespace, pod });
          else if (assigned % step === 0) emit({ ev: 'progress', assigned });
        } catch (e) {
          failed++;
          emit({ ev: 'failed', handle, error: (e as Error).message });
        }
      }),
    ),
  );
  const assignMs = performance.now() - t0;
  const assignCpuMs = cpuMs();
  const assignStore = delta(startStats);
  const assignerAfterAssign = allocs.assignerStats();
  emit({
    ev: 'assignDone',
    assigned,
    failed,
    ms: assignMs,
    cpuMs: assignCpuMs,
    store: assignStore,
    assigner: assignerAfterAssign,
  });

  let released = 0;
  let releaseMs = 0;
  if (opts.releaseHalf) {
    // Every second assignment of each node goes (a pod deleted: CNI DEL releases by handle).
    const victims = live.filter((x) => Number(x.handle.slice(x.handle.lastIndexOf('-') + 1)) % 2 === 1);
    const byNode = new Map<string, typeof victims>();
    for (const v of victims) byNode.set(v.node, [...(byNode.get(v.node) ?? []), v]);
    const t1 = performance.now();
    await Promise.all(
      [...byNode].map(([node, list]) =>
        inLanes(list.length, opts.concurrency, async (i) => {
          const v = list[i]!;
          try {
            await allocs.allocatorFor(node).releaseByHandle(v.handle);
            released++;
            if (!opts.quiet) emit({ ev: 'released', handle: v.handle, ip: v.ip });
          } catch (e) {
            failed++;
            emit({ ev: 'releaseFailed', handle: v.handle, error: (e as Error).message });
          }
        }),
      ),
    );
    releaseMs = performance.now() - t1;
  }
  emit({
    ev: 'done',
    assigned,
    released,
    failed,
    assignMs,
    assignCpuMs,
    releaseMs,
    store: delta(startStats),
    assignStore,
    assigner: allocs.assignerStats(),
  });
  await allocs.stop();
  client.close();
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    emit({ ev: 'fatal', message: e instanceof Error ? (e.stack ?? e.message) : String(e) });
    process.exit(1);
  },
);
