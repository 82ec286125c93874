// `tabby explain` on a small cluster whose answers are derived by hand: two nodes in one subnet, IPIP Always, each
// with its /26 (tunnel address at the block's first address); a pod on n2 at 10.10.0.65. Published objects are built
// here as the operator and agents would leave them, with revisions the test chooses, so "programmed or not" is
// decided by those revisions alone.
import yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { readInputs } from '../api/reader.js';
import { planCluster, snapshotFromObjects, type InputKindObject } from '../plan/index.js';
import { viewRevision } from '../plan/view-revision.js';
import { explainObjects, formatExplain, targetOf } from './explain-command.js';

function objects(docs: readonly object[]): InputKindObject[] {
  const read = readInputs([{ name: 'test.yaml', content: docs.map((d) => yaml.dump(d)).join('---\n') }]);
  expect(read.issues).toEqual([]);
  return read.objects.map((o) => o.object as InputKindObject);
}

const node = (name: string, ip: string, tunnel: string) => ({
  apiVersion: 'v1',
  kind: 'Node',
  metadata: {
    name,
    annotations: { 'projectcalico.org/IPv4Address': `${ip}/24`, 'projectcalico.org/IPv4IPIPTunnelAddr': tunnel },
  },
});

function block(cidr: string, owner: string, attrs: { handle_id: string; secondary: Record<string, string> }[]) {
  return [
    {
      apiVersion: 'projectcalico.org/v3',
      kind: 'IPAMBlock',
      metadata: { name: cidr.replace(/[./]/g, '-') },
      spec: {
        cidr,
        affinity: `host:${owner}`,
        allocations: Array.from({ length: 64 }, (_, i) => (i < attrs.length ? i : null)),
        unallocated: Array.from({ length: 64 - attrs.length }, (_, i) => i + attrs.length),
        attributes: attrs,
        strictAffinity: false,
        deleted: false,
      },
    },
    {
      apiVersion: 'projectcalico.org/v3',
      kind: 'BlockAffinity',
      metadata: { name: `${owner}-${cidr.replace(/[./]/g, '-')}` },
      spec: { node: owner, cidr, state: 'confirmed', deleted: false },
    },
  ];
}

const POD_HANDLE = 'k8s-pod-network.0123456789ab';

function cluster(): InputKindObject[] {
  return objects([
    {
      apiVersion: 'projectcalico.org/v3',
      kind: 'IPPool',
      metadata: { name: 'p1' },
      spec: { cidr: '10.10.0.0/24', blockSize: 26, ipipMode: 'Always', vxlanMode: 'Never', natOutgoing: true },
    },
    node('n1', '192.168.0.1', '10.10.0.0'),
    node('n2', '192.168.0.2', '10.10.0.64'),
    ...block('10.10.0.0/26', 'n1', [
      { handle_id: 'ipip-tunnel-addr-n1', secondary: { node: 'n1', type: 'ipipTunnelAddress' } },
    ]),
    ...block('10.10.0.64/26', 'n2', [
      { handle_id: 'ipip-tunnel-addr-n2', secondary: { node: 'n2', type: 'ipipTunnelAddress' } },
      { handle_id: POD_HANDLE, secondary: { node: 'n2', namespace: 'shop', pod: 'cart-1' } },
    ]),
    {
      apiVersion: 'projectcalico.org/v3',
      kind: 'IPAMHandle',
      metadata: { name: POD_HANDLE },
      spec: { handleID: POD_HANDLE, block: { '10.10.0.64/26': 1 } },
    },
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'cart-1', namespace: 'shop' },
      spec: { nodeName: 'n2' },
      status: { podIPs: [{ ip: '10.10.0.65' }] },
    },
  ]);
}

/**
 * The operator's published objects for `base` (its NodeDataplanes and RouteTables), with `applied` as each agent
 * reports it: n1 programmed everything; n2 programmed its own plan but an older revision of the shard.
 */
function published(base: InputKindObject[]): InputKindObject[] {
  const plan = planCluster(snapshotFromObjects(base).snapshot);
  const out: object[] = [];
  for (const [name, status] of plan.routeTables) {
    out.push({ apiVersion: 'dataplane.tabby.dev/v1alpha1', kind: 'RouteTable', metadata: { name }, status });
  }
  const views = [...new Set([...plan.routeTables.values()].map((s) => s.view))];
  const viewRevs = views.map((view) => {
    const shards = [...plan.routeTables].filter(([, s]) => s.view === view);
    return {
      view,
      revision: viewRevision(shards.map(([name, s]) => ({ name, revision: s.revision }))),
      shards: shards.length,
    };
  });
  for (const [name, desired] of plan.nodes) {
    const applied =
      name === 'n1'
        ? { revision: desired.revision, viewRevisions: viewRevs, time: '2026-01-01T00:00:00Z' }
        : {
            revision: desired.revision,
            viewRevisions: viewRevs.map((v) => ({ ...v, revision: 'sha256:older' })),
            time: '2026-01-01T00:00:00Z',
          };
    out.push({
      apiVersion: 'dataplane.tabby.dev/v1alpha1',
      kind: 'NodeDataplane',
      metadata: { name },
      spec: { nodeName: name },
      status: { desired, applied },
    });
  }
  return [...base, ...objects(out)];
}

