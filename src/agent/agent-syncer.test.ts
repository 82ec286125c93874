import { describe, expect, it } from 'vitest';
import type { RouteEntry } from '../api/route-table.js';
import { createAgentSyncer, type SyncInput } from './agent-syncer.js';
import { programmedCondition, toNodeApplied } from './apply-report.js';
import { buildNodeDesired, buildShard } from './test-support/desired-builder.js';
import { emptyPlan } from './kernel-diff.js';
import { IPIP_UNAVAILABLE } from './kernel-target.js';
import { createMemoryDataplane } from './memory-dataplane.js';

const clock = () => new Date('2026-01-02T03:04:05.000Z');

function direct(i: number): RouteEntry {
  return {
    cidr: `10.244.${i}.0/26`,
    node: `node-${i}`,
    nodeIP: `192.168.0.${i}`,
    via: `192.168.0.${i}`,
    kind: 'direct',
    pool: 'p',
  };
}

function input(entries: RouteEntry[], over: Partial<Parameters<typeof buildNodeDesired>[0]> = {}): SyncInput {
  return {
    desired: buildNodeDesired({
      blocks: [{ cidr: '10.244.100.0/26', pool: 'p' }],
      natOutgoing: { sourceCidrs: ['10.244.0.0/16'], allPoolCidrs: ['10.244.0.0/16'] },
      ...over,
    }),
    shards: [buildShard('cluster-0', entries)],
  };
}

