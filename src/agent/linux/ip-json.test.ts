import { describe, expect, it } from 'vitest';
import { buildObservation, parseJsonStream, parseRoutes } from './ip-json.js';

// Captured from iproute2 6.1 (`ip -json -d -batch -` with address show / route show proto 80 / neigh show).
const ADDRESS_SHOW = JSON.stringify([
  {
    ifindex: 3,
    link: 'eth1',
    ifname: 'eth0',
    flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'],
    mtu: 1500,
    address: 'de:7e:5e:cb:93:22',
    linkinfo: { info_kind: 'veth' },
    addr_info: [
      { family: 'inet', local: '10.9.0.1', prefixlen: 24, scope: 'global' },
      { family: 'inet6', local: 'fe80::dc7e:5eff:fecb:9322', prefixlen: 64, scope: 'link' },
    ],
  },
  {
    ifindex: 4,
    ifname: 'vxlan.calico',
    flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'],
    mtu: 1400,
    address: '66:11:22:33:44:55',
    linkinfo: {
      info_kind: 'vxlan',
      info_data: {
        id: 4096,
        local: '10.9.0.1',
        link: 'eth0',
        port_range: { low: 0, high: 0 },
        port: 4789,
        learning: false,
      },
    },
    addr_info: [
      { family: 'inet', local: '10.1.0.0', prefixlen: 32, scope: 'global', label: 'vxlan.calico' },
      { family: 'inet6', local: 'fe80::6411:22ff:fe33:4455', prefixlen: 64, scope: 'link' },
    ],
  },
]);
const ROUTES = JSON.stringify([
  { type: 'blackhole', dst: '10.5.0.0/26', flags: [] },
  { type: 'unicast', dst: '10.6.0.0/26', gateway: '10.9.0.2', dev: 'eth0', scope: 'global', flags: [] },
  { type: 'unicast', dst: '10.8.0.5', gateway: '10.9.0.3', dev: 'eth0', scope: 'global', flags: ['onlink'] },
]);
const NEIGH = JSON.stringify([
  { dst: '10.2.0.0', dev: 'vxlan.calico', lladdr: '66:AA:bb:cc:dd:ee', state: ['PERMANENT'] },
  { dst: '10.9.0.2', dev: 'eth0', lladdr: '02:00:00:00:00:02', state: ['PERMANENT'] },
  { dst: '10.3.0.0', dev: 'vxlan.calico', lladdr: '66:aa:bb:cc:dd:ef', state: ['STALE'] },
]);
const ROUTES6 = JSON.stringify([
  { type: 'blackhole', dst: 'fd00:1::/122', dev: 'lo', metric: 1024, flags: [], pref: 'medium' },
]);
const FDB = JSON.stringify([
  { mac: '66:aa:bb:cc:dd:ee', dst: '10.9.0.2', flags: ['self'], state: 'permanent' },
  { mac: '00:00:00:00:00:00', dst: '10.9.0.9', flags: ['self'], state: '' },
]);

describe('parseJsonStream', () => {
  it('splits the documents of one ip -batch run, strings with brackets included', () => {
    expect(parseJsonStream('[{"a":"]["}]\n[]\n[1,2]\n')).toEqual([[{ a: '][' }], [], [1, 2]]);
  });
  it('refuses truncated output', () => {
    expect(() => parseJsonStream('[{"a":1}')).toThrow(/ended inside/);
  });
});

describe('buildObservation', () => {
  const obs = buildObservation({
    addressShow: JSON.parse(ADDRESS_SHOW),
    routes: [JSON.parse(ROUTES), JSON.parse(ROUTES6)],
    neighbours: JSON.parse(NEIGH),
    fdb: new Map([['vxlan.calico', JSON.parse(FDB)]]),
  });

  it('keeps tunnel devices with their VXLAN attributes and global addresses only', () => {
    expect([...obs.state.links.values()]).toEqual([
      {
        name: 'vxlan.calico',
        kind: 'vxlan',
        up: true,
        mtu: 1400,
        mac: '66:11:22:33:44:55',
        vni: 4096,
        port: 4789,
        local: '10.9.0.1',
        parent: 'eth0',
        learning: false,
      },
    ]);
    expect(obs.state.addresses.get('vxlan.calico')).toEqual(['10.1.0.0/32']);
  });

  it('gives every route a prefix length and keeps onlink', () => {
    expect([...obs.state.routes.values()]).toEqual([
      { dst: '10.5.0.0/26', type: 'blackhole' },
      { dst: '10.6.0.0/26', type: 'unicast', via: '10.9.0.2', dev: 'eth0' },
      { dst: '10.8.0.5/32', type: 'unicast', via: '10.9.0.3', dev: 'eth0', onlink: true },
      { dst: 'fd00:1::/122', type: 'blackhole' },
    ]);
  });

  it('owns only permanent neighbours and FDB entries on tunnel devices', () => {
    expect([...obs.state.neighbours.values()]).toEqual([
      { dev: 'vxlan.calico', ip: '10.2.0.0', mac: '66:aa:bb:cc:dd:ee' },
    ]);
    expect([...obs.state.fdb.values()]).toEqual([{ dev: 'vxlan.calico', mac: '66:aa:bb:cc:dd:ee', dst: '10.9.0.2' }]);
  });

  it('reports every interface for the host MTU and the VXLAN parent', () => {
    expect(obs.env.interfaces).toEqual([
      { name: 'eth0', up: true, mtu: 1500, addresses: ['10.9.0.1'] },
      { name: 'vxlan.calico', up: true, mtu: 1400, addresses: ['10.1.0.0'] },
    ]);
  });

  it('skips the default route and route types it does not own', () => {
    expect(
      parseRoutes([
        { dst: 'default', gateway: '10.0.0.1' },
        { type: 'local', dst: '10.0.0.1' },
      ]),
    ).toEqual([]);
  });
});
