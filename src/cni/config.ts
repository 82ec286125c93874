// The plugin's network configuration, read from stdin (SPEC.md section 1 and 3: the runtime's per-plugin request
// configuration). Every problem is reported with the field path, e.g.
// `network config "k8s-pod-network": ipam.assign_ipv4: must be "true" or "false" (got "yes")`.
//
// Keys (Calico's spellings where Calico has the key, calico: cni-plugin/pkg/types/types.go NetConf):
// - cniVersion, name, type (the spec's); prevResult, runtimeConfig, args (inserted by the runtime);
// - mtu: veth MTU; 0 or absent = the node's planned MTU from the agent (Calico: 0 = Felix's /var/lib/calico/mtu);
// - nodename: this node's name, written into the allocation attributes (the agent fills its own when absent);
// - ipam: {type: "tabby-ipam" | "calico-ipam" | absent, assign_ipv4, assign_ipv6, ipv4_pools, ipv6_pools};
// - agent_socket: the agent's IPAM socket (default /var/run/tabby/ipam.sock); agent_timeout_ms;
// - log_level, log_file_path.
// Unknown keys pass (Calico conflists carry datastore_type, policy, kubernetes, ...), as the spec lets plugins do.
//
// The schema is config-schema.ts (zod). This module checks the same rules without zod — `isValidNetConf` — so the
// common case (a valid config) costs the plugin process no zod start-up; a refused config loads the schema to say
// why. config.test.ts checks on generated configurations that both accept exactly the same inputs.
import { DEFAULT_AGENT_IPAM_SOCKET } from '../api/agent-ipam-wire.js';
import { CniCode, CniError } from './errors.js';
import { SUPPORTED_VERSIONS, isSupportedVersion, type SupportedVersion } from './version.js';

/** SPEC.md: a network name starts alphanumeric, then alphanumerics, "_", "." or "-". */
export const NETWORK_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
export const IPAM_TYPES = ['tabby-ipam', 'calico-ipam'] as const;
export const LOG_LEVELS = ['debug', 'info', 'warning', 'warn', 'error', 'fatal', 'panic', 'none'] as const;
export const DEFAULT_AGENT_TIMEOUT_MS = 15_000;

export interface NetConf {
  cniVersion: SupportedVersion;
  name: string;
  type: string;
  /** 0 = use the agent's planned MTU. */
  mtu: number;
  nodename: string | undefined;
  assignIPv4: boolean;
  assignIPv6: boolean;
  ipv4Pools: string[] | undefined;
  ipv6Pools: string[] | undefined;
  agentSocket: string;
  agentTimeoutMs: number;
  logLevel: (typeof LOG_LEVELS)[number];
  logFilePath: string | undefined;
  prevResult: unknown;
}

type Obj = Record<string, unknown>;

const isObj = (x: unknown): x is Obj => typeof x === 'object' && x !== null && !Array.isArray(x);
const absent = (o: Obj, k: string): boolean => !Object.hasOwn(o, k) || o[k] === undefined;
const str = (x: unknown, min = 0, max = Infinity): x is string =>
  typeof x === 'string' && x.length >= min && x.length <= max;
const int = (x: unknown, min: number, max: number): x is number =>
  typeof x === 'number' && Number.isSafeInteger(x) && x >= min && x <= max;
const flag = (x: unknown): boolean => x === true || x === false || x === 'true' || x === 'false';
const poolList = (x: unknown): boolean => Array.isArray(x) && x.length <= 64 && x.every((p) => str(p, 1, 253));
const opt = (o: Obj, k: string, check: (v: unknown) => boolean): boolean => absent(o, k) || check(o[k]);

/** The schema's rules (config-schema.ts NetConfSchema) without zod. */
export function isValidNetConf(raw: unknown): raw is Obj {
  if (!isObj(raw)) return false;
  if (!str(raw.cniVersion) || !str(raw.name) || !NETWORK_NAME.test(raw.name) || !str(raw.type, 1)) return false;
  const ipam = raw.ipam;
  return (
    opt(raw, 'mtu', (v) => int(v, 0, 65535)) &&
    opt(raw, 'nodename', (v) => str(v, 1, 253)) &&
    opt(raw, 'agent_socket', (v) => str(v) && v.startsWith('/')) &&
    opt(raw, 'agent_timeout_ms', (v) => int(v, 100, 600_000)) &&
    opt(raw, 'log_level', (v) => str(v) && (LOG_LEVELS as readonly string[]).includes(v.toLowerCase())) &&
    opt(raw, 'log_file_path', (v) => str(v) && v.startsWith('/')) &&
    opt(raw, 'runtimeConfig', isObj) &&
    opt(raw, 'args', isObj) &&
    (absent(raw, 'ipam') ||
      (isObj(ipam) &&
        opt(ipam, 'type', (v) => str(v)) &&
        opt(ipam, 'assign_ipv4', flag) &&
        opt(ipam, 'assign_ipv6', flag) &&
        opt(ipam, 'ipv4_pools', poolList) &&
        opt(ipam, 'ipv6_pools', poolList)))
  );
}

