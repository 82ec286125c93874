// Which events reach which controller. Cases derived by hand from what each controller reads: the pool controller
// reads blocks' affinity/deleted (usage by claimed block) and NodeDataplanes' status.pathMTU (PathMTU condition);
// IPAM reads a Node's labels and annotations, never its status.
import { describe, expect, it } from 'vitest';
import type { ChangeEvent } from './caches.js';
import { blockClaimedOrReleased, generationOf, nodeMetaChanged, pathMtuChanged } from './event-news.js';

const dataplane = (pathMTU?: unknown) => ({
  metadata: { name: 'n1', resourceVersion: '1' },
  spec: {},
  status: { programmed: true, ...(pathMTU !== undefined ? { pathMTU } : {}) },
});
const finding = { checked: 2, failing: [] };
const ev = (type: ChangeEvent['type'], old?: unknown, obj?: unknown): ChangeEvent => ({
  cache: 'nodeDataplanes',
  key: 'n1',
  type,
  ...(old !== undefined ? { old } : {}),
  ...(obj !== undefined ? { obj } : {}),
});

describe('pathMtuChanged', () => {
  it('is news only when a finding appears, changes or goes', () => {
    expect(pathMtuChanged(ev('add', undefined, dataplane()))).toBe(false); // the planner's create at a join
    expect(pathMtuChanged(ev('update', dataplane(), dataplane()))).toBe(false); // a status heartbeat
    expect(pathMtuChanged(ev('delete', dataplane(), undefined))).toBe(false); // a node without findings leaves
    expect(pathMtuChanged(ev('add', undefined, dataplane(finding)))).toBe(true);
    expect(pathMtuChanged(ev('update', dataplane(), dataplane(finding)))).toBe(true);
    expect(pathMtuChanged(ev('update', dataplane(finding), dataplane({ checked: 2, failing: ['n2'] })))).toBe(true);
    expect(pathMtuChanged(ev('update', dataplane(finding), dataplane(finding)))).toBe(false);
    expect(pathMtuChanged(ev('delete', dataplane(finding), undefined))).toBe(true);
    // The object left the typed cache without its old version at hand: the pool pass decides.
    expect(pathMtuChanged(ev('invalid'))).toBe(true);
  });
});

describe('blockClaimedOrReleased', () => {
  const block = (affinity: string | null, deleted = false, allocations: (number | null)[] = [null]) => ({
    metadata: { name: '10-244-0-0-26' },
    spec: { cidr: '10.244.0.0/26', affinity, deleted, allocations },
  });
  it('is news for a claim, a release or a soft delete, not for addresses inside the block', () => {
    expect(blockClaimedOrReleased({ ...ev('add', undefined, block('host:a')), cache: 'ipamBlocks' })).toBe(true);
    expect(blockClaimedOrReleased({ ...ev('delete', block('host:a')), cache: 'ipamBlocks' })).toBe(true);
    expect(
      blockClaimedOrReleased({ ...ev('update', block('host:a'), block('host:a', false, [0])), cache: 'ipamBlocks' }),
    ).toBe(false);
    expect(blockClaimedOrReleased({ ...ev('update', block('host:a'), block(null)), cache: 'ipamBlocks' })).toBe(true);
    expect(blockClaimedOrReleased({ ...ev('update', block('host:a'), block('host:b')), cache: 'ipamBlocks' })).toBe(
      true,
    );
    expect(
      blockClaimedOrReleased({ ...ev('update', block('host:a'), block('host:a', true)), cache: 'ipamBlocks' }),
    ).toBe(true);
    expect(blockClaimedOrReleased({ ...ev('invalid'), cache: 'ipamBlocks' })).toBe(false);
  });
});

describe('nodeMetaChanged and generationOf', () => {
  const node = (labels: Record<string, string>, annotations: Record<string, string>, heartbeat: string) => ({
    metadata: { name: 'n1', labels, annotations, generation: 1 },
    status: { conditions: [{ type: 'Ready', lastHeartbeatTime: heartbeat }] },
  });
  it('sees labels and annotations, not status', () => {
    const a = node({ zone: 'a' }, {}, 't1');
    expect(nodeMetaChanged(a, node({ zone: 'a' }, {}, 't2'))).toBe(false);
    expect(nodeMetaChanged(a, node({ zone: 'b' }, {}, 't1'))).toBe(true);
    expect(nodeMetaChanged(a, node({ zone: 'a' }, { 'projectcalico.org/ASNumber': '64512' }, 't1'))).toBe(true);
    expect(nodeMetaChanged({ metadata: {} }, { metadata: { labels: {}, annotations: {} } })).toBe(false);
  });
  it('reads metadata.generation', () => {
    expect(generationOf({ metadata: { generation: 3 } })).toBe(3);
    expect(generationOf(undefined)).toBeUndefined();
  });
});
