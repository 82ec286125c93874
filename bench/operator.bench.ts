// Operator benchmark (issue 8) against a real control plane (etcd + kube-apiserver, one per size): 100, 500 and
// 1,000 simulated Nodes (Node objects with Calico's address annotation, no kubelets) in four /16 subnets, one IPPool
// with vxlanMode CrossSubnet (so four route views), the operator in this process.
// Figures:
//   - pool create → every node's desired state written: each NodeDataplane has its block and VXLAN tunnel, and
//     every view's RouteTables hold a route for every block (as a watch on the apiserver shows them, checked every 20 ms);
//   - API writes and request bytes the operator sends per node join and per node delete (mean of 5 each, counted
//     under the client: every POST/PUT/PATCH/DELETE, IPAM and Events included), split into plan writes
//     (NodeDataplane + RouteTable) and the rest, against the aim of ≤ 16 KiB and ≤ one write per view + 2 per join;
//   - time from the join/delete to its desired state written.
// Each size takes a fresh control plane; the whole run stays under ~10 minutes on two cores.
import { createWriteStream, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startControlPlane, type ControlPlane } from '../e2e/harness/index.js';
import { installCrds, nodeObject, poolObject, rawClients } from '../e2e/integration/operator-support.js';
import { NodeDataplaneKind, ROUTE_VIEW_LABEL, RouteTableKind } from '../src/api/index.js';
import {
  KubeObjectSchema,
  createInformer,
  createKubeClient,
  kindResource,
  type Informer,
  type KubeClient,
  type KubeObject,
} from '../src/kube/index.js';
import { createTransport, type HttpRequest, type Transport } from '../src/kube/transport.js';
import { createLogger } from '../src/log/logger.js';
import { settingsFromEnv } from '../src/operator/config.js';
import { createOperator, type Operator } from '../src/operator/operator.js';

// TABBY_BENCH_OPERATOR_SIZES=100 for a quick look.
const SIZES = (process.env.TABBY_BENCH_OPERATOR_SIZES ?? '100,500,1000').split(',').map(Number);
const SAMPLES = 5;
const SUBNETS = 4;
const POOL = 'bench-pool';
const AIM_BYTES = 16 * 1024;

// ---------------------------------------------------------------------------------------------------------------
// Counting every write the operator sends

interface WriteCounts {
  writes: number;
  bytes: number;
  byKind: Map<string, { writes: number; bytes: number }>;
}

function newCounts(): WriteCounts {
  return { writes: 0, bytes: 0, byKind: new Map() };
}

function kindOf(req: HttpRequest): string {
  const sub = /\/status$/.test(req.path) ? '/status' : '';
  return `${req.method} ${req.target.resource.split('.')[0]}${sub}`;
}

function countingTransport(inner: Transport, counts: WriteCounts): Transport {
  return {
    get server() {
      return inner.server;
    },
    get namespace() {
      return inner.namespace;
    },
    request(req) {
      if (req.method !== 'GET') {
        const bytes = req.body === undefined ? 0 : Buffer.byteLength(req.body);
        counts.writes++;
        counts.bytes += bytes;
        const k = counts.byKind.get(kindOf(req)) ?? { writes: 0, bytes: 0 };
        k.writes++;
        k.bytes += bytes;
        counts.byKind.set(kindOf(req), k);
      }
      return inner.request(req);
    },
    stream: (req, onLine) => inner.stream(req, onLine),
    close: () => inner.close(),
  };
}

function snapshot(c: WriteCounts): WriteCounts {
  return { writes: c.writes, bytes: c.bytes, byKind: new Map([...c.byKind].map(([k, v]) => [k, { ...v }])) };
}

function diff(after: WriteCounts, before: WriteCounts): WriteCounts {
  const byKind = new Map<string, { writes: number; bytes: number }>();
  for (const [k, v] of after.byKind) {
    const b = before.byKind.get(k) ?? { writes: 0, bytes: 0 };
    if (v.writes > b.writes) byKind.set(k, { writes: v.writes - b.writes, bytes: v.bytes - b.bytes });
  }
  return { writes: after.writes - before.writes, bytes: after.bytes - before.bytes, byKind };
}

const isPlanWrite = (kind: string) => /nodedataplanes|routetables/.test(kind);

// ---------------------------------------------------------------------------------------------------------------
// The cluster as the apiserver holds it

interface Planned {
  /** node → its own block CIDRs and whether its VXLAN tunnel device has an address. */
  nodes: Map<string, { blocks: string[]; view: string; vtep: boolean }>;
  /** view → destination CIDRs over all its shards. */
  views: Map<string, Set<string>>;
}

