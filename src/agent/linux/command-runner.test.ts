import { describe, expect, it } from 'vitest';
import { inNamespace } from './command-runner.js';
import { isOwnedChange } from './kernel-monitor.js';

describe('inNamespace', () => {
  it.each([
    { name: 'host: unchanged', ns: { kind: 'host' as const }, argv: ['ip', 'route'], want: ['ip', 'route'] },
    {
      name: 'netns, iproute2: its own -n switch',
      ns: { kind: 'netns' as const, name: 'n1' },
      argv: ['ip', '-json', 'route'],
      want: ['ip', '-n', 'n1', '-json', 'route'],
    },
    {
      name: 'netns, bridge',
      ns: { kind: 'netns' as const, name: 'n1' },
      argv: ['bridge', 'fdb'],
      want: ['bridge', '-n', 'n1', 'fdb'],
    },
    {
      name: 'netns, other tools: ip netns exec',
      ns: { kind: 'netns' as const, name: 'n1' },
      argv: ['nft', '-f', '-'],
      want: ['ip', 'netns', 'exec', 'n1', 'nft', '-f', '-'],
    },
    {
      name: 'namespace file: nsenter',
      ns: { kind: 'nsenter' as const, path: '/proc/42/ns/net' },
      argv: ['ip', 'route'],
      want: ['nsenter', '--net=/proc/42/ns/net', '--', 'ip', 'route'],
    },
  ])('$name', ({ ns, argv, want }) => {
    expect(inNamespace(ns, argv)).toEqual(want);
  });
});

describe('isOwnedChange', () => {
  it.each([
    {
      name: 'a route of ours deleted by hand',
      line: 'Deleted 10.244.2.0/26 via 10.244.2.0 dev vxlan.calico proto 80 onlink ',
      want: true,
    },
    { name: 'a direct route of ours', line: '10.244.3.0/26 via 192.168.0.13 dev eth0 proto 80 ', want: true },
    { name: 'another protocol', line: '10.1.0.0/24 via 192.168.0.1 dev eth0 proto 800 ', want: false },
    { name: 'a pod route of the CNI plugin', line: '10.244.1.5 dev cali12345678901 scope link ', want: false },
    {
      name: 'our VXLAN device',
      line: '7: vxlan.calico: <BROADCAST,MULTICAST> mtu 1450 qdisc noop state DOWN',
      want: true,
    },
    {
      name: 'a neighbour on our VXLAN device',
      line: 'Deleted 10.244.2.0 dev vxlan.calico lladdr 66:00:00:00:00:02 PERMANENT',
      want: true,
    },
    { name: 'a neighbour elsewhere', line: '192.168.0.1 dev eth0 lladdr 02:00:00:00:00:01 REACHABLE', want: false },
    // The kernel drops IPv4 routes through a device that goes down, goes away or loses its address without a route
    // notification (fib_sync_down_dev): only the link and address events tell that our routes went with it, and
    // that they can be programmed again. Felix resyncs an interface's routes on such events too.
    {
      name: 'the uplink back up',
      line: '45: eth0@if46: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP group default \\    link/ether 02:42:ac:1e:3d:02 brd ff:ff:ff:ff:ff:ff link-netnsid 0',
      want: true,
    },
    {
      name: 'the uplink gone',
      line: 'Deleted 45: eth0@if46: <BROADCAST,MULTICAST> mtu 1500 qdisc noop state DOWN group default \\    link/ether 02:42:ac:1e:3d:02 brd ff:ff:ff:ff:ff:ff',
      want: true,
    },
    {
      name: 'an address on the uplink',
      line: '45: eth0    inet 172.30.61.2/24 brd 172.30.61.255 scope global eth0\\       valid_lft forever preferred_lft forever',
      want: true,
    },
    {
      name: 'an address of the uplink removed',
      line: 'Deleted 2: ens3    inet6 fd00::2/64 scope global \\       valid_lft forever preferred_lft forever',
      want: true,
    },
    {
      name: "a pod's host-side veth (pod churn)",
      line: '47: cali0f1e2d3c4b5@if2: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP group default \\    link/ether ee:ee:ee:ee:ee:ee brd ff:ff:ff:ff:ff:ff link-netns pod-a',
      want: false,
    },
    {
      name: "an address on a pod's host-side veth",
      line: '47: cali0f1e2d3c4b5    inet6 fe80::ecee:eeff:feee:eeee/64 scope link \\       valid_lft forever preferred_lft forever',
      want: false,
    },
    {
      name: 'a route of another protocol on the uplink',
      line: '172.30.61.0/24 dev eth0 proto kernel scope link src 172.30.61.2 ',
      want: false,
    },
    { name: 'an IPv6 neighbour', line: 'fe80::1 dev eth0 lladdr 02:00:00:00:00:01 router STALE', want: false },
  ])('$name', ({ line, want }) => {
    expect(isOwnedChange(line, 80)).toBe(want);
  });
});
