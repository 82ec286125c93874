// The agent's side of the agent IPAM protocol (src/api/agent-ipam-protocol.ts): a unix socket server that the CNI
// plugin asks for addresses (ADD), releases (DEL), reservations (CHECK) and liveness (STATUS).
//
// Inputs (injected, STYLE.md §13): a PodAddressAllocator (the node's src/ipam AddressAssigner behind
// pod-address-allocator.ts), the node's pod MTU and Felix's deviceRouteProtocol as providers (they change with
// the NodeDataplane), optionally the pod's and namespace's annotations (Calico's ipv4pools/ipAddrs, applied with
// the protocol's precedence rules), and a clock for the MTU wait.
// Invariants:
// - Requests for the same handle run one at a time, in arrival order: a retried ADD and a DEL racing for one pod
//   cannot interleave (the allocator's idempotency check and its assignment are one step from the pod's view).
// - Every request gets exactly one response line; a malformed one gets `badRequest` naming the field, never a
//   dropped connection or a crashed agent. A line over MAX_MESSAGE_BYTES is refused whole, after the lines before
//   it are answered, and ends the connection: nothing after it is served. A last line without its newline (the
//   client half-closed) is answered like the others.
// - A pod is never plumbed with a guessed MTU: while the MTU is unknown (the node not planned yet) an ADD waits for
//   `planChanged()`, at most `mtuWaitMs`, then gets `unavailable` saying what is missing — before anything is
//   assigned.
// - The socket file is the agent's: a stale one (left by a crash) is replaced, a live one (another agent answering)
//   is an error, and close() removes it.
import { chmodSync, lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import { type Server, type Socket, createConnection, createServer } from 'node:net';
import { dirname } from 'node:path';
import {
  type AgentErrorCode,
  type AgentRequest,
  type AgentResponse,
  type Annotations,
  type AssignRequest,
  type AssignedAddress,
  AnnotationError,
  MAX_MESSAGE_BYTES,
  applyPodAnnotations,
  encodeMessage,
  parseRequestLine,
} from '../api/agent-ipam-protocol.js';
import { isIpamError } from '../ipam/errors.js';
import { type Clock, systemClock } from '../kube/clock.js';
import type { Logger } from '../log/logger.js';

/** What the server needs from IPAM; pod-address-allocator.ts adapts src/ipam to it. */
export interface PodAddressAllocator {
  /**
   * Idempotent by handle: a handle that already holds addresses gets those back, nothing new is assigned.
   * `looked.existing`: what addressesByHandle returned for this handle inside the same per-handle turn, so the
   * allocator need not look again.
   */
  assign(
    req: AssignRequest & { attrs: { node: string } },
    looked?: { existing: AssignedAddress[] },
    /** What the pod's namespace says for pools' namespaceSelector (its labels, read at this ADD). */
    scope?: { namespaceLabels?: Readonly<Record<string, string>> },
  ): Promise<AssignedAddress[]>;
  /** Releases every address of the handle; an unknown handle is not an error. */
  releaseByHandle(handleId: string): Promise<void>;
  /** The addresses the handle holds now (CHECK); without it the server answers CHECK's question with an error. */
  addressesByHandle?(handleId: string): Promise<AssignedAddress[]>;
}

/** An allocator failure with the protocol code the plugin should see. */
export class PodAllocationError extends Error {
  constructor(
    readonly code: AgentErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'PodAllocationError';
  }
}

export interface PodAnnotations {
  pod?: Annotations;
  namespace?: Annotations;
  /** The namespace's labels, which IPPools' namespaceSelector matches (absent: no namespace object). */
  namespaceLabels?: Readonly<Record<string, string>>;
}

/** The pod MTU, or why it is not known yet (a sentence naming what is missing). */
export type PlannedMtu = number | { unknown: string };

export const DEFAULT_MTU_WAIT_MS = 5000;

export interface IpamServerOptions {
  socketPath: string;
  node: string;
  allocator: PodAddressAllocator;
  /** The node's pod MTU; look again after `planChanged()`. */
  mtu: () => PlannedMtu;
  /** How long an ADD waits for an unknown MTU before `unavailable` (default 5 s, well inside the plugin's 15 s). */
  mtuWaitMs?: number;
  clock?: Clock;
  /** Felix's deviceRouteProtocol for workload routes; undefined = kernel default. */
  deviceRouteProtocol?: () => number | undefined;
  /** The pod's and its namespace's annotations, from the agent's caches; undefined when unknown. */
  annotations?: (namespace: string, pod: string) => Promise<PodAnnotations | undefined>;
  log?: Logger;
}

export interface IpamServer {
  readonly socketPath: string;
  listen(): Promise<void>;
  close(): Promise<void>;
  /** The MTU provider may answer differently now: waiting ADDs look again. */
  planChanged(): void;
}

/** Maps anything the allocator throws to a protocol error code and message. */
export function classifyAllocatorError(e: unknown): { code: AgentErrorCode; message: string } {
  if (e instanceof PodAllocationError) return { code: e.code, message: e.message };
  if (e instanceof AnnotationError) return { code: 'invalid', message: e.message };
  if (isIpamError(e)) {
    if (e.code === 'noFreeBlocks' || e.code === 'blockLimit') return { code: 'exhausted', message: e.message };
    if (e.errorClass === 'invalid') return { code: 'invalid', message: e.message };
    return { code: 'unavailable', message: e.message };
  }
  return { code: 'internal', message: e instanceof Error ? e.message : String(e) };
}

function errorResponse(code: AgentErrorCode, message: string): AgentResponse {
  return { ok: false, error: { code, message: message.slice(0, MAX_MESSAGE_BYTES - 200) } };
}

export function createIpamServer(opts: IpamServerOptions): IpamServer {
  const log = opts.log;
  const perHandle = new Map<string, Promise<unknown>>();
  const sockets = new Set<Socket>();
  const clock = opts.clock ?? systemClock;
  const mtuWaitMs = opts.mtuWaitMs ?? DEFAULT_MTU_WAIT_MS;
  /** ADDs waiting for the MTU, each woken by planChanged() (or close). */
  const mtuWaiters = new Set<() => void>();
  let closed = false;
  let server: Server | undefined;

  /** Runs `fn` after every earlier request of the same handle has finished. */
  function serialised<T>(handleId: string, fn: () => Promise<T>): Promise<T> {
    const before = perHandle.get(handleId) ?? Promise.resolve();
    const run = before.then(fn, fn);
    const tail = run.catch(() => undefined);
    perHandle.set(handleId, tail);
    void tail.then(() => {
      if (perHandle.get(handleId) === tail) perHandle.delete(handleId);
    });
    return run;
  }

  /** The provider's MTU, checked: a plugin must never be told to plumb a pod with an impossible MTU. */
  function checkedMtu(mtu: number): number {
    if (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535) {
      throw new PodAllocationError('unavailable', `the node's planned MTU is not known yet (got ${mtu})`);
    }
    return mtu;
  }

  /** The MTU now, or (`wait`) once it is known, at most mtuWaitMs from now. */
  async function plannedMtu(wait: boolean): Promise<number> {
    const deadline = clock.now() + mtuWaitMs;
    for (;;) {
      const mtu = opts.mtu();
      if (typeof mtu === 'number') return checkedMtu(mtu);
      const left = deadline - clock.now();
      if (!wait || left <= 0 || closed) {
        const waited = wait ? ` (waited ${mtuWaitMs} ms)` : '';
        throw new PodAllocationError('unavailable', `the pod's MTU is not known: ${mtu.unknown}${waited}`);
      }
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          timer.cancel();
          mtuWaiters.delete(wake);
          resolve();
        };
        const timer = clock.setTimer(wake, left);
        mtuWaiters.add(wake);
      });
    }
  }

  async function assign(req: AssignRequest): Promise<AgentResponse> {
    const node = req.attrs.node ?? opts.node;
    if (node !== opts.node) {
      return errorResponse(
        'invalid',
        `the CNI config names node "${node}" but this agent serves node "${opts.node}" (fix "nodename" in the conflist)`,
      );
    }
    // Before assigning: an answer the plugin cannot use must not leave an address taken.
    const mtu = await plannedMtu(true);
    const proto = opts.deviceRouteProtocol?.();
    if (proto !== undefined && (!Number.isInteger(proto) || proto < 0 || proto > 255)) {
      return errorResponse('internal', `deviceRouteProtocol ${proto} is not a route protocol number (0-255)`);
    }
    const { namespace, pod } = req.attrs;
    const annotations = opts.annotations;
    const lookup = opts.allocator.addressesByHandle;
    const addresses = await serialised(req.handleId, async () => {
      // The pod's annotations and the handle's current addresses are independent reads: one round trip, not two.
      const [ann, existing] = await Promise.all([
        annotations !== undefined && namespace !== undefined && pod !== undefined
          ? annotations(namespace, pod)
          : undefined,
        lookup?.call(opts.allocator, req.handleId),
      ]);
      if (existing !== undefined && existing.length > 0) return existing; // a repeated ADD
      const effective = ann === undefined ? req : applyPodAnnotations(req, ann.pod, ann.namespace);
      return opts.allocator.assign(
        { ...effective, attrs: { ...effective.attrs, node } },
        existing === undefined ? undefined : { existing },
        ann?.namespaceLabels === undefined ? undefined : { namespaceLabels: ann.namespaceLabels },
      );
    });
    return {
      ok: true,
      op: 'assign',
      addresses,
      mtu,
      ...(proto === undefined ? {} : { deviceRouteProtocol: proto }),
      node: opts.node,
    };
  }

  async function handle(req: AgentRequest): Promise<AgentResponse> {
    switch (req.op) {
      case 'assign':
        return assign(req);
      case 'release':
        await serialised(req.handleId, () => opts.allocator.releaseByHandle(req.handleId));
        return { ok: true, op: 'release' };
      case 'addresses': {
        const get = opts.allocator.addressesByHandle;
        if (get === undefined)
          return errorResponse('internal', "this agent's allocator cannot list a handle's addresses");
        const addresses = await serialised(req.handleId, () => get.call(opts.allocator, req.handleId));
        return { ok: true, op: 'addresses', addresses };
      }
      case 'status':
        return { ok: true, op: 'status', node: opts.node, mtu: await plannedMtu(false) };
    }
  }

  async function answer(line: string): Promise<AgentResponse> {
    const parsed = parseRequestLine(line);
    if (!parsed.ok) return errorResponse('badRequest', parsed.message);
    const req = parsed.request;
    const started = performance.now();
    try {
      const res = await handle(req);
      log?.debug({ op: req.op, ms: Math.round(performance.now() - started) }, 'ipam request served');
      return res;
    } catch (e) {
      const { code, message } = classifyAllocatorError(e);
      log?.warn({ op: req.op, code, err: message }, 'ipam request failed');
      return errorResponse(code, message);
    }
  }

  function serve(sock: Socket): void {
    sockets.add(sock);
    sock.setEncoding('utf8');
    let buf = '';
    let chain = Promise.resolve();
    /** A framing violation ended this connection: nothing more on it is read, let alone served. */
    let refused = false;
    const take = (line: string): void => {
      if (line.trim() === '') return;
      chain = chain.then(async () => {
        const res = await answer(line);
        if (!sock.destroyed) sock.write(encodeMessage(res));
      });
    };
    // Answers what came before it, then says why and closes: a line's end can no longer be found reliably.
    const refuseTooLong = (): void => {
      refused = true;
      buf = '';
      chain = chain.then(() => {
        if (!sock.destroyed) {
          sock.end(encodeMessage(errorResponse('badRequest', `request longer than ${MAX_MESSAGE_BYTES} bytes`)));
        }
      });
    };
    sock.on('data', (chunk: string) => {
      if (refused) return;
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.length > MAX_MESSAGE_BYTES) return refuseTooLong();
        take(line);
      }
      if (buf.length > MAX_MESSAGE_BYTES) refuseTooLong();
    });
    // The client half-closed: a last line without its newline is still a request; then this side ends too.
    sock.on('end', () => {
      if (refused) return;
      take(buf);
      buf = '';
      chain = chain.then(() => {
        if (!sock.destroyed) sock.end();
      });
    });
    sock.on('error', () => undefined);
    sock.on('close', () => sockets.delete(sock));
  }

  /** True when something answers on the socket path (another agent): then it must not be taken over. */
  function socketIsLive(path: string): Promise<boolean> {
    return new Promise((resolve) => {
      const c = createConnection(path);
      c.on('connect', () => {
        c.destroy();
        resolve(true);
      });
      c.on('error', () => resolve(false));
    });
  }

  return {
    socketPath: opts.socketPath,
    planChanged() {
      for (const wake of [...mtuWaiters]) wake();
    },
    async listen() {
      mkdirSync(dirname(opts.socketPath), { recursive: true, mode: 0o755 });
      let stale = false;
      try {
        stale = lstatSync(opts.socketPath).isSocket();
        if (!stale) throw new Error(`${opts.socketPath} exists and is not a socket; refusing to replace it`);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
      if (stale) {
        if (await socketIsLive(opts.socketPath)) {
          throw new Error(`another process is already serving ${opts.socketPath}`);
        }
        unlinkSync(opts.socketPath);
      }
      // Half-open: a client may end its side right after its request and still read the answer.
      const s = createServer({ allowHalfOpen: true }, serve);
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.listen(opts.socketPath, () => {
          s.off('error', reject);
          resolve();
        });
      });
      // Only root (the runtime executing the plugin) may ask for addresses.
      chmodSync(opts.socketPath, 0o600);
      server = s;
      closed = false;
      log?.info({ socket: opts.socketPath }, 'ipam server listening');
    },
    async close() {
      const s = server;
      server = undefined;
      if (s === undefined) return;
      closed = true;
      for (const wake of [...mtuWaiters]) wake();
      await new Promise<void>((resolve) => {
        s.close(() => resolve());
        for (const sock of sockets) sock.destroy();
      });
      // net.Server removes its own unix socket file on close; make sure, without failing if it is gone.
      try {
        unlinkSync(opts.socketPath);
      } catch {
        // already removed
      }
    },
  };
}
