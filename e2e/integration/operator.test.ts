// The operator against a real kube-apiserver (in this process, one replica): three Nodes (two in 10.0.0.0/24, one in
// 10.0.1.0/24) and one IPPool → every node's planned `ip route` table, materialised from its NodeDataplane and its
// view's RouteTables exactly as an agent programs it, equals the table Calico's rules give (computed independently
// in operator-support.ts), through ipipMode Always → CrossSubnet → Never → vxlanMode Always → CrossSubnet; deleting
// a Node releases its blocks and the others drop its routes; an overlapping or invalid pool gets a condition and a
// Warning Event naming the other pool / the field while the good pool stays in effect; a restarted operator
// re-allocates nothing and writes nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startControlPlane, type ControlPlane } from '../harness/index.js';
import type { KubeClient } from '../../src/kube/index.js';
import type { Operator } from '../../src/operator/operator.js';
import {
  IPIP_ADDRESS,
  VXLAN_ADDRESS,
  VXLAN_MAC,
  annotation,
  blocksOf,
  condition,
  eventually,
  inProcessOperator,
  installCrds,
  ipamProblems,
  logFile,
  metricValue,
  nodeObject,
  plannedRoutes,
  poolObject,
  rawClients,
  readCluster,
  routesConverge,
  type ClusterState,
  type Mode,
  type TestNode,
} from './operator-support.js';

const NODES: TestNode[] = [
  { name: 'node-a', ipv4: '10.0.0.11/24' },
  { name: 'node-b', ipv4: '10.0.0.12/24' },
  { name: 'node-c', ipv4: '10.0.1.13/24' },
];
const NAMES = NODES.map((n) => n.name);
const POOL = 'pool-a';
const POOL_CIDR = '10.244.0.0/16';

