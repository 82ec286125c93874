// What each event costs the operator, counted under its client against a real apiserver (issue 17): four Nodes in two
// subnets and one VXLAN CrossSubnet pool, so two route views. The operator's periodic drift check is off here (the
// counts are what events cause); one test runs it on demand.
// - pods starting (an address assigned in the node's own block by the agent's pod IPAM, the Pod created and its podIP
//   set through the status subresource, as a kubelet does) and Node status heartbeats: no write, no plan pass;
// - a node joining: its own NodeDataplane (create + status) and one RouteTable per view from the planner, plus the
//   IPAM writes for its block and VTEP and one IPPool usage write, and nothing else;
// - a Node given an annotation that does not parse: every other node keeps its routes to it, its NodeDataplane's
//   Planned condition and a Warning Event name the annotation; fixed, the condition clears;
// - a drift check in a converged cluster writes nothing; a NodeDataplane edited by hand is put back by it, one deleted
//   is recreated at once.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startControlPlane, type ControlPlane } from '../harness/index.js';
import { IPAMBlockKind } from '../../src/api/index.js';
import { PROTOCOL_VERSION } from '../../src/api/agent-ipam-protocol.js';
import type { PodIpam } from '../../src/agent/pod-ipam.js';
import { createAgentClient } from '../../src/cni/agent-client.js';
import { createKubeClient, type KubeClient } from '../../src/kube/index.js';
import type { CacheName } from '../../src/operator/caches.js';
import {
  blocksOf,
  condition,
  copyCounts,
  eventually,
  inProcessOperator,
  installCrds,
  logFile,
  metricValue,
  newWriteCounts,
  nodeObject,
  plannedRoutes,
  poolObject,
  newestResourceVersion,
  rawClients,
  readCluster,
  serverSeen,
  routesConverge,
  writesBetween,
  type TestNode,
  startPodIpam,
} from './operator-support.js';

const NODES: TestNode[] = [
  { name: 'w-1', ipv4: '10.0.0.11/24' },
  { name: 'w-2', ipv4: '10.0.0.12/24' },
  { name: 'w-3', ipv4: '10.0.1.13/24' },
  { name: 'w-4', ipv4: '10.0.1.14/24' },
];
const POOL = 'pool-w';
type Seen = Partial<Record<CacheName, string>>;
const AS_ANNOTATION = 'projectcalico.org/ASNumber';