/**
 * The bench's own mirror of NodeDataplanes and RouteTables, kept by watches: checking "written" against it costs the
 * apiserver nothing beyond the events it sends anyway (listing 1,000 dataplanes and MBs of shards every 100 ms would
 * load it more than the operator does).
 */
interface Mirror {
  read(): Planned;
  stop(): Promise<void>;
}

async function startMirror(client: KubeClient): Promise<Mirror> {
  const informers = [NodeDataplaneKind, RouteTableKind].map((kind) =>
    createInformer<KubeObject>({
      name: `bench-${kind.plural}`,
      kind: kind.kind,
      source: client.resource(kindResource(kind)).listWatch(),
      schema: KubeObjectSchema,
    }),
  );
  for (const i of informers) i.start();
  await Promise.all(informers.map((i) => i.waitForSync()));
  const [ndps, rts] = informers as [Informer<KubeObject>, Informer<KubeObject>];
  return {
    read: () => planned(ndps.store.list(), rts.store.list()),
    stop: async () => {
      await Promise.all(informers.map((i) => i.stop()));
    },
  };
}

function planned(ndpItems: readonly unknown[], rtItems: readonly unknown[]): Planned {
  const nodes = new Map<string, { blocks: string[]; view: string; vtep: boolean }>();
  for (const o of ndpItems as { metadata: { name: string }; status?: { desired?: Record<string, unknown> } }[]) {
    const d = o.status?.desired;
    if (!d) continue;
    const tunnels = (d.tunnels ?? []) as { name: string; address?: string }[];
    nodes.set(o.metadata.name, {
      blocks: ((d.blocks ?? []) as { cidr: string }[]).map((b) => b.cidr),
      view: String(d.view),
      vtep: tunnels.some((t) => t.name === 'vxlan.calico' && t.address !== undefined),
    });
  }
  const views = new Map<string, Set<string>>();
  for (const rt of rtItems as {
    metadata: { labels?: Record<string, string> };
    status?: { entries?: { cidr: string; kind: string; vtepIP?: string }[] };
  }[]) {
    const view = rt.metadata.labels?.[ROUTE_VIEW_LABEL];
    if (view === undefined) continue;
    const set = views.get(view) ?? new Set<string>();
    for (const e of rt.status?.entries ?? []) if (e.kind !== 'vxlan' || e.vtepIP !== undefined) set.add(e.cidr);
    views.set(view, set);
  }
  return { nodes, views };
}

/** Every node in `names` planned with a block and a VTEP, and every view routing exactly the live nodes' blocks. */
function complete(p: Planned, names: ReadonlySet<string>): boolean {
  if (p.nodes.size !== names.size) return false;
  const all = new Set<string>();
  for (const name of names) {
    const n = p.nodes.get(name);
    if (!n || n.blocks.length === 0 || !n.vtep) return false;
    for (const b of n.blocks) all.add(b);
  }
  const used = new Set([...p.nodes.values()].map((n) => n.view));
  for (const v of used) {
    const routes = p.views.get(v);
    if (!routes || routes.size !== all.size) return false;
    for (const b of all) if (!routes.has(b)) return false;
  }
  return true;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, probe: () => boolean | Promise<boolean>, timeoutMs: number): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    if (await probe()) return performance.now() - t0;
    if (performance.now() - t0 > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(20);
  }
}

/** No write for `quietMs` and every controller idle: the operator has finished reacting. */
async function quiesce(op: Operator, counts: WriteCounts, quietMs = 1000): Promise<void> {
  let last = counts.writes;
  let since = performance.now();
  for (;;) {
    await op.idle();
    await sleep(100);
    if (counts.writes !== last) {
      last = counts.writes;
      since = performance.now();
    } else if (performance.now() - since >= quietMs) return;
  }
}

function nodeName(i: number): string {
  return `node-${String(i).padStart(4, '0')}`;
}

/** Node i in subnet i mod 4: 10.10x.y.z/16. */
function nodeAddress(i: number): string {
  const host = Math.floor(i / SUBNETS) + 10;
  return `10.${100 + (i % SUBNETS)}.${Math.floor(host / 250)}.${(host % 250) + 1}/16`;
}

async function inBatches<T>(items: readonly T[], width: number, fn: (x: T) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < items.length; i += width) await Promise.all(items.slice(i, i + width).map(fn));
}

// ---------------------------------------------------------------------------------------------------------------

