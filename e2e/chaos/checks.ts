// The chaos run's checks after every wave of faults and at the end:
// - converged(): what still differs from a recovered cluster — a leading operator, every node programmed at its
//   desired revision, its kernel routes equal to its plan and its plan equal to Calico's rules for the IPAM objects,
//   BIRD's mesh Established, every ping stream answering;
// - ipamCheck(): `tabby ipam check` (the installed CLI) reports no error;
// - leaks(): pod allocations whose Pod has been gone longer than GC's grace (plus two GC periods), and live pods
//   whose address IPAM no longer holds for them;
// - handleNodes(): every pod handle records the node of its pod (the admission policy's premise).
import { runCommand } from '../harness/index.js';
import { HANDLE_NODE_ANNOTATION, allocationsOf, blockFromSpec } from '../../src/ipam/index.js';
import { kernelRoutesOf } from '../dataplane/tabby-cluster.js';
import {
  readCluster,
  routeMismatches,
  plannedRoutes,
  TABBY_MAIN,
  type ClusterState,
} from '../integration/operator-support.js';
import { POOL, type ChaosCluster } from './chaos-cluster.js';
import { NAMESPACE, type PingStream, type Workload } from './workload.js';

/** GC looks again this often (the operator's period). */
export const GC_INTERVAL_MS = 30_000;

export interface Convergence {
  /** Empty when converged. */
  pending: string[];
  /** Whether kernel routes equalled the plan on every node (the route figure). */
  routesEqual: boolean;
  state?: ClusterState;
}

/** Node IPs of the live nodes, by name. */
function nodeIps(c: ChaosCluster, live: readonly string[]): Map<string, string> {
  return new Map(live.map((n) => [n, c.node(n).ip]));
}

export async function converged(c: ChaosCluster, streams: readonly PingStream[], since: number): Promise<Convergence> {
  const pending: string[] = [];
  if ((await c.leader()) === undefined) pending.push('no operator leads');
  let state: ClusterState;
  try {
    state = await readCluster(c.client);
  } catch (e) {
    return { pending: [...pending, `cluster unreadable: ${(e as Error).message}`], routesEqual: false };
  }
  const live = c.nodeNames.filter((n) => state.nodes.has(n));
  if (live.length !== c.nodeNames.length)
    pending.push(`nodes missing: ${c.nodeNames.filter((n) => !live.includes(n))}`);
  let routesEqual = true;
  for (const m of routeMismatches(state, live, [POOL])) {
    routesEqual = false;
    pending.push(`${m.node}: plan differs from Calico's rules`);
  }
  await Promise.all(
    live.map(async (n) => {
      const ndp = state.dataplanes.get(n);
      const desired = ndp?.status?.desired?.revision;
      const programmed = ndp?.status?.conditions?.find((x) => x.type === 'Programmed');
      if (!desired || ndp?.status?.applied?.revision !== desired || programmed?.status !== 'True') {
        pending.push(`${n}: not programmed at ${desired ?? 'no revision'}`);
      }
      const planned = plannedRoutes(state, n);
      const kernel = await kernelRoutesOf(c.node(n)).catch((e: Error) => [`unreadable: ${e.message}`]);
      if (planned === undefined || planned.join('\n') !== kernel.join('\n')) {
        routesEqual = false;
        pending.push(`${n}: kernel routes differ from the plan`);
      }
      const ips = nodeIps(c, live);
      const peers = live.filter((o) => o !== n).map((o) => ips.get(o)!);
      if ((await c.birdPid(n)) === undefined) pending.push(`${n}: BIRD not running`);
      else pending.push(...(await c.meshNotEstablished(n, peers)));
    }),
  );
  await Promise.all(
    streams.map(async (s) => {
      const replies = await s.replies().catch(() => []);
      if (!replies.some((t) => t > since)) pending.push(`ping ${s.from.name} -> ${s.to.name}: no reply yet`);
    }),
  );
  return { pending: pending.sort(), routesEqual, state };
}

/** How long after its pod went an address may stay allocated: GC's grace, two GC periods, and a margin. */
export function leakAllowanceMs(graceMs: number): number {
  return graceMs + 2 * GC_INTERVAL_MS + 30_000;
}

async function runIpamCheck(c: ChaosCluster): Promise<{ lines: string[]; code: number | null; stderr: string }> {
  const r = await runCommand(
    process.execPath,
    [TABBY_MAIN, 'ipam', 'check', `--kubeconfig=${c.dc.cp.kubeconfigPath}`],
    {
      timeoutMs: 120_000,
    },
  );
  return { lines: `${r.stdout}\n${r.stderr}`.split('\n').filter((l) => l.startsWith('error:')), ...r };
}

