// Shared pieces of the packaging tests: helm with its own throwaway home, rendering the chart into objects, building
// the Tabby image (e2e/images/build-image.sh), an `--internal` Docker network whose host address the harness
// apiserver listens on, the Tabby image run as `tabby operator` by testcontainers, and small polling helpers.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import yaml from 'js-yaml';
import { GenericContainer, Wait, type StartedTestContainer } from 'testcontainers';
import { ROUTE_VIEW_LABEL, type IPPool, type NodeDataplane, type RouteTable } from '../../src/api/index.js';
import { materialiseNode } from '../../src/plan/materialise.js';
import { findBinary, runCommand, type ControlPlane, type ExecResult } from '../harness/index.js';

const exec = promisify(execFile);
// No registry is reachable: testcontainers must neither start its reaper image nor try to pull ours.
process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';
export const neverPull = { shouldPull: (): boolean => false };

export const REPO = resolve(import.meta.dirname, '../..');
export const CHART = join(REPO, 'charts', 'tabby');
const DOCKER = '/usr/bin/docker';

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; [k: string]: unknown };
  [k: string]: unknown;
}

// helm keeps caches, repositories and plugins under $HOME; the tests use a home of their own.
const helmHome = mkdtempSync(join(tmpdir(), 'tabby-helm-home-'));
process.once('exit', () => rmSync(helmHome, { recursive: true, force: true }));
const helmEnv: NodeJS.ProcessEnv = {
  ...process.env,
  HELM_CACHE_HOME: join(helmHome, 'cache'),
  HELM_CONFIG_HOME: join(helmHome, 'config'),
  HELM_DATA_HOME: join(helmHome, 'data'),
};

/** Runs helm (the pinned binary); never throws for a non-zero exit. */
export function helm(args: string[], opts: { kubeconfig?: string; timeoutMs?: number } = {}): Promise<ExecResult> {
  const kube = opts.kubeconfig ? [`--kubeconfig=${opts.kubeconfig}`] : [];
  return runCommand(findBinary('helm'), [...args, ...kube], { env: helmEnv, timeoutMs: opts.timeoutMs ?? 120_000 });
}