interface Row {
  nodes: number;
  'pool→all written (s)': number;
  'initial writes': number;
  'initial MiB': number;
  'join ms': number;
  'join writes (plan)': string;
  'join KiB (plan)': string;
  'delete ms': number;
  'delete writes (plan)': string;
  'delete KiB (plan)': string;
  views: number;
}

interface Breakdown {
  nodes: number;
  diag: string;
  join: WriteCounts;
  del: WriteCounts;
}

async function measure(n: number, logDir: string): Promise<{ row: Row; breakdown: Breakdown }> {
  const cp: ControlPlane = await startControlPlane({ name: `bench-${n}`, controllerManager: false });
  const admin = createKubeClient({ source: { kubeconfigPath: cp.kubeconfigPath } });
  const counts = newCounts();
  const opClient = createKubeClient({
    transport: countingTransport(createTransport({ kubeconfigPath: cp.kubeconfigPath }), counts),
    fieldManager: 'tabby-operator',
  });
  const op = createOperator({
    client: opClient,
    logger: createLogger({
      component: 'operator',
      level: (process.env.TABBY_BENCH_LOG_LEVEL ?? 'warn') as 'warn',
      destination: createWriteStream(join(logDir, `operator-${n}.log`)),
    }),
    settings: settingsFromEnv({ CALICO_IPV4POOL_CREATE: 'false' }),
  });
  let stopMirror = async (): Promise<void> => undefined;
  try {
    await installCrds(cp);
    const names = new Set<string>();
    const indexes = Array.from({ length: n }, (_, i) => i);
    await inBatches(indexes, 32, async (i) => {
      await admin.nodes().create(nodeObject({ name: nodeName(i), ipv4: nodeAddress(i) }) as never);
      names.add(nodeName(i));
    });
    await op.start();
    const mirror = await startMirror(admin);
    stopMirror = () => mirror.stop();
    await quiesce(op, counts);

    // Pool create → every desired state written.
    const before = snapshot(counts);
    const t0 = performance.now();
    await rawClients(admin).pools.create(poolObject(POOL, '10.128.0.0/12', { vxlanMode: 'CrossSubnet' }));
    await until(`${n} nodes planned`, () => complete(mirror.read(), names), 300_000);
    const initialMs = performance.now() - t0;
    await quiesce(op, counts);
    const initial = diff(counts, before);
    const m = await op.metrics.registry.metrics();
    const sample = (name: string) =>
      Number(/ ([0-9.e+-]+)$/.exec(m.split('\n').find((l) => l.startsWith(name + ' ')) ?? '')?.[1] ?? NaN);
    const passes = ['success', 'error', 'requeue'].reduce(
      (a, r) => a + (sample(`tabby_reconcile_total{controller="plan",result="${r}"}`) || 0),
      0,
    );
    const meanMs = (c: string) =>
      (1000 * sample(`tabby_reconcile_duration_seconds_sum{controller="${c}"}`)) /
      sample(`tabby_reconcile_duration_seconds_count{controller="${c}"}`);
    const diag =
      `${n} nodes, to converge: ${passes} plan passes (mean ${meanMs('plan').toFixed(0)} ms), ` +
      `IPAM reconcile mean ${meanMs('ipam').toFixed(0)} ms, ` +
      `${initial.writes} writes (${[...initial.byKind].map(([k, v]) => `${k} ${v.writes}`).join(', ')})`;
    const views = new Set([...mirror.read().nodes.values()].map((x) => x.view)).size;

    // Joins, one at a time, each into subnet 0; then deletes of original nodes, one at a time.
    const joins: { ms: number; w: WriteCounts }[] = [];
    for (let j = 0; j < SAMPLES; j++) {
      const i = n + j * SUBNETS;
      const b = snapshot(counts);
      const t = performance.now();
      await admin.nodes().create(nodeObject({ name: nodeName(i), ipv4: nodeAddress(i) }) as never);
      names.add(nodeName(i));
      await until(`join ${nodeName(i)}`, () => complete(mirror.read(), names), 60_000);
      const ms = performance.now() - t;
      await quiesce(op, counts);
      joins.push({ ms, w: diff(counts, b) });
    }
    const deletes: { ms: number; w: WriteCounts }[] = [];
    for (let j = 0; j < SAMPLES; j++) {
      const name = nodeName(j * 7 + 1);
      const b = snapshot(counts);
      const t = performance.now();
      await admin.nodes().delete(name);
      names.delete(name);
      await until(`delete ${name}`, () => complete(mirror.read(), names), 60_000);
      const ms = performance.now() - t;
      await quiesce(op, counts);
      deletes.push({ ms, w: diff(counts, b) });
    }

    const mean = (xs: number[]) => xs.reduce((a, x) => a + x, 0) / xs.length;
    const planOf = (w: WriteCounts) =>
      [...w.byKind]
        .filter(([k]) => isPlanWrite(k))
        .reduce((a, [, v]) => ({ writes: a.writes + v.writes, bytes: a.bytes + v.bytes }), {
          writes: 0,
          bytes: 0,
        });
    const fmt = (samples: { w: WriteCounts }[], what: 'writes' | 'bytes') => {
      const all = mean(samples.map((s) => s.w[what]));
      const plan = mean(samples.map((s) => planOf(s.w)[what]));
      return what === 'writes'
        ? `${all.toFixed(1)} (${plan.toFixed(1)})`
        : `${(all / 1024).toFixed(1)} (${(plan / 1024).toFixed(1)})`;
    };
    const sum = (samples: { w: WriteCounts }[]): WriteCounts => {
      const out = newCounts();
      for (const s of samples) {
        out.writes += s.w.writes;
        out.bytes += s.w.bytes;
        for (const [k, v] of s.w.byKind) {
          const o = out.byKind.get(k) ?? { writes: 0, bytes: 0 };
          o.writes += v.writes;
          o.bytes += v.bytes;
          out.byKind.set(k, o);
        }
      }
      return out;
    };
    return {
      row: {
        nodes: n,
        'pool→all written (s)': Math.round(initialMs / 100) / 10,
        'initial writes': initial.writes,
        'initial MiB': Math.round((initial.bytes / 1048576) * 10) / 10,
        'join ms': Math.round(mean(joins.map((x) => x.ms))),
        'join writes (plan)': fmt(joins, 'writes'),
        'join KiB (plan)': fmt(joins, 'bytes'),
        'delete ms': Math.round(mean(deletes.map((x) => x.ms))),
        'delete writes (plan)': fmt(deletes, 'writes'),
        'delete KiB (plan)': fmt(deletes, 'bytes'),
        views,
      },
      breakdown: { nodes: n, diag, join: sum(joins), del: sum(deletes) },
    };
  } finally {
    await stopMirror();
    await op.stop();
    opClient.close();
    admin.close();
    await cp.stop();
  }
}

