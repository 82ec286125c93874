import { describe, expect, it } from 'vitest';
import type { Lease } from './core-kinds.js';
import { AlreadyExistsError, ConflictError, NotFoundError, TransientError } from './errors.js';
import { sleep } from './clock.js';
import { FakeClock, flushPromises } from './test-support/fake-clock.js';
import { createLeaderElector, type LeaseClient, type LeaderElector } from './leader-election.js';

const target = { verb: 'x', resource: 'leases.coordination.k8s.io' };

/** One Lease with the apiserver's compare-and-swap rules; `down` makes every call fail. */
function leaseStore() {
  let stored: Lease | undefined;
  let rv = 0;
  const state = { down: false, writes: 0 };
  const copy = (l: Lease): Lease => JSON.parse(JSON.stringify(l)) as Lease;
  const check = (): void => {
    if (state.down) throw new TransientError({ status: 0, reason: 'ECONNREFUSED', serverMessage: 'down', target });
  };
  const client: LeaseClient = {
    async get(name) {
      check();
      if (!stored)
        throw new NotFoundError({
          status: 404,
          reason: 'NotFound',
          serverMessage: `leases "${name}" not found`,
          target,
        });
      return copy(stored);
    },
    async create(obj) {
      check();
      if (stored)
        throw new AlreadyExistsError({ status: 409, reason: 'AlreadyExists', serverMessage: 'exists', target });
      stored = { ...copy(obj), metadata: { ...obj.metadata, resourceVersion: String(++rv) } };
      state.writes++;
      return copy(stored);
    },
    async replace(obj) {
      check();
      if (!stored || obj.metadata.resourceVersion !== stored.metadata.resourceVersion) {
        throw new ConflictError({ status: 409, reason: 'Conflict', serverMessage: 'modified', target });
      }
      stored = { ...copy(obj), metadata: { ...obj.metadata, resourceVersion: String(++rv) } };
      state.writes++;
      return copy(stored);
    },
  };
  return {
    client,
    state,
    lease: () => stored,
    /** Someone else writes the lease directly. */
    steal(holder: string) {
      if (stored)
        stored = {
          ...stored,
          spec: { ...stored.spec, holderIdentity: holder },
          metadata: { ...stored.metadata, resourceVersion: String(++rv) },
        };
    },
  };
}

function setup() {
  const clock = new FakeClock(1_700_000_000_000);
  const store = leaseStore();
  const log: string[] = [];
  const signals = new Map<string, AbortSignal>();
  const make = (who: string): LeaderElector =>
    createLeaderElector({
      leases: store.client,
      namespace: 'kube-system',
      name: 'tabby',
      identity: who,
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
      clock,
      random: () => 0,
      onStartedLeading: (signal) => {
        signals.set(who, signal);
        log.push(`${clock.now() - 1_700_000_000_000} ${who} start`);
      },
      onStoppedLeading: () => log.push(`${clock.now() - 1_700_000_000_000} ${who} stop`),
    });
  return { clock, store, log, signals, make };
}