describe('operator writes per event', () => {
  let cp: ControlPlane;
  let op: ReturnType<typeof inProcessOperator>;
  let client: KubeClient;
  let ipam: PodIpam;
  let dir: string;
  const counts = newWriteCounts();
  const log = logFile('writes');
  const names = () => NODES.map((n) => n.name);

  const passes = async (): Promise<number> => {
    const m = await op.operator.metrics.registry.metrics();
    return (
      (metricValue(m, 'tabby_plan_passes_total{kind="incremental"}') ?? 0) +
      (metricValue(m, 'tabby_plan_passes_total{kind="full"}') ?? 0)
    );
  };

  /**
   * What the operator writes because of `change`, once it has seen the change (the resourceVersions `change` returns,
   * per cache) and settled, and how many plan passes that took. The count starts once the operator has seen every
   * event of what was written before (a late event of its own earlier writes would otherwise make work in the window).
   */
  async function writesOf(
    change: () => Promise<Seen | void>,
  ): Promise<{ writes: Record<string, number>; passes: number }> {
    await op.operator.settled({ seen: await serverSeen(client) });
    const before = copyCounts(counts);
    const passesBefore = await passes();
    const seen = (await change()) ?? {};
    await op.operator.settled({ seen });
    return { writes: writesBetween(before, counts), passes: (await passes()) - passesBefore };
  }

  beforeAll(async () => {
    cp = await startControlPlane({ name: 'operator-writes', controllerManager: true });
    await installCrds(cp);
    op = inProcessOperator(cp, log, { driftCheckIntervalMs: 0 }, counts);
    // The test's own writes (Nodes, Pods, edits) go through a client of its own: only the operator's are counted.
    client = createKubeClient({ source: { kubeconfigPath: cp.kubeconfigPath } });
    for (const n of NODES) await client.nodes().create(nodeObject(n));
    await rawClients(client).pools.create(poolObject(POOL, '10.244.0.0/16', { vxlanMode: 'CrossSubnet' }));
    await op.operator.start();
    await routesConverge(client, names(), [POOL]);
    dir = mkdtempSync(join(tmpdir(), 'tabby-writes-'));
    // The agent's pod IPAM for w-1, with its own client: its writes are the agent's, not counted.
    ipam = await startPodIpam(inProcessOperator(cp, log).client, 'w-1', join(dir, 'w-1.sock'), log);
  });

  afterAll(async () => {
    console.log(`operator log: ${log}`);
    await ipam?.stop();
    client?.close();
    await op?.stop();
    await cp?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('pods starting on a node and Node status heartbeats cost no write and no plan pass', async () => {
    const agent = createAgentClient(join(dir, 'w-1.sock'), 60_000);
    const r = await writesOf(async () => {
      const written: { metadata: { resourceVersion?: string | undefined } }[] = [];
      const nodesWritten: typeof written = [];
      for (let i = 0; i < 10; i++) {
        const name = `pod-${i}`;
        await client.pods().create({
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name, namespace: 'default' },
          spec: { nodeName: 'w-1', containers: [{ name: 'app', image: 'none' }] },
        });
        const assigned = await agent.call({
          v: PROTOCOL_VERSION,
          op: 'assign',
          handleId: `k8s-pod-network.${name}`,
          containerId: name,
          attrs: { namespace: 'default', pod: name, node: 'w-1' },
          families: [4],
        });
        const ip = assigned.addresses[0]!.address.split('/')[0]!;
        written.push(await client.pods().patchStatus(name, { podIP: ip, podIPs: [{ ip }] }, { namespace: 'default' }));
      }
      // What a kubelet writes every few minutes: a heartbeat in the Node's conditions.
      for (const n of names()) {
        const after = await client.nodes().patchStatus(n, {
          conditions: [
            {
              type: 'Ready',
              status: 'False',
              reason: 'KubeletNotReady',
              message: 'no kubelet in this test',
              lastHeartbeatTime: new Date().toISOString(),
              lastTransitionTime: '2026-01-01T00:00:00Z',
            },
          ],
        });
        nodesWritten.push(after);
      }
      // The agent's block writes (the addresses) are events the operator sees too.
      const blocks = (await client.kind(IPAMBlockKind).list()).items.filter((b) => b.spec.affinity === 'host:w-1');
      return {
        pods: newestResourceVersion(written),
        nodes: newestResourceVersion(nodesWritten),
        ipamBlocks: newestResourceVersion(blocks),
      };
    });
    expect(r).toEqual({ writes: {}, passes: 0 });
    // The addresses really were taken from w-1's own block.
    const s = await readCluster(client);
    const own = s.blocks.filter((b) => b.spec.affinity === 'host:w-1');
    expect(own.reduce((n, b) => n + b.spec.allocations.filter((a) => a !== null).length, 0)).toBeGreaterThanOrEqual(10);
  });

  it('a node join writes its own NodeDataplane and one RouteTable per view, besides its IPAM, and nothing else', async () => {
    const joiner = { name: 'w-5', ipv4: '10.0.0.15/24' };
    const views = new Set((await readCluster(client)).routeTables.map((rt) => rt.status?.view));
    expect(views.size).toBe(2);
    const r = await writesOf(async () => {
      const created = await client.nodes().create(nodeObject(joiner));
      await routesConverge(client, [...names(), joiner.name], [POOL]);
      return { nodes: newestResourceVersion([created]) };
    });
    NODES.push(joiner);
    const plan = Object.fromEntries(Object.entries(r.writes).filter(([k]) => /nodedataplanes|routetables/.test(k)));
    expect(plan).toEqual({
      'POST nodedataplanes': 1,
      'PATCH nodedataplanes/status': 1,
      'PATCH routetables/status': views.size,
    });
    const rest = Object.fromEntries(Object.entries(r.writes).filter(([k]) => !/nodedataplanes|routetables/.test(k)));
    // The block claim (affinity created then confirmed, block created) and its Event in IPAM history, the VTEP
    // address (its handle, its ordinal in the block, the Node's annotations) and the pool's BLOCKS count.
    expect(Object.keys(rest).sort()).toEqual(
      [
        'PATCH ippools/status',
        'PATCH nodes',
        'POST events',
        'POST blockaffinities',
        'POST ipamblocks',
        'POST ipamhandles',
        'PUT blockaffinities',
        'PUT ipamblocks',
      ].sort(),
    );
    expect(rest['PATCH ippools/status']).toBe(1);
    expect(rest['PATCH nodes']).toBe(1);
    expect(rest['POST events']).toBe(1);
    console.log(`node join: ${JSON.stringify(r.writes)} in ${r.passes} plan pass(es)`);
  });

  it('a Node annotation that does not parse keeps its routes everywhere and is named in an Event and its Planned condition', async () => {
    const before = await readCluster(client);
    const routesBefore = Object.fromEntries(names().map((n) => [n, plannedRoutes(before, n)]));
    expect(blocksOf(before, 'w-2')).toHaveLength(1);
    const r = await writesOf(async () => {
      const edited = await client.nodes().mergePatch('w-2', { metadata: { annotations: { [AS_ANNOTATION]: 'abc' } } });
      await eventually('the Planned condition to name the annotation', async () => {
        const s = await readCluster(client);
        const c = condition(s.dataplanes.get('w-2'), 'Planned');
        return c?.reason === 'InputKeptAtLastGood' ? c : undefined;
      });
      return { nodes: newestResourceVersion([edited]) };
    });
    // Only w-2's own NodeDataplane (its condition) is rewritten; no route changes anywhere.
    expect(r.writes).toEqual({ 'PATCH nodedataplanes/status': 1, 'POST events': 1 });
    const s = await readCluster(client);
    for (const n of names()) expect(plannedRoutes(s, n), n).toEqual(routesBefore[n]);
    const planned = condition(s.dataplanes.get('w-2'), 'Planned')!;
    expect(planned.status).toBe('True');
    expect(planned.message).toContain(`Node w-2: metadata.annotations["${AS_ANNOTATION}"]`);
    expect(planned.message).toContain('must be an AS number (got "abc")');
    expect(planned.message).toMatch(/planned from its last good version \(resourceVersion \d+\)/);
    const events = JSON.parse((await cp.kubectl(['get', 'events.events.k8s.io', '-A', '-o', 'json'])).stdout) as {
      items: { regarding?: { kind?: string; name?: string }; type?: string; reason?: string; note?: string }[];
    };
    // IPAM history's Event of w-2's block claim is about the Node too: only the planner's are looked at here.
    const about = events.items.filter(
      (e) => e.regarding?.kind === 'Node' && e.regarding.name === 'w-2' && e.reason !== 'BlockClaimed',
    );
    expect(about.map((e) => [e.type, e.reason])).toEqual([['Warning', 'InputKeptAtLastGood']]);
    expect(about[0]!.note).toContain(`metadata.annotations["${AS_ANNOTATION}"]: must be an AS number (got "abc")`);

    // Fixed: the condition is plain again, still without a route change.
    const fixed = await writesOf(async () => {
      const edited = await client.nodes().mergePatch('w-2', { metadata: { annotations: { [AS_ANNOTATION]: null } } });
      await eventually('the Planned condition to clear', async () => {
        const x = await readCluster(client);
        return condition(x.dataplanes.get('w-2'), 'Planned')?.reason === 'Planned' ? true : undefined;
      });
      return { nodes: newestResourceVersion([edited]) };
    });
    expect(fixed.writes).toEqual({ 'PATCH nodedataplanes/status': 1 });
    const after = await readCluster(client);
    for (const n of names()) expect(plannedRoutes(after, n), n).toEqual(routesBefore[n]);
  });

  it('a drift check writes nothing in a converged cluster, puts back a hand edit, and a deleted NodeDataplane comes back at once', async () => {
    const quiet = await writesOf(async () => op.operator.checkDrift());
    expect(quiet.writes).toEqual({});
    expect(quiet.passes).toBe(1);

    const want = (await readCluster(client)).dataplanes.get('w-3')!.status!.desired!.revision;
    const edited = await cp.kubectl([
      'patch',
      'nodedataplane',
      'w-3',
      '--subresource=status',
      '--type=merge',
      '-p',
      JSON.stringify({ status: { desired: { revision: 'sha256:edited-by-hand' } } }),
    ]);
    expect(edited.stderr).toBe('');
    const repaired = await writesOf(async () => op.operator.checkDrift());
    expect(repaired.writes).toEqual({ 'PATCH nodedataplanes/status': 1 });
    expect((await readCluster(client)).dataplanes.get('w-3')!.status!.desired!.revision).toBe(want);

    const recreated = await writesOf(async () => {
      const del = await cp.kubectl(['delete', 'nodedataplane', 'w-4']);
      expect(del.code).toBe(0);
      await eventually('w-4 planned again', async () => {
        const s = await readCluster(client);
        return s.dataplanes.get('w-4')?.status?.desired !== undefined ? true : undefined;
      });
    });
    expect(recreated.writes).toEqual({ 'POST nodedataplanes': 1, 'PATCH nodedataplanes/status': 1 });
  });
});
