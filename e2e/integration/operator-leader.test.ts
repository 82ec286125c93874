// Two `tabby operator --leader-elect` processes (dist/, as the Deployment runs them) against a real apiserver: exactly
// one holds the Lease and plans; both serve /healthz, /readyz and /metrics with reconcile counters; `kill -9` of the
// leader (no release) → the other takes over once the lease has expired and keeps planning (a new
// Node gets its block and routes); IPAM stays consistent (no address or block handed out twice, one affinity per
// block); IPAM GC's first-seen times of leaked addresses survive the takeover (carried on the Lease), so a grace
// period is not started again by every new leader. Needs `npm run build`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startControlPlane, type ControlPlane } from '../harness/index.js';
import { createKubeClient, type KubeClient } from '../../src/kube/index.js';
import { createKubeBlockStore } from '../../src/kube/kube-block-store.js';
import { assignOrdinal, bumpSequence, cloneBlock } from '../../src/ipam/block.js';
import { incrementHandle } from '../../src/ipam/handles.js';
import { decodeGcMemory } from '../../src/ipam/gc-memory-codec.js';
import { ATTR_NAMESPACE, ATTR_NODE, ATTR_POD } from '../../src/ipam/model.js';
import { GC_MEMORY_ANNOTATION } from '../../src/operator/operator.js';
import {
  blocksOf,
  distProblem,
  eventually,
  httpGet,
  installCrds,
  ipamProblems,
  metricValue,
  nodeObject,
  poolObject,
  rawClients,
  routesConverge,
  spawnOperator,
  type OperatorProcess,
  type TestNode,
} from './operator-support.js';

const LEASE = { namespace: 'default', name: 'tabby-operator' };
const LEADER_SAMPLE = `tabby_leader{lease="${LEASE.namespace}/${LEASE.name}"}`;
const NODES: TestNode[] = [
  { name: 'node-a', ipv4: '10.0.0.11/24' },
  { name: 'node-b', ipv4: '10.0.0.12/24' },
  { name: 'node-c', ipv4: '10.0.1.13/24' },
];
const POOL = 'pool-a';

