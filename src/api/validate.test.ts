import { describe, expect, it } from 'vitest';
import { formatIssue, formatPath } from './errors.js';
import { INVALID, VALID } from './testdata/cases.js';
import { parseAs, parseObject, validateObject } from './validate.js';
import { IPPoolKind } from './ip-pool.js';
import { TabbyError } from './errors.js';

const v3 = (kind: string, name: string, spec?: Record<string, unknown>) => ({
  apiVersion: 'projectcalico.org/v3',
  kind,
  metadata: { name },
  ...(spec === undefined ? {} : { spec }),
});

describe('the validation matrix', () => {
  it('has at least 50 invalid cases and covers every kind', () => {
    expect(INVALID.length).toBeGreaterThanOrEqual(50);
    const kinds = new Set([...VALID, ...INVALID].map((c) => c.object.kind));
    expect([...kinds].sort()).toEqual(
      [
        'BGPConfiguration',
        'BGPPeer',
        'BlockAffinity',
        'FelixConfiguration',
        'IPAMBlock',
        'IPAMConfiguration',
        'IPAMHandle',
        'IPPool',
        'NodeDataplane',
        'RouteTable',
      ].sort(),
    );
  });

  it.each(VALID.map((c) => [c.name, c] as const))('accepts %s', (_name, c) => {
    const r = validateObject(c.object);
    if (!r.ok) throw new Error(r.issues.map(formatIssue).join('\n'));
    expect(r.object.kind).toBe(c.object.kind);
  });

  it.each(INVALID.map((c) => [c.name, c] as const))('refuses %s, naming the field', (_name, c) => {
    const r = validateObject(c.object);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const paths = r.issues.map((i) => formatPath(i.path));
    expect(paths).toContain(c.path);
    const meta = c.object.metadata as { name: string };
    for (const i of r.issues) {
      expect(i.object).toEqual({ kind: c.object.kind, name: meta.name });
      expect(formatIssue(i).startsWith(`${String(c.object.kind)} ${meta.name}: `)).toBe(true);
    }
  });
});

describe('defaults (Calico read defaults, clientv3 convertIpPoolFromStorage)', () => {
  it('fills an IPv4 pool', () => {
    const pool = parseAs(IPPoolKind, v3('IPPool', 'p', { cidr: '10.0.0.0/16' }));
    expect(pool.spec).toEqual({
      cidr: '10.0.0.0/16',
      blockSize: 26,
      ipipMode: 'Never',
      vxlanMode: 'Never',
      natOutgoing: false,
      disabled: false,
      disableBGPExport: false,
      nodeSelector: 'all()',
      allowedUses: ['Workload', 'Tunnel'],
      assignmentMode: 'Automatic',
    });
  });

  it('fills an IPv6 pool with block size 122', () => {
    const pool = parseAs(IPPoolKind, v3('IPPool', 'p6', { cidr: 'fd00::/48' }));
    expect(pool.spec.blockSize).toBe(122);
  });

  it.each([
    ['blockSize 0 means the family default', { cidr: '10.0.0.0/16', blockSize: 0 }, 'blockSize', 26],
    [
      'empty allowedUses means Workload+Tunnel',
      { cidr: '10.0.0.0/16', allowedUses: [] },
      'allowedUses',
      ['Workload', 'Tunnel'],
    ],
    ['empty nodeSelector means all()', { cidr: '10.0.0.0/16', nodeSelector: '' }, 'nodeSelector', 'all()'],
    ['explicit values are kept', { cidr: '10.0.0.0/16', blockSize: 28, ipipMode: 'Always' }, 'ipipMode', 'Always'],
  ] as const)('%s', (_name, spec, key, expected) => {
    const pool = parseAs(IPPoolKind, v3('IPPool', 'p', { ...spec }));
    expect(pool.spec[key]).toEqual(expected);
  });

  it('fills BGPConfiguration server-side defaults but leaves mesh and AS to the planner', () => {
    const o = parseObject(v3('BGPConfiguration', 'default', {}));
    expect(o.spec).toEqual({ logSeverityScreen: 'Info', serviceLoadBalancerAggregation: 'Enabled' });
  });

  it('gives a spec-less BGPConfiguration and FelixConfiguration an empty spec', () => {
    expect(parseObject(v3('BGPConfiguration', 'x')).spec).toEqual({
      logSeverityScreen: 'Info',
      serviceLoadBalancerAggregation: 'Enabled',
    });
    expect(parseObject(v3('FelixConfiguration', 'default')).spec).toEqual({});
  });

  it('fills IPAMConfiguration defaults', () => {
    expect(parseObject(v3('IPAMConfiguration', 'default')).spec).toEqual({
      strictAffinity: false,
      autoAllocateBlocks: true,
      maxBlocksPerHost: 0,
    });
  });

  it('fills BlockAffinity type and state', () => {
    const o = parseObject(v3('BlockAffinity', 'a', { node: 'n1', cidr: '10.0.0.0/26' }));
    expect(o.spec).toMatchObject({ type: 'host', state: '', deleted: false });
  });

  it('keeps fields it does not know, everywhere', () => {
    const o = parseObject(
      v3('IPPool', 'p', { cidr: '10.0.0.0/16', futureField: { a: 1 } }) as Record<string, unknown>,
    ) as unknown as { spec: Record<string, unknown>; metadata: Record<string, unknown> };
    expect(o.spec.futureField).toEqual({ a: 1 });
    const withMeta = parseObject({
      ...v3('IPPool', 'p', { cidr: '10.0.0.0/16' }),
      metadata: { name: 'p', uid: 'u', managedFields: [{ manager: 'x' }] },
    }) as unknown as { metadata: Record<string, unknown> };
    expect(withMeta.metadata.managedFields).toEqual([{ manager: 'x' }]);
  });
});

