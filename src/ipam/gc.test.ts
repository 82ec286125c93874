// GC planning rules (calico: kube-controllers/pkg/controllers/node/ipam.go, ipam_allocation.go) and execution.
import { describe, expect, it } from 'vitest';
import { type PodInfo, podKey } from './allocations.js';
import { checkIpam } from './check.js';
import { executeGc } from './gc-executor.js';
import { DEFAULT_LEAK_GRACE_PERIOD_MS, type GcAction, type GcMemory, emptyGcMemory, planGc } from './gc.js';
import { type Harness, harness, nodes, testPool } from './test-fixtures.js';
import { newBlock, assignFromHead } from './block.js';
import { tunnelAttributes, tunnelHandleId } from './tunnel-addresses.js';

const MIN = 60_000;

function world(poolCidr = '10.0.0.0/24') {
  const h = harness('calico', { pools: [testPool('p', poolCidr)], nodes: nodes('n1', 'n2') });
  const pods = new Map<string, PodInfo>();
  const start = async (node: string, name: string, num = 1, attrs?: Record<string, string>) => {
    const r = await h.allocator(node).autoAssign({
      num4: num,
      num6: 0,
      handleId: `k8s-pod-network.${name}`,
      attrs: attrs ?? { node, namespace: 'ns', pod: name },
      node,
      use: 'Workload',
    });
    const ips = r.v4!.ips.map((x) => x.split('/')[0]!);
    pods.set(podKey('ns', name), { namespace: 'ns', name, node, ips });
    return ips;
  };
  return { h, pods, start };
}

function plan(
  h: Harness,
  liveNodes: string[],
  pods: Map<string, PodInfo>,
  memory?: GcMemory,
  leakGracePeriodMs?: number,
) {
  const s = h.store.snapshot();
  return planGc(
    {
      blocks: s.blocks,
      affinities: s.affinities,
      handles: s.handles,
      nodes: new Set(liveNodes),
      pods,
      now: h.clock.ms,
      ...(leakGracePeriodMs === undefined ? {} : { leakGracePeriodMs }),
    },
    memory,
  );
}

const kinds = (actions: GcAction[]) => actions.map((a) => `${a.kind}:${'reason' in a ? a.reason : ''}`);

describe('node deleted', () => {
  it("releases its pods' addresses, its tunnel address, its handles and its blocks at once", async () => {
    const { h, pods, start } = world();
    await start('n1', 'a');
    await start('n1', 'b');
    await h.operatorAllocator.autoAssign({
      num4: 1,
      num6: 0,
      handleId: tunnelHandleId('ipip', 'n1'),
      attrs: tunnelAttributes('ipip', 'n1'),
      node: 'n1',
      use: 'Tunnel',
    });
    await start('n2', 'keep');
    pods.delete(podKey('ns', 'a'));
    pods.delete(podKey('ns', 'b'));
    const p = plan(h, ['n2'], pods);
    expect(kinds(p.actions)).toEqual([
      'releaseAddresses:nodeDeleted',
      'releaseAddresses:nodeDeleted',
      'releaseAddresses:nodeDeleted',
      'releaseAffinity:nodeDeleted',
    ]);
    const results = await executeGc(h.store, p.actions, h.clock.ms);
    expect(results.map((r) => r.outcome)).toEqual(['done', 'done', 'done', 'done']);
    const s = h.store.snapshot();
    expect(s.blocks.map((b) => b.value.affinity)).toEqual(['host:n2']);
    expect(s.handles.map((x) => x.value.handleID)).toEqual(['k8s-pod-network.keep']);
    expect(s.affinities.map((a) => a.value.node)).toEqual(['n2']);
    const c = checkIpam({
      blocks: s.blocks,
      affinities: s.affinities,
      handles: s.handles,
      nodes: new Set(['n2']),
      pods,
    });
    expect(c.summary.errors).toBe(0);
  });

  it('waits while a pod of the deleted node still exists (Kubernetes has not removed it yet)', async () => {
    const { h, pods, start } = world();
    await start('n1', 'a');
    expect(plan(h, ['n2'], pods).actions).toEqual([]);
  });

  it("un-affines (not deletes) a block holding another node's borrowed, live address", async () => {
    const { h, pods, start } = world('10.0.0.0/26');
    await start('n1', 'a');
    await start('n2', 'borrower');
    pods.delete(podKey('ns', 'a'));
    const p = plan(h, ['n2'], pods);
    expect(p.actions.at(-1)).toMatchObject({ kind: 'releaseAffinity', node: 'n1', requireEmpty: false });
    await executeGc(h.store, p.actions, h.clock.ms);
    const s = h.store.snapshot();
    expect(s.blocks).toHaveLength(1);
    expect(s.blocks[0]!.value.affinity).toBeNull();
    expect(s.handles.map((x) => x.value.handleID)).toEqual(['k8s-pod-network.borrower']);
  });

  it('deletes pending affinities of the deleted node whose block is gone', async () => {
    const { h, pods } = world();
    h.store.affinities.seed({ node: 'n1', cidr: '10.0.0.192/26', state: 'pending', type: 'host', deleted: false });
    expect(kinds(plan(h, ['n2'], pods).actions)).toEqual(['deleteAffinity:nodeDeleted']);
  });
});

