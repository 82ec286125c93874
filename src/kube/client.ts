// Typed access to the kube-apiserver. Inputs: a kubeconfig source (file, YAML or in-cluster), then per resource a
// `ResourceType` and a zod schema. Outputs: `ResourceClient<T>` with get / list / create / replace (compare-and-swap
// on metadata.resourceVersion) / delete (with preconditions) / merge patch / server-side apply, on the object or its
// status subresource, and the list+watch source informers use.
// Invariants: every object returned is parsed with the caller's schema (an invalid one throws InvalidObjectError, or
// lands in `ObjectList.invalid` for lists: one bad object never hides the others); every failure is a typed KubeError
// (errors.ts); a lost compare-and-swap is a ConflictError, never a silent overwrite.
import type { z } from 'zod';
import { TabbyError, issuesFromZod, type Issue } from '../api/errors.js';
import type { KindDefinition } from '../api/meta.js';
import { ConfigMapSchema, EventSchema, LeaseSchema, NodeSchema, PodSchema, SecretSchema } from './core-kinds.js';
import type { ConfigMap, Event, Lease, Node, Pod, Secret } from './core-kinds.js';
import { errorFromResponse, networkError, type RequestTarget } from './errors.js';
import type { ListWatchSource, RawList, RawWatchEvent, RawWatchEventType } from './list-watch-source.js';
import { KubeObjectSchema, keyOf, readMeta, type HasMetadata, type KubeObject } from './object-meta.js';
import {
  CONFIG_MAPS,
  EVENTS,
  LEASES,
  NODES,
  PODS,
  SECRETS,
  apiVersionOf,
  kindResource,
  resourceName,
  resourcePath,
  type ResourceType,
} from './resources.js';
import { createTransport, type HttpRequest, type KubeConfigSource, type Transport } from './transport.js';

/** An object the server returned that does not match the caller's schema. */
export class InvalidObjectError extends TabbyError {
  readonly raw: unknown;

  constructor(issues: Issue[], raw: unknown) {
    super(issues);
    this.name = 'InvalidObjectError';
    this.raw = raw;
  }
}

export interface InvalidItem {
  key: string;
  raw: unknown;
  issues: Issue[];
}

export interface ObjectList<T> {
  items: T[];
  /** Objects that failed the schema, with why. */
  invalid: InvalidItem[];
  resourceVersion: string;
  continueToken?: string;
}

interface Common {
  namespace?: string;
  signal?: AbortSignal;
  /** Told the size of the request body sent (writers count bytes written). */
  onRequestBytes?: (bytes: number) => void;
}

export interface ListOptions extends Common {
  labelSelector?: string;
  fieldSelector?: string;
  /** One page of at most `limit` objects (then `continueToken`); without it, every page is fetched. */
  limit?: number;
  continueToken?: string;
}

export interface WriteOptions extends Common {
  fieldManager?: string;
  dryRun?: boolean;
}

export interface DeleteOptions extends Common {
  /** The delete happens only if the object still has this uid / resourceVersion (else ConflictError). */
  preconditions?: { uid?: string; resourceVersion?: string };
  propagationPolicy?: 'Foreground' | 'Background' | 'Orphan';
  gracePeriodSeconds?: number;
}

export interface ApplyOptions extends Common {
  fieldManager: string;
  /** Take fields owned by other managers instead of failing with ConflictError. Default true (a controller's own fields). */
  force?: boolean;
}

/** An apply configuration: the fields this manager owns, with identity. */
export interface ApplyObject {
  metadata: { name: string; namespace?: string; [key: string]: unknown };
  [key: string]: unknown;
}

export interface WatchSelector {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
}

