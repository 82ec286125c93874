// IPAM history from the agent's allocator: which decisions a CNI ADD and DEL record, over the real AddressAssigner
// and an in-memory store. Expected addresses are Calico's: the first pod of a fresh block gets its first address.
import { describe, expect, it } from 'vitest';
import type { AssignRequest } from '../api/agent-ipam-protocol.js';
import { AddressAssigner, BlockClaimer, InMemoryBlockStore, type IpamDecision } from '../ipam/index.js';
import { StaticView, seededRandom, testPool } from '../ipam/test-fixtures.js';
import { createPodAddressAllocator } from './pod-address-allocator.js';

function setup() {
  const store = new InMemoryBlockStore();
  // One block: the node's block is 10.10.0.0/26 whatever its start index.
  const view = new StaticView(
    [testPool('pool-a', '10.10.0.0/26', { blockSize: 26 })],
    [{ name: 'node-a', labels: {} }],
  );
  const claimer = new BlockClaimer({ store, view, clock: () => Date.UTC(2024, 0, 1), random: seededRandom(1) });
  const decisions: IpamDecision[] = [];
  const make = () =>
    createPodAddressAllocator({
      allocator: new AddressAssigner({ store, view, node: 'node-a', source: claimer }),
      store,
      node: 'node-a',
      now: () => new Date(Date.UTC(2024, 0, 2)),
      history: (d) => decisions.push(d),
    });
  return { store, decisions, alloc: make(), restarted: make };
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

describe('IPAM history of a CNI ADD and DEL', () => {
  it('an ADD records the address, its block, the pod and the handle; a repeated ADD records nothing', async () => {
    const { alloc, decisions } = setup();
    await alloc.assign(req('c1'));
    await alloc.assign(req('c1'));
    expect(decisions).toEqual([
      {
        kind: 'assigned',
        node: 'node-a',
        handleId: 'k8s-pod-network.c1',
        addresses: [{ address: '10.10.0.0', block: '10.10.0.0/26' }],
        pod: { namespace: 'default', name: 'pod-c1' },
      },
    ]);
  });

  it('a DEL records what it released, once: a second DEL of the same handle decided nothing', async () => {
    const { alloc, decisions } = setup();
    await alloc.assign(req('c1'));
    await alloc.assign(req('c2'));
    decisions.length = 0;
    await alloc.releaseByHandle('k8s-pod-network.c2');
    await alloc.releaseByHandle('k8s-pod-network.c2');
    await alloc.releaseByHandle('k8s-pod-network.never-assigned');
    expect(decisions).toEqual([
      {
        kind: 'released',
        node: 'node-a',
        handleId: 'k8s-pod-network.c2',
        addresses: [{ address: '10.10.0.1' }],
        pod: { namespace: 'default', name: 'pod-c2' },
      },
    ]);
  });

  it('after an agent restart, a DEL finds the pod in the allocation attributes', async () => {
    const { alloc, restarted, decisions } = setup();
    await alloc.assign(req('c1'));
    decisions.length = 0;
    await restarted().releaseByHandle('k8s-pod-network.c1');
    expect(decisions).toEqual([
      {
        kind: 'released',
        node: 'node-a',
        handleId: 'k8s-pod-network.c1',
        addresses: [{ address: '10.10.0.0', block: '10.10.0.0/26' }],
        pod: { namespace: 'default', name: 'pod-c1' },
      },
    ]);
  });

  it('a failed ADD records why, naming the pod', async () => {
    const { alloc, decisions } = setup();
    await expect(alloc.assign(req('c9', { ipv4Pools: ['no-such-pool'] }))).rejects.toThrow(/no-such-pool/);
    expect(decisions).toHaveLength(1);
    expect(decisions[0]).toMatchObject({
      kind: 'assignFailed',
      node: 'node-a',
      handleId: 'k8s-pod-network.c9',
      pod: { namespace: 'default', name: 'pod-c9' },
    });
    expect((decisions[0] as { message: string }).message).toContain('no-such-pool');
  });
});
