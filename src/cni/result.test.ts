// Result and error JSON against SPEC.md section 5 (ADD Success, Error, VERSION Success), per supported version.
import { describe, expect, it } from 'vitest';
import { CniCode, CniError, asCniError, errorJson } from './errors.js';
import { parsePrevResult } from './prev-result.js';
import { type CniResult, appendResult, findOwnAttachment, renderResult } from './result.js';
import { SUPPORTED_VERSIONS, compareVersions, isSupportedVersion, versionAtLeast } from './version.js';

const ours: CniResult = {
  interfaces: [
    { name: 'cali7f94ce7c295', mac: 'ee:ee:ee:ee:ee:ee', mtu: 1440 },
    { name: 'eth0', mac: '0a:58:0a:f4:01:05', mtu: 1440, sandbox: '/var/run/netns/blue' },
  ],
  ips: [
    { address: '10.244.1.5/32', gateway: '169.254.1.1', interface: 1 },
    { address: 'fd00:10:244::5/128', gateway: 'fe80::ecee:eeff:feee:eeee', interface: 1 },
  ],
  routes: [
    { dst: '0.0.0.0/0', gw: '169.254.1.1' },
    { dst: '::/0', gw: 'fe80::ecee:eeff:feee:eeee' },
  ],
  dns: {},
};

function printed(v: string): Record<string, unknown> {
  return JSON.parse(JSON.stringify(renderResult(ours, v))) as Record<string, unknown>;
}

describe('ADD result', () => {
  it('1.1.0: interfaces with mtu, ips without version', () => {
    expect(printed('1.1.0')).toEqual({
      cniVersion: '1.1.0',
      interfaces: [
        { name: 'cali7f94ce7c295', mac: 'ee:ee:ee:ee:ee:ee', mtu: 1440 },
        { name: 'eth0', mac: '0a:58:0a:f4:01:05', mtu: 1440, sandbox: '/var/run/netns/blue' },
      ],
      ips: [
        { address: '10.244.1.5/32', gateway: '169.254.1.1', interface: 1 },
        { address: 'fd00:10:244::5/128', gateway: 'fe80::ecee:eeff:feee:eeee', interface: 1 },
      ],
      routes: [
        { dst: '0.0.0.0/0', gw: '169.254.1.1' },
        { dst: '::/0', gw: 'fe80::ecee:eeff:feee:eeee' },
      ],
      dns: {},
    });
  });

  it('1.0.0: no interface mtu (added in 1.1.0)', () => {
    const r = printed('1.0.0');
    expect(r.cniVersion).toBe('1.0.0');
    expect((r.interfaces as object[])[1]).toEqual({
      name: 'eth0',
      mac: '0a:58:0a:f4:01:05',
      sandbox: '/var/run/netns/blue',
    });
    expect((r.ips as object[])[0]).toEqual({ address: '10.244.1.5/32', gateway: '169.254.1.1', interface: 1 });
  });

  it.each(['0.3.0', '0.3.1', '0.4.0'])('%s: every ip carries its version ("4"/"6")', (v) => {
    const r = printed(v);
    expect(r.cniVersion).toBe(v);
    expect(r.ips).toEqual([
      { version: '4', address: '10.244.1.5/32', gateway: '169.254.1.1', interface: 1 },
      { version: '6', address: 'fd00:10:244::5/128', gateway: 'fe80::ecee:eeff:feee:eeee', interface: 1 },
    ]);
    expect((r.interfaces as object[])[0]).toEqual({ name: 'cali7f94ce7c295', mac: 'ee:ee:ee:ee:ee:ee' });
  });

  it('every ips[].interface indexes interfaces, and the container interface has the sandbox', () => {
    for (const v of SUPPORTED_VERSIONS) {
      const r = printed(v) as { interfaces: { sandbox?: string }[]; ips: { interface: number }[] };
      expect(r.ips).toHaveLength(2);
      for (const ip of r.ips) expect(r.interfaces[ip.interface]?.sandbox).toBe('/var/run/netns/blue');
    }
  });
});

