import { describe, expect, it } from 'vitest';
import type { HostInterface } from './kernel-model.js';
import { DEFAULT_MTU_IFACE_PATTERN, FALLBACK_HOST_MTU, compileIfacePattern, findHostMtu, tunnelMtu } from './mtu.js';

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