describe('operator against a real apiserver', () => {
  let cp: ControlPlane;
  let op: { operator: Operator; client: KubeClient; stop(): Promise<void> };
  let client: KubeClient;
  const log = logFile('main');
  const timings: { change: string; ms: number }[] = [];
  let initial: ClusterState;

  beforeAll(async () => {
    cp = await startControlPlane({ name: 'operator', controllerManager: true });
    await installCrds(cp);
    op = inProcessOperator(cp, log);
    client = op.client;
    for (const n of NODES) await client.nodes().create(nodeObject(n));
    await op.operator.start();
  });

  afterAll(async () => {
    if (timings.length > 0) {
      console.log(`operator convergence (change → every node's planned table as expected):`);
      for (const t of timings) console.log(`  ${t.change.padEnd(44)} ${String(t.ms).padStart(6)} ms`);
    }
    console.log(`operator log: ${log}`);
    await op?.stop();
    await cp?.stop();
  });

  const setModes = async (ipipMode: Mode, vxlanMode: Mode): Promise<void> => {
    await rawClients(client).pools.mergePatch(POOL, { spec: { ipipMode, vxlanMode } });
  };

  /** Every node's tunnel device is the one the pool needs, with the address IPAM annotated on its Node. */
  const tunnelsMatch = (s: ClusterState, want: 'tunl0' | 'vxlan.calico' | 'none'): boolean =>
    NAMES.filter((n) => s.nodes.has(n)).every((n) => {
      const tunnels = s.dataplanes.get(n)?.status?.desired?.tunnels ?? [];
      if (want === 'none') return tunnels.length === 0;
      const key = want === 'tunl0' ? IPIP_ADDRESS : VXLAN_ADDRESS;
      const address = annotation(s, n, key);
      return (
        address !== undefined &&
        tunnels.length === 1 &&
        tunnels[0]!.name === want &&
        tunnels[0]!.address === address &&
        (want === 'tunl0' || tunnels[0]!.mac === annotation(s, n, VXLAN_MAC))
      );
    });

  it('plans every node from the pool and follows every ipipMode/vxlanMode change', async () => {
    const created = Date.now();
    await rawClients(client).pools.create(poolObject(POOL, POOL_CIDR, { ipipMode: 'Always' }));
    const first = await routesConverge(client, NAMES, [POOL], 120_000, (s) => tunnelsMatch(s, 'tunl0'));
    timings.push({ change: 'pool created (IPIP Always), 3 nodes', ms: Date.now() - created });
    initial = first.state;
    const [a, b, c] = NAMES.map((n) => blocksOf(initial, n));
    // One /26 each, from the pool; IPIP Always: every remote block through tunl0 to the owner's address.
    for (const own of [a, b, c]) expect(own).toHaveLength(1);
    expect(plannedRoutes(initial, 'node-a')).toEqual(
      [
        `blackhole ${a![0]}`,
        `${b![0]} via 10.0.0.12 dev tunl0 onlink`,
        `${c![0]} via 10.0.1.13 dev tunl0 onlink`,
      ].sort(),
    );
    expect(plannedRoutes(initial, 'node-c')).toEqual(
      [
        `blackhole ${c![0]}`,
        `${a![0]} via 10.0.0.11 dev tunl0 onlink`,
        `${b![0]} via 10.0.0.12 dev tunl0 onlink`,
      ].sort(),
    );
    expect(ipamProblems(initial)).toEqual([]);

    // CrossSubnet: direct within 10.0.0.0/24, tunnel across.
    let t = Date.now();
    await setModes('CrossSubnet', 'Never');
    let s = (await routesConverge(client, NAMES, [POOL], 120_000, (x) => tunnelsMatch(x, 'tunl0'))).state;
    timings.push({ change: 'ipipMode Always → CrossSubnet', ms: Date.now() - t });
    expect(plannedRoutes(s, 'node-a')).toEqual(
      [`blackhole ${a![0]}`, `${b![0]} via 10.0.0.12`, `${c![0]} via 10.0.1.13 dev tunl0 onlink`].sort(),
    );
    expect(plannedRoutes(s, 'node-c')).toEqual(
      [
        `blackhole ${c![0]}`,
        `${a![0]} via 10.0.0.11 dev tunl0 onlink`,
        `${b![0]} via 10.0.0.12 dev tunl0 onlink`,
      ].sort(),
    );

    // Never: plain routes everywhere, no tunnel device and the IPIP tunnel addresses given back.
    t = Date.now();
    await setModes('Never', 'Never');
    s = (
      await routesConverge(
        client,
        NAMES,
        [POOL],
        120_000,
        (x) => tunnelsMatch(x, 'none') && NAMES.every((n) => annotation(x, n, IPIP_ADDRESS) === undefined),
      )
    ).state;
    timings.push({ change: 'ipipMode CrossSubnet → Never', ms: Date.now() - t });
    expect(plannedRoutes(s, 'node-b')).toEqual(
      [`blackhole ${b![0]}`, `${a![0]} via 10.0.0.11`, `${c![0]} via 10.0.1.13`].sort(),
    );

    // VXLAN Always: through vxlan.calico to each owner's VTEP.
    t = Date.now();
    await setModes('Never', 'Always');
    s = (await routesConverge(client, NAMES, [POOL], 120_000, (x) => tunnelsMatch(x, 'vxlan.calico'))).state;
    timings.push({ change: 'Never → vxlanMode Always', ms: Date.now() - t });
    const vtep = (n: string) => annotation(s, n, VXLAN_ADDRESS)!;
    expect(plannedRoutes(s, 'node-a')).toEqual(
      [
        `blackhole ${a![0]}`,
        `${b![0]} via ${vtep('node-b')} dev vxlan.calico onlink`,
        `${c![0]} via ${vtep('node-c')} dev vxlan.calico onlink`,
      ].sort(),
    );

    // VXLAN CrossSubnet: direct within the subnet, VXLAN across.
    t = Date.now();
    await setModes('Never', 'CrossSubnet');
    s = (await routesConverge(client, NAMES, [POOL], 120_000, (x) => tunnelsMatch(x, 'vxlan.calico'))).state;
    timings.push({ change: 'vxlanMode Always → CrossSubnet', ms: Date.now() - t });
    expect(plannedRoutes(s, 'node-b')).toEqual(
      [`blackhole ${b![0]}`, `${a![0]} via 10.0.0.11`, `${c![0]} via ${vtep('node-c')} dev vxlan.calico onlink`].sort(),
    );
    expect(plannedRoutes(s, 'node-c')).toEqual(
      [
        `blackhole ${c![0]}`,
        `${a![0]} via ${vtep('node-a')} dev vxlan.calico onlink`,
        `${b![0]} via ${vtep('node-b')} dev vxlan.calico onlink`,
      ].sort(),
    );

    // No mode change re-allocated a block; the only addresses in use are the VXLAN tunnel addresses.
    for (const n of NAMES) expect(blocksOf(s, n)).toEqual(blocksOf(initial, n));
    for (const blk of s.blocks) {
      const used = blk.spec.allocations.filter((x) => x !== null).length;
      expect(used, `allocations in ${blk.spec.cidr}`).toBe(1);
    }
    expect(ipamProblems(s)).toEqual([]);
  });

  it('deleting a Node removes its NodeDataplane, releases its block and drops its routes everywhere', async () => {
    const before = await readCluster(client);
    const [gone] = blocksOf(before, 'node-c');
    expect(gone).toBeDefined();
    const t = Date.now();
    await client.nodes().delete('node-c');
    const { state } = await routesConverge(
      client,
      ['node-a', 'node-b'],
      [POOL],
      120_000,
      (s) =>
        !s.dataplanes.has('node-c') &&
        !s.affinities.some((x) => x.spec.node === 'node-c') &&
        !s.blocks.some((x) => x.spec.cidr === gone),
    );
    timings.push({ change: 'node-c deleted (NDP gone, block released)', ms: Date.now() - t });
    for (const n of ['node-a', 'node-b']) {
      expect(plannedRoutes(state, n)!.some((l) => l.includes(gone!))).toBe(false);
    }
    expect(state.handles.some((h) => JSON.stringify(h.spec).includes(gone!))).toBe(false);
    expect(ipamProblems(state)).toEqual([]);
  });

  it('an overlapping pool and an invalid selector get conditions and Warning Events; the good pool stays in effect', async () => {
    const pools = rawClients(client).pools;
    const before = await readCluster(client);
    await pools.create(poolObject('pool-overlap', '10.244.128.0/17'));
    await pools.create(poolObject('pool-bad-selector', '10.250.0.0/16', { nodeSelector: 'has(zone' }));

    const { value: s } = await eventually('pool conditions', async () => {
      const x = await readCluster(client);
      const overlap = condition(x.pools.get('pool-overlap'), 'Allocatable');
      const valid = condition(x.pools.get('pool-bad-selector'), 'Valid');
      return overlap?.status === 'False' && valid?.status === 'False' ? x : undefined;
    });
    const overlap = condition(s.pools.get('pool-overlap'), 'Allocatable')!;
    expect(overlap.reason).toBe('CIDROverlap');
    expect(overlap.message).toContain(POOL);
    expect(condition(s.pools.get('pool-overlap'), 'Ready')?.status).toBe('False');
    const valid = condition(s.pools.get('pool-bad-selector'), 'Valid')!;
    expect(valid.reason).toBe('InvalidSelector');
    expect(valid.message).toContain('spec.nodeSelector');
    expect(condition(s.pools.get('pool-bad-selector'), 'Allocatable')?.status).toBe('False');
    expect(condition(s.pools.get('pool-bad-selector'), 'Ready')?.status).toBe('False');
    for (const type of ['Valid', 'Allocatable', 'Ready']) {
      expect(condition(s.pools.get(POOL), type)?.status, `${POOL} ${type}`).toBe('True');
    }

    const { value: events } = await eventually('Warning Events', async () => {
      const r = await cp.kubectl(['get', 'events.events.k8s.io', '-A', '-o', 'json']);
      const items = (JSON.parse(r.stdout) as { items: Record<string, unknown>[] }).items;
      const about = (name: string) =>
        items.filter((e) => (e.regarding as { name?: string } | undefined)?.name === name && e.type === 'Warning');
      const o = about('pool-overlap');
      const v = about('pool-bad-selector');
      return o.length > 0 && v.length > 0 ? { overlap: o, invalid: v, good: about(POOL) } : undefined;
    });
    expect(events.overlap.map((e) => e.reason)).toContain('CIDROverlap');
    expect(events.overlap.some((e) => String(e.note).includes(POOL))).toBe(true);
    expect(
      events.invalid.some((e) => e.reason === 'InvalidSelector' && String(e.note).includes('spec.nodeSelector')),
    ).toBe(true);
    expect(events.good).toEqual([]);

    // The good pool's nodes keep their blocks and routes; the bad pools gave nobody a block.
    const after = (await routesConverge(client, ['node-a', 'node-b'], [POOL], 120_000)).state;
    for (const n of ['node-a', 'node-b']) expect(blocksOf(after, n)).toEqual(blocksOf(before, n));
    expect(after.blocks.filter((x) => x.spec.cidr.startsWith('10.250.'))).toEqual([]);
    expect(after.blocks).toHaveLength(before.blocks.length);
    expect(ipamProblems(after)).toEqual([]);
  });

  /** What IPAM owns, object by object (a block released and claimed again has a new uid), and the Nodes' annotations. */
  const ipamObjects = (s: ClusterState) => ({
    blocks: s.blocks.map((b) => [b.metadata.name, b.metadata.uid, b.metadata.resourceVersion]),
    affinities: s.affinities.map((a) => [a.metadata.name, a.metadata.uid, a.metadata.resourceVersion]),
    annotations: [...s.nodes.values()].map((n) => [n.metadata.name, n.metadata.annotations]),
  });

  it('a pool edited into an invalid selector is reported, while its blocks and routes stay as last valid; fixed, it is Valid again', async () => {
    const pools = rawClients(client).pools;
    await op.operator.settled();
    const before = await readCluster(client);
    await pools.mergePatch(POOL, { spec: { nodeSelector: 'has(zone' } });
    const { value: s } = await eventually('Valid=False on the edited pool', async () => {
      const x = await readCluster(client);
      return condition(x.pools.get(POOL), 'Valid')?.status === 'False' ? x : undefined;
    });
    expect(condition(s.pools.get(POOL), 'Valid')?.reason).toBe('InvalidSelector');
    expect(String(condition(s.pools.get(POOL), 'Ready')?.message)).toMatch(
      /its blocks and routes stay as in the last valid version \(resourceVersion \d+\)/,
    );
    // Nothing was taken away or rewritten: the same block, affinity and tunnel-address objects, and every node's
    // planned routes are still those of the pool.
    await op.operator.settled();
    const kept = (await routesConverge(client, ['node-a', 'node-b'], [POOL], 60_000)).state;
    expect(ipamObjects(kept)).toEqual(ipamObjects(before));
    expect(ipamProblems(kept)).toEqual([]);

    // Fixed: Valid again, and still nothing released or claimed anew (the pool's status says Allocatable=False for a
    // moment after the fix; IPAM must not act on that stale verdict).
    await pools.mergePatch(POOL, { spec: { nodeSelector: 'all()' } });
    await eventually('Valid=True again', async () => {
      const x = await readCluster(client);
      return condition(x.pools.get(POOL), 'Valid')?.status === 'True' &&
        condition(x.pools.get(POOL), 'Ready')?.status === 'True'
        ? true
        : undefined;
    });
    await op.operator.settled();
    const fixed = (await routesConverge(client, ['node-a', 'node-b'], [POOL], 60_000)).state;
    expect(ipamObjects(fixed)).toEqual(ipamObjects(before));
  });

  it('a restarted operator re-allocates nothing and rewrites nothing', async () => {
    const versions = (s: ClusterState) => ({
      nodes: [...s.nodes.values()].map((n) => [n.metadata.name, n.metadata.resourceVersion]),
      pools: [...s.pools.values()].map((p) => [p.metadata.name, p.metadata.resourceVersion]),
      blocks: s.blocks.map((b) => [b.metadata.name, b.metadata.resourceVersion]),
      affinities: s.affinities.map((x) => [x.metadata.name, x.metadata.resourceVersion]),
      handles: s.handles.map((h) => [h.metadata.name, h.metadata.resourceVersion]),
      dataplanes: [...s.dataplanes.values()].map((d) => [d.metadata.name, d.metadata.resourceVersion]),
      routeTables: s.routeTables.map((r) => [r.metadata.name, r.metadata.resourceVersion]),
    });
    // Read once the running operator has finished everything it started (a read while it still converges would
    // blame the restart for the last step's writes).
    await op.operator.settled();
    const before = await readCluster(client);
    await op.stop();

    const restartLog = logFile('restarted');
    op = inProcessOperator(cp, restartLog);
    client = op.client;
    await op.operator.start();
    // Converged: a full plan pass, a pool pass and an IPAM pass for every node have completed since the start.
    const text = async () => op.operator.metrics.registry.metrics();
    await eventually('restarted operator passes', async () => {
      const m = await text();
      const ok = (c: string) => metricValue(m, `tabby_reconcile_total{controller="${c}",result="success"}`) ?? 0;
      return ok('plan') >= 1 && ok('ippool') >= 1 && ok('ipam') >= before.nodes.size;
    });
    await op.operator.idle();
    const after = await readCluster(client);
    expect(versions(after)).toEqual(versions(before));
    for (const n of before.nodes.keys()) {
      expect(blocksOf(after, n)).toEqual(blocksOf(before, n));
      expect(after.nodes.get(n)?.metadata.annotations).toEqual(before.nodes.get(n)?.metadata.annotations);
    }
    const m = await text();
    for (const writer of ['nodedataplane', 'routetable', 'ippool']) {
      expect(metricValue(m, `tabby_status_writes_total{writer="${writer}"}`), writer).toBe(0);
    }
    console.log(`restarted operator log: ${restartLog}`);
  });
});
