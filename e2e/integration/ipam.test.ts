// IPAM against a real kube-apiserver + etcd, with allocators as separate processes (ipam-allocator-worker.ts):
// 1. 4 allocator processes on 8 nodes (2 each) assign concurrently, then each releases half; `tabby ipam check`
//    finds nothing wrong, no address was ever handed out twice, and the store holds exactly the addresses the
//    workers report live — each under the handle and pod they were given for.
// 2. A Calico-style allocator assigning for the same node as the agent, in the same blocks: the agent's cached
//    versions go stale, its writes lose compare-and-swap races and are retried; still no address is held twice.
// 3. An allocator killed -9 mid-run (while a Calico-style allocator works on another node): everything it reported
//    is still held, what it left half done (addresses assigned but never reported, handle counts raised before a
//    block write, a claim cut short) is recovered by GC after the leak grace period, `ipam check` is clean, and a
//    restarted allocator for the same nodes carries on.
// 4. Deleting a Node (and its pods, as Kubernetes' pod GC does): one GC pass releases its addresses, handles,
//    affinities and blocks, and `ipam check` is clean.
// 5. The cached Kubernetes BlockStore, when another writer deleted an object it wrote last: its next write finds the
//    object gone and the one after re-creates it (read-your-writes must not keep showing the deleted write).
//
// Scale: the issue asks for 4 × 2,500 allocations; on this shared 2-core machine that takes minutes of apiserver
// CPU (and as many Pod objects), so the default is 4 × 500 (250 per node, 8 in flight per node).
// TABBY_IPAM_TEST_PER_WORKER=2500 runs the full size (1,250 per node fits the 20-block cap of /26 blocks;
// the first test's time limit grows with the size).
// Needs dist/ (npm run build) for `tabby ipam check`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startControlPlane, type ControlPlane } from '../harness/index.js';
import {
  BlockAffinityKind,
  IPAMBlockKind,
  IPAMHandleSchema,
  type BlockAffinity,
  type IPAMBlock,
  type IPAMHandle,
} from '../../src/api/index.js';
import { adjustHandle } from '../../src/ipam/handles.js';
import {
  affinityKey,
  emptyGcMemory,
  handleKey,
  hostAffinity,
  nodeViewByLists,
  type BlockAffinityData,
  type GcMemory,
  type NodeBlocks,
} from '../../src/ipam/index.js';
import { createInformer, type KubeClient } from '../../src/kube/index.js';
import {
  BY_NODE_INDEX,
  IPAM_HANDLES,
  affinityNodeIndex,
  blockNodeIndex,
  createKubeBlockStore,
} from '../../src/kube/kube-block-store.js';
import {
  createNodes,
  createPods,
  deletePods,
  gcPass,
  ipamCheck,
  prepareIpamCluster,
  readIpamState,
  startWorker,
  type Allocation,
  type IpamState,
  type Worker,
} from './ipam-support.js';

const PER_WORKER = Number(process.env.TABBY_IPAM_TEST_PER_WORKER ?? 500);
const WORKERS = 4;
const NODES = Array.from({ length: 8 }, (_, i) => `node-${i}`);
const NODES_PER_WORKER = NODES.length / WORKERS;
const PER_NODE = Math.floor(PER_WORKER / NODES_PER_WORKER);
const IN_FLIGHT = 8;
const NAMESPACE = 'ipam-test';
const LEAK_GRACE_MS = 60_000;
const SCALED_TIMEOUT_MS = 170_000 * Math.max(1, PER_WORKER / 500);

interface CheckSummary {
  code: number;
  output: string;
  allocations: number;
  errors: number;
  warnings: number;
}

