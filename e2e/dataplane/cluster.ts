// A cluster of real Linux "nodes" for dataplane tests: Docker containers from the node image (e2e/images), one or
// two `--internal` Docker networks as node subnets (joined by a router container for CrossSubnet), and the harness
// control plane listening on the host's address on each network so agents inside the containers reach it.
// Everything started here is removed by stop(), also after a failed test.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { GenericContainer, type StartedTestContainer } from 'testcontainers';
import { startControlPlane, type ControlPlane, type ControlPlaneOptions } from '../harness/index.js';

const exec = promisify(execFile);
// No registry is reachable: testcontainers must neither start its reaper image nor try to pull ours.
process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';
const neverPull = { shouldPull: (): boolean => false };

// What a node host needs for routes, VXLAN, nftables, sysctls and pod namespaces. Not --privileged: this machine's
// root lacks CAP_SYS_RESOURCE, which privileged mode asks for, so the container would not start. Docker mounts
// /proc/sys read-only in a container; a node writes sysctls (forwarding, proxy_arp), so it is remounted first.
const NODE_BOOT = 'mount -o remount,rw /proc/sys && exec sleep infinity';
function asNode(c: GenericContainer): GenericContainer {
  return c
    .withPullPolicy(neverPull)
    .withAddedCapabilities('NET_ADMIN', 'NET_RAW', 'SYS_ADMIN', 'SYS_PTRACE')
    .withSecurityOpt('apparmor=unconfined', 'seccomp=unconfined')
    .withCommand(['bash', '-c', NODE_BOOT]);
}
const DOCKER = '/usr/bin/docker';

export interface NetworkSpec {
  /** Short name; the Docker network gets a unique suffix. */
  name: string;
  /** A /24 of our own, e.g. 172.30.10.0/24. */
  subnet: string;
  /** The network's MTU (Docker's com.docker.network.driver.mtu: its bridge and every container's interface on it). */
  mtu?: number;
}

export interface NodeSpec {
  name: string;
  network: string;
  labels?: Record<string, string>;
  /** Extra annotations on the Kubernetes Node (e.g. projectcalico.org/RouteReflectorClusterID). */
  annotations?: Record<string, string>;
}

export interface DataplaneClusterOptions {
  networks: NetworkSpec[];
  nodes: NodeSpec[];
  image?: string;
  /** Progress lines for long steps. */
  progress?: (line: string) => void;
  /** Extra control plane options (e.g. an audit policy). */
  controlPlane?: Pick<ControlPlaneOptions, 'auditPolicy' | 'watchCache'>;
}

export interface ExecOutput {
  exitCode: number;
  output: string;
}

export interface ClusterNode {
  name: string;
  ip: string;
  prefixLength: number;
  network: string;
  container: StartedTestContainer;
  /** Runs a command in the node; never throws for a non-zero exit. */
  exec(cmd: string[]): Promise<ExecOutput>;
  /** Runs a shell script in the node and throws with its output when it fails. */
  sh(script: string): Promise<string>;
}

export interface DataplaneCluster {
  cp: ControlPlane;
  nodes: Map<string, ClusterNode>;
  /** Docker network name and the host's (gateway) address on it, by short name. */
  networks: Map<string, { dockerName: string; gateway: string; subnet: string }>;
  router?: StartedTestContainer;
  /** Kubeconfig with inline credentials whose server is the host address on `network`. */
  kubeconfigFor(network: string): Promise<string>;
  stop(): Promise<void>;
}

async function docker(args: string[]): Promise<string> {
  const { stdout } = await exec(DOCKER, args, { maxBuffer: 16 << 20 });
  return stdout.trim();
}

function gatewayOf(subnet: string): string {
  const [base] = subnet.split('/');
  const parts = base!.split('.');
  parts[3] = '1';
  return parts.join('.');
}

function routerAddress(subnet: string): string {
  const [base] = subnet.split('/');
  const parts = base!.split('.');
  parts[3] = '254';
  return parts.join('.');
}

