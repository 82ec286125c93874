// HTTP to the kube-apiserver, the only place that touches @kubernetes/client-node's KubeConfig. Inputs: a kubeconfig
// file, its YAML, or the in-cluster service account. Outputs: `request` (whole body, 2xx only) and `stream`
// (newline-delimited JSON, for watches). Every other answer becomes a typed `KubeError`.
// Why not the library's generated clients and Watch: their errors are untyped (`any`), patch content types need
// middleware per call, and Watch in 1.4 drops its own timeout; a plain keep-alive agent over node:https is smaller.
// Invariants: one keep-alive agent per TLS identity; credentials are re-read at most once a minute and after a 401
// (in-cluster tokens rotate); a request ends exactly once (answer, error, idle timeout or abort).
import * as http from 'node:http';
import * as https from 'node:https';
import { KubeConfig } from '@kubernetes/client-node';
import { errorFromResponse, networkError, type RequestTarget } from './errors.js';

export type KubeConfigSource =
  { kubeconfigPath: string; context?: string } | { kubeconfigYaml: string; context?: string } | { inCluster: true };

export interface HttpRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  body?: string;
  contentType?: string;
  /** Socket idle timeout; default 30 s. */
  timeoutMs?: number;
  signal?: AbortSignal;
  target: RequestTarget;
}

export interface HttpResponse {
  status: number;
  body: string;
}

export interface Transport {
  /** `https://host:port` of the current context. */
  readonly server: string;
  /** The current context's namespace (in-cluster: the pod's), if any. */
  readonly namespace: string | undefined;
  request(req: HttpRequest): Promise<HttpResponse>;
  /** Calls `onLine` per line of a 200 answer; resolves when the server ends it, rejects on anything else. */
  stream(req: HttpRequest, onLine: (line: string) => void): Promise<void>;
  /** Destroys every socket; call after stopping the informers and writers that use it. */
  close(): void;
}

const AUTH_REFRESH_MS = 60_000;
const DEFAULT_TIMEOUT_MS = 30_000;

function loadKubeConfig(source: KubeConfigSource): KubeConfig {
  const kc = new KubeConfig();
  if ('inCluster' in source) kc.loadFromCluster();
  else if ('kubeconfigPath' in source) kc.loadFromFile(source.kubeconfigPath);
  else kc.loadFromString(source.kubeconfigYaml);
  if (!('inCluster' in source) && source.context) kc.setCurrentContext(source.context);
  if (!kc.getCurrentCluster()) throw new Error('kubeconfig: no current cluster');
  return kc;
}

interface AuthState {
  headers: Record<string, string>;
  agent: http.Agent;
  fetchedAt: number;
}

function tlsFingerprint(opts: https.RequestOptions): string {
  const text = (v: unknown): string => (Buffer.isBuffer(v) ? v.toString('base64') : typeof v === 'string' ? v : '');
  return [text(opts.ca), text(opts.cert), text(opts.key), String(opts.rejectUnauthorized), opts.servername ?? ''].join(
    '|',
  );
}

