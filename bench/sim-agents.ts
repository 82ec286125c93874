// Simulated node agents for `npm run bench -- operator`, in a process of their own (forked by operator.bench.ts) so
// that the operator's process measures only the operator. Each simulated agent does what `tabby agent` does against
// the apiserver — and nothing on a kernel:
//   - list+watch its own NodeDataplane (field selector metadata.name=<node>);
//   - list+watch the RouteTable shards of the view its NodeDataplane names (label selector
//     dataplane.tabby.dev/view=<view>), switching to the new view's shards when the view changes;
// keeping only revisions (agents of one view would hold the same routes; the bench keeps one copy of nothing);
//   - unless the bench turns it off (TABBY_BENCH_AGENT_STATUS=0), report what it "programmed" as the agent does after
//     each sync: status.applied (desired revision, the revision of its view's shards, time, counts) and the
//     Programmed=True condition, through server-side apply as field manager tabby-agent, built by the agent's own
//     src/agent/apply-report.ts and written by the same status writer, only when appliedStatusKey changed (a report
//     that differs from the last written one only in its time is not sent; its own write's echo writes nothing).
//     Simulated: programming always succeeds at once (no kernel, no sync time), and the counts are taken from the
//     shards (remote routes, remote VXLAN endpoints) and the desired state (own blocks, tunnel devices), not from a
//     kernel target. Each agent also notes when its NodeDataplane first shows RoutesConverged=True (the route gate).
// Every agent has its own client over one shared connection pool, and counts the bytes its lists and watch events
// bring (response bodies, JSON lines). It also runs the pod churn: the agent's real pod IPAM (src/agent/pod-ipam.ts)
// on a few nodes, Pods created and given their podIP through the status subresource as a kubelet does.
// Protocol: JSON messages over the fork IPC channel (see `Message`).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROTOCOL_VERSION } from '../src/api/agent-ipam-protocol.js';
import type { Condition } from '../src/api/common.js';
import {
  NodeDataplaneKind,
  ROUTE_VIEW_LABEL,
  RouteTableKind,
  type NodeDesired,
  type RouteTableStatus,
} from '../src/api/index.js';
import {
  appliedStatusKey,
  programmedCondition,
  programmedMessage,
  toNodeApplied,
  type ApplyReport,
} from '../src/agent/apply-report.js';
import { AGENT_FIELD_MANAGER } from '../src/agent/kube-source.js';
import { createPodIpam, type PodIpam } from '../src/agent/pod-ipam.js';
import { createAgentClient } from '../src/cni/agent-client.js';
import {
  AlreadyExistsError,
  createKubeClient,
  createStatusWriter,
  GoneError,
  TransientError,
  type KubeClient,
  type StatusWriter,
} from '../src/kube/index.js';
import type { ListWatchSource } from '../src/kube/list-watch-source.js';
import { createTransport, type Transport } from '../src/kube/transport.js';
import { createLogger } from '../src/log/logger.js';
import { ROUTES_CONVERGED_CONDITION } from '../src/plan/route-readiness.js';
import { viewRevision } from '../src/plan/view-revision.js';

export type Message =
  | {
      type: 'start';
      kubeconfig: string;
      nodes: string[];
      batch: number;
      /** Agents write status.applied + Programmed as `tabby agent` does (TABBY_BENCH_AGENT_STATUS, default on). */
      status: boolean;
      timeoutMs: number;
    }
  | { type: 'add'; nodes: string[] }
  | { type: 'remove'; nodes: string[] }
  | { type: 'mark' }
  | {
      type: 'await';
      /** node → the NodeDataplane revision it must hold; view → shard name → revision. */
      ndp: Record<string, string>;
      shards: Record<string, Record<string, string>>;
      /** Agents left out of the figures (e.g. a joining node's own agent, whose first list is not "a change"). */
      exclude?: string[];
      /** Agents that must also see RoutesConverged=True on their NodeDataplane (only when agents write status). */
      gate?: string[];
      timeoutMs: number;
    }
  | { type: 'churn'; nodes: string[]; perSecond: number; seconds: number; lifetimeMs: number }
  | { type: 'pods'; perNode: number; nodes: string[]; width: number }
  | { type: 'stop' };

