// Claim / release / repair of block affinities (calico: ipam_block_reader_writer.go), the ordered multi-object
// changes of invariant I4, and the handle counts of I3.
import { describe, expect, it } from 'vitest';
import { parseCidr } from '../net/index.js';
import { claimBlock, releaseBlockAffinity, repairAffinity } from './affinity-claims.js';
import { affinityKey, blockKey, handleKey } from './block-store.js';
import { assignFromHead, newBlock } from './block.js';
import { adjustHandle } from './handles.js';
import { InMemoryBlockStore, type StoreOp } from './in-memory-block-store.js';
import { isIpamError } from './errors.js';

const CIDR = '10.0.0.0/26';
const now = Date.UTC(2024, 0, 1);

async function affinityStates(s: InMemoryBlockStore) {
  return s.snapshot().affinities.map((a) => `${a.value.node}:${a.value.state}`);
}

describe('claimBlock', () => {
  it('writes pending affinity → block with host affinity → confirmed, in that order', async () => {
    const ops: string[] = [];
    const s = new InMemoryBlockStore({
      hooks: { before: (op: StoreOp) => void ops.push(`${op.kind} ${op.collection}`) },
    });
    const r = await claimBlock(s, 'n1', parseCidr(CIDR), { now });
    expect(r.kind).toBe('claimed');
    expect(ops).toEqual(['create affinities', 'create blocks', 'update affinities']);
    const b = s.snapshot().blocks[0]!.value;
    expect([b.affinity, b.affinityClaimTime, b.sequenceNumber]).toEqual([
      'host:n1',
      '2024-01-01T00:00:00Z',
      BigInt(now) * 1_000_000n,
    ]);
    expect(await affinityStates(s)).toEqual(['n1:confirmed']);
  });

  it('is idempotent for the same node (confirms and returns the existing block)', async () => {
    const s = new InMemoryBlockStore();
    await claimBlock(s, 'n1', parseCidr(CIDR), { now });
    const again = await claimBlock(s, 'n1', parseCidr(CIDR), { now });
    expect(again.kind === 'claimed' && !again.created).toBe(true);
    expect(s.snapshot().blocks).toHaveLength(1);
  });

  it('a block owned by another node: taken, and our pending affinity is withdrawn', async () => {
    const s = new InMemoryBlockStore();
    await claimBlock(s, 'n1', parseCidr(CIDR), { now });
    expect(await claimBlock(s, 'n2', parseCidr(CIDR), { now })).toEqual({ kind: 'taken', owner: 'n1' });
    expect(await affinityStates(s)).toEqual(['n1:confirmed']);
  });

  it('32 nodes racing for 16 blocks: every block ends with exactly one confirmed affinity', async () => {
    const s = new InMemoryBlockStore({ hooks: { before: () => new Promise((r) => setImmediate(r)) } });
    const cidrs = Array.from({ length: 16 }, (_, i) => parseCidr(`10.0.${i}.0/26`));
    await Promise.all(
      Array.from({ length: 32 }, (_, n) => Promise.all(cidrs.map((c) => claimBlock(s, `host-${n}`, c, { now })))),
    );
    const snap = s.snapshot();
    expect(snap.blocks).toHaveLength(16);
    for (const b of snap.blocks) {
      const affs = snap.affinities.filter((a) => a.value.cidr === b.value.cidr);
      expect(affs).toHaveLength(1);
      expect(`host:${affs[0]!.value.node}`).toBe(b.value.affinity);
      expect(affs[0]!.value.state).toBe('confirmed');
    }
  });
});

