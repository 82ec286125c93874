import { describe, expect, it } from 'vitest';
import { newBlock } from '../ipam/block.js';
import { InMemoryBlockStore } from '../ipam/in-memory-block-store.js';
import type { AffinityState } from '../ipam/model.js';
import { StaticView, nodes, testPool } from '../ipam/test-fixtures.js';
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
  const demand = {
    open(family: 4 | 6, pools: readonly string[]) {
      log.push(`open ${family} ${pools.join(',')}`);
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
    demand,
    sleep: async (ms) => {
      slept += ms;
      await onSleep?.(slept);
    },
  });
  return { src, slept: () => slept, demand: log };
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

  it('refuses borrowing and writes outside its blocks, naming the node and why', async () => {
    const { src } = source(new InMemoryBlockStore());
    await expect(src.borrow({ node: 'n1', family: 4, pools: [], num: 1, handleId: 'h', attrs: {} })).rejects.toThrow(
      /borrowing from another node's block is done by the operator, not the node agent/,
    );
    await expect(src.assignIP({ ip: '10.10.0.5', handleId: 'h', attrs: {}, node: 'n1' })).rejects.toThrow(/operator/);
  });
});
