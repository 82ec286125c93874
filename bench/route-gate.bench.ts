// Join → RoutesConverged through the route readiness gate (issue 21 item 1), against a real apiserver: the operator in
// this process; agents simulated by one driver that watches every NodeDataplane and RouteTable and, whenever what a
// node should hold changes, writes that node's status.applied (its desired revision and its views' revisions)
// with Programmed=True, as `tabby agent` does after a sync — with no kernel time, so the figure is Tabby's own path:
// plan → shards and NodeDataplane written → every agent's report → the gate's condition. Then JOINS nodes join one
// after another; for each, the time from creating the Node to its RoutesConverged=True, and the operator's writes
// from the creation until then (the gate's share: one NodeDataplane status write and one Event).
import { startControlPlane } from '../e2e/harness/index.js';
import {
  copyCounts,
  eventually,
  inProcessOperator,
  installCrds,
  logFile,
  newWriteCounts,
  nodeObject,
  poolObject,
  rawClients,
  writesBetween,
} from '../e2e/integration/operator-support.js';
import { NodeDataplaneKind, RouteTableKind, type NodeDataplane, type RouteTable } from '../src/api/index.js';
import { createInformer, createKubeClient } from '../src/kube/index.js';
import { ROUTES_CONVERGED_CONDITION } from '../src/plan/route-readiness.js';
import { viewRevision } from '../src/plan/view-revision.js';

const INITIAL = 20;
const JOINS = 10;

const ip = (i: number) => `10.0.${i % 2}.${10 + Math.floor(i / 2)}/24`;

function quantile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
}

export default async function run(): Promise<void> {
  const cp = await startControlPlane({ name: 'bench-route-gate' });
  const counts = newWriteCounts();
  const log = logFile('bench-route-gate');
  const op = inProcessOperator(cp, log, { driftCheckIntervalMs: 0 }, counts);
  const client = createKubeClient({ source: { kubeconfigPath: cp.kubeconfigPath } });
  const agents = createKubeClient({ source: { kubeconfigPath: cp.kubeconfigPath }, fieldManager: 'tabby-agent' });
  const lastWritten = new Map<string, string>();
  let pending: Promise<void> | undefined;
  let again = false;
  const ndps = createInformer<NodeDataplane>({
    kind: 'NodeDataplane',
    source: agents.kind(NodeDataplaneKind).listWatch(),
    schema: agents.kind(NodeDataplaneKind).schema,
    handlers: { onAdd: () => report(), onUpdate: () => report() },
  });
  const shards = createInformer<RouteTable>({
    kind: 'RouteTable',
    source: agents.kind(RouteTableKind).listWatch(),
    schema: agents.kind(RouteTableKind).schema,
    handlers: { onAdd: () => report(), onUpdate: () => report(), onDelete: () => report() },
  });

  /** Every simulated agent whose inputs changed writes its report (one pass at a time; changes meanwhile: again). */
  function report(): void {
    if (pending) {
      again = true;
      return;
    }
    pending = (async () => {
      do {
        again = false;
        const byView = new Map<string, { name: string; revision: string }[]>();
        for (const rt of shards.store.list()) {
          if (!rt.status) continue;
          const list = byView.get(rt.status.view) ?? [];
          list.push({ name: rt.metadata.name, revision: rt.status.revision });
          byView.set(rt.status.view, list);
        }
        await Promise.all(
          ndps.store.list().map(async (ndp) => {
            const d = ndp.status?.desired;
            if (!d) return;
            const held = [...new Set([d.view, d.viewV6].filter((v): v is string => v !== undefined))]
              .sort()
              .map((view) => {
                const list = byView.get(view) ?? [];
                return { view, revision: viewRevision(list), shards: list.length };
              });
            const key = JSON.stringify([d.revision, held]);
            if (lastWritten.get(ndp.metadata.name) === key) return;
            lastWritten.set(ndp.metadata.name, key);
            const time = new Date().toISOString();
            await agents.kind(NodeDataplaneKind).applyStatus(
              ndp.metadata.name,
              {
                applied: { revision: d.revision, viewRevisions: held, time },
                conditions: [
                  {
                    type: 'Programmed',
                    status: 'True',
                    reason: 'Programmed',
                    message: 'bench',
                    lastTransitionTime: time,
                  },
                ],
              },
              { fieldManager: 'tabby-agent' },
            );
          }),
        );
      } while (again);
      pending = undefined;
    })();
  }
  const converged = (node: string) =>
    ndps.store
      .get(node)
      ?.status?.conditions?.some((c) => c.type === ROUTES_CONVERGED_CONDITION && c.status === 'True') === true;

  try {
    await installCrds(cp);
    for (let i = 0; i < INITIAL; i++) await client.nodes().create(nodeObject({ name: `n-${i}`, ipv4: ip(i) }));
    await rawClients(client).pools.create(poolObject('pool-b', '10.244.0.0/16', { vxlanMode: 'CrossSubnet' }));
    ndps.start();
    shards.start();
    await op.operator.start();
    await eventually(
      'the first nodes converged',
      () => Array.from({ length: INITIAL }, (_, i) => `n-${i}`).every(converged),
      { intervalMs: 20 },
    );
    await op.operator.settled();
    const times: number[] = [];
    let gateWrites: Record<string, number> | undefined;
    for (let j = 0; j < JOINS; j++) {
      const name = `n-${INITIAL + j}`;
      const before = copyCounts(counts);
      const t0 = performance.now();
      await client.nodes().create(nodeObject({ name, ipv4: ip(INITIAL + j) }));
      await eventually(`${name} converged`, () => converged(name), { intervalMs: 5 });
      times.push(performance.now() - t0);
      await op.operator.settled();
      gateWrites ??= writesBetween(before, counts);
    }
    console.log(
      `join → RoutesConverged (${INITIAL}..${INITIAL + JOINS - 1} nodes, two views, simulated agents applying at once): ` +
        `p50 ${quantile(times, 0.5).toFixed(0)} ms, p99 ${quantile(times, 0.99).toFixed(0)} ms (${JOINS} joins)`,
    );
    console.log(`operator writes of the first join, node creation → converged: ${JSON.stringify(gateWrites)}`);
  } finally {
    await ndps.stop();
    await shards.stop();
    await op.stop();
    client.close();
    agents.close();
    await cp.stop();
  }
}
