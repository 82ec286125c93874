import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type KernelWant, diffKernel, emptyPlan, planSize, simulatePlan, stateSatisfies } from './kernel-diff.js';
import {
  type FdbSpec,
  type KernelState,
  type LinkState,
  type NeighbourSpec,
  type RouteSpec,
  type TunnelDeviceSpec,
  emptyKernelState,
  fdbKey,
  neighbourKey,
} from './kernel-model.js';
import { renderBatches } from './linux/ip-batch.js';

// Small domains so that observed and target overlap often: collisions are where diffs go wrong.
const dsts = ['10.0.0.0/26', '10.0.0.64/26', '10.0.1.0/26', '10.0.1.7/32', '10.0.2.0/24', 'fd00::/122'];
const vias = ['192.168.0.2', '192.168.0.3', '10.0.1.0'];
const macs = ['66:00:00:00:00:01', '66:00:00:00:00:02', '66:00:00:00:00:03'];
const vteps = ['10.0.1.0', '10.0.2.0', '10.0.3.0'];

const vxlanSpec: fc.Arbitrary<TunnelDeviceSpec> = fc.record(
  {
    kind: fc.constant('vxlan' as const),
    name: fc.constant('vxlan.calico' as const),
    family: fc.constant(4 as const),
    vni: fc.constantFrom(4096, 4097),
    port: fc.constantFrom(4789, 8472),
    local: fc.constantFrom('192.168.0.1', '192.168.0.9'),
    parent: fc.constantFrom('eth0', 'eth1'),
    mac: fc.constantFrom(...macs),
    mtu: fc.constantFrom(1450, 1400),
  },
  { requiredKeys: ['kind', 'name', 'family', 'vni', 'port', 'mtu'] },
);
const ipipSpec: fc.Arbitrary<TunnelDeviceSpec> = fc.record({
  kind: fc.constant('ipip' as const),
  name: fc.constant('tunl0' as const),
  family: fc.constant(4 as const),
  mtu: fc.constantFrom(1480, 1440),
});

const linkState = (name: string): fc.Arbitrary<LinkState> =>
  fc.record(
    {
      name: fc.constant(name),
      kind: fc.constantFrom('vxlan', 'ipip', 'dummy'),
      up: fc.boolean(),
      mtu: fc.constantFrom(1450, 1400, 1480, 1500),
      mac: fc.constantFrom(...macs),
      vni: fc.constantFrom(4096, 4097),
      port: fc.constantFrom(4789, 8472),
      local: fc.constantFrom('192.168.0.1', '192.168.0.9'),
      parent: fc.constantFrom('eth0', 'eth1'),
      learning: fc.boolean(),
    },
    { requiredKeys: ['name', 'kind', 'up', 'mtu'] },
  );

const anyRoute: fc.Arbitrary<RouteSpec> = fc.oneof(
  fc.record({ dst: fc.constantFrom(...dsts), type: fc.constant('blackhole' as const) }),
  fc.record(
    {
      dst: fc.constantFrom(...dsts),
      type: fc.constant('unicast' as const),
      via: fc.constantFrom(...vias),
      dev: fc.constantFrom('eth0', 'vxlan.calico', 'tunl0'),
      onlink: fc.boolean(),
    },
    { requiredKeys: ['dst', 'type', 'via', 'dev'] },
  ),
);

const observedState: fc.Arbitrary<KernelState> = fc
  .record({
    vx: fc.option(linkState('vxlan.calico'), { nil: undefined }),
    tu: fc.option(linkState('tunl0'), { nil: undefined }),
    addrs: fc.subarray(['10.0.9.0/32', '10.0.9.1/32', '10.0.8.0/32']),
    routes: fc.array(anyRoute, { maxLength: 8 }),
    neigh: fc.array(fc.record({ ip: fc.constantFrom(...vteps), mac: fc.constantFrom(...macs) }), { maxLength: 4 }),
    fdb: fc.array(fc.record({ mac: fc.constantFrom(...macs), dst: fc.constantFrom(...vias) }), { maxLength: 4 }),
  })
  .map(({ vx, tu, addrs, routes, neigh, fdb }) => {
    const s = emptyKernelState();
    const links = new Map<string, LinkState>();
    const addresses = new Map<string, string[]>();
    if (vx) {
      links.set(vx.name, vx);
      addresses.set(vx.name, [...addrs].sort());
    }
    if (tu) {
      links.set(tu.name, tu);
      addresses.set(tu.name, addrs.slice(0, 1));
    }
    const r = new Map<string, RouteSpec>();
    for (const x of routes) if (!r.has(x.dst)) r.set(x.dst, x);
    const n = new Map<string, NeighbourSpec>();
    const f = new Map<string, FdbSpec>();
    if (vx) {
      for (const x of neigh) n.set(neighbourKey({ dev: 'vxlan.calico', ip: x.ip }), { dev: 'vxlan.calico', ...x });
      for (const x of fdb) f.set(fdbKey({ dev: 'vxlan.calico', mac: x.mac }), { dev: 'vxlan.calico', ...x });
    }
    return { ...s, links, addresses, routes: r, neighbours: n, fdb: f };
  });

