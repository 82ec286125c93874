// Typed failures of Kubernetes API calls. Inputs: an HTTP status and the server's `Status` body (or a network error),
// plus what was being done (verb, resource, namespace, name). Outputs: one class per way callers react
// (STYLE.md §7): NotFound (gone: level-based code treats it as deleted), Conflict / AlreadyExists (stale: re-read,
// try again), Invalid (the input is wrong: report it, don't retry), Forbidden (RBAC / authentication), Gone (410: the
// resourceVersion or continue token expired: relist), Transient (no answer, 429, 5xx, timeouts: retry with backoff).
// Invariants: every error message names the verb, the resource and the object; server field causes are kept as data
// and convert to `Issue`s with real paths; nothing of type `any` leaves this module.
import { z } from 'zod';
import type { Issue } from '../api/errors.js';

/** What a request was doing, for messages and for callers that log it. */
export interface RequestTarget {
  verb: string;
  /** `nodes`, `leases.coordination.k8s.io`, `ippools.projectcalico.org`. */
  resource: string;
  namespace?: string;
  name?: string;
}

/** One entry of `Status.details.causes`: for 422 Invalid, `field` is a path such as `spec.peers[0].peerIP`. */
export interface StatusCause {
  field?: string;
  reason?: string;
  message?: string;
}

const StatusSchema = z.looseObject({
  kind: z.string().optional(),
  status: z.string().optional(),
  message: z.string().optional(),
  reason: z.string().optional(),
  code: z.number().optional(),
  details: z
    .looseObject({
      name: z.string().optional(),
      group: z.string().optional(),
      kind: z.string().optional(),
      retryAfterSeconds: z.number().optional(),
      causes: z
        .array(
          z.looseObject({
            field: z.string().optional(),
            reason: z.string().optional(),
            message: z.string().optional(),
          }),
        )
        .optional(),
    })
    .optional(),
});
export type KubeStatus = z.infer<typeof StatusSchema>;

/** A `Status` object (watch ERROR events carry one) or undefined when `value` is not one. */
export function parseStatus(value: unknown): KubeStatus | undefined {
  const r = StatusSchema.safeParse(value);
  return r.success ? r.data : undefined;
}

function describeTarget(t: RequestTarget): string {
  const where = t.namespace ? `${t.namespace}/` : '';
  return `${t.verb} ${t.resource}${t.name !== undefined ? ` ${where}${t.name}` : t.namespace ? ` in ${t.namespace}` : ''}`;
}

export interface KubeErrorInit {
  status: number;
  reason: string;
  serverMessage: string;
  target: RequestTarget;
  causes?: readonly StatusCause[];
  retryAfterMs?: number;
  cause?: unknown;
}

export class KubeError extends Error {
  /** HTTP status; 0 when no response arrived. */
  readonly status: number;
  /** The server's `Status.reason` (`NotFound`, `Conflict`, `Invalid`, ...) or ours for network failures. */
  readonly reason: string;
  readonly serverMessage: string;
  readonly target: RequestTarget;
  readonly causes: readonly StatusCause[];

  constructor(init: KubeErrorInit) {
    super(
      `${describeTarget(init.target)}: ${init.status > 0 ? `${init.status} ` : ''}${init.reason}: ${init.serverMessage}`,
      {
        cause: init.cause,
      },
    );
    this.name = new.target.name;
    this.status = init.status;
    this.reason = init.reason;
    this.serverMessage = init.serverMessage;
    this.target = init.target;
    this.causes = init.causes ?? [];
  }
}

export class NotFoundError extends KubeError {}
/** 409: a compare-and-swap lost (resourceVersion changed) or a server-side apply field conflict. */
export class ConflictError extends KubeError {}
/** 409 on create: the name is taken. A `ConflictError`, so CAS loops that re-read on conflict handle it too. */
export class AlreadyExistsError extends ConflictError {}
/** 401 or 403. */
export class ForbiddenError extends KubeError {}
/** 410: the resourceVersion (watch) or continue token (list) is older than what the server keeps. */
export class GoneError extends KubeError {}

/** 400 or 422: the request or the object is wrong; `causes` carry the server's field paths. */
export class InvalidError extends KubeError {
  /** Field paths the server named, e.g. `['spec.size']`. */
  fieldPaths(): string[] {
    return this.causes.flatMap((c) => (c.field ? [c.field] : []));
  }

