// Differential tests (STYLE.md §5): the incremental planner must agree with a from-scratch plan after every batch of
// changes, in every order and batching, and must report exactly the objects whose content changed.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IncrementalPlanner } from './incremental-planner.js';
import { type ClusterPlan, planCluster } from './pipeline.js';
import type { PlanChange } from './plan-state.js';
import type { ClusterSnapshot } from './snapshot.js';
import { block, node, pool, snapshot } from './snapshot-builder.js';
import { applyToSnapshot, changeShape, clusterShape } from './testdata/arbitraries.js';

function revisions(m: ReadonlyMap<string, { revision: string }>): Map<string, string> {
  return new Map([...m].map(([k, v]) => [k, v.revision]));
}

function changedKeys(before: Map<string, string>, after: Map<string, string>) {
  const changed: string[] = [];
  const removed: string[] = [];
  for (const [k, v] of after) if (before.get(k) !== v) changed.push(k);
  for (const k of before.keys()) if (!after.has(k)) removed.push(k);
  return { changed: changed.sort(), removed: removed.sort() };
}

function expectSamePlan(live: ClusterPlan, reference: ClusterPlan): void {
  expect([...live.nodes.keys()]).toEqual([...reference.nodes.keys()]);
  expect([...live.routeTables.keys()]).toEqual([...reference.routeTables.keys()]);
  for (const [k, v] of reference.nodes) expect(live.nodes.get(k), `NodeDesired ${k}`).toEqual(v);
  for (const [k, v] of reference.routeTables) expect(live.routeTables.get(k), `RouteTable ${k}`).toEqual(v);
}

/** A ceiling, not an expectation: fast-check runs a fixed number of cases, slower on a loaded machine. */
const PROPERTY_CEILING_MS = 120_000;

describe('IncrementalPlanner', () => {
  it(
    'equals a full recompute after every batch of random changes, and reports exactly what changed',
    () => {
      fc.assert(
        fc.property(
          clusterShape,
          fc.array(fc.array(changeShape, { minLength: 1, maxLength: 4 }), { maxLength: 6 }),
          (initial, batches) => {
            const planner = new IncrementalPlanner(initial);
            let model: ClusterSnapshot = initial;
            let previous = planCluster(model);
            expectSamePlan(planner.plan(), previous);
            for (const batch of batches) {
              const delta = planner.apply(batch);
              for (const c of batch) model = applyToSnapshot(model, c);
              const reference = planCluster(model);
              expectSamePlan(planner.plan(), reference);
              const nodes = changedKeys(revisions(previous.nodes), revisions(reference.nodes));
              const tables = changedKeys(revisions(previous.routeTables), revisions(reference.routeTables));
              expect(delta.changedNodes).toEqual(nodes.changed);
              expect(delta.removedNodes).toEqual(nodes.removed);
              expect(delta.changedRouteTables).toEqual(tables.changed);
              expect(delta.removedRouteTables).toEqual(tables.removed);
              previous = reference;
            }
          },
        ),
        { numRuns: 150 },
      );
    },
    PROPERTY_CEILING_MS,
  );

  it(
    'stays equal while views grow and shrink across shard-count boundaries',
    () => {
      const options = { targetEntriesPerShard: 2 };
      fc.assert(
        fc.property(clusterShape, fc.array(changeShape, { minLength: 1, maxLength: 12 }), (initial, changes) => {
          const planner = new IncrementalPlanner(initial, options);
          let model: ClusterSnapshot = initial;
          for (const c of changes) {
            planner.apply([c]);
            model = applyToSnapshot(model, c);
            expectSamePlan(planner.plan(), planCluster(model, options));
          }
        }),
        { numRuns: 100 },
      );
    },
    PROPERTY_CEILING_MS,
  );

  it(
    'does not depend on how changes are batched',
    () => {
      fc.assert(
        fc.property(clusterShape, fc.array(changeShape, { maxLength: 8 }), (initial, changes) => {
          const oneByOne = new IncrementalPlanner(initial);
          for (const c of changes) oneByOne.apply([c]);
          const allAtOnce = new IncrementalPlanner(initial);
          allAtOnce.apply(changes);
          expectSamePlan(oneByOne.plan(), allAtOnce.plan());
        }),
        { numRuns: 60 },
      );
    },
    PROPERTY_CEILING_MS,
  );

  it(
    'applying the same batch twice changes nothing the second time',
    () => {
      fc.assert(
        fc.property(clusterShape, fc.array(changeShape, { minLength: 1, maxLength: 5 }), (initial, changes) => {
          const planner = new IncrementalPlanner(initial);
          planner.apply(changes);
          const again = planner.apply(changes);
          expect(again).toEqual({ changedNodes: [], removedNodes: [], changedRouteTables: [], removedRouteTables: [] });
        }),
        { numRuns: 60 },
      );
    },
    PROPERTY_CEILING_MS,
  );
});

