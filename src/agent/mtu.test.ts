import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildNodeDesired } from './test-support/desired-builder.js';
import type { HostInterface } from './kernel-model.js';
import {
  DEFAULT_MTU_IFACE_PATTERN,
  FALLBACK_HOST_MTU,
  compileIfacePattern,
  findHostMtu,
  podMtu,
  podMtuOf,
  tunnelMtu,
} from './mtu.js';

const iface = (name: string, mtu: number, up = true): HostInterface => ({ name, mtu, up, addresses: [] });
const pattern = new RegExp(DEFAULT_MTU_IFACE_PATTERN);

describe('findHostMtu (Felix findHostMTU)', () => {
  it.each([
    {
      name: 'smallest matching up interface',
      ifaces: [iface('eth0', 1500), iface('ens3', 9000), iface('eth1', 1400)],
      want: 1400,
    },
    { name: 'down interfaces do not count', ifaces: [iface('eth0', 1500), iface('eth1', 1300, false)], want: 1500 },
    { name: 'non-matching names do not count', ifaces: [iface('docker0', 1000), iface('eth0', 1500)], want: 1500 },
    {
      name: 'our own tunnel devices never count',
      ifaces: [iface('eth0', 1500), iface('vxlan.calico', 1450)],
      want: 1500,
    },
    {
      name: 'nothing matches: Felix fallback',
      ifaces: [iface('lo', 65536), iface('veth9', 1500)],
      want: FALLBACK_HOST_MTU,
    },
  ])('$name', ({ ifaces, want }) => {
    expect(findHostMtu(ifaces, pattern)).toBe(want);
  });
});

describe('tunnelMtu', () => {
  it.each([
    { name: 'IPIP auto', dev: 'tunl0' as const, cfg: [undefined], want: 1480 },
    { name: 'VXLAN auto', dev: 'vxlan.calico' as const, cfg: [0], want: 1450 },
    { name: 'VXLAN v6 auto', dev: 'vxlan-v6.calico' as const, cfg: [], want: 1430 },
    { name: 'first positive configured value wins', dev: 'vxlan.calico' as const, cfg: [0, 1410, 1300], want: 1410 },
  ])('$name', ({ dev, cfg, want }) => {
    expect(tunnelMtu(dev, 1500, ...cfg)).toBe(want);
  });
});

describe('compileIfacePattern', () => {
  it('falls back to the default with a reason on a bad pattern', () => {
    const r = compileIfacePattern('[');
    expect(r.pattern.source).toBe(DEFAULT_MTU_IFACE_PATTERN);
    expect(r.error).toMatch(/^"\[" is not a valid regular expression/);
  });
});

describe('podMtu (Felix determinePodMTU)', () => {
  // Expected values by hand from calico-reference.md §4.8: the smallest enabled encapsulation's MTU (configured, else
  // host MTU − 20 IPIP / − 50 VXLAN / − 70 VXLAN v6); no encapsulation ⇒ the host MTU; a configured pod MTU wins.
  const desired = (
    felix: { ipipEnabled?: boolean; vxlanEnabled?: boolean; vxlanEnabledV6?: boolean },
    mtu: { workload?: number; ipip?: number; vxlan?: number; vxlanV6?: number } = {},
  ) =>
    buildNodeDesired({
      felix: { ipipEnabled: false, vxlanEnabled: false, vxlanEnabledV6: false, ...felix },
      mtu,
    });
  it.each([
    { name: 'IPIP on a 1500 host', felix: { ipipEnabled: true }, host: 1500, want: 1480 },
    { name: 'VXLAN on a 1500 host', felix: { vxlanEnabled: true }, host: 1500, want: 1450 },
    { name: 'VXLAN v6 on a 1500 host', felix: { vxlanEnabledV6: true }, host: 1500, want: 1430 },
    { name: 'VXLAN on a 9000 host (jumbo frames)', felix: { vxlanEnabled: true }, host: 9000, want: 8950 },
    { name: 'VXLAN on a 1362 host', felix: { vxlanEnabled: true }, host: 1362, want: 1312 },
    { name: 'IPIP and VXLAN: the smaller', felix: { ipipEnabled: true, vxlanEnabled: true }, host: 1500, want: 1450 },
    { name: 'no encapsulation: the host MTU', felix: {}, host: 9001, want: 9001 },
    { name: 'no encapsulation, no matching interface', felix: {}, host: FALLBACK_HOST_MTU, want: 1460 },
    {
      name: 'configured vxlanMTU',
      felix: { vxlanEnabled: true },
      mtu: { vxlan: 1400 },
      host: 1500,
      want: 1400,
    },
    {
      name: 'a configured MTU of a disabled encapsulation does not count',
      felix: { vxlanEnabled: true },
      mtu: { ipip: 1300 },
      host: 1500,
      want: 1450,
    },
    {
      name: 'configured pod MTU wins',
      felix: { vxlanEnabled: true },
      mtu: { workload: 1380 },
      host: 1500,
      want: 1380,
    },
  ])('$name → $want', ({ felix, mtu, host, want }) => {
    expect(podMtu(desired(felix, mtu), host)).toBe(want);
  });
});

