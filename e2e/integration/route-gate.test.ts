// The route readiness gate against a real apiserver (issue 21 item 1): the operator in this process, agents simulated
// by their status writes (status.applied at the revisions they read, Programmed=True, field manager tabby-agent, as
// src/agent/kube-source.ts writes them). Three nodes in two subnets and a VXLAN CrossSubnet pool (two route views);
// a fourth joins. Proven here: its RoutesConverged condition appears only once its own agent and the last of the
// three peers have applied the routes to it, never before; the gate costs the join one NodeDataplane status write
// and one Event (counted under the operator's client), and observes one join → converged time.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startControlPlane, type ControlPlane } from '../harness/index.js';
import { NodeDataplaneKind, RouteTableKind, type NodeDataplane } from '../../src/api/index.js';
import { createKubeClient, type KubeClient } from '../../src/kube/index.js';
import type { CacheName } from '../../src/operator/caches.js';
import { ROUTES_CONVERGED_CONDITION } from '../../src/plan/route-readiness.js';
import { viewRevisions } from '../../src/plan/view-revision.js';
import {
  condition,
  copyCounts,
  eventually,
  inProcessOperator,
  installCrds,
  logFile,
  metricValue,
  newWriteCounts,
  nodeObject,
  poolObject,
  rawClients,
  readCluster,
  routesConverge,
  writesBetween,
  type TestNode,
} from './operator-support.js';

const NODES: TestNode[] = [
  { name: 'g-1', ipv4: '10.0.0.11/24' },
  { name: 'g-2', ipv4: '10.0.0.12/24' },
  { name: 'g-3', ipv4: '10.0.1.13/24' },
];
const JOINER: TestNode = { name: 'g-4', ipv4: '10.0.1.14/24' };
const POOL = 'pool-g';