describe('releaseBlockAffinity', () => {
  async function owned(s: InMemoryBlockStore, used: number) {
    await claimBlock(s, 'n1', parseCidr(CIDR), { now });
    if (used > 0) {
      const b = (await s.blocks.get(blockKey(CIDR)))!;
      assignFromHead(b.value, used, 'h', null);
      await s.blocks.update(b.value, b.version);
    }
  }

  it.each([
    {
      name: 'empty block: deleted with its affinity',
      used: 0,
      requireEmpty: true,
      outcome: { kind: 'released', blockDeleted: true },
      blocks: 0,
      affinity: null,
    },
    {
      name: 'non-empty, requireEmpty: refused, nothing changes',
      used: 2,
      requireEmpty: true,
      outcome: { kind: 'notEmpty' },
      blocks: 1,
      affinity: 'host:n1',
    },
    {
      name: 'non-empty: block becomes un-affine, addresses stay',
      used: 2,
      requireEmpty: false,
      outcome: { kind: 'released', blockDeleted: false },
      blocks: 1,
      affinity: null,
    },
  ])('$name', async ({ used, requireEmpty, outcome, blocks, affinity }) => {
    const s = new InMemoryBlockStore();
    await owned(s, used);
    expect(await releaseBlockAffinity(s, 'n1', CIDR, { requireEmpty })).toEqual(outcome);
    const snap = s.snapshot();
    expect(snap.blocks).toHaveLength(blocks);
    if (blocks > 0) expect(snap.blocks[0]!.value.affinity).toBe(affinity);
    expect(snap.affinities.map((a) => a.value.state)).toEqual(outcome.kind === 'released' ? [] : ['confirmed']);
  });

  it('aborts when the block changed since the caller read it (reclaim race guard)', async () => {
    const s = new InMemoryBlockStore();
    await owned(s, 0);
    expect(await releaseBlockAffinity(s, 'n1', CIDR, { requireEmpty: true, requiredSequenceNumber: 1n })).toEqual({
      kind: 'sequenceChanged',
    });
  });

  it('deletes a stale affinity of a node whose block belongs to another', async () => {
    const s = new InMemoryBlockStore();
    await owned(s, 0);
    s.affinities.seed({ node: 'n2', cidr: CIDR, state: 'confirmed', type: 'host', deleted: false });
    expect(await releaseBlockAffinity(s, 'n2', CIDR, { requireEmpty: true })).toEqual({
      kind: 'claimConflict',
      owner: 'n1',
    });
    expect(await affinityStates(s)).toEqual(['n1:confirmed']);
  });

  it('writes pendingDeletion before touching the block, and deletes the affinity last', async () => {
    const ops: string[] = [];
    const s = new InMemoryBlockStore();
    await owned(s, 1);
    s.hooks = { before: (op) => void (op.kind !== 'get' && ops.push(`${op.kind} ${op.collection}`)) };
    await releaseBlockAffinity(s, 'n1', CIDR, { requireEmpty: false });
    expect(ops).toEqual(['update affinities', 'update blocks', 'delete affinities']);
  });
});

describe('repairAffinity (what a crash leaves)', () => {
  it.each([
    {
      name: 'pending affinity, no block: the claim is completed',
      seed: (s: InMemoryBlockStore) =>
        s.affinities.seed({ node: 'n1', cidr: CIDR, state: 'pending', type: 'host', deleted: false }),
      kind: 'confirmed',
      blocks: ['host:n1'],
      states: ['n1:confirmed'],
    },
    {
      name: 'pending affinity, block already ours: confirmed',
      seed: (s: InMemoryBlockStore) => {
        s.affinities.seed({ node: 'n1', cidr: CIDR, state: 'pending', type: 'host', deleted: false });
        s.blocks.seed(newBlock(CIDR, 64, { affinity: 'host:n1', affinityClaimTime: null, sequenceNumber: 1n }));
      },
      kind: 'confirmed',
      blocks: ['host:n1'],
      states: ['n1:confirmed'],
    },
    {
      name: 'pending affinity, block of another node: withdrawn',
      seed: (s: InMemoryBlockStore) => {
        s.affinities.seed({ node: 'n1', cidr: CIDR, state: 'pending', type: 'host', deleted: false });
        s.blocks.seed(newBlock(CIDR, 64, { affinity: 'host:n2', affinityClaimTime: null, sequenceNumber: 1n }));
      },
      kind: 'deletedStale',
      blocks: ['host:n2'],
      states: [],
    },
    {
      name: 'pendingDeletion affinity: the release is finished',
      seed: (s: InMemoryBlockStore) => {
        s.affinities.seed({ node: 'n1', cidr: CIDR, state: 'pendingDeletion', type: 'host', deleted: false });
        s.blocks.seed(newBlock(CIDR, 64, { affinity: 'host:n1', affinityClaimTime: null, sequenceNumber: 1n }));
      },
      kind: 'released',
      blocks: [],
      states: [],
    },
  ])('$name', async ({ seed, kind, blocks, states }) => {
    const s = new InMemoryBlockStore();
    seed(s);
    const aff = (await s.affinities.get(affinityKey('n1', CIDR)))!;
    const r = await repairAffinity(s, aff, parseCidr(CIDR), { now });
    expect(r.kind).toBe(kind);
    expect(s.snapshot().blocks.map((b) => b.value.affinity)).toEqual(blocks);
    expect(await affinityStates(s)).toEqual(states);
  });
});

