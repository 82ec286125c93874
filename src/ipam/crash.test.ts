// Crash at any step: for each multi-object change, the process dies before store operation k, for every k. Then
// (a) nothing is allocated twice and no block is malformed, before any repair (I1, I2, I4);
// (b) after what a real cluster does next — the kubelet retries DEL on a restarted agent, the operator reconciles
//     and GC runs past its grace periods — check.ts finds nothing wrong and exactly the live pods' addresses are
//     held (orphans recovered, I3, I4, I5).
import { describe, expect, it } from 'vitest';
import { type PodInfo, allocationsOf, podKey } from './allocations.js';
import { checkIpam } from './check.js';
import { executeGc } from './gc-executor.js';
import { type GcMemory, emptyGcMemory, planGc } from './gc.js';
import { InMemoryBlockStore } from './in-memory-block-store.js';
import { type AllocatorMode, type Harness, harness, nodes, testPool } from './test-fixtures.js';
import { releaseBlockAffinity } from './affinity-claims.js';
import { reconcileTunnelAddresses } from './tunnel-addresses.js';
import { lookupAddress } from './releases.js';

class SimulatedCrash extends Error {}

const NODES = ['n1', 'n2'];

interface World {
  h: Harness;
  pods: Map<string, PodInfo>;
}

function newWorld(
  mode: AllocatorMode,
  store: InMemoryBlockStore,
  pool = testPool('p', '10.0.0.0/26', { blockSize: 28, ipipMode: 'Always' }),
): World {
  return { h: harness(mode, { pools: [pool], nodes: nodes(...NODES), store }), pods: new Map() };
}

async function startPod(w: World, node: string, name: string): Promise<void> {
  const r = await w.h.allocator(node).autoAssign({
    num4: 1,
    num6: 0,
    handleId: `k8s-pod-network.${name}`,
    attrs: { node, namespace: 'ns', pod: name },
    node,
    use: 'Workload',
  });
  if (r.error !== undefined) throw r.error;
  w.pods.set(podKey('ns', name), { namespace: 'ns', name, node, ips: (r.v4?.ips ?? []).map((x) => x.split('/')[0]!) });
}

async function stopPod(w: World, node: string, name: string): Promise<void> {
  w.pods.delete(podKey('ns', name));
  await w.h.allocator(node).releaseByHandle(`k8s-pod-network.${name}`);
}

/** GC until it has nothing left to do, advancing the clock past every grace period between passes. */
async function gcUntilQuiet(w: World, liveNodes: ReadonlySet<string>): Promise<void> {
  let memory: GcMemory = emptyGcMemory();
  for (let pass = 0; pass < 10; pass++) {
    const s = w.h.store.snapshot();
    const plan = planGc(
      {
        blocks: s.blocks,
        affinities: s.affinities,
        handles: s.handles,
        nodes: liveNodes,
        pods: w.pods,
        now: w.h.clock.ms,
      },
      memory,
    );
    memory = plan.memory;
    const results = await executeGc(w.h.store, plan.actions, w.h.clock.ms);
    expect(results.filter((r) => r.outcome === 'failed')).toEqual([]);
    w.h.clock.advance(16 * 60_000);
    if (
      plan.actions.length === 0 &&
      memory.leakCandidates.size + memory.handleOvercounts.size + memory.transitions.size === 0
    )
      return;
  }
}

function assertNothingTwice(store: InMemoryBlockStore): void {
  const s = store.snapshot();
  const r = checkIpam({ blocks: s.blocks, affinities: s.affinities, handles: s.handles });
  expect(r.findings.filter((f) => f.code === 'duplicateAllocation' || f.code === 'invalidBlock')).toEqual([]);
  const seen = new Set<string>();
  for (const b of s.blocks) {
    for (const a of allocationsOf(b.value)) {
      expect(seen.has(a.address)).toBe(false);
      seen.add(a.address);
    }
  }
}

function assertClean(w: World, liveNodes: ReadonlySet<string>): void {
  const s = w.h.store.snapshot();
  const r = checkIpam({
    blocks: s.blocks,
    affinities: s.affinities,
    handles: s.handles,
    nodes: liveNodes,
    pods: w.pods,
  });
  expect(r.findings.filter((f) => f.severity === 'error')).toEqual([]);
  expect(r.findings.filter((f) => f.code === 'affinityInTransition')).toEqual([]);
  const held = new Set<string>();
  for (const b of s.blocks) for (const a of allocationsOf(b.value)) if (a.kind === 'pod') held.add(a.address);
  const live = new Set([...w.pods.values()].flatMap((p) => p.ips));
  expect([...held].sort()).toEqual([...live].sort());
}

interface Scenario {
  name: string;
  mode: AllocatorMode;
  /** State before the operation under test (no crash here). */
  setup(w: World): Promise<void>;
  /** The multi-object change that crashes. */
  act(w: World): Promise<void>;
  /** What the cluster does after the crash: retries, a restarted agent, ... */
  recover(w: World, fresh: World): Promise<void>;
  liveNodes?: string[];
}