describe('route readiness gate', () => {
  let cp: ControlPlane;
  let op: ReturnType<typeof inProcessOperator>;
  let client: KubeClient;
  let agents: KubeClient;
  const counts = newWriteCounts();
  const log = logFile('route-gate');

  /**
   * What node's agent writes after a successful sync of what it reads now: its desired revision and its views'
   * shards. Returns the resourceVersion of the write (so the operator can be waited for until it has seen it).
   */
  async function agentApplies(node: string): Promise<string> {
    const ndp = await agents.kind(NodeDataplaneKind).get(node);
    const desired = ndp.status?.desired;
    if (!desired) throw new Error(`${node} has no desired state yet`);
    const shards = (await agents.kind(RouteTableKind).list()).items.flatMap((rt) =>
      rt.status === undefined ? [] : [{ name: rt.metadata.name, status: rt.status }],
    );
    const time = new Date().toISOString();
    const after = await agents.kind(NodeDataplaneKind).applyStatus(
      node,
      {
        applied: {
          revision: desired.revision,
          viewRevisions: viewRevisions([desired.view, desired.viewV6 ?? ''], shards),
          time,
        },
        conditions: [
          { type: 'Programmed', status: 'True', reason: 'Programmed', message: 'simulated', lastTransitionTime: time },
        ],
      },
      { fieldManager: 'tabby-agent' },
    );
    return after.metadata.resourceVersion!;
  }

  const converged = async (node: string) =>
    condition((await readCluster(client)).dataplanes.get(node), ROUTES_CONVERGED_CONDITION);

  /** The operator has seen everything up to `rv` in the NodeDataplane cache and has nothing left to do. */
  const settledAfter = (rv: string) =>
    op.operator.settled({ seen: { nodeDataplanes: rv } satisfies Partial<Record<CacheName, string>> });

  const gateMetric = async () =>
    metricValue(await op.operator.metrics.registry.metrics(), 'tabby_node_join_converged_seconds_count') ?? 0;

  beforeAll(async () => {
    cp = await startControlPlane({ name: 'route-gate' });
    await installCrds(cp);
    op = inProcessOperator(cp, log, { driftCheckIntervalMs: 0 }, counts);
    client = createKubeClient({ source: { kubeconfigPath: cp.kubeconfigPath } });
    agents = createKubeClient({ source: { kubeconfigPath: cp.kubeconfigPath }, fieldManager: 'tabby-agent' });
    for (const n of NODES) await client.nodes().create(nodeObject(n));
    await rawClients(client).pools.create(poolObject(POOL, '10.244.0.0/16', { vxlanMode: 'CrossSubnet' }));
    await op.operator.start();
    await routesConverge(
      client,
      NODES.map((n) => n.name),
      [POOL],
    );
  });

  afterAll(async () => {
    console.log(`operator log: ${log}`);
    client?.close();
    agents?.close();
    await op?.stop();
    await cp?.stop();
  });

  it('the first nodes open once every agent has applied the routes to each of them', async () => {
    let rv = '0';
    for (const n of NODES) {
      expect(await converged(n.name)).toBeUndefined();
      rv = await agentApplies(n.name);
    }
    await settledAfter(rv);
    // Which of them saw the others report first is a race (an agent that never reported is no peer): all open.
    for (const n of NODES) {
      const c = await eventually(`${n.name} RoutesConverged`, () => converged(n.name));
      expect(c.value.status).toBe('True');
      expect(['PeersApplied', 'NoPeers']).toContain(c.value.reason);
    }
  });

  it('a joining node opens only after its own agent and the last peer applied the routes to it: one status write and one Event', async () => {
    const views = new Set((await readCluster(client)).routeTables.map((rt) => rt.status?.view));
    expect(views.size).toBe(2);
    const observedBefore = await gateMetric();
    await client.nodes().create(nodeObject(JOINER));
    const all = [...NODES, JOINER].map((n) => n.name);
    await routesConverge(client, all, [POOL]);
    await op.operator.settled();
    // From here on the planner has written the join; what the agents' reports cost is the gate's alone.
    const before = copyCounts(counts);

    // Its own agent and two of three peers: still closed.
    let rv = await agentApplies(JOINER.name);
    await settledAfter(rv);
    expect(await converged(JOINER.name)).toBeUndefined();
    for (const peer of ['g-1', 'g-3']) {
      rv = await agentApplies(peer);
      await settledAfter(rv);
      expect(await converged(JOINER.name), `after ${peer}`).toBeUndefined();
    }
    expect(writesBetween(before, counts)).toEqual({});

    // The last peer: open.
    rv = await agentApplies('g-2');
    const c = await eventually('g-4 RoutesConverged', () => converged(JOINER.name));
    await settledAfter(rv);
    expect(c.value.status).toBe('True');
    expect(c.value.reason).toBe('PeersApplied');
    expect(c.value.message).toMatch(
      /^routes to this node applied by all 3 peer agent\(s\); own dataplane programmed at sha256:/,
    );

    const events = await eventually('the RoutesConverged Event', async () => {
      const list = JSON.parse((await cp.kubectl(['get', 'events.events.k8s.io', '-A', '-o', 'json'])).stdout) as {
        items: { regarding?: { kind?: string; name?: string }; type?: string; reason?: string; note?: string }[];
      };
      const about = list.items.filter((e) => e.regarding?.name === JOINER.name && e.reason === 'RoutesConverged');
      return about.length > 0 ? about : undefined;
    });
    expect(events.value.map((e) => [e.regarding?.kind, e.type])).toEqual([['Node', 'Normal']]);
    console.log(`condition: ${JSON.stringify(c.value)}\nEvent: ${JSON.stringify(events.value[0])}`);
    expect(events.value[0]!.note).toMatch(/^routes to node g-4 converged on 3 node\(s\) in \d+\.\d s$/);
    await op.operator.settled();
    expect(writesBetween(before, counts)).toEqual({ 'PATCH nodedataplanes/status': 1, 'POST events': 1 });
    expect((await gateMetric()) - observedBefore).toBe(1);

    // Its agent reporting again (a later sync) writes nothing more.
    const again = copyCounts(counts);
    rv = await agentApplies(JOINER.name);
    await settledAfter(rv);
    expect(writesBetween(again, counts)).toEqual({});
    const final = (await readCluster(client)).dataplanes.get(JOINER.name) as NodeDataplane;
    // The planner's and the agent's conditions stay theirs beside it.
    expect((final.status?.conditions ?? []).map((x) => x.type).sort()).toEqual(
      ['Planned', 'Programmed', ROUTES_CONVERGED_CONDITION].sort(),
    );
  });
});
