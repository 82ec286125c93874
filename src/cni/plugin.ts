// The CNI verbs (SPEC.md section 2) over injected edges: the kernel (WorkloadDataplane), the agent (AgentClient) and
// a log. Inputs: the environment and stdin of one plugin execution. Output: what to print on stdout and the exit
// code. Every failure is a CniError rendered as the spec's error JSON.
//
// ADD   env + config → check the namespace → assign (agent; idempotent by handle) → plumb → result (merged into
//       prevResult when chained). A plumbing failure undoes the plumbing, then releases the handle.
// DEL   remove the interfaces (missing ones are fine) → release the handle (an unknown handle is fine). An
//       unreachable agent is error 11 so that the runtime retries: releasing is what prevents a leak.
// CHECK (≥ 0.4.0) prevResult's interfaces/addresses/routes vs the kernel, and the reservation vs IPAM.
// STATUS (≥ 1.1.0) the agent answers → ready; otherwise 50.
// GC    (≥ 1.1.0) nothing to do here: interfaces die with their namespace, and the operator's IPAM GC reclaims
//       addresses of pods that no longer exist (ARCHITECTURE.md), so no node-local sweep is needed.
// VERSION the supported versions, for the cniVersion given on stdin.
// Start-up matters (every verb is a new process): zod-backed modules (prev-result.ts, config-schema.ts, the
// protocol schemas) and CHECK's comparison are imported only on the paths that need them.
import type { AssignRequest, AssignedAddress } from '../api/agent-ipam-protocol.js';
import { PROTOCOL_VERSION, podHandleId } from '../api/agent-ipam-wire.js';
import { tryParseIP } from '../net/ip.js';
import { type AgentClient, AgentRefusedError, AgentUnreachableError } from './agent-client.js';
import { type NetConf, decodeJson, parseNetConf, peekVersion } from './config.js';
import { type CniEnv, podIdentity, readCniEnv } from './env.js';
import { CniCode, CniError, asCniError, errorJson } from './errors.js';
import type { WorkloadDataplane } from './linux-dataplane.js';
import type { PluginLog } from './plugin-log.js';
import { type CniResult, appendResult, findOwnAttachment, renderResult } from './result.js';
import { LATEST_VERSION, SUPPORTED_VERSIONS, isSupportedVersion, versionAtLeast } from './version.js';
import { IPV4_GATEWAY, IPV6_GATEWAY, hostInterfaceName } from './workload-plumbing.js';

export interface PluginDeps {
  env: Readonly<Record<string, string | undefined>>;
  stdin: string;
  dataplane: WorkloadDataplane;
  agent(socketPath: string, timeoutMs: number): AgentClient;
  /** `cali` + 11 hex of sha1("<namespace>.<pod>") (src/net workloadInterfaceName). */
  workloadInterfaceName(namespace: string, pod: string): string;
  log: PluginLog;
  /** Milliseconds since the process started (performance.now); phases of ADD/DEL are logged with it. */
  now?: () => number;
}

export interface PluginOutcome {
  stdout: string;
  exitCode: number;
}

export async function runPlugin(deps: PluginDeps): Promise<PluginOutcome> {
  let version: string = LATEST_VERSION;
  try {
    const env = readCniEnv(deps.env);
    deps.log.bind({ command: env.command, containerID: env.containerId });
    if (env.command === 'VERSION') return ok(versionResult(deps.stdin));
    const raw = decodeJson(deps.stdin);
    const peeked = peekVersion(raw);
    if (peeked !== undefined && isSupportedVersion(peeked)) version = peeked;
    const conf = await parseNetConf(raw);
    deps.log.configure(conf.logLevel, conf.logFilePath);
    switch (env.command) {
      case 'ADD':
        return ok(await cmdAdd(deps, env, conf));
      case 'DEL':
        await cmdDel(deps, env, conf);
        return ok(undefined);
      case 'CHECK':
        await cmdCheck(deps, env, conf);
        return ok(undefined);
      case 'STATUS':
        await cmdStatus(deps, conf);
        return ok(undefined);
      case 'GC':
        requireVersion(conf, '1.1.0', 'GC');
        return ok(undefined);
    }
  } catch (e) {
    const err = asCniError(e);
    deps.log.error('CNI command failed', { code: err.code, error: err.message });
    return { stdout: `${JSON.stringify(errorJson(err, version))}\n`, exitCode: 1 };
  }
}

