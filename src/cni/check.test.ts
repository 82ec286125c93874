import { describe, expect, it } from 'vitest';
import { type CheckExpectation, checkWorkload } from './check.js';
import type { WorkloadState } from './linux-dataplane.js';
import { hostSysctlsFor } from './workload-plumbing.js';

const exp: CheckExpectation = {
  hostIf: 'cali7f94ce7c295',
  containerIf: 'eth0',
  netns: '/var/run/netns/pod-a',
  addresses: ['10.244.1.5/32'],
  containerMac: '0a:58:0a:f4:01:05',
  routes: [{ dst: '0.0.0.0/0', gw: '169.254.1.1' }],
  reserved: ['10.244.1.5'],
};

function healthy(): WorkloadState {
  return {
    host: {
      exists: true,
      mac: 'ee:ee:ee:ee:ee:ee',
      up: true,
      mtu: 1440,
      sysctls: Object.fromEntries(hostSysctlsFor('cali7f94ce7c295', true, false).map((s) => [s.path, s.value])),
      routes: [{ dst: '10.244.1.5', scope: 'link', protocol: 'boot' }],
    },
    container: {
      exists: true,
      mac: '0a:58:0a:f4:01:05',
      up: true,
      mtu: 1440,
      addresses: ['10.244.1.5/32'],
      routes: [
        { dst: 'default', gateway: '169.254.1.1' },
        { dst: '169.254.1.1', scope: 'link' },
      ],
    },
  };
}

describe('checkWorkload', () => {
  it('accepts what ADD leaves', () => {
    expect(checkWorkload(exp, healthy())).toEqual([]);
  });

  it.each([
    {
      name: 'host veth gone',
      breakIt: (s: WorkloadState) => void (s.host.exists = false),
      says: 'host interface cali7f94ce7c295 does not exist',
    },
    {
      name: 'host MAC changed',
      breakIt: (s: WorkloadState) => void (s.host.mac = '02:00:00:00:00:01'),
      says: 'expected ee:ee:ee:ee:ee:ee',
    },
    { name: 'host veth down', breakIt: (s: WorkloadState) => void (s.host.up = false), says: 'is down' },
    {
      name: 'proxy_arp off',
      breakIt: (s: WorkloadState) => void (s.host.sysctls['/proc/sys/net/ipv4/conf/cali7f94ce7c295/proxy_arp'] = '0'),
      says: 'proxy_arp is 0, expected 1',
    },
    {
      name: 'host route gone',
      breakIt: (s: WorkloadState) => void (s.host.routes = []),
      says: 'no host route to 10.244.1.5',
    },
    {
      name: 'pod interface gone',
      breakIt: (s: WorkloadState) => void (s.container.exists = false),
      says: 'interface eth0 does not exist',
    },
    {
      name: 'pod address gone',
      breakIt: (s: WorkloadState) => void (s.container.addresses = []),
      says: 'address 10.244.1.5/32 missing',
    },
    {
      name: 'pod MAC changed',
      breakIt: (s: WorkloadState) => void (s.container.mac = '0a:00:00:00:00:01'),
      says: 'prevResult says',
    },
    {
      name: 'default route gone',
      breakIt: (s: WorkloadState) => void (s.container.routes = [{ dst: '169.254.1.1', scope: 'link' }]),
      says: 'route "default via 169.254.1.1 dev eth0" missing',
    },
    {
      name: 'gateway link route gone',
      breakIt: (s: WorkloadState) => void (s.container.routes = [{ dst: 'default', gateway: '169.254.1.1' }]),
      says: 'route "169.254.1.1 dev eth0 scope link" missing',
    },
  ])('reports $name', ({ breakIt, says }) => {
    const s = healthy();
    breakIt(s);
    const problems = checkWorkload(exp, s);
    expect(problems.join('\n')).toContain(says);
  });

  it('reports an address IPAM no longer holds for the pod', () => {
    expect(checkWorkload({ ...exp, reserved: [] }, healthy())).toEqual([
      'IPAM no longer holds 10.244.1.5 for this pod',
    ]);
  });

  it('does not require a default route a later chained plugin removed from the result', () => {
    const s = healthy();
    s.container.routes = [{ dst: '169.254.1.1', scope: 'link' }];
    expect(checkWorkload({ ...exp, routes: [] }, s)).toEqual([]);
  });
});
