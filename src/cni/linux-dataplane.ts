// Carries out workload-plumbing.ts on this machine's kernel with iproute2, and reads the state back for CHECK.
// Inputs: a WorkloadSpec (ADD), interface names and a namespace path (DEL, CHECK). Outputs: the pod interface's MAC,
// or the observed state. Invariants:
// - ADD leaves either the complete plumbing or nothing: on any failure the host end is deleted, which removes the
//   pod end and the host routes with it (a veth pair dies as one), before the error is thrown.
// - DEL is idempotent: a missing interface or namespace is success.
// Commands run by absolute path (runtimes start plugins with a minimal environment, often without PATH). The pod's
// namespace is entered with nsenter, which takes any namespace path (/var/run/netns/x, /proc/<pid>/ns/net, a bind
// mount), where `ip -n` only knows names under /var/run/netns.
import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { CniCode, CniError } from './errors.js';
import { type Sysctl, type WorkloadSpec, failedBatchLine, hostSysctlsFor, plumbingSteps } from './workload-plumbing.js';

const TOOL_DIRS = ['/usr/sbin', '/sbin', '/usr/bin', '/bin', '/usr/local/sbin', '/usr/local/bin'];

/** Absolute path of a tool: PATH first, then the usual system directories. */
export function resolveTool(name: string, pathEnv = process.env.PATH ?? ''): string {
  const dirs = [...pathEnv.split(':').filter((d) => d.startsWith('/')), ...TOOL_DIRS];
  for (const d of dirs) {
    const p = `${d}/${name}`;
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // keep looking
    }
  }
  throw new CniError(CniCode.DataplaneFailure, `cannot find the "${name}" command`, `looked in ${dirs.join(', ')}`);
}

interface ProcResult {
  code: number;
  stdout: string;
  stderr: string;
}

const COMMAND_TIMEOUT_MS = 30_000;

function run(cmd: string, args: readonly string[], input: string): Promise<ProcResult> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), COMMAND_TIMEOUT_MS);
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ code: -1, stdout, stderr: `${stderr}${e.message}` });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr: signal === null ? stderr : `${stderr}killed by ${signal}` });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });
}

/** Interfaces in the plugin's own (the host's) namespace; /proc/sys/net follows the caller's namespace. */
export function hostInterfaceExists(name: string): boolean {
  return existsSync(`/proc/sys/net/ipv4/conf/${name}`);
}

export interface HostState {
  exists: boolean;
  mac?: string;
  up?: boolean;
  mtu?: number;
  /** Current values of the sysctls ADD sets, by path. */
  sysctls: Record<string, string>;
  routes: { dst: string; scope?: string; protocol?: string }[];
}

export interface ContainerState {
  exists: boolean;
  mac?: string;
  up?: boolean;
  mtu?: number;
  /** CIDR notation, global scope only. */
  addresses: string[];
  routes: { dst: string; gateway?: string; scope?: string }[];
}

export interface WorkloadState {
  host: HostState;
  container: ContainerState;
}

export interface WorkloadDataplane {
  /** Plumbs the pod; returns the pod interface's MAC. Throws CniError after undoing everything it did. */
  add(spec: WorkloadSpec): Promise<{ containerMac: string }>;
  /** Removes the pod's interfaces; missing ones are fine. */
  remove(target: { hostIf: string; containerIf: string; netns: string | undefined }): Promise<void>;
  inspect(target: {
    hostIf: string;
    containerIf: string;
    netns: string;
    ipv4: boolean;
    ipv6: boolean;
  }): Promise<WorkloadState>;
  hostInterfaceExists(name: string): boolean;
  netnsExists(path: string): boolean;
}

interface JsonLink {
  ifname?: string;
  address?: string;
  mtu?: number;
  flags?: string[];
  addr_info?: { family?: string; local?: string; prefixlen?: number; scope?: string }[];
}
interface JsonRoute {
  dst?: string;
  gateway?: string;
  scope?: string;
  protocol?: string;
}

function jsonLines(stdout: string): unknown[] {
  return stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as unknown);
}