function ok(result: Record<string, unknown> | undefined): PluginOutcome {
  return { stdout: result === undefined ? '' : `${JSON.stringify(result)}\n`, exitCode: 0 };
}

function versionResult(stdin: string): Record<string, unknown> {
  // The spec gives VERSION `{"cniVersion": ...}` on stdin; answer in that version, or the latest when absent.
  const raw = stdin.trim() === '' ? {} : decodeJson(stdin, 'version request');
  const asked = peekVersion(raw);
  return { cniVersion: asked ?? LATEST_VERSION, supportedVersions: [...SUPPORTED_VERSIONS] };
}

function requireVersion(conf: NetConf, min: string, verb: string): void {
  if (!versionAtLeast(conf.cniVersion, min)) {
    throw new CniError(
      CniCode.IncompatibleVersion,
      `config version does not allow ${verb}`,
      `${verb} needs cniVersion ${min} or later; the config says "${conf.cniVersion}"`,
    );
  }
}

interface Attachment {
  containerId: string;
  ifName: string;
  netns: string | undefined;
  hostIf: string;
  handleId: string;
  pod: { namespace: string; name: string } | undefined;
}

function attachment(deps: PluginDeps, env: CniEnv, conf: NetConf): Attachment {
  // readCniEnv guarantees these for ADD, DEL and CHECK.
  const containerId = env.containerId ?? '';
  const pod = podIdentity(env.args);
  const a = {
    containerId,
    ifName: env.ifName ?? '',
    netns: env.netns,
    hostIf: hostInterfaceName(pod, containerId, deps.workloadInterfaceName),
    handleId: podHandleId(conf.name, containerId),
    pod,
  };
  deps.log.bind({ pod: pod?.name, namespace: pod?.namespace, hostIf: a.hostIf, handle: a.handleId });
  return a;
}

/** Agent failures as CNI errors: unreachable → 11, exhausted → 100, refused → 101, internal → 999. */
function agentError(e: unknown, what: string): CniError {
  if (e instanceof AgentUnreachableError) {
    return new CniError(CniCode.TryAgainLater, `${what}: the tabby agent is not reachable, try again later`, e.message);
  }
  if (e instanceof AgentRefusedError) {
    switch (e.code) {
      case 'exhausted':
        return new CniError(CniCode.AddressesExhausted, `${what}: no free address`, e.reason);
      case 'unavailable':
        return new CniError(
          CniCode.TryAgainLater,
          `${what}: the tabby agent cannot serve it now, try again later`,
          e.reason,
        );
      case 'badRequest':
      case 'invalid':
        return new CniError(CniCode.IpamRequestRefused, `${what}: refused by the tabby agent`, e.reason);
      case 'internal':
        return new CniError(CniCode.Internal, `${what}: the tabby agent failed`, e.reason);
    }
  }
  return asCniError(e);
}

/** CONVENTIONS.md `IP` in CNI_ARGS: specific addresses, comma-separated, at most one per family. */
function requestedAddresses(env: CniEnv): string[] | undefined {
  const ip = env.args.get('IP');
  if (ip === undefined || ip === '') return undefined;
  const out: string[] = [];
  const families = new Set<number>();
  for (const part of ip.split(',')) {
    const text = part.trim().replace(/\/\d+$/, '');
    const parsed = tryParseIP(text);
    if (parsed === undefined || families.has(parsed.family)) {
      throw new CniError(
        CniCode.InvalidEnvironment,
        'invalid CNI_ARGS',
        parsed === undefined
          ? `CNI_ARGS: IP=${ip}: "${text}" is not an IP address`
          : `CNI_ARGS: IP=${ip}: more than one IPv${parsed.family} address`,
      );
    }
    families.add(parsed.family);
    out.push(text);
  }
  return out;
}

