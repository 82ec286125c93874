// A Kubernetes cluster with real kubelet nodes on this machine: the control plane of src/devcluster (with kubelets:
// Node authorizer, NodeRestriction, kube-scheduler, every controller) on the host, and one container per node from
// the kubelet node image (e2e/images/kube-node.Dockerfile: containerd, runc, kubelet, kube-proxy) on the
// `--internal` Docker networks of the dataplane tier, joined by its router when there are several. No pod network
// is installed here: nodes register and stay NotReady until a CNI configuration appears (see tabby-kube.ts).
// Everything started here is removed by stop(), also after a failure.
import { execFile } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startControlPlane, type ControlPlane } from '../harness/index.js';
import { createNodeNetworks, type NetworkSpec, type NodeNetworks } from '../dataplane/cluster.js';
import { waitUntil } from '../dataplane/wait-until.js';
import { preloadName, type KubeImages } from './images.js';
import { writeNodeConfig } from './node-config.js';

const exec = promisify(execFile);
const DOCKER = '/usr/bin/docker';

export interface KubeNodeSpec {
  name: string;
  network: string;
  /** topology.kubernetes.io/zone, set by the node's kubelet. */
  zone?: string;
}

export interface KubeClusterOptions {
  networks: NetworkSpec[];
  nodes: KubeNodeSpec[];
  images: KubeImages;
  progress?: (line: string) => void;
  /** Keep the control plane's directory (logs, certificates, node configurations) after stop. */
  keepDir?: boolean;
}

export interface ExecOutput {
  exitCode: number;
  output: string;
}

export interface KubeNode {
  name: string;
  network: string;
  /** The node's address on its network (its InternalIP). */
  ip: string;
  container: string;
  /** Runs a command in the node; never throws for a non-zero exit. */
  exec(cmd: string[]): Promise<ExecOutput>;
  /** Runs a bash script in the node and throws with its output when it fails. */
  sh(script: string): Promise<string>;
  /** The last lines of the node's daemon logs (entrypoint, containerd, kubelet, kube-proxy), for failure messages. */
  logs(lines?: number): Promise<string>;
}

export interface KubeCluster {
  cp: ControlPlane;
  nodes: Map<string, KubeNode>;
  networks: NodeNetworks['networks'];
  images: KubeImages;
  /**
   * Routes a pod network from this machine through the first node, so the control plane reaches pods as it does
   * from a node that runs the pod network (the apiserver's pod and service proxy, webhooks). That node masquerades
   * this machine's traffic to pods: replies then come back through it rather than straight from the pod's node
   * (kube-proxy drops the half-seen connection as INVALID on the gateway otherwise). Takes the first of
   * `candidates` that this machine has no route for yet (another cluster may hold one); stop() removes the route.
   */
  routePodNetwork(candidates: string[]): Promise<string>;
  /** kubectl as admin; throws with stderr on a non-zero exit. */
  kubectl(args: string[], opts?: { input?: string; timeoutMs?: number }): Promise<string>;
  getJson<T>(args: string[]): Promise<T>;
  /** Starts one more node (a join into the running cluster) and waits until its kubelet registered its Node. */
  addNode(spec: KubeNodeSpec): Promise<KubeNode>;
  stop(): Promise<void>;
}

async function docker(args: string[], timeoutMs = 120_000): Promise<string> {
  const { stdout } = await exec(DOCKER, args, { maxBuffer: 64 << 20, timeout: timeoutMs });
  return stdout.trim();
}

