// The agent's syncs as its log reports them ("sync done": what made each run, what it changed, whether it scheduled a
// retry), so dataplane tests can say why the agent looked at the kernel instead of timing it.
import type { SyncTrigger } from '../../src/agent/index.js';
import type { TabbyCluster } from './tabby-cluster.js';
import { waitUntil } from './wait-until.js';

export interface AgentSync {
  revision: string;
  programmed: boolean;
  changed: boolean;
  triggers: SyncTrigger[];
  /** Backoff of the retry this sync scheduled; null when it scheduled none. */
  retryInMs: number | null;
}

/** Every sync the node's agent logged, across restarts (the log is appended to), oldest first. */
export async function agentSyncs(c: TabbyCluster, node: string): Promise<AgentSync[]> {
  return (await c.agentLog(node))
    .split('\n')
    .filter((l) => l.includes('"sync done"'))
    .map((l) => JSON.parse(l) as AgentSync);
}

/**
 * Waits until the node's agent has removed a stray route of its protocol through a sync its kernel monitor started:
 * then the monitor is listening. `ip monitor` says nothing when it starts, so a new stray blackhole is added every
 * second until the agent has removed them all.
 */
export async function agentMonitorListening(c: TabbyCluster, node: string): Promise<void> {
  const n = c.nodes.get(node)!;
  const from = (await agentSyncs(c, node)).length;
  let probes = 0;
  let probedAt = -Infinity;
  await waitUntil(
    `${node}'s agent to remove a stray route through a sync its kernel monitor started`,
    async () => {
      const strays = await n.sh('ip route show type blackhole proto 80 | grep -c "^blackhole 192\\.0\\.2\\." || true');
      const looked = (await agentSyncs(c, node)).slice(from).some((s) => s.triggers.includes('kernel') && s.changed);
      if (probes > 0 && Number(strays.trim()) === 0 && looked) return true;
      if (performance.now() - probedAt >= 1000) {
        probedAt = performance.now();
        await n.sh(`ip route add blackhole 192.0.2.${++probes}/32 proto 80`);
      }
      return undefined;
    },
    { timeoutMs: 120_000, everyMs: 100, describe: () => c.agentLog(node) },
  );
}
