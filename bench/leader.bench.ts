// Operator leader handover with the shipped lease timings (LEADER_ELECTION_DEFAULTS: lease 8 s, renew deadline 6 s,
// retry 1.5 s): two `tabby operator --leader-elect` processes (dist/, as the Deployment runs them) on a real apiserver;
// the leader is stopped — SIGTERM (it releases the Lease) or SIGKILL (it does not) — and the time from the signal to
// the other's acquireTime in the Lease is taken (both stamped by this machine's clock; acquireTime is a MicroTime).
// A new replica replaces the stopped one before the next round. Needs `npm run build` and the harness binaries.
import { freePort, startControlPlane } from '../e2e/harness/index.js';
import {
  distProblem,
  eventually,
  httpGet,
  installCrds,
  spawnOperator,
  type OperatorProcess,
} from '../e2e/integration/operator-support.js';
import { createKubeClient } from '../src/kube/index.js';
import { LEADER_ELECTION_DEFAULTS } from '../src/operator/operator.js';

const ROUNDS = 5;
const LEASE = { namespace: 'default', name: 'tabby-operator' };

function stats(xs: number[]): string {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
  return `p50 ${q(0.5).toFixed(0)} ms, max ${s[s.length - 1]!.toFixed(0)} ms`;
}

export default async function run(): Promise<void> {
  const problem = distProblem();
  if (problem) throw new Error(problem);
  const cp = await startControlPlane({ name: 'bench-leader' });
  const client = createKubeClient({ source: { kubeconfigPath: cp.kubeconfigPath } });
  const procs: OperatorProcess[] = [];
  let spawned = 0;
  const spawnOne = async (): Promise<OperatorProcess> => {
    const p = spawnOperator({
      kubeconfig: cp.kubeconfigPath,
      identity: `operator-${++spawned}`,
      metricsPort: await freePort(),
      args: ['--leader-elect', `--leader-election-namespace=${LEASE.namespace}`],
    });
    procs.push(p);
    await eventually(`${p.identity} ready`, async () => (await httpGet(p.metricsPort, '/readyz')).status === 200);
    return p;
  };
  const lease = () => client.leases().get(LEASE.name, { namespace: LEASE.namespace });
  try {
    await installCrds(cp);
    const pair = [await spawnOne(), await spawnOne()];
    const release: number[] = [];
    const crash: number[] = [];
    const crashSinceRenewal: number[] = [];
    for (let i = 0; i < 2 * ROUNDS; i++) {
      const { value: holder } = await eventually('a lease holder', async () => (await lease()).spec?.holderIdentity);
      const leader = pair.find((p) => p.identity === holder)!;
      const follower = pair.find((p) => p !== leader)!;
      const graceful = i % 2 === 0;
      const before = await lease();
      const t0 = Date.now();
      if (graceful) await leader.stop();
      else await leader.kill();
      const { value: taken } = await eventually(
        `${follower.identity} to take the lease`,
        async () => {
          const l = await lease();
          return l.spec?.holderIdentity === follower.identity ? l : undefined;
        },
        { intervalMs: 20 },
      );
      const acquired = Date.parse(taken.spec?.acquireTime ?? '');
      if (graceful) release.push(acquired - t0);
      else {
        crash.push(acquired - t0);
        crashSinceRenewal.push(acquired - Date.parse(before.spec?.renewTime ?? ''));
      }
      pair.splice(pair.indexOf(leader), 1, await spawnOne());
    }
    const d = LEADER_ELECTION_DEFAULTS;
    console.log(
      `rounds: ${ROUNDS} of each (2 replicas; lease ${d.leaseDurationMs} ms, renew deadline ${d.renewDeadlineMs} ms, ` +
        `retry ${d.retryPeriodMs} ms)`,
    );
    console.log('| measure | result |');
    console.log('|---|---|');
    console.log(`| SIGTERM (lease released) → other replica acquires | ${stats(release)} |`);
    console.log(`| SIGKILL (no release) → other replica acquires | ${stats(crash)} |`);
    console.log(`| SIGKILL: dead leader's last renewal seen → acquire | ${stats(crashSinceRenewal)} |`);
  } finally {
    for (const p of procs) await p.kill();
    client.close();
    await cp.stop();
  }
}
