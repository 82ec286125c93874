// The CNI's allocation semantics over the real src/ipam AddressAssigner (in-memory store).
import { describe, expect, it } from 'vitest';
import type { AssignRequest } from '../api/agent-ipam-protocol.js';
import { AddressAssigner, BlockClaimer, InMemoryBlockStore, allocationsOf } from '../ipam/index.js';
import { StaticView, seededRandom, testPool } from '../ipam/test-fixtures.js';
import { createPodAddressAllocator } from './pod-address-allocator.js';
import { PodAllocationError, classifyAllocatorError } from './ipam-server.js';

function setup(pools = [testPool('pool-a', '10.10.0.0/24', { blockSize: 26 })]) {
  const store = new InMemoryBlockStore();
  const view = new StaticView(pools, [{ name: 'node-a', labels: {} }]);
  let now = Date.UTC(2024, 0, 1);
  const claimer = new BlockClaimer({ store, view, clock: () => (now += 1000), random: seededRandom(1) });
  const assigner = new AddressAssigner({ store, view, node: 'node-a', source: claimer });
  const alloc = createPodAddressAllocator({
    allocator: assigner,
    store,
    node: 'node-a',
    now: () => new Date(Date.UTC(2024, 0, 2)),
  });
  return { store, alloc };
}

const req = (
  id: string,
  extra: Partial<Omit<AssignRequest, 'attrs'>> = {},
): AssignRequest & { attrs: { node: string } } => ({
  v: 1,
  op: 'assign',
  handleId: `k8s-pod-network.${id}`,
  containerId: id,
  attrs: { namespace: 'default', pod: `pod-${id}`, node: 'node-a' },
  families: [4],
  ...extra,
});

async function allAllocations(store: InMemoryBlockStore) {
  return (await store.blocks.list()).flatMap((b) => allocationsOf(b.value));
}

describe('pod address allocator', () => {
  it("assigns with Calico's attributes and gives the same address to the same handle", async () => {
    const { store, alloc } = setup();
    const first = await alloc.assign(req('c1'));
    expect(first).toHaveLength(1);
    expect(first[0]).toMatchObject({ family: 4 });
    expect(first[0]?.block).toMatch(/^10\.10\.0\.\d+\/26$/);
    expect(await alloc.assign(req('c1'))).toEqual(first);
    const allocs = await allAllocations(store);
    expect(allocs).toHaveLength(1);
    expect(allocs[0]).toMatchObject({
      address: first[0]?.address,
      handleId: 'k8s-pod-network.c1',
      attrs: { node: 'node-a', namespace: 'default', pod: 'pod-c1', timestamp: '2024-01-02T00:00:00.000Z' },
    });
    expect(await alloc.addressesByHandle?.('k8s-pod-network.c1')).toEqual(first);
  });

  it("trusts the caller's look at the handle: no second read, and its addresses are returned as they are", async () => {
    const { store, alloc } = setup();
    await alloc.assign(req('warm')); // the assigner's one-time restore of the node's blocks
    const gets = store.stats.gets;
    const fresh = await alloc.assign(req('c2'), { existing: [] });
    expect(fresh).toHaveLength(1);
    expect(store.stats.gets).toBe(gets);
    const known = [{ address: '10.10.0.9', family: 4 as const }];
    expect(await alloc.assign(req('c3'), { existing: known })).toBe(known);
  });

  it('releases by handle; an unknown handle is fine', async () => {
    const { store, alloc } = setup();
    await alloc.assign(req('c1'));
    await alloc.releaseByHandle('k8s-pod-network.c1');
    await alloc.releaseByHandle('k8s-pod-network.c1');
    await alloc.releaseByHandle('k8s-pod-network.never');
    expect(await allAllocations(store)).toEqual([]);
    expect(await alloc.addressesByHandle?.('k8s-pod-network.c1')).toEqual([]);
  });

  it('never hands out an address twice, and fails cleanly when the pool is full', async () => {
    const { store, alloc } = setup([testPool('tiny', '10.20.0.0/30', { blockSize: 30 })]);
    const got = await Promise.all([1, 2, 3, 4].map((i) => alloc.assign(req(`c${i}`))));
    expect(new Set(got.flat().map((a) => a.address)).size).toBe(4);
    const err = await alloc.assign(req('c5')).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(classifyAllocatorError(err).code).toBe('exhausted');
    expect(classifyAllocatorError(err).message).toMatch(/10\.20\.0\.0\/30|block/);
    expect(await alloc.addressesByHandle?.('k8s-pod-network.c5')).toEqual([]);
    expect((await allAllocations(store)).map((a) => a.handleId).sort()).toEqual(
      [1, 2, 3, 4].map((i) => `k8s-pod-network.c${i}`),
    );
  });

  it('is all or nothing across families: no IPv6 pool ⇒ the IPv4 address is released again', async () => {
    const { store, alloc } = setup();
    const err = await alloc.assign(req('c1', { families: [4, 6] })).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeDefined();
    expect(classifyAllocatorError(err).code).toBe('invalid');
    expect(await allAllocations(store)).toEqual([]);
  });

  it("assigns the addresses Calico's ipAddrs annotation asks for, refusing one that is taken", async () => {
    const { alloc } = setup();
    expect(await alloc.assign(req('c1', { ipAddrs: ['10.10.0.77'] }))).toEqual([{ address: '10.10.0.77', family: 4 }]);
    const err = await alloc.assign(req('c2', { ipAddrs: ['10.10.0.77'] })).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(classifyAllocatorError(err).code).toBe('invalid');
    expect(await alloc.addressesByHandle?.('k8s-pod-network.c2')).toEqual([]);
  });

  it('honours requested pools', async () => {
    const { alloc } = setup([
      testPool('pool-a', '10.10.0.0/24', { blockSize: 26 }),
      testPool('pool-b', '10.30.0.0/24', { blockSize: 26 }),
    ]);
    const [a] = await alloc.assign(req('c1', { ipv4Pools: ['pool-b'] }));
    expect(a?.address).toMatch(/^10\.30\.0\./);
    const err = await alloc.assign(req('c2', { ipv4Pools: ['10.99.0.0/16'] })).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(classifyAllocatorError(err)).toMatchObject({ code: 'invalid' });
    expect(err).not.toBeInstanceOf(PodAllocationError);
  });
});
