// `tabby webhook`: the validating admission webhook for the Calico kinds users write (IPPool, BGPConfiguration,
// BGPPeer, BGPFilter, IPReservation, IPAMConfiguration, FelixConfiguration), until SIGTERM/SIGINT. It refuses at
// the apiserver what Tabby's validation refuses and the CRD cannot say (selector syntax, Go regular expressions,
// references within the object), naming the field. The chart runs it as its own Deployment with a TLS Secret and a
// ValidatingWebhookConfiguration (failurePolicy Fail, those kinds only).
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { createLogger } from '../log/logger.js';
import { startAdmissionServer } from '../webhook/admission-server.js';
import { fromEnv, invalidValue, ipValue, logLevelValue, portValue, type LogLevel } from './flag-values.js';

interface WebhookFlags {
  tlsCertFile: string;
  tlsPrivateKeyFile: string;
  port: number;
  bindAddress: string;
  logLevel?: LogLevel;
}

async function readPem(file: string, flag: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (err) {
    throw invalidValue(`${flag}: cannot read ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

export function registerWebhook(program: Command): void {
  program
    .command('webhook')
    .description(
      'serve the validating admission webhook for the Calico kinds users write (POST /validate; /healthz, /readyz)',
    )
    .requiredOption('--tls-cert-file <file>', 'PEM certificate the apiserver verifies (the chart mounts its Secret)')
    .requiredOption('--tls-private-key-file <file>', 'PEM private key of that certificate')
    .option('--port <port>', 'HTTPS port (1-65535)', portValue('--port'), 9443)
    .option('--bind-address <ip>', 'address to listen on', ipValue('--bind-address'), '0.0.0.0')
    .option(
      '--log-level <level>',
      'debug, info, warn or error (default: $TABBY_LOG_LEVEL, else info)',
      logLevelValue('--log-level'),
    )
    .action(async (flags: WebhookFlags) => {
      const level = flags.logLevel ?? fromEnv('TABBY_LOG_LEVEL', logLevelValue) ?? 'info';
      const logger = createLogger({ component: 'webhook', level });
      const server = await startAdmissionServer({
        cert: await readPem(flags.tlsCertFile, '--tls-cert-file'),
        key: await readPem(flags.tlsPrivateKeyFile, '--tls-private-key-file'),
        host: flags.bindAddress,
        port: flags.port,
        logger,
      });
      await new Promise<void>((resolve) => {
        process.once('SIGTERM', resolve);
        process.once('SIGINT', resolve);
      });
      logger.info({}, 'webhook stopping');
      await server.close();
    });
}
