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
  /**
   * IPv6 too (dual stack): the network also gets the /64 `fd7a:7ab:<third octet of subnet>::/64`, so it moves with
   * the IPv4 subnet when that one is taken. Docker switches the host's IPv6 forwarding on for such a network and never
   * back: createNodeNetworks puts it back as it found it (see restoreIPv6Forwarding).
   */
  ipv6?: boolean;
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
  /** The node's IPv6 address on an `ipv6` network (prefix length 64). */
  ip6?: string;
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
  networks: Map<string, NodeNetwork>;
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

/** The IPv6 /64 that goes with an IPv4 /24 (`172.30.41.0/24` → `fd7a:7ab:41::/64`): unique when the /24 is. */
export function subnet6Of(subnet: string): string {
  return `fd7a:7ab:${subnet.split('.')[2]}::/64`;
}

/** `::1` (the host) and `::fe` (the router) of an IPv6 /64 of ours. */
function address6(subnet6: string, last: string): string {
  return `${subnet6.split('::/')[0]}::${last}`;
}

const IPV6_FORWARDING = ['net.ipv6.conf.all.forwarding', 'net.ipv6.conf.default.forwarding'];

async function sysctlValues(): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const key of IPV6_FORWARDING) out.set(key, (await exec('sysctl', ['-n', key])).stdout.trim());
  return out;
}

/**
 * Docker (20.10's bridge driver, setupIPv6Forwarding) writes 1 into the host's IPv6 forwarding sysctls when it
 * creates a network with IPv6 and never writes them back. Once our networks are gone, the values found before are
 * written back — unless another Docker network with IPv6 still exists (another test run), which may rely on them.
 */
async function restoreIPv6Forwarding(found: Map<string, string>): Promise<void> {
  const ids = (await docker(['network', 'ls', '-q'])).split('\n').filter(Boolean);
  if (ids.length > 0) {
    const v6 = await docker(['network', 'inspect', '--format', '{{.EnableIPv6}}', ...ids]);
    if (v6.split('\n').includes('true')) return;
  }
  const now = await sysctlValues();
  for (const [key, value] of found) {
    if (now.get(key) !== value) await exec('sysctl', ['-q', '-w', `${key}=${value}`]);
  }
}

/** A node network: the Docker network, the host's addresses on it and its subnets. */
export interface NodeNetwork {
  dockerName: string;
  gateway: string;
  subnet: string;
  /** With IPv6: the network's /64 and the host's address on it. */
  subnet6?: string;
  gateway6?: string;
}

async function execIn(container: StartedTestContainer, cmd: string[]): Promise<ExecOutput> {
  const r = await container.exec(cmd);
  return { exitCode: r.exitCode, output: r.output };
}