describe('leaked pod addresses on live nodes', () => {
  it.each<{ name: string; pod: Partial<PodInfo> | 'gone'; leaked: boolean }>([
    { name: 'pod gone', pod: 'gone', leaked: true },
    { name: 'pod rescheduled to another node', pod: { node: 'n2' }, leaked: true },
    { name: 'pod lists another address', pod: { ips: ['10.9.9.9'] }, leaked: true },
    { name: 'pod evicted and Failed', pod: { evictedFailed: true }, leaked: true },
    { name: 'pod has no address yet', pod: { ips: [] }, leaked: false },
    { name: 'pod unscheduled', pod: { node: undefined }, leaked: false },
    { name: 'pod running with it', pod: {}, leaked: false },
  ])('$name ⇒ released after the grace period: $leaked', async ({ pod, leaked }) => {
    const { h, pods, start } = world();
    await start('n1', 'a');
    const key = podKey('ns', 'a');
    if (pod === 'gone') pods.delete(key);
    else pods.set(key, { ...pods.get(key)!, ...pod });
    const first = plan(h, ['n1', 'n2'], pods);
    expect(first.actions).toEqual([]);
    h.clock.advance(DEFAULT_LEAK_GRACE_PERIOD_MS - 1);
    expect(plan(h, ['n1', 'n2'], pods, first.memory).actions).toEqual([]);
    h.clock.advance(1);
    const later = plan(h, ['n1', 'n2'], pods, first.memory);
    expect(kinds(later.actions)).toEqual(leaked ? ['releaseAddresses:leaked'] : []);
  });

  it('forgets a candidate that turns valid again', async () => {
    const { h, pods, start } = world();
    await start('n1', 'a');
    const saved = pods.get(podKey('ns', 'a'))!;
    pods.delete(podKey('ns', 'a'));
    const first = plan(h, ['n1'], pods);
    expect(first.memory.leakCandidates.size).toBe(1);
    pods.set(podKey('ns', 'a'), saved);
    const second = plan(h, ['n1'], pods, first.memory);
    expect(second.memory.leakCandidates.size).toBe(0);
  });

  it('names a candidate as new once, in the pass that first sees it (what IPAM history records)', async () => {
    const { h, pods, start } = world();
    await start('n1', 'a');
    pods.delete(podKey('ns', 'a'));
    const first = plan(h, ['n1'], pods);
    expect(first.newLeakCandidates.map((r) => `${r.attrs['namespace']}/${r.attrs['pod']} ${r.node}`)).toEqual([
      'ns/a n1',
    ]);
    h.clock.advance(60_000);
    expect(plan(h, ['n1'], pods, first.memory).newLeakCandidates).toEqual([]);
  });

  it('leakGracePeriod 0 disables releasing leaks of live nodes (deleted nodes are still cleaned)', async () => {
    const { h, pods, start } = world();
    await start('n1', 'a');
    await start('n2', 'b');
    pods.clear();
    h.clock.advance(DAY);
    const p = plan(h, ['n1'], pods, undefined, 0);
    expect(
      p.actions.filter((a) => a.kind === 'releaseAddresses').map((a) => a.kind === 'releaseAddresses' && a.reason),
    ).toEqual(['nodeDeleted']);
  });

  it('releases per handle, all or nothing', async () => {
    const { h, pods, start } = world();
    const ips = await start('n1', 'multi', 2);
    pods.set(podKey('ns', 'multi'), { namespace: 'ns', name: 'multi', node: 'n1', ips: [ips[0]!] });
    const first = plan(h, ['n1'], pods);
    h.clock.advance(DAY);
    expect(plan(h, ['n1'], pods, first.memory).actions).toEqual([]);
  });

  it('never releases allocations without pod or tunnel attributes', async () => {
    const { h, pods, start } = world();
    await start('n1', 'x', 1, { note: 'manual' });
    h.clock.advance(DAY);
    expect(plan(h, ['n1'], pods).actions).toEqual([]);
    const p = plan(h, [], pods);
    expect(p.actions).toEqual([]);
  });

  it('release carries the sequence number: an address re-allocated since the plan is left alone', async () => {
    const { h, pods, start } = world();
    await start('n1', 'a');
    pods.delete(podKey('ns', 'a'));
    const p = plan(h, ['n2'], pods);
    // Before GC acts, the pod's address is released and handed to a new pod.
    await h.allocator('n1').releaseByHandle('k8s-pod-network.a');
    const ips = await start('n1', 'new');
    const results = await executeGc(h.store, p.actions, h.clock.ms);
    expect(results[0]?.outcome).not.toBe('done');
    expect(await h.allocator('n1').ipsByHandle('k8s-pod-network.new')).toEqual(ips);
  });
});

