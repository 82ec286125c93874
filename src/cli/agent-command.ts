// `tabby agent --node NAME`: programs this node's planned dataplane into Linux until SIGTERM/SIGINT, and reports
// what it applied. `tabby agent status`: the node's BGP sessions, like `calicoctl node status`.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import {
  createAgentSyncer,
  createBirdControl,
  createKernelMonitor,
  createLinuxDataplane,
  formatNodeStatus,
  runAgentLoop,
} from '../agent/index.js';
import { withBirdDaemon } from '../agent/bird-daemon.js';
import { AGENT_FIELD_MANAGER, createAgentKubeSource } from '../agent/kube-source.js';
import { markNetworkAvailable } from '../agent/node-network-condition.js';
import { startPathMtuCheck } from '../agent/path-mtu-status.js';
import { annotateNodeAddress } from '../agent/node-address-annotation.js';
import { parseAutodetectMethod } from '../agent/node-address.js';
import { createPodIpam } from '../agent/pod-ipam.js';
import { createCniConfigGate, type CniConfigGate } from '../agent/cni-config-gate.js';
import { installPlugin } from '../cni/install.js';
import { renderConflist } from '../cni/conflist.js';
import { createKubeClient } from '../kube/index.js';
import { createLogger } from '../log/logger.js';
import { startHealthServer } from '../observe/health-server.js';
import { createPromMetrics } from '../observe/prom-metrics.js';
import {
  fromEnv,
  ipValue,
  logLevelValue,
  namespaceValue,
  nodeNameValue,
  portValue,
  type LogLevel,
} from './flag-values.js';
import { addKubeFlags, kubeSource, type KubeFlags } from './kube-options.js';

interface AgentFlags extends KubeFlags {
  node?: string;
  namespace?: string;
  metricsPort: number;
  metricsHost: string;
  logLevel?: LogLevel;
  bird: boolean;
  runDir: string;
  ipam: boolean;
  ipamSocket: string;
  cniBinDir?: string;
  cniConfDir?: string;
  cniAssignIpv6: boolean;
}

