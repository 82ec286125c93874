// Simulated node agents for `npm run bench -- operator`, in a process of their own (forked by operator.bench.ts) so
// that the operator's process measures only the operator. Each simulated agent does what `tabby agent` does against
// the apiserver — and nothing on a kernel:
//   - list+watch its own NodeDataplane (field selector metadata.name=<node>);
//   - list+watch the RouteTable shards of the view its NodeDataplane names (label selector
//     dataplane.tabby.dev/view=<view>), switching to the new view's shards when the view changes;
// keeping only revisions (agents of one view would hold the same routes; the bench keeps one copy of nothing).
// Every agent has its own client over one shared connection pool, and counts the bytes its lists and watch events
// bring (response bodies, JSON lines). It also runs the pod churn: the agent's real pod IPAM (src/agent/pod-ipam.ts)
// on a few nodes, Pods created and given their podIP through the status subresource as a kubelet does.
// Protocol: JSON messages over the fork IPC channel (see `Message`).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROTOCOL_VERSION } from '../src/api/agent-ipam-protocol.js';
import { NodeDataplaneKind, ROUTE_VIEW_LABEL, RouteTableKind, type NodeDesired } from '../src/api/index.js';
import { createPodIpam, type PodIpam } from '../src/agent/pod-ipam.js';
import { createAgentClient } from '../src/cni/agent-client.js';
import { AlreadyExistsError, createKubeClient, GoneError, TransientError, type KubeClient } from '../src/kube/index.js';
import type { ListWatchSource } from '../src/kube/list-watch-source.js';
import { createTransport, type Transport } from '../src/kube/transport.js';
import { createLogger } from '../src/log/logger.js';

export type Message =
  | { type: 'start'; kubeconfig: string; nodes: string[]; batch: number }
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
      timeoutMs: number;
    }
  | { type: 'churn'; nodes: string[]; perSecond: number; seconds: number; lifetimeMs: number }
  | { type: 'pods'; perNode: number; nodes: string[]; width: number }
  | { type: 'stop' };

export interface Converged {
  type: 'converged';
  agents: number;
  unconverged: string[];
  /** ms after the mark at which each agent got the last event that brought it to the expected state. */
  p50: number;
  p99: number;
  max: number;
  bytesTotal: number;
  bytesPerAgentP50: number;
  bytesPerAgentMax: number;
  events: number;
}

interface Agent {
  name: string;
  client: KubeClient;
  abort: AbortController;
  view?: string;
  ndpRev?: string;
  /** The NodeDataplane's desired state (the churn's pod IPAM reads its MTU settings). */
  desired?: NodeDesired;
  shards: Map<string, string>;
  rtAbort?: AbortController;
  lastArrival: number;
  bytes: number;
  events: number;
}

const send = (m: unknown): void => {
  process.send?.(m);
};

let shared: Transport | undefined;
let kubeconfig = '';
const agents = new Map<string, Agent>();
let mark = Date.now();

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
      agent().bytes += Buffer.byteLength(res.body);
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

function watchShards(a: Agent, view: string): void {
  a.rtAbort?.abort();
  const ctl = new AbortController();
  a.rtAbort = ctl;
  a.view = view;
  const source = a.client.kind(RouteTableKind).listWatch({ labelSelector: `${ROUTE_VIEW_LABEL}=${view}` });
  void listWatch(
    source,
    AbortSignal.any([ctl.signal, a.abort.signal]),
    () => a.shards.clear(),
    (type, obj) => {
      const name = (obj.metadata as { name: string }).name;
      a.events++;
      a.lastArrival = Date.now();
      if (type === 'DELETED') a.shards.delete(name);
      else a.shards.set(name, String((obj.status as { revision?: string } | undefined)?.revision ?? ''));
    },
  );
}

function startAgent(name: string): Promise<void> {
  const a: Agent = {
    name,
    client: agentClient(() => a),
    abort: new AbortController(),
    shards: new Map(),
    lastArrival: 0,
    bytes: 0,
    events: 0,
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
        a.lastArrival = Date.now();
        if (type === 'DELETED') {
          a.ndpRev = undefined;
          a.desired = undefined;
          return;
        }
        const desired = (obj.status as { desired?: NodeDesired } | undefined)?.desired;
        a.ndpRev = desired?.revision;
        a.desired = desired;
        if (desired && desired.view !== a.view) watchShards(a, desired.view);
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

async function awaitConverged(m: Extract<Message, { type: 'await' }>): Promise<Converged> {
  const exclude = new Set(m.exclude ?? []);
  const ok = (a: Agent): boolean => {
    if (a.ndpRev !== m.ndp[a.name] || a.view === undefined) return false;
    const want = m.shards[a.view] ?? {};
    if (a.shards.size !== Object.keys(want).length) return false;
    for (const [k, v] of Object.entries(want)) if (a.shards.get(k) !== v) return false;
    return true;
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
          `view ${a.view}, shards ${JSON.stringify([...a.shards])} (want ${JSON.stringify(want)})`,
      );
    }
  }
  const measured = [...agents.values()].filter((a) => !exclude.has(a.name));
  const arrivals = measured
    .filter((a) => a.events > 0)
    .map((a) => a.lastArrival - mark)
    .sort((x, y) => x - y);
  const bytes = measured.map((a) => a.bytes).sort((x, y) => x - y);
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
          shared = createTransport({ kubeconfigPath: kubeconfig });
          const t0 = Date.now();
          for (let i = 0; i < raw.nodes.length; i += raw.batch) {
            await Promise.all(raw.nodes.slice(i, i + raw.batch).map((n) => startAgent(n)));
          }
          send({ type: 'started', ms: Date.now() - t0, agents: agents.size });
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
          for (const a of agents.values()) {
            a.bytes = 0;
            a.events = 0;
            a.lastArrival = mark;
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
