import { describe, expect, it } from 'vitest';
import { assignFromHead, cloneBlock, newBlock, releaseHandle } from '../ipam/block.js';
import { blockKey } from '../ipam/block-store.js';
import { InMemoryBlockStore } from '../ipam/in-memory-block-store.js';
import type { AffinityState } from '../ipam/model.js';
import { StaticView, nodes, testPool } from '../ipam/test-fixtures.js';
import type { IpamRequestBody } from '../api/ipam-request.js';
import { createOperatorBlockSource } from './operator-block-source.js';

const view = new StaticView(
  [testPool('pool-a', '10.10.0.0/16'), testPool('pool-b', '10.20.0.0/16')],
  nodes('n1', 'n2'),
);

async function seed(
  store: InMemoryBlockStore,
  node: string,
  cidr: string,
  opts: { state?: AffinityState; full?: boolean; affinity?: string } = {},
): Promise<void> {
  const b = newBlock(cidr, 64, {
    affinity: opts.affinity ?? `host:${node}`,
    affinityClaimTime: null,
    sequenceNumber: 1n,
  });
  if (opts.full) {
    b.attributes.push({ handle_id: 'h', secondary: null });
    b.allocations.fill(0);
    b.unallocated = [];
  }
  await store.blocks.create(b);
  await store.affinities.create({ node, cidr, state: opts.state ?? 'confirmed', type: 'host', deleted: false });
}

function source(store: InMemoryBlockStore, onSleep?: (sleptMs: number) => Promise<void>) {
  let slept = 0;
  const log: string[] = [];
  const failures = new Map<string, string>();
  const demand = {
    failure: (id: string) => failures.get(id),
    open(r: IpamRequestBody) {
      log.push(r.kind === 'block' ? `open ${r.family} ${r.pools.join(',')}` : `open ${JSON.stringify(r)}`);
      return `r${log.length}`;
    },
    close(id: string) {
      log.push(`close ${id}`);
    },
  };
  const src = createOperatorBlockSource({
    store,
    view,
    node: 'n1',
    waitMs: 1000,
    pollMs: 250,
    requests: demand,
    sleep: async (ms) => {
      slept += ms;
      await onSleep?.(slept);
    },
  });
  return { src, slept: () => slept, demand: log, failures };
}

