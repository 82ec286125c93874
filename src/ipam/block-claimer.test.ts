// The operator's claimer: the pure plan (claims, pre-claims, releases, repairs) and its execution, including the
// per-node serialisation behind invariant I8.
import { describe, expect, it } from 'vitest';
import { type BlockAction, planBlockActions } from './block-claimer.js';
import { assignFromHead, newBlock } from './block.js';
import { DEFAULT_IPAM_CONFIG, type BlockAffinityData, type IPAMBlockData } from './model.js';
import { harness, nodes, testPool } from './test-fixtures.js';

const block = (cidr: string, node: string | null, used = 0): IPAMBlockData => {
  const b = newBlock(cidr, 64, {
    affinity: node === null ? null : `host:${node}`,
    affinityClaimTime: null,
    sequenceNumber: 1n,
  });
  assignFromHead(b, used, 'h', null);
  return b;
};
const aff = (node: string, cidr: string, state: BlockAffinityData['state'] = 'confirmed'): BlockAffinityData => ({
  node,
  cidr,
  state,
  type: 'host',
  deleted: false,
});

describe('planBlockActions', () => {
  const pools = [testPool('p', '10.0.0.0/16'), testPool('zoned', '10.1.0.0/16', { nodeSelector: "zone == 'z'" })];

  it.each<{
    name: string;
    blocks: IPAMBlockData[];
    affinities: BlockAffinityData[];
    labels?: Record<string, string>;
    config?: object;
    want: BlockAction[];
  }>([
    {
      name: 'a node without blocks gets one claimed',
      blocks: [],
      affinities: [],
      want: [{ kind: 'claim', node: 'n1', family: 4, pools: ['p'], reason: 'noBlock' }],
    },
    {
      name: 'plenty free: nothing to do',
      blocks: [block('10.0.0.0/26', 'n1', 10)],
      affinities: [aff('n1', '10.0.0.0/26')],
      want: [],
    },
    {
      name: 'below the watermark (a quarter of a block): pre-claim the next block',
      blocks: [block('10.0.0.0/26', 'n1', 49)],
      affinities: [aff('n1', '10.0.0.0/26')],
      want: [{ kind: 'claim', node: 'n1', family: 4, pools: ['p'], reason: 'preclaim' }],
    },
    {
      name: 'no pre-claim at the block cap',
      blocks: [block('10.0.0.0/26', 'n1', 64), block('10.0.0.64/26', 'n1', 60)],
      affinities: [aff('n1', '10.0.0.0/26'), aff('n1', '10.0.0.64/26')],
      config: { maxBlocksPerHost: 2, strictAffinity: true },
      want: [],
    },
    {
      name: 'no claims when autoAllocateBlocks is off',
      blocks: [],
      affinities: [],
      config: { autoAllocateBlocks: false, strictAffinity: true },
      want: [],
    },
    {
      name: 'an empty block of a pool that stopped selecting the node goes back',
      blocks: [block('10.0.0.0/26', 'n1', 10), block('10.1.0.0/26', 'n1', 0)],
      affinities: [aff('n1', '10.0.0.0/26'), aff('n1', '10.1.0.0/26')],
      want: [
        { kind: 'release', node: 'n1', cidr: '10.1.0.0/26', requireEmpty: true, reason: 'poolNoLongerSelectsNode' },
      ],
    },
    {
      name: 'repairs: pending, pendingDeletion, stale affinity, block without affinity',
      blocks: [
        block('10.0.0.0/26', 'n1', 10),
        block('10.0.0.64/26', 'n1', 10),
        block('10.0.1.0/26', 'n1', 1),
        block('10.0.2.0/26', 'other', 0),
      ],
      affinities: [
        aff('n1', '10.0.0.0/26'),
        aff('n1', '10.0.0.64/26', 'pending'),
        aff('n1', '10.0.1.128/26', 'pendingDeletion'),
        aff('n1', '10.0.2.0/26'),
      ],
      want: [
        { kind: 'repair', node: 'n1', cidr: '10.0.0.64/26', reason: 'pendingAffinity' },
        { kind: 'repair', node: 'n1', cidr: '10.0.1.0/26', reason: 'missingAffinity' },
        { kind: 'repair', node: 'n1', cidr: '10.0.1.128/26', reason: 'pendingDeletion' },
        { kind: 'repair', node: 'n1', cidr: '10.0.2.0/26', reason: 'staleAffinity' },
      ],
    },
  ])('$name', ({ blocks, affinities, config, want, labels }) => {
    const actions = planBlockActions({
      nodes: [{ name: 'n1', labels: labels ?? {} }],
      pools,
      config: { ...DEFAULT_IPAM_CONFIG, ...config },
      blocks,
      affinities,
    });
    expect(actions).toEqual(want);
  });

  it("keeps an empty block of a pool that does not select the node while the node's agent asks for that pool", () => {
    const input = {
      pools,
      config: DEFAULT_IPAM_CONFIG,
      blocks: [block('10.0.0.0/26', 'n1', 10), block('10.1.0.0/26', 'n1', 0)],
      affinities: [aff('n1', '10.0.0.0/26'), aff('n1', '10.1.0.0/26')],
    };
    expect(planBlockActions({ ...input, nodes: [{ name: 'n1', labels: {}, requestedPools: ['zoned'] }] })).toEqual([]);
    // Asking for another pool protects nothing else.
    expect(
      planBlockActions({ ...input, nodes: [{ name: 'n1', labels: {}, requestedPools: ['p'] }] }).map((a) => a.kind),
    ).toEqual(['release']);
  });

  it('claims per family when the node has IPv4 and IPv6 pools', () => {
    const actions = planBlockActions({
      nodes: [{ name: 'n1', labels: {} }],
      pools: [testPool('v4', '10.0.0.0/16'), testPool('v6', 'fd00::/48')],
      config: DEFAULT_IPAM_CONFIG,
      blocks: [],
      affinities: [],
    });
    expect(actions.map((a) => (a.kind === 'claim' ? a.family : 0))).toEqual([4, 6]);
  });
});