describe('createAgentSyncer', () => {
  it('programs from empty, then a second sync with the same input changes nothing', async () => {
    const dp = createMemoryDataplane({});
    const s = createAgentSyncer({ nodeName: 'node-a', dataplane: dp, clock });
    const first = await s.syncOnce(input([direct(1), direct(2)]));
    expect(first).toMatchObject({ programmed: true, changed: true, reread: true, reason: 'Programmed', fatal: false });
    expect(first.counts).toEqual({ routes: 2, blackholes: 1, neighbours: 0, fdbEntries: 0, devices: 0 });
    expect(first.operations).toMatchObject({ ipLines: 3, processes: 1, sysctlWrites: 1, natReplaced: true });
    expect(dp.sysctls.get('net/ipv4/ip_forward')).toBe('1');

    const second = await s.syncOnce(input([direct(1), direct(2)]));
    expect(second).toMatchObject({ programmed: true, changed: false, reread: false });
    expect(second.operations).toMatchObject({ ipLines: 0, processes: 0, sysctlWrites: 0, natReplaced: false });
    expect(dp.plans).toHaveLength(1);
  });

  it('a one-route change is one line, without reading the kernel again', async () => {
    const dp = createMemoryDataplane({});
    const s = createAgentSyncer({ nodeName: 'node-a', dataplane: dp, clock });
    await s.syncOnce(input([direct(1), direct(2)]));
    const r = await s.syncOnce(input([direct(1), direct(3)]));
    expect(r.operations).toMatchObject({ ipLines: 2, processes: 1 });
    expect(dp.reads).toBe(1);
    expect([...dp.state.routes.keys()].sort()).toEqual(['10.244.1.0/26', '10.244.100.0/26', '10.244.3.0/26']);
  });

  it('restores drift after invalidate() and leaves correct routes alone', async () => {
    const dp = createMemoryDataplane({});
    const s = createAgentSyncer({ nodeName: 'node-a', dataplane: dp, clock });
    await s.syncOnce(input([direct(1), direct(2)]));
    const routes = new Map(dp.state.routes);
    routes.delete('10.244.2.0/26');
    dp.state = { ...dp.state, routes };

    expect((await s.syncOnce(input([direct(1), direct(2)]))).changed).toBe(false); // trusts its last apply
    s.invalidate();
    const r = await s.syncOnce(input([direct(1), direct(2)]));
    expect(r).toMatchObject({ reread: true, changed: true });
    expect(dp.plans.at(-1)?.routeAdds.map((x) => x.dst)).toEqual(['10.244.2.0/26']);
  });

  it('keeps a working route while a mode switch is half-seen (shard wants a device the plan does not have yet)', async () => {
    const dp = createMemoryDataplane({});
    const s = createAgentSyncer({ nodeName: 'node-a', dataplane: dp, clock });
    await s.syncOnce(input([direct(1)]));
    const vxlan: RouteEntry = {
      ...direct(1),
      kind: 'vxlan',
      via: '10.244.1.0',
      vtepIP: '10.244.1.0',
      vtepMAC: '66:00:00:00:00:01',
    };
    // The shard already says VXLAN; this node's NodeDataplane does not plan vxlan.calico yet.
    const half = await s.syncOnce(input([vxlan]));
    expect(half).toMatchObject({ programmed: false, reason: 'Conflict' });
    expect(dp.state.routes.get('10.244.1.0/26')).toMatchObject({ via: '192.168.0.1' });
    expect(dp.plans.at(-1)?.routeDeletes ?? []).toEqual([]);
    // The NodeDataplane catches up: the device comes, the route moves onto it.
    const tunnels = [
      { name: 'vxlan.calico' as const, type: 'vxlan' as const, family: 4 as const, address: '10.244.100.0' },
    ];
    const done = await s.syncOnce(input([vxlan], { tunnels, felix: { vxlanEnabled: true } }));
    expect(done).toMatchObject({ programmed: true });
    expect(dp.state.routes.get('10.244.1.0/26')).toMatchObject({
      via: '10.244.1.0',
      dev: 'vxlan.calico',
      onlink: true,
    });
  });

  it('a restarted agent reads the kernel first and re-adds nothing', async () => {
    const dp = createMemoryDataplane({});
    await createAgentSyncer({ nodeName: 'node-a', dataplane: dp, clock }).syncOnce(input([direct(1)]));
    const restarted = createAgentSyncer({ nodeName: 'node-a', dataplane: dp, clock });
    const r = await restarted.syncOnce(input([direct(1)]));
    expect(r.operations.ipLines).toBe(0);
    expect(dp.plans).toHaveLength(1);
  });

  it('reports failed lines by object, rereads next time and asks for a retry', async () => {
    const dp = createMemoryDataplane({});
    dp.failObjects.add('route 10.244.2.0/26');
    const s = createAgentSyncer({ nodeName: 'node-a', dataplane: dp, clock });
    const r = await s.syncOnce(input([direct(1), direct(2)]));
    expect(r).toMatchObject({ programmed: false, retry: true, reason: 'ApplyFailed' });
    expect(r.errors).toEqual([{ message: 'injected failure', object: 'route 10.244.2.0/26' }]);
    expect(toNodeApplied(r).revision).toBe('');
    dp.failObjects.clear();
    const again = await s.syncOnce(input([direct(1), direct(2)]));
    expect(again).toMatchObject({ programmed: true, reread: true, lastProgrammedRevision: 'rev-1' });
  });

  it('without the ipip module: Programmed=False with the reason, no retry loop', async () => {
    const dp = createMemoryDataplane({ capabilities: { ipip: false } });
    const s = createAgentSyncer({ nodeName: 'node-a', dataplane: dp, clock });
    const ipip = { ...direct(1), kind: 'ipip' as const, device: 'tunl0' as const };
    const inp = input([ipip, direct(2)], {
      tunnels: [{ name: 'tunl0', type: 'ipip', family: 4, address: '10.244.100.1' }],
      felix: { ipipEnabled: true },
    });
    const r = await s.syncOnce(inp);
    expect(r).toMatchObject({ programmed: false, retry: false, reason: 'IPIPUnavailable', fatal: false });
    expect(r.message).toContain(IPIP_UNAVAILABLE);
    expect([...dp.state.routes.keys()].sort()).toEqual(['10.244.100.0/26', '10.244.2.0/26']);
    expect(programmedCondition(r, 4)).toEqual({
      type: 'Programmed',
      status: 'False',
      observedGeneration: 4,
      lastTransitionTime: '2026-01-02T03:04:05.000Z',
      reason: 'IPIPUnavailable',
      message: `device tunl0: ${IPIP_UNAVAILABLE}; skipped tunl0 and 1 tunnel route(s)`,
    });
    expect((await s.syncOnce(inp)).operations.ipLines).toBe(0);
  });

  it('a dataplane that throws gives a fatal report, never an exception', async () => {
    const dp = createMemoryDataplane({});
    dp.read = () => Promise.reject(new Error('ip: command not found'));
    const r = await createAgentSyncer({ nodeName: 'node-a', dataplane: dp, clock }).syncOnce(input([]));
    expect(r).toMatchObject({ fatal: true, retry: true, programmed: false, reason: 'SyncFailed' });
    expect(r.errors).toEqual([{ message: 'ip: command not found', object: 'sync' }]);
  });

  it('keeps the Programmed transition time while the status holds', async () => {
    const dp = createMemoryDataplane({});
    const r = await createAgentSyncer({ nodeName: 'node-a', dataplane: dp, clock }).syncOnce(input([]));
    const prev = {
      type: 'Programmed',
      status: 'True' as const,
      lastTransitionTime: '2020-01-01T00:00:00Z',
      reason: 'Programmed',
      message: '',
    };
    expect(programmedCondition(r, 1, prev).lastTransitionTime).toBe('2020-01-01T00:00:00Z');
    expect(toNodeApplied(r)).toEqual({
      revision: 'rev-1',
      // One revision per view: sha256 of its shards' `name revision` lines (`printf 'cluster-0 cluster-0-rev' |
      // sha256sum`, first 32 hex digits).
      viewRevisions: [{ view: 'cluster', revision: 'sha256:af9de8f7c87fd1851037258c57f4de1a', shards: 1 }],
      time: '2026-01-02T03:04:05.000Z',
      counts: { routes: 0, blackholes: 1, neighbours: 0, fdbEntries: 0, devices: 0 },
    });
  });

  it('memory dataplane applies nothing for an empty plan', async () => {
    const dp = createMemoryDataplane({});
    expect((await dp.apply(emptyPlan(), 80)).processes).toBe(0);
  });
});
