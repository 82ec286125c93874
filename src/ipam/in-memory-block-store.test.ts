// The BlockStore contract (block-store.ts S1–S4) on the in-memory store, and its test hooks.
import { describe, expect, it } from 'vitest';
import { affinityKey, blockKey, handleKey } from './block-store.js';
import { newBlock } from './block.js';
import { InMemoryBlockStore, storeReads, storeWrites } from './in-memory-block-store.js';

const block = (cidr = '10.0.0.0/30') =>
  newBlock(cidr, 4, { affinity: 'host:n1', affinityClaimTime: null, sequenceNumber: 1n });

describe('compare-and-swap contract', () => {
  it('S2: create succeeds only when nothing is stored under the key', async () => {
    const s = new InMemoryBlockStore();
    const a = await s.blocks.create(block());
    expect(a.ok).toBe(true);
    expect(await s.blocks.create(block())).toEqual({ ok: false, reason: 'exists' });
  });

  it('S1: update and delete need the current version; each write makes a new version', async () => {
    const s = new InMemoryBlockStore();
    const a = await s.blocks.create(block());
    if (!a.ok) throw new Error('create failed');
    const u = await s.blocks.update({ ...a.value, sequenceNumber: 2n }, a.version);
    if (!u.ok) throw new Error('update failed');
    expect(u.version).not.toBe(a.version);
    expect(await s.blocks.update({ ...a.value, sequenceNumber: 3n }, a.version)).toEqual({
      ok: false,
      reason: 'conflict',
    });
    expect(await s.blocks.delete(blockKey('10.0.0.0/30'), a.version)).toEqual({ ok: false, reason: 'conflict' });
    expect(await s.blocks.delete(blockKey('10.0.0.0/30'), u.version)).toEqual({ ok: true });
    expect(await s.blocks.update(a.value, u.version)).toEqual({ ok: false, reason: 'notFound' });
    expect(await s.blocks.delete(blockKey('10.0.0.0/30'), u.version)).toEqual({ ok: false, reason: 'notFound' });
    // A recreated object never reuses a version (no ABA on versions either).
    const again = await s.blocks.create(block());
    expect(again.ok && again.version !== a.version && again.version !== u.version).toBe(true);
  });

  it('S3: soft-deleted objects are absent to readers and create replaces them', async () => {
    const s = new InMemoryBlockStore();
    s.affinities.seed({ node: 'n1', cidr: '10.0.0.0/30', state: 'confirmed', type: 'host', deleted: true });
    expect(await s.affinities.get(affinityKey('n1', '10.0.0.0/30'))).toBeUndefined();
    expect(await s.affinities.list()).toEqual([]);
    const c = await s.affinities.create({
      node: 'n1',
      cidr: '10.0.0.0/30',
      state: 'pending',
      type: 'host',
      deleted: false,
    });
    expect(c.ok).toBe(true);
  });

  it('copies values in and out: callers cannot change stored state except by writing', async () => {
    const s = new InMemoryBlockStore();
    const b = block();
    await s.blocks.create(b);
    b.unallocated.length = 0;
    const got = await s.blocks.get(blockKey('10.0.0.0/30'));
    expect(got?.value.unallocated).toEqual([0, 1, 2, 3]);
    got!.value.unallocated.pop();
    expect((await s.blocks.get(blockKey('10.0.0.0/30')))?.value.unallocated).toHaveLength(4);
  });

  it('keys are Calico object names', async () => {
    const s = new InMemoryBlockStore();
    await s.handles.create({ handleID: 'K8s-Pod-Network.ABC', block: { '10.0.0.0/30': 1 }, deleted: false });
    expect(s.handles.keyOf({ handleID: 'K8s-Pod-Network.ABC', block: {}, deleted: false })).toBe('k8s-pod-network.abc');
    expect(await s.handles.get(handleKey('K8s-Pod-Network.ABC'))).toBeDefined();
    expect(blockKey('10.244.1.0/26')).toBe('10-244-1-0-26');
    expect(affinityKey('node-1', '10.244.1.0/26')).toBe('node-1-10-244-1-0-26');
  });
});

describe('hooks and stats', () => {
  it('a throwing hook is a crash: the operation does not happen', async () => {
    const s = new InMemoryBlockStore({
      hooks: {
        before: (op) => {
          if (op.kind === 'create') throw new Error('crash');
        },
      },
    });
    await expect(s.blocks.create(block())).rejects.toThrow('crash');
    expect(s.snapshot().blocks).toEqual([]);
  });

  it('an awaiting hook decides when each operation happens', async () => {
    const order: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const s = new InMemoryBlockStore({
      hooks: {
        before: async (op) => {
          if (op.kind === 'create' && op.key === blockKey('10.0.0.0/30')) await gate;
        },
      },
    });
    const first = s.blocks.create(block('10.0.0.0/30')).then(() => order.push('first'));
    const second = s.blocks.create(block('10.0.0.4/30')).then(() => order.push('second'));
    await second;
    release();
    await first;
    expect(order).toEqual(['second', 'first']);
  });

  it('counts reads, writes and refused writes', async () => {
    const s = new InMemoryBlockStore();
    await s.blocks.create(block());
    await s.blocks.create(block());
    await s.blocks.list();
    await s.blocks.get(blockKey('10.0.0.0/30'));
    expect(s.stats).toEqual({ gets: 1, lists: 1, creates: 1, updates: 0, deletes: 0, conflicts: 1 });
    expect([storeReads(s.stats), storeWrites(s.stats)]).toEqual([2, 1]);
  });
});