describe('leader election', () => {
  it('rejects timings that could let two leaders overlap', () => {
    const { client } = leaseStore();
    const base = { leases: client, namespace: 'n', name: 'l', identity: 'a' };
    expect(() => createLeaderElector({ ...base, leaseDurationMs: 10_000, renewDeadlineMs: 10_000 })).toThrow(
      /leaseDuration must exceed renewDeadline/,
    );
    expect(() => createLeaderElector({ ...base, renewDeadlineMs: 2_000, retryPeriodMs: 2_000 })).toThrow(
      /renewDeadline must exceed/,
    );
    expect(() => createLeaderElector({ ...base, identity: '' })).toThrow(/identity/);
  });

  it('creates the lease, leads, and renews it every retry period', async () => {
    const { clock, store, log, make } = setup();
    const a = make('a');
    a.start();
    await flushPromises();
    expect(a.isLeader()).toBe(true);
    expect(log).toEqual(['0 a start']);
    expect(store.lease()?.spec).toMatchObject({ holderIdentity: 'a', leaseDurationSeconds: 15, leaseTransitions: 0 });
    expect(store.lease()?.spec?.renewTime).toBe('2023-11-14T22:13:20.000000Z');
    await clock.advance(2_000);
    expect(store.lease()?.spec?.renewTime).toBe('2023-11-14T22:13:22.000000Z');
    expect(store.state.writes).toBe(2);
    await a.stop({ release: false });
  });

  it('a candidate waits while the lease is held and renewed, then takes over after the holder dies', async () => {
    const { clock, store, log, make } = setup();
    const a = make('a');
    a.start();
    await flushPromises();
    const b = make('b');
    b.start();
    await clock.advance(30_000);
    expect([a.isLeader(), b.isLeader()]).toEqual([true, false]);
    expect(b.leader()).toBe('a');
    // a's last renewal was at 30 s; b saw it then; a dies without releasing.
    await a.stop({ release: false });
    await clock.advance(14_000);
    expect(b.isLeader()).toBe(false);
    await clock.advance(2_000);
    expect(b.isLeader()).toBe(true);
    expect(log).toEqual(['0 a start', '30000 a stop', '46000 b start']);
    expect(store.lease()?.spec).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
    await b.stop();
  });

  it('counts the lease duration from when a read returned, not from when it was sent', async () => {
    // b's first read is sent at 1 s, before a's renewal at 2 s, and answered at 2.5 s with that renewal in it; a then
    // dies. The renewal may be up to 2.5 s old when b sees it, but b must still wait a whole lease duration after it
    // saw it: taking over at 16.5 s (15 s after the read was *sent*) would cut a's lease, valid until 17 s, short.
    const { clock, store, make } = setup();
    const a = make('a');
    a.start();
    await flushPromises();
    await clock.advance(1_000);
    let slowReads = 1;
    const slowClient: LeaseClient = {
      ...store.client,
      async get(name, o) {
        if (slowReads-- > 0) await sleep(clock, 1_500);
        return store.client.get(name, o);
      },
    };
    const b = createLeaderElector({
      leases: slowClient,
      namespace: 'kube-system',
      name: 'tabby',
      identity: 'b',
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
      clock,
      random: () => 0,
    });
    b.start();
    await clock.advance(1_000);
    const lastRenewal = store.lease()?.spec?.renewTime;
    expect(lastRenewal).toBe('2023-11-14T22:13:22.000000Z');
    await a.stop({ release: false });
    await clock.advance(30_000);
    expect(b.isLeader()).toBe(true);
    const acquired = Date.parse(store.lease()?.spec?.acquireTime ?? '');
    expect(acquired - Date.parse(lastRenewal!)).toBeGreaterThanOrEqual(15_000);
    await b.stop();
  });

  it('releasing on stop lets the other candidate take over at its next attempt', async () => {
    const { clock, store, log, make } = setup();
    const a = make('a');
    a.start();
    await flushPromises();
    const b = make('b');
    b.start();
    await clock.advance(5_000);
    await a.stop();
    expect(store.lease()?.spec?.holderIdentity).toBeNull();
    await clock.advance(2_000);
    expect(b.isLeader()).toBe(true);
    expect(log).toEqual(['0 a start', '5000 a stop', '6000 b start']);
    await b.stop();
  });

  it('a leader that cannot renew stops leading once the renew deadline passes, before the lease expires', async () => {
    const { clock, store, log, make, signals } = setup();
    const a = make('a');
    a.start();
    await flushPromises();
    store.state.down = true;
    await clock.advance(9_999);
    expect(a.isLeader()).toBe(true);
    await clock.advance(2_001);
    expect(a.isLeader()).toBe(false);
    expect(signals.get('a')?.aborted).toBe(true);
    expect(log).toEqual(['0 a start', '10000 a stop']);
    // It keeps trying as a candidate and leads again once the server is back (its own lease, not expired).
    store.state.down = false;
    await clock.advance(2_000);
    expect(a.isLeader()).toBe(true);
    await a.stop();
  });

  it('a leader that finds another holder in the lease stops at once', async () => {
    const { clock, store, log, make } = setup();
    const a = make('a');
    a.start();
    await flushPromises();
    store.steal('intruder');
    await clock.advance(2_000);
    expect(a.isLeader()).toBe(false);
    expect(a.leader()).toBe('intruder');
    expect(log).toEqual(['0 a start', '2000 a stop']);
    await a.stop();
  });

  it("carries the leader's annotations on its renewals to the next leader, and a new leader keeps them", async () => {
    const { clock, store, make } = setup();
    const a = make('a');
    a.start();
    await flushPromises();
    const writes = store.state.writes;
    a.carry('tabby.dev/x', 'from-a');
    // Not a request of its own: it rides on the next renewal.
    expect(store.state.writes).toBe(writes);
    await clock.advance(2_000);
    expect(store.state.writes).toBe(writes + 1);
    expect(store.lease()?.metadata.annotations).toEqual({ 'tabby.dev/x': 'from-a' });
    const b = make('b');
    b.start();
    await flushPromises();
    await a.stop({ release: false });
    await clock.advance(20_000);
    expect(b.isLeader()).toBe(true);
    // b took the lease over: a's annotation is still there, and b reads it.
    expect(b.annotation('tabby.dev/x')).toBe('from-a');
    expect(store.lease()?.metadata.annotations).toEqual({ 'tabby.dev/x': 'from-a' });
    b.carry('tabby.dev/x', null);
    await clock.advance(2_000);
    expect(store.lease()?.metadata.annotations).toEqual({});
    await b.stop();
  });

  it('forgets what it carried when it stops leading: a later term writes nothing stale', async () => {
    const { clock, store, make } = setup();
    const a = make('a');
    a.start();
    await flushPromises();
    a.carry('tabby.dev/x', 'term-1');
    await clock.advance(2_000);
    store.steal('intruder');
    await clock.advance(2_000);
    expect(a.isLeader()).toBe(false);
    // Not leading: carry is ignored.
    a.carry('tabby.dev/x', 'ignored');
    const l = store.lease()!;
    store.steal('');
    // The intruder's term changed the annotation; a takes the free lease and must leave it as the intruder left it.
    (store.lease()!.metadata as { annotations?: Record<string, string> }).annotations = { 'tabby.dev/x': 'term-2' };
    await clock.advance(4_000);
    expect(a.isLeader()).toBe(true);
    expect(l.spec?.holderIdentity).toBe('intruder');
    expect(store.lease()?.metadata.annotations).toEqual({ 'tabby.dev/x': 'term-2' });
    await a.stop();
  });
});