const target: fc.Arbitrary<KernelWant> = fc
  .record({
    vx: fc.option(vxlanSpec, { nil: undefined }),
    tu: fc.option(ipipSpec, { nil: undefined }),
    retireVx: fc.boolean(),
    stripTu: fc.boolean(),
    addr: fc.option(fc.constantFrom('10.0.9.0/32', '10.0.7.0/32'), { nil: undefined }),
    routes: fc.array(
      fc.record({
        dst: fc.constantFrom(...dsts),
        kind: fc.constantFrom('blackhole', 'direct', 'vxlan', 'ipip'),
        via: fc.constantFrom(...vias),
      }),
      { maxLength: 8 },
    ),
    vteps: fc.array(
      fc.record({ ip: fc.constantFrom(...vteps), mac: fc.constantFrom(...macs), dst: fc.constantFrom(...vias) }),
      {
        maxLength: 3,
      },
    ),
  })
  .map(({ vx, tu, retireVx, stripTu, addr, routes, vteps: vt }) => {
    const devices = [vx, tu].filter((d): d is TunnelDeviceSpec => d !== undefined);
    const addresses = new Map<string, string[]>(devices.map((d) => [d.name, addr ? [addr] : []]));
    const r = new Map<string, RouteSpec>();
    for (const x of routes) {
      if (r.has(x.dst)) continue;
      if (x.kind === 'blackhole') r.set(x.dst, { dst: x.dst, type: 'blackhole' });
      else if (x.kind === 'direct') r.set(x.dst, { dst: x.dst, type: 'unicast', via: x.via });
      else if (x.kind === 'vxlan' && vx)
        r.set(x.dst, { dst: x.dst, type: 'unicast', via: x.via, dev: 'vxlan.calico', onlink: true });
      else if (x.kind === 'ipip' && tu)
        r.set(x.dst, { dst: x.dst, type: 'unicast', via: x.via, dev: 'tunl0', onlink: true });
    }
    const neighbours = new Map<string, NeighbourSpec>();
    const fdb = new Map<string, FdbSpec>();
    if (vx) {
      for (const v of vt) {
        const n = { dev: 'vxlan.calico', ip: v.ip, mac: v.mac };
        const f = { dev: 'vxlan.calico', mac: v.mac, dst: v.dst };
        if (neighbours.has(neighbourKey(n)) || fdb.has(fdbKey(f))) continue;
        neighbours.set(neighbourKey(n), n);
        fdb.set(fdbKey(f), f);
      }
    }
    return {
      devices,
      deleteDevices: !vx && retireVx ? (['vxlan.calico'] as const).slice() : [],
      stripDevices: !tu && stripTu ? (['tunl0'] as const).slice() : [],
      addresses,
      routes: r,
      neighbours,
      fdb,
    };
  });