/** Runs helm and returns its stdout; throws with its stderr when it fails. */
export async function helmOk(args: string[], opts: { kubeconfig?: string } = {}): Promise<string> {
  const r = await helm(args, opts);
  if (r.code !== 0) throw new Error(`helm ${args.join(' ')} failed (${r.code}):\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** `--set-json` arguments for a values object: one per top-level key. */
export function setJson(values: Record<string, unknown>): string[] {
  return Object.entries(values).flatMap(([k, v]) => ['--set-json', `${k}=${JSON.stringify(v)}`]);
}

export interface RenderResult {
  ok: boolean;
  objects: K8sObject[];
  stderr: string;
}

/** `helm template` of the chart with `values`; objects parsed from the output when it succeeds. */
export async function renderChart(
  values: Record<string, unknown>,
  opts: { release?: string; namespace?: string; extraArgs?: string[] } = {},
): Promise<RenderResult> {
  const r = await helm([
    'template',
    opts.release ?? 'tabby',
    CHART,
    '--namespace',
    opts.namespace ?? 'tabby-system',
    ...setJson(values),
    ...(opts.extraArgs ?? []),
  ]);
  if (r.code !== 0) return { ok: false, objects: [], stderr: r.stderr };
  const objects = yaml.loadAll(r.stdout).filter((o): o is K8sObject => typeof o === 'object' && o !== null);
  return { ok: true, objects, stderr: r.stderr };
}

export function find(objects: readonly K8sObject[], kind: string, name: string): K8sObject | undefined {
  return objects.find((o) => o.kind === kind && o.metadata.name === name);
}

export function mustFind<T = K8sObject>(objects: readonly K8sObject[], kind: string, name: string): T {
  const o = find(objects, kind, name);
  if (!o)
    throw new Error(
      `${kind} ${name} not rendered; got ${objects.map((x) => `${x.kind}/${x.metadata.name}`).join(', ')}`,
    );
  return o as T;
}

export interface BuiltImage {
  tag: string;
  seconds: number;
  sizeBytes: number;
}

/** Builds (or finds) the Tabby image with e2e/images/build-image.sh; the time includes a no-op when cached. */
export async function buildImage(): Promise<BuiltImage> {
  const started = Date.now();
  const { stdout } = await exec('bash', [join(REPO, 'e2e/images/build-image.sh')], {
    cwd: REPO,
    maxBuffer: 16 << 20,
    timeout: 1_500_000,
  });
  const tag = stdout.trim().split('\n').pop()!;
  const seconds = (Date.now() - started) / 1000;
  const size = await exec(DOCKER, ['image', 'inspect', '-f', '{{.Size}}', tag]);
  return { tag, seconds, sizeBytes: Number(size.stdout.trim()) };
}

export interface InternalNetwork {
  name: string;
  subnet: string;
  /** The host's address on the network: what containers use to reach the harness apiserver. */
  gateway: string;
  remove(): Promise<void>;
}

/**
 * An `--internal` Docker network (nothing leaves this machine); Docker picks a free subnet so concurrent tests do
 * not collide. The host keeps the gateway address on its bridge.
 */
export async function createInternalNetwork(label: string): Promise<InternalNetwork> {
  const name = `tabby-${label}-${process.pid.toString(36)}${Date.now().toString(36).slice(-4)}`;
  await exec(DOCKER, ['network', 'create', '--internal', name]);
  const { stdout } = await exec(DOCKER, ['network', 'inspect', '-f', '{{json .IPAM.Config}}', name]);
  const config = JSON.parse(stdout) as { Subnet?: string; Gateway?: string }[];
  const v4 = config.find((c) => c.Subnet !== undefined && !c.Subnet.includes(':'));
  if (!v4?.Subnet || !v4.Gateway) throw new Error(`docker network ${name}: no IPv4 subnet/gateway in ${stdout}`);
  return {
    name,
    subnet: v4.Subnet,
    gateway: v4.Gateway,
    remove: async () => {
      await exec(DOCKER, ['network', 'rm', name]).catch(() => undefined);
    },
  };
}

/** A self-contained kubeconfig (CA inline) that authenticates with a bearer token. */
export function tokenKubeconfig(cp: ControlPlane, server: string, token: string, user = 'tabby'): string {
  const ca = readFileSync(cp.caCertPath).toString('base64');
  return `apiVersion: v1
kind: Config
clusters:
- name: tabby-dev
  cluster:
    server: ${server}
    certificate-authority-data: ${ca}
users:
- name: ${user}
  user:
    token: ${token}
contexts:
- name: ${user}@tabby-dev
  context: { cluster: tabby-dev, user: ${user} }
current-context: ${user}@tabby-dev
`;
}

export interface OperatorContainerOptions {
  image: string;
  network: InternalNetwork;
  kubeconfig: string;
  /** Arguments after `tabby operator`; `--kubeconfig` is added. */
  args: string[];
  env: Record<string, string>;
  name: string;
}

/** Starts the image as `tabby operator` on the network, as the image's own non-root user, never pulling. */
export async function startOperatorContainer(o: OperatorContainerOptions): Promise<StartedTestContainer> {
  return new GenericContainer(o.image)
    .withPullPolicy(neverPull)
    .withName(o.name)
    .withNetworkMode(o.network.name)
    .withCopyContentToContainer([{ content: o.kubeconfig, target: '/etc/tabby/kubeconfig', mode: 0o444 }])
    .withEnvironment(o.env)
    .withCommand(['operator', '--kubeconfig=/etc/tabby/kubeconfig', ...o.args])
    .withWaitStrategy(Wait.forLogMessage(/"operator starting"/).withStartupTimeout(120_000))
    .start();
}

/** The container's logs so far (stdout and stderr). */
export async function containerLogs(c: StartedTestContainer): Promise<string> {
  const { stdout, stderr } = await exec(DOCKER, ['logs', c.getId()], { maxBuffer: 64 << 20 });
  return stdout + stderr;
}

export async function httpGet(url: string, timeoutMs = 30_000): Promise<{ status: number; body: string }> {
  return new Promise((resolveGet, reject) => {
    const req = request(url, { timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolveGet({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: no answer within ${timeoutMs} ms`)));
    req.end();
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Polls `probe` until it returns a value (not undefined) and returns it; on timeout throws naming `what` and the
 * last reason `probe` gave through `why`.
 */