async function execIn(container: StartedTestContainer, cmd: string[]): Promise<ExecOutput> {
  const r = await container.exec(cmd);
  return { exitCode: r.exitCode, output: r.output };
}

export interface NodeNetworks {
  /** Docker network name, the host's (gateway) address and the subnet, by short name. */
  networks: Map<string, { dockerName: string; gateway: string; subnet: string }>;
  router?: StartedTestContainer;
  /** `ip route` arguments a node on `network` needs to reach the other node subnets (through the router). */
  routesFrom(network: string): string[];
  stop(): Promise<void>;
}

/**
 * One `--internal` Docker network per spec (test traffic never leaves this machine; the host keeps its address on
 * each bridge) and, when there are several, a router container that is .254 on each of them. `router` says how to
 * start the router: an image and the command that leaves it running with /proc/sys writable.
 */
export async function createNodeNetworks(
  specs: NetworkSpec[],
  runId: string,
  router: { image: string; entrypoint?: string[] },
): Promise<NodeNetworks> {
  const networks = new Map<string, { dockerName: string; gateway: string; subnet: string }>();
  const bridgeRules: string[][] = [];
  let routerContainer: StartedTestContainer | undefined;
  const stop = async (): Promise<void> => {
    if (routerContainer) await routerContainer.stop({ timeout: 1 }).catch(() => undefined);
    for (const rule of bridgeRules) await exec('iptables', ['-D', ...rule]).catch(() => undefined);
    for (const n of networks.values()) await docker(['network', 'rm', n.dockerName]).catch(() => undefined);
  };
  try {
    for (const net of specs) {
      const dockerName = `tabby-${net.name}-${runId}`;
      // Several test runs (or a leftover network) may hold the requested /24: then the next free 172.30.x.0/24 is
      // taken.
      let subnet = net.subnet;
      let id = '';
      for (let attempt = 0; ; attempt++) {
        try {
          id = await docker([
            'network',
            'create',
            '--internal',
            '--subnet',
            subnet,
            '--gateway',
            gatewayOf(subnet),
            ...(net.mtu !== undefined ? ['--opt', `com.docker.network.driver.mtu=${net.mtu}`] : []),
            dockerName,
          ]);
          break;
        } catch (err) {
          if (!/overlaps/.test(String(err)) || attempt > 60) throw err;
          subnet = `172.30.${(Number(subnet.split('.')[2]) + 7) % 250}.0/24`;
        }
      }
      networks.set(net.name, { dockerName, gateway: gatewayOf(subnet), subnet });
      // Docker drops packets on an internal network's bridge whose addresses are outside its subnet, and with
      // bridge-nf-call-iptables that includes traffic between two containers of the bridge: pod addresses and
      // other subnets routed by our router. Let traffic that stays on this bridge pass (it still never leaves it).
      const rule = ['DOCKER-USER', '-i', `br-${id.slice(0, 12)}`, '-o', `br-${id.slice(0, 12)}`, '-j', 'ACCEPT'];
      await exec('iptables', ['-I', ...rule]);
      bridgeRules.push(rule);
    }

    if (networks.size > 1) {
      // A router joins the node subnets, so nodes in different subnets reach each other only through it.
      const nets = [...networks.values()];
      let r = asNode(new GenericContainer(router.image)).withNetworkMode(nets[0]!.dockerName);
      if (router.entrypoint) r = r.withEntrypoint(router.entrypoint);
      r = r.withName(`tabby-router-${runId}`);
      routerContainer = await r.start();
      // The router is .254 on every node subnet: re-attach it to the first network with that address too.
      await docker(['network', 'disconnect', nets[0]!.dockerName, routerContainer.getId()]);
      await docker([
        'network',
        'connect',
        '--ip',
        routerAddress(nets[0]!.subnet),
        nets[0]!.dockerName,
        routerContainer.getId(),
      ]);
      for (const n of nets.slice(1)) {
        await docker(['network', 'connect', '--ip', routerAddress(n.subnet), n.dockerName, routerContainer.getId()]);
      }
      await routerContainer.exec(['sysctl', '-w', 'net.ipv4.ip_forward=1']);
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    networks,
    ...(routerContainer ? { router: routerContainer } : {}),
    routesFrom(network) {
      if (!routerContainer) return [];
      // Other subnets are reached through the router; the node's own subnet stays on-link.
      const via = routerAddress(networks.get(network)!.subnet);
      return [...networks].filter(([name]) => name !== network).map(([, net]) => `${net.subnet} via ${via}`);
    },
    stop,
  };
}

export async function startDataplaneCluster(opts: DataplaneClusterOptions): Promise<DataplaneCluster> {
  const progress = opts.progress ?? ((): void => undefined);
  const image = opts.image ?? process.env.TABBY_NODE_IMAGE ?? 'tabby-node:dev';
  const runId = `${process.pid.toString(36)}${Date.now().toString(36).slice(-4)}`;
  const containers: StartedTestContainer[] = [];
  let cp: ControlPlane | undefined;
  let nets: NodeNetworks | undefined;

  const stop = async (): Promise<void> => {
    await Promise.all(containers.map((c) => c.stop({ timeout: 1 }).catch(() => undefined)));
    await nets?.stop();
    await cp?.stop();
  };

  try {
    nets = await createNodeNetworks(opts.networks, runId, { image });
    const networks = nets.networks;
    progress(`networks: ${[...networks.values()].map((n) => `${n.dockerName} ${n.subnet}`).join(', ')}`);

    cp = await startControlPlane({
      name: `dp-${runId}`,
      bindAddress: '0.0.0.0',
      extraSans: [...networks.values()].map((n) => n.gateway),
      progress,
      ...opts.controlPlane,
    });

    const nodes = new Map<string, ClusterNode>();
    await Promise.all(
      opts.nodes.map(async (spec) => {
        const net = networks.get(spec.network);
        if (!net) throw new Error(`node ${spec.name}: unknown network ${spec.network}`);
        const container = await asNode(new GenericContainer(image))
          .withName(`tabby-${spec.name}-${runId}`)
          .withHostname(spec.name)
          .withNetworkMode(net.dockerName)
          .start();
        containers.push(container);
        const ip = container.getIpAddress(net.dockerName);
        const node: ClusterNode = {
          name: spec.name,
          ip,
          prefixLength: Number(net.subnet.split('/')[1]),
          network: spec.network,
          container,
          exec: (cmd) => execIn(container, cmd),
          async sh(script) {
            const r = await execIn(container, ['bash', '-ec', script]);
            if (r.exitCode !== 0)
              throw new Error(`${spec.name}: script failed (${r.exitCode}):\n${script}\n---\n${r.output}`);
            return r.output;
          },
        };
        nodes.set(spec.name, node);
      }),
    );

    for (const node of nodes.values()) {
      for (const route of nets.routesFrom(node.network)) await node.sh(`ip route replace ${route}`);
    }

    // The Kubernetes Nodes, carrying Calico's address annotation exactly as calico/node writes it.
    for (const spec of opts.nodes) {
      const node = nodes.get(spec.name)!;
      const manifest = {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: {
          name: spec.name,
          labels: { 'kubernetes.io/hostname': spec.name, 'kubernetes.io/os': 'linux', ...spec.labels },
          annotations: { 'projectcalico.org/IPv4Address': `${node.ip}/${node.prefixLength}`, ...spec.annotations },
        },
        status: { addresses: [{ type: 'InternalIP', address: node.ip }] },
      };
      const r = await cp.kubectl(['apply', '-f', '-'], { input: JSON.stringify(manifest) });
      if (r.code !== 0) throw new Error(`creating Node ${spec.name}: ${r.stderr}`);
    }

    const activeCp = cp;
    return {
      cp: activeCp,
      nodes,
      networks,
      ...(nets.router ? { router: nets.router } : {}),
      kubeconfigFor: (network) =>
        activeCp.inlineKubeconfig(`https://${networks.get(network)!.gateway}:${activeCp.port}`),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
