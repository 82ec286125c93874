import { describe, expect, it } from 'vitest';
import type { Event } from '../kube/index.js';
import { formatHistory, ipamHistory } from './ipam-history.js';

const ev = (name: string, over: Partial<Event>): Event => ({
  metadata: { name, namespace: 'shop' },
  reportingController: 'tabby.dev/agent',
  reportingInstance: 'node-1',
  type: 'Normal',
  ...over,
});

const events: Event[] = [
  ev('b', {
    eventTime: '2026-01-01T10:05:00.000000Z',
    action: 'Release',
    reason: 'AddressReleased',
    note: 'released 10.65.0.5 on node node-1, handle h1',
    regarding: { apiVersion: 'v1', kind: 'Pod', namespace: 'shop', name: 'cart-1' },
  }),
  ev('a', {
    eventTime: '2026-01-01T10:00:00.000000Z',
    action: 'Allocate',
    reason: 'AddressAssigned',
    note: 'assigned 10.65.0.5 (block 10.65.0.0/26) on node node-1, handle h1',
    regarding: { apiVersion: 'v1', kind: 'Pod', namespace: 'shop', name: 'cart-1' },
    related: { apiVersion: 'projectcalico.org/v3', kind: 'IPAMBlock', name: '10-65-0-0-26' },
    series: { count: 3, lastObservedTime: '2026-01-01T10:02:00.000000Z' },
  }),
  // Not IPAM history: the kubelet's, and another reason of ours.
  ev('c', { reportingController: 'kubelet', reason: 'AddressAssigned', note: 'assigned 10.65.0.5' }),
  ev('d', { reportingController: 'tabby.dev/operator', reason: 'PoolOverlap', note: 'pool 10.65.0.0/16 overlaps' }),
];

describe('tabby ipam history', () => {
  it('keeps our IPAM Events about the query, oldest first, with repeats counted', () => {
    const rows = ipamHistory(events, { pod: { namespace: 'shop', name: 'cart-1' } });
    expect(rows.map((r) => [r.time, r.reason, r.object, r.count, r.related])).toEqual([
      ['2026-01-01T10:00:00.000000Z', 'AddressAssigned', 'Pod/shop/cart-1', 3, 'IPAMBlock/10-65-0-0-26'],
      ['2026-01-01T10:05:00.000000Z', 'AddressReleased', 'Pod/shop/cart-1', 1, undefined],
    ]);
    expect(ipamHistory(events, { ip: '10.65.0.5' }).map((r) => r.reason)).toEqual([
      'AddressAssigned',
      'AddressReleased',
    ]);
    expect(ipamHistory(events, { ip: '10.65.0.6' })).toEqual([]);
  });

  it('prints time, action, reason, object and note as columns; says so when there is nothing', () => {
    const q = { pod: { namespace: 'shop', name: 'cart-1' } };
    expect(formatHistory(ipamHistory(events, q), q)).toBe(
      'TIME                          ACTION     REASON            OBJECT            NOTE\n' +
        '2026-01-01T10:00:00.000000Z   Allocate   AddressAssigned   Pod/shop/cart-1   assigned 10.65.0.5 (block 10.65.0.0/26) on node node-1, handle h1 (3 times, last 2026-01-01T10:02:00.000000Z)\n' +
        '2026-01-01T10:05:00.000000Z   Release    AddressReleased   Pod/shop/cart-1   released 10.65.0.5 on node node-1, handle h1\n',
    );
    expect(formatHistory([], { ip: '10.9.9.9' })).toBe(
      "no IPAM history for 10.9.9.9 (Events are kept for the apiserver's --event-ttl, 1h by default)\n",
    );
  });
});
