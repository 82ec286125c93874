// Shared by the operator-*.test.ts integration tests and bench/operator.bench.ts: CRDs into a real control plane,
// Nodes with Calico's address annotation, IPPools, one consistent read of every object the operator writes, each
// node's `ip route` table as an agent would program it (materialised from its NodeDataplane and its view's
// RouteTables), the table Calico's rules say it should hold (computed here, independently of src/plan, from the
// Nodes, IPPools and IPAMBlocks alone), IPAM consistency, and the operator run in-process or as `tabby operator`.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, statSync, readdirSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  BlockAffinityKind,
  IPAMBlockKind,
  IPAMHandleKind,
  IPPoolKind,
  NodeDataplaneKind,
  ROUTE_VIEW_LABEL,
  RouteTableKind,
  type BlockAffinity,
  type IPAMBlock,
  type IPAMHandle,
  type NodeDataplane,
  type RouteTable,
} from '../../src/api/index.js';
import { createPodIpam, type PodIpam } from '../../src/agent/pod-ipam.js';
import { buildNodeDesired } from '../../src/agent/test-support/desired-builder.js';
import { checkIpam, affinityFromSpec, blockFromSpec, handleFromSpec } from '../../src/ipam/index.js';
import { createKubeClient, kindResource, type KubeClient, type KubeObject, type Node } from '../../src/kube/index.js';
import { createTransport, type HttpRequest, type Transport } from '../../src/kube/transport.js';
import { createLogger, type Logger } from '../../src/log/logger.js';
import { cidrContainsIP, parseCidr, parseCidrLoose, parseIP, cidrContainsCidr } from '../../src/net/index.js';
import type { CacheName } from '../../src/operator/caches.js';
import { settingsFromEnv } from '../../src/operator/config.js';
import { createOperator, type Operator, type OperatorOptions } from '../../src/operator/operator.js';
import { materialiseNode } from '../../src/plan/materialise.js';
import { DEFAULT_CEILING_MS, eventually } from '../harness/eventually.js';
import type { ControlPlane } from '../harness/index.js';

export const REPO = resolve(import.meta.dirname, '../..');
export const TABBY_MAIN = join(REPO, 'dist/cli/main.js');

export const IPV4_ADDRESS = 'projectcalico.org/IPv4Address';
export const IPIP_ADDRESS = 'projectcalico.org/IPv4IPIPTunnelAddr';
export const VXLAN_ADDRESS = 'projectcalico.org/IPv4VXLANTunnelAddr';
export const VXLAN_MAC = 'projectcalico.org/VXLANTunnelMACAddr';

export type Mode = 'Always' | 'CrossSubnet' | 'Never';

// ---------------------------------------------------------------------------------------------------------------
// Setup

export async function installCrds(cp: ControlPlane): Promise<void> {
  const crds = join(REPO, 'crds');
  const applied = await cp.kubectl(['apply', '-f', crds]);
  if (applied.code !== 0) throw new Error(`kubectl apply crds: ${applied.stderr}`);
  const established = await cp.kubectl(['wait', '--for=condition=Established', '--timeout=60s', '-f', crds]);
  if (established.code !== 0) throw new Error(`CRDs not established: ${established.stderr}`);
}

export interface TestNode {
  name: string;
  /** `projectcalico.org/IPv4Address`, interface form (e.g. 10.0.0.11/24). */
  ipv4: string;
  labels?: Record<string, string>;
}

export function nodeObject(n: TestNode): Node {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: n.name, annotations: { [IPV4_ADDRESS]: n.ipv4 }, ...(n.labels ? { labels: n.labels } : {}) },
  };
}

export interface PoolOptions {
  ipipMode?: Mode;
  vxlanMode?: Mode;
  blockSize?: number;
  nodeSelector?: string;
}

export function poolObject(name: string, cidr: string, o: PoolOptions = {}): KubeObject {
  return {
    apiVersion: 'projectcalico.org/v3',
    kind: 'IPPool',
    metadata: { name },
    spec: {
      cidr,
      blockSize: o.blockSize ?? 26,
      ipipMode: o.ipipMode ?? 'Never',
      vxlanMode: o.vxlanMode ?? 'Never',
      natOutgoing: true,
      nodeSelector: o.nodeSelector ?? 'all()',
    },
  };
}