  /** The causes as Issues of `object` (kind + name), so a condition or Event renders them like our own checks. */
  issues(object: { kind: string; name: string }): Issue[] {
    if (this.causes.length === 0) return [{ code: 'invalid', object, path: [], message: this.serverMessage }];
    return this.causes.map((c) => ({
      code: c.reason ?? 'invalid',
      object,
      path: c.field ? parseFieldPath(c.field) : [],
      message: c.message ?? this.serverMessage,
    }));
  }
}

/** No answer, a timeout, 429 or 5xx: worth retrying later. `retryAfterMs` is the server's hint, when it gave one. */
export class TransientError extends KubeError {
  readonly retryAfterMs: number | undefined;

  constructor(init: KubeErrorInit) {
    super(init);
    this.retryAfterMs = init.retryAfterMs;
  }
}

/** `spec.peers[0].peerIP` → `['spec', 'peers', 0, 'peerIP']`; `metadata.labels[a/b]` → `['metadata', 'labels', 'a/b']`. */
export function parseFieldPath(field: string): (string | number)[] {
  const out: (string | number)[] = [];
  let i = 0;
  let word = '';
  const flush = (): void => {
    if (word !== '') out.push(word);
    word = '';
  };
  while (i < field.length) {
    const ch = field[i];
    if (ch === '.') {
      flush();
      i++;
    } else if (ch === '[') {
      flush();
      const end = field.indexOf(']', i);
      if (end < 0) {
        word = field.slice(i);
        break;
      }
      const inner = field.slice(i + 1, end);
      out.push(/^\d+$/.test(inner) ? Number(inner) : inner);
      i = end + 1;
    } else {
      word += ch;
      i++;
    }
  }
  flush();
  return out;
}

function retryAfter(status: KubeStatus | undefined, header: string | undefined): number | undefined {
  const seconds = status?.details?.retryAfterSeconds ?? (header !== undefined ? Number(header) : undefined);
  return seconds !== undefined && Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
}

/** Maps a non-2xx answer to its class. `body` is the parsed JSON when there was any, else the raw text. */
export function errorFromResponse(
  httpStatus: number,
  body: unknown,
  target: RequestTarget,
  retryAfterHeader?: string,
): KubeError {
  const status = parseStatus(body);
  const code = status?.code ?? httpStatus;
  const reason = status?.reason ?? defaultReason(code);
  const serverMessage =
    status?.message ?? (typeof body === 'string' && body.trim() !== '' ? body.trim().slice(0, 500) : reason);
  const init: KubeErrorInit = {
    status: code,
    reason,
    serverMessage,
    target,
    causes: status?.details?.causes ?? [],
  };
  const after = retryAfter(status, retryAfterHeader);
  if (after !== undefined) init.retryAfterMs = after;
  switch (code) {
    case 404:
      return new NotFoundError(init);
    case 409:
      return reason === 'AlreadyExists' ? new AlreadyExistsError(init) : new ConflictError(init);
    case 400:
    case 422:
      return new InvalidError(init);
    case 401:
    case 403:
      return new ForbiddenError(init);
    case 410:
      return new GoneError(init);
    case 429:
    case 500:
    case 502:
    case 503:
    case 504:
      return new TransientError(init);
    default:
      // An ERROR watch event can carry a Status without an HTTP code; a server Timeout reason is retryable too.
      if (reason === 'Timeout' || reason === 'ServerTimeout' || reason === 'TooManyRequests' || code === 0) {
        return new TransientError(init);
      }
      return new KubeError(init);
  }
}

/** No HTTP answer: connection refused or reset, DNS, TLS, a client-side timeout. */
export function networkError(err: unknown, target: RequestTarget): TransientError {
  const code = err instanceof Error && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
  const message = err instanceof Error ? err.message : String(err);
  return new TransientError({ status: 0, reason: code ?? 'NetworkError', serverMessage: message, target, cause: err });
}

function defaultReason(code: number): string {
  switch (code) {
    case 400:
      return 'BadRequest';
    case 401:
      return 'Unauthorized';
    case 403:
      return 'Forbidden';
    case 404:
      return 'NotFound';
    case 409:
      return 'Conflict';
    case 410:
      return 'Expired';
    case 422:
      return 'Invalid';
    case 429:
      return 'TooManyRequests';
    case 504:
      return 'Timeout';
    default:
      return code >= 500 ? 'InternalError' : 'Unknown';
  }
}
