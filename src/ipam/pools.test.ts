// Pool selection rules (calico: ipam.go determinePools / prepareAffinityBlocksForHost / filterPoolsByUse) and
// Calico's read defaults, including an IPPool parsed by src/api.
import { describe, expect, it } from 'vitest';
import { IPPoolSchema } from '../api/index.js';
import { isIpamError } from './errors.js';
import { choosePools, enabledPools, ipamPoolFrom, ipamPoolsFrom } from './pools.js';
import { testPool } from './test-fixtures.js';

const node = (labels: Record<string, string> = {}) => ({ name: 'n1', labels });

describe('ipamPoolFrom', () => {
  it.each([
    { name: 'IPv4 defaults', cidr: '10.0.0.0/16', blockSize: 26, uses: ['Workload', 'Tunnel'] },
    { name: 'IPv6 defaults', cidr: 'fd00::/48', blockSize: 122, uses: ['Workload', 'Tunnel'] },
  ])('$name', ({ cidr, blockSize, uses }) => {
    const p = testPool('p', cidr);
    expect(p.blockSize).toBe(blockSize);
    expect(p.allowedUses).toEqual(uses);
    expect(p.nodeSelector.matches({})).toBe(true);
    expect(p.namespaceSelector).toBeUndefined();
    expect([p.ipipMode, p.vxlanMode, p.assignmentMode]).toEqual(['Never', 'Never', 'Automatic']);
  });

  it('reads an IPPool as src/api parses it', () => {
    const parsed = IPPoolSchema.parse({
      apiVersion: 'projectcalico.org/v3',
      kind: 'IPPool',
      metadata: { name: 'default-ipv4-ippool' },
      spec: { cidr: '192.168.0.0/16', ipipMode: 'Always', natOutgoing: true, nodeSelector: 'all()' },
    });
    const p = ipamPoolFrom(parsed);
    expect([p.name, p.cidrText, p.blockSize, p.ipipMode]).toEqual([
      'default-ipv4-ippool',
      '192.168.0.0/16',
      26,
      'Always',
    ]);
  });

  it.each([
    { name: 'a CIDR with host bits', spec: { cidr: '10.0.0.1/16' }, path: ['spec', 'cidr'] },
    {
      name: 'a bad node selector',
      spec: { cidr: '10.0.0.0/16', nodeSelector: 'a ==' },
      path: ['spec', 'nodeSelector'],
    },
  ])('names the pool and field for $name', ({ spec, path }) => {
    try {
      ipamPoolFrom({ metadata: { name: 'bad' }, spec });
      expect.unreachable();
    } catch (e) {
      expect(isIpamError(e, 'invalidRequest')).toBe(true);
      if (isIpamError(e)) {
        expect(e.object).toEqual({ kind: 'IPPool', name: 'bad' });
        expect(e.issues[0]?.path).toEqual(path);
      }
    }
  });

  it('treats a pool overlapping an older one and a deletion timestamp as not enabled', () => {
    const closing = testPool('closing', '10.1.0.0/16', {}, true);
    const overlap = ipamPoolFrom(
      { metadata: { name: 'overlap' }, spec: { cidr: '10.2.0.0/16' } },
      { overlapsOlderPool: true },
    );
    expect(enabledPools([closing, overlap, testPool('ok', '10.3.0.0/16')], 4).map((p) => p.name)).toEqual(['ok']);
  });

  it('ipamPoolsFrom: of two overlapping pools the later-created one is not allocatable, whatever their status says', () => {
    const { pools, invalid } = ipamPoolsFrom([
      // A stale status must not decide (it lags the spec): only creation order does, as Calico's API server refuses
      // the later pool and v3.32 marks it Allocatable=False.
      { metadata: { name: 'later', creationTimestamp: '2026-01-02T00:00:00Z' }, spec: { cidr: '10.0.128.0/17' } },
      { metadata: { name: 'earlier', creationTimestamp: '2026-01-01T00:00:00Z' }, spec: { cidr: '10.0.0.0/16' } },
      { metadata: { name: 'apart', creationTimestamp: '2026-01-03T00:00:00Z' }, spec: { cidr: '10.9.0.0/16' } },
      { metadata: { name: 'broken' }, spec: { cidr: '10.9.0.0/16', nodeSelector: 'has(' } },
    ]);
    expect(pools.map((p) => [p.name, p.allocatable])).toEqual([
      ['later', false],
      ['earlier', true],
      ['apart', true],
    ]);
    expect(invalid.map((e) => [e.object.name, e.issues[0]?.path])).toEqual([['broken', ['spec', 'nodeSelector']]]);
  });
});