export default async function run(): Promise<void> {
  const logDir = mkdtempSync(join(tmpdir(), 'tabby-bench-operator-'));
  const started = performance.now();
  const rows: Row[] = [];
  const breakdowns: Breakdown[] = [];
  for (const n of SIZES) {
    const r = await measure(n, logDir);
    rows.push(r.row);
    breakdowns.push(r.breakdown);
    console.log(`  ${n} nodes done (${Math.round((performance.now() - started) / 1000)} s so far)`);
  }
  console.table(rows);
  console.log(
    `pool→all written: pool create until every NodeDataplane has its block and VTEP and every view's RouteTables ` +
      `route every block (watched, checked every 20 ms). join/delete: mean of ${SAMPLES}, time until the change is in every ` +
      `view; writes/KiB = every POST/PUT/PATCH/DELETE the operator sent (request bodies), in brackets the ` +
      `NodeDataplane + RouteTable share. Aim per join: ≤ ${AIM_BYTES / 1024} KiB, ≤ views + 2 plan writes.`,
  );
  for (const b of breakdowns) {
    const line = (w: WriteCounts) =>
      [...w.byKind]
        .sort(([a], [c]) => (a < c ? -1 : 1))
        .map(([k, v]) => `${k} ${(v.writes / SAMPLES).toFixed(1)}×/${(v.bytes / SAMPLES / 1024).toFixed(1)} KiB`)
        .join(', ');
    console.log(b.diag);
    console.log(`${b.nodes} nodes, per join:   ${line(b.join)}`);
    console.log(`${b.nodes} nodes, per delete: ${line(b.del)}`);
  }
  const last = rows[rows.length - 1]!;
  const first = rows[0]!;
  const joinBytes = (r: Row) => Number(r['join KiB (plan)'].split(' ')[0]);
  console.log(
    `join bytes ${SIZES[SIZES.length - 1]} vs ${SIZES[0]} nodes: ${(joinBytes(last) / joinBytes(first)).toFixed(2)}× ` +
      `(flat = does not grow with N); ${(joinBytes(last) / (AIM_BYTES / 1024)).toFixed(2)}× of the ${AIM_BYTES / 1024} KiB aim`,
  );
  console.log(`total ${Math.round((performance.now() - started) / 1000)} s; operator logs in ${logDir}`);
}