describe('tabby explain', () => {
  it("a pod's address: its pool, block, owner, handle and pod; each node's route, rule and whether it is programmed", () => {
    const base = cluster();
    const shard = [...planCluster(snapshotFromObjects(base).snapshot).routeTables.keys()];
    expect(shard).toEqual(['cluster-0']);
    const r = explainObjects(published(base), targetOf('10.10.0.65'));
    expect(r.warnings).toEqual([]);
    expect(r.pools).toEqual([{ name: 'p1', cidr: '10.10.0.0/24', ipipMode: 'Always', vxlanMode: 'Never' }]);
    expect(r.blocks).toEqual([
      { cidr: '10.10.0.64/26', pool: 'p1', node: 'n2', affinityState: 'confirmed', inUse: 2, size: 64 },
    ]);
    expect(r.allocation).toMatchObject({
      address: '10.10.0.65',
      block: '10.10.0.64/26',
      handleId: POD_HANDLE,
      attrs: { node: 'n2', namespace: 'shop', pod: 'cart-1' },
      kind: 'pod',
      handle: { '10.10.0.64/26': 1 },
      pod: { namespace: 'shop', name: 'cart-1', found: true, node: 'n2', ips: ['10.10.0.65'] },
      validity: 'valid',
    });
    // n1 reaches n2's block through tunl0 (IPIP Always) and has programmed the shard holding it; on n2 the pod's
    // own route (cali + first 11 hex of sha1("shop.cart-1")) is the CNI plugin's.
    const iface = 'caliacbb63ef3db';
    expect(r.nodes.map((n) => n.routes.map((x) => [n.node, x.line, x.rule, x.state.state]))).toEqual([
      [['n1', '10.10.0.64/26 via 192.168.0.2 dev tunl0 onlink', 'ipip-always', 'applied']],
      [['n2', `10.10.0.65 dev ${iface} scope link`, 'local-workload', 'cni']],
    ]);
    expect(r.nodes[0]!.routes[0]!.state).toMatchObject({ object: 'RouteTable/cluster-0' });
    const text = formatExplain({ ...r });
    expect(text).toContain('  pod         shop/cart-1: on node n2, status podIPs 10.10.0.65\n');
    expect(text).toContain('  gc          in use\n');
  });

  it("a block: the owner's blackhole (its own plan) and every other node's route, one not programmed yet", () => {
    const r = explainObjects(published(cluster()), targetOf('10.10.0.0/26'));
    expect(r.single).toBe(false);
    expect(r.allocation).toBeUndefined();
    expect(r.nodes.flatMap((n) => n.routes.map((x) => `${n.node} ${x.line} ${x.rule} ${x.state.state}`))).toEqual([
      'n1 blackhole 10.10.0.0/26 local-block applied',
      'n2 10.10.0.0/26 via 192.168.0.1 dev tunl0 onlink ipip-always pending',
    ]);
    const pending = r.nodes[1]!.routes[0]!.state;
    expect(pending).toMatchObject({ object: 'RouteTable/cluster-0 (view cluster)', appliedRevision: 'sha256:older' });
  });

  it('a free address and one outside every pool say so; --node keeps one node', () => {
    const free = explainObjects(published(cluster()), targetOf('10.10.0.30'), 'n2');
    expect(free.allocation).toBeUndefined();
    expect(free.nodes.map((n) => n.node)).toEqual(['n2']);
    expect(formatExplain(free)).toContain('  allocation  none: the address is free\n');
    const outside = explainObjects(published(cluster()), targetOf('172.16.0.1'));
    expect(outside.pools).toEqual([]);
    expect(outside.nodes.every((n) => n.routes.length === 0)).toBe(true);
    expect(formatExplain(outside)).toContain('  pool        none: no IPPool holds it\n');
  });

  it('a node with no plan yet, and a route the operator has not published, are told apart', () => {
    const base = cluster();
    const withPlans = published(base).filter((o) => !(o.kind === 'NodeDataplane' && o.metadata.name === 'n1'));
    const r = explainObjects(withPlans, targetOf('10.10.0.65'), 'n1');
    expect(r.nodes[0]!.routes[0]!.state).toEqual({ state: 'no-plan' });
    // The pool now says no encapsulation, the published plan still IPIP: the route n1 should have is not published.
    const direct = published(base).map((o) =>
      o.kind === 'IPPool'
        ? ({ ...o, spec: { ...(o as { spec: object }).spec, ipipMode: 'Never' } } as InputKindObject)
        : o,
    );
    const s = explainObjects(direct, targetOf('10.10.0.65'), 'n1').nodes[0]!.routes[0]!;
    expect([s.line, s.rule]).toEqual(['10.10.0.64/26 via 192.168.0.2', 'no-encap']);
    expect(s.state).toEqual({
      state: 'not-published',
      publishedLines: ['10.10.0.64/26 via 192.168.0.2 dev tunl0 onlink'],
    });
  });
});