describe('operator processes with leader election', () => {
  let cp: ControlPlane;
  let client: KubeClient;
  const procs: OperatorProcess[] = [];

  beforeAll(async () => {
    const problem = distProblem();
    if (problem) throw new Error(problem);
    cp = await startControlPlane({ name: 'operator-leader', controllerManager: true });
    await installCrds(cp);
    client = createKubeClient({ source: { kubeconfigPath: cp.kubeconfigPath } });
    for (const n of NODES) await client.nodes().create(nodeObject(n));
    await rawClients(client).pools.create(poolObject(POOL, '10.244.0.0/16', { vxlanMode: 'CrossSubnet' }));
    for (const identity of ['operator-1', 'operator-2']) {
      procs.push(
        spawnOperator({
          kubeconfig: cp.kubeconfigPath,
          identity,
          metricsPort: await freePort(),
          args: ['--leader-elect', `--leader-election-namespace=${LEASE.namespace}`],
        }),
      );
    }
  });

  afterAll(async () => {
    for (const p of procs) {
      const code = await p.stop();
      console.log(`${p.identity}: exit ${code}, log ${p.log}`);
    }
    client?.close();
    await cp?.stop();
  });

  const holder = async (): Promise<string | undefined> =>
    (
      await client
        .leases()
        .get(LEASE.name, { namespace: LEASE.namespace })
        .catch(() => undefined)
    )?.spec?.holderIdentity ?? undefined;
  const metricsOf = async (p: OperatorProcess) => (await httpGet(p.metricsPort, '/metrics')).body;

  /** An address of node-a allocated for a pod that does not exist, as an agent would have left it (IPAM GC's leak). */
  async function leak(pod: string): Promise<void> {
    const store = createKubeBlockStore(client, { fieldManager: 'tabby-agent' });
    const handle = `k8s-pod-network.${pod}`;
    await incrementHandle(store, handle, (await blockOfNodeA(store)).value.cidr, 1, undefined, 'node-a');
    await eventually(`${pod}'s address written`, async () => {
      const b = await blockOfNodeA(store);
      const next = cloneBlock(b.value);
      assignOrdinal(next, next.unallocated[0]!, handle, {
        [ATTR_NODE]: 'node-a',
        [ATTR_NAMESPACE]: 'default',
        [ATTR_POD]: pod,
      });
      bumpSequence(next);
      return (await store.blocks.update(next, b.version)).ok ? true : undefined;
    });
  }
  async function blockOfNodeA(store: ReturnType<typeof createKubeBlockStore>) {
    const b = (await store.blocks.list()).find((x) => x.value.affinity === 'host:node-a');
    if (b === undefined) throw new Error('node-a has no block');
    return b;
  }
  /** The leak candidates (key → first seen) the leader carries on the Lease. */
  const carriedLeaks = async (): Promise<Map<string, number>> => {
    const l = await client.leases().get(LEASE.name, { namespace: LEASE.namespace });
    const { memory, error } = decodeGcMemory(l.metadata.annotations?.[GC_MEMORY_ANNOTATION]);
    if (error !== undefined) throw new Error(`lease annotation: ${error}`);
    return new Map(memory.leakCandidates);
  };

  it('elects one leader that plans; both serve /healthz, /readyz and /metrics', async () => {
    const { value: leader } = await eventually('a lease holder', holder, { timeoutMs: 120_000 });
    expect(procs.map((p) => p.identity)).toContain(leader);
    await routesConverge(
      client,
      NODES.map((n) => n.name),
      [POOL],
      120_000,
    );

    for (const p of procs) {
      // Both replicas keep their caches warm, so both are ready; only the holder leads.
      const health = await eventually(`${p.identity} /healthz`, async () => {
        const r = await httpGet(p.metricsPort, '/healthz');
        return r.status === 200 ? r : undefined;
      });
      expect(health.value.body).toBe('ok\n');
      const ready = await eventually(`${p.identity} /readyz`, async () => {
        const r = await httpGet(p.metricsPort, '/readyz');
        return r.status === 200 ? r : undefined;
      });
      expect(ready.value.body).toBe('ok\n');
      const leading = p.identity === leader;
      // Gauges are set by their controllers' own passes (the pool status pass runs after the blocks exist), so the
      // leader's are read once they show the converged cluster; the checks below are exact either way.
      const m = leading
        ? (
            await eventually(`${p.identity} gauges after convergence`, async () => {
              const text = await metricsOf(p);
              const settled =
                metricValue(text, 'tabby_plan_nodes') === 3 &&
                metricValue(text, `tabby_ipam_pool_allocated_blocks{pool="${POOL}"}`) === 3;
              return settled ? text : undefined;
            })
          ).value
        : await metricsOf(p);
      expect(metricValue(m, LEADER_SAMPLE), `${p.identity} ${LEADER_SAMPLE}`).toBe(leading ? 1 : 0);
      for (const c of ['plan', 'ippool', 'ipam']) {
        const ok = metricValue(m, `tabby_reconcile_total{controller="${c}",result="success"}`);
        if (leading) expect(ok, `${p.identity} ${c} reconciles`).toBeGreaterThan(0);
        else expect(ok, `${p.identity} ${c} reconciles`).toBe(0);
      }
      if (leading) {
        expect(metricValue(m, 'tabby_status_writes_total{writer="nodedataplane"}')).toBeGreaterThanOrEqual(3);
        expect(metricValue(m, 'tabby_plan_nodes')).toBe(3);
        expect(metricValue(m, `tabby_ipam_pool_allocated_blocks{pool="${POOL}"}`)).toBe(3);
        expect(m).toMatch(/^tabby_plan_convergence_seconds_count \d+/m);
        expect(m).toMatch(/^tabby_reconcile_duration_seconds_count\{controller="plan"\} \d+/m);
      } else {
        expect(metricValue(m, 'tabby_status_writes_total{writer="nodedataplane"}') ?? 0).toBe(0);
      }
      expect(m).toMatch(/^tabby_workqueue_depth\{controller="plan"\} \d+/m);
      expect(m).toMatch(/^tabby_informer_lists_total\{informer="nodes"\} [1-9]/m);
    }
    expect((await httpGet(procs[0]!.metricsPort, '/nope')).status).toBe(404);
  });

  it('kill -9 of the leader: the other takes over once the lease has expired and keeps planning, with no duplicate allocation', async () => {
    const leaderId = await holder();
    const leader = procs.find((p) => p.identity === leaderId)!;
    const follower = procs.find((p) => p.identity !== leaderId)!;
    expect(leader).toBeDefined();
    const before = (
      await routesConverge(
        client,
        NODES.map((n) => n.name),
        [POOL],
        120_000,
      )
    ).state;

    // A leaked address the leader's GC has seen (its grace, 15 min by default, far from over): the first-seen time
    // rides on the Lease.
    await leak('ghost-1');
    const { value: seen } = await eventually(
      'the leader carries the leak on the Lease',
      async () => {
        const m = await carriedLeaks();
        return m.size === 1 ? m : undefined;
      },
      { timeoutMs: 120_000 },
    );

    const lastRenewal = await client.leases().get(LEASE.name, { namespace: LEASE.namespace });
    await leader.kill();
    const killed = await client.leases().get(LEASE.name, { namespace: LEASE.namespace });
    const { value: taken } = await eventually(
      `${follower.identity} takes the lease`,
      async () => {
        const l = await client.leases().get(LEASE.name, { namespace: LEASE.namespace });
        const leading = metricValue(await metricsOf(follower), LEADER_SAMPLE) === 1;
        return l.spec?.holderIdentity === follower.identity && leading ? l : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 100 },
    );
    // Not before the lease expired: the takeover is at least a lease duration after the dead leader's last renewal
    // (one of the two reads around the kill holds it; both renewals are stamped by this machine's clock).
    const renewed = [lastRenewal, killed]
      .filter((l) => l.spec?.holderIdentity === leader.identity)
      .map((l) => Date.parse(l.spec?.renewTime ?? ''));
    expect(renewed.length).toBeGreaterThan(0);
    const sinceRenewal = Date.parse(taken.spec?.acquireTime ?? '') - Math.max(...renewed);
    expect(sinceRenewal).toBeGreaterThanOrEqual((killed.spec?.leaseDurationSeconds ?? 0) * 1000);
    console.log(
      `leader ${leader.identity} killed (SIGKILL); ${follower.identity} acquired ${sinceRenewal} ms after the last renewal`,
    );

    // The new leader plans what happens next: a Node joins in 10.0.1.0/24 and gets a block, a VTEP and routes.
    const joinedAt = Date.now();
    await client.nodes().create(nodeObject({ name: 'node-d', ipv4: '10.0.1.14/24' }));
    const names = [...NODES.map((n) => n.name), 'node-d'];
    const { state } = await routesConverge(client, names, [POOL], 120_000);
    console.log(`node-d planned by the new leader ${Date.now() - joinedAt} ms after it joined`);
    expect(blocksOf(state, 'node-d')).toHaveLength(1);
    for (const n of NODES) expect(blocksOf(state, n.name)).toEqual(blocksOf(before, n.name));
    expect(state.blocks).toHaveLength(4);
    expect(state.affinities).toHaveLength(4);
    expect(ipamProblems(state)).toEqual([]);
    const m = await metricsOf(follower);
    expect(metricValue(m, 'tabby_reconcile_total{controller="plan",result="success"}')).toBeGreaterThan(0);

    // The new leader's GC continues the first leak's grace from when the old leader first saw it: once a pass of its
    // own has seen a second leak, the first still carries the old leader's time (a fresh start would carry later).
    await leak('ghost-2');
    const { value: after } = await eventually(
      "the new leader's GC has seen the second leak",
      async () => {
        const m = await carriedLeaks();
        return m.size === 2 ? m : undefined;
      },
      { timeoutMs: 120_000 },
    );
    const [firstKey, firstSeen] = [...seen][0]!;
    expect(after.get(firstKey)).toBe(firstSeen);
  });
});
