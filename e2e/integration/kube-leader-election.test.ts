// Leader election on a real coordination.k8s.io Lease: two candidates → exactly one leader, never two at once; the
// leader keeps the lease by renewing; a leader that stops releases the lease and the other takes over at once; a
// leader that dies without releasing is replaced once the lease duration has passed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startControlPlane, type ControlPlane } from '../harness/index.js';
import { createKubeClient, createLeaderElector, type KubeClient, type LeaderElector } from '../../src/kube/index.js';

const LEASE_MS = 4000;
const RENEW_MS = 3000;
const RETRY_MS = 500;

async function eventually<T>(what: string, fn: () => T | undefined | false, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

interface Term {
  who: string;
  from: number;
  to: number | undefined;
}

describe('leader election against a real apiserver', () => {
  let cp: ControlPlane;
  let client: KubeClient;
  const terms: Term[] = [];
  const electors = new Map<string, LeaderElector>();

  const candidate = (who: string): LeaderElector => {
    const e = createLeaderElector({
      leases: client.leases(),
      namespace: 'default',
      name: 'tabby-operator',
      identity: who,
      leaseDurationMs: LEASE_MS,
      renewDeadlineMs: RENEW_MS,
      retryPeriodMs: RETRY_MS,
      onStartedLeading: () => terms.push({ who, from: Date.now(), to: undefined }),
      onStoppedLeading: () => {
        const t = terms.find((x) => x.who === who && x.to === undefined);
        if (t) t.to = Date.now();
      },
    });
    electors.set(who, e);
    e.start();
    return e;
  };

  const leaders = (): string[] => [...electors].filter(([, e]) => e.isLeader()).map(([w]) => w);

  beforeAll(async () => {
    cp = await startControlPlane({ name: 'kube-lease', controllerManager: false });
    client = createKubeClient({ source: { kubeconfigPath: cp.kubeconfigPath } });
  });

  afterAll(async () => {
    for (const e of electors.values()) await e.stop();
    client?.close();
    await cp?.stop();
  });

  it('elects exactly one leader, hands over on release at once and after a crash within the lease duration', async () => {
    const a = candidate('a');
    const b = candidate('b');
    const first = await eventually('a leader', () => (leaders().length === 1 ? leaders()[0] : undefined));
    // Through several renewals: the same single leader, and the other knows who it is.
    await new Promise((r) => setTimeout(r, 2 * RENEW_MS));
    expect(leaders()).toEqual([first]);
    const [leader, follower] = first === 'a' ? [a, b] : [b, a];
    expect(follower.leader()).toBe(first);
    const lease = await client.leases().get('tabby-operator', { namespace: 'default' });
    expect(lease.spec?.holderIdentity).toBe(first);
    expect(lease.spec?.leaseDurationSeconds).toBe(LEASE_MS / 1000);

    // Graceful stop: the lease is released and the follower takes over well within the lease duration.
    const stoppedAt = Date.now();
    await leader.stop();
    const second = await eventually('takeover after release', () =>
      leaders().length === 1 ? leaders()[0] : undefined,
    );
    const handover = Date.now() - stoppedAt;
    expect(second).not.toBe(first);
    expect(handover).toBeLessThan(LEASE_MS);

    // A third candidate joins; then the leader dies without releasing: the lease must expire first.
    const c = candidate('c');
    await new Promise((r) => setTimeout(r, 3 * RETRY_MS));
    expect(leaders()).toEqual([second]);
    const crashedAt = Date.now();
    await follower.stop({ release: false });
    const third = await eventually('takeover after crash', () => (leaders().length === 1 ? leaders()[0] : undefined));
    const takeover = Date.now() - crashedAt;
    expect(third).toBe('c');
    expect(c.leader()).toBe('c');
    // Not before the lease could have expired (it was renewed at most one retry period before the crash)...
    expect(takeover).toBeGreaterThanOrEqual(LEASE_MS - RETRY_MS * 1.2 - 100);
    // ...and within the lease duration plus one (jittered) retry period and the request time.
    expect(takeover).toBeLessThan(LEASE_MS + RETRY_MS * 1.2 + 1000);

    const final = await client.leases().get('tabby-operator', { namespace: 'default' });
    expect(final.spec?.holderIdentity).toBe('c');
    expect(final.spec?.leaseTransitions).toBe(2);

    // Never two leaders at once.
    const sorted = [...terms].sort((x, y) => x.from - y.from);
    for (let i = 1; i < sorted.length; i++) {
      const prev = sorted[i - 1]!;
      expect(prev.to).toBeDefined();
      expect(sorted[i]!.from).toBeGreaterThanOrEqual(prev.to!);
    }
    expect(sorted.map((t) => t.who)).toEqual([first, second, 'c']);
  });
});