describe('diffKernel (property)', () => {
  it('applying diff(observed, target) to observed gives a state that satisfies target', () => {
    fc.assert(
      fc.property(observedState, target, (obs, want) => {
        const after = simulatePlan(obs, diffKernel(obs, want));
        expect(stateSatisfies(after, want)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('is idempotent: once applied, the diff is empty', () => {
    fc.assert(
      fc.property(observedState, target, (obs, want) => {
        const after = simulatePlan(obs, diffKernel(obs, want));
        expect(planSize(diffKernel(after, want))).toBe(0);
      }),
      { numRuns: 1000 },
    );
  });

  it('is empty exactly when the observed state already satisfies the target', () => {
    fc.assert(
      fc.property(observedState, target, (obs, want) => {
        expect(planSize(diffKernel(obs, want)) === 0).toBe(stateSatisfies(obs, want));
      }),
      { numRuns: 1000 },
    );
  });

  it('never touches a route it leaves as it is, and every rendered route line carries the protocol', () => {
    fc.assert(
      fc.property(observedState, target, (obs, want) => {
        const plan = diffKernel(obs, want);
        const recreated = new Set(plan.linkDeletes);
        for (const r of [...plan.routeAdds, ...plan.routeReplaces]) {
          const have = obs.routes.get(r.dst);
          const untouched = have !== undefined && JSON.stringify(have) === JSON.stringify(r);
          expect(untouched && !recreated.has(r.dev ?? '')).toBe(false);
        }
        // `add` only where the agent holds no route (after device deletions), `replace` only where it does.
        // Devices retired by the plan go last, after the routes moved off them: not part of `base`.
        const base = simulatePlan(obs, { ...emptyPlan(), linkDeletes: plan.linkDeletes, linkAdds: plan.linkAdds });
        for (const r of plan.routeAdds) expect(base.routes.has(r.dst)).toBe(false);
        for (const r of plan.routeReplaces) expect(base.routes.has(r.dst)).toBe(true);
        for (const l of renderBatches(plan, 80).ip)
          if (l.text.startsWith('route ')) expect(l.text).toMatch(/ proto 80( |$)/);
      }),
      { numRuns: 500 },
    );
  });
});

describe('diffKernel cases', () => {
  const vx: TunnelDeviceSpec = {
    kind: 'vxlan',
    name: 'vxlan.calico',
    family: 4,
    vni: 4096,
    port: 4789,
    local: '192.168.0.1',
    parent: 'eth0',
    mac: '66:00:00:00:00:01',
    mtu: 1450,
  };
  const want = (over: Partial<KernelWant> = {}): KernelWant => ({
    devices: [vx],
    deleteDevices: [],
    stripDevices: [],
    addresses: new Map([['vxlan.calico', ['10.0.1.0/32']]]),
    routes: new Map([
      ['10.0.2.0/26', { dst: '10.0.2.0/26', type: 'unicast', via: '10.0.2.0', dev: 'vxlan.calico', onlink: true }],
    ]),
    neighbours: new Map(),
    fdb: new Map(),
    ...over,
  });

  it('recreates the device when its VNI changed, and re-adds what the deletion took with it', () => {
    const start = simulatePlan(emptyKernelState(), diffKernel(emptyKernelState(), want()));
    const plan = diffKernel(start, want({ devices: [{ ...vx, vni: 4097 }] }));
    expect(plan.linkDeletes).toEqual(['vxlan.calico']);
    expect(plan.linkAdds.map((d) => d.name)).toEqual(['vxlan.calico']);
    expect(plan.addressAdds).toEqual([{ dev: 'vxlan.calico', cidr: '10.0.1.0/32' }]);
    expect(plan.routeAdds.map((r) => r.dst)).toEqual(['10.0.2.0/26']);
    expect(plan.routeDeletes).toEqual([]);
  });

  it('a mode switch moves routes off a retired device before deleting it (no gap)', () => {
    const start = simulatePlan(emptyKernelState(), diffKernel(emptyKernelState(), want()));
    const direct = want({
      devices: [],
      deleteDevices: ['vxlan.calico'],
      addresses: new Map(),
      routes: new Map([['10.0.2.0/26', { dst: '10.0.2.0/26', type: 'unicast', via: '192.168.0.2' }]]),
    });
    expect(renderBatches(diffKernel(start, direct), 80).ip.map((l) => l.text)).toEqual([
      'route replace 10.0.2.0/26 via 192.168.0.2 proto 80',
      'link del dev vxlan.calico',
    ]);
  });

  it('changes MTU and MAC in place', () => {
    const start = simulatePlan(emptyKernelState(), diffKernel(emptyKernelState(), want()));
    const plan = diffKernel(start, want({ devices: [{ ...vx, mtu: 1400, mac: '66:00:00:00:00:09' }] }));
    expect(plan.linkUpdates).toEqual([{ name: 'vxlan.calico', mtu: 1400, mac: '66:00:00:00:00:09' }]);
    expect(planSize(plan)).toBe(1);
  });

  it('a direct route the kernel resolved to eth0 satisfies "via X, no device"', () => {
    const obs: KernelState = {
      ...emptyKernelState(),
      routes: new Map([['10.0.3.0/26', { dst: '10.0.3.0/26', type: 'unicast', via: '192.168.0.3', dev: 'eth0' }]]),
    };
    const w = want({
      devices: [],
      addresses: new Map(),
      routes: new Map([['10.0.3.0/26', { dst: '10.0.3.0/26', type: 'unicast', via: '192.168.0.3' }]]),
    });
    expect(planSize(diffKernel(obs, w))).toBe(0);
  });

  it('replaces a route it holds in another form (no gap), adds one it does not hold', () => {
    const start = simulatePlan(emptyKernelState(), diffKernel(emptyKernelState(), want()));
    const routes = new Map(want().routes);
    routes.set('10.0.2.0/26', { dst: '10.0.2.0/26', type: 'unicast', via: '192.168.0.2' });
    const plan = diffKernel(start, want({ routes }));
    expect(renderBatches(plan, 80).ip.map((l) => l.text)).toEqual([
      'route replace 10.0.2.0/26 via 192.168.0.2 proto 80',
    ]);
  });

  it('one changed route gives one route line', () => {
    const start = simulatePlan(emptyKernelState(), diffKernel(emptyKernelState(), want()));
    const routes = new Map(want().routes);
    routes.set('10.0.4.0/26', { dst: '10.0.4.0/26', type: 'blackhole' });
    const plan = diffKernel(start, want({ routes }));
    expect(renderBatches(plan, 80).ip.map((l) => l.text)).toEqual(['route add blackhole 10.0.4.0/26 proto 80']);
  });
});