describe('prevResult (chaining)', () => {
  // SPEC.md appendix: the bridge plugin's result, as a later plugin receives it.
  const bridge = {
    cniVersion: '1.1.0',
    ips: [{ address: '10.1.0.5/16', gateway: '10.1.0.1', interface: 2 }],
    routes: [{ dst: '0.0.0.0/0' }],
    interfaces: [
      { name: 'cni0', mac: '00:11:22:33:44:55' },
      { name: 'veth3243', mac: '55:44:33:22:11:11' },
      { name: 'eth0', mac: '99:88:77:66:55:44', sandbox: '/var/run/netns/blue' },
    ],
    dns: { nameservers: ['10.1.0.1'] },
  };

  it('parses the spec example and a 0.4.0 result with ip versions', () => {
    const p = parsePrevResult(bridge);
    expect(p.interfaces).toHaveLength(3);
    expect(p.ips[0]).toEqual({ address: '10.1.0.5/16', gateway: '10.1.0.1', interface: 2 });
    expect(p.dns).toEqual({ nameservers: ['10.1.0.1'] });
    const legacy = parsePrevResult({ cniVersion: '0.4.0', ips: [{ version: '4', address: '10.1.0.5/16' }] });
    expect(legacy.ips).toEqual([{ address: '10.1.0.5/16' }]);
  });

  it('appends ours after the previous plugins, shifting our interface indexes', () => {
    const merged = appendResult(parsePrevResult(bridge), ours);
    expect(merged.interfaces.map((i) => i.name)).toEqual(['cni0', 'veth3243', 'eth0', 'cali7f94ce7c295', 'eth0']);
    expect(merged.ips.map((i) => i.interface)).toEqual([2, 4, 4]);
    expect(merged.dns).toEqual({ nameservers: ['10.1.0.1'] });
    // Our host interface is found by name among the chain's interfaces.
    expect(findOwnAttachment(merged, 'cali7f94ce7c295', 'eth1', '/var/run/netns/blue').host?.name).toBe(
      'cali7f94ce7c295',
    );
  });

  it('finds our attachment in our own result', () => {
    const own = findOwnAttachment(ours, 'cali7f94ce7c295', 'eth0', '/var/run/netns/blue');
    expect(own.addresses).toEqual(['10.244.1.5/32', 'fd00:10:244::5/128']);
    expect(own.container?.mac).toBe('0a:58:0a:f4:01:05');
  });

  it.each([
    { name: 'not an object', raw: 'x', field: 'prevResult' },
    { name: 'ips not a list', raw: { ips: {} }, field: 'prevResult.ips' },
    { name: 'address missing', raw: { ips: [{ gateway: '10.0.0.1' }] }, field: 'prevResult.ips[0].address' },
    {
      name: 'interface index out of range',
      raw: { interfaces: [], ips: [{ address: '10.0.0.1/32', interface: 0 }] },
      field: 'prevResult.ips[0].interface',
    },
  ])('refuses $name with error 7 naming $field', ({ raw, field }) => {
    try {
      parsePrevResult(raw);
      expect.unreachable();
    } catch (e) {
      expect((e as CniError).code).toBe(CniCode.InvalidConfig);
      expect((e as CniError).msg).toContain(field);
    }
  });
});

describe('error JSON (SPEC.md "Error")', () => {
  it('has cniVersion, code, msg and details', () => {
    const e = new CniError(
      CniCode.InvalidConfig,
      'Invalid Configuration',
      'Network 192.168.0.0/31 too small to allocate from.',
    );
    expect(errorJson(e, '1.1.0')).toEqual({
      cniVersion: '1.1.0',
      code: 7,
      msg: 'Invalid Configuration',
      details: 'Network 192.168.0.0/31 too small to allocate from.',
    });
  });

  it('omits empty details', () => {
    expect(errorJson(new CniError(CniCode.TryAgainLater, 'busy'), '0.4.0')).toEqual({
      cniVersion: '0.4.0',
      code: 11,
      msg: 'busy',
    });
  });

  it('uses the spec codes 1–7, 11, 50, 51 and plugin codes from 100', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 11, 50, 51]).toEqual([
      CniCode.IncompatibleVersion,
      CniCode.UnsupportedField,
      CniCode.UnknownContainer,
      CniCode.InvalidEnvironment,
      CniCode.IOFailure,
      CniCode.DecodeFailure,
      CniCode.InvalidConfig,
      CniCode.TryAgainLater,
      CniCode.NotAvailable,
      CniCode.NotAvailableLimitedConnectivity,
    ]);
    for (const c of [
      CniCode.AddressesExhausted,
      CniCode.IpamRequestRefused,
      CniCode.DataplaneFailure,
      CniCode.CheckFailed,
    ]) {
      expect(c).toBeGreaterThanOrEqual(100);
    }
  });

  it('wraps unexpected exceptions as 999 with their message', () => {
    expect(errorJson(asCniError(new TypeError('boom')), '1.0.0')).toEqual({
      cniVersion: '1.0.0',
      code: 999,
      msg: 'internal error in the tabby CNI plugin',
      details: 'boom',
    });
  });
});

describe('versions', () => {
  it('supports the versions the brief names', () => {
    expect(SUPPORTED_VERSIONS).toEqual(['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0']);
    expect(isSupportedVersion('0.2.0')).toBe(false);
  });
  it.each([
    { a: '0.3.1', b: '0.4.0', sign: -1 },
    { a: '1.0.0', b: '0.4.0', sign: 1 },
    { a: '1.1.0', b: '1.1.0', sign: 0 },
    { a: '0.10.0', b: '0.9.0', sign: 1 },
  ])('$a vs $b', ({ a, b, sign }) => {
    expect(Math.sign(compareVersions(a, b))).toBe(sign);
  });
  it('CHECK needs 0.4.0', () => {
    expect(versionAtLeast('0.3.1', '0.4.0')).toBe(false);
    expect(versionAtLeast('0.4.0', '0.4.0')).toBe(true);
  });
});