describe('adjustHandle (I3 counts)', () => {
  it('creates on first increment without reading, sums per block, deletes at zero', async () => {
    const s = new InMemoryBlockStore();
    const a = await adjustHandle(s, 'h', { b1: 2 });
    expect(s.stats.gets).toBe(0);
    const b = await adjustHandle(s, 'h', { b1: 1, b2: 1 }, a);
    expect(b?.value.block).toEqual({ b1: 3, b2: 1 });
    const c = await adjustHandle(s, 'h', { b1: -3 }, b);
    expect(c?.value.block).toEqual({ b2: 1 });
    expect(await adjustHandle(s, 'h', { b2: -5 }, c)).toBeUndefined();
    expect(await s.handles.get(handleKey('h'))).toBeUndefined();
  });

  it('a stale known version costs one conflict and a read, never a lost count', async () => {
    const s = new InMemoryBlockStore();
    const a = await adjustHandle(s, 'h', { b1: 1 });
    await adjustHandle(s, 'h', { b1: 1 }, a);
    const r = await adjustHandle(s, 'h', { b1: 1 }, a);
    expect(r?.value.block).toEqual({ b1: 3 });
    expect(s.stats.conflicts).toBe(1);
  });
});

describe('I7: bounded retries', () => {
  it('a handle that changes under every write gives up after 100 attempts with a transient error naming it', async () => {
    const s = new InMemoryBlockStore();
    await adjustHandle(s, 'busy', { b1: 1 });
    let attempts = 0;
    s.hooks = {
      before: (op) => {
        if (op.kind !== 'update' && op.kind !== 'create') return;
        attempts++;
        // Another writer gets in first, every time.
        if (op.kind === 'update') s.handles.seed({ handleID: 'busy', block: { b1: attempts }, deleted: false });
      },
    };
    await expect(adjustHandle(s, 'busy', { b1: 1 })).rejects.toSatisfy(
      (e) =>
        isIpamError(e, 'retriesExhausted') &&
        e.errorClass === 'transient' &&
        e.message === 'IPAMHandle busy: Max retries hit - excessive concurrent IPAM requests',
    );
    expect(attempts).toBe(100);
  });

  it('a block that changes under every claim confirmation gives up too', async () => {
    const s = new InMemoryBlockStore();
    s.hooks = {
      before: (op) => {
        if (op.kind === 'update' && op.collection === 'affinities') {
          const a = s.snapshot().affinities[0]!.value;
          s.affinities.seed({ ...a, state: 'pending' });
        }
      },
    };
    await expect(claimBlock(s, 'n1', parseCidr(CIDR), { now })).rejects.toSatisfy((e) =>
      isIpamError(e, 'retriesExhausted'),
    );
  });
});
