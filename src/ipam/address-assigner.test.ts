// The agent's allocator: one writer per block, group commit, no reads on the hot path (I2, I9).
import { describe, expect, it } from 'vitest';
import { cidrContainsIP, parseCidr, parseIP } from '../net/index.js';
import { claimBlock } from './affinity-claims.js';
import { AddressAssigner } from './address-assigner.js';
import { blockKey } from './block-store.js';
import { storeReads } from './in-memory-block-store.js';
import { harness, nodes, testPool } from './test-fixtures.js';
import { checkIpam } from './check.js';
import { newBlock } from './block.js';

const assign = (a: AddressAssigner, handle: string, num = 1) =>
  a.autoAssign({
    num4: num,
    num6: 0,
    handleId: handle,
    attrs: { node: a.node, pod: handle, namespace: 'ns' },
    node: a.node,
    use: 'Workload',
  });

function split(poolCidr = '10.0.0.0/24') {
  const h = harness('split', { pools: [testPool('p', poolCidr)], nodes: nodes('n1', 'n2') });
  return { h, agent: h.allocator('n1') as AddressAssigner };
}

describe('group commit', () => {
  it('20 concurrent assignments in one block cost one block write (after the block exists)', async () => {
    const { h, agent } = split();
    await assign(agent, 'warm-up');
    h.store.resetStats();
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => assign(agent, `pod-${i}`)));
    const ips = results.map((r) => r.v4!.ips[0]!);
    expect(new Set(ips).size).toBe(20);
    expect(h.store.stats.updates).toBe(1); // the block
    expect(h.store.stats.creates).toBe(20); // one handle per pod
    expect(storeReads(h.store.stats)).toBe(0);
    expect(h.store.stats.conflicts).toBe(0);
  });

  it('concurrent releases coalesce too, and handles the agent wrote are deleted without a read', async () => {
    const { h, agent } = split();
    await Promise.all(Array.from({ length: 10 }, (_, i) => assign(agent, `pod-${i}`)));
    h.store.resetStats();
    await Promise.all(Array.from({ length: 10 }, (_, i) => agent.releaseByHandle(`pod-${i}`)));
    expect(h.store.stats.updates).toBe(1);
    expect(h.store.stats.deletes).toBe(10);
    expect(storeReads(h.store.stats)).toBe(0);
    expect(h.store.snapshot().blocks[0]!.value.unallocated).toHaveLength(64);
  });

  it('a request spanning two blocks waits for the pre-claimed next block and writes each once', async () => {
    const { h, agent } = split();
    const r = await assign(agent, 'big', 70);
    expect(r.v4?.ips).toHaveLength(70);
    expect(h.store.snapshot().blocks).toHaveLength(2);
    expect(h.store.snapshot().handles[0]?.value.block).toEqual(
      Object.fromEntries(h.store.snapshot().blocks.map((b) => [b.value.cidr, 64 - b.value.unallocated.length])),
    );
  });
});

describe('one writer per block', () => {
  it('only assigns in blocks affine to its node with a confirmed affinity (restore before allocate)', async () => {
    const { h } = split();
    // A block of n1 whose affinity is still pending (a claim in flight) and a block of n2.
    h.store.blocks.seed(
      newBlock('10.0.0.0/26', 64, { affinity: 'host:n1', affinityClaimTime: null, sequenceNumber: 1n }),
    );
    h.store.affinities.seed({ node: 'n1', cidr: '10.0.0.0/26', state: 'pending', type: 'host', deleted: false });
    await claimBlock(h.store, 'n2', parseCidr('10.0.0.64/26'), { now: h.clock.ms });
    const agent = new AddressAssigner({ store: h.store, view: h.view, node: 'n1', source: h.claimer });
    await agent.restore();
    expect(agent.ownBlocks()).toEqual([]);
    const r = await assign(agent, 'p');
    // The operator completed the pending claim (or gave a fresh block); the address is in a block of n1.
    const ip = parseIP(r.v4!.ips[0]!.split('/')[0]!);
    const holder = h.store.snapshot().blocks.find((b) => cidrContainsIP(parseCidr(b.value.cidr), ip));
    expect(holder?.value.affinity).toBe('host:n1');
    expect(agent.ownBlocks()).toContain(holder?.value.cidr);
  });

  it('refuses requests for another node', async () => {
    const { agent } = split();
    const r = await agent.autoAssign({ num4: 1, num6: 0, handleId: 'x', attrs: {}, node: 'n2', use: 'Workload' });
    expect(r.error?.code).toBe('notOwnBlock');
  });

  it('a write by the operator in its block (borrowing) costs one conflict and one read, never a duplicate', async () => {
    const { h, agent } = split('10.0.0.0/26');
    await assign(agent, 'first');
    // n2 cannot get a block (the pool has one): the operator borrows from n1's block behind the agent's back.
    const other = h.allocator('n2') as AddressAssigner;
    const borrowed = await assign(other, 'borrower');
    expect(borrowed.v4?.ips).toEqual(['10.0.0.1/26']);
    h.store.resetStats();
    const mine = await assign(agent, 'second');
    expect(mine.v4?.ips).toEqual(['10.0.0.2/26']);
    expect(h.store.stats.conflicts).toBe(1);
    expect(h.store.stats.gets).toBe(1);
    const s = h.store.snapshot();
    expect(checkIpam({ blocks: s.blocks, affinities: s.affinities, handles: s.handles }).summary.errors).toBe(0);
  });

  it('drops a block the operator released and asks for another', async () => {
    const { h, agent } = split();
    await assign(agent, 'a');
    await agent.releaseByHandle('a');
    const cidr = agent.ownBlocks()[0]!;
    await h.claimer.releaseNodeAffinities('n1', true);
    expect(await h.store.blocks.get(blockKey(cidr))).toBeUndefined();
    const r = await assign(agent, 'b');
    expect(r.v4?.ips).toHaveLength(1);
    expect(agent.ownBlocks()).toHaveLength(1);
  });

  it("records its node on every handle it creates, and a handle spanning another node's block keeps it", async () => {
    const { h } = split('10.0.0.0/26');
    const a1 = h.allocator('n1') as AddressAssigner;
    const a2 = h.allocator('n2') as AddressAssigner;
    await assign(a1, 'x');
    // n2 gets no block of its own (the pool has one): its handle's address is borrowed from n1's block.
    await assign(a2, 'borrower');
    await assign(a1, 'y');
    await a1.releaseIPs([{ address: (await a1.ipsByHandle('y'))[0]!, handleId: 'y' }]);
    await assign(a1, 'y');
    const nodes = Object.fromEntries(h.store.snapshot().handles.map((x) => [x.value.handleID, x.value.node]));
    expect(nodes).toEqual({ x: 'n1', y: 'n1', borrower: 'n2' });
  });

  it('releases a borrowed address through the operator', async () => {
    const { h } = split('10.0.0.0/26');
    const a1 = h.allocator('n1') as AddressAssigner;
    const a2 = h.allocator('n2') as AddressAssigner;
    await assign(a1, 'x');
    const b = await assign(a2, 'borrower');
    expect(await a2.ipsByHandle('borrower')).toEqual([b.v4!.ips[0]!.split('/')[0]]);
    await a2.releaseIPs([{ address: b.v4!.ips[0]!.split('/')[0]! }]);
    expect(h.store.snapshot().handles.map((x) => x.value.handleID)).toEqual(['x']);
  });
});

