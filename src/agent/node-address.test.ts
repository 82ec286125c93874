// Oracle: Calico's autodetection (node/pkg/lifecycle/startup/autodetection: autodetection_methods.go, filtered.go,
// interfaces.go) — interfaces from the highest index down, unanchored name patterns, default exclusions only for
// first-found and skip-interface, Go's IsGlobalUnicast — and its documented IP_AUTODETECTION_METHOD values.
import { describe, expect, it } from 'vitest';
import { detectNodeAddress, hostAddressesFromIpJson, parseAutodetectMethod, type HostAddress } from './node-address.js';

const addr = (iface: string, index: number, address: string, prefixLength = 24): HostAddress => ({
  iface,
  index,
  address,
  prefixLength,
});

// A typical node: loopback, a docker bridge, the uplink, a pod veth, Calico's VXLAN device.
const NODE: HostAddress[] = [
  addr('lo', 1, '127.0.0.1', 8),
  addr('eth0', 2, '10.0.0.11', 24),
  addr('docker0', 3, '172.17.0.1', 16),
  addr('cali1234567890a', 7, '169.254.1.1', 32),
  addr('vxlan.calico', 9, '192.168.39.0', 32),
];

describe('parseAutodetectMethod', () => {
  it("accepts Calico's method names", () => {
    expect(parseAutodetectMethod('')).toEqual({ kind: 'first-found' });
    expect(parseAutodetectMethod('first-found')).toEqual({ kind: 'first-found' });
    expect(parseAutodetectMethod('kubernetes-internal-ip')).toEqual({ kind: 'kubernetes-internal-ip' });
    const i = parseAutodetectMethod('interface=eth.*, ens3');
    expect(i.kind).toBe('interface');
    expect(i.kind === 'interface' && i.patterns.map((r) => r.source)).toEqual(['eth.*', 'ens3']);
    const c = parseAutodetectMethod('cidr=10.0.0.0/8,192.168.1.0/24');
    expect(c.kind === 'cidr' && c.cidrs.length).toBe(2);
  });

  it('refuses what Calico would not understand, naming the variable and the part', () => {
    expect(() => parseAutodetectMethod('first_found')).toThrow(/IP_AUTODETECTION_METHOD="first_found": expected/);
    expect(() => parseAutodetectMethod('can-reach=8.8.8.8')).toThrow(/can-reach is not supported/);
    expect(() => parseAutodetectMethod('interface=')).toThrow(/needs at least one regular expression/);
    expect(() => parseAutodetectMethod('interface=eth[')).toThrow(/"eth\[" is not a valid regular expression/);
    expect(() => parseAutodetectMethod('cidr=10.0.0.0/33')).toThrow(/"10.0.0.0\/33" is not a CIDR/);
  });
});

describe('detectNodeAddress', () => {
  const detect = (method: string, addresses = NODE, internal: string[] = []): string | undefined =>
    detectNodeAddress(parseAutodetectMethod(method), addresses, internal);

  it('first-found skips the excluded names and non-global addresses, keeping the interface prefix', () => {
    expect(detect('first-found')).toBe('10.0.0.11/24');
  });

  it('searches from the highest interface index down', () => {
    const two = [addr('eth0', 2, '10.0.0.11'), addr('eth1', 3, '10.1.0.11', 16)];
    expect(detect('first-found', two)).toBe('10.1.0.11/16');
  });

  it("takes an interface's addresses in their order", () => {
    const one = [addr('eth0', 2, '10.0.0.11', 24), addr('eth0', 2, '10.0.5.11', 16)];
    expect(detect('first-found', one)).toBe('10.0.0.11/24');
  });

  it('never picks loopback, link-local, multicast, 0.0.0.0 or broadcast addresses', () => {
    const odd = [
      addr('eth0', 2, '169.254.3.4', 16),
      addr('eth1', 3, '224.0.0.5', 4),
      addr('eth2', 4, '0.0.0.0', 0),
      addr('eth3', 5, '255.255.255.255', 32),
      addr('eth4', 6, '127.0.0.2', 8),
    ];
    expect(detect('first-found', odd)).toBeUndefined();
    expect(detect('first-found', [...odd, addr('eth5', 1, '10.9.9.9', 20)])).toBe('10.9.9.9/20');
  });

  it('interface= matches unanchored and does not apply the default exclusions', () => {
    expect(detect('interface=docker')).toBe('172.17.0.1/16');
    expect(detect('interface=th0')).toBe('10.0.0.11/24');
    expect(detect('interface=nomatch')).toBeUndefined();
  });

  it('skip-interface= adds to the default exclusions', () => {
    const two = [addr('eth0', 2, '10.0.0.11'), addr('eth1', 3, '10.1.0.11', 16), addr('docker0', 4, '172.17.0.1')];
    expect(detect('skip-interface=eth1', two)).toBe('10.0.0.11/24');
  });

  it('cidr= takes the first address inside one of the CIDRs, on any interface', () => {
    expect(detect('cidr=172.16.0.0/12')).toBe('172.17.0.1/16');
    expect(detect('cidr=10.0.0.0/8, 172.16.0.0/12')).toBe('172.17.0.1/16');
    expect(detect('cidr=192.0.2.0/24')).toBeUndefined();
  });

  it('kubernetes-internal-ip takes the first IPv4 InternalIP with the prefix of the interface holding it', () => {
    expect(detect('kubernetes-internal-ip', NODE, ['fd00::1', '10.0.0.11'])).toBe('10.0.0.11/24');
    expect(detect('kubernetes-internal-ip', NODE, ['10.0.0.99'])).toBeUndefined();
    expect(detect('kubernetes-internal-ip', NODE, [])).toBeUndefined();
  });
});

describe('hostAddressesFromIpJson', () => {
  it('reads ip -json -4 address show, keeping the interface index and IPv4 addresses only', () => {
    const json = [
      { ifindex: 1, ifname: 'lo', addr_info: [{ family: 'inet', local: '127.0.0.1', prefixlen: 8 }] },
      {
        ifindex: 17,
        ifname: 'eth0',
        addr_info: [
          { family: 'inet', local: '172.30.40.2', prefixlen: 24 },
          { family: 'inet6', local: 'fe80::1', prefixlen: 64 },
        ],
      },
      { ifindex: 18, ifname: 'vxlan.calico' },
    ];
    expect(hostAddressesFromIpJson(json)).toEqual([
      { iface: 'lo', index: 1, address: '127.0.0.1', prefixLength: 8 },
      { iface: 'eth0', index: 17, address: '172.30.40.2', prefixLength: 24 },
    ]);
    expect(() => hostAddressesFromIpJson({})).toThrow(/expected a JSON array/);
  });
});