describe('dispatch', () => {
  it.each([
    ['a non-object', 'hello', '', 'must be an object'],
    ['no apiVersion', { kind: 'IPPool', metadata: { name: 'p' } }, 'apiVersion', 'is required'],
    ['no kind', { apiVersion: 'projectcalico.org/v3', metadata: { name: 'p' } }, 'kind', 'is required'],
    ['an unknown kind', v3('GlobalNetworkPolicy', 'x', {}), 'kind', 'unknown kind GlobalNetworkPolicy'],
    [
      'a v1 object',
      { apiVersion: 'crd.projectcalico.org/v1', kind: 'IPPool', metadata: { name: 'p' }, spec: { cidr: '10.0.0.0/8' } },
      'apiVersion',
      'must be projectcalico.org/v3 for kind IPPool',
    ],
    [
      'a missing name',
      { apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: {}, spec: { cidr: '10.0.0.0/8' } },
      'metadata.name',
      '',
    ],
  ] as const)('refuses %s', (_name, obj, path, message) => {
    const r = validateObject(obj);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.issues.map((i) => formatPath(i.path))).toContain(path);
    expect(r.issues.map((i) => i.message).join('\n')).toContain(message);
  });

  it('accepts the v1 kind name IPAMConfig under v3 as IPAMConfiguration', () => {
    const o = parseObject(v3('IPAMConfig', 'default', { strictAffinity: true }));
    expect(o.kind).toBe('IPAMConfiguration');
  });

  it('parseObject throws a TabbyError listing every issue', () => {
    const bad = v3('IPPool', 'p', { cidr: '10.0.0.0/16', ipipMode: 'never', vxlanMode: 'always' });
    expect(() => parseObject(bad)).toThrow(TabbyError);
    try {
      parseObject(bad);
    } catch (err) {
      expect((err as TabbyError).issues.map((i) => formatPath(i.path)).sort()).toEqual([
        'spec.ipipMode',
        'spec.vxlanMode',
      ]);
      expect((err as Error).message).toContain('IPPool p: spec.ipipMode: must be one of Never, Always, CrossSubnet');
    }
  });

  it('reports the offending value', () => {
    const r = validateObject(v3('IPPool', 'pool-a', { cidr: '10.0.0.0/16', blockSize: 33 }));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.issues.map(formatIssue)).toEqual([
      'IPPool pool-a: spec.blockSize: must be 20..32 for an IPv4 pool (got 33)',
    ]);
  });

  it('never throws, whatever the input', () => {
    const junk: unknown[] = [null, 0, [], { apiVersion: 1 }, { apiVersion: 'projectcalico.org/v3', kind: 'IPPool' }];
    junk.push(v3('IPPool', 'p', { cidr: 42 }), v3('IPPool', 'p', { cidr: '10.0.0.1/8', blockSize: 'x', ipipMode: 3 }));
    junk.push(v3('BGPPeer', 'p', { peerIP: '10.0.0.1', reachableBy: 'nope' }), v3('IPAMBlock', 'b', { cidr: 'x' }));
    for (const j of junk) expect(() => validateObject(j)).not.toThrow();
  });
});
