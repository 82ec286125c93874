// Shared by the cni-*.test.ts integration tests and bench/cni.bench.ts: a real node agent IPAM stack (src/ipam's
// AddressAssigner + BlockClaimer over the in-memory BlockStore, served by src/agent/ipam-server.ts on a temporary
// socket), the plugin installed by src/cni/install.ts into temporary CNI directories, cnitool and the launcher
// as a runtime would run them, and kernel inspection. Needs root and `npm run build` (the launcher runs dist/).
// Every name it creates carries a per-run prefix, and `cleanup` removes all of it.
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { createIpamServer, type IpamServer } from '../../src/agent/ipam-server.js';
import { createPodAddressAllocator } from '../../src/agent/pod-address-allocator.js';
import { renderConflist, type ConflistOptions } from '../../src/cni/conflist.js';
import { installCni } from '../../src/cni/install.js';
import { AddressAssigner, BlockClaimer, InMemoryBlockStore } from '../../src/ipam/index.js';
import { StaticView, seededRandom, testPool } from '../../src/ipam/test-fixtures.js';

const exec = promisify(execFile);

export const REPO = resolve(import.meta.dirname, '../..');
export const CNITOOL = join(homedir(), '.cache/tabby/bin/cnitool-v1.3.0/cnitool');
export const CNI_MAIN = join(REPO, 'dist/cni-bundle/tabby-cni.mjs');
export const LAUNCHER_TEMPLATE = join(REPO, 'bin/tabby-cni');
export const NETWORK = 'k8s-pod-network';

export function prerequisitesMissing(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces, veths, routes)';
  if (!existsSync(CNITOOL)) return `cnitool not built (${CNITOOL}); run scripts/build-binaries.sh cnitool`;
  if (!existsSync(CNI_MAIN)) return `${CNI_MAIN} missing; run npm run build`;
  return undefined;
}

export interface PoolSpec {
  name: string;
  cidr: string;
  blockSize?: number;
}

export interface TestAgent {
  socketPath: string;
  node: string;
  store: InMemoryBlockStore;
  assigner: AddressAssigner;
  server: IpamServer;
  close(): Promise<void>;
}

/** The agent's IPAM server on `socketPath`, backed by the real allocator for `node` over `pools`. */
export async function startTestAgent(o: {
  socketPath: string;
  node: string;
  pools: PoolSpec[];
  mtu?: number;
  deviceRouteProtocol?: number;
}): Promise<TestAgent> {
  const store = new InMemoryBlockStore();
  const view = new StaticView(
    o.pools.map((p) => testPool(p.name, p.cidr, p.blockSize === undefined ? {} : { blockSize: p.blockSize })),
    [{ name: o.node, labels: {} }],
  );
  let clock = Date.UTC(2024, 0, 1);
  const claimer = new BlockClaimer({ store, view, clock: () => (clock += 1000), random: seededRandom(7) });
  const assigner = new AddressAssigner({ store, view, node: o.node, source: claimer });
  const server = createIpamServer({
    socketPath: o.socketPath,
    node: o.node,
    allocator: createPodAddressAllocator({ allocator: assigner, store, node: o.node, now: () => new Date() }),
    mtu: () => o.mtu ?? 1440,
    ...(o.deviceRouteProtocol === undefined ? {} : { deviceRouteProtocol: () => o.deviceRouteProtocol }),
  });
  await server.listen();
  return { socketPath: o.socketPath, node: o.node, store, assigner, server, close: () => server.close() };
}

export interface CniDirs {
  root: string;
  binDir: string;
  confDir: string;
  socketPath: string;
}

export function makeCniDirs(prefix: string): CniDirs {
  const root = mkdtempSync(join(tmpdir(), `${prefix}-`));
  return { root, binDir: join(root, 'bin'), confDir: join(root, 'net.d'), socketPath: join(root, 'ipam.sock') };
}