describe('work per change', () => {
  const nodes = Array.from({ length: 64 }, (_, i) =>
    node(`node-${i}`, `10.0.${i % 4}.${10 + i}/24`, { ipip: `10.244.${i}.0` }),
  );
  const base = snapshot({
    nodes,
    pools: [pool('p', '10.244.0.0/16', { ipip: 'CrossSubnet' })],
    blocks: nodes.map((n, i) => block(`10.244.${i}.0/26`, n.name)),
  });

  it('a node joining writes its own NodeDataplane and one shard per view', () => {
    const planner = new IncrementalPlanner(base);
    const views = new Set([...planner.plan().routeTables.values()].map((t) => t.view));
    expect(views.size).toBe(4);
    const joiner: PlanChange[] = [
      { kind: 'node', name: 'node-new', node: node('node-new', '10.0.1.200/24', { ipip: '10.244.200.0' }) },
      { kind: 'block', cidr: '10.244.200.0/26', block: block('10.244.200.0/26', 'node-new') },
    ];
    const delta = planner.apply(joiner);
    expect(delta.changedNodes).toEqual(['node-new']);
    expect(delta.changedRouteTables).toHaveLength(views.size);
    expect(new Set(delta.changedRouteTables.map((n) => planner.plan().routeTables.get(n)?.view))).toEqual(views);
  });

  it("a pod starting changes nothing any node reads (its /32 is the CNI plugin's)", () => {
    const planner = new IncrementalPlanner(base);
    const delta = planner.apply([
      {
        kind: 'pod',
        namespace: 'default',
        name: 'web',
        pod: { namespace: 'default', name: 'web', node: 'node-3', ips: ['10.244.3.5'] },
      },
    ]);
    expect(delta).toEqual({
      changedNodes: [],
      removedNodes: [],
      changedRouteTables: [],
      removedRouteTables: [],
    });
  });

  it('a block moving between nodes rewrites the two nodes and their shards only', () => {
    const planner = new IncrementalPlanner(base);
    const delta = planner.apply([{ kind: 'block', cidr: '10.244.5.0/26', block: block('10.244.5.0/26', 'node-6') }]);
    expect(delta.changedNodes).toEqual(['node-5', 'node-6']);
    expect(delta.changedRouteTables.length).toBeGreaterThanOrEqual(4);
    expect(delta.changedRouteTables.length).toBeLessThanOrEqual(8);
  });

  describe('Services and EndpointSlices', () => {
    const withRanges = snapshot({
      ...base,
      bgpConfigurations: [{ name: 'default', serviceClusterIPs: ['10.96.0.0/12'] }],
    });
    const svc = (policy: string): PlanChange => ({
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
        externalTrafficPolicy: policy,
        ipFamilies: ['IPv4'],
      },
    });
    const slice = (...nodes: string[]): PlanChange => ({
      kind: 'endpointSlice',
      namespace: 'shop',
      name: 'web-x1',
      slice: {
        namespace: 'shop',
        name: 'web-x1',
        service: 'web',
        addressType: 'IPv4',
        anyReady: nodes.length > 0,
        readyNodes: nodes,
      },
    });
    const exported = (p: IncrementalPlanner, n: string) =>
      p
        .plan()
        .nodes.get(n)
        ?.bgp?.exportPrefixes.map((x) => x.cidr);

    it('an externalTrafficPolicy: Local Service is written only to the nodes with its endpoints', () => {
      const planner = new IncrementalPlanner(withRanges);
      expect(planner.apply([svc('Local')])).toEqual(NOTHING);
      expect(planner.apply([slice('node-3')]).changedNodes).toEqual(['node-3']);
      expect(exported(planner, 'node-3')).toEqual(['10.96.0.0/12', '10.96.0.10/32', '10.244.3.0/26']);
      expect(exported(planner, 'node-4')).toEqual(['10.96.0.0/12', '10.244.4.0/26']);
      expect(planner.apply([slice('node-3', 'node-5')]).changedNodes).toEqual(['node-5']);
      expect(planner.apply([slice('node-5')]).changedNodes).toEqual(['node-3']);
      // Pods coming and going on a node that keeps an endpoint change nothing anybody reads.
      expect(planner.apply([slice('node-5')])).toEqual(NOTHING);
      expect(planner.apply([{ kind: 'service', namespace: 'shop', name: 'web' }]).changedNodes).toEqual(['node-5']);
    });

    it('a Service announced from every node rewrites every node, and only while its announcement changes', () => {
      const planner = new IncrementalPlanner(withRanges);
      planner.apply([slice('node-3')]);
      // Cluster policy with aggregation on: the ranges stand for it, nothing to write.
      expect(planner.apply([svc('Cluster')])).toEqual(NOTHING);
      const disabled = planner.apply([
        {
          kind: 'bgpConfiguration',
          name: 'default',
          config: { name: 'default', serviceClusterIPs: ['10.96.0.0/12'], serviceLoadBalancerAggregation: 'Disabled' },
        },
      ]);
      expect(disabled.changedNodes).toHaveLength(nodes.length);
      expect(planner.apply([slice('node-3', 'node-9')])).toEqual(NOTHING);
    });

    it('a BGPFilter rewrites the nodes whose sessions name it, not the others', () => {
      const withPeer = snapshot({
        ...base,
        bgpPeers: [{ name: 'tor', nodeSelector: 'rack == "a"', peerIP: '10.0.0.254', asNumber: 65000, filters: ['f'] }],
        nodes: base.nodes.map((n, i) => (i < 3 ? { ...n, labels: { rack: 'a' } } : n)),
      });
      const planner = new IncrementalPlanner(withPeer);
      const delta = planner.apply([
        { kind: 'bgpFilter', name: 'f', filter: { name: 'f', exportV4: [{ action: 'Reject' }] } },
      ]);
      expect(delta.changedNodes).toEqual(['node-0', 'node-1', 'node-2']);
      expect(planner.apply([{ kind: 'bgpFilter', name: 'other', filter: { name: 'other' } }])).toEqual(NOTHING);
    });
  });
});

const NOTHING = { changedNodes: [], removedNodes: [], changedRouteTables: [], removedRouteTables: [] };
