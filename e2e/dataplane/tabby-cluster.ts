// A whole Tabby cluster on the dataplane test cluster: CRDs applied, the operator running in this process against
// the harness apiserver, and `tabby agent` running inside every node container (reaching the apiserver through the
// host's address on the node's Docker network).
import { createKubeClient, type KubeClient } from '../../src/kube/index.js';
import { createLogger } from '../../src/log/logger.js';
import { settingsFromEnv } from '../../src/operator/config.js';
import { createOperator, type Operator } from '../../src/operator/operator.js';
import { materialiseNode } from '../../src/plan/materialise.js';
import { viewRevision } from '../../src/plan/view-revision.js';
import type { NodeDataplane, RouteTable } from '../../src/api/index.js';
import { ALIVE_FN, stopProcessScript } from './node-processes.js';
import { waitUntil } from './wait-until.js';
import {
  startDataplaneCluster,
  type ClusterNode,
  type DataplaneCluster,
  type DataplaneClusterOptions,
} from './cluster.js';

export interface TabbyCluster extends DataplaneCluster {
  client: KubeClient;
  operator: Operator;
  /** JSON of a kubectl get. */
  getJson<T>(args: string[]): Promise<T>;
  /** Waits until every node's NodeDataplane reports Programmed=True for its current desired revision. */
  waitProgrammed(timeoutMs?: number): Promise<void>;
  /**
   * Waits until every node has a block planned and the plan that includes it is programmed; returns node → its first
   * block. A node is planned (and programmed) before its first block exists — the operator claims the VTEP's or
   * tunnel address's block a moment after the join — so `waitProgrammed` alone does not mean "has a block".
   */
  waitBlocks(): Promise<Map<string, string>>;
  /** The node's full planned table (render's view), route lines sorted. */
  plannedRoutes(node: string): Promise<string[]>;
  /** Routes the agent programmed on the node (its route protocol), normalised to the same syntax. */
  kernelRoutes(node: string): Promise<string[]>;
  agentLog(node: string): Promise<string>;
  /** Starts `tabby agent` in the node (its output appended to the agent log); returns its pid in the container. */
  startAgent(node: string): Promise<number>;
  /** Sends `signal` to the node's agent and waits until the process is gone. */
  stopAgent(node: string, signal?: 'TERM' | 'KILL'): Promise<void>;
  /** Pid of the running agent in the node container, undefined when it is not running. */
  agentPid(node: string): Promise<number | undefined>;
}

const AGENT_LOG = '/var/log/tabby-agent.log';
const AGENT_PID = '/var/run/tabby-agent.pid';
const TUNNEL_DEVICES = new Set(['tunl0', 'vxlan.calico', 'vxlan-v6.calico']);

/**
 * One `ip route` line in the planned syntax: no protocol, single spaces, and no uplink on a direct route — the plan
 * says `<dst> via <node IP>` and leaves the device to the kernel, which prints the one it resolved.
 */
export function normaliseRouteLine(line: string): string {
  const l = line
    .trim()
    .replace(/\s+proto \S+/, '')
    .replace(/\s+/g, ' ');
  const direct = /^(\S+ via \S+) dev (\S+)$/.exec(l);
  return direct && !TUNNEL_DEVICES.has(direct[2]!) ? direct[1]! : l;
}

/** Routes the agent programmed on the node (its route protocol) and blackholes, normalised to the planned syntax. */
export async function kernelRoutesOf(node: ClusterNode): Promise<string[]> {
  const out = await node.sh('ip route show proto 80; ip route show type blackhole');
  return [...new Set(out.split('\n').map(normaliseRouteLine).filter(Boolean))].sort();
}

export interface NodeAgents {
  /** Writes the node's kubeconfig (the host's address on its network) to /etc/tabby/kubeconfig. */
  installKubeconfig(node: string): Promise<void>;
  /** Starts `tabby agent` in the node (its output appended to the agent log); returns its pid in the container. */
  startAgent(node: string): Promise<number>;
  /** Sends `signal` to the node's agent and waits until the process is gone. */
  stopAgent(node: string, signal?: 'TERM' | 'KILL'): Promise<void>;
  /** Pid of the running agent in the node container, undefined when it is not running. */
  agentPid(node: string): Promise<number | undefined>;
  agentLog(node: string): Promise<string>;
}

/** `tabby agent` in the node containers of `dc`, started as a DaemonSet's container would run it. */
export function nodeAgents(dc: DataplaneCluster, agentArgs: readonly string[]): NodeAgents {
  return {
    async installKubeconfig(name) {
      const node = dc.nodes.get(name)!;
      const kubeconfig = await dc.kubeconfigFor(node.network);
      await node.container.copyContentToContainer([{ content: kubeconfig, target: '/etc/tabby/kubeconfig' }]);
    },
    async startAgent(name) {
      const node = dc.nodes.get(name)!;
      const args = [
        'agent',
        '--node',
        node.name,
        '--kubeconfig',
        '/etc/tabby/kubeconfig',
        '--cni-bin-dir',
        '/opt/cni/bin',
        '--cni-conf-dir',
        '/etc/cni/net.d',
        ...agentArgs,
      ];
      const out = await node.sh(
        `nohup tabby ${args.join(' ')} >>${AGENT_LOG} 2>&1 </dev/null & echo $! >${AGENT_PID}; echo $!`,
      );
      return Number(out.trim());
    },
    async stopAgent(name, signal = 'TERM') {
      await dc.nodes.get(name)!.sh(stopProcessScript(AGENT_PID, signal));
    },
    async agentPid(name) {
      const r = await dc.nodes
        .get(name)!
        .exec(['bash', '-c', `${ALIVE_FN}; p=$(cat ${AGENT_PID}) && alive "$p" && echo "$p"`]);
      return r.exitCode === 0 ? Number(r.output.trim()) : undefined;
    },
    async agentLog(name) {
      return (await dc.nodes.get(name)!.exec(['cat', AGENT_LOG])).output;
    },
  };
}

