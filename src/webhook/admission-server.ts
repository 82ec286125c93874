// The validating admission webhook's HTTPS server: POST /validate takes an AdmissionReview and answers with the
// decision of `reviewAdmission` (src/api/admission.ts — our one validation, no second copy); GET /healthz and
// /readyz answer 200 once it listens (the readiness probe and the apiserver reach the same TLS port). It holds no
// state and reads nothing from the cluster, so every replica answers the same and any may serve a request.
// Inputs: a PEM certificate and key (the chart's Secret), address and port, a logger. Output: a listening server.
// Logs one line per refusal (kind, name, operation, fields) and per unreadable request; allowed requests at debug.
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { reviewAdmission } from '../api/admission.js';
import { formatPath } from '../api/errors.js';
import type { Logger } from '../log/logger.js';

/** The apiserver sends objects of at most ~3 MiB (etcd's limit); a review is that plus the old object. */
export const MAX_REVIEW_BYTES = 8 * 1024 * 1024;

export interface AdmissionServerOptions {
  cert: string | Buffer;
  key: string | Buffer;
  host?: string;
  port: number;
  logger: Logger;
}

export interface AdmissionServer {
  port: number;
  close(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_REVIEW_BYTES) {
        reject(new Error(`request body over ${MAX_REVIEW_BYTES} bytes`));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export async function startAdmissionServer(options: AdmissionServerOptions): Promise<AdmissionServer> {
  const log = options.logger;
  const reply = (res: ServerResponse, status: number, body: string, type: string): void => {
    res.writeHead(status, { 'content-type': type });
    res.end(body);
  };
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && (path === '/healthz' || path === '/readyz')) {
      reply(res, 200, 'ok\n', 'text/plain; charset=utf-8');
      return;
    }
    if (path !== '/validate') {
      reply(res, 404, 'not found\n', 'text/plain; charset=utf-8');
      return;
    }
    if (req.method !== 'POST') {
      reply(res, 405, 'POST an AdmissionReview\n', 'text/plain; charset=utf-8');
      return;
    }
    let input: unknown;
    try {
      input = JSON.parse(await readBody(req));
    } catch (err) {
      log.warn({ err: err instanceof Error ? err.message : String(err) }, 'unreadable admission request');
      reply(res, 400, 'expected a JSON AdmissionReview\n', 'text/plain; charset=utf-8');
      return;
    }
    const decision = reviewAdmission(input);
    const fields = { kind: decision.kind, name: decision.name, operation: decision.operation };
    if (decision.review.response.allowed) log.debug(fields, 'admitted');
    else if (decision.issues.length > 0) {
      log.info({ ...fields, fields: decision.issues.map((i) => formatPath(i.path)) }, 'refused invalid object');
    } else log.warn({ reason: decision.review.response.status?.message }, 'refused unreadable admission review');
    reply(res, 200, JSON.stringify(decision.review), 'application/json');
  };
  const server: Server = createServer({ cert: options.cert, key: options.key, minVersion: 'TLSv1.2' }, (req, res) => {
    handle(req, res).catch((err: unknown) => {
      log.error({ err: err instanceof Error ? err.message : String(err) }, 'admission request failed');
      if (!res.headersSent) reply(res, 500, 'internal error\n', 'text/plain; charset=utf-8');
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '0.0.0.0', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  log.info({ host: options.host ?? '0.0.0.0', port }, 'admission webhook listening');
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