async function dockerExec(container: string, cmd: string[]): Promise<ExecOutput> {
  try {
    const { stdout, stderr } = await exec(DOCKER, ['exec', container, ...cmd], { maxBuffer: 64 << 20 });
    return { exitCode: 0, output: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { exitCode: typeof e.code === 'number' ? e.code : 1, output: (e.stdout ?? '') + (e.stderr ?? '') };
  }
}

// What a kubelet node container needs, measured on this machine (issue 16): --privileged is refused (the root's
// bounding set lacks CAP_SYS_RESOURCE), but these let kubelet mount cgroups, runc create containers, and pods get
// the capabilities they ask for within this set. /proc/sys is writable (pod network namespaces need sysctls); the
// entrypoint pins the host-wide ones kubelet would write. containerd's store is a tmpfs: overlayfs cannot stack on
// the container's own overlay root, and it disappears with the container.
const NODE_RUN_FLAGS = [
  '--cgroupns=private',
  ...['SYS_ADMIN', 'NET_ADMIN', 'NET_RAW', 'SYSLOG', 'SYS_PTRACE', 'SYS_NICE', 'IPC_LOCK'].flatMap((c) => [
    '--cap-add',
    c,
  ]),
  '--security-opt',
  'seccomp=unconfined',
  '--security-opt',
  'apparmor=unconfined',
  '--security-opt',
  'systempaths=unconfined',
  '--device',
  '/dev/kmsg',
  '--tmpfs',
  '/var/lib/containerd:rw,exec,size=16g',
  '--tmpfs',
  '/run:rw,exec,size=1g',
];

export async function startKubeCluster(opts: KubeClusterOptions): Promise<KubeCluster> {
  const progress = opts.progress ?? ((): void => undefined);
  const runId = `${process.pid.toString(36)}${Date.now().toString(36).slice(-4)}`;
  const containers: string[] = [];
  const hostRoutes: string[][] = [];
  let nets: NodeNetworks | undefined;
  let cp: ControlPlane | undefined;
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      // By label, so that a container whose `docker run` was still under way when a sibling failed goes too.
      const all = await docker(['ps', '-aq', '--filter', `label=dev.tabby.kube-cluster=${runId}`]).catch(() => '');
      const ids = [...new Set([...containers, ...all.split('\n').filter(Boolean)])];
      if (ids.length > 0) await docker(['rm', '-f', '-v', ...ids]).catch(() => undefined);
      for (const r of hostRoutes) await exec('ip', ['route', 'del', ...r]).catch(() => undefined);
      await nets?.stop();
      await cp?.stop();
      // Only now: src/devcluster/processes.ts re-raises a signal after killing its processes, and with no
      // listener left that second signal would end this process before the containers are gone.
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    })());
  // Ctrl-C (or a CI timeout's SIGTERM) removes the node containers, networks and firewall rules too, not only the
  // control plane's processes (src/devcluster/processes.ts kills those on any exit).
  function onSignal(): void {
    void stop().finally(() => process.exit(130));
  }
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    // The router runs the node image as a plain process holder (no kubelet): tini, then a shell that sleeps.
    nets = await createNodeNetworks(opts.networks, runId, {
      image: opts.images.node,
      entrypoint: ['/usr/bin/tini', '--'],
    });
    const networks = nets.networks;
    progress(`networks: ${[...networks.values()].map((n) => `${n.dockerName} ${n.subnet}`).join(', ')}`);

    const first = [...networks.values()][0]!;
    const apiserverAddress = first.gateway;
    cp = await startControlPlane({
      name: `kube-${runId}`,
      bindAddress: '0.0.0.0',
      extraSans: [...networks.values()].map((n) => n.gateway),
      kubelets: { advertiseAddress: apiserverAddress },
      ...(opts.keepDir ? { keepDir: true } : {}),
      progress,
    });
    const activeCp = cp;

    const nodes = new Map<string, KubeNode>();
    const startNode = async (spec: KubeNodeSpec): Promise<KubeNode> => {
      const net = networks.get(spec.network);
      if (!net) throw new Error(`node ${spec.name}: unknown network ${spec.network}`);
      const configDir = join(activeCp.dir, 'nodes', spec.name);
      await mkdir(configDir, { recursive: true });
      await writeNodeConfig(activeCp, spec.name, `https://${net.gateway}:${activeCp.port}`, configDir);
      // The apiserver's advertised address (the `kubernetes` Service endpoint) is the host's on the first network;
      // from another subnet it is reached directly through this node's own gateway, which is the same host.
      const routes = nets!.routesFrom(spec.network);
      if (net !== first) routes.push(`${apiserverAddress}/32 via ${net.gateway}`);
      const container = `tabby-${spec.name}-${runId}`;
      await docker([
        'run',
        '-d',
        '--name',
        container,
        '--hostname',
        spec.name,
        '--network',
        net.dockerName,
        '--label',
        `dev.tabby.kube-cluster=${runId}`,
        ...NODE_RUN_FLAGS,
        '-e',
        `TABBY_NODE_ROUTES=${routes.join(';')}`,
        '-e',
        `TABBY_NODE_LABELS=${spec.zone ? `topology.kubernetes.io/zone=${spec.zone}` : ''}`,
        '-v',
        `${configDir}:/etc/kubernetes:ro`,
        ...opts.images.preload.flatMap((tar) => ['-v', `${tar}:/images/${preloadName(tar)}:ro`]),
        opts.images.node,
      ]);
      containers.push(container);
      const ip = await docker([
        'inspect',
        '-f',
        `{{ (index .NetworkSettings.Networks "${net.dockerName}").IPAddress }}`,
        container,
      ]);
      const node: KubeNode = {
        name: spec.name,
        network: spec.network,
        ip,
        container,
        exec: (cmd) => dockerExec(container, cmd),
        async sh(script) {
          const r = await dockerExec(container, ['bash', '-ec', script]);
          if (r.exitCode !== 0)
            throw new Error(`${spec.name}: script failed (${r.exitCode}):\n${script}\n---\n${r.output}`);
          return r.output;
        },
        async logs(lines = 15) {
          const boot = await docker(['logs', '--tail', String(lines), container]).catch((e) => String(e));
          const files = await dockerExec(container, [
            'bash',
            '-c',
            `for f in /var/log/containerd.log /var/log/kubelet.log /var/log/kube-proxy.log; do echo "--- $f"; tail -n ${lines} $f 2>/dev/null; done`,
          ]);
          return `--- ${spec.name} entrypoint\n${boot}\n${files.output}`;
        },
      };
      nodes.set(spec.name, node);
      return node;
    };
    const started = await Promise.allSettled(opts.nodes.map(startNode));
    // Every start has finished (none still creating a container) before a failure is thrown and cleaned up.
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;

    const kubectl: KubeCluster['kubectl'] = async (args, o = {}) => {
      const r = await activeCp.kubectl(args, o);
      if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
      return r.stdout;
    };
    const getJson = async <T>(args: string[]): Promise<T> => JSON.parse(await kubectl([...args, '-o', 'json'])) as T;

    const registered = (which: readonly string[]) =>
      waitUntil(
        `${which.length} kubelet(s) to register their Nodes`,
        async () => {
          const list = await getJson<{ items: { metadata: { name: string } }[] }>(['get', 'nodes']);
          const names = new Set(list.items.map((n) => n.metadata.name));
          return which.every((n) => names.has(n)) ? true : undefined;
        },
        {
          timeoutMs: 180_000,
          everyMs: 500,
          describe: async () => (await Promise.all(which.map((n) => nodes.get(n)!.logs()))).join('\n'),
        },
      );
    const registering = Date.now();
    await registered([...nodes.keys()]);
    progress(`${nodes.size} kubelets registered in ${((Date.now() - registering) / 1000).toFixed(1)} s`);
    const addNode = async (spec: KubeNodeSpec): Promise<KubeNode> => {
      if (nodes.has(spec.name)) throw new Error(`addNode: node ${spec.name} exists already`);
      const node = await startNode(spec);
      await registered([spec.name]);
      progress(`node ${spec.name} joined`);
      return node;
    };

    const gateway = nodes.get(opts.nodes[0]!.name)!;
    const routePodNetwork = async (candidates: string[]): Promise<string> => {
      for (const cidr of candidates) {
        const route = [cidr, 'via', gateway.ip];
        try {
          await exec('ip', ['route', 'add', ...route]);
        } catch (err) {
          if (/File exists/.test(String((err as { stderr?: string }).stderr ?? err))) continue;
          throw err;
        }
        hostRoutes.push(route);
        const host = networks.get(gateway.network)!.gateway;
        await gateway.sh(
          `iptables -t nat -A POSTROUTING -s ${host}/32 -d ${cidr} -j MASQUERADE ` +
            `-m comment --comment "tabby e2e: this machine reaches pods through this node"`,
        );
        progress(`this machine routes ${cidr} through ${gateway.name} (${gateway.ip})`);
        return cidr;
      }
      throw new Error(`every candidate pod network is routed on this machine already: ${candidates.join(', ')}`);
    };
    return { cp: activeCp, nodes, networks, images: opts.images, routePodNetwork, kubectl, getJson, addNode, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
