import { describe, expect, it } from 'vitest';
import type { Event } from './core-kinds.js';
import { NotFoundError, TransientError } from './errors.js';
import { createEventRecorder, type EventClient, type EventInput } from './events.js';
import { FakeClock, flushPromises } from './test-support/fake-clock.js';

const target = { verb: 'x', resource: 'events.events.k8s.io' };

function fakeEvents() {
  const objects = new Map<string, Event>();
  const calls: string[] = [];
  const state = { fail: false };
  const client: EventClient = {
    async create(e, o) {
      calls.push(`create ${e.reason} count=${e.series?.count ?? 1}`);
      if (state.fail) throw new TransientError({ status: 503, reason: 'Unavailable', serverMessage: 'down', target });
      const key = `${o?.namespace}/${e.metadata.name}`;
      objects.set(key, e);
      return e;
    },
    async mergePatch(name, patch, o) {
      const series = patch['series'] as { count: number };
      calls.push(`patch ${name.split('.')[0]} count=${series.count}`);
      const key = `${o?.namespace}/${name}`;
      const e = objects.get(key);
      if (!e) throw new NotFoundError({ status: 404, reason: 'NotFound', serverMessage: 'gone', target });
      const updated = { ...e, series: patch['series'] as Event['series'] };
      objects.set(key, updated);
      return updated;
    },
  };
  return { client, objects, calls, state };
}

const overlap: EventInput = {
  regarding: { apiVersion: 'projectcalico.org/v3', kind: 'IPPool', name: 'pool-a', uid: 'u1' },
  type: 'Warning',
  reason: 'Overlap',
  action: 'Validate',
  note: 'IPPool pool-a: spec.cidr: overlaps IPPool pool-b',
};

function setup() {
  const clock = new FakeClock(1_700_000_000_000);
  const f = fakeEvents();
  const rec = createEventRecorder({
    events: f.client,
    reportingController: 'tabby.dev/operator',
    reportingInstance: 'op-0',
    clock,
    seriesWindowMs: 360_000,
    seriesUpdateIntervalMs: 30_000,
  });
  return { clock, rec, ...f };
}

describe('event recorder', () => {
  it('creates one Event in the default namespace for a cluster-scoped object, with every required field', async () => {
    const { rec, objects } = setup();
    rec.record(overlap);
    await rec.flush();
    expect(objects.size).toBe(1);
    const [key, e] = [...objects][0]!;
    expect(key).toMatch(/^default\/pool-a\.[0-9a-f]+$/);
    expect(e).toMatchObject({
      eventTime: '2023-11-14T22:13:20.000000Z',
      reportingController: 'tabby.dev/operator',
      reportingInstance: 'op-0',
      action: 'Validate',
      reason: 'Overlap',
      type: 'Warning',
      note: overlap.note,
      regarding: { apiVersion: 'projectcalico.org/v3', kind: 'IPPool', name: 'pool-a', uid: 'u1' },
    });
    expect(e?.series).toBeUndefined();
  });

  it('folds repeats into a series, written at most once per interval', async () => {
    const { clock, rec, calls } = setup();
    rec.record(overlap);
    await flushPromises();
    for (let i = 0; i < 5; i++) {
      await clock.advance(1_000);
      rec.record(overlap);
    }
    await flushPromises();
    expect(calls).toEqual(['create Overlap count=1']);
    await clock.advance(25_000);
    expect(calls).toEqual(['create Overlap count=1', 'patch pool-a count=6']);
    rec.record(overlap);
    await rec.flush();
    expect(calls).toEqual(['create Overlap count=1', 'patch pool-a count=6', 'patch pool-a count=7']);
    expect(rec.stats()).toEqual({ created: 1, seriesUpdates: 2, failed: 0, rateLimited: 0 });
  });

  it('a different note, reason or object is a different Event', async () => {
    const { rec, calls } = setup();
    rec.record(overlap);
    rec.record({ ...overlap, note: 'IPPool pool-a: spec.cidr: overlaps IPPool pool-c' });
    rec.record({ ...overlap, reason: 'Invalid' });
    rec.record({ ...overlap, regarding: { ...overlap.regarding, name: 'pool-z' } });
    await rec.flush();
    expect(calls.filter((c) => c.startsWith('create')).length).toBe(4);
  });

  it('a repeat after the series window starts a new Event', async () => {
    const { clock, rec, calls } = setup();
    rec.record(overlap);
    await clock.advance(360_001);
    rec.record(overlap);
    await rec.flush();
    expect(calls).toEqual(['create Overlap count=1', 'create Overlap count=1']);
  });

  it('an Event that expired on the server is created again with its count', async () => {
    const { rec, objects, calls } = setup();
    rec.record(overlap);
    await rec.flush();
    objects.clear();
    rec.record(overlap);
    await rec.flush();
    expect(calls).toEqual(['create Overlap count=1', 'patch pool-a count=2', 'create Overlap count=2']);
  });

  it('never throws when the server fails; counts the loss', async () => {
    const { rec, state } = setup();
    state.fail = true;
    expect(() => rec.record(overlap)).not.toThrow();
    await rec.flush();
    expect(rec.stats()).toEqual({ created: 0, seriesUpdates: 0, failed: 1, rateLimited: 0 });
  });

  it('cuts an over-long note to the 1 KiB the API allows', async () => {
    const { rec, objects } = setup();
    rec.record({ ...overlap, note: 'x'.repeat(5000) });
    await rec.flush();
    const e = [...objects.values()][0];
    expect(Buffer.byteLength(e?.note ?? '')).toBe(1024);
    expect(e?.note?.endsWith('...')).toBe(true);
  });
});