describe('operator block source (agents never claim)', () => {
  it('returns a confirmed block of this node with free addresses in a requested pool', async () => {
    const store = new InMemoryBlockStore();
    await seed(store, 'n1', '10.10.0.0/26', { full: true });
    await seed(store, 'n1', '10.10.0.64/26');
    const { src } = source(store);
    const r = await src.ensureBlock({ node: 'n1', family: 4, pools: ['pool-a'] });
    expect(r.kind).toBe('block');
    expect(r.kind === 'block' && r.block.value.cidr).toBe('10.10.0.64/26');
  });

  it('asks nothing of the operator when a block with room is there', async () => {
    const store = new InMemoryBlockStore();
    await seed(store, 'n1', '10.10.0.0/26');
    const { src, demand } = source(store);
    expect((await src.ensureBlock({ node: 'n1', family: 4, pools: ['pool-a'] })).kind).toBe('block');
    expect(demand).toEqual([]);
  });

  it('asks the operator once for a block in the pools it lacks, and withdraws the request once it has one', async () => {
    const store = new InMemoryBlockStore();
    // The operator answers the request after the agent has waited 500 ms.
    const { src, demand, slept } = source(store, async (ms) => {
      if (ms === 500) await seed(store, 'n1', '10.20.0.0/26');
    });
    const r = await src.ensureBlock({ node: 'n1', family: 4, pools: ['pool-b'] });
    expect(r.kind === 'block' && r.block.value.cidr).toBe('10.20.0.0/26');
    expect(slept()).toBe(500);
    expect(demand).toEqual(['open 4 pool-b', 'close r1']);
  });

  it('stops waiting as soon as the operator answers that it cannot serve the request', async () => {
    const store = new InMemoryBlockStore();
    const box: { failures?: Map<string, string> } = {};
    const s = source(store, async (ms) => {
      if (ms === 250) box.failures!.set('r1', 'noFreeBlocks');
    });
    box.failures = s.failures;
    expect(await s.src.ensureBlock({ node: 'n1', family: 4, pools: ['pool-b'] })).toEqual({ kind: 'noFreeBlocks' });
    expect(s.slept()).toBe(250);
    expect(s.demand).toEqual(['open 4 pool-b', 'close r1']);
  });

  it('withdraws the request when it gives up, and when reading the store fails', async () => {
    const store = new InMemoryBlockStore();
    const { src, demand } = source(store);
    expect(await src.ensureBlock({ node: 'n1', family: 4, pools: ['pool-a', 'pool-b'] })).toEqual({
      kind: 'noFreeBlocks',
    });
    expect(demand).toEqual(['open 4 pool-a,pool-b', 'close r1']);
    const failing = source(store, async () => {
      store.affinities.list = async () => {
        throw new Error('apiserver down');
      };
    });
    await expect(failing.src.ensureBlock({ node: 'n1', family: 4, pools: ['pool-a'] })).rejects.toThrow(/down/);
    expect(failing.demand).toEqual(['open 4 pool-a', 'close r1']);
  });

  it.each([
    ['a full block', { full: true }, 'n1', '10.10.0.0/26', ['pool-a']],
    ['a pending affinity', { state: 'pending' as const }, 'n1', '10.10.0.0/26', ['pool-a']],
    ["another node's block", {}, 'n2', '10.10.0.0/26', ['pool-a']],
    ['a block in a pool not requested', {}, 'n1', '10.20.0.0/26', ['pool-a']],
  ])('waits, then reports no free block rather than claiming, given %s', async (_name, opts, node, cidr, pools) => {
    const store = new InMemoryBlockStore();
    await seed(store, node, cidr, opts);
    const before = store.stats.creates + store.stats.updates;
    const { src, slept } = source(store);
    expect(await src.ensureBlock({ node: 'n1', family: 4, pools })).toEqual({ kind: 'noFreeBlocks' });
    expect(slept()).toBe(1000);
    expect(store.stats.creates + store.stats.updates).toBe(before);
  });

  it('without a channel to the operator, refuses borrowing and writes outside its blocks, naming the node', async () => {
    const src = createOperatorBlockSource({ store: new InMemoryBlockStore(), view, node: 'n1' });
    await expect(src.borrow({ node: 'n1', family: 4, pools: [], num: 1, handleId: 'h', attrs: {} })).rejects.toThrow(
      /borrowing from another node's block is done by the operator, not the node agent/,
    );
    await expect(src.releaseHandleIn('h', ['10.10.0.0/26'])).rejects.toThrow(/operator/);
    await expect(src.releaseIPs([{ address: '10.10.0.1' }])).rejects.toThrow(/operator/);
    const { src: withChannel } = source(new InMemoryBlockStore());
    await expect(withChannel.assignIP({ ip: '10.10.0.5', handleId: 'h', attrs: {}, node: 'n1' })).rejects.toThrow(
      /assigning 10\.10\.0\.5 outside this node's blocks is done by the operator/,
    );
  });

  /** Stands in for the operator: borrows one address of n2's block for the handle (as BlockClaimer.borrow would). */
  async function operatorBorrows(store: InMemoryBlockStore, handleId: string): Promise<void> {
    const key = blockKey('10.10.0.64/26');
    const b = (await store.blocks.get(key))!;
    const next = cloneBlock(b.value);
    assignFromHead(next, 1, handleId, { node: 'n1' });
    await store.blocks.update(next, b.version);
    await store.handles.create({ handleID: handleId, block: { '10.10.0.64/26': 1 }, deleted: false });
  }

  it("borrows through the operator: asks, then reads the address back through the handle's blocks", async () => {
    const store = new InMemoryBlockStore();
    await seed(store, 'n2', '10.10.0.64/26');
    const { src, demand } = source(store, async (ms) => {
      if (ms === 250) await operatorBorrows(store, 'k8s-pod-network.c1');
    });
    const pools = view.pools().filter((p) => p.name === 'pool-a');
    const r = await src.borrow({
      node: 'n1',
      family: 4,
      pools,
      num: 1,
      handleId: 'k8s-pod-network.c1',
      attrs: { pod: 'p' },
    });
    expect(r.ips).toEqual(['10.10.0.64/26']);
    expect(r.msgs).toEqual([]);
    expect(r.handle?.value.block).toEqual({ '10.10.0.64/26': 1 });
    expect(demand).toEqual([
      'open {"kind":"borrow","family":4,"pools":["pool-a"],"num":1,"handleId":"k8s-pod-network.c1","attrs":{"pod":"p"}}',
      'close r1',
    ]);
  });

  it('a borrow the operator does not serve in time ends as "no IPs available", with the request withdrawn', async () => {
    const { src, demand, slept } = source(new InMemoryBlockStore());
    const pools = view.pools().filter((p) => p.name === 'pool-a');
    const r = await src.borrow({ node: 'n1', family: 4, pools, num: 1, handleId: 'h', attrs: {} });
    expect(r).toEqual({ ips: [], msgs: ['No IPs available in pools: [10.10.0.0/16]'] });
    expect(slept()).toBe(1000);
    expect(demand.at(-1)).toBe('close r1');
  });

  it("releases a handle in another node's block through the operator, and says so when the operator does not", async () => {
    const store = new InMemoryBlockStore();
    await seed(store, 'n2', '10.10.0.64/26');
    await operatorBorrows(store, 'h1');
    const { src, demand } = source(store, async (ms) => {
      if (ms !== 500) return;
      const b = (await store.blocks.get(blockKey('10.10.0.64/26')))!;
      const next = cloneBlock(b.value);
      releaseHandle(next, 'h1');
      await store.blocks.update(next, b.version);
    });
    await src.releaseHandleIn('h1', ['10.10.0.64/26']);
    expect(demand).toEqual(['open {"kind":"releaseHandle","handleId":"h1","blocks":["10.10.0.64/26"]}', 'close r1']);
    // Nothing held: nothing to ask.
    const again = source(store);
    await again.src.releaseHandleIn('h1', ['10.10.0.64/26']);
    expect(again.demand).toEqual([]);
    await operatorBorrows(store, 'h2');
    const stuck = source(store);
    await expect(stuck.src.releaseHandleIn('h2', ['10.10.0.64/26'])).rejects.toThrow(
      /releasing h2 in 10\.10\.0\.64\/26: the operator did not do it within 1000 ms/,
    );
  });
});
