// The chaos run's cluster: the dataplane tier's node containers (BGP without encapsulation, BIRD's node-to-node
// mesh), the harness control plane (apiserver without watch cache and with an audit log of the operator's
// NodeDataplane/RouteTable writes), two `tabby operator` processes with leader election, and `tabby agent` in every
// node. Every fault the run injects is one method here; each returns once the fault is in place or lifted.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { request } from 'node:http';
import { promisify } from 'node:util';
import { createKubeClient, type KubeClient, type Node } from '../../src/kube/index.js';
import { startDataplaneCluster, type ClusterNode, type DataplaneCluster } from '../dataplane/cluster.js';
import { ALIVE_FN } from '../dataplane/node-processes.js';
import { nodeAgents, type NodeAgents } from '../dataplane/tabby-cluster.js';
import { freePort } from '../harness/index.js';
import {
  distProblem,
  httpGet,
  metricValue,
  spawnOperator,
  type OperatorProcess,
} from '../integration/operator-support.js';

const exec = promisify(execFile);

export const POOL = 'default-ipv4-ippool';
export const POOL_CIDR = '10.244.0.0/16';
export const LEASE = { namespace: 'kube-system', name: 'tabby-operator' };
/** The operator's client identity: the audit policy records its writes and no one else's. */
export const OPERATOR_USER = 'tabby-operator';
export const BIRDC = 'birdc -s /var/run/tabby/bird.ctl';
const BIRD_PID = '/var/run/tabby/bird.pid';

// What the rewrite check reads: every write of the operator to NodeDataplanes and RouteTables, with the object after.
const AUDIT_POLICY = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: RequestResponse
  users: [${OPERATOR_USER}]
  verbs: [create, update, patch, delete]
  resources:
  - group: dataplane.tabby.dev
    resources: [nodedataplanes, nodedataplanes/status, routetables, routetables/status]
- level: None
`;

const BGP_CONFIGURATION = `apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata:
  name: default
spec:
  logSeverityScreen: Info
  nodeToNodeMeshEnabled: true
  asNumber: 64512
