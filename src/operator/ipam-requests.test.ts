// The operator serving agents' IPAM requests, over the in-memory store: claims for requested pools, Calico's
// borrowing (only with strictAffinity off, idempotent), releases limited to the requesting node's allocations.
import { describe, expect, it } from 'vitest';
import { IPAM_REQUEST_ANNOTATION, IPAM_REQUEST_RESULT_ANNOTATION, type IpamRequest } from '../api/ipam-request.js';
import { BlockClaimer, InMemoryBlockStore, allocationsOf, type IpamConfig } from '../ipam/index.js';
import { DEFAULT_IPAM_CONFIG } from '../ipam/model.js';
import { StaticView, nodes, testPool } from '../ipam/test-fixtures.js';
import { silentLogger } from '../log/logger.js';
import { createIpamRequestServer } from './ipam-requests.js';

function setup(config: Partial<IpamConfig> = {}) {
  const store = new InMemoryBlockStore();
  // One /29 block only, selecting no node: the "manual pool" of Calico's strict-affinity e2e.
  const view = new StaticView(
    [testPool('tiny', '10.9.0.0/29', { blockSize: 29, nodeSelector: '!all()' })],
    nodes('n1', 'n2'),
    { ...DEFAULT_IPAM_CONFIG, ...config },
  );
  let seed = 1;
  const claimer = new BlockClaimer({
    store,
    view,
    clock: () => 0,
    random: () => (seed = (seed * 48271) % 2147483647) / 2147483647,
  });
  const written: [string, string | null][] = [];
  const deps = {
    claimer,
    store,
    view,
    log: silentLogger(),
    writeFailures: async (node: string, value: string | null) => {
      written.push([node, value]);
    },
  };
  const server = createIpamRequestServer(deps);
  const annotations = (...rs: IpamRequest[]) => ({ [IPAM_REQUEST_ANNOTATION]: JSON.stringify(rs) });
  const allocations = async () =>
    (await store.blocks.list()).flatMap((b) =>
      allocationsOf(b.value).map((a) => `${a.address} ${a.handleId} ${a.attrs.node}`),
    );
  const fresh = () => createIpamRequestServer(deps);
  return { store, server, annotations, allocations, fresh, written };
}

const borrow = (id: string, handleId: string): IpamRequest => ({
  id,
  kind: 'borrow',
  family: 4,
  pools: ['tiny'],
  num: 1,
  handleId,
  attrs: { namespace: 'ns', pod: handleId, node: 'someone-else' },
});

describe('operator: IPAM requests from node agents', () => {
  it('claims a block in a requested pool that does not select the node, once per request', async () => {
    const { store, server, annotations } = setup();
    const a = annotations({ id: 'r1', kind: 'block', family: 4, pools: ['tiny'] });
    await server.serve('n1', a);
    await server.serve('n1', a); // served already: nothing more
    const blocks = await store.blocks.list();
    expect(blocks.map((b) => [b.value.cidr, b.value.affinity])).toEqual([['10.9.0.0/29', 'host:n1']]);
    expect(server.requestsOf('n1', a).map((r) => r.id)).toEqual(['r1']);
  });

  it("borrows from another node's block when strictAffinity is off, as the requesting node, idempotently", async () => {
    const { server, annotations, allocations, fresh } = setup();
    await server.serve('n1', annotations({ id: 'r1', kind: 'block', family: 4, pools: ['tiny'] }));
    await server.serve('n2', annotations(borrow('b1', 'k8s-pod-network.c2')));
    // A new leader serving the same request, or the agent retrying it with a new id, borrows nothing more.
    await fresh().serve('n2', annotations(borrow('b1', 'k8s-pod-network.c2')));
    await server.serve('n2', annotations(borrow('b2', 'k8s-pod-network.c2')));
    expect(await allocations()).toEqual(['10.9.0.0 k8s-pod-network.c2 n2']);
  });

  it('does not borrow with strictAffinity on, and answers what it cannot serve until the request is withdrawn', async () => {
    const { server, annotations, allocations, written } = setup({ strictAffinity: true });
    await server.serve('n1', annotations({ id: 'r1', kind: 'block', family: 4, pools: ['tiny'] }));
    expect(written).toEqual([]);
    const open = annotations({ id: 'r2', kind: 'block', family: 4, pools: ['tiny'] }, borrow('b1', 'h2'));
    await server.serve('n2', open);
    expect(await allocations()).toEqual([]);
    expect(written).toEqual([['n2', '{"b1":"strictAffinity","r2":"noFreeBlocks"}']]);
    // Already answered (the Node shows it): no second write.
    await server.serve('n2', { ...open, [IPAM_REQUEST_RESULT_ANNOTATION]: written[0]![1]! });
    expect(written).toHaveLength(1);
    await server.serve('n2', { [IPAM_REQUEST_RESULT_ANNOTATION]: written[0]![1]! });
    expect(written).toEqual([
      ['n2', '{"b1":"strictAffinity","r2":"noFreeBlocks"}'],
      ['n2', null],
    ]);
  });

  it("releases only the requesting node's allocations, by handle and by address", async () => {
    const { server, annotations, allocations } = setup();
    await server.serve('n1', annotations({ id: 'r1', kind: 'block', family: 4, pools: ['tiny'] }));
    await server.serve('n2', annotations(borrow('b1', 'h2'), borrow('b2', 'h3')));
    expect(await allocations()).toHaveLength(2);
    // n1 may not release n2's pods' addresses, by handle or by address.
    await server.serve('n1', annotations({ id: 'x1', kind: 'releaseHandle', handleId: 'h2', blocks: ['10.9.0.0/29'] }));
    await server.serve('n1', annotations({ id: 'x2', kind: 'releaseIPs', ips: [{ address: '10.9.0.1' }] }));
    expect(await allocations()).toHaveLength(2);
    await server.serve('n2', annotations({ id: 'd1', kind: 'releaseHandle', handleId: 'h2', blocks: ['10.9.0.0/29'] }));
    await server.serve(
      'n2',
      annotations({ id: 'd2', kind: 'releaseIPs', ips: [{ address: '10.9.0.1', handleId: 'h3' }] }),
    );
    expect(await allocations()).toEqual([]);
  });

  it('answers a request that throws as an error, and serves the others', async () => {
    const { server, annotations, written, store } = setup();
    const list = store.blocks.list.bind(store.blocks);
    let calls = 0;
    store.blocks.list = async () => {
      if (calls++ === 0) throw new Error('etcd is down');
      return list();
    };
    await server.serve('n2', annotations(borrow('b1', 'h2'), { id: 'r2', kind: 'block', family: 4, pools: ['tiny'] }));
    expect(written).toEqual([['n2', '{"b1":"error"}']]);
    expect((await store.blocks.list()).map((b) => b.value.affinity)).toEqual(['host:n2']);
  });

  it('ignores a malformed annotation', async () => {
    const { server, store } = setup();
    const bad = { [IPAM_REQUEST_ANNOTATION]: '[{"id":"r1","kind":"claim"}]' };
    expect(server.requestsOf('n1', bad)).toEqual([]);
    await server.serve('n1', bad);
    expect(await store.blocks.list()).toEqual([]);
  });
});