// Writes each (path, value) pair given as arguments, then runs `ip -json -batch -` from stdin. Paths come in as
// arguments, never as script text: an interface name may hold characters a shell would interpret.
const CONTAINER_SCRIPT =
  'ip=$1; shift; while [ $# -gt 1 ]; do printf %s "$2" > "$1" || exit 111; shift 2; done; exec "$ip" -json -batch -';

export function createLinuxDataplane(): WorkloadDataplane {
  let tools: { ip: string; nsenter: string; sh: string } | undefined;
  const tool = () => (tools ??= { ip: resolveTool('ip'), nsenter: resolveTool('nsenter'), sh: resolveTool('sh') });

  const hostBatch = (lines: readonly string[], json = false) =>
    run(tool().ip, json ? ['-json', '-batch', '-'] : ['-batch', '-'], `${lines.join('\n')}\n`);
  const inNetns = (netns: string, args: readonly string[], input = '') =>
    run(tool().nsenter, [`--net=${netns}`, '--', ...args], input);

  const fail = (where: string, lines: readonly string[], r: ProcResult): CniError => {
    const line = failedBatchLine(r.stderr, lines);
    const out = r.stderr.replace(/\s*Command failed -:\d+\s*/g, ' ').trim();
    return new CniError(
      CniCode.DataplaneFailure,
      `failed to plumb the pod (${where})`,
      line === undefined ? out : `"ip ${line}": ${out}`,
    );
  };

  const writeSysctls = (sysctls: readonly Sysctl[]) => {
    for (const s of sysctls) {
      try {
        writeFileSync(s.path, s.value);
      } catch (e) {
        throw new CniError(
          CniCode.DataplaneFailure,
          'failed to plumb the pod (host sysctl)',
          `${s.path}=${s.value}: ${(e as Error).message}`,
        );
      }
    }
  };

  const deleteHostIf = async (name: string): Promise<string | undefined> => {
    const r = await hostBatch([`link del ${name}`]);
    if (r.code === 0 || !hostInterfaceExists(name)) return undefined;
    return r.stderr.trim();
  };

  return {
    hostInterfaceExists,
    netnsExists: (path) => existsSync(path),

    async add(spec) {
      const steps = plumbingSteps(spec);
      try {
        const r1 = await hostBatch(steps.hostCreate);
        if (r1.code !== 0) {
          if (/File exists/.test(r1.stderr) && !hostInterfaceExists(spec.hostIf)) {
            throw new CniError(
              CniCode.DataplaneFailure,
              `interface "${spec.containerIf}" already exists in ${spec.netns}`,
              r1.stderr.replace(/\s*Command failed -:\d+\s*/g, ' ').trim(),
            );
          }
          throw fail('host side', steps.hostCreate, r1);
        }
        writeSysctls(steps.hostSysctls);
        const { ip, sh } = tool();
        const pairs = steps.containerSysctls.flatMap((s) => [s.path, s.value]);
        const r2 = await inNetns(
          spec.netns,
          [sh, '-c', CONTAINER_SCRIPT, 'sh', ip, ...pairs],
          `${steps.containerBatch.join('\n')}\n`,
        );
        if (r2.code === 111) {
          throw new CniError(CniCode.DataplaneFailure, 'failed to plumb the pod (pod sysctl)', r2.stderr.trim());
        }
        if (r2.code !== 0) throw fail('pod side', steps.containerBatch, r2);
        const links = jsonLines(r2.stdout);
        const link = (links[links.length - 1] as JsonLink[] | undefined)?.[0];
        if (link?.address === undefined) {
          throw new CniError(
            CniCode.DataplaneFailure,
            'failed to plumb the pod (pod side)',
            `no MAC address in ${r2.stdout.slice(0, 200)}`,
          );
        }
        if (steps.hostFinish.length > 0) {
          const r3 = await hostBatch(steps.hostFinish);
          if (r3.code !== 0) throw fail('host routes', steps.hostFinish, r3);
        }
        return { containerMac: link.address };
      } catch (e) {
        if (hostInterfaceExists(spec.hostIf)) {
          const undo = await deleteHostIf(spec.hostIf);
          if (undo !== undefined && e instanceof CniError) {
            throw new CniError(e.code, e.msg, `${e.details}; undoing it also failed, ${spec.hostIf} is left: ${undo}`);
          }
        }
        throw e;
      }
    },

    async remove({ hostIf, containerIf, netns }) {
      if (hostInterfaceExists(hostIf)) {
        const err = await deleteHostIf(hostIf);
        if (err !== undefined) {
          throw new CniError(CniCode.DataplaneFailure, `failed to delete interface ${hostIf}`, err);
        }
        return;
      }
      // The host end is gone; the pod end may still exist if an earlier ADD was cut short elsewhere.
      if (netns === undefined || !existsSync(netns)) return;
      const r = await inNetns(netns, [tool().ip, 'link', 'del', containerIf]);
      if (r.code !== 0 && !/Cannot find device|does not exist/.test(r.stderr)) {
        throw new CniError(
          CniCode.DataplaneFailure,
          `failed to delete interface ${containerIf} in ${netns}`,
          r.stderr.trim(),
        );
      }
    },

    async inspect({ hostIf, containerIf, netns, ipv4, ipv6 }) {
      const host: HostState = { exists: hostInterfaceExists(hostIf), sysctls: {}, routes: [] };
      if (host.exists) {
        const r = await hostBatch([`link show dev ${hostIf}`, `route show dev ${hostIf}`], true);
        if (r.code === 0) {
          const [links, routes] = jsonLines(r.stdout) as [JsonLink[], JsonRoute[]];
          Object.assign(host, linkFacts(links[0]));
          host.routes.push(...routes.map((x) => ({ dst: x.dst ?? '', scope: x.scope, protocol: x.protocol })));
        }
        if (ipv6) {
          const r6 = await run(tool().ip, ['-json', '-6', 'route', 'show', 'dev', hostIf], '');
          if (r6.code === 0) {
            for (const x of (jsonLines(r6.stdout)[0] ?? []) as JsonRoute[]) {
              host.routes.push({ dst: x.dst ?? '', scope: x.scope, protocol: x.protocol });
            }
          }
        }
        for (const s of hostSysctlsFor(hostIf, ipv4, ipv6)) {
          try {
            host.sysctls[s.path] = readFileSync(s.path, 'utf8').trim();
          } catch {
            host.sysctls[s.path] = '(unreadable)';
          }
        }
      }
      const container: ContainerState = { exists: false, addresses: [], routes: [] };
      const lines = [`addr show dev ${containerIf}`, `route show dev ${containerIf}`];
      const r = await inNetns(netns, [tool().ip, '-json', '-batch', '-'], `${lines.join('\n')}\n`);
      if (r.code === 0) {
        const [links, routes] = jsonLines(r.stdout) as [JsonLink[], JsonRoute[]];
        const link = links[0];
        container.exists = link !== undefined;
        Object.assign(container, linkFacts(link));
        for (const a of link?.addr_info ?? []) {
          if (a.scope === 'global' && a.local !== undefined) container.addresses.push(`${a.local}/${a.prefixlen}`);
        }
        container.routes.push(...routes.map((x) => ({ dst: x.dst ?? '', gateway: x.gateway, scope: x.scope })));
        if (ipv6) {
          const r6 = await inNetns(netns, [tool().ip, '-json', '-6', 'route', 'show', 'dev', containerIf]);
          if (r6.code === 0) {
            for (const x of (jsonLines(r6.stdout)[0] ?? []) as JsonRoute[]) {
              container.routes.push({ dst: x.dst ?? '', gateway: x.gateway, scope: x.scope });
            }
          }
        }
      }
      return { host, container };
    },
  };
}

function linkFacts(link: JsonLink | undefined): { mac?: string; up?: boolean; mtu?: number } {
  if (link === undefined) return {};
  return { mac: link.address, up: (link.flags ?? []).includes('UP'), mtu: link.mtu };
}