export function createTransport(source: KubeConfigSource): Transport {
  const kc = loadKubeConfig(source);
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('kubeconfig: no current cluster');
  const base = new URL(cluster.server);
  const secure = base.protocol === 'https:';
  const basePath = base.pathname.replace(/\/+$/, '');
  const context = kc.getContextObject(kc.getCurrentContext());
  const agents: http.Agent[] = [];
  let fingerprint = '';
  let auth: AuthState | undefined;
  let refreshing: Promise<AuthState> | undefined;

  async function refresh(): Promise<AuthState> {
    const opts: https.RequestOptions = {};
    await kc.applyToHTTPSOptions(opts);
    const headers: Record<string, string> = {};
    if (opts.headers && !Array.isArray(opts.headers)) {
      for (const [k, v] of Object.entries(opts.headers)) {
        if (typeof v === 'string' || typeof v === 'number') headers[k] = String(v);
        else if (Array.isArray(v)) headers[k] = v.join(', ');
      }
    }
    if (opts.auth) headers['Authorization'] = `Basic ${Buffer.from(opts.auth).toString('base64')}`;
    let agent: http.Agent;
    if (cluster?.proxyUrl && opts.agent instanceof http.Agent) {
      agent = opts.agent;
    } else {
      const fp = tlsFingerprint(opts);
      const current = auth?.agent;
      if (current && fp === fingerprint) {
        agent = current;
      } else {
        fingerprint = fp;
        agent = secure
          ? new https.Agent({
              keepAlive: true,
              ...(opts.ca !== undefined ? { ca: opts.ca } : {}),
              ...(opts.cert !== undefined ? { cert: opts.cert } : {}),
              ...(opts.key !== undefined ? { key: opts.key } : {}),
              ...(opts.pfx !== undefined ? { pfx: opts.pfx } : {}),
              ...(opts.passphrase !== undefined ? { passphrase: opts.passphrase } : {}),
              ...(opts.rejectUnauthorized !== undefined ? { rejectUnauthorized: opts.rejectUnauthorized } : {}),
              ...(opts.servername !== undefined ? { servername: opts.servername } : {}),
            })
          : new http.Agent({ keepAlive: true });
        agents.push(agent);
      }
    }
    return { headers, agent, fetchedAt: Date.now() };
  }

  async function credentials(): Promise<AuthState> {
    if (auth && Date.now() - auth.fetchedAt < AUTH_REFRESH_MS) return auth;
    refreshing ??= refresh().finally(() => (refreshing = undefined));
    auth = await refreshing;
    return auth;
  }

  /** Resolves with the response once its headers arrive; rejects (TransientError) when none does. */
  async function open(req: HttpRequest): Promise<http.IncomingMessage> {
    const { headers, agent } = await credentials();
    const url = new URL(base.origin + basePath + req.path);
    for (const [k, v] of Object.entries(req.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const body = req.body !== undefined ? Buffer.from(req.body, 'utf8') : undefined;
    const reqHeaders: http.OutgoingHttpHeaders = { ...headers, Accept: 'application/json' };
    if (body) {
      reqHeaders['Content-Type'] = req.contentType ?? 'application/json';
      reqHeaders['Content-Length'] = body.length;
    }
    return new Promise((resolve, reject) => {
      if (req.signal?.aborted) {
        reject(networkError(new Error('request aborted'), req.target));
        return;
      }
      const send = secure ? https.request : http.request;
      const creq = send(url, { method: req.method, headers: reqHeaders, agent });
      const onAbort = (): void => {
        creq.destroy(new Error('request aborted'));
      };
      req.signal?.addEventListener('abort', onAbort, { once: true });
      creq.setTimeout(req.timeoutMs ?? DEFAULT_TIMEOUT_MS, () => {
        creq.destroy(new Error(`no data for ${req.timeoutMs ?? DEFAULT_TIMEOUT_MS} ms`));
      });
      creq.on('error', (err) => {
        req.signal?.removeEventListener('abort', onAbort);
        reject(networkError(err, req.target));
      });
      creq.on('response', (res) => {
        res.on('close', () => req.signal?.removeEventListener('abort', onAbort));
        if (res.statusCode === 401 && auth) auth.fetchedAt = 0;
        resolve(res);
      });
      creq.end(body);
    });
  }

  function readBody(res: http.IncomingMessage, target: RequestTarget): Promise<string> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', (err) => reject(networkError(err, target)));
      res.on('close', () => {
        if (res.complete) resolve(Buffer.concat(chunks).toString('utf8'));
        else reject(networkError(new Error('connection closed before the response ended'), target));
      });
    });
  }

  function parseBody(text: string): unknown {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text;
    }
  }

  async function failure(res: http.IncomingMessage, req: HttpRequest): Promise<never> {
    const text = await readBody(res, req.target).catch(() => '');
    const header = res.headers['retry-after'];
    throw errorFromResponse(
      res.statusCode ?? 0,
      parseBody(text),
      req.target,
      typeof header === 'string' ? header : undefined,
    );
  }

  return {
    server: base.origin + basePath,
    namespace: context?.namespace,

    async request(req) {
      const res = await open(req);
      const status = res.statusCode ?? 0;
      if (status < 200 || status >= 300) return failure(res, req);
      return { status, body: await readBody(res, req.target) };
    },

    async stream(req, onLine) {
      const res = await open(req);
      if (res.statusCode !== 200) return failure(res, req);
      await new Promise<void>((resolve, reject) => {
        let pending = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          pending += chunk;
          let nl = pending.indexOf('\n');
          while (nl >= 0) {
            const line = pending.slice(0, nl).trim();
            pending = pending.slice(nl + 1);
            if (line !== '') {
              try {
                onLine(line);
              } catch (err) {
                res.destroy();
                reject(err instanceof Error ? err : new Error(String(err)));
                return;
              }
            }
            nl = pending.indexOf('\n');
          }
        });
        res.on('error', (err) => reject(networkError(err, req.target)));
        res.on('close', () => {
          if (!res.complete) {
            reject(networkError(new Error('stream closed before the server ended it'), req.target));
            return;
          }
          if (pending.trim() !== '') onLine(pending.trim());
          resolve();
        });
      });
    },

    close() {
      for (const a of agents) a.destroy();
    },
  };
}