export function registerAgent(program: Command): void {
  const agent = addKubeFlags(
    program
      .command('agent')
      .description("run the node agent: program this node's NodeDataplane into the kernel and BIRD"),
  )
    .option('--node <name>', "this node's name (default: $NODE_NAME)", nodeNameValue('--node'))
    .option(
      '--namespace <ns>',
      'namespace for BGP password Secrets (default: $POD_NAMESPACE, else kube-system)',
      namespaceValue('--namespace'),
    )
    .option(
      '--metrics-port <port>',
      'port for /metrics, /healthz, /readyz (1-65535)',
      portValue('--metrics-port'),
      9092,
    )
    .option('--metrics-host <ip>', 'address for the metrics server', ipValue('--metrics-host'), '127.0.0.1')
    .option(
      '--log-level <level>',
      'debug, info, warn or error (default: $TABBY_LOG_LEVEL, else info)',
      logLevelValue('--log-level'),
    )
    .option('--no-bird', 'do not run BIRD (no BGP sessions)')
    .option('--run-dir <dir>', "where BIRD's config and control socket live", '/var/run/tabby')
    .option('--no-ipam', 'do not serve pod IPAM to the CNI plugin')
    .option('--ipam-socket <path>', 'unix socket the CNI plugin asks for addresses', '/var/run/tabby/ipam.sock')
    .option('--cni-bin-dir <dir>', 'install the tabby-cni plugin here at start (e.g. /opt/cni/bin)')
    .option(
      '--cni-conf-dir <dir>',
      'install the 10-tabby.conflist here once routes to this node converged (e.g. /etc/cni/net.d)',
    )
    .option(
      '--cni-assign-ipv6',
      'pods get an IPv6 address as well (dual stack): assign_ipv6 "true" in the conflist, as in Calico\'s CNI config',
      false,
    )
    .action(async (flags: AgentFlags) => {
      // The environment's values are checked like the flags', before anything starts.
      const node = flags.node ?? fromEnv('NODE_NAME', nodeNameValue);
      if (!node) throw new Error('tabby agent: --node (or NODE_NAME) is required');
      const namespace = flags.namespace ?? fromEnv('POD_NAMESPACE', namespaceValue) ?? 'kube-system';
      const level = flags.logLevel ?? fromEnv('TABBY_LOG_LEVEL', logLevelValue) ?? 'info';
      const logger = createLogger({ component: 'agent', level }).child({ node });
      // Calico's variable, checked before anything starts: a typo is an error naming it, not a wrong address.
      const autodetect = parseAutodetectMethod(process.env.IP_AUTODETECTION_METHOD ?? '');
      const metrics = createPromMetrics('agent');
      const client = createKubeClient({ source: kubeSource(flags), fieldManager: 'tabby-agent' });
      const source = createAgentKubeSource({ client, nodeName: node, namespace, logger, metrics });
      mkdirSync(flags.runDir, { recursive: true });
      const birdPaths = { configPath: join(flags.runDir, 'bird.conf'), socketPath: join(flags.runDir, 'bird.ctl') };
      const bird = flags.bird
        ? withBirdDaemon({
            control: createBirdControl(birdPaths),
            ...birdPaths,
            pidFile: join(flags.runDir, 'bird.pid'),
            logger,
          })
        : undefined;
      let cniConfig: CniConfigGate | undefined;
      if (flags.cniBinDir && flags.cniConfDir) {
        // Like Calico's install-cni: atomic, idempotent, and never removed on restart (pods keep starting meanwhile).
        // The conflist waits for the route readiness gate (cniConfig below); the plugin is in place before it.
        const r = installPlugin({ binDir: flags.cniBinDir });
        cniConfig = createCniConfigGate({
          confDir: flags.cniConfDir,
          conflist: renderConflist({
            nodeName: node,
            agentSocket: flags.ipamSocket,
            ...(flags.cniAssignIpv6 ? { assignIPv6: true } : {}),
          }),
          logger,
          registry: metrics.registry,
        });
        logger.info(
          {
            plugin: r.plugin.path,
            runtime: r.runtime.map((f) => f.path),
            changed: [r.plugin, ...r.runtime].filter((f) => f.changed).map((f) => f.path),
          },
          'CNI plugin installed',
        );
      }
      const syncer = createAgentSyncer({
        nodeName: node,
        dataplane: createLinuxDataplane(),
        ...(bird ? { bird } : {}),
        logger,
      });
      const podIpam = flags.ipam
        ? createPodIpam({
            client,
            nodeName: node,
            socketPath: flags.ipamSocket,
            logger,
            desired: () => source.desired(),
            // The same host MTU the tunnel devices got, from the interfaces the last sync read.
            hostMtu: () => syncer.lastTarget()?.hostMtu,
            metrics,
          })
        : undefined;
      const pathMtu = startPathMtuCheck({
        client,
        nodeName: node,
        logger,
        registry: metrics.registry,
        metrics,
        syncer,
      });
      let lastSync: string | undefined;
      let networkMarked = false;
      const health = await startHealthServer({
        host: flags.metricsHost,
        port: flags.metricsPort,
        registry: metrics.registry,
        ready: () =>
          source.ready() ?? podIpam?.ready() ?? (lastSync === undefined ? 'nothing programmed yet' : undefined),
      });
      const abort = new AbortController();
      process.once('SIGTERM', () => abort.abort());
      process.once('SIGINT', () => abort.abort());
      bird?.keepAlive(abort.signal);
      logger.info({ port: health.port, server: client.server }, 'agent starting');
      // Before the first plan: CrossSubnet and BGP read the node's address and subnet from this annotation.
      await annotateNodeAddress({ client, nodeName: node, method: autodetect, logger }).catch((err: Error) =>
        logger.warn({ err: err.message }, 'node address autodetection failed; the annotation is left as it is'),
      );
      source.start();
      await podIpam?.start();
      await runAgentLoop({
        syncer,
        snapshots: pathMtu.observe(source.snapshots),
        signal: abort.signal,
        // Felix's default cluster route protocol; a plan that sets another takes effect at the next agent start.
        watchKernel: (onChange) =>
          createKernelMonitor({ routeProtocol: source.desired()?.felix.clusterRouteProtocol ?? 80 }).watch(onChange),
        logger,
        // A throw here (the status write failed) makes the loop call again with the same report after a backoff.
        onReport: async (report, info) => {
          podIpam?.planChanged();
          pathMtu.synced();
          if (!info.retry) {
            lastSync = report.time;
            logger.info(
              {
                revision: report.revision,
                programmed: report.programmed,
                changed: report.changed,
                triggers: info.triggers,
                retryInMs: info.retryInMs ?? null,
                ms: Math.round(report.durationMs),
                routes: report.counts.routes,
              },
              'sync done',
            );
          }
          if (info.statusChanged) await source.writeStatus(report);
          cniConfig?.update({ programmed: report.programmed, routesConverged: source.routesConverged() });
          if (report.programmed && !networkMarked) {
            await markNetworkAvailable(client, node, AGENT_FIELD_MANAGER, new Date()).then(
              () => {
                networkMarked = true;
                logger.info({ node }, 'Node condition NetworkUnavailable set to False');
              },
              (err: Error) =>
                logger.warn(
                  { err: err.message },
                  'setting NetworkUnavailable=False failed; retrying after the next sync',
                ),
            );
          }
        },
      });
      await pathMtu.stop();
      await podIpam?.stop();
      await source.stop();
      await health.close();
      client.close();
    });

  agent
    .command('status')
    .description("print this node's BGP sessions (peer address, type, state, since, info), like calicoctl node status")
    .option('--run-dir <dir>', "where the agent keeps BIRD's control socket", '/var/run/tabby')
    .action(async (opts: { runDir: string }) => {
      const control = createBirdControl({
        configPath: join(opts.runDir, 'bird.conf'),
        socketPath: join(opts.runDir, 'bird.ctl'),
      });
      const { running, sessions } = await control.sessions();
      process.stdout.write(formatNodeStatus(sessions, { running }));
    });
}
