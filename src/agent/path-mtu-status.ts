// The agent's path-MTU check wired to Kubernetes and the node: probes with `ping` in the agent's (the node's) network
// namespace, writes the PathMTU condition and status.pathMTU of its NodeDataplane, and counts paths on /metrics.
//
// Inputs: the snapshots the sync loop consumes (observed, not changed) and the kernel target of the last sync.
// Outputs: status writes under their own field manager (tabby-agent-pathmtu), so the sync loop's status.applied and
// Programmed writes (tabby-agent) and these never remove each other's fields; a gauge per verdict.
// Invariants: a write only when the condition or summary changes (the monitor compares, the status writer compares
// with the stored object); the condition's lastTransitionTime moves only when its status does.
import type { Registry } from 'prom-client';
import { Gauge } from 'prom-client';
import type { Condition } from '../api/common.js';
import { NodeDataplaneKind } from '../api/index.js';
import { createStatusWriter, type KubeClient, type Metrics } from '../kube/index.js';
import type { Logger } from '../log/logger.js';
import type { AgentSyncer, SyncInput } from './agent-syncer.js';
import { createProcessRunner } from './linux/command-runner.js';
import { podMtu } from './mtu.js';
import { createPathMtuMonitor, type PathMtuCounts } from './path-mtu-monitor.js';
import type { PathMtuCondition, PathMtuSummary } from './path-mtu.js';

export const PATH_MTU_FIELD_MANAGER = 'tabby-agent-pathmtu';

export interface PathMtuCheckOptions {
  client: KubeClient;
  nodeName: string;
  logger: Logger;
  registry: Registry;
  metrics?: Metrics;
  syncer: Pick<AgentSyncer, 'lastTarget'>;
}

export interface PathMtuCheck {
  /** The same snapshots, remembered on their way to the sync loop. */
  observe(snapshots: AsyncIterable<SyncInput>): AsyncIterable<SyncInput>;
  /** After each sync: the paths of the plan just programmed (never waits for a probe). */
  synced(): void;
  stop(): Promise<void>;
}

/** `tabby_agent_path_mtu_paths{result}`: paths by their last verdict (ok, too_small, unreachable). */
export function pathMtuGauge(registry: Registry): (counts: PathMtuCounts) => void {
  const gauge = new Gauge({
    name: 'tabby_agent_path_mtu_paths',
    help: "Paths to peers by the last don't-fragment probe verdict: ok, too_small (the configured MTU does not pass), unreachable.",
    labelNames: ['result'],
    registers: [registry],
  });
  for (const result of ['ok', 'too_small', 'unreachable']) gauge.set({ result }, 0);
  return (c) => {
    gauge.set({ result: 'ok' }, c.ok);
    gauge.set({ result: 'too_small' }, c.tooSmall);
    gauge.set({ result: 'unreachable' }, c.unreachable);
  };
}

export function startPathMtuCheck(opts: PathMtuCheckOptions): PathMtuCheck {
  const log = opts.logger.child({ check: 'path-mtu' });
  const ndp = opts.client.kind(NodeDataplaneKind);
  const writer = createStatusWriter({
    resource: ndp,
    fieldManager: PATH_MTU_FIELD_MANAGER,
    name: 'pathmtu',
    mapLists: { conditions: ['type'] },
    logger: log,
    ...(opts.metrics ? { metrics: opts.metrics } : {}),
  });

  async function report(condition: PathMtuCondition, summary: PathMtuSummary): Promise<void> {
    // Writes are rare (a verdict changed): reading the object first keeps lastTransitionTime across restarts.
    const obj = await ndp.get(opts.nodeName);
    const previous = (obj.status?.conditions as Condition[] | undefined)?.find((c) => c.type === condition.type);
    const at = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const c: Condition = {
      ...condition,
      lastTransitionTime: previous?.status === condition.status ? previous.lastTransitionTime : at,
    };
    await writer.write({ name: opts.nodeName }, { conditions: [c], pathMTU: summary }, obj);
  }

  const monitor = createPathMtuMonitor({
    runner: createProcessRunner(),
    report,
    onCounts: pathMtuGauge(opts.registry),
    logger: log,
  });
  let latest: SyncInput | undefined;

  return {
    observe(snapshots) {
      return {
        [Symbol.asyncIterator]: () => {
          const it = snapshots[Symbol.asyncIterator]();
          return {
            next: async () => {
              const r = await it.next();
              if (r.done !== true) latest = r.value;
              return r;
            },
            return: async () => (it.return ? it.return() : { value: undefined, done: true }),
          };
        },
      };
    },
    synced() {
      const target = opts.syncer.lastTarget();
      if (!latest || !target) return;
      monitor.update({
        nodeName: opts.nodeName,
        shards: latest.shards,
        devices: target.devices,
        podMtu: podMtu(latest.desired, target.hostMtu),
      });
    },
    stop: () => monitor.stop(),
  };
}