export interface Started {
  type: 'started';
  agents: number;
  /** Every agent listed and watching. */
  ms: number;
  /** Every agent's status written, ms after the start; null when off (or not by the ceiling). */
  reportedMs: number | null;
  /** Every node's RoutesConverged=True seen by its agent, ms after the start; null when off (or not by the ceiling). */
  gatesOpenMs: number | null;
  /** Agents whose gate had not opened by the ceiling (status on). */
  gatesClosed: number;
}

export interface Converged {
  type: 'converged';
  agents: number;
  /** Agents that did not reach the expected state (and, with status on, did not report it) by the ceiling. */
  unconverged: string[];
  /** ms after the mark at which each agent got the last event that brought it to the expected state. */
  p50: number;
  p99: number;
  max: number;
  bytesTotal: number;
  bytesPerAgentP50: number;
  bytesPerAgentMax: number;
  events: number;
  /** Status writes the agents sent since the mark (writes the status writer skipped are not counted). */
  statusWrites: number;
  statusWriteFailures: number;
  /** One of those failures' error, if any. */
  statusWriteError?: string;
  /** Highest resourceVersion those writes produced ('' when none): the operator's cache must reach it. */
  statusRv: string;
  /** CPU of this process (every simulated agent) since the mark, ms. */
  cpuMs: number;
  /** Per `gate` agent, ms after the mark at which it saw RoutesConverged=True (null: not seen). */
  gateMs: (number | null)[];
}

/** What an agent keeps of one shard: its revision and what programming it would count. */
interface HeldShard {
  revision: string;
  /** Entries for other nodes (the agent skips its own). */
  routes: number;
  /** Other nodes reached through VXLAN (one ARP neighbour and one FDB entry each). */
  vteps: number;
}

/** The NodeDataplane as last seen: what the status writer and programmedCondition read of it. */
interface SeenNodeDataplane {
  metadata: { resourceVersion?: string; generation?: number };
  status?: { desired?: NodeDesired; conditions?: Condition[] };
}

interface StatusReporter {
  writer: StatusWriter;
  /** appliedStatusKey of the last report written (or skipped as already there), as the agent loop keeps it. */
  lastKey?: string;
  scheduled: boolean;
  running: boolean;
  again: boolean;
  writes: number;
  failures: number;
  /** The first failed write's error since the mark. */
  firstError?: string;
  lastRv: string;
}

interface Agent {
  name: string;
  client: KubeClient;
  abort: AbortController;
  view?: string;
  ndpRev?: string;
  ndp?: SeenNodeDataplane;
  /** The NodeDataplane's desired state (the churn's pod IPAM reads its MTU settings). */
  desired?: NodeDesired;
  shards: Map<string, HeldShard>;
  /** The current view's first shard list arrived (the agent syncs only once its RouteTable cache has). */
  shardsListed: boolean;
  rtAbort?: AbortController;
  /** When the last event that changed what the agent holds arrived (the echo of its own status write does not). */
  lastArrival: number;
  bytes: number;
  events: number;
  status?: StatusReporter;
  /** When the agent first saw RoutesConverged=True on its NodeDataplane. */
  routesConvergedAt?: number;
}

const send = (m: unknown): void => {
  process.send?.(m);
};

let shared: Transport | undefined;
let kubeconfig = '';
const agents = new Map<string, Agent>();
let mark = Date.now();
let cpuAtMark = process.cpuUsage();
let reportStatus = true;

