// The zod-free half of the agent IPAM protocol (agent-ipam-protocol.ts holds the schemas): constants, framing, and
// response checks for the CNI plugin's hot path.
//
// Why two halves: the plugin is one process per pod operation, and loading zod costs it ~50 ms of start-up — more
// than the rest of an ADD together (bench/cni.bench.ts). So the plugin checks the agent's answers with
// `isResponseFor` below and loads zod only to explain an answer that fails the check. The schemas stay the
// definition: agent-ipam-wire.test.ts checks on generated inputs that `isResponseFor` accepts exactly what the
// schemas accept (STYLE.md §5, differential tests of a fast path against its reference).
import type { AgentOp, AgentRequest, AgentResponse, SuccessResponse } from './agent-ipam-protocol.js';
import { tryParseIP } from '../net/ip.js';

export const PROTOCOL_VERSION = 1;
export const DEFAULT_AGENT_IPAM_SOCKET = '/var/run/tabby/ipam.sock';
/** Longest accepted line (request or response), newline excluded. */
export const MAX_MESSAGE_BYTES = 64 * 1024;
/** Calico's network name in its conflist, which is also the handle prefix of every pod allocation. */
export const DEFAULT_NETWORK_NAME = 'k8s-pod-network';
export const AGENT_ERROR_CODES = ['badRequest', 'invalid', 'exhausted', 'unavailable', 'internal'] as const;

/** calico: the CNI plugin's handle, `<network name>.<container ID>`. */
export function podHandleId(networkName: string, containerId: string): string {
  return `${networkName}.${containerId}`;
}

/** One protocol line: the message as JSON plus the newline. */
export function encodeMessage(message: AgentRequest | AgentResponse): string {
  return `${JSON.stringify(message)}\n`;
}

type Obj = Record<string, unknown>;

function isObj(x: unknown): x is Obj {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** Every key of `o` is allowed and every required key is present. */
function keys(o: Obj, required: readonly string[], optional: readonly string[] = []): boolean {
  for (const k of required) if (!Object.hasOwn(o, k)) return false;
  for (const k of Object.keys(o)) if (!required.includes(k) && !optional.includes(k)) return false;
  return true;
}

function isInt(x: unknown, min: number, max: number): boolean {
  return typeof x === 'number' && Number.isInteger(x) && x >= min && x <= max;
}

function isFamily(x: unknown): boolean {
  return x === 4 || x === 6;
}

function isAddress(x: unknown): boolean {
  return (
    isObj(x) &&
    keys(x, ['address', 'family'], ['block']) &&
    typeof x.address === 'string' &&
    x.address.length <= 64 &&
    tryParseIP(x.address) !== undefined &&
    isFamily(x.family) &&
    (x.block === undefined || (typeof x.block === 'string' && x.block.length <= 64))
  );
}

function isAddressList(x: unknown, min: number, max: number): boolean {
  return Array.isArray(x) && x.length >= min && x.length <= max && x.every(isAddress);
}

function isNode(x: unknown): boolean {
  return typeof x === 'string' && x.length >= 1;
}

function isErrorResponse(x: Obj): boolean {
  const e = x.error;
  return (
    keys(x, ['ok', 'error']) &&
    x.ok === false &&
    isObj(e) &&
    keys(e, ['code', 'message']) &&
    (AGENT_ERROR_CODES as readonly unknown[]).includes(e.code) &&
    typeof e.message === 'string' &&
    e.message.length <= MAX_MESSAGE_BYTES
  );
}

function isSuccess(op: AgentOp, x: Obj): boolean {
  if (x.ok !== true || x.op !== op) return false;
  switch (op) {
    case 'assign':
      return (
        keys(x, ['ok', 'op', 'addresses', 'mtu', 'node'], ['deviceRouteProtocol']) &&
        isAddressList(x.addresses, 1, 2) &&
        isInt(x.mtu, 68, 65535) &&
        (x.deviceRouteProtocol === undefined || isInt(x.deviceRouteProtocol, 0, 255)) &&
        isNode(x.node)
      );
    case 'release':
      return keys(x, ['ok', 'op']);
    case 'addresses':
      return keys(x, ['ok', 'op', 'addresses']) && isAddressList(x.addresses, 0, 16);
    case 'status':
      return keys(x, ['ok', 'op', 'node', 'mtu']) && isNode(x.node) && isInt(x.mtu, 68, 65535);
  }
}

/** True iff `x` is a valid response to a request of `op` (a success of that op, or an error). */
export function isResponseFor<Op extends AgentOp>(
  op: Op,
  x: unknown,
): x is SuccessResponse<Op> | Extract<AgentResponse, { ok: false }> {
  if (!isObj(x)) return false;
  return x.ok === false ? isErrorResponse(x) : isSuccess(op, x);
}