export interface NodeNetworks {
  /** Docker network name, the host's (gateway) address and the subnet, by short name. */
  networks: Map<string, NodeNetwork>;
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
  const networks = new Map<string, NodeNetwork>();
  const bridgeRules: string[][] = [];
  let routerContainer: StartedTestContainer | undefined;
  /** The host's IPv6 forwarding sysctls before our first IPv6 network. */
  let forwarding: Map<string, string> | undefined;
  const stop = async (): Promise<void> => {
    if (routerContainer) await routerContainer.stop({ timeout: 1 }).catch(() => undefined);
    for (const rule of bridgeRules) await exec('iptables', ['-D', ...rule]).catch(() => undefined);
    for (const n of networks.values()) await docker(['network', 'rm', n.dockerName]).catch(() => undefined);
    if (forwarding) await restoreIPv6Forwarding(forwarding);
  };
  try {
    for (const net of specs) {
      const dockerName = `tabby-${net.name}-${runId}`;
      // Several test runs (or a leftover network) may hold the requested /24: then the next free 172.30.x.0/24 is
      // taken.
      let subnet = net.subnet;
      let id = '';
      if (net.ipv6) forwarding ??= await sysctlValues();
      for (let attempt = 0; ; attempt++) {
        const v6 = net.ipv6
          ? ['--ipv6', '--subnet', subnet6Of(subnet), '--gateway', address6(subnet6Of(subnet), '1')]
          : [];
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
            ...v6,
            dockerName,
          ]);
          break;
        } catch (err) {
          if (!/overlaps/.test(String(err)) || attempt > 60) throw err;
          subnet = `172.30.${(Number(subnet.split('.')[2]) + 7) % 250}.0/24`;
        }
      }
      networks.set(net.name, {
        dockerName,
        gateway: gatewayOf(subnet),
        subnet,
        ...(net.ipv6 ? { subnet6: subnet6Of(subnet), gateway6: address6(subnet6Of(subnet), '1') } : {}),
      });
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
      // The router is .254 (and ::fe) on every node subnet: re-attach it to the first network with that address too.
      const at = (n: NodeNetwork) => [
        '--ip',
        routerAddress(n.subnet),
        ...(n.subnet6 ? ['--ip6', address6(n.subnet6, 'fe')] : []),
      ];
      await docker(['network', 'disconnect', nets[0]!.dockerName, routerContainer.getId()]);
      await docker(['network', 'connect', ...at(nets[0]!), nets[0]!.dockerName, routerContainer.getId()]);
      for (const n of nets.slice(1)) {
        await docker(['network', 'connect', ...at(n), n.dockerName, routerContainer.getId()]);
      }
      await routerContainer.exec(['sysctl', '-w', 'net.ipv4.ip_forward=1']);
      // The router's own namespace: the host's sysctls are not touched.
      if (nets.some((n) => n.subnet6)) {
        const r = await execIn(routerContainer, [
          'timeout',
          '60',
          'bash',
          '-c',
          'until sysctl -q -w net.ipv6.conf.all.forwarding=1 2>/dev/null; do sleep 0.1; done',
        ]);
        if (r.exitCode !== 0) throw new Error(`router: cannot switch IPv6 forwarding on: ${r.output}`);
      }
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
      const own = networks.get(network)!;
      const via = routerAddress(own.subnet);
      const others = [...networks].filter(([name]) => name !== network).map(([, net]) => net);
      return [
        ...others.map((net) => `${net.subnet} via ${via}`),
        ...(own.subnet6
          ? others.filter((net) => net.subnet6).map((net) => `${net.subnet6} via ${address6(own.subnet6!, 'fe')}`)
          : []),
      ];
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
        if (net.subnet6) {
          // A dual-stack host has IPv6 on: Docker leaves it off in the container but for the network's interface,
          // so a device the agent creates (vxlan-v6.calico) could hold no IPv6 address. As Calico's FV does for its
          // Felix containers. In the node's own namespace; retried until the boot script made /proc/sys writable.
          const r = await execIn(container, [
            'timeout',
            '60',
            'bash',
            '-c',
            'until sysctl -q -w net.ipv6.conf.all.disable_ipv6=0 net.ipv6.conf.default.disable_ipv6=0 2>/dev/null; do sleep 0.1; done',
          ]);
          if (r.exitCode !== 0) throw new Error(`node ${spec.name}: cannot switch IPv6 on: ${r.output}`);
        }
        const ip = container.getIpAddress(net.dockerName);
        const ip6 = net.subnet6
          ? await docker([
              'inspect',
              '--format',
              `{{(index .NetworkSettings.Networks "${net.dockerName}").GlobalIPv6Address}}`,
              container.getId(),
            ])
          : undefined;
        const node: ClusterNode = {
          name: spec.name,
          ip,
          prefixLength: Number(net.subnet.split('/')[1]),
          ...(ip6 ? { ip6 } : {}),
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
          annotations: {
            'projectcalico.org/IPv4Address': `${node.ip}/${node.prefixLength}`,
            ...(node.ip6 ? { 'projectcalico.org/IPv6Address': `${node.ip6}/64` } : {}),
            ...spec.annotations,
          },
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
