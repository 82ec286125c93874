import { describe, expect, it } from 'vitest';
import { workloadInterfaceName } from '../net/index.js';
import { failedBatchLine, hostInterfaceName, plumbingSteps, type WorkloadSpec } from './workload-plumbing.js';

const spec: WorkloadSpec = {
  hostIf: 'cali7f94ce7c295',
  containerIf: 'eth0',
  netns: '/var/run/netns/pod-a',
  mtu: 1440,
  ipv4: '10.244.1.5',
  replaceHostIf: false,
};

describe('host interface name (Calico VethNameForWorkload)', () => {
  // Pairs from Calico's own tests (libcalico-go conversion_test.go / workloadendpoint_test.go).
  it.each([
    { namespace: 'default', pod: 'podA', name: 'cali7f94ce7c295' },
    { namespace: 'default', pod: 'podB', name: 'cali92cf1f5e9f6' },
    { namespace: 'testNamespace', pod: 'simplePod', name: 'caliedff4356bd6' },
  ])('$namespace/$pod → $name', ({ namespace, pod, name }) => {
    expect(hostInterfaceName({ namespace, name: pod }, 'ignored', workloadInterfaceName)).toBe(name);
  });

  it('without a pod identity: cali + the first 11 characters of the container ID (calico: non-k8s orchestrators)', () => {
    expect(hostInterfaceName(undefined, 'cnitool-5d2e7ab3f4c1a0', workloadInterfaceName)).toBe('calicnitool-5d2');
    expect(hostInterfaceName(undefined, 'abc', workloadInterfaceName)).toBe('caliabc');
  });

  it('is always a valid Linux interface name (≤ 15 bytes)', () => {
    for (const [ns, pod] of [
      ['kube-system', 'coredns-5d78c9869d-abcde'],
      ['a'.repeat(63), 'b'.repeat(253)],
    ] as const) {
      expect(hostInterfaceName({ namespace: ns, name: pod }, 'x', workloadInterfaceName)).toMatch(/^cali[0-9a-f]{11}$/);
    }
  });
});

describe('plumbingSteps', () => {
  it('IPv4: two batches, Calico plumbing', () => {
    const s = plumbingSteps(spec);
    expect(s.hostCreate).toEqual([
      'link add cali7f94ce7c295 mtu 1440 address ee:ee:ee:ee:ee:ee type veth peer name eth0 mtu 1440 netns /var/run/netns/pod-a',
      'link set dev cali7f94ce7c295 up',
      'route add 10.244.1.5/32 dev cali7f94ce7c295 scope link',
    ]);
    expect(s.hostSysctls).toEqual([
      { path: '/proc/sys/net/ipv4/conf/cali7f94ce7c295/route_localnet', value: '1' },
      { path: '/proc/sys/net/ipv4/neigh/cali7f94ce7c295/proxy_delay', value: '0' },
      { path: '/proc/sys/net/ipv4/conf/cali7f94ce7c295/proxy_arp', value: '1' },
      { path: '/proc/sys/net/ipv4/conf/cali7f94ce7c295/forwarding', value: '1' },
      { path: '/proc/sys/net/ipv6/conf/cali7f94ce7c295/accept_ra', value: '0' },
    ]);
    expect(s.containerSysctls).toEqual([{ path: '/proc/sys/net/ipv4/ip_forward', value: '0' }]);
    expect(s.containerBatch).toEqual([
      'link set dev eth0 up',
      'addr add 10.244.1.5/32 dev eth0',
      'route add 169.254.1.1 dev eth0 scope link',
      'route add default via 169.254.1.1 dev eth0',
      'link show dev eth0',
    ]);
    expect(s.hostFinish).toEqual([]);
  });

  it("replaces a stale host interface and uses Felix's route protocol", () => {
    const s = plumbingSteps({ ...spec, replaceHostIf: true, routeProtocol: 80 });
    expect(s.hostCreate[0]).toBe('link del cali7f94ce7c295');
    expect(s.hostCreate).toContain('route add 10.244.1.5/32 dev cali7f94ce7c295 scope link proto 80');
  });

  it('dual stack: DAD off before the host link comes up, v6 default via the host EUI-64 address', () => {
    const s = plumbingSteps({ ...spec, ipv6: 'fd00:10:244::5' });
    expect(s.hostCreate).toHaveLength(1);
    expect(s.hostSysctls.map((x) => x.path)).toEqual(
      expect.arrayContaining([
        '/proc/sys/net/ipv6/conf/cali7f94ce7c295/disable_ipv6',
        '/proc/sys/net/ipv6/conf/cali7f94ce7c295/accept_dad',
        '/proc/sys/net/ipv6/conf/cali7f94ce7c295/proxy_ndp',
        '/proc/sys/net/ipv6/conf/cali7f94ce7c295/forwarding',
      ]),
    );
    expect(s.hostFinish).toEqual([
      'link set dev cali7f94ce7c295 addrgenmode eui64',
      'link set dev cali7f94ce7c295 up',
      'route add 10.244.1.5/32 dev cali7f94ce7c295 scope link',
      'route add fd00:10:244::5/128 dev cali7f94ce7c295',
    ]);
    expect(s.containerSysctls).toContainEqual({ path: '/proc/sys/net/ipv6/conf/eth0/accept_dad', value: '0' });
    expect(s.containerBatch).toContain('addr add fd00:10:244::5/128 dev eth0 nodad');
    expect(s.containerBatch).toContain('route add default via fe80::ecee:eeff:feee:eeee dev eth0');
    expect(s.containerBatch[s.containerBatch.length - 1]).toBe('link show dev eth0');
  });

  it('IPv6 only: no IPv4 routes or sysctls', () => {
    const s = plumbingSteps({ ...spec, ipv4: undefined, ipv6: 'fd00::5' });
    expect([...s.hostFinish, ...s.containerBatch].join('\n')).not.toContain('169.254.1.1');
    expect(s.hostSysctls.map((x) => x.path).join('\n')).not.toContain('ipv4');
  });

  it('needs an address', () => {
    expect(() => plumbingSteps({ ...spec, ipv4: undefined })).toThrow(/at least one address/);
  });
});

describe('failedBatchLine', () => {
  it("points at the line iproute2's batch mode names", () => {
    const lines = ['link add a type veth peer name b', 'route add 10.0.0.1/32 dev a'];
    expect(failedBatchLine('RTNETLINK answers: File exists\nCommand failed -:2\n', lines)).toBe(lines[1]);
    expect(failedBatchLine('something else', lines)).toBeUndefined();
  });
});
