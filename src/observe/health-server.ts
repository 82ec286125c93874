// The HTTP endpoints every long-running Tabby process serves: /metrics (Prometheus text from a prom-client
// registry), /healthz (the process loop is alive) and /readyz (caches synced, leader state known, etc.). Readiness
// and liveness are functions the owner supplies, so this module knows nothing about operators or agents.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface HealthServerOptions {
  host?: string;
  port: number;
  registry: Registry;
  /** Returns undefined when healthy, else the reason. */
  live?: () => string | undefined;
  ready?: () => string | undefined;
}

export interface HealthServer {
  port: number;
  close(): Promise<void>;
}

export async function startHealthServer(options: HealthServerOptions): Promise<HealthServer> {
  const check = (fn: (() => string | undefined) | undefined): string | undefined => {
    try {
      return fn?.();
    } catch (err) {
      return err instanceof Error ? err.message : String(err);
    }
  };
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const reply = (status: number, body: string, type = 'text/plain; charset=utf-8'): void => {
      res.writeHead(status, { 'content-type': type });
      res.end(body);
    };
    if (path === '/metrics') {
      options.registry
        .metrics()
        .then((text) => reply(200, text, options.registry.contentType))
        .catch((err: unknown) => reply(500, `metrics: ${String(err)}\n`));
      return;
    }
    if (path === '/healthz' || path === '/livez') {
      const reason = check(options.live);
      reply(reason ? 503 : 200, reason ? `unhealthy: ${reason}\n` : 'ok\n');
      return;
    }
    if (path === '/readyz') {
      const reason = check(options.ready);
      reply(reason ? 503 : 200, reason ? `not ready: ${reason}\n` : 'ok\n');
      return;
    }
    reply(404, 'not found\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '0.0.0.0', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