async function check(cp: ControlPlane): Promise<CheckSummary> {
  const r = await ipamCheck(cp.kubeconfigPath);
  const m = /checked \d+ blocks, \d+ affinities, \d+ handles, (\d+) allocations: (\d+) errors, (\d+) warnings/.exec(
    r.stdout,
  );
  if (m === null) throw new Error(`tabby ipam check printed no summary (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  return {
    code: r.code,
    output: r.stdout + r.stderr,
    allocations: Number(m[1]),
    errors: Number(m[2]),
    warnings: Number(m[3]),
  };
}

/** address → `handle pod@node` as the store holds it, and addresses held more than once. */
function held(state: IpamState): { byAddress: Map<string, string>; duplicates: string[] } {
  const byAddress = new Map<string, string>();
  const duplicates: string[] = [];
  for (const a of state.allocations) {
    const desc = `${a.handleId ?? '(no handle)'} ${a.attrs['namespace']}/${a.attrs['pod']}@${a.attrs['node']}`;
    if (byAddress.has(a.address)) duplicates.push(`${a.address}: ${byAddress.get(a.address)} and ${desc}`);
    byAddress.set(a.address, desc);
  }
  return { byAddress, duplicates };
}

function expected(allocations: Iterable<Allocation>): Map<string, string> {
  const out = new Map<string, string>();
  for (const a of allocations) out.set(a.ip, `${a.handle} ${a.namespace}/${a.pod}@${a.node}`);
  return out;
}

function sorted(m: Map<string, string>): [string, string][] {
  return [...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

async function finish(w: Worker) {
  const d = await w.done;
  const exit = await w.exited;
  expect(w.failures, `worker ${w.opts.prefix}`).toEqual([]);
  expect(exit.code).toBe(0);
  return d;
}

describe('IPAM against a real apiserver, allocators as processes', () => {
  let cp: ControlPlane;
  let client: KubeClient;
  /** Every allocation that should be held now (reported live by a worker), by handle. */
  const live = new Map<string, Allocation>();
  const workers: Worker[] = [];

  beforeAll(async () => {
    // No kube-controller-manager: the test plays pod GC itself, and the namespace's ServiceAccount is created here.
    cp = await startControlPlane({ name: 'ipam', controllerManager: false });
    client = await prepareIpamCluster(cp, { nodes: NODES, namespace: NAMESPACE });
  });

  afterAll(async () => {
    for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) w.kill9();
    client?.close();
    await cp?.stop();
  });

  it(
    `${WORKERS} allocators × ${PER_WORKER} on ${NODES.length} nodes, release half: check clean, every address accounted for`,
    async () => {
      const phase = Array.from({ length: WORKERS }, (_, i) =>
        startWorker({
          kubeconfig: cp.kubeconfigPath,
          nodes: NODES.slice(i * NODES_PER_WORKER, (i + 1) * NODES_PER_WORKER),
          count: PER_NODE,
          mode: 'split',
          concurrency: IN_FLIGHT,
          releaseHalf: true,
          prefix: `w${i}`,
          namespace: NAMESPACE,
          waitGo: true,
        }),
      );
      workers.push(...phase);
      await Promise.all(phase.map((w) => w.ready));
      const t0 = Date.now();
      for (const w of phase) w.go();
      const reports = await Promise.all(phase.map(finish));
      const ms = Date.now() - t0;
      const total = PER_NODE * NODES.length;
      console.log(
        `${total} assignments + ${total / 2} releases by ${WORKERS} processes in ${ms} ms; per worker: ` +
          reports.map((r) => `${Math.round((r.assigned / r.assignMs) * 1000)}/s`).join(', '),
      );
      for (const r of reports) {
        expect(r.assigned).toBe(PER_NODE * NODES_PER_WORKER);
        expect(r.released).toBe(Math.floor(PER_NODE / 2) * NODES_PER_WORKER);
      }

      // No address was handed out twice: all assignments precede every release of the same node, and nodes never
      // share blocks here, so every address reported assigned must be distinct.
      const everAssigned = phase.flatMap((w) => [...w.assigned.values()]);
      expect(everAssigned).toHaveLength(total);
      expect(new Set(everAssigned.map((a) => a.ip)).size).toBe(total);

      for (const w of phase) for (const [h, a] of w.live) live.set(h, a);
      expect(live.size).toBe(total - NODES.length * Math.floor(PER_NODE / 2));

      // The store holds exactly the live addresses, each under the handle, pod and node it was reported with.
      const state = await readIpamState(client);
      const { byAddress, duplicates } = held(state);
      expect(duplicates).toEqual([]);
      expect(sorted(byAddress)).toEqual(sorted(expected(live.values())));
      for (const b of state.blocks) expect(b.affinity).toMatch(/^host:node-[0-7]$/);

      // The pods exist (unstarted): `tabby ipam check` judges every allocation against them.
      await createPods(client, [...live.values()]);
      const c = await check(cp);
      expect(c.output).not.toMatch(/^error:/m);
      expect(c).toMatchObject({ code: 0, errors: 0, warnings: 0, allocations: live.size });
    },
    SCALED_TIMEOUT_MS,
  );

  it('a Calico-style allocator writing the same blocks as the agent: lost CAS races are retried, never a duplicate', async () => {
    // Breaks "one writer per block" on purpose: the agent's cached versions go stale under the other writer, so its
    // writes conflict and the store must re-read; safety may not depend on the split.
    const shared = 'node-11';
    await createNodes(client, [shared]);
    const agent = startWorker({
      kubeconfig: cp.kubeconfigPath,
      nodes: [shared],
      count: 200,
      mode: 'split',
      concurrency: IN_FLIGHT,
      releaseHalf: true,
      prefix: 'sa',
      namespace: NAMESPACE,
      waitGo: true,
    });
    const intruder = startWorker({
      kubeconfig: cp.kubeconfigPath,
      nodes: [shared],
      count: 40,
      mode: 'calico',
      releaseHalf: true,
      prefix: 'sc',
      namespace: NAMESPACE,
      waitGo: true,
    });
    workers.push(agent, intruder);
    await Promise.all([agent.ready, intruder.ready]);
    agent.go();
    intruder.go();
    const [a, b] = [await finish(agent), await finish(intruder)];
    expect([a.assigned, a.released, b.assigned, b.released]).toEqual([200, 100, 40, 20]);
    const conflicts = a.store.conflicts + b.store.conflicts;
    console.log(
      `shared node: ${a.store.conflicts} conflicts for the agent (${a.assigner?.blockConflicts} block writes lost), ` +
        `${b.store.conflicts} for the Calico-style allocator`,
    );
    expect(conflicts).toBeGreaterThan(0);
    // Released addresses may be handed out again, but never while held: the live ones are distinct.
    for (const w of [agent, intruder]) for (const [h, x] of w.live) live.set(h, x);
    const state = await readIpamState(client);
    const { byAddress, duplicates } = held(state);
    expect(duplicates).toEqual([]);
    expect(sorted(byAddress)).toEqual(sorted(expected(live.values())));
    await createPods(client, [...agent.live.values(), ...intruder.live.values()]);
    const c = await check(cp);
    expect(c.output).not.toMatch(/^error:/m);
    expect(c).toMatchObject({ code: 0, errors: 0, allocations: live.size });
  });

  it('an allocator killed -9 mid-run: GC and check leave no leak, and a restarted allocator carries on', async () => {
    const killedNodes = ['node-8', 'node-9'];
    await createNodes(client, [...killedNodes, 'node-10']);
    const victim = startWorker({
      kubeconfig: cp.kubeconfigPath,
      nodes: killedNodes,
      count: 400,
      mode: 'split',
      concurrency: IN_FLIGHT,
      prefix: 'k',
      namespace: NAMESPACE,
      waitGo: true,
    });
    // Calico's way, on its own node, alongside: it must not be disturbed by the crash either.
    const calico = startWorker({
      kubeconfig: cp.kubeconfigPath,
      nodes: ['node-10'],
      count: 60,
      mode: 'calico',
      releaseHalf: true,
      prefix: 'c',
      namespace: NAMESPACE,
      waitGo: true,
    });
    workers.push(victim, calico);
    await Promise.all([victim.ready, calico.ready]);
    const killAfter = 200 + Math.floor(Math.random() * 150);
    const killed = new Promise<void>((resolve) => {
      victim.onEvent = () => {
        if (victim.assigned.size >= killAfter && victim.child.signalCode === null) {
          victim.kill9();
          resolve();
        }
      };
    });
    victim.go();
    calico.go();
    await killed;
    expect((await victim.exited).signal).toBe('SIGKILL');
    await finish(calico);
    expect(victim.failures).toEqual([]);
    console.log(`killed the allocator after it reported ${victim.assigned.size} of 800 assignments`);

    for (const w of [victim, calico]) for (const [h, a] of w.live) live.set(h, a);
    const before = held(await readIpamState(client));
    expect(before.duplicates).toEqual([]);
    // Everything reported is held, as reported; besides, only the requests in flight at the kill (at most
    // IN_FLIGHT per node) may hold an address nobody was told about.
    const want = expected(live.values());
    for (const [ip, desc] of want) expect(before.byAddress.get(ip), ip).toBe(desc);
    const unreported = [...before.byAddress.keys()].filter((ip) => !want.has(ip));
    expect(unreported.length).toBeLessThanOrEqual(IN_FLIGHT * killedNodes.length);

    await createPods(client, [...victim.live.values(), ...calico.live.values()]);
    const store = createKubeBlockStore(client, { fieldManager: 'ipam-test-gc' });
    // Two passes a grace period apart (time is GC's argument): the first notes the suspects, the second acts.
    const t = Date.now();
    let memory: GcMemory = emptyGcMemory();
    const first = await gcPass(client, store, t, memory, LEAK_GRACE_MS);
    memory = first.memory;
    expect(first.actions.filter((a) => a.kind === 'releaseAddresses')).toEqual([]);
    const second = await gcPass(client, store, t + LEAK_GRACE_MS, memory, LEAK_GRACE_MS);
    expect(second.results.filter((r) => r.outcome === 'failed')).toEqual([]);
    const releasedByGc = second.actions
      .filter((a) => a.kind === 'releaseAddresses')
      .flatMap((a) => (a.kind === 'releaseAddresses' ? a.releases.map((r) => r.address) : []));
    expect(releasedByGc.sort()).toEqual(unreported.sort());
    const kinds = new Map<string, number>();
    for (const a of second.actions) kinds.set(a.kind, (kinds.get(a.kind) ?? 0) + 1);
    console.log(
      `after the kill: ${unreported.length} addresses assigned but never reported; GC after the grace period: ` +
        ([...kinds].map(([k, n]) => `${k} ×${n}`).join(', ') || 'nothing'),
    );

    const after = await readIpamState(client);
    const { byAddress, duplicates } = held(after);
    expect(duplicates).toEqual([]);
    expect(sorted(byAddress)).toEqual(sorted(want));
    const c = await check(cp);
    expect(c.output).not.toMatch(/^error:/m);
    expect(c).toMatchObject({ code: 0, errors: 0, allocations: live.size });

    // A new allocator process for the killed one's nodes restores from the store and assigns without clashing.
    const again = startWorker({
      kubeconfig: cp.kubeconfigPath,
      nodes: killedNodes,
      count: 40,
      mode: 'split',
      concurrency: IN_FLIGHT,
      prefix: 'r',
      namespace: NAMESPACE,
    });
    workers.push(again);
    const d = await finish(again);
    expect(d.assigned).toBe(80);
    for (const [h, a] of again.live) live.set(h, a);
    await createPods(client, [...again.live.values()]);
    const final = held(await readIpamState(client));
    expect(final.duplicates).toEqual([]);
    expect(sorted(final.byAddress)).toEqual(sorted(expected(live.values())));
    const c2 = await check(cp);
    expect(c2).toMatchObject({ code: 0, errors: 0, allocations: live.size });
  });

  it('deleting a Node releases its addresses, handles, affinities and blocks in one GC pass', async () => {
    const gone = 'node-0';
    const before = await readIpamState(client);
    const itsBlocks = before.blocks.filter((b) => b.affinity === hostAffinity(gone)).map((b) => b.cidr);
    expect(itsBlocks.length).toBeGreaterThan(0);
    const itsPods = [...live.values()].filter((a) => a.node === gone);
    expect(itsPods.length).toBeGreaterThan(0);

    // Kubernetes deletes the pods of a deleted node (pod GC); no kube-controller-manager runs here, so we do.
    await client.nodes().delete(gone);
    await deletePods(client, itsPods);
    for (const a of itsPods) live.delete(a.handle);

    const store = createKubeBlockStore(client, { fieldManager: 'ipam-test-gc' });
    // No grace for a deleted node's addresses: a single pass, with a grace long enough that nothing else moves.
    const pass = await gcPass(client, store, Date.now(), emptyGcMemory(), LEAK_GRACE_MS);
    expect(pass.results.filter((r) => r.outcome !== 'done')).toEqual([]);
    const kinds = new Set(pass.actions.map((a) => a.kind));
    expect([...kinds].sort()).toEqual(['releaseAddresses', 'releaseAffinity']);

    const after = await readIpamState(client);
    expect(after.allocations.filter((a) => a.node === gone)).toEqual([]);
    expect(after.blocks.filter((b) => itsBlocks.includes(b.cidr))).toEqual([]);
    expect(after.affinities.filter((a) => a.node === gone)).toEqual([]);
    const itsHandles = new Set(itsPods.map((a) => a.handle));
    expect(after.handles.filter((h) => itsHandles.has(h.handleID))).toEqual([]);
    const { byAddress, duplicates } = held(after);
    expect(duplicates).toEqual([]);
    expect(sorted(byAddress)).toEqual(sorted(expected(live.values())));

    const again = await gcPass(client, store, Date.now(), emptyGcMemory(), LEAK_GRACE_MS);
    expect(again.actions).toEqual([]);
    const c = await check(cp);
    expect(c.output).not.toMatch(/^error:/m);
    expect(c).toMatchObject({ code: 0, errors: 0, allocations: live.size });
  });
  it("a node's view from the indexed caches equals the one filtered from whole lists, also right after our own writes", async () => {
    const blocksInf = createInformer<IPAMBlock>({
      name: 'ipamblocks',
      kind: 'IPAMBlock',
      source: client.kind(IPAMBlockKind).listWatch(),
      schema: IPAMBlockKind.schema,
      indexes: { [BY_NODE_INDEX]: blockNodeIndex },
    });
    const affInf = createInformer<BlockAffinity>({
      name: 'blockaffinities',
      kind: 'BlockAffinity',
      source: client.kind(BlockAffinityKind).listWatch(),
      schema: BlockAffinityKind.schema,
      indexes: { [BY_NODE_INDEX]: affinityNodeIndex },
    });
    for (const i of [blocksInf, affInf]) i.start();
    expect(await blocksInf.waitForSync()).toBe(true);
    expect(await affInf.waitForSync()).toBe(true);
    const indexed = createKubeBlockStore(client, {
      fieldManager: 'ipam-test-view',
      readers: { blocks: blocksInf.store, affinities: affInf.store },
      indexedByNode: true,
    });
    const direct = createKubeBlockStore(client, { fieldManager: 'ipam-test-view' });
    const norm = (v: NodeBlocks) => ({
      blocks: v.blocks.map((b) => `${b.value.cidr}@${b.version}`).sort(),
      affinities: v.affinities.map((a) => `${a.value.cidr}:${a.value.state}@${a.version}`).sort(),
    });
    try {
      // The earlier tests left blocks and affinities on several nodes (and some released): every node agrees.
      const nodes = new Set((await direct.affinities.list()).map((a) => a.value.node));
      expect(nodes.size).toBeGreaterThan(1);
      nodes.add('no-such-node');
      for (const n of nodes) {
        expect(norm(await indexed.nodeView!(n)), n).toEqual(norm(await nodeViewByLists(direct, n)));
      }
      // A write of ours shows in the node's view at once, before the cache has it (read-your-writes).
      const cidr = '10.244.251.0/26';
      const created = await indexed.affinities.create({
        node: 'view-node',
        cidr,
        state: 'pending',
        deleted: false,
        type: 'host',
      } as BlockAffinityData);
      expect(created.ok).toBe(true);
      expect(norm(await indexed.nodeView!('view-node')).affinities).toEqual([
        `${cidr}:pending@${created.ok ? created.version : ''}`,
      ]);
      const v = await direct.affinities.get(affinityKey('view-node', cidr));
      if (v) await direct.affinities.delete(affinityKey('view-node', cidr), v.version);
    } finally {
      for (const i of [blocksInf, affInf]) await i.stop();
    }
  });

  it('a cached BlockStore whose object another writer deleted re-creates it rather than retrying into the void', async () => {
    const handles = createInformer<IPAMHandle>({
      name: 'ipamhandles',
      kind: 'IPAMHandle',
      source: client.resource(IPAM_HANDLES, IPAMHandleSchema).listWatch(),
      schema: IPAMHandleSchema,
    });
    handles.start();
    expect(await handles.waitForSync()).toBe(true);
    const cached = createKubeBlockStore(client, {
      fieldManager: 'ipam-test-agent',
      readers: { handles: handles.store },
    });
    const other = createKubeBlockStore(client, { fieldManager: 'ipam-test-gc' });
    const cidr = '10.244.250.0/26';
    const id = 'k8s-pod-network.ghost';
    const marker = 'k8s-pod-network.marker';
    try {
      // The agent creates a handle and remembers the version it wrote (read-your-writes over its cache) ...
      const mine = await adjustHandle(cached, id, { [cidr]: 1 });
      expect(mine).toBeDefined();
      // ... another writer (GC fixing an over-count) deletes it before anything reads the agent's cache again ...
      const theirs = await other.handles.get(handleKey(id));
      expect(await other.handles.delete(handleKey(id), theirs!.version)).toEqual({ ok: true });
      // ... and the agent's cache has seen the delete (a marker written after it has arrived).
      expect((await other.handles.create({ handleID: marker, block: { [cidr]: 1 }, deleted: false })).ok).toBe(true);
      const deadline = Date.now() + 120_000;
      while (!handles.store.has(handleKey(marker))) {
        if (Date.now() > deadline) throw new Error('the handle cache never showed the marker');
        await new Promise((r) => setTimeout(r, 50));
      }
      // A repeated CNI ADD raises the count again from the version the agent knows: the write finds the handle
      // gone, and the next attempt must create it, not read back the agent's own deleted write until retries run out.
      const again = await adjustHandle(cached, id, { [cidr]: 1 }, mine);
      expect(again?.value.block).toEqual({ [cidr]: 1 });
      expect((await other.handles.get(handleKey(id)))?.value.block).toEqual({ [cidr]: 1 });
    } finally {
      await handles.stop();
      for (const h of [id, marker]) {
        const v = await other.handles.get(handleKey(h));
        if (v !== undefined) await other.handles.delete(handleKey(h), v.version);
      }
    }
  });
});