export interface TabbyClusterOptions extends DataplaneClusterOptions {
  /** CALICO_IPV4POOL_* settings for the default pool. */
  poolEnv: Record<string, string>;
  /** Extra manifests applied before the operator starts. */
  manifests?: string;
  agentArgs?: string[];
}

export async function startTabbyCluster(opts: TabbyClusterOptions): Promise<TabbyCluster> {
  const dc = await startDataplaneCluster(opts);
  try {
    const crds = await dc.cp.kubectl(['apply', '-f', 'crds/']);
    if (crds.code !== 0) throw new Error(`applying CRDs: ${crds.stderr}`);
    await dc.cp.kubectl(['wait', '--for=condition=Established', '--timeout=60s', '-f', 'crds/']);
    if (opts.manifests) {
      const r = await dc.cp.kubectl(['apply', '-f', '-'], { input: opts.manifests });
      if (r.code !== 0) throw new Error(`applying manifests: ${r.stderr}`);
    }
    const client = createKubeClient({ source: { kubeconfigPath: dc.cp.kubeconfigPath } });
    const operator = createOperator({
      client,
      logger: createLogger({ component: 'operator', level: (process.env.TABBY_TEST_LOG_LEVEL as 'info') ?? 'warn' }),
      settings: settingsFromEnv(opts.poolEnv),
    });
    await operator.start();

    const agents = nodeAgents(dc, opts.agentArgs ?? []);
    for (const node of dc.nodes.values()) {
      await agents.installKubeconfig(node.name);
      await agents.startAgent(node.name);
    }

    const getJson = async <T>(args: string[]): Promise<T> => {
      const r = await dc.cp.kubectl([...args, '-o', 'json']);
      if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
      return JSON.parse(r.stdout) as T;
    };

    const { agentLog } = agents;
    const waitProgrammed = async (timeoutMs = 120_000): Promise<void> => {
      let pending: string[] = [];
      await waitUntil(
        "every node programmed at its desired revision and its views' shards",
        async () => {
          const list = await getJson<{ items: NodeDataplane[] }>(['get', 'nodedataplanes']);
          // Routes to other nodes' blocks live in the view's RouteTable shards, not in the node's own revision: a
          // peer's new block changes a shard and leaves this node's NodeDataplane as it was, so the shards count too.
          const shards = (await getJson<{ items: RouteTable[] }>(['get', 'routetables'])).items;
          pending = [...dc.nodes.keys()].filter((n) => {
            const ndp = list.items.find((i) => i.metadata.name === n);
            const desired = ndp?.status?.desired;
            const applied = ndp?.status?.applied;
            const programmed = ndp?.status?.conditions?.find((c) => c.type === 'Programmed');
            if (!desired || applied?.revision !== desired.revision || programmed?.status !== 'True') return true;
            const views = new Set([desired.view, desired.viewV6 ?? desired.view]);
            return [...views].some((view) => {
              const now = viewRevision(
                shards
                  .filter((rt) => rt.status?.view === view)
                  .map((rt) => ({ name: rt.metadata.name, revision: rt.status!.revision })),
              );
              return !applied.viewRevisions.some((a) => a.view === view && a.revision === now);
            });
          });
          return pending.length === 0 ? true : undefined;
        },
        {
          timeoutMs,
          everyMs: 250,
          describe: async () =>
            (
              await Promise.all(
                pending.map(async (n) => `--- ${n}\n${(await agentLog(n)).split('\n').slice(-15).join('\n')}`),
              )
            ).join('\n'),
        },
      );
    };

    return {
      ...dc,
      client,
      operator,
      getJson,
      waitProgrammed,
      async waitBlocks() {
        const blocks = new Map<string, string>();
        await waitUntil(
          'every node to have a block planned',
          async () => {
            const list = await getJson<{ items: NodeDataplane[] }>(['get', 'nodedataplanes']);
            for (const name of dc.nodes.keys()) {
              const block = list.items.find((i) => i.metadata.name === name)?.status?.desired?.blocks[0]?.cidr;
              if (block === undefined) return undefined;
              blocks.set(name, block);
            }
            return true;
          },
          { describe: () => `nodes with a block: ${[...blocks.keys()].join(', ') || 'none'}` },
        );
        await waitProgrammed();
        return blocks;
      },
      async plannedRoutes(node) {
        const ndp = await getJson<NodeDataplane>(['get', 'nodedataplane', node]);
        const desired = ndp.status?.desired;
        if (!desired) throw new Error(`${node}: nothing planned`);
        const rts = await getJson<{ items: RouteTable[] }>(['get', 'routetables']);
        const of = (view: string | undefined) =>
          rts.items
            .filter((r) => r.status && view !== undefined && r.status.view === view)
            .map((r) => ({ status: r.status! }));
        const m = materialiseNode(node, desired, of(desired.view), of(desired.viewV6 ?? undefined));
        return m.routes.map((r) => r.line).sort();
      },
      kernelRoutes: (node) => kernelRoutesOf(dc.nodes.get(node)!),
      agentLog,
      startAgent: agents.startAgent,
      agentPid: agents.agentPid,
      stopAgent: agents.stopAgent,
      async stop() {
        await operator.stop().catch(() => undefined);
        client.close();
        await dc.stop();
      },
    };
  } catch (err) {
    await dc.stop();
    throw err;
  }
}