/** What `send` needs for one request; everything else follows from the resource type. */
interface Send {
  verb: string;
  method: HttpRequest['method'];
  /** The object named in errors, and in the path unless `collection` (a create goes to the collection). */
  name?: string;
  collection?: boolean;
  namespace: string | undefined;
  subresource?: 'status';
  query?: HttpRequest['query'];
  /** Sent as JSON. */
  body?: object;
  contentType?: string;
  signal?: AbortSignal | undefined;
  onRequestBytes?: ((bytes: number) => void) | undefined;
}

/**
 * `T` is what the server's answers parse to (the schema's output); `W`, what may be written (the schema's input:
 * fields with defaults may be left out). Objects read back (`T`) can always be written again.
 */
export interface ResourceClient<T extends HasMetadata, W extends HasMetadata = T> {
  readonly type: ResourceType;
  readonly schema: z.ZodType<T>;
  get(name: string, opts?: Common): Promise<T>;
  list(opts?: ListOptions): Promise<ObjectList<T>>;
  create(obj: T | W, opts?: WriteOptions): Promise<T>;
  /** PUT: fails with ConflictError when `obj.metadata.resourceVersion` is no longer current. */
  replace(obj: T | W, opts?: WriteOptions): Promise<T>;
  /** PUT on /status, with the same compare-and-swap. */
  replaceStatus(obj: T | W, opts?: WriteOptions): Promise<T>;
  delete(name: string, opts?: DeleteOptions): Promise<void>;
  /** RFC 7386 merge patch (null deletes a field) on the object or its status subresource. */
  mergePatch(
    name: string,
    patch: Readonly<Record<string, unknown>>,
    opts?: WriteOptions & { subresource?: 'status' },
  ): Promise<T>;
  /** Merge patch `{status}` on /status. */
  patchStatus(name: string, status: unknown, opts?: WriteOptions): Promise<T>;
  /** Server-side apply of the fields in `obj`, owned by `opts.fieldManager`. */
  apply(obj: ApplyObject, opts: ApplyOptions): Promise<T>;
  /** Server-side apply of `{status}` on /status, owned by `opts.fieldManager`. */
  applyStatus(name: string, status: unknown, opts: ApplyOptions): Promise<T>;
  /** The list+watch calls an informer runs, restricted by namespace and selectors. */
  listWatch(selector?: WatchSelector): ListWatchSource;
}

export interface KubeClient {
  readonly server: string;
  /** The kubeconfig context's namespace (in-cluster: the pod's namespace), if any. */
  readonly namespace: string | undefined;
  /** Untyped beyond metadata: any object of `type`. */
  resource(type: ResourceType): ResourceClient<KubeObject>;
  /** Objects of `type`, each parsed with `schema`. */
  resource<T extends HasMetadata>(type: ResourceType, schema: z.ZodType<T>): ResourceClient<T>;
  /** Objects of one of the cluster-scoped kinds `src/api` defines (Calico's or ours), typed by its schema. */
  kind<T extends HasMetadata, W extends HasMetadata>(definition: KindDefinition<z.ZodType<T, W>>): ResourceClient<T, W>;
  kind<T extends HasMetadata>(definition: KindDefinition<z.ZodType<T>>): ResourceClient<T>;
  nodes(): ResourceClient<Node>;
  pods(): ResourceClient<Pod>;
  secrets(): ResourceClient<Secret>;
  configMaps(): ResourceClient<ConfigMap>;
  leases(): ResourceClient<Lease>;
  events(): ResourceClient<Event>;
  /** Ends keep-alive connections. */
  close(): void;
}

export interface KubeClientOptions {
  source?: KubeConfigSource;
  /** Used instead of `source` (tests, or several clients sharing connections). */
  transport?: Transport;
  /** Field manager for create / replace / merge patch when the call names none. */
  fieldManager?: string;
  /** Socket idle timeout of ordinary requests (not watches). Default 30 s. */
  requestTimeoutMs?: number;
}

const LIST_PAGE = 500;