/**
 * `tabby ipam check`'s errors, less the leaks GC has yet to release: an address held for a pod this run deleted
 * without a CNI DEL (or with its node) less than `leakAllowanceMs` ago is reported as leaked — truly — and is GC's
 * to release within its grace (which leaks() checks). The churn is held while it runs, but IPAM GC is not: a check
 * reads blocks and handles one after the other, so a release in flight between the two reads (block first, handle
 * after, as Calico orders it) shows as a handle mismatch. An error counts when a second check, run after the
 * first, reports it too; a stale handle or a double allocation stays and is reported by both.
 */
export async function ipamCheck(
  c: ChaosCluster,
  workload: Workload,
  graceMs: number,
): Promise<{ errors: string[]; pendingLeaks: number; passing: string[] }> {
  const first = await runIpamCheck(c);
  const now = Date.now();
  const candidates: string[] = [];
  let pendingLeaks = 0;
  for (const line of first.lines) {
    const m = /is held for pod (\S+)\/(\S+), which no longer uses it/.exec(line);
    const pod = m && m[1] === NAMESPACE ? workload.pods.get(m[2]!) : undefined;
    if (pod?.deletedAt !== undefined && now - pod.deletedAt <= leakAllowanceMs(graceMs)) pendingLeaks++;
    else candidates.push(line);
  }
  if (first.code !== 0 && first.lines.length === 0)
    return { errors: [`exit ${first.code}: ${first.stderr.trim()}`], pendingLeaks, passing: [] };
  if (candidates.length === 0) return { errors: [], pendingLeaks, passing: [] };
  const second = new Set((await runIpamCheck(c)).lines);
  return {
    errors: candidates.filter((l) => second.has(l)),
    pendingLeaks,
    passing: candidates.filter((l) => !second.has(l)),
  };
}

/** Pod allocations leaked past GC's grace, and running pods whose address IPAM does not hold for them. */
export function leaks(state: ClusterState, workload: Workload, now: number, graceMs: number): string[] {
  const out: string[] = [];
  const held = new Map<string, string>();
  for (const b of state.blocks) {
    if (b.spec.deleted) continue;
    for (const a of allocationsOf(blockFromSpec(b.spec))) {
      if (a.kind !== 'pod' || a.attrs.namespace !== NAMESPACE) continue;
      held.set(a.address, a.attrs.pod!);
      const pod = workload.pods.get(a.attrs.pod!);
      const goneFor = pod?.deletedAt !== undefined && pod.state === 'gone' ? now - pod.deletedAt : undefined;
      if (pod === undefined) out.push(`${a.address}: pod ${a.attrs.pod} was never made by this run`);
      else if (goneFor !== undefined && goneFor > leakAllowanceMs(graceMs))
        out.push(`${a.address}: pod ${pod.name} gone for ${Math.round(goneFor / 1000)} s, still allocated`);
    }
  }
  for (const p of workload.pods.values()) {
    if (p.state !== 'running' || p.ip === undefined || !state.nodes.has(p.node)) continue;
    if (held.get(p.ip) !== p.name)
      out.push(`${p.ip}: pod ${p.name} runs with it, IPAM holds it for ${held.get(p.ip) ?? 'nobody'}`);
  }
  return out;
}

/** Pod handles of this run's pods that do not record their pod's node, and how many were looked at. */
export function handleNodes(state: ClusterState, workload: Workload): { problems: string[]; checked: number } {
  const byHandle = new Map([...workload.pods.values()].map((p) => [`k8s-pod-network.${p.containerId}`, p]));
  const problems: string[] = [];
  let checked = 0;
  for (const h of state.handles) {
    const pod = byHandle.get(h.spec.handleID);
    if (pod === undefined) continue;
    checked++;
    const recorded = h.metadata.annotations?.[HANDLE_NODE_ANNOTATION];
    if (recorded !== pod.node)
      problems.push(`${h.spec.handleID}: records ${recorded ?? 'no node'}, pod on ${pod.node}`);
  }
  return { problems, checked };
}

/** Pods of `ns` the apiserver still has (for the final leak check). */
export async function podNames(c: ChaosCluster): Promise<string[]> {
  return (await c.client.pods().list({ namespace: NAMESPACE })).items.map((p) => p.metadata.name);
}