`;

export interface ChaosClusterOptions {
  image: string;
  nodes: readonly string[];
  /** IPAM GC's leak grace (operator flag). */
  leakGraceS: number;
  progress: (line: string) => void;
}

export interface ChaosCluster {
  dc: DataplaneCluster;
  client: KubeClient;
  agents: NodeAgents;
  nodeNames: string[];
  node(name: string): ClusterNode;
  operators: Map<string, OperatorProcess>;
  /** The identity of the live operator that says it leads (its tabby_leader metric), if one does. */
  leader(): Promise<string | undefined>;
  /** SIGKILL of the operator `identity`; startOperator brings it back under the same identity (a container restart). */
  killOperator(identity: string): Promise<void>;
  startOperator(identity: string): Promise<OperatorProcess>;
  birdPid(node: string): Promise<number | undefined>;
  killBird(node: string): Promise<void>;
  /** BIRD's mesh sessions on `node` that are not Established (empty: all are, and there is one per other node). */
  meshNotEstablished(node: string, peers: readonly string[]): Promise<string[]>;
  disconnect(node: string): Promise<void>;
  reconnect(node: string): Promise<void>;
  /** Deletes the Kubernetes Node (its pods keep running). */
  deleteNode(node: string): Promise<void>;
  /** Creates the Node again as the dataplane tier first made it (kubelet registering the machine again). */
  createNode(node: string): Promise<void>;
  /** Compacts etcd at its current revision; returns the revision. */
  compactEtcd(): Promise<number>;
  /** Cuts every client connection to the apiserver (host processes and agents): watches resume from their version. */
  cutApiConnections(): Promise<void>;
  /** How many times the logs of every agent and operator say a watch expired (410 Gone). */
  watchExpiries(): Promise<number>;
  /** The operator's audited writes, one JSON line each. */
  auditLines(): Promise<string[]>;
  /** Every agent's and operator process's log so far, by a file name for it. */
  logs(): Promise<Map<string, string>>;
  stop(): Promise<void>;
}

function nodeManifest(n: ClusterNode): Node {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: n.name,
      labels: { 'kubernetes.io/hostname': n.name, 'kubernetes.io/os': 'linux' },
      annotations: { 'projectcalico.org/IPv4Address': `${n.ip}/${n.prefixLength}` },
    },
    status: { addresses: [{ type: 'InternalIP', address: n.ip }] },
  } as Node;
}

function etcdPost(endpoint: string, path: string, body: unknown): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const req = request(`${endpoint}${path}`, { method: 'POST', timeout: 30_000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () =>
        res.statusCode === 200 ? resolve(JSON.parse(text) as Record<string, unknown>) : reject(new Error(text)),
      );
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error(`etcd ${path}: timeout`)));
    req.end(JSON.stringify(body));
  });
}

export async function startChaosCluster(o: ChaosClusterOptions): Promise<ChaosCluster> {
  const problem = distProblem();
  if (problem) throw new Error(problem);
  const dc = await startDataplaneCluster({
    image: o.image,
    networks: [{ name: 'chaos', subnet: '172.30.61.0/24' }],
    nodes: o.nodes.map((name) => ({ name, network: 'chaos' })),
    progress: o.progress,
    controlPlane: { auditPolicy: AUDIT_POLICY, watchCache: false },
  });
  const operators = new Map<string, OperatorProcess>();
  /** Every operator process's log, also of those killed since. */
  const operatorLogs: string[] = [];
  let client: KubeClient | undefined;
  const stop = async (): Promise<void> => {
    await Promise.all([...operators.values()].map((p) => p.stop()));
    client?.close();
    await dc.stop();
  };
  try {
    const cp = dc.cp;
    for (const args of [
      ['apply', '-f', 'crds/'],
      ['wait', '--for=condition=Established', '--timeout=60s', '-f', 'crds/'],
    ]) {
      const r = await cp.kubectl(args);
      if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
    }
    const bgp = await cp.kubectl(['apply', '-f', '-'], { input: BGP_CONFIGURATION });
    if (bgp.code !== 0) throw new Error(`BGPConfiguration: ${bgp.stderr}`);
    const ns = await cp.kubectl(['create', 'namespace', 'chaos']);
    if (ns.code !== 0) throw new Error(`namespace: ${ns.stderr}`);
    client = createKubeClient({ source: { kubeconfigPath: cp.kubeconfigPath } });
    const operatorKubeconfig = await cp.kubeconfigForUser(OPERATOR_USER, ['system:masters']);

    const ports = new Map<string, number>();
    const startOperator = async (identity: string): Promise<OperatorProcess> => {
      const port = ports.get(identity) ?? (await freePort());
      ports.set(identity, port);
      const p = spawnOperator({
        kubeconfig: operatorKubeconfig,
        identity,
        metricsPort: port,
        args: [
          '--log-level=info',
          '--leader-elect',
          `--leader-election-namespace=${LEASE.namespace}`,
          `--leader-election-name=${LEASE.name}`,
          `--ipam-leak-grace-period=${o.leakGraceS}s`,
        ],
        env: {
          CALICO_IPV4POOL_CREATE: 'true',
          CALICO_IPV4POOL_CIDR: POOL_CIDR,
          CALICO_IPV4POOL_IPIP: 'Never',
          CALICO_IPV4POOL_VXLAN: 'Never',
        },
      });
      operators.set(identity, p);
      operatorLogs.push(p.log);
      return p;
    };
    for (const id of ['operator-a', 'operator-b']) await startOperator(id);

    const agents = nodeAgents(dc, []);
    for (const name of o.nodes) {
      await agents.installKubeconfig(name);
      await agents.startAgent(name);
    }
    const node = (name: string): ClusterNode => {
      const n = dc.nodes.get(name);
      if (!n) throw new Error(`no node ${name}`);
      return n;
    };
    const net = dc.networks.get('chaos')!;
    const kube = client;

    return {
      dc,
      client: kube,
      agents,
      nodeNames: [...o.nodes],
      node,
      operators,
      async leader() {
        for (const p of operators.values()) {
          if (p.child.exitCode !== null || p.child.signalCode !== null) continue;
          const m = await httpGet(p.metricsPort, '/metrics').catch(() => undefined);
          if (m && metricValue(m.body, `tabby_leader{lease="${LEASE.namespace}/${LEASE.name}"}`) === 1) {
            return p.identity;
          }
        }
        return undefined;
      },
      async killOperator(identity) {
        await operators.get(identity)!.kill();
      },
      startOperator,
      async birdPid(name) {
        const r = await node(name).exec(['bash', '-c', `${ALIVE_FN}; p=$(cat ${BIRD_PID}) && alive "$p" && echo "$p"`]);
        return r.exitCode === 0 ? Number(r.output.trim()) : undefined;
      },
      async killBird(name) {
        await node(name).sh(
          `${ALIVE_FN}; p=$(cat ${BIRD_PID}); kill -KILL $p; ` +
            `for i in $(seq 600); do alive $p || exit 0; sleep 0.1; done; echo "bird $p still running"; exit 1`,
        );
      },
      async meshNotEstablished(name, peers) {
        const r = await node(name).exec(['bash', '-c', `${BIRDC} show protocols`]);
        if (r.exitCode !== 0) return [`${name}: birdc: ${r.output.trim()}`];
        const missing: string[] = [];
        for (const ip of peers) {
          const proto = `Mesh_${ip.replace(/\./g, '_')}`;
          const line = r.output.split('\n').find((l) => l.startsWith(`${proto} `));
          if (!line || !/\bEstablished\b/.test(line)) missing.push(`${name}: ${line?.trim() ?? `${proto} missing`}`);
        }
        return missing;
      },
      async disconnect(name) {
        await exec('docker', ['network', 'disconnect', net.dockerName, node(name).container.getId()]);
      },
      async reconnect(name) {
        const n = node(name);
        await exec('docker', ['network', 'connect', '--ip', n.ip, net.dockerName, n.container.getId()]);
      },
      async deleteNode(name) {
        await kube.nodes().delete(name);
      },
      async createNode(name) {
        await kube.nodes().create(nodeManifest(node(name)));
      },
      async compactEtcd() {
        const status = await etcdPost(cp.etcdEndpoint, '/v3/kv/range', { key: Buffer.from('\0').toString('base64') });
        const revision = Number((status.header as { revision: string }).revision);
        await etcdPost(cp.etcdEndpoint, '/v3/kv/compaction', { revision: String(revision), physical: true });
        return revision;
      },
      async cutApiConnections() {
        // Client sockets only (their destination is the apiserver's port): the apiserver's own side stays up.
        await exec('ss', ['-K', 'dst', '127.0.0.1', 'dport', '=', `:${cp.port}`]);
        await Promise.all(
          o.nodes.map((name) =>
            node(name)
              .exec(['ss', '-K', 'dst', net.gateway, 'dport', '=', `:${cp.port}`])
              .catch(() => undefined),
          ),
        );
      },
      async watchExpiries() {
        let n = 0;
        const count = (text: string) => text.split('\n').filter((l) => l.includes('"watch expired; relisting"')).length;
        for (const name of o.nodes) n += count(await agents.agentLog(name));
        for (const log of operatorLogs) n += count(await readFile(log, 'utf8').catch(() => ''));
        return n;
      },
      async auditLines() {
        return (await readFile(cp.auditLogPath!, 'utf8')).split('\n').filter(Boolean);
      },
      async logs() {
        const out = new Map<string, string>();
        for (const name of o.nodes) out.set(`agent-${name}.log`, await agents.agentLog(name).catch(() => ''));
        for (const [i, log] of operatorLogs.entries()) {
          out.set(`operator-${i + 1}.log`, await readFile(log, 'utf8').catch(() => ''));
        }
        return out;
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
