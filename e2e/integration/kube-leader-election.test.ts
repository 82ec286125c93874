// Leader election on a real coordination.k8s.io Lease: two candidates → exactly one leader, never two at once; the
// leader keeps the lease by renewing; a leader that stops releases the lease and the other takes it after the
// release; a leader that dies without releasing is replaced only once the lease duration has passed since its last
// renewal. Every claim is read from the Lease's own history (a watch), never from how long something took.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startControlPlane, type ControlPlane, eventually } from '../harness/index.js';
import {
  createKubeClient,
  createLeaderElector,
  type KubeClient,
  type Lease,
  type LeaderElector,
} from '../../src/kube/index.js';

const LEASE_MS = 4000;
const RENEW_MS = 3000;
const RETRY_MS = 500;

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

  /** Every version of the Lease, in order, from a watch (timestamps in ms, holder '' when released). */
  const recordLease = () => {
    const versions: { holder: string; acquireMs: number; renewMs: number }[] = [];
    const stopped = new AbortController();
    const source = client.leases().listWatch({
      namespace: 'default',
      fieldSelector: 'metadata.name=tabby-operator',
    });
    const record = (obj: unknown) => {
      const spec = (obj as Lease).spec ?? {};
      versions.push({
        holder: spec.holderIdentity ?? '',
        acquireMs: Date.parse(spec.acquireTime ?? ''),
        renewMs: Date.parse(spec.renewTime ?? ''),
      });
    };
    void (async () => {
      const listed = await source.list({ limit: 10, signal: stopped.signal });
      for (const item of listed.items) record(item);
      let rv = listed.resourceVersion;
      while (!stopped.signal.aborted) {
        await source
          .watch({ resourceVersion: rv, timeoutSeconds: 600, signal: stopped.signal }, (e) => {
            if (e.type === 'ADDED' || e.type === 'MODIFIED') record(e.object);
            const v = (e.object as { metadata?: { resourceVersion?: string } }).metadata?.resourceVersion;
            if (v !== undefined) rv = v;
          })
          .catch((err: unknown) => {
            if (!stopped.signal.aborted) throw err;
          });
      }
    })();
    return { versions, stop: () => stopped.abort() };
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

  it('elects exactly one leader, hands over on release, and after a crash only once the lease has expired', async () => {
    const history = recordLease();
    const a = candidate('a');
    const b = candidate('b');
    const { value: first } = await eventually('a leader', () => (leaders().length === 1 ? leaders()[0] : undefined));
    // Through several renewals (seen in the Lease itself): the same single leader, and the other knows who it is.
    const renewedBy = (who: string) => history.versions.filter((v) => v.holder === who).length;
    await eventually('three renewals by the leader', () => renewedBy(first) >= 3);
    expect(leaders()).toEqual([first]);
    const [leader, follower] = first === 'a' ? [a, b] : [b, a];
    expect(follower.leader()).toBe(first);
    const lease = await client.leases().get('tabby-operator', { namespace: 'default' });
    expect(lease.spec?.holderIdentity).toBe(first);
    expect(lease.spec?.leaseDurationSeconds).toBe(LEASE_MS / 1000);

    // Graceful stop: the lease is released (holder cleared), and the follower takes it after that release.
    await leader.stop();
    const { value: second } = await eventually('takeover after release', () =>
      leaders().length === 1 ? leaders()[0] : undefined,
    );
    expect(second).not.toBe(first);
    await eventually('the takeover in the Lease', () => renewedBy(second) >= 1);
    const released = history.versions.findIndex((v) => v.holder === '');
    const taken = history.versions.findIndex((v) => v.holder === second);
    expect(released, 'a version with the holder cleared').toBeGreaterThan(0);
    expect(history.versions[released - 1]?.holder).toBe(first);
    expect(taken).toBe(released + 1);

    // A third candidate joins and sees the leader renew; then the leader dies without releasing: nobody may take
    // the lease before its duration has passed since the last renewal.
    const c = candidate('c');
    await eventually('c to see the leader', () => c.leader() === second);
    const seen = renewedBy(second);
    await eventually('a renewal after c joined', () => renewedBy(second) > seen);
    expect(leaders()).toEqual([second]);
    await follower.stop({ release: false });
    const { value: third } = await eventually('takeover after crash', () =>
      leaders().length === 1 ? leaders()[0] : undefined,
    );
    expect(third).toBe('c');
    expect(c.leader()).toBe('c');
    await eventually('the takeover in the Lease', () => renewedBy('c') >= 1);
    const takeover = history.versions.findIndex((v) => v.holder === 'c');
    const lastRenewal = history.versions[takeover - 1]!;
    // No release in between, and c's acquisition lies at least a lease duration after the dead leader's last
    // renewal (both stamped by this machine's clock, so the comparison is exact).
    expect(lastRenewal.holder).toBe(second);
    expect(history.versions[takeover]!.acquireMs - lastRenewal.renewMs).toBeGreaterThanOrEqual(LEASE_MS);
    history.stop();

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