/** Untyped clients for what tests create and patch (an invalid IPPool must still be writable). */
export function rawClients(client: KubeClient) {
  return {
    nodes: client.nodes(),
    pools: client.resource(kindResource(IPPoolKind)),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// One read of the cluster

export interface RawObject {
  metadata: {
    name: string;
    uid?: string;
    resourceVersion?: string;
    generation?: number;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    deletionTimestamp?: string;
  };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
}

export interface ClusterState {
  nodes: Map<string, RawObject>;
  pools: Map<string, RawObject>;
  blocks: IPAMBlock[];
  affinities: BlockAffinity[];
  handles: IPAMHandle[];
  dataplanes: Map<string, NodeDataplane>;
  routeTables: RouteTable[];
}

export async function readCluster(client: KubeClient): Promise<ClusterState> {
  const raw = rawClients(client);
  const [nodes, pools, blocks, affinities, handles, dataplanes, routeTables] = await Promise.all([
    raw.nodes.list(),
    raw.pools.list(),
    client.kind(IPAMBlockKind).list(),
    client.kind(BlockAffinityKind).list(),
    client.kind(IPAMHandleKind).list(),
    client.kind(NodeDataplaneKind).list(),
    client.kind(RouteTableKind).list(),
  ]);
  for (const l of [blocks, affinities, handles, dataplanes, routeTables]) {
    if (l.invalid.length > 0)
      throw new Error(`invalid objects stored: ${JSON.stringify(l.invalid.map((i) => i.issues))}`);
  }
  const byName = <T extends { metadata: { name: string } }>(xs: readonly T[]) =>
    new Map(xs.map((x) => [x.metadata.name, x]));
  return {
    nodes: byName(nodes.items as RawObject[]),
    pools: byName(pools.items as RawObject[]),
    blocks: blocks.items,
    affinities: affinities.items,
    handles: handles.items,
    dataplanes: byName(dataplanes.items),
    routeTables: routeTables.items,
  };
}

/** The newest resourceVersion among objects (etcd revisions, so numerically comparable). */
export function newestResourceVersion(objs: Iterable<{ metadata: { resourceVersion?: string | undefined } }>): string {
  let max = 0n;
  for (const o of objs) {
    const rv = BigInt(o.metadata.resourceVersion ?? '0');
    if (rv > max) max = rv;
  }
  return max.toString();
}

/**
 * Per operator cache, the newest object the apiserver holds of its kind now: `operator.settled({ seen })` with this
 * returns only once the operator has had every event of what was written so far — its own writes included, whose
 * events can arrive after its queues went quiet (a NodeDataplane it created, a block it claimed).
 */
export async function serverSeen(client: KubeClient): Promise<Partial<Record<CacheName, string>>> {
  const s = await readCluster(client);
  return {
    nodes: newestResourceVersion(s.nodes.values()),
    ippools: newestResourceVersion(s.pools.values()),
    ipamBlocks: newestResourceVersion(s.blocks),
    blockAffinities: newestResourceVersion(s.affinities),
    ipamHandles: newestResourceVersion(s.handles),
    nodeDataplanes: newestResourceVersion(s.dataplanes.values()),
    routeTables: newestResourceVersion(s.routeTables),
  };
}

/** Blocks affine to `node` (live, not soft-deleted), sorted. */
export function blocksOf(s: ClusterState, node: string): string[] {
  return s.blocks
    .filter((b) => !b.spec.deleted && b.spec.affinity === `host:${node}`)
    .map((b) => b.spec.cidr)
    .sort();
}

export function annotation(s: ClusterState, node: string, key: string): string | undefined {
  return s.nodes.get(node)?.metadata.annotations?.[key];
}

export function condition(
  obj: Pick<RawObject, 'status'> | undefined,
  type: string,
): Record<string, unknown> | undefined {
  const conds = (obj?.status?.conditions ?? []) as Record<string, unknown>[];
  return conds.find((c) => c.type === type);
}

// ---------------------------------------------------------------------------------------------------------------
// Routes: planned (what an agent would program) and expected (Calico's rules, computed here)

/** The node's `ip route` lines as its agent would program them, or undefined before it is planned. */
export function plannedRoutes(s: ClusterState, node: string): string[] | undefined {
  const desired = s.dataplanes.get(node)?.status?.desired;
  if (!desired) return undefined;
  const shardsOf = (view: string) =>
    s.routeTables
      .filter((rt) => rt.metadata.labels?.[ROUTE_VIEW_LABEL] === view && rt.status !== undefined)
      .map((rt) => ({ status: rt.status! }));
  const v4 = shardsOf(desired.view);
  const v6 = desired.viewV6 !== undefined ? shardsOf(desired.viewV6) : v4;
  return materialiseNode(node, desired, v4, v6)
    .routes.map((r) => r.line)
    .sort();
}

/**
 * The table Calico's rules give `node` from the Nodes, IPPools and IPAMBlocks alone: `blackhole` for its own blocks;
 * for each block affine to another node, by the pool holding it — VXLAN Always (or CrossSubnet across subnets)
 * `via <owner VTEP> dev vxlan.calico onlink`, IPIP Always (or CrossSubnet across subnets)
 * `via <owner IP> dev tunl0 onlink`, otherwise `via <owner IP>`. A string instead of lines says why the table cannot
 * be complete yet (a block or a tunnel address not allocated).
 */
export function expectedRoutes(s: ClusterState, node: string, pools: readonly string[]): string[] | string {
  const own = blocksOf(s, node);
  if (own.length === 0) return `${node} has no block yet`;
  const localAddr = annotation(s, node, IPV4_ADDRESS);
  if (!localAddr) return `${node} has no ${IPV4_ADDRESS}`;
  const localSubnet = parseCidrLoose(localAddr);
  const lines = own.map((b) => `blackhole ${b}`);
  const poolList = pools.map((name) => {
    const p = s.pools.get(name);
    if (!p?.spec) throw new Error(`pool ${name} not found`);
    return { name, cidr: parseCidr(p.spec.cidr as string), spec: p.spec };
  });
  for (const b of s.blocks) {
    const owner = b.spec.affinity?.startsWith('host:') ? b.spec.affinity.slice(5) : undefined;
    if (b.spec.deleted || owner === undefined || owner === node || !s.nodes.has(owner)) continue;
    const pool = poolList.find((p) => cidrContainsCidr(p.cidr, parseCidr(b.spec.cidr)));
    if (!pool) continue;
    const ownerIP = annotation(s, owner, IPV4_ADDRESS)?.split('/')[0];
    if (!ownerIP) continue;
    const same = cidrContainsIP(localSubnet, parseIP(ownerIP));
    const tunnels = (m: unknown) => m === 'Always' || (m === 'CrossSubnet' && !same);
    if (tunnels(pool.spec.vxlanMode)) {
      const vtep = annotation(s, owner, VXLAN_ADDRESS);
      if (!vtep) return `${owner} has no VXLAN tunnel address yet`;
      lines.push(`${b.spec.cidr} via ${vtep} dev vxlan.calico onlink`);
    } else if (tunnels(pool.spec.ipipMode)) {
      lines.push(`${b.spec.cidr} via ${ownerIP} dev tunl0 onlink`);
    } else {
      lines.push(`${b.spec.cidr} via ${ownerIP}`);
    }
  }
  return lines.sort();
}

/** Nodes whose planned table differs from the expected one (with both), empty when every node matches. */
export function routeMismatches(
  s: ClusterState,
  nodes: readonly string[],
  pools: readonly string[],
): { node: string; planned: string[] | undefined; expected: string[] | string }[] {
  const out = [];
  for (const node of nodes) {
    const expected = expectedRoutes(s, node, pools);
    const planned = plannedRoutes(s, node);
    if (typeof expected === 'string' || planned === undefined || planned.join('\n') !== expected.join('\n')) {
      out.push({ node, planned, expected });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// IPAM consistency

/**
 * Everything wrong with IPAM state: src/ipam's consistency check (errors only), plus the invariants checked here
 * directly — no address allocated twice across blocks, no two live blocks overlapping, exactly one affinity object
 * per affine block (and it names the block's node), no tunnel address shared by two nodes.
 */
export function ipamProblems(s: ClusterState): string[] {
  const out: string[] = [];
  const check = checkIpam({
    blocks: s.blocks.map((b) => blockFromSpec(b.spec)),
    affinities: s.affinities.map((a) => affinityFromSpec(a.spec)),
    handles: s.handles.map((h) => handleFromSpec(h.spec)),
    nodes: new Set(s.nodes.keys()),
  });
  for (const f of check.findings) if (f.severity === 'error') out.push(`check: ${f.object.name}: ${f.message}`);

  const live = s.blocks.filter((b) => !b.spec.deleted);
  const seen = new Map<string, string>();
  for (const b of live) {
    const base = parseCidr(b.spec.cidr);
    b.spec.allocations.forEach((a, ordinal) => {
      if (a === null) return;
      const key = `${base.family}:${(BigInt(ipToNumber(b.spec.cidr)) + BigInt(ordinal)).toString()}`;
      const prev = seen.get(key);
      if (prev !== undefined) out.push(`address ordinal ${ordinal} of ${b.spec.cidr} also allocated in ${prev}`);
      seen.set(key, b.spec.cidr);
    });
    const inUse = new Set(b.spec.allocations.map((a, i) => (a === null ? -1 : i)).filter((i) => i >= 0));
    for (const u of b.spec.unallocated)
      if (inUse.has(u)) out.push(`${b.spec.cidr}: ordinal ${u} both free and allocated`);
  }
  for (let i = 0; i < live.length; i++) {
    for (let j = i + 1; j < live.length; j++) {
      const x = parseCidr(live[i]!.spec.cidr);
      const y = parseCidr(live[j]!.spec.cidr);
      if (cidrContainsCidr(x, y) || cidrContainsCidr(y, x)) {
        out.push(`blocks ${live[i]!.spec.cidr} and ${live[j]!.spec.cidr} overlap`);
      }
    }
  }
  for (const b of live) {
    const node = b.spec.affinity?.startsWith('host:') ? b.spec.affinity.slice(5) : undefined;
    if (node === undefined) continue;
    const affs = s.affinities.filter((a) => !a.spec.deleted && a.spec.cidr === b.spec.cidr);
    if (affs.length !== 1)
      out.push(`${b.spec.cidr}: ${affs.length} affinities (${affs.map((a) => a.spec.node).join(', ')})`);
    else if (affs[0]!.spec.node !== node)
      out.push(`${b.spec.cidr}: affine to ${node} but its affinity names ${affs[0]!.spec.node}`);
  }
  const tunnelOwners = new Map<string, string>();
  for (const [name, n] of s.nodes) {
    for (const key of [IPIP_ADDRESS, VXLAN_ADDRESS]) {
      const ip = n.metadata.annotations?.[key];
      if (ip === undefined) continue;
      const prev = tunnelOwners.get(ip);
      if (prev !== undefined) out.push(`tunnel address ${ip} held by ${prev} and ${name}`);
      tunnelOwners.set(ip, name);
    }
  }
  return out;
}

function ipToNumber(cidr: string): bigint {
  const [addr] = cidr.split('/');
  return addr!.split('.').reduce((n, o) => n * 256n + BigInt(o), 0n);
}

// ---------------------------------------------------------------------------------------------------------------
// Waiting

export { DEFAULT_CEILING_MS, eventually };

/** Waits until every node's planned table equals the expected one; returns the state and the time it took. */
export async function routesConverge(
  client: KubeClient,
  nodes: readonly string[],
  pools: readonly string[],
  timeoutMs = DEFAULT_CEILING_MS,
  extra?: (s: ClusterState) => boolean,
): Promise<{ state: ClusterState; ms: number }> {
  let last: ClusterState | undefined;
  const r = await eventually(
    `routes of ${nodes.join(', ')}`,
    async () => {
      const s = await readCluster(client);
      last = s;
      return routeMismatches(s, nodes, pools).length === 0 && (extra?.(s) ?? true) ? s : undefined;
    },
    { timeoutMs, intervalMs: 50, describe: () => (last ? routeMismatches(last, nodes, pools) : 'nothing read') },
  );
  return { state: r.value, ms: r.ms };
}

// ---------------------------------------------------------------------------------------------------------------
// The operator

export function logFile(label: string): string {
  return join(mkdtempSync(join(tmpdir(), `tabby-op-${label}-`)), 'operator.log');
}

export function fileLogger(path: string): Logger {
  return createLogger({ component: 'operator', level: 'debug', destination: createWriteStream(path, { flags: 'a' }) });
}

/**
 * An agent's pod IPAM for `nodeName`, serving CNI requests on `socketPath`, started: a node planned without
 * encapsulation on a 1500-byte host, so pods get MTU 1500. Its writes go through `client`.
 */
export async function startPodIpam(
  client: KubeClient,
  nodeName: string,
  socketPath: string,
  log: string,
): Promise<PodIpam> {
  const ipam = createPodIpam({
    client,
    nodeName,
    socketPath,
    logger: fileLogger(log),
    desired: () => buildNodeDesired(),
    hostMtu: () => 1500,
  });
  await ipam.start();
  return ipam;
}

// ---------------------------------------------------------------------------------------------------------------
// Counting the operator's writes (under its client: every POST/PUT/PATCH/DELETE it sends)

export interface WriteCounts {
  writes: number;
  bytes: number;
  /** `METHOD resource[/status]`, e.g. `PATCH nodedataplanes/status` → count and request bytes. */
  byKind: Map<string, { writes: number; bytes: number }>;
}

export function newWriteCounts(): WriteCounts {
  return { writes: 0, bytes: 0, byKind: new Map() };
}

function writeKind(req: HttpRequest): string {
  const sub = /\/status$/.test(req.path) ? '/status' : '';
  return `${req.method} ${req.target.resource.split('.')[0]}${sub}`;
}

/** A transport that counts every write going through it into `counts`. */
export function countingTransport(inner: Transport, counts: WriteCounts): Transport {
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
        const k = counts.byKind.get(writeKind(req)) ?? { writes: 0, bytes: 0 };
        k.writes++;
        k.bytes += bytes;
        counts.byKind.set(writeKind(req), k);
      }
      return inner.request(req);
    },
    stream: (req, onLine) => inner.stream(req, onLine),
    close: () => inner.close(),
  };
}

export function copyCounts(c: WriteCounts): WriteCounts {
  return { writes: c.writes, bytes: c.bytes, byKind: new Map([...c.byKind].map(([k, v]) => [k, { ...v }])) };
}

/** The writes made between two copies, as `kind → count` (kinds with none left out). */
export function writesBetween(before: WriteCounts, after: WriteCounts): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of after.byKind) {
    const n = v.writes - (before.byKind.get(k)?.writes ?? 0);
    if (n > 0) out[k] = n;
  }
  return out;
}