describe('tunnel and pod MTUs from the host MTU (Felix ConfigureDefaultMTUs, determinePodMTU)', () => {
  // Each encapsulation's MTU and the pod's, for a host MTU (undefined: no interface matches the pattern).
  const derive = (
    host: number | undefined,
    felix: { ipipEnabled: boolean; vxlanEnabled: boolean; vxlanEnabledV6: boolean },
    mtu: { ipip?: number; vxlan?: number; vxlanV6?: number } = {},
  ) => {
    const h = host ?? findHostMtu([], pattern);
    return {
      ipip: tunnelMtu('tunl0', h, mtu.ipip),
      vxlan: tunnelMtu('vxlan.calico', h, mtu.vxlan),
      vxlanV6: tunnelMtu('vxlan-v6.calico', h, mtu.vxlanV6),
      workload: podMtu(buildNodeDesired({ felix, mtu }), h),
    };
  };
  it.each([
    { name: 'host 1500, IPIP only', host: 1500, enabled: [true, false, false], want: [1480, 1450, 1430, 1480] },
    { name: 'host 1500, VXLAN only', host: 1500, enabled: [false, true, false], want: [1480, 1450, 1430, 1450] },
    { name: 'host 1500, VXLAN v4 and v6', host: 1500, enabled: [false, true, true], want: [1480, 1450, 1430, 1430] },
    {
      name: 'no encapsulation: pods get the host MTU',
      host: 9000,
      enabled: [false, false, false],
      want: [8980, 8950, 8930, 9000],
    },
    {
      name: 'no matching interface: Felix falls back to 1460',
      host: undefined,
      enabled: [true, false, false],
      want: [1440, 1410, 1390, 1440],
    },
  ])('$name', ({ host, enabled, want }) => {
    const [ipipEnabled = false, vxlanEnabled = false, vxlanEnabledV6 = false] = enabled;
    const m = derive(host, { ipipEnabled, vxlanEnabled, vxlanEnabledV6 });
    expect([m.ipip, m.vxlan, m.vxlanV6, m.workload]).toEqual(want);
  });

  it('configured MTUs win over derived ones', () => {
    const m = derive(
      1500,
      { ipipEnabled: true, vxlanEnabled: true, vxlanEnabledV6: false },
      { ipip: 1400, vxlan: 1350 },
    );
    expect([m.ipip, m.vxlan, m.workload]).toEqual([1400, 1350, 1350]);
  });
});

describe('podMtuOf', () => {
  it('names the missing NodeDataplane instead of guessing while the node is not planned', () => {
    expect(podMtuOf('node-a', undefined, 1500)).toEqual({
      unknown: 'NodeDataplane node-a has no status.desired yet (the operator has not planned this node)',
    });
  });
  it('waits for the host MTU the first sync reads, instead of assuming 1500', () => {
    expect(podMtuOf('node-a', buildNodeDesired({ felix: { vxlanEnabled: true } }), undefined)).toEqual({
      unknown: "the host MTU of node node-a is read by the agent's first sync, which has not finished",
    });
    expect(podMtuOf('node-a', buildNodeDesired({ felix: { vxlanEnabled: true } }), 9000)).toBe(8950);
  });
  it('property: with no configured MTU, the host MTU minus the largest enabled overhead', () => {
    let runs = 0;
    fc.assert(
      fc.property(fc.integer({ min: 1280, max: 65535 }), fc.boolean(), fc.boolean(), fc.boolean(), (host, a, b, c) => {
        runs++;
        const overhead = Math.max(0, a ? 20 : 0, b ? 50 : 0, c ? 70 : 0);
        const d = buildNodeDesired({ felix: { ipipEnabled: a, vxlanEnabled: b, vxlanEnabledV6: c } });
        expect(podMtuOf('n', d, host)).toBe(host - overhead);
      }),
      { seed: 19, numRuns: 500 },
    );
    expect(runs).toBe(500);
  });
});