const DAY = 24 * 60 * MIN;

describe('blocks, affinities and handles', () => {
  it("an empty block goes back after the grace period, never the node's last block", async () => {
    const { h, pods, start } = world();
    await start('n1', 'a', 65);
    await h.allocator('n1').releaseByHandle('k8s-pod-network.a');
    pods.clear();
    const first = plan(h, ['n1'], pods);
    expect(first.actions).toEqual([]);
    h.clock.advance(DEFAULT_LEAK_GRACE_PERIOD_MS);
    const second = plan(h, ['n1'], pods, first.memory);
    expect(kinds(second.actions)).toEqual(['releaseAffinity:emptyBlock']);
    await executeGc(h.store, second.actions, h.clock.ms);
    expect(h.store.snapshot().blocks).toHaveLength(1);
    h.clock.advance(DAY);
    expect(plan(h, ['n1'], pods, second.memory).actions).toEqual([]);
  });

  it("keeps an empty block while the node's other blocks are nearly full (the claimer would claim again)", async () => {
    const { h, pods, start } = world();
    await start('n1', 'full', 64);
    await start('n1', 'spill', 1);
    await h.allocator('n1').releaseByHandle('k8s-pod-network.spill');
    pods.delete(podKey('ns', 'spill'));
    const first = plan(h, ['n1'], pods);
    h.clock.advance(DAY);
    expect(plan(h, ['n1'], pods, first.memory).actions).toEqual([]);
  });

  it('a block written in between restarts the empty clock', async () => {
    const { h, pods, start } = world();
    await start('n1', 'a', 65);
    await h.allocator('n1').releaseByHandle('k8s-pod-network.a');
    const first = plan(h, ['n1'], pods);
    h.clock.advance(DEFAULT_LEAK_GRACE_PERIOD_MS);
    await start('n1', 'b', 65);
    await h.allocator('n1').releaseByHandle('k8s-pod-network.b');
    pods.clear();
    expect(plan(h, ['n1'], pods, first.memory).actions).toEqual([]);
  });

  it('deletes an empty un-affine block (an interrupted release)', () => {
    const { h, pods } = world();
    h.store.blocks.seed(newBlock('10.0.0.0/26', 64, { affinity: null, affinityClaimTime: null, sequenceNumber: 1n }));
    expect(kinds(plan(h, ['n1'], pods).actions)).toEqual(['deleteBlock:emptyUnaffine']);
  });

  it.each([
    { name: 'pending', state: 'pending' as const, block: false, now: [], later: ['repairAffinity:pending'] },
    {
      name: 'pendingDeletion',
      state: 'pendingDeletion' as const,
      block: true,
      now: [],
      later: ['repairAffinity:pendingDeletion'],
    },
    {
      name: 'confirmed without its block',
      state: 'confirmed' as const,
      block: false,
      now: ['repairAffinity:stale'],
      later: ['repairAffinity:stale'],
    },
  ])('affinity $name', ({ state, block, now, later }) => {
    const { h, pods } = world();
    h.store.affinities.seed({ node: 'n1', cidr: '10.0.0.0/26', state, type: 'host', deleted: false });
    if (block)
      h.store.blocks.seed(
        newBlock('10.0.0.0/26', 64, { affinity: 'host:n1', affinityClaimTime: null, sequenceNumber: 1n }),
      );
    const first = plan(h, ['n1'], pods);
    expect(kinds(first.actions).filter((k) => k.startsWith('repair'))).toEqual(now);
    h.clock.advance(DEFAULT_LEAK_GRACE_PERIOD_MS);
    expect(kinds(plan(h, ['n1'], pods, first.memory).actions).filter((k) => k.startsWith('repair'))).toEqual(later);
  });

  it('handle over-count (interrupted assignment) is fixed after the grace period; under-count at once', async () => {
    const { h, pods, start } = world();
    await start('n1', 'a');
    const s = h.store.snapshot();
    const handle = s.handles[0]!;
    const cidr = s.blocks[0]!.value.cidr;
    await h.store.handles.update({ ...handle.value, block: { [cidr]: 3 } }, handle.version);
    const b = h.store.snapshot().blocks[0]!;
    const grown = {
      ...b.value,
      allocations: [...b.value.allocations],
      unallocated: [...b.value.unallocated],
      attributes: [...b.value.attributes],
    };
    assignFromHead(grown, 1, 'orphan', { node: 'n1', note: 'made by hand' });
    await h.store.blocks.update(grown, b.version);
    const first = plan(h, ['n1'], pods);
    // 'orphan' has no IPAMHandle: recreated at once; the pod's over-count waits.
    expect(first.actions.map((a) => (a.kind === 'fixHandle' ? `${a.handleId}:${a.reason}` : a.kind))).toEqual([
      'orphan:undercount',
    ]);
    h.clock.advance(DEFAULT_LEAK_GRACE_PERIOD_MS);
    const second = plan(h, ['n1'], pods, first.memory);
    const fixes = second.actions.filter((a) => a.kind === 'fixHandle');
    expect(fixes.map((a) => a.kind === 'fixHandle' && `${a.handleId}:${a.reason}:${JSON.stringify(a.block)}`)).toEqual([
      `k8s-pod-network.a:overcount:{"${cidr}":1}`,
      `orphan:undercount:{"${cidr}":1}`,
    ]);
    await executeGc(h.store, second.actions, h.clock.ms);
    const after = h.store.snapshot();
    expect(
      checkIpam({ blocks: after.blocks, affinities: after.affinities, handles: after.handles }).summary.errors,
    ).toBe(0);
  });

  it("gives a pod handle without a node (Calico's tools write none) the node its allocations name, once", async () => {
    const { h, pods, start } = world();
    await start('n1', 'a');
    await start('n2', 'b');
    // As Calico's IPAM writes them: the same counts, no node.
    for (const x of h.store.snapshot().handles) {
      const { node: _dropped, ...calico } = x.value;
      await h.store.handles.update(calico, x.version);
    }
    const p = plan(h, ['n1', 'n2'], pods);
    expect(
      p.actions.map((a) => a.kind === 'fixHandle' && `${a.handleId}:${a.reason}:${a.node}:${JSON.stringify(a.block)}`),
    ).toEqual([
      `k8s-pod-network.a:adoptNode:n1:${JSON.stringify(h.store.snapshot().handles.find((x) => x.value.handleID === 'k8s-pod-network.a')!.value.block)}`,
      `k8s-pod-network.b:adoptNode:n2:${JSON.stringify(h.store.snapshot().handles.find((x) => x.value.handleID === 'k8s-pod-network.b')!.value.block)}`,
    ]);
    expect((await executeGc(h.store, p.actions, h.clock.ms)).map((r) => r.outcome)).toEqual(['done', 'done']);
    const after = h.store.snapshot().handles.map((x) => [x.value.handleID, x.value.node]);
    expect(after.sort()).toEqual([
      ['k8s-pod-network.a', 'n1'],
      ['k8s-pod-network.b', 'n2'],
    ]);
    expect(plan(h, ['n1', 'n2'], pods).actions).toEqual([]);
  });

  it('adopts no node for a handle whose allocations name two nodes, and a count fix keeps the node a handle has', async () => {
    const { h, pods, start } = world();
    await start('n1', 'a');
    await start('n2', 'b');
    const snap = h.store.snapshot();
    const b1 = snap.blocks.find((b) => b.value.affinity === 'host:n1')!;
    const grown = {
      ...b1.value,
      allocations: [...b1.value.allocations],
      unallocated: [...b1.value.unallocated],
      attributes: [...b1.value.attributes],
    };
    // A second address of pod b's handle, but in n1's block and naming n1: its allocations disagree.
    assignFromHead(grown, 1, 'k8s-pod-network.b', { node: 'n1', namespace: 'ns', pod: 'b' });
    await h.store.blocks.update(grown, b1.version);
    const hb = h.store.snapshot().handles.find((x) => x.value.handleID === 'k8s-pod-network.b')!;
    const { node: _n, ...noNode } = hb.value;
    await h.store.handles.update(noNode, hb.version);
    const ha = h.store.snapshot().handles.find((x) => x.value.handleID === 'k8s-pod-network.a')!;
    await h.store.handles.update({ ...ha.value, block: { [b1.value.cidr]: 5 } }, ha.version);
    h.clock.advance(DEFAULT_LEAK_GRACE_PERIOD_MS);
    const first = plan(h, ['n1', 'n2'], pods);
    h.clock.advance(DEFAULT_LEAK_GRACE_PERIOD_MS);
    const p = plan(h, ['n1', 'n2'], pods, first.memory);
    expect(p.actions.map((a) => a.kind === 'fixHandle' && `${a.handleId}:${a.reason}:${a.node}`)).toEqual([
      'k8s-pod-network.a:overcount:n1',
      'k8s-pod-network.b:undercount:undefined',
    ]);
    await executeGc(h.store, p.actions, h.clock.ms);
    const nodesAfter = Object.fromEntries(h.store.snapshot().handles.map((x) => [x.value.handleID, x.value.node]));
    expect(nodesAfter).toEqual({ 'k8s-pod-network.a': 'n1', 'k8s-pod-network.b': undefined });
  });

  it('memory starts empty and the plan is deterministic', async () => {
    const { h, pods, start } = world();
    await start('n1', 'a');
    await start('n1', 'b');
    pods.clear();
    const a = plan(h, [], pods, emptyGcMemory());
    const b = plan(h, [], pods, emptyGcMemory());
    expect(a).toEqual(b);
  });
});
