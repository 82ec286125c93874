// `tabby operator`: runs the operator until SIGTERM/SIGINT, serving /metrics, /healthz and /readyz.
import { hostname } from 'node:os';
import type { Command } from 'commander';
import { createKubeClient } from '../kube/index.js';
import { createLogger } from '../log/logger.js';
import { startHealthServer } from '../observe/health-server.js';
import { settingsFromEnv } from '../operator/config.js';
import { createOperator } from '../operator/operator.js';
import {
  fromEnv,
  invalidValue,
  ipValue,
  logLevelValue,
  namespaceValue,
  objectNameValue,
  portValue,
  type LogLevel,
} from './flag-values.js';
import { addKubeFlags, kubeSource, type KubeFlags } from './kube-options.js';

interface OperatorFlags extends KubeFlags {
  metricsPort: number;
  metricsHost: string;
  logLevel?: LogLevel;
  leaderElect?: boolean;
  leaderElectionNamespace?: string;
  leaderElectionName: string;
  leaderElectLeaseDuration?: number;
  leaderElectRenewDeadline?: number;
  leaderElectRetryPeriod?: number;
  ipamLeakGracePeriod?: number;
}

/** A duration as kube-controller-manager's --leader-elect-* flags take it: `8s`, `1500ms`, `1m`, `2.5s`. */
export function parseDurationMs(text: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(text.trim());
  if (!m) throw invalidValue(`${flag} must be a duration such as 8s or 1500ms (got ${JSON.stringify(text)})`);
  const ms = Number(m[1]) * (m[2] === 'ms' ? 1 : m[2] === 's' ? 1000 : 60_000);
  if (!(ms > 0)) throw invalidValue(`${flag} must be greater than zero (got ${JSON.stringify(text)})`);
  return ms;
}

export function registerOperator(program: Command): void {
  addKubeFlags(
    program
      .command('operator')
      .description(
        'run the Tabby operator: IPAM, planning and status for every node (Calico CALICO_IPV4POOL_* env vars set the default pool)',
      ),
  )
    .option(
      '--metrics-port <port>',
      'port for /metrics, /healthz, /readyz (1-65535)',
      portValue('--metrics-port'),
      9091,
    )
    .option('--metrics-host <ip>', 'address for the metrics server', ipValue('--metrics-host'), '0.0.0.0')
    .option(
      '--log-level <level>',
      'debug, info, warn or error (default: $TABBY_LOG_LEVEL, else info)',
      logLevelValue('--log-level'),
    )
    .option('--leader-elect', 'run only while holding the leader lease (for several replicas)')
    .option(
      '--leader-election-namespace <ns>',
      'namespace of the leader lease (default: $POD_NAMESPACE, else kube-system)',
      namespaceValue('--leader-election-namespace'),
    )
    .option(
      '--leader-election-name <name>',
      'name of the leader lease',
      objectNameValue('--leader-election-name'),
      'tabby-operator',
    )
    .option('--leader-elect-lease-duration <duration>', 'how long a lease lasts unrenewed (default 8s)', (v: string) =>
      parseDurationMs(v, '--leader-elect-lease-duration'),
    )
    .option(
      '--leader-elect-renew-deadline <duration>',
      'how long the leader retries renewing (default 6s)',
      (v: string) => parseDurationMs(v, '--leader-elect-renew-deadline'),
    )
    .option('--leader-elect-retry-period <duration>', 'time between lease attempts (default 1.5s)', (v: string) =>
      parseDurationMs(v, '--leader-elect-retry-period'),
    )
    .option(
      '--ipam-leak-grace-period <duration>',
      "how long IPAM GC waits before releasing an address whose pod is gone (Calico's leakGracePeriod; 0: never; default 15m)",
      (v: string) => (v.trim() === '0' ? 0 : parseDurationMs(v, '--ipam-leak-grace-period')),
    )
    .action(async (flags: OperatorFlags) => {
      const level = flags.logLevel ?? fromEnv('TABBY_LOG_LEVEL', logLevelValue) ?? 'info';
      const leaseNamespace = flags.leaderElectionNamespace ?? fromEnv('POD_NAMESPACE', namespaceValue) ?? 'kube-system';
      const logger = createLogger({ component: 'operator', level });
      const settings = settingsFromEnv(process.env);
      const client = createKubeClient({ source: kubeSource(flags), fieldManager: 'tabby-operator' });
      const identity = process.env.POD_NAME ?? `${hostname()}-${process.pid}`;
      const operator = createOperator({
        client,
        logger,
        settings,
        ...(flags.ipamLeakGracePeriod !== undefined ? { ipamLeakGracePeriodMs: flags.ipamLeakGracePeriod } : {}),
        ...(flags.leaderElect
          ? {
              leaderElection: {
                namespace: leaseNamespace,
                name: flags.leaderElectionName,
                identity,
                ...(flags.leaderElectLeaseDuration !== undefined
                  ? { leaseDurationMs: flags.leaderElectLeaseDuration }
                  : {}),
                ...(flags.leaderElectRenewDeadline !== undefined
                  ? { renewDeadlineMs: flags.leaderElectRenewDeadline }
                  : {}),
                ...(flags.leaderElectRetryPeriod !== undefined ? { retryPeriodMs: flags.leaderElectRetryPeriod } : {}),
              },
            }
          : {}),
      });
      let alive = true;
      const health = await startHealthServer({
        host: flags.metricsHost,
        port: flags.metricsPort,
        registry: operator.metrics.registry,
        live: () => (alive ? undefined : 'stopping'),
        ready: () => operator.ready(),
      });
      logger.info({ port: health.port, identity, server: client.server }, 'operator starting');
      await operator.start();
      await new Promise<void>((resolve) => {
        process.once('SIGTERM', resolve);
        process.once('SIGINT', resolve);
      });
      alive = false;
      logger.info({}, 'operator stopping');
      await operator.stop();
      await health.close();
      client.close();
    });
}