/** Installs the launcher and a conflist (tabby only unless `plugins` adds more) the way the agent does. */
export function installPlugin(dirs: CniDirs, conf: ConflistOptions = {}): void {
  installCni({
    binDir: dirs.binDir,
    confDir: dirs.confDir,
    conflist: renderConflist({ portmap: false, bandwidth: false, agentSocket: dirs.socketPath, ...conf }),
    cniMain: CNI_MAIN,
    copyRuntime: false,
    launcherTemplate: LAUNCHER_TEMPLATE,
  });
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function runProcess(cmd: string, args: string[], env: NodeJS.ProcessEnv, input = ''): Promise<RunResult> {
  return new Promise((res) => {
    const child = spawn(cmd, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('close', (code) => res({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(input);
  });
}

/** cnitool add|check|del|status <network> <netns path>, with the pod identity in CNI_ARGS. */
export function cnitool(
  dirs: CniDirs,
  verb: 'add' | 'check' | 'del' | 'status' | 'gc',
  netnsPath: string,
  pod?: { namespace: string; name: string },
  extraPath: string[] = [],
): Promise<RunResult> {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    NETCONFPATH: dirs.confDir,
    CNI_PATH: [dirs.binDir, ...extraPath].join(':'),
    CNI_IFNAME: 'eth0',
  };
  if (pod !== undefined) env.CNI_ARGS = `K8S_POD_NAMESPACE=${pod.namespace};K8S_POD_NAME=${pod.name}`;
  return runProcess(CNITOOL, [verb, NETWORK, netnsPath], env);
}

/** The container ID cnitool derives from a namespace path (cnitool.go: "cnitool-" + hex of sha512[:10]). */
export async function cnitoolContainerId(netnsPath: string): Promise<string> {
  const { createHash } = await import('node:crypto');
  return `cnitool-${createHash('sha512').update(netnsPath).digest().subarray(0, 10).toString('hex')}`;
}

export async function sh(cmd: string, args: string[]): Promise<string> {
  const { stdout } = await exec(cmd, args, { maxBuffer: 16 << 20 });
  return stdout;
}

/** Namespaces this process created, so cleanup can drop cnitool's cached results for them too. */
const createdNetns = new Set<string>();

export async function addNetns(name: string): Promise<string> {
  await sh('ip', ['netns', 'add', name]);
  createdNetns.add(name);
  return `/var/run/netns/${name}`;
}

export async function deleteNetns(name: string): Promise<void> {
  await exec('ip', ['netns', 'del', name]).catch(() => undefined);
}

export async function netnsNames(prefix: string): Promise<string[]> {
  const out = await sh('ip', ['-j', 'netns', 'list']).catch(() => '[]');
  const list = out.trim() === '' ? [] : (JSON.parse(out) as { name: string }[]);
  return list.map((n) => n.name).filter((n) => n.startsWith(prefix));
}

export interface JsonLink {
  ifname: string;
  address?: string;
  mtu?: number;
  flags?: string[];
  link_netnsid?: number;
  addr_info?: { family: string; local: string; prefixlen: number; scope: string }[];
}

export async function hostLinks(): Promise<JsonLink[]> {
  return JSON.parse(await sh('ip', ['-j', 'addr', 'show'])) as JsonLink[];
}

export async function hostLink(name: string): Promise<JsonLink | undefined> {
  return (await hostLinks()).find((l) => l.ifname === name);
}

export async function nsLinks(ns: string): Promise<JsonLink[]> {
  return JSON.parse(await sh('ip', ['-n', ns, '-j', 'addr', 'show'])) as JsonLink[];
}

export interface JsonRoute {
  dst: string;
  dev?: string;
  gateway?: string;
  scope?: string;
  protocol?: string;
  flags?: string[];
}

export async function hostRoutes(family: 4 | 6 = 4): Promise<JsonRoute[]> {
  return JSON.parse(await sh('ip', [`-${family}`, '-j', 'route', 'show'])) as JsonRoute[];
}

export async function nsRoutes(ns: string, family: 4 | 6 = 4): Promise<JsonRoute[]> {
  return JSON.parse(await sh('ip', ['-n', ns, `-${family}`, '-j', 'route', 'show'])) as JsonRoute[];
}

export async function readSysctl(path: string): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  return (await readFile(path, 'utf8')).trim();
}

export async function nsSysctl(ns: string, path: string): Promise<string> {
  return (await sh('ip', ['netns', 'exec', ns, 'cat', path])).trim();
}

/** Removes whatever a test run may have left: host veths by name, namespaces by prefix, temp dirs. */
export async function cleanup(o: {
  hostIfs: Iterable<string>;
  netnsPrefix: string;
  dirs?: CniDirs;
  agent?: TestAgent;
}) {
  for (const name of o.hostIfs) await exec('ip', ['link', 'del', name]).catch(() => undefined);
  for (const ns of await netnsNames(o.netnsPrefix)) await deleteNetns(ns);
  await o.agent?.close().catch(() => undefined);
  if (o.dirs !== undefined) rmSync(o.dirs.root, { recursive: true, force: true });
}

/** Parses a CNI result or error printed by cnitool / the plugin. */
export function parseJson<T = Record<string, unknown>>(text: string): T {
  return JSON.parse(text) as T;
}

export function uniquePrefix(tag: string): string {
  return `t${tag}${process.pid.toString(36)}${Math.floor(Math.random() * 36 ** 3).toString(36)}`;
}

/** Runs the installed plugin directly, as a runtime execs it: CNI_* in a minimal environment, config on stdin. */
export function runPlugin(
  dirs: CniDirs,
  env: Record<string, string | undefined>,
  stdin: string,
): Promise<RunResult & { json: Record<string, unknown> | undefined }> {
  const clean: NodeJS.ProcessEnv = { CNI_PATH: dirs.binDir };
  for (const [k, v] of Object.entries(env)) if (v !== undefined) clean[k] = v;
  return runProcess(join(dirs.binDir, 'tabby-cni'), [], clean, stdin).then((r) => ({
    ...r,
    json: r.stdout.trim() === '' ? undefined : (JSON.parse(r.stdout) as Record<string, unknown>),
  }));
}

/** The per-plugin config a runtime derives from the installed conflist for its first plugin. */
export function pluginConfig(socketPath: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    cniVersion: '1.0.0',
    name: NETWORK,
    type: 'tabby-cni',
    ipam: { type: 'tabby-ipam' },
    agent_socket: socketPath,
    ...extra,
  });
}

/** Host interfaces whose name starts with `prefix` (`cali` for every pod veth). */
export async function hostInterfacesStartingWith(prefix: string): Promise<string[]> {
  return (await hostLinks()).map((l) => l.ifname).filter((n) => n.startsWith(prefix));
}
