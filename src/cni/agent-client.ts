// The plugin's side of the agent IPAM protocol (src/api/agent-ipam-protocol.ts): one connection per call, one request
// line out, one response line back, validated against the schema of the request's op.
//
// Failure classes, which the verbs turn into CNI codes:
// - AgentUnreachableError: no socket, connection refused, the agent closed or did not answer in time. The agent
//   may be starting or restarting, so the runtime should retry (CNI 11).
// - AgentRefusedError: the agent answered with an error response (its code says which CNI error fits).
// A response that does not match the protocol is an AgentUnreachableError too: a plugin and an agent that cannot
// understand each other are a rollout in progress, which clears up by itself. Answers are checked with the zod-free
// isResponseFor (agent-ipam-wire.ts); the schemas load only to explain a bad answer.
import { createConnection } from 'node:net';
import type { AgentErrorCode, AgentOp, AgentRequest, SuccessResponse } from '../api/agent-ipam-protocol.js';
import { MAX_MESSAGE_BYTES, encodeMessage, isResponseFor } from '../api/agent-ipam-wire.js';

export class AgentUnreachableError extends Error {
  constructor(
    readonly socketPath: string,
    readonly reason: string,
  ) {
    super(`cannot reach the tabby agent at ${socketPath}: ${reason}`);
    this.name = 'AgentUnreachableError';
  }
}

export class AgentRefusedError extends Error {
  constructor(
    readonly code: AgentErrorCode,
    readonly reason: string,
  ) {
    super(reason);
    this.name = 'AgentRefusedError';
  }
}

export interface AgentClient {
  call<Op extends AgentOp>(request: Extract<AgentRequest, { op: Op }>): Promise<SuccessResponse<Op>>;
}

export function createAgentClient(socketPath: string, timeoutMs: number): AgentClient {
  return {
    call: (request) => callAgent(socketPath, timeoutMs, request),
  };
}

function describeConnectError(e: NodeJS.ErrnoException): string {
  switch (e.code) {
    case 'ENOENT':
      return 'the socket does not exist (is the tabby agent running on this node?)';
    case 'ECONNREFUSED':
      return 'connection refused (the tabby agent is not listening; is it running on this node?)';
    case 'EACCES':
    case 'EPERM':
      return `permission denied (${e.code}); the plugin must run as root`;
    default:
      return e.message;
  }
}

async function callAgent<Op extends AgentOp>(
  socketPath: string,
  timeoutMs: number,
  request: Extract<AgentRequest, { op: Op }>,
): Promise<SuccessResponse<Op>> {
  const line = await new Promise<string>((resolve, reject) => {
    const sock = createConnection(socketPath);
    let buf = '';
    let settled = false;
    const finish = (err: Error | undefined, value?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      if (err === undefined) resolve(value ?? '');
      else reject(err);
    };
    const timer = setTimeout(
      () => finish(new AgentUnreachableError(socketPath, `no answer within ${timeoutMs} ms`)),
      timeoutMs,
    );
    sock.setEncoding('utf8');
    sock.on('connect', () => sock.write(encodeMessage(request)));
    sock.on('data', (chunk: string) => {
      buf += chunk;
      const nl = buf.indexOf('\n');
      if (nl >= 0) finish(undefined, buf.slice(0, nl));
      else if (buf.length > MAX_MESSAGE_BYTES) {
        finish(new AgentUnreachableError(socketPath, `answer longer than ${MAX_MESSAGE_BYTES} bytes`));
      }
    });
    sock.on('error', (e: NodeJS.ErrnoException) =>
      finish(new AgentUnreachableError(socketPath, describeConnectError(e))),
    );
    sock.on('close', () =>
      finish(new AgentUnreachableError(socketPath, 'the agent closed the connection without answering')),
    );
  });
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch {
    throw new AgentUnreachableError(socketPath, `the agent's answer is not JSON: ${line.slice(0, 200)}`);
  }
  if (!isResponseFor(request.op, json)) {
    // Only now is the schema worth loading: to say what is wrong with the answer.
    const { responseSchemaFor } = await import('../api/agent-ipam-protocol.js');
    const parsed = responseSchemaFor(request.op).safeParse(json);
    const first = parsed.success ? undefined : parsed.error.issues[0];
    throw new AgentUnreachableError(
      socketPath,
      `the agent's answer does not match protocol version ${request.v}: ${first === undefined ? line.slice(0, 200) : `${first.path.join('.') || '(answer)'}: ${first.message}`}`,
    );
  }
  if (!json.ok) throw new AgentRefusedError(json.error.code, json.error.message);
  return json;
}
