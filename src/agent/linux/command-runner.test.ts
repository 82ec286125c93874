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
  ])('$name', ({ line, want }) => {
    expect(isOwnedChange(line, 80)).toBe(want);
  });
});