export function createKubeClient(options: KubeClientOptions): KubeClient {
  const transport =
    options.transport ??
    (options.source
      ? createTransport(options.source)
      : (() => {
          throw new Error('createKubeClient: give a kubeconfig source or a transport');
        })());
  const defaultManager = options.fieldManager;
  const requestTimeoutMs = options.requestTimeoutMs;

  function resource<T extends HasMetadata, W extends HasMetadata = T>(
    type: ResourceType,
    schema: z.ZodType<T>,
  ): ResourceClient<T, W> {
    const rname = resourceName(type);
    const apiVersion = apiVersionOf(type);

    const target = (verb: string, name?: string, namespace?: string): RequestTarget => ({
      verb,
      resource: rname,
      ...(namespace !== undefined ? { namespace } : {}),
      ...(name !== undefined ? { name } : {}),
    });

    const ns = (explicit: string | undefined, obj?: unknown): string | undefined =>
      type.namespaced ? (explicit ?? readMeta(obj)?.namespace ?? transport.namespace) : undefined;

    function parse(raw: unknown): T {
      const r = schema.safeParse(raw, { reportInput: true });
      if (r.success) return r.data;
      throw new InvalidObjectError(issuesFromZod(r.error, { kind: type.kind, name: readMeta(raw)?.name ?? '' }), raw);
    }

    /** One request of any verb: path, query, JSON body and error target from the same few facts. */
    async function send(req: Send): Promise<unknown> {
      const { namespace, name, subresource } = req;
      const body = req.body === undefined ? undefined : JSON.stringify(req.body);
      if (req.onRequestBytes && body !== undefined) req.onRequestBytes(Buffer.byteLength(body));
      const t = target(req.verb, name, namespace);
      const res = await transport.request({
        method: req.method,
        path: resourcePath(type, {
          ...(name !== undefined && !req.collection ? { name } : {}),
          ...(subresource ? { subresource } : {}),
          ...(namespace ? { namespace } : {}),
        }),
        ...(req.query ? { query: req.query } : {}),
        ...(body !== undefined ? { body } : {}),
        ...(req.contentType ? { contentType: req.contentType } : {}),
        ...(req.signal ? { signal: req.signal } : {}),
        target: t,
        ...(requestTimeoutMs !== undefined ? { timeoutMs: requestTimeoutMs } : {}),
      });
      try {
        return JSON.parse(res.body) as unknown;
      } catch (err) {
        throw networkError(new Error(`response is not JSON: ${(err as Error).message}`), t);
      }
    }

    function writeQuery(opts: WriteOptions | undefined): HttpRequest['query'] {
      return { fieldManager: opts?.fieldManager ?? defaultManager, dryRun: opts?.dryRun ? 'All' : undefined };
    }

    const applyQuery = (opts: ApplyOptions): HttpRequest['query'] => ({
      fieldManager: opts.fieldManager,
      force: opts.force ?? true,
    });

    const withTypeMeta = <O extends object>(obj: O): O & { apiVersion: string; kind: string } => ({
      ...obj,
      apiVersion,
      kind: type.kind,
    });

    // Lists and watches without a namespace span all namespaces (no fallback to the context's namespace).
    async function listPage(opts: ListOptions, limit: number | undefined, cont?: string): Promise<RawList> {
      const namespace = type.namespaced ? opts.namespace : undefined;
      const query = { labelSelector: opts.labelSelector, fieldSelector: opts.fieldSelector, limit, continue: cont };
      const body = await send({ verb: 'list', method: 'GET', namespace, query, signal: opts.signal });
      return rawList(body, target('list', undefined, namespace));
    }

    /** A write of `obj` (with its type meta) to the object it names. */
    function writeRequest<O extends { metadata: { name: string } }>(
      verb: string,
      method: HttpRequest['method'],
      obj: O,
      opts: Common | undefined,
    ): Send {
      return {
        verb,
        method,
        name: obj.metadata.name,
        namespace: ns(opts?.namespace, obj),
        body: withTypeMeta(obj),
        signal: opts?.signal,
        onRequestBytes: opts?.onRequestBytes,
      };
    }

    const client: ResourceClient<T, W> = {
      type,
      schema,

      async get(name, opts = {}) {
        return parse(
          await send({ verb: 'get', method: 'GET', name, namespace: ns(opts.namespace), signal: opts.signal }),
        );
      },

      async list(opts = {}) {
        const out: ObjectList<T> = { items: [], invalid: [], resourceVersion: '' };
        let cont = opts.continueToken;
        for (;;) {
          const page = await listPage(opts, opts.limit ?? LIST_PAGE, cont);
          for (const raw of page.items) {
            const r = schema.safeParse(raw, { reportInput: true });
            if (r.success) out.items.push(r.data);
            else {
              const meta = readMeta(raw);
              out.invalid.push({
                key: keyOf(raw) ?? '',
                raw,
                issues: issuesFromZod(r.error, { kind: type.kind, name: meta?.name ?? '' }),
              });
            }
          }
          out.resourceVersion = page.resourceVersion;
          cont = page.continueToken;
          if (opts.limit !== undefined) {
            if (cont) out.continueToken = cont;
            return out;
          }
          if (!cont) return out;
        }
      },

      async create(obj, opts) {
        return parse(
          await send({
            ...writeRequest('create', 'POST', obj, opts),
            collection: true,
            query: writeQuery(opts),
          }),
        );
      },

      async replace(obj, opts) {
        return parse(await send({ ...writeRequest('replace', 'PUT', obj, opts), query: writeQuery(opts) }));
      },

      async replaceStatus(obj, opts) {
        return parse(
          await send({
            ...writeRequest('replace status', 'PUT', obj, opts),
            subresource: 'status',
            query: writeQuery(opts),
          }),
        );
      },

      async delete(name, opts = {}) {
        const body: Record<string, unknown> = { apiVersion: 'v1', kind: 'DeleteOptions' };
        if (opts.preconditions) body['preconditions'] = opts.preconditions;
        if (opts.propagationPolicy) body['propagationPolicy'] = opts.propagationPolicy;
        if (opts.gracePeriodSeconds !== undefined) body['gracePeriodSeconds'] = opts.gracePeriodSeconds;
        await send({
          verb: 'delete',
          method: 'DELETE',
          name,
          namespace: ns(opts.namespace),
          body,
          signal: opts.signal,
        });
      },

      async mergePatch(name, patch, opts) {
        const subresource = opts?.subresource;
        return parse(
          await send({
            verb: subresource ? 'patch status' : 'patch',
            method: 'PATCH',
            name,
            namespace: ns(opts?.namespace),
            ...(subresource ? { subresource } : {}),
            query: writeQuery(opts),
            body: patch,
            contentType: 'application/merge-patch+json',
            signal: opts?.signal,
            onRequestBytes: opts?.onRequestBytes,
          }),
        );
      },

      patchStatus(name, status, opts) {
        return client.mergePatch(name, { status }, { ...opts, subresource: 'status' });
      },

      async apply(obj, opts) {
        return parse(
          await send({
            // JSON is YAML: the apply content type takes it as it is.
            ...writeRequest('apply', 'PATCH', obj, opts),
            query: applyQuery(opts),
            contentType: 'application/apply-patch+yaml',
          }),
        );
      },

      async applyStatus(name, status, opts) {
        const namespace = ns(opts.namespace);
        const metadata: ApplyObject['metadata'] = { name, ...(namespace ? { namespace } : {}) };
        return parse(
          await send({
            ...writeRequest('apply status', 'PATCH', { metadata, status }, opts),
            subresource: 'status',
            query: applyQuery(opts),
            contentType: 'application/apply-patch+yaml',
          }),
        );
      },

      listWatch(selector = {}) {
        const namespace = type.namespaced ? selector.namespace : undefined;
        const description = `${rname}${namespace ? ` in ${namespace}` : ''}${
          selector.labelSelector ? ` (${selector.labelSelector})` : ''
        }${selector.fieldSelector ? ` (${selector.fieldSelector})` : ''}`;
        return {
          description,
          list: ({ limit, continueToken, signal }) => listPage({ ...selector, signal }, limit, continueToken),
          watch: async ({ resourceVersion, timeoutSeconds, signal }, onEvent) => {
            const t = target('watch', undefined, namespace);
            await transport.stream(
              {
                method: 'GET',
                path: resourcePath(type, { ...(namespace ? { namespace } : {}) }),
                query: {
                  watch: 'true',
                  resourceVersion,
                  allowWatchBookmarks: 'true',
                  timeoutSeconds,
                  labelSelector: selector.labelSelector,
                  fieldSelector: selector.fieldSelector,
                },
                // The server ends the stream after timeoutSeconds; silence well past that means a dead connection.
                timeoutMs: (timeoutSeconds + 30) * 1000,
                signal,
                target: t,
              },
              (line) => onEvent(rawWatchEvent(line, t)),
            );
          },
        };
      },
    };
    return client;
  }

  function typedResource(type: ResourceType): ResourceClient<KubeObject>;
  function typedResource<T extends HasMetadata>(type: ResourceType, schema: z.ZodType<T>): ResourceClient<T>;
  function typedResource<T extends HasMetadata>(
    type: ResourceType,
    schema?: z.ZodType<T>,
  ): ResourceClient<T> | ResourceClient<KubeObject> {
    return schema ? resource(type, schema) : resource(type, KubeObjectSchema);
  }

  function kindClient<T extends HasMetadata, W extends HasMetadata>(
    d: KindDefinition<z.ZodType<T, W>>,
  ): ResourceClient<T, W>;
  function kindClient<T extends HasMetadata>(d: KindDefinition<z.ZodType<T>>): ResourceClient<T>;
  function kindClient<T extends HasMetadata>(d: KindDefinition<z.ZodType<T>>): ResourceClient<T> {
    return resource(kindResource(d), d.schema);
  }

  return {
    server: transport.server,
    namespace: transport.namespace,
    resource: typedResource,
    kind: kindClient,
    nodes: () => resource(NODES, NodeSchema),
    pods: () => resource(PODS, PodSchema),
    secrets: () => resource(SECRETS, SecretSchema),
    configMaps: () => resource(CONFIG_MAPS, ConfigMapSchema),
    leases: () => resource(LEASES, LeaseSchema),
    events: () => resource(EVENTS, EventSchema),
    close: () => transport.close(),
  };
}