describe('a release interrupted between its block write and its handle write (the apiserver went away)', () => {
  /** Fails the next write of `collection` once, before it reaches the store. */
  function failNextWrite(h: ReturnType<typeof split>['h'], collection: 'handles'): void {
    let armed = true;
    h.store.hooks = {
      before: (op) => {
        if (armed && op.collection === collection && op.kind !== 'get' && op.kind !== 'list') {
          armed = false;
          throw new Error('503 the apiserver is shutting down');
        }
      },
    };
  }

  const errorsOf = (h: ReturnType<typeof split>['h']) => {
    const s = h.store.snapshot();
    return checkIpam({ blocks: s.blocks, affinities: s.affinities, handles: s.handles })
      .findings.filter((f) => f.severity === 'error')
      .map((f) => `${f.code} ${f.object.name}`);
  };

  it("the kubelet's retried DEL deletes the handle that still counted the released address", async () => {
    const { h, agent } = split();
    await assign(agent, 'k8s-pod-network.a');
    await assign(agent, 'k8s-pod-network.b');
    failNextWrite(h, 'handles');
    await expect(agent.releaseByHandle('k8s-pod-network.a')).rejects.toThrow('503');
    // The block no longer holds a's address; its handle still counts it: the state the chaos run's check found.
    expect(errorsOf(h)).toEqual(['handleMismatch k8s-pod-network.a']);
    await agent.releaseByHandle('k8s-pod-network.a');
    expect(errorsOf(h)).toEqual([]);
    expect(h.store.snapshot().handles.map((x) => x.value.handleID)).toEqual(['k8s-pod-network.b']);
    // A DEL of a handle that is gone reads it once and writes nothing.
    h.store.resetStats();
    await agent.releaseByHandle('k8s-pod-network.a');
    expect(h.store.stats.gets).toBe(1);
    expect(h.store.stats.updates + h.store.stats.deletes + h.store.stats.creates).toBe(0);
  });

  it("a handle counting two addresses of which the block still holds one: a restarted agent's DEL releases both counts", async () => {
    const { h, agent } = split();
    const r = await assign(agent, 'k8s-pod-network.two', 2);
    const [first] = r.v4!.ips.map((x) => x.split('/')[0]!);
    failNextWrite(h, 'handles');
    await expect(agent.releaseIPs([{ address: first!, handleId: 'k8s-pod-network.two' }])).rejects.toThrow('503');
    const cidr = agent.ownBlocks()[0]!;
    expect(h.store.snapshot().handles[0]!.value.block).toEqual({ [cidr]: 2 });
    // A second agent process (restarted) releases the handle: the block's last address and the stale count go.
    const restarted = new AddressAssigner({ store: h.store, view: h.view, node: 'n1', source: h.claimer });
    await restarted.releaseByHandle('k8s-pod-network.two');
    expect(h.store.snapshot().handles).toEqual([]);
    expect(errorsOf(h)).toEqual([]);
  });

  it('a handle written by someone else between the read and the repair is left to GC, never lowered', async () => {
    const { h, agent } = split();
    await assign(agent, 'k8s-pod-network.a');
    failNextWrite(h, 'handles');
    await expect(agent.releaseByHandle('k8s-pod-network.a')).rejects.toThrow('503');
    const cidr = agent.ownBlocks()[0]!;
    // After the retried DEL read the handle and before its repair lands, a writer raises the count (as an ADD's
    // increment would, I3).
    let raised = false;
    h.store.hooks = {
      before: async (op) => {
        if (raised || op.collection !== 'handles' || (op.kind !== 'delete' && op.kind !== 'update')) return;
        raised = true;
        h.store.hooks = {};
        const v = (await h.store.handles.get(op.key!))!;
        await h.store.handles.update({ ...v.value, block: { [cidr]: 2 } }, v.version);
      },
    };
    await agent.releaseByHandle('k8s-pod-network.a');
    expect(raised).toBe(true);
    expect(h.store.snapshot().handles.map((x) => x.value.block)).toEqual([{ [cidr]: 2 }]);
  });
});
