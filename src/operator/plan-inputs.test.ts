// PlanInputs against real informer stores (filled by hand): which events become plan changes, and how an object
// that turns unusable keeps its last good record while it is reported.
import { describe, expect, it } from 'vitest';
import type { Issue } from '../api/errors.js';
import { Store, type StoreWriter } from '../kube/store.js';
import { PLAN_CACHES, PlanInputs, type PlanCache } from './plan-inputs.js';

function setup() {
  const stores = {} as Record<PlanCache, { store: Store<unknown> }>;
  const writers = {} as Record<PlanCache, StoreWriter<unknown>>;
  for (const c of PLAN_CACHES) {
    const store = new Store<unknown>();
    stores[c] = { store };
    writers[c] = store.claimWriter();
  }
  const inputs = new PlanInputs(stores as never);
  let rv = 0;
  const node = (name: string, annotations: Record<string, string>, status: unknown = {}) => {
    writers.nodes.upsert(name, {
      metadata: { name, uid: `uid-${name}`, resourceVersion: String(++rv), annotations },
      status,
    });
    return inputs.observe('nodes', name);
  };
  return { inputs, writers, node, stores };
}

const ADDR = 'projectcalico.org/IPv4Address';
const AS = 'projectcalico.org/ASNumber';

describe('PlanInputs', () => {
  it('turns a new or changed record into one change, and an unchanged one (a heartbeat) into none', () => {
    const { inputs, node } = setup();
    expect(node('n1', { [ADDR]: '10.0.0.1/24' })).toBe(true);
    expect(node('n1', { [ADDR]: '10.0.0.1/24' }, { conditions: [{ type: 'Ready', lastHeartbeatTime: 'now' }] })).toBe(
      false,
    );
    expect(node('n1', { [ADDR]: '10.0.0.1/24', [AS]: '65001' })).toBe(true);
    expect(inputs.takeChanges()).toEqual([
      {
        kind: 'node',
        name: 'n1',
        node: {
          name: 'n1',
          labels: {},
          ipv4: { address: '10.0.0.1', prefixLength: 24, source: 'annotation' },
          asNumber: 65001,
        },
      },
    ]);
    expect(inputs.takeChanges()).toEqual([]);
  });

  it('keeps the last good record of an object that turns unusable, reports it, and clears the report once fixed', () => {
    const { inputs, node } = setup();
    node('n1', { [ADDR]: '10.0.0.1/24' });
    inputs.takeChanges();
    inputs.takeProblemChanges();
    expect(node('n1', { [ADDR]: '10.0.0.1/24', [AS]: 'abc' })).toBe(false);
    expect(inputs.takeChanges()).toEqual([]);
    const [reported, ...more] = inputs.takeProblemChanges();
    expect(more).toEqual([]);
    expect(reported?.problem).toMatchObject({
      kind: 'Node',
      name: 'n1',
      uid: 'uid-n1',
      keptResourceVersion: '1',
      issues: [expect.objectContaining({ path: ['metadata', 'annotations', AS] })],
    });
    // The snapshot of a full pass still holds the good version.
    expect(inputs.rebuild().nodes).toEqual([
      { name: 'n1', labels: {}, ipv4: { address: '10.0.0.1', prefixLength: 24, source: 'annotation' } },
    ]);
    expect(node('n1', { [ADDR]: '10.0.0.1/24' })).toBe(false);
    const cleared = inputs.takeProblemChanges();
    expect(cleared.map((c) => [c.key, c.problem, c.previous?.name])).toEqual([['nodes/n1', undefined, 'n1']]);
  });

  it('leaves out an object never seen usable, saying so; a deletion removes it and its report', () => {
    const { inputs, node, writers } = setup();
    expect(node('n2', { [ADDR]: 'not-an-address' })).toBe(false);
    const [problem, ...more] = inputs.problems();
    expect(more).toEqual([]);
    expect(problem?.name).toBe('n2');
    expect(problem).not.toHaveProperty('keptResourceVersion');
    expect(problem?.issues[0]?.message).toBe(
      `must be the node's address with its subnet's prefix length, e.g. 192.168.0.11/24 (got "not-an-address")`,
    );
    expect(inputs.rebuild().nodes).toEqual([]);
    writers.nodes.remove('n2');
    expect(inputs.observe('nodes', 'n2')).toBe(false);
    expect(inputs.problems()).toEqual([]);
  });

  it('a schema refusal (the informer keeps the last valid version) is a problem until the object is valid again', () => {
    const { inputs, writers, stores } = setup();
    const pool = (sel: string, rv: string) => ({
      apiVersion: 'projectcalico.org/v3',
      kind: 'IPPool',
      metadata: { name: 'p', resourceVersion: rv },
      spec: { cidr: '10.1.0.0/16', nodeSelector: sel },
    });
    writers.ippools.upsert('p', pool('all()', '5'));
    expect(inputs.observe('ippools', 'p')).toBe(true);
    const issues: Issue[] = [
      { code: 'invalid_value', object: { kind: 'IPPool', name: 'p' }, path: ['spec', 'nodeSelector'], message: 'bad' },
    ];
    writers.ippools.markInvalid({ key: 'p', raw: pool('has(', '6'), issues, resourceVersion: '6' }, true);
    inputs.refused('ippools', 'p', issues);
    expect(inputs.observe('ippools', 'p')).toBe(false);
    expect(inputs.problems()).toEqual([expect.objectContaining({ name: 'p', keptResourceVersion: '5' })]);
    expect(stores.ippools.store.get('p')).toBeDefined();
    writers.ippools.upsert('p', pool("zone == 'a'", '7'));
    expect(inputs.observe('ippools', 'p')).toBe(true);
    expect(inputs.problems()).toEqual([]);
  });

  it('a block whose only change is an address of its own node (a pod start) changes nothing', () => {
    const { inputs, writers } = setup();
    const block = (allocations: (number | null)[], attributes: unknown[]) => ({
      apiVersion: 'projectcalico.org/v3',
      kind: 'IPAMBlock',
      metadata: { name: '10-2-0-0-30' },
      spec: { cidr: '10.2.0.0/30', affinity: 'host:n1', allocations, unallocated: [], attributes, deleted: false },
    });
    writers.ipamBlocks.upsert('10-2-0-0-30', block([null, null, null, null], []));
    expect(inputs.observe('ipamBlocks', '10-2-0-0-30')).toBe(true);
    writers.ipamBlocks.upsert('10-2-0-0-30', block([0, null, null, null], [{ secondary: { node: 'n1' } }]));
    expect(inputs.observe('ipamBlocks', '10-2-0-0-30')).toBe(false);
    // Borrowed by another node: other nodes must route that /32, so it is a change.
    writers.ipamBlocks.upsert(
      '10-2-0-0-30',
      block([0, 1, null, null], [{ secondary: { node: 'n1' } }, { secondary: { node: 'n2' } }]),
    );
    expect(inputs.observe('ipamBlocks', '10-2-0-0-30')).toBe(true);
  });

  it('an EndpointSlice whose pods churn on the same nodes makes no change; a Service or slice that moves does', () => {
    const { inputs, writers } = setup();
    let rv = 100;
    const slice = (...pods: { node: string; ready?: boolean }[]) => {
      writers.endpointSlices.upsert('shop/web-x1', {
        metadata: {
          name: 'web-x1',
          namespace: 'shop',
          resourceVersion: String(++rv),
          labels: { 'kubernetes.io/service-name': 'web' },
        },
        addressType: 'IPv4',
        endpoints: pods.map((p) => ({ nodeName: p.node, conditions: { ready: p.ready ?? true } })),
      });
      return inputs.observe('endpointSlices', 'shop/web-x1');
    };
    expect(slice({ node: 'n1' })).toBe(true);
    // A second pod on n1, and one on n2 that is not ready: the nodes with a ready endpoint are still n1 alone.
    expect(slice({ node: 'n1' }, { node: 'n1' }, { node: 'n2', ready: false })).toBe(false);
    expect(slice({ node: 'n2' })).toBe(true);
    writers.services.upsert('shop/web', {
      metadata: { name: 'web', namespace: 'shop', resourceVersion: String(++rv) },
      spec: { type: 'LoadBalancer', clusterIP: '10.96.0.10', externalTrafficPolicy: 'Local', ipFamilies: ['IPv4'] },
    });
    expect(inputs.observe('services', 'shop/web')).toBe(true);
    expect(inputs.takeChanges()).toEqual([
      {
        kind: 'endpointSlice',
        namespace: 'shop',
        name: 'web-x1',
        slice: {
          namespace: 'shop',
          name: 'web-x1',
          service: 'web',
          addressType: 'IPv4',
          anyReady: true,
          readyNodes: ['n2'],
        },
      },
      {
        kind: 'service',
        namespace: 'shop',
        name: 'web',
        service: {
          namespace: 'shop',
          name: 'web',
          type: 'LoadBalancer',
          clusterIPs: ['10.96.0.10'],
          externalIPs: [],
          ingressIPs: [],
          externalTrafficPolicy: 'Local',
          ipFamilies: ['IPv4'],
        },
      },
    ]);
    writers.services.remove('shop/web');
    expect(inputs.observe('services', 'shop/web')).toBe(true);
    expect(inputs.takeChanges()).toEqual([{ kind: 'service', namespace: 'shop', name: 'web' }]);
  });
});