/** A client whose responses' bytes count for `agent`. */
function agentClient(agent: () => Agent): KubeClient {
  const t = shared!;
  const counting: Transport = {
    get server() {
      return t.server;
    },
    get namespace() {
      return t.namespace;
    },
    async request(req) {
      const res = await t.request(req);
      // What lists bring; the answer to the agent's own status write is not "delivered" state.
      if (req.method === 'GET') agent().bytes += Buffer.byteLength(res.body);
      return res;
    },
    stream: (req, onLine) =>
      t.stream(req, (line) => {
        agent().bytes += Buffer.byteLength(line) + 1;
        onLine(line);
      }),
    close: () => undefined,
  };
  return createKubeClient({ transport: counting });
}

/** List then watch until `signal` aborts; relists after 410. `onItem` gets list items and event objects. */
async function listWatch(
  source: ListWatchSource,
  signal: AbortSignal,
  onReset: () => void,
  onItem: (type: 'ADDED' | 'MODIFIED' | 'DELETED', obj: Record<string, unknown>) => void,
  onListed?: () => void,
): Promise<void> {
  while (!signal.aborted) {
    let rv: string;
    try {
      const list = await source.list({ limit: 500, signal });
      onReset();
      for (const item of list.items) onItem('ADDED', item as Record<string, unknown>);
      rv = list.resourceVersion;
      let cont = list.continueToken;
      while (cont !== undefined) {
        const next = await source.list({ limit: 500, continueToken: cont, signal });
        for (const item of next.items) onItem('ADDED', item as Record<string, unknown>);
        rv = next.resourceVersion;
        cont = next.continueToken;
      }
      onListed?.();
      onListed = undefined;
    } catch {
      if (signal.aborted) return;
      await new Promise((r) => setTimeout(r, 200));
      continue;
    }
    while (!signal.aborted) {
      try {
        await source.watch({ resourceVersion: rv, timeoutSeconds: 600, signal }, (e) => {
          const obj = e.object as Record<string, unknown> & { metadata?: { resourceVersion?: string } };
          if (e.type === 'BOOKMARK' || e.type === 'ERROR') return;
          if (obj.metadata?.resourceVersion) rv = obj.metadata.resourceVersion;
          onItem(e.type, obj);
        });
      } catch (err) {
        if (signal.aborted) return;
        if (err instanceof GoneError) break;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }
}

function heldShard(self: string, status: RouteTableStatus): HeldShard {
  const remote = status.entries.filter((e) => e.node !== self);
  return {
    revision: status.revision,
    routes: remote.length,
    vteps: new Set(remote.filter((e) => e.kind === 'vxlan').map((e) => e.node)).size,
  };
}

function watchShards(a: Agent, view: string): void {
  a.rtAbort?.abort();
  const ctl = new AbortController();
  a.rtAbort = ctl;
  a.view = view;
  a.shardsListed = false;
  a.shards.clear();
  const source = a.client.kind(RouteTableKind).listWatch({ labelSelector: `${ROUTE_VIEW_LABEL}=${view}` });
  void listWatch(
    source,
    AbortSignal.any([ctl.signal, a.abort.signal]),
    () => a.shards.clear(),
    (type, obj) => {
      const name = (obj.metadata as { name: string }).name;
      a.events++;
      a.lastArrival = Date.now();
      const status = obj.status as RouteTableStatus | undefined;
      // A shard the operator created but has not filled yet holds nothing (the agent leaves it out too).
      if (type === 'DELETED' || status === undefined) a.shards.delete(name);
      else a.shards.set(name, heldShard(a.name, status));
      scheduleReport(a);
    },
    () => {
      a.shardsListed = true;
      scheduleReport(a);
    },
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Status, as the agent writes it after each sync (src/agent/agent-loop.ts, src/agent/kube-source.ts).

/** The report a sync of what the agent holds now would give (undefined: the agent would not sync yet). */
function syncReport(a: Agent): ApplyReport | undefined {
  const d = a.desired;
  if (d === undefined || !a.shardsListed || a.view !== d.view) return undefined;
  let routes = 0;
  let neighbours = 0;
  for (const s of a.shards.values()) {
    routes += s.routes;
    neighbours += s.vteps;
  }
  const counts = { routes, blackholes: d.blocks.length, neighbours, fdbEntries: neighbours, devices: d.tunnels.length };
  return {
    revision: d.revision,
    viewRevisions: [
      {
        view: a.view,
        revision: viewRevision([...a.shards].map(([name, s]) => ({ name, revision: s.revision }))),
        shards: a.shards.size,
      },
    ],
    time: new Date().toISOString(),
    programmed: true,
    fatal: false,
    changed: true,
    reread: false,
    counts,
    errors: [],
    warnings: [],
    operations: { ipLines: 0, bridgeLines: 0, processes: 0, sysctlWrites: 0, natReplaced: false, birdReloaded: false },
    reason: 'Programmed',
    message: programmedMessage(counts),
    durationMs: 0,
    lastProgrammedRevision: d.revision,
  };
}

/** Whether the agent has reported what it holds now (or does not report at all). */
function reported(a: Agent): boolean {
  const r = a.status;
  if (r === undefined) return true;
  const report = syncReport(a);
  return report !== undefined && !r.running && !r.scheduled && r.lastKey === appliedStatusKey(report);
}

/** After the current event (a list delivers many items in one go), sync and report, latest wins, one at a time. */
function scheduleReport(a: Agent): void {
  const r = a.status;
  if (r === undefined || r.scheduled) return;
  r.scheduled = true;
  setImmediate(() => {
    r.scheduled = false;
    void writeReports(a, r);
  });
}

async function writeReports(a: Agent, r: StatusReporter): Promise<void> {
  if (r.running) {
    r.again = true;
    return;
  }
  r.running = true;
  try {
    do {
      r.again = false;
      const report = syncReport(a);
      const ndp = a.ndp;
      if (report === undefined || ndp === undefined) break;
      const key = appliedStatusKey(report);
      // The agent loop's rule: a report whose key equals the last one written changes nothing but the time.
      if (key === r.lastKey) continue;
      const previous = ndp.status?.conditions?.find((c) => c.type === 'Programmed');
      try {
        const written = await r.writer.write(
          { name: a.name },
          {
            applied: toNodeApplied(report),
            conditions: [programmedCondition(report, ndp.metadata.generation, previous)],
          },
          ndp,
        );
        r.lastKey = key;
        if (written.written) {
          r.writes++;
          const rv = written.resourceVersion ?? '';
          if (rv !== '' && (r.lastRv === '' || BigInt(rv) > BigInt(r.lastRv))) r.lastRv = rv;
        }
      } catch (err) {
        // The agent loop retries a failed status write after a backoff; so does this one.
        r.failures++;
        r.firstError ??= (err as Error).message;
        if (a.abort.signal.aborted) return;
        await new Promise((res) => setTimeout(res, 200));
        r.again = true;
      }
    } while (r.again && !a.abort.signal.aborted);
  } finally {
    r.running = false;
  }
}

function startAgent(name: string): Promise<void> {
  const client = agentClient(() => a);
  const a: Agent = {
    name,
    client,
    abort: new AbortController(),
    shards: new Map(),
    shardsListed: false,
    lastArrival: 0,
    bytes: 0,
    events: 0,
    ...(reportStatus
      ? {
          status: {
            writer: createStatusWriter({
              resource: client.kind(NodeDataplaneKind),
              fieldManager: AGENT_FIELD_MANAGER,
              name: 'agent',
              mapLists: { conditions: ['type'] },
            }),
            scheduled: false,
            running: false,
            again: false,
            writes: 0,
            failures: 0,
            lastRv: '',
          },
        }
      : {}),
  };
  agents.set(name, a);
  return new Promise((resolve) => {
    const source = a.client.kind(NodeDataplaneKind).listWatch({ fieldSelector: `metadata.name=${name}` });
    void listWatch(
      source,
      a.abort.signal,
      () => undefined,
      (type, obj) => {
        a.events++;
        if (type === 'DELETED') {
          a.ndpRev = undefined;
          a.desired = undefined;
          a.ndp = undefined;
          a.lastArrival = Date.now();
          return;
        }
        const ndp = obj as unknown as SeenNodeDataplane;
        const desired = ndp.status?.desired;
        if (desired?.revision !== a.ndpRev) a.lastArrival = Date.now();
        a.ndp = ndp;
        a.ndpRev = desired?.revision;
        a.desired = desired;
        if (
          a.routesConvergedAt === undefined &&
          ndp.status?.conditions?.some((c) => c.type === ROUTES_CONVERGED_CONDITION && c.status === 'True') === true
        ) {
          a.routesConvergedAt = Date.now();
        }
        if (desired && desired.view !== a.view) watchShards(a, desired.view);
        scheduleReport(a);
      },
      resolve,
    );
  });
}

function stopAgent(name: string): void {
  const a = agents.get(name);
  if (!a) return;
  a.abort.abort();
  a.rtAbort?.abort();
  agents.delete(name);
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * (sorted.length - 1) + 0.5))]!;
}

/** Polls `done` every 50 ms until it holds or `timeoutMs` passed; whether it held. */
async function waitFor(done: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

async function awaitConverged(m: Extract<Message, { type: 'await' }>): Promise<Converged> {
  const exclude = new Set(m.exclude ?? []);
  const gate = new Set(reportStatus ? (m.gate ?? []) : []);
  const ok = (a: Agent): boolean => {
    if (a.ndpRev !== m.ndp[a.name] || a.view === undefined) return false;
    const want = m.shards[a.view] ?? {};
    if (a.shards.size !== Object.keys(want).length) return false;
    for (const [k, v] of Object.entries(want)) if (a.shards.get(k)?.revision !== v) return false;
    if (gate.has(a.name) && a.routesConvergedAt === undefined) return false;
    return reported(a);
  };
  const deadline = Date.now() + m.timeoutMs;
  let pending = [...agents.values()].filter((a) => !ok(a));
  let nextNote = Date.now() + 10_000;
  while (pending.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    pending = pending.filter((a) => !ok(a));
    if (Date.now() > nextNote && pending[0]) {
      nextNote = Date.now() + 10_000;
      const a = pending[0];
      const want = a.view !== undefined ? m.shards[a.view] : undefined;
      console.error(
        `sim-agents: ${pending.length} agents not there yet, e.g. ${a.name}: ndp ${a.ndpRev} (want ${m.ndp[a.name]}), ` +
          `view ${a.view}, shards ${JSON.stringify([...a.shards].map(([k, s]) => [k, s.revision]))} ` +
          `(want ${JSON.stringify(want)}), status reported ${reported(a)}, RoutesConverged seen ${a.routesConvergedAt !== undefined}`,
      );
    }
  }
  const measured = [...agents.values()].filter((a) => !exclude.has(a.name));
  const arrivals = measured
    .filter((a) => a.events > 0)
    .map((a) => a.lastArrival - mark)
    .sort((x, y) => x - y);
  const bytes = measured.map((a) => a.bytes).sort((x, y) => x - y);
  const all = [...agents.values()];
  let statusRv = '';
  const firstError = all.find((a) => a.status?.firstError !== undefined)?.status?.firstError;
  for (const a of all) {
    const rv = a.status?.lastRv ?? '';
    if (rv !== '' && (statusRv === '' || BigInt(rv) > BigInt(statusRv))) statusRv = rv;
  }
  return {
    type: 'converged',
    agents: measured.length,
    unconverged: pending.map((a) => a.name).slice(0, 10),
    p50: quantile(arrivals, 0.5),
    p99: quantile(arrivals, 0.99),
    max: arrivals.at(-1) ?? NaN,
    bytesTotal: bytes.reduce((s, b) => s + b, 0),
    bytesPerAgentP50: quantile(bytes, 0.5),
    bytesPerAgentMax: bytes.at(-1) ?? 0,
    events: measured.reduce((s, a) => s + a.events, 0),
    statusWrites: all.reduce((s, a) => s + (a.status?.writes ?? 0), 0),
    statusWriteFailures: all.reduce((s, a) => s + (a.status?.failures ?? 0), 0),
    ...(firstError !== undefined ? { statusWriteError: firstError } : {}),
    statusRv,
    cpuMs: (({ user, system }) => (user + system) / 1000)(process.cpuUsage(cpuAtMark)),
    gateMs: [...gate].map((n) => {
      const at = agents.get(n)?.routesConvergedAt;
      return at === undefined ? null : at - mark;
    }),
  };
}

/** Pod churn with the agent's real pod IPAM on `nodes`: `perSecond` pods start, each deleted after `lifetimeMs`. */
async function churn(m: Extract<Message, { type: 'churn' }>): Promise<unknown> {
  const dir = mkdtempSync(join(tmpdir(), 'tabby-sim-ipam-'));
  const client = createKubeClient({ transport: shared! });
  const log = createLogger({ component: 'sim-agent', level: 'warn' });
  const ipams: PodIpam[] = [];
  try {
    for (const node of m.nodes) {
      const ipam = createPodIpam({
        client,
        nodeName: node,
        socketPath: join(dir, `${node}.sock`),
        logger: log,
        desired: () => agents.get(node)?.desired,
        hostMtu: () => 1500,
      });
      await ipam.start();
      ipams.push(ipam);
    }
    let started = 0;
    let failed = 0;
    let firstError: string | undefined;
    const live = new Set<Promise<void>>();
    const t0 = Date.now();
    const total = m.perSecond * m.seconds;
    const podLife = async (i: number): Promise<void> => {
      const node = m.nodes[i % m.nodes.length]!;
      const name = `churn-${i}`;
      const agent = createAgentClient(join(dir, `${node}.sock`), 60_000);
      const handleId = `k8s-pod-network.${name}`;
      try {
        await client.pods().create({
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name, namespace: 'default' },
          spec: { nodeName: node, containers: [{ name: 'app', image: 'none' }] },
        });
        const r = await agent.call({
          v: PROTOCOL_VERSION,
          op: 'assign',
          handleId,
          containerId: name,
          attrs: { namespace: 'default', pod: name, node },
          families: [4],
        });
        const ip = r.addresses[0]!.address.split('/')[0]!;
        await client.pods().patchStatus(name, { podIP: ip, podIPs: [{ ip }] }, { namespace: 'default' });
        await new Promise((res) => setTimeout(res, m.lifetimeMs));
        await agent.call({ v: PROTOCOL_VERSION, op: 'release', handleId });
        await client.pods().delete(name, { namespace: 'default' });
      } catch (err) {
        failed++;
        firstError ??= (err as Error).message;
      }
    };
    for (let i = 0; i < total; i++) {
      const due = t0 + (i * 1000) / m.perSecond;
      const wait = due - Date.now();
      if (wait > 0) await new Promise((res) => setTimeout(res, wait));
      started++;
      const p = podLife(i).finally(() => live.delete(p));
      live.add(p);
    }
    const startedMs = Date.now() - t0;
    await Promise.all(live);
    return { type: 'churned', started, failed, firstError, achievedPerSecond: (started / startedMs) * 1000 };
  } finally {
    for (const i of ipams) await i.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * A write that a loaded apiserver may drop (connection reset) is tried again, as kubelet's would be; a create whose
 * first try landed before the reset finds its object there.
 */
async function withRetries(what: () => Promise<unknown>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await what();
      return;
    } catch (err) {
      if (err instanceof AlreadyExistsError && attempt > 1) return;
      if (!(err instanceof TransientError) || attempt >= 5) throw err;
    }
  }
}

/** `perNode` Pods on each node, each with a podIP set as a kubelet does (for the operator's caches). */
async function pods(m: Extract<Message, { type: 'pods' }>): Promise<unknown> {
  const client = createKubeClient({ transport: shared! });
  const jobs: { node: string; i: number; n: number }[] = [];
  m.nodes.forEach((node, n) => {
    for (let i = 0; i < m.perNode; i++) jobs.push({ node, i, n });
  });
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < jobs.length) {
      const { node, i, n } = jobs[next++]!;
      const name = `load-${node}-${i}`;
      await withRetries(() =>
        client.pods().create({
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name, namespace: 'default', labels: { app: 'load' } },
          spec: { nodeName: node, containers: [{ name: 'app', image: 'none' }] },
        }),
      );
      const ip = `100.${64 + (n >> 8)}.${n & 255}.${i + 1}`;
      await withRetries(() =>
        client.pods().patchStatus(name, { podIP: ip, podIPs: [{ ip }] }, { namespace: 'default' }),
      );
    }
  };
  const t0 = Date.now();
  await Promise.all(Array.from({ length: m.width }, worker));
  return { type: 'podsDone', pods: jobs.length, ms: Date.now() - t0 };
}