const scenarios: Scenario[] = [
  {
    name: 'first pod on a node: claim (affinity, block, confirm) + handle + block write',
    mode: 'split',
    setup: async () => {},
    act: (w) => startPod(w, 'n1', 'a'),
    recover: async (w, fresh) => {
      // The CNI ADD failed: the kubelet calls DEL for that sandbox on a restarted agent, and the pod is not running.
      w.pods.delete(podKey('ns', 'a'));
      await fresh.h.allocator('n1').releaseByHandle('k8s-pod-network.a');
    },
  },
  {
    name: 'pod in an existing block: handle create + one block write',
    mode: 'split',
    setup: (w) => startPod(w, 'n1', 'a'),
    act: (w) => startPod(w, 'n1', 'b'),
    recover: async (w, fresh) => {
      w.pods.delete(podKey('ns', 'b'));
      await fresh.h.allocator('n1').releaseByHandle('k8s-pod-network.b');
    },
  },
  {
    name: 'pod deletion: block write + handle delete',
    mode: 'split',
    setup: async (w) => {
      await startPod(w, 'n1', 'a');
      await startPod(w, 'n1', 'b');
    },
    act: (w) => stopPod(w, 'n1', 'a'),
    recover: (w, fresh) => fresh.h.allocator('n1').releaseByHandle('k8s-pod-network.a'),
  },
  {
    name: "borrowing when the pool is full (operator writes another node's block)",
    mode: 'split',
    setup: async (w) => {
      // 4 blocks of 16: n1 takes three, n2 one; then n1's are full.
      for (let i = 0; i < 48; i++) await startPod(w, 'n1', `a${i}`);
      await startPod(w, 'n2', 'b0');
    },
    act: (w) => startPod(w, 'n1', 'borrower'),
    recover: async (w, fresh) => {
      w.pods.delete(podKey('ns', 'borrower'));
      await fresh.h.allocator('n1').releaseByHandle('k8s-pod-network.borrower');
    },
  },
  {
    name: 'Calico-style first pod: claim + handle + block write',
    mode: 'calico',
    setup: async () => {},
    act: (w) => startPod(w, 'n1', 'a'),
    recover: async (w, fresh) => {
      w.pods.delete(podKey('ns', 'a'));
      await fresh.h.allocator('n1').releaseByHandle('k8s-pod-network.a');
    },
  },
  {
    name: 'Calico-style pod deletion',
    mode: 'calico',
    setup: async (w) => {
      await startPod(w, 'n1', 'a');
      await startPod(w, 'n2', 'b');
    },
    act: (w) => stopPod(w, 'n1', 'a'),
    recover: (w, fresh) => fresh.h.allocator('n1').releaseByHandle('k8s-pod-network.a'),
  },
  {
    name: "releasing a node's affinity (pendingDeletion, block delete/un-affine, affinity delete)",
    mode: 'split',
    setup: async (w) => {
      await startPod(w, 'n2', 'keep');
      await startPod(w, 'n2', 'gone');
      await stopPod(w, 'n2', 'gone');
    },
    act: async (w) => {
      const cidr = w.h.store.snapshot().blocks[0]!.value.cidr;
      await releaseBlockAffinity(w.h.store, 'n2', cidr, { requireEmpty: false });
      w.h.view.nodeList = w.h.view.nodeList.filter((n) => n.name !== 'n2');
      w.pods.delete(podKey('ns', 'keep'));
    },
    recover: async (w) => {
      w.pods.delete(podKey('ns', 'keep'));
    },
    liveNodes: ['n1'],
  },
  {
    name: 'IPIP tunnel address for a new node (claim + tunnel handle + block write)',
    mode: 'split',
    setup: async () => {},
    act: async (w) => {
      const node = w.h.view.node('n1')!;
      await reconcileTunnelAddresses(w.h.operatorAllocator, node, w.h.view.pools(), {}, (a) =>
        lookupAddress(w.h.store, w.h.view.pools(), a),
      );
    },
    recover: async (w, fresh) => {
      // The annotation was never written: the operator's next reconcile starts from no address (defensive release
      // by handle, then assign), and that is what we keep.
      const node = fresh.h.view.node('n1')!;
      const r = await reconcileTunnelAddresses(fresh.h.operatorAllocator, node, fresh.h.view.pools(), {}, (a) =>
        lookupAddress(fresh.h.store, fresh.h.view.pools(), a),
      );
      expect(r.annotations['projectcalico.org/IPv4IPIPTunnelAddr']).toMatch(/^10\.0\.0\.\d+$/);
    },
  },
];

describe.each(scenarios)('crash at every step: $name', (sc) => {
  it('never allocates twice, and recovery leaves no leak', async () => {
    // Count the operation's store calls without a crash.
    const probe = new InMemoryBlockStore();
    const pw = newWorld(sc.mode, probe);
    await sc.setup(pw);
    const before = probe.stats;
    const start = { ...before };
    await sc.act(pw);
    const total =
      probe.stats.gets +
      probe.stats.lists +
      probe.stats.creates +
      probe.stats.updates +
      probe.stats.deletes +
      probe.stats.conflicts -
      (start.gets + start.lists + start.creates + start.updates + start.deletes + start.conflicts);
    expect(total).toBeGreaterThan(1);

    for (let k = 1; k <= total + 1; k++) {
      const store = new InMemoryBlockStore();
      const w = newWorld(sc.mode, store);
      await sc.setup(w);
      let ops = 0;
      store.hooks = {
        before: () => {
          ops++;
          if (ops >= k) throw new SimulatedCrash(`crash before store operation ${k}`);
        },
      };
      await sc.act(w).catch((e: unknown) => {
        if (!(e instanceof SimulatedCrash) && !(e instanceof Error && e.message.includes('crash before'))) throw e;
      });
      store.hooks = {};
      assertNothingTwice(store);

      // A restarted process: fresh allocators (agents restore from the store), same store and clock.
      const fresh: World = {
        h: harness(sc.mode, { pools: [...w.h.view.pools()], nodes: w.h.view.nodeList, store }),
        pods: w.pods,
      };
      fresh.h.clock.ms = w.h.clock.ms;
      await sc.recover(w, fresh);
      const live = new Set(sc.liveNodes ?? NODES);
      await fresh.h.claimer.reconcile([...live]);
      await gcUntilQuiet(fresh, live);
      assertNothingTwice(store);
      assertClean(fresh, live);
    }
  });
});