/** `createOperator` in this process with its own client, logging to `log` (its writes counted into `counts`). */
export function inProcessOperator(
  cp: ControlPlane,
  log: string,
  extra: Partial<OperatorOptions> = {},
  counts?: WriteCounts,
): { operator: Operator; client: KubeClient; stop(): Promise<void> } {
  const source = { kubeconfigPath: cp.kubeconfigPath };
  const transport = counts ? countingTransport(createTransport(source), counts) : undefined;
  const client = createKubeClient({
    ...(transport ? { transport } : { source }),
    fieldManager: 'tabby-operator',
  });
  const operator = createOperator({
    client,
    logger: fileLogger(log),
    settings: settingsFromEnv({ CALICO_IPV4POOL_CREATE: 'false' }),
    ...extra,
  });
  return {
    operator,
    client,
    async stop() {
      await operator.stop();
      client.close();
    },
  };
}

/** Why dist/ cannot be used: missing, or older than the operator's own sources (operator, kube, observe, its command). */
export function distProblem(): string | undefined {
  if (!existsSync(TABBY_MAIN)) return `${TABBY_MAIN} missing: run npm run build`;
  const sources = ['cli/operator-command.ts'];
  for (const dir of ['operator', 'kube', 'observe']) {
    for (const f of readdirSync(join(REPO, 'src', dir))) {
      if (f.endsWith('.ts') && !f.endsWith('.test.ts')) sources.push(`${dir}/${f}`);
    }
  }
  for (const src of sources) {
    const built = join(REPO, 'dist', src.replace(/\.ts$/, '.js'));
    if (!existsSync(built) || statSync(built).mtimeMs < statSync(join(REPO, 'src', src)).mtimeMs) {
      return `${built} is older than src/${src}: run npm run build`;
    }
  }
  return undefined;
}

