import { describe, expect, it } from 'vitest';
import { parseCidr } from '../net/index.js';
import { decideRemoteRoute, inSameSubnet, kernelRouteForm } from './encap-decider.js';
import { nodeFacts, poolFacts } from './facts.js';
import { node, pool } from './snapshot-builder.js';

const full = nodeFacts(
  node('b', '10.0.0.12/24', { ipip: '10.244.2.0', vxlan: '10.244.2.1', vxlanMac: '66:aa:bb:cc:dd:ee' }),
);
const noVtep = nodeFacts(node('b', '10.0.0.12/24'));
const noAddress = nodeFacts(node('b', undefined, { vxlan: '10.244.2.1' }));
const v6 = nodeFacts(node('b', undefined, { ipv6: 'fd00::12/64', vxlanV6: 'fd10::1' }));

describe('decideRemoteRoute', () => {
  it.each([
    {
      name: 'IPIP Always tunnels via node IP',
      ipip: 'Always',
      vxlan: 'Never',
      same: false,
      want: ['ipip', 'ipip-always', '10.0.0.12', 'tunl0'],
    },
    {
      name: 'IPIP Always tunnels even in the same subnet',
      ipip: 'Always',
      vxlan: 'Never',
      same: true,
      want: ['ipip', 'ipip-always', '10.0.0.12', 'tunl0'],
    },
    {
      name: 'IPIP CrossSubnet across subnets tunnels',
      ipip: 'CrossSubnet',
      vxlan: 'Never',
      same: false,
      want: ['ipip', 'ipip-cross-subnet-tunnel', '10.0.0.12', 'tunl0'],
    },
    {
      name: 'IPIP CrossSubnet within the subnet is direct',
      ipip: 'CrossSubnet',
      vxlan: 'Never',
      same: true,
      want: ['direct', 'ipip-cross-subnet-direct', '10.0.0.12', undefined],
    },
    {
      name: 'VXLAN Always goes to the VTEP',
      ipip: 'Never',
      vxlan: 'Always',
      same: false,
      want: ['vxlan', 'vxlan-always', '10.244.2.1', 'vxlan.calico'],
    },
    {
      name: 'VXLAN CrossSubnet across subnets tunnels',
      ipip: 'Never',
      vxlan: 'CrossSubnet',
      same: false,
      want: ['vxlan', 'vxlan-cross-subnet-tunnel', '10.244.2.1', 'vxlan.calico'],
    },
    {
      name: 'VXLAN CrossSubnet within the subnet is direct',
      ipip: 'Never',
      vxlan: 'CrossSubnet',
      same: true,
      want: ['direct', 'vxlan-cross-subnet-direct', '10.0.0.12', undefined],
    },
    {
      name: 'Never/Never is a direct route',
      ipip: 'Never',
      vxlan: 'Never',
      same: false,
      want: ['direct', 'no-encap', '10.0.0.12', undefined],
    },
  ] as const)('$name', ({ ipip, vxlan, same, want }) => {
    const d = decideRemoteRoute(poolFacts(pool('p', '10.244.0.0/16', { ipip, vxlan })), full, 4, same);
    expect(typeof d).toBe('object');
    if (typeof d === 'string') return;
    expect([d.kind, d.rule, d.via, d.device]).toEqual(want);
    expect(d.nodeIP).toBe('10.0.0.12');
    if (d.kind === 'vxlan') {
      expect(d.vtepIP).toBe('10.244.2.1');
      expect(d.vtepMAC).toBe('66:aa:bb:cc:dd:ee');
    } else {
      expect(d.vtepIP).toBeUndefined();
    }
  });

  it.each([
    {
      name: 'VXLAN to a node without VTEP: no route yet',
      owner: noVtep,
      vxlan: 'Always',
      same: false,
      want: 'owner-has-no-vtep',
    },
    {
      name: 'VXLAN CrossSubnet same subnet needs no VTEP',
      owner: noVtep,
      vxlan: 'CrossSubnet',
      same: true,
      want: 'direct',
    },
    {
      name: 'owner without address: no route',
      owner: noAddress,
      vxlan: 'Always',
      same: false,
      want: 'owner-has-no-address',
    },
    {
      name: 'owner without a BGP address is no VTEP',
      owner: noAddress,
      vxlan: 'Never',
      same: false,
      want: 'owner-has-no-address',
    },
  ] as const)('$name', ({ owner, vxlan, same, want }) => {
    const d = decideRemoteRoute(poolFacts(pool('p', '10.244.0.0/16', { vxlan })), owner, 4, same);
    expect(typeof d === 'string' ? d : d.kind).toBe(want);
  });

  it('LoadBalancer-only pools carry no routes', () => {
    const lb = poolFacts(pool('lb', '10.96.0.0/16', { allowedUses: ['LoadBalancer'] }));
    expect(decideRemoteRoute(lb, full, 4, false)).toBe('pool-carries-no-routes');
  });

  it('IPv6 VXLAN uses vxlan-v6.calico and the IPv6 VTEP', () => {
    const d = decideRemoteRoute(poolFacts(pool('p6', 'fd00:10::/64', { vxlan: 'Always' })), v6, 6, false);
    expect(d).toMatchObject({ kind: 'vxlan', via: 'fd10::1', device: 'vxlan-v6.calico', nodeIP: 'fd00::12' });
  });

  it('an ipipMode on an IPv6 pool is ignored (Calico rejects it): direct route', () => {
    const d = decideRemoteRoute(poolFacts(pool('p6', 'fd00:10::/64', { ipip: 'Always' })), v6, 6, false);
    expect(d).toMatchObject({ kind: 'direct', rule: 'no-encap', via: 'fd00::12' });
  });
});

describe('kernelRouteForm (calico: felix/dataplane/linux/route_mgr.go, vxlan_mgr.go)', () => {
  it.each([
    { name: 'direct: no device, the kernel picks the uplink', kind: 'direct', family: 4, want: {} },
    { name: 'IPIP: tunl0, onlink', kind: 'ipip', family: 4, want: { dev: 'tunl0', onlink: true } },
    { name: 'VXLAN: vxlan.calico, onlink', kind: 'vxlan', family: 4, want: { dev: 'vxlan.calico', onlink: true } },
    { name: 'VXLAN over IPv6', kind: 'vxlan', family: 6, want: { dev: 'vxlan-v6.calico', onlink: true } },
  ] as const)('$name', ({ kind, family, want }) => {
    expect(kernelRouteForm(kind, family)).toEqual(want);
  });
});

describe('inSameSubnet', () => {
  const internalOnly = nodeFacts({
    name: 'b',
    labels: {},
    ipv4: { address: '10.0.0.12', prefixLength: 24, source: 'internal-ip' },
  });
  it.each([
    { name: 'owner inside the local /24', subnet: '10.0.0.0/24', owner: full, want: true },
    { name: 'owner outside the local /24', subnet: '10.0.1.0/24', owner: full, want: false },
    { name: 'owner without an address', subnet: '10.0.0.0/24', owner: noAddress, want: false },
    { name: 'local node without a subnet', subnet: undefined, owner: full, want: false },
  ])('$name', ({ subnet, owner, want }) => {
    expect(inSameSubnet(subnet === undefined ? undefined : parseCidr(subnet), owner, 4)).toBe(want);
  });
  it('a node known only by its InternalIP has a host-length subnet: CrossSubnet always tunnels to it', () => {
    expect(internalOnly.v4?.networkText).toBe('10.0.0.12/32');
  });
});