process.on('message', (raw: Message) => {
  void (async () => {
    try {
      switch (raw.type) {
        case 'start': {
          kubeconfig = raw.kubeconfig;
          reportStatus = raw.status;
          shared = createTransport({ kubeconfigPath: kubeconfig });
          const t0 = Date.now();
          for (let i = 0; i < raw.nodes.length; i += raw.batch) {
            await Promise.all(raw.nodes.slice(i, i + raw.batch).map((n) => startAgent(n)));
          }
          const ms = Date.now() - t0;
          let reportedMs: number | null = null;
          let gatesOpenMs: number | null = null;
          let gatesClosed = 0;
          if (reportStatus) {
            // Every node's first report opens the route gates of a cluster that starts together.
            const all = [...agents.values()];
            if (await waitFor(() => all.every(reported), raw.timeoutMs)) reportedMs = Date.now() - t0;
            if (await waitFor(() => all.every((a) => a.routesConvergedAt !== undefined), raw.timeoutMs)) {
              gatesOpenMs = Date.now() - t0;
            }
            gatesClosed = all.filter((a) => a.routesConvergedAt === undefined).length;
          }
          send({ type: 'started', ms, agents: agents.size, reportedMs, gatesOpenMs, gatesClosed } satisfies Started);
          break;
        }
        case 'add':
          await Promise.all(raw.nodes.map((n) => startAgent(n)));
          send({ type: 'added' });
          break;
        case 'remove':
          for (const n of raw.nodes) stopAgent(n);
          send({ type: 'removed' });
          break;
        case 'mark':
          mark = Date.now();
          cpuAtMark = process.cpuUsage();
          for (const a of agents.values()) {
            a.bytes = 0;
            a.events = 0;
            a.lastArrival = mark;
            if (a.status) {
              a.status.writes = 0;
              a.status.failures = 0;
              delete a.status.firstError;
              a.status.lastRv = '';
            }
          }
          send({ type: 'marked', at: mark });
          break;
        case 'await':
          send(await awaitConverged(raw));
          break;
        case 'churn':
          send(await churn(raw));
          break;
        case 'pods':
          send(await pods(raw));
          break;
        case 'stop':
          for (const n of [...agents.keys()]) stopAgent(n);
          shared?.close();
          send({ type: 'stopped' });
          process.exit(0);
      }
    } catch (err) {
      send({ type: 'error', message: (err as Error).stack ?? String(err) });
    }
  })();
});
send({ type: 'hello', pid: process.pid });