export interface OperatorProcess {
  identity: string;
  metricsPort: number;
  log: string;
  child: ChildProcess;
  exited: Promise<number | null>;
  /** SIGTERM, waiting for a clean exit. */
  stop(): Promise<number | null>;
  /** SIGKILL: no release of the lease, no cleanup. */
  kill(): Promise<void>;
}

/** `node dist/cli/main.js operator` as a Deployment would run it (identity from POD_NAME). */
export function spawnOperator(o: {
  kubeconfig: string;
  identity: string;
  metricsPort: number;
  args?: string[];
  env?: Record<string, string>;
}): OperatorProcess {
  const log = logFile(o.identity);
  const out = createWriteStream(log, { flags: 'a' });
  const child = spawn(
    process.execPath,
    [
      TABBY_MAIN,
      'operator',
      `--kubeconfig=${o.kubeconfig}`,
      `--metrics-port=${o.metricsPort}`,
      '--metrics-host=127.0.0.1',
      '--log-level=debug',
      ...(o.args ?? []),
    ],
    {
      env: { PATH: process.env.PATH ?? '', POD_NAME: o.identity, CALICO_IPV4POOL_CREATE: 'false', ...o.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  child.stdout?.pipe(out, { end: false });
  child.stderr?.pipe(out, { end: false });
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  return {
    identity: o.identity,
    metricsPort: o.metricsPort,
    log,
    child,
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

export function httpGet(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolveGet, reject) => {
    const req = request({ host: '127.0.0.1', port, path, timeout: 30_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolveGet({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error(`GET ${path}: timeout`)));
    req.end();
  });
}

/** The value of one sample in Prometheus text (`name{labels}` exactly as written, labels sorted as prom-client does). */
export function metricValue(text: string, sample: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${sample} `)) return Number(line.slice(sample.length + 1));
  }
  return undefined;
}