/** The `cniVersion` of a configuration, or undefined when it has none we can read (for error output). */
export function peekVersion(raw: unknown): string | undefined {
  if (raw === null || typeof raw !== 'object') return undefined;
  const v = (raw as { cniVersion?: unknown }).cniVersion;
  return typeof v === 'string' ? v : undefined;
}

/** stdin bytes → JSON, or error 6 (failed to decode). */
export function decodeJson(stdin: string, what = 'network configuration'): unknown {
  if (stdin.trim() === '') throw new CniError(CniCode.DecodeFailure, `no ${what} on stdin`);
  try {
    return JSON.parse(stdin);
  } catch (e) {
    throw new CniError(CniCode.DecodeFailure, `failed to decode the ${what} on stdin`, (e as Error).message);
  }
}

function networkLabel(raw: unknown): string {
  const name = isObj(raw) ? raw.name : undefined;
  return typeof name === 'string' && name !== '' ? `network config "${name}"` : 'network config';
}

const asFlag = (v: unknown, dflt: boolean): boolean => (v === undefined ? dflt : v === true || v === 'true');

/** Validates a decoded configuration: error 1 for a version we do not speak, 2 for an unsupported IPAM type, 7 else. */
export async function parseNetConf(raw: unknown): Promise<NetConf> {
  if (!isObj(raw)) {
    throw new CniError(CniCode.InvalidConfig, 'invalid network config', 'the configuration must be a JSON object');
  }
  const label = networkLabel(raw);
  const version = peekVersion(raw);
  if (version !== undefined && !isSupportedVersion(version)) {
    throw new CniError(
      CniCode.IncompatibleVersion,
      'incompatible CNI versions',
      `config is "${version}", plugin supports ${JSON.stringify(SUPPORTED_VERSIONS)}`,
    );
  }
  if (!isValidNetConf(raw)) {
    const { explainNetConf } = await import('./config-schema.js');
    throw (
      explainNetConf(raw, label) ??
      new CniError(
        CniCode.Internal,
        `${label}: refused by the fast check but accepted by the schema`,
        JSON.stringify(raw),
      )
    );
  }
  const ipam = isObj(raw.ipam) ? raw.ipam : {};
  const ipamType = ipam.type as string | undefined;
  if (ipamType !== undefined && !(IPAM_TYPES as readonly string[]).includes(ipamType)) {
    throw new CniError(
      CniCode.UnsupportedField,
      `${label}: ipam.type: unsupported value "${ipamType}"`,
      `the tabby plugin allocates through the node agent; use ${IPAM_TYPES.map((t) => `"${t}"`).join(' or ')} or leave ipam.type out`,
    );
  }
  const assignIPv4 = asFlag(ipam.assign_ipv4, true);
  const assignIPv6 = asFlag(ipam.assign_ipv6, false);
  if (!assignIPv4 && !assignIPv6) {
    throw new CniError(
      CniCode.InvalidConfig,
      `${label}: ipam: assign_ipv4 and assign_ipv6 are both "false"`,
      'a pod needs at least one address family',
    );
  }
  return {
    cniVersion: raw.cniVersion as SupportedVersion,
    name: raw.name as string,
    type: raw.type as string,
    mtu: (raw.mtu as number | undefined) ?? 0,
    nodename: raw.nodename as string | undefined,
    assignIPv4,
    assignIPv6,
    ipv4Pools: ipam.ipv4_pools as string[] | undefined,
    ipv6Pools: ipam.ipv6_pools as string[] | undefined,
    agentSocket: (raw.agent_socket as string | undefined) ?? DEFAULT_AGENT_IPAM_SOCKET,
    agentTimeoutMs: (raw.agent_timeout_ms as number | undefined) ?? DEFAULT_AGENT_TIMEOUT_MS,
    logLevel: ((raw.log_level as string | undefined)?.toLowerCase() ?? 'info') as NetConf['logLevel'],
    logFilePath: raw.log_file_path as string | undefined,
    prevResult: raw.prevResult,
  };
}