function assignRequest(a: Attachment, env: CniEnv, conf: NetConf): AssignRequest {
  const families: (4 | 6)[] = [];
  if (conf.assignIPv4) families.push(4);
  if (conf.assignIPv6) families.push(6);
  const ipAddrs = requestedAddresses(env);
  return {
    v: PROTOCOL_VERSION,
    op: 'assign',
    handleId: a.handleId,
    containerId: a.containerId,
    attrs: {
      ...(a.pod === undefined ? {} : { namespace: a.pod.namespace, pod: a.pod.name }),
      ...(conf.nodename === undefined ? {} : { node: conf.nodename }),
    },
    families,
    ...(conf.ipv4Pools === undefined ? {} : { ipv4Pools: conf.ipv4Pools }),
    ...(conf.ipv6Pools === undefined ? {} : { ipv6Pools: conf.ipv6Pools }),
    ...(ipAddrs === undefined ? {} : { ipAddrs }),
  };
}

async function releaseQuietly(deps: PluginDeps, agent: AgentClient, a: Attachment): Promise<string | undefined> {
  try {
    await agent.call({ v: PROTOCOL_VERSION, op: 'release', handleId: a.handleId });
    return undefined;
  } catch (e) {
    deps.log.error('release after a failed ADD failed', { error: (e as Error).message });
    return (e as Error).message;
  }
}

async function cmdAdd(deps: PluginDeps, env: CniEnv, conf: NetConf): Promise<Record<string, unknown>> {
  const a = attachment(deps, env, conf);
  const netns = a.netns ?? '';
  const prev =
    conf.prevResult === undefined ? undefined : (await import('./prev-result.js')).parsePrevResult(conf.prevResult);
  if (!deps.dataplane.netnsExists(netns)) {
    throw new CniError(CniCode.UnknownContainer, `network namespace ${netns} does not exist`, `CNI_NETNS=${netns}`);
  }
  const now = deps.now ?? (() => 0);
  const tStart = now();
  const agent = deps.agent(conf.agentSocket, conf.agentTimeoutMs);
  let assigned;
  try {
    assigned = await agent.call(assignRequest(a, env, conf));
  } catch (e) {
    throw agentError(e, 'IPAM assignment failed');
  }
  const tAssigned = now();
  const ipv4 = assigned.addresses.find((x) => x.family === 4);
  const ipv6 = assigned.addresses.find((x) => x.family === 6);
  const mtu = conf.mtu > 0 ? conf.mtu : assigned.mtu;
  let containerMac: string;
  try {
    ({ containerMac } = await deps.dataplane.add({
      hostIf: a.hostIf,
      containerIf: a.ifName,
      netns,
      mtu,
      ...(ipv4 === undefined ? {} : { ipv4: ipv4.address }),
      ...(ipv6 === undefined ? {} : { ipv6: ipv6.address }),
      ...(assigned.deviceRouteProtocol === undefined ? {} : { routeProtocol: assigned.deviceRouteProtocol }),
      replaceHostIf: deps.dataplane.hostInterfaceExists(a.hostIf),
    }));
  } catch (e) {
    const err = asCniError(e);
    const releaseFailure = await releaseQuietly(deps, agent, a);
    if (releaseFailure === undefined) throw err;
    throw new CniError(err.code, err.msg, `${err.details}; releasing the address also failed: ${releaseFailure}`);
  }
  const tDone = now();
  deps.log.info('pod plumbed', {
    addresses: assigned.addresses.map((x) => x.address),
    mtu,
    // Where an ADD's time goes: process start and imports, the agent round trip, the kernel.
    ms: { start: round(tStart), ipam: round(tAssigned - tStart), plumb: round(tDone - tAssigned), total: round(tDone) },
  });
  const ours = ownResult(a, netns, containerMac, mtu, assigned.addresses);
  return renderResult(prev === undefined ? ours : appendResult(prev, ours), conf.cniVersion);
}