function rawList(body: unknown, t: RequestTarget): RawList {
  if (typeof body !== 'object' || body === null || !Array.isArray((body as Record<string, unknown>)['items'])) {
    throw errorFromResponse(0, 'list answer has no items', t);
  }
  const b = body as { items: unknown[]; metadata?: { resourceVersion?: unknown; continue?: unknown } };
  const rv = b.metadata?.resourceVersion;
  const cont = b.metadata?.continue;
  return {
    items: b.items,
    resourceVersion: typeof rv === 'string' ? rv : '',
    ...(typeof cont === 'string' && cont !== '' ? { continueToken: cont } : {}),
  };
}

const WATCH_TYPES = new Set<string>(['ADDED', 'MODIFIED', 'DELETED', 'BOOKMARK', 'ERROR']);

function rawWatchEvent(line: string, t: RequestTarget): RawWatchEvent {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    throw networkError(new Error(`watch line is not JSON: ${line.slice(0, 200)}`), t);
  }
  const ev = parsed as { type?: unknown; object?: unknown };
  if (typeof ev !== 'object' || ev === null || typeof ev.type !== 'string' || !WATCH_TYPES.has(ev.type)) {
    throw networkError(new Error(`unknown watch event: ${line.slice(0, 200)}`), t);
  }
  return { type: ev.type as RawWatchEventType, object: ev.object };
}