export async function eventually<T>(
  what: string,
  probe: (why: (reason: string) => void) => Promise<T | undefined>,
  timeoutMs: number,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = 'never checked';
  for (;;) {
    try {
      const v = await probe((reason) => (last = reason));
      if (v !== undefined) return v;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms (last: ${last})`);
    await sleep(500);
  }
}

/** kubectl that returns stdout and throws with stderr. */
export async function kubectlOk(
  cp: ControlPlane,
  args: string[],
  opts: { input?: string; kubeconfig?: string } = {},
): Promise<string> {
  const r = await cp.kubectl(args, opts);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

export async function kubectlJson<T>(cp: ControlPlane, args: string[], opts: { kubeconfig?: string } = {}): Promise<T> {
  return JSON.parse(await kubectlOk(cp, [...args, '-o', 'json'], opts)) as T;
}

/** A Kubernetes Node as calico/node leaves it: its address in Calico's annotation and in status. */
export function nodeManifest(name: string, ipv4: string): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux' },
      annotations: { 'projectcalico.org/IPv4Address': ipv4 },
    },
    status: { addresses: [{ type: 'InternalIP', address: ipv4.split('/')[0] }] },
  });
}

export function formatBytes(n: number): string {
  return `${(n / 1e6).toFixed(0)} MB`;
}

export interface Planned {
  dataplane: NodeDataplane;
  /** The node's `ip route` lines as its agent would program them (NodeDataplane + its view's RouteTables), sorted. */
  routes: string[];
}

/** The node's planned table from the cluster as stored, or undefined while it has no desired state yet. */
export async function plannedRoutes(cp: ControlPlane, node: string): Promise<Planned | undefined> {
  const ndps = await kubectlJson<{ items: NodeDataplane[] }>(cp, ['get', 'nodedataplanes']);
  const dataplane = ndps.items.find((n) => n.metadata.name === node);
  const desired = dataplane?.status?.desired;
  if (!dataplane || !desired) return undefined;
  const tables = await kubectlJson<{ items: RouteTable[] }>(cp, ['get', 'routetables']);
  const shardsOf = (view: string) =>
    tables.items
      .filter((t) => t.metadata.labels?.[ROUTE_VIEW_LABEL] === view && t.status !== undefined)
      .map((t) => ({ status: t.status! }));
  const v4 = shardsOf(desired.view);
  const v6 = desired.viewV6 !== undefined ? shardsOf(desired.viewV6) : v4;
  const routes = materialiseNode(node, desired, v4, v6)
    .routes.map((r) => r.line)
    .sort();
  return { dataplane, routes };
}

export function conditionOf(pool: IPPool | undefined, type: string): string | undefined {
  return pool?.status?.conditions?.find((c) => c.type === type)?.status;
}

/** Polls until the pool's Ready and Allocatable conditions are True; returns it. */
export async function poolReady(cp: ControlPlane, name: string, timeoutMs = 90_000): Promise<IPPool> {
  return eventually(
    `IPPool ${name} Ready and Allocatable`,
    async (why) => {
      const r = await cp.kubectl(['get', 'ippool', name, '-o', 'json']);
      if (r.code !== 0) return void why(r.stderr.trim());
      const pool = JSON.parse(r.stdout) as IPPool;
      const ready = conditionOf(pool, 'Ready');
      const allocatable = conditionOf(pool, 'Allocatable');
      if (ready === 'True' && allocatable === 'True') return pool;
      why(`Ready=${ready} Allocatable=${allocatable} ${JSON.stringify(pool.status?.conditions ?? [])}`);
      return undefined;
    },
    timeoutMs,
  );
}

/** Stops a container with SIGTERM (up to 20 s) and returns its exit code; the container is removed afterwards. */
export async function stopGracefully(c: StartedTestContainer): Promise<number> {
  await c.stop({ timeout: 20_000, remove: false });
  const { stdout } = await exec(DOCKER, ['inspect', '-f', '{{.State.ExitCode}}', c.getId()]);
  await exec(DOCKER, ['rm', '-f', c.getId()]).catch(() => undefined);
  return Number(stdout.trim());
}

/** Pino lines at error level or above, and any apiserver refusal, from a Tabby process's log. */
export function logProblems(log: string): string[] {
  return log.split('\n').filter((l) => /"level":"(error|fatal)"/.test(l) || /forbidden/i.test(l));
}