function ownResult(
  a: Attachment,
  netns: string,
  containerMac: string,
  mtu: number,
  addrs: AssignedAddress[],
): CniResult {
  const ips = addrs.map((x) => ({
    address: `${x.address}/${x.family === 4 ? 32 : 128}`,
    gateway: x.family === 4 ? IPV4_GATEWAY : IPV6_GATEWAY,
    interface: 1,
  }));
  const routes = addrs.map((x) =>
    x.family === 4 ? { dst: '0.0.0.0/0', gw: IPV4_GATEWAY } : { dst: '::/0', gw: IPV6_GATEWAY },
  );
  return {
    interfaces: [
      { name: a.hostIf, mac: 'ee:ee:ee:ee:ee:ee', mtu },
      { name: a.ifName, mac: containerMac, mtu, sandbox: netns },
    ],
    ips,
    routes,
    dns: {},
  };
}

async function cmdDel(deps: PluginDeps, env: CniEnv, conf: NetConf): Promise<void> {
  const a = attachment(deps, env, conf);
  // Interfaces first (as Calico: CleanUpNamespace before the IPAM release), so an address is never handed to a new
  // pod while an old interface still carries it.
  await deps.dataplane.remove({ hostIf: a.hostIf, containerIf: a.ifName, netns: a.netns });
  try {
    await deps
      .agent(conf.agentSocket, conf.agentTimeoutMs)
      .call({ v: PROTOCOL_VERSION, op: 'release', handleId: a.handleId });
  } catch (e) {
    throw agentError(e, 'IPAM release failed');
  }
  deps.log.info('pod unplumbed', { ms: { total: round((deps.now ?? (() => 0))()) } });
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}

async function cmdCheck(deps: PluginDeps, env: CniEnv, conf: NetConf): Promise<void> {
  requireVersion(conf, '0.4.0', 'CHECK');
  const a = attachment(deps, env, conf);
  const netns = a.netns ?? '';
  if (conf.prevResult === undefined) {
    throw new CniError(
      CniCode.InvalidConfig,
      'prevResult is required for CHECK',
      'the runtime must pass the result of ADD',
    );
  }
  const { parsePrevResult } = await import('./prev-result.js');
  const own = findOwnAttachment(parsePrevResult(conf.prevResult), a.hostIf, a.ifName, netns);
  if (own.container === undefined) {
    throw new CniError(CniCode.CheckFailed, `prevResult does not list interface ${a.ifName} in ${netns}`);
  }
  if (!deps.dataplane.netnsExists(netns)) {
    throw new CniError(CniCode.UnknownContainer, `network namespace ${netns} does not exist`, `CNI_NETNS=${netns}`);
  }
  let reserved: string[];
  try {
    const r = await deps
      .agent(conf.agentSocket, conf.agentTimeoutMs)
      .call({ v: PROTOCOL_VERSION, op: 'addresses', handleId: a.handleId });
    reserved = r.addresses.map((x) => x.address);
  } catch (e) {
    throw agentError(e, 'IPAM check failed');
  }
  const state = await deps.dataplane.inspect({
    hostIf: a.hostIf,
    containerIf: a.ifName,
    netns,
    ipv4: own.addresses.some((x) => !x.includes(':')),
    ipv6: own.addresses.some((x) => x.includes(':')),
  });
  const { checkWorkload } = await import('./check.js');
  const problems = checkWorkload(
    {
      hostIf: a.hostIf,
      containerIf: a.ifName,
      netns,
      addresses: own.addresses,
      containerMac: own.container.mac,
      routes: own.routes,
      reserved,
    },
    state,
  );
  if (problems.length > 0) {
    throw new CniError(
      CniCode.CheckFailed,
      `pod networking is not as ADD left it: ${problems[0]}`,
      problems.slice(1).join('; '),
    );
  }
}

async function cmdStatus(deps: PluginDeps, conf: NetConf): Promise<void> {
  requireVersion(conf, '1.1.0', 'STATUS');
  try {
    await deps.agent(conf.agentSocket, conf.agentTimeoutMs).call({ v: PROTOCOL_VERSION, op: 'status' });
  } catch (e) {
    const why = e instanceof AgentRefusedError ? e.reason : (e as Error).message;
    throw new CniError(CniCode.NotAvailable, 'plugin not available: the tabby agent does not answer', why);
  }
}