describe('choosePools', () => {
  const pools = [
    testPool('b-pool', '10.1.0.0/16', { nodeSelector: "zone == 'b'" }),
    testPool('a-pool', '10.0.0.0/16'),
    testPool('tunnel-only', '10.2.0.0/16', { allowedUses: ['Tunnel'] }),
    testPool('manual', '10.3.0.0/16', { assignmentMode: 'Manual' }),
    testPool('off', '10.4.0.0/16', { disabled: true }),
    testPool('v6', 'fd00::/48'),
  ];

  it.each<{
    name: string;
    labels: Record<string, string>;
    use: 'Workload' | 'Tunnel';
    requested: string[] | undefined;
    usable: string[];
  }>([
    {
      name: 'Workload on a plain node: selecting, automatic, allowing Workload, by name',
      labels: {},
      use: 'Workload' as const,
      requested: undefined,
      usable: ['a-pool'],
    },
    {
      name: 'Workload on a zone-b node',
      labels: { zone: 'b' },
      use: 'Workload' as const,
      requested: undefined,
      usable: ['a-pool', 'b-pool'],
    },
    { name: 'Tunnel', labels: {}, use: 'Tunnel' as const, requested: undefined, usable: ['a-pool', 'tunnel-only'] },
    {
      name: 'a requested Manual pool',
      labels: {},
      use: 'Workload' as const,
      requested: ['10.3.0.0/16'],
      usable: ['manual'],
    },
    {
      name: "requested pools in the caller's order, selectors ignored",
      labels: {},
      use: 'Workload' as const,
      requested: ['b-pool', '10.0.0.0/16'],
      usable: ['b-pool', 'a-pool'],
    },
  ])('$name', ({ labels, use, requested, usable }) => {
    const r = choosePools(pools, { family: 4, node: node(labels), use, ...(requested ? { requested } : {}) });
    expect(r.usable.map((p) => p.name)).toEqual(usable);
  });

  it.each([
    {
      name: 'no use',
      use: undefined,
      requested: undefined,
      family: 4 as const,
      code: 'useRequired',
      message: 'must specify the intended use when assigning an IP',
    },
    {
      name: 'a disabled requested pool',
      use: 'Workload' as const,
      requested: ['10.4.0.0/16'],
      family: 4 as const,
      code: 'poolNotEnabled',
      message: 'the given pool (10.4.0.0/16) does not exist, or is not enabled',
    },
    {
      name: 'LoadBalancer use nowhere allowed',
      use: 'LoadBalancer' as const,
      requested: undefined,
      family: 4 as const,
      code: 'noQualifiedPool',
      message: 'cannot find a qualified ippool, no pools match the required use (LoadBalancer)',
    },
  ])('refuses $name', ({ use, requested, family, code, message }) => {
    try {
      choosePools(pools, { family, node: node(), use, ...(requested ? { requested } : {}) });
      expect.unreachable();
    } catch (e) {
      expect(isIpamError(e, code as never)).toBe(true);
      if (isIpamError(e)) expect(e.issues[0]?.message).toBe(message);
    }
  });

  it('no enabled pool of the family at all: "cannot find a qualified ippool"', () => {
    expect(() =>
      choosePools([testPool('x', '10.0.0.0/16', { disabled: true })], { family: 4, node: node(), use: 'Workload' }),
    ).toThrow('cannot find a qualified ippool');
  });
});