describe('BlockClaimer', () => {
  it('reconcile executes the plan: new nodes get a block, pre-claims happen before the node runs out', async () => {
    const h = harness('split', { pools: [testPool('p', '10.0.0.0/24')], nodes: nodes('n1', 'n2') });
    await h.claimer.reconcile(['n1', 'n2']);
    expect(
      h.store
        .snapshot()
        .blocks.map((b) => b.value.affinity)
        .sort(),
    ).toEqual(['host:n1', 'host:n2']);
    const agent = h.allocator('n1');
    await agent.autoAssign({ num4: 50, num6: 0, handleId: 'x', attrs: {}, node: 'n1', use: 'Workload' });
    const results = await h.claimer.reconcile(['n1', 'n2']);
    expect(results.map((r) => [r.action.kind, r.action.node, r.outcome])).toEqual([['claim', 'n1', 'done']]);
    expect(h.store.snapshot().blocks).toHaveLength(3);
  });

  it('I8: concurrent block requests for one node claim one block, never past the cap', async () => {
    const h = harness('split', {
      pools: [testPool('p', '10.0.0.0/24')],
      nodes: nodes('n1'),
      config: { maxBlocksPerHost: 2, strictAffinity: true },
    });
    const reqs = await Promise.all(
      Array.from({ length: 10 }, () => h.claimer.ensureBlock({ node: 'n1', family: 4, pools: ['p'] })),
    );
    expect(new Set(reqs.map((r) => (r.kind === 'block' ? r.block.value.cidr : r.kind))).size).toBe(1);
    expect(h.store.snapshot().blocks).toHaveLength(1);
    // Fill both allowed blocks, then ask again: blockLimit.
    await h.allocator('n1').autoAssign({ num4: 128, num6: 0, handleId: 'x', attrs: {}, node: 'n1', use: 'Workload' });
    expect(await h.claimer.ensureBlock({ node: 'n1', family: 4, pools: ['p'] })).toEqual({
      kind: 'blockLimit',
      limit: 2,
    });
    expect(h.store.snapshot().blocks).toHaveLength(2);
  });

  it('ensureBlock reports noFreeBlocks when the pool is taken and autoAllocateDisabled when claims are off', async () => {
    const h = harness('split', { pools: [testPool('p', '10.0.0.0/26')], nodes: nodes('n1', 'n2') });
    await h.claimer.ensureBlock({ node: 'n1', family: 4, pools: ['p'] });
    await h.allocator('n1').autoAssign({ num4: 1, num6: 0, handleId: 'x', attrs: {}, node: 'n1', use: 'Workload' });
    expect(await h.claimer.ensureBlock({ node: 'n2', family: 4, pools: ['p'] })).toEqual({ kind: 'noFreeBlocks' });
    h.view.ipamConfig = { ...h.view.ipamConfig, autoAllocateBlocks: false, strictAffinity: true };
    expect(await h.claimer.ensureBlock({ node: 'n2', family: 4, pools: ['p'] })).toEqual({
      kind: 'autoAllocateDisabled',
    });
  });

  it('reclaims an empty block another node claimed more than a minute ago', async () => {
    const h = harness('split', { pools: [testPool('p', '10.0.0.0/26')], nodes: nodes('n1', 'n2') });
    await h.claimer.ensureBlock({ node: 'n1', family: 4, pools: ['p'] });
    expect((await h.claimer.ensureBlock({ node: 'n2', family: 4, pools: ['p'] })).kind).toBe('noFreeBlocks');
    h.clock.advance(61_000);
    const r = await h.claimer.ensureBlock({ node: 'n2', family: 4, pools: ['p'] });
    expect(r.kind === 'block' && r.block.value.affinity).toBe('host:n2');
    expect(h.store.snapshot().affinities.map((a) => a.value.node)).toEqual(['n2']);
  });
});
