// The CNI execution parameters (SPEC.md section 2, "Parameters"): CNI_COMMAND, CNI_CONTAINERID, CNI_NETNS,
// CNI_IFNAME, CNI_ARGS, CNI_PATH, checked per verb. Violations are error 4 naming the variable, as the spec asks.
// CNI_ARGS carries Kubernetes' pod identity (K8S_POD_NAMESPACE, K8S_POD_NAME; calico: cni-plugin/pkg/types K8sArgs)
// and the `IP` convention (CONVENTIONS.md: request a specific address).
import { CniCode, CniError } from './errors.js';

export const COMMANDS = ['ADD', 'DEL', 'CHECK', 'STATUS', 'VERSION', 'GC'] as const;
export type CniCommand = (typeof COMMANDS)[number];

export interface CniEnv {
  command: CniCommand;
  containerId: string | undefined;
  netns: string | undefined;
  ifName: string | undefined;
  /** CNI_ARGS as key → value, in order of appearance (a repeated key keeps its last value). */
  args: ReadonlyMap<string, string>;
  path: string[];
}

/** Pod identity from CNI_ARGS; absent when the runtime is not Kubernetes (cnitool without CNI_ARGS, ...). */
export interface PodIdentity {
  namespace: string;
  name: string;
}

const CONTAINER_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

function invalidEnv(variable: string, message: string): CniError {
  return new CniError(CniCode.InvalidEnvironment, `invalid ${variable}`, `${variable}: ${message}`);
}

/** `FOO=BAR;ABC=123` → map. Empty pairs (`;;`, a trailing `;`) are tolerated; a pair without `=` or key is not. */
export function parseCniArgs(text: string): Map<string, string> {
  const out = new Map<string, string>();
  if (text === '') return out;
  for (const pair of text.split(';')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    if (eq <= 0) throw invalidEnv('CNI_ARGS', `"${pair}" is not a KEY=VALUE pair`);
    out.set(pair.slice(0, eq), pair.slice(eq + 1));
  }
  return out;
}

/**
 * The spec's interface name rules (non-empty, not "." or "..", under 16 bytes, no "/", ":" or whitespace) plus
 * quotes, backslash and "#", which iproute2's batch syntax would read as syntax rather than as part of the name.
 */
export function interfaceNameProblem(name: string): string | undefined {
  if (name === '') return 'must not be empty';
  if (name === '.' || name === '..') return `must not be "${name}"`;
  if (Buffer.byteLength(name) > 15) return `must be at most 15 bytes (got "${name}")`;
  if (/[/:\s"'\\#]/.test(name)) return `must not contain "/", ":", whitespace, quotes, "\\" or "#" (got "${name}")`;
  return undefined;
}

/** Reads and checks the variables `command` needs; everything else is passed through as given. */
export function readCniEnv(env: Readonly<Record<string, string | undefined>>): CniEnv {
  const command = env.CNI_COMMAND;
  if (command === undefined || command === '') throw invalidEnv('CNI_COMMAND', 'not set');
  if (!(COMMANDS as readonly string[]).includes(command)) {
    throw invalidEnv('CNI_COMMAND', `unknown command "${command}" (expected one of ${COMMANDS.join(', ')})`);
  }
  const cmd = command as CniCommand;
  const nonEmpty = (name: string): string | undefined => {
    const v = env[name];
    return v === undefined || v === '' ? undefined : v;
  };
  const containerId = nonEmpty('CNI_CONTAINERID');
  const netns = nonEmpty('CNI_NETNS');
  const ifName = nonEmpty('CNI_IFNAME');
  const attachment = cmd === 'ADD' || cmd === 'DEL' || cmd === 'CHECK';
  if (attachment) {
    if (containerId === undefined) throw invalidEnv('CNI_CONTAINERID', 'not set');
    if (!CONTAINER_ID.test(containerId)) {
      throw invalidEnv(
        'CNI_CONTAINERID',
        `"${containerId}" must start with a letter or digit and contain only letters, digits, "_", "." and "-"`,
      );
    }
    if (ifName === undefined) throw invalidEnv('CNI_IFNAME', 'not set');
    const problem = interfaceNameProblem(ifName);
    if (problem !== undefined) throw invalidEnv('CNI_IFNAME', problem);
    // DEL may come without a namespace (the sandbox is gone): clean what can be cleaned.
    if (cmd !== 'DEL' && netns === undefined) throw invalidEnv('CNI_NETNS', 'not set');
    if (netns !== undefined && (!netns.startsWith('/') || /[\s"'\\#]/.test(netns))) {
      throw invalidEnv(
        'CNI_NETNS',
        `must be an absolute path to a network namespace without whitespace, quotes, "\\" or "#" (got "${netns}")`,
      );
    }
  }
  return {
    command: cmd,
    containerId,
    netns,
    ifName,
    args: parseCniArgs(env.CNI_ARGS ?? ''),
    path: (env.CNI_PATH ?? '').split(':').filter((p) => p !== ''),
  };
}

/** K8S_POD_NAMESPACE and K8S_POD_NAME, both or neither. */
export function podIdentity(args: ReadonlyMap<string, string>): PodIdentity | undefined {
  const namespace = args.get('K8S_POD_NAMESPACE') ?? '';
  const name = args.get('K8S_POD_NAME') ?? '';
  if (namespace === '' && name === '') return undefined;
  if (namespace === '' || name === '') {
    throw invalidEnv(
      'CNI_ARGS',
      `K8S_POD_NAMESPACE and K8S_POD_NAME must be given together (got ${namespace === '' ? 'only K8S_POD_NAME' : 'only K8S_POD_NAMESPACE'})`,
    );
  }
  return { namespace, name };
}
