// The operator survives kube-apiserver restarting under it (every watch and connection cut, etcd keeps the data):
// afterwards, changes made through the new apiserver — a Node joining, the pool switching encapsulation — are planned,
// nothing is allocated twice, and an operator whose lease could not be renewed while the apiserver was away steps down
// and, leading again, runs fresh controllers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startControlPlane, type ControlPlane } from '../harness/index.js';
import type { KubeClient } from '../../src/kube/index.js';
import type { Operator } from '../../src/operator/operator.js';
import {
  blocksOf,
  eventually,
  inProcessOperator,
  installCrds,
  ipamProblems,
  logFile,
  nodeObject,
  poolObject,
  rawClients,
  routesConverge,
  type TestNode,
} from './operator-support.js';

const NODES: TestNode[] = [
  { name: 'node-a', ipv4: '10.0.0.11/24' },
  { name: 'node-b', ipv4: '10.0.1.12/24' },
];
const POOL = 'pool-a';

describe('operator across a kube-apiserver restart', () => {
  let cp: ControlPlane;
  let op: { operator: Operator; client: KubeClient; stop(): Promise<void> };
  const log = logFile('apiserver-restart');

  beforeAll(async () => {
    cp = await startControlPlane({ name: 'operator-apiserver', controllerManager: false });
    await installCrds(cp);
    // Short lease timings, so that the restart certainly outlasts the renew deadline.
    op = inProcessOperator(cp, log, {
      leaderElection: {
        namespace: 'default',
        name: 'tabby-operator',
        identity: 'restart-test',
        leaseDurationMs: 3000,
        renewDeadlineMs: 2000,
        retryPeriodMs: 500,
      },
    });
    for (const n of NODES) await op.client.nodes().create(nodeObject(n));
    await rawClients(op.client).pools.create(poolObject(POOL, '10.244.0.0/16', { ipipMode: 'Always' }));
    await op.operator.start();
  });

  afterAll(async () => {
    console.log(`operator log: ${log}`);
    await op?.stop();
    await cp?.stop();
  });

  it('converges on changes made after the apiserver restarted', async () => {
    const names = NODES.map((n) => n.name);
    const before = (await routesConverge(op.client, names, [POOL], 120_000)).state;
    // A 2 s renew deadline can lapse on a loaded machine: the operator steps down and takes the lease again.
    await eventually('the operator to lead', () => op.operator.isLeader());

    let steppedDown = false;
    const sampler = setInterval(() => (steppedDown ||= !op.operator.isLeader()), 50);
    const t0 = Date.now();
    await cp.restartApiserver();
    const downMs = Date.now() - t0;

    // Changes through the new apiserver: a node joins, the pool switches to VXLAN CrossSubnet.
    const changedAt = Date.now();
    await op.client.nodes().create(nodeObject({ name: 'node-c', ipv4: '10.0.0.13/24' }));
    await rawClients(op.client).pools.mergePatch(POOL, { spec: { ipipMode: 'Never', vxlanMode: 'CrossSubnet' } });
    const { state } = await routesConverge(op.client, [...names, 'node-c'], [POOL], 120_000, (s) =>
      [...names, 'node-c'].every((n) => s.dataplanes.get(n)?.status?.desired?.tunnels?.[0]?.name === 'vxlan.calico'),
    );
    clearInterval(sampler);
    console.log(
      `apiserver restart took ${downMs} ms; changes made after it planned in ${Date.now() - changedAt} ms` +
        ` (stepped down meanwhile: ${steppedDown})`,
    );
    // The lease could not be renewed for longer than the renew deadline: the operator must have stopped leading,
    // and it leads (and plans) again now.
    expect(steppedDown).toBe(true);
    await eventually('leading again', () => op.operator.isLeader());

    for (const n of names) expect(blocksOf(state, n)).toEqual(blocksOf(before, n));
    expect(blocksOf(state, 'node-c')).toHaveLength(1);
    expect(state.blocks).toHaveLength(3);
    expect(ipamProblems(state)).toEqual([]);
  });
});
