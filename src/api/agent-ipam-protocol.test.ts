import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  ANNOTATION_IP_ADDRS,
  ANNOTATION_IP_ADDRS_NO_IPAM,
  ANNOTATION_IP_FAMILIES,
  ANNOTATION_IPV4_POOLS,
  ANNOTATION_IPV6_POOLS,
  AgentRequestSchema,
  AnnotationError,
  type AssignRequest,
  DEFAULT_AGENT_IPAM_SOCKET,
  PROTOCOL_VERSION,
  applyPodAnnotations,
  encodeMessage,
  parseIpAddrsAnnotation,
  parsePoolsAnnotation,
  podHandleId,
  responseSchemaFor,
} from './agent-ipam-protocol.js';

const assign: AssignRequest = {
  v: PROTOCOL_VERSION,
  op: 'assign',
  handleId: 'k8s-pod-network.0123abcd',
  containerId: '0123abcd',
  attrs: { namespace: 'default', pod: 'web-1', node: 'node-a' },
  families: [4],
};

function issuePaths(input: unknown): string[] {
  const r = AgentRequestSchema.safeParse(input);
  return r.success ? [] : r.error.issues.map((i) => i.path.join('.'));
}

describe('requests', () => {
  it('has Calico defaults as constants', () => {
    expect(DEFAULT_AGENT_IPAM_SOCKET).toBe('/var/run/tabby/ipam.sock');
    expect(podHandleId('k8s-pod-network', 'abc123')).toBe('k8s-pod-network.abc123');
  });

  it.each([
    { name: 'assign, IPv4 only', req: assign },
    {
      name: 'assign, dual stack with pools',
      req: { ...assign, families: [4, 6], ipv4Pools: ['10.0.0.0/16'], ipv6Pools: ['pool-v6'] },
    },
    { name: 'assign, specific addresses', req: { ...assign, families: [4, 6], ipAddrs: ['10.0.0.7', 'fd00::7'] } },
    { name: 'assign without pod identity (not Kubernetes)', req: { ...assign, attrs: {} } },
    { name: 'release', req: { v: 1, op: 'release', handleId: 'k8s-pod-network.x' } },
    { name: 'addresses', req: { v: 1, op: 'addresses', handleId: 'k8s-pod-network.x' } },
    { name: 'status', req: { v: 1, op: 'status' } },
  ])('accepts $name', ({ req }) => {
    expect(AgentRequestSchema.parse(req)).toEqual(req);
  });

  it.each([
    { name: 'unknown op', req: { v: 1, op: 'steal', handleId: 'h' }, path: 'op' },
    { name: 'empty handle', req: { ...assign, handleId: '' }, path: 'handleId' },
    { name: 'handle with a line break', req: { ...assign, handleId: 'a\nb' }, path: 'handleId' },
    { name: 'no family', req: { ...assign, families: [] }, path: 'families' },
    { name: 'family 5', req: { ...assign, families: [5] }, path: 'families.0' },
    { name: 'repeated family', req: { ...assign, families: [4, 4] }, path: 'families' },
    { name: 'bad address', req: { ...assign, ipAddrs: ['10.0.0.300'] }, path: 'ipAddrs.0' },
    { name: 'two IPv4 addresses', req: { ...assign, ipAddrs: ['10.0.0.1', '10.0.0.2'] }, path: 'ipAddrs.1' },
    { name: 'unknown attribute', req: { ...assign, attrs: { ...assign.attrs, colour: 'red' } }, path: 'attrs' },
    { name: 'unknown field', req: { ...assign, extra: true }, path: '' },
    { name: 'wrong protocol version', req: { ...assign, v: 2 }, path: 'v' },
  ])('rejects $name naming $path', ({ req, path }) => {
    expect(issuePaths(req)).toContain(path);
  });

  it('encodes one message per line', () => {
    const line = encodeMessage(assign);
    expect(line.endsWith('\n')).toBe(true);
    expect(line.indexOf('\n')).toBe(line.length - 1);
    expect(JSON.parse(line)).toEqual(assign);
  });

  it('round-trips every valid request through a line (property)', () => {
    const req = fc.record({
      v: fc.constant(PROTOCOL_VERSION),
      op: fc.constant('assign' as const),
      handleId: fc.stringMatching(/^[a-z0-9.-]{1,60}$/),
      containerId: fc.stringMatching(/^[a-z0-9]{1,64}$/),
      attrs: fc.record({ namespace: fc.stringMatching(/^[a-z]{1,20}$/), pod: fc.stringMatching(/^[a-z0-9-]{1,40}$/) }),
      families: fc.constantFrom<(4 | 6)[]>([4], [6], [4, 6], [6, 4]),
    });
    fc.assert(
      fc.property(req, (r) => {
        expect(AgentRequestSchema.parse(JSON.parse(encodeMessage(r)))).toEqual(r);
      }),
    );
  });
});

describe('responses', () => {
  it.each([
    {
      name: 'assign',
      op: 'assign' as const,
      res: {
        ok: true,
        op: 'assign',
        addresses: [{ address: '10.0.0.5', family: 4, block: '10.0.0.0/26' }],
        mtu: 1440,
        node: 'n',
      },
    },
    {
      name: 'assign with route protocol',
      op: 'assign' as const,
      res: {
        ok: true,
        op: 'assign',
        addresses: [{ address: 'fd00::5', family: 6 }],
        mtu: 1500,
        deviceRouteProtocol: 80,
        node: 'n',
      },
    },
    { name: 'release', op: 'release' as const, res: { ok: true, op: 'release' } },
    { name: 'addresses (none)', op: 'addresses' as const, res: { ok: true, op: 'addresses', addresses: [] } },
    { name: 'status', op: 'status' as const, res: { ok: true, op: 'status', node: 'n', mtu: 1450 } },
    {
      name: 'error',
      op: 'assign' as const,
      res: { ok: false, error: { code: 'exhausted', message: 'No IPs available in pools: [10.0.0.0/30]' } },
    },
  ])('accepts $name', ({ op, res }) => {
    expect(responseSchemaFor(op).parse(res)).toEqual(res);
  });

  it.each([
    {
      name: 'an assign answer to a release',
      op: 'release' as const,
      res: { ok: true, op: 'assign', addresses: [], mtu: 1440, node: 'n' },
    },
    { name: 'no address', op: 'assign' as const, res: { ok: true, op: 'assign', addresses: [], mtu: 1440, node: 'n' } },
    {
      name: 'MTU below IPv4 minimum',
      op: 'assign' as const,
      res: { ok: true, op: 'assign', addresses: [{ address: '10.0.0.5', family: 4 }], mtu: 20, node: 'n' },
    },
    { name: 'unknown error code', op: 'status' as const, res: { ok: false, error: { code: 'oops', message: 'x' } } },
  ])('rejects $name', ({ op, res }) => {
    expect(responseSchemaFor(op).safeParse(res).success).toBe(false);
  });
});

describe('Calico pod annotations', () => {
  it('parses pool lists (CIDRs or names) and checks the family of CIDRs', () => {
    expect(parsePoolsAnnotation(ANNOTATION_IPV4_POOLS, '["10.1.0.0/16","pool-b"]', 4)).toEqual([
      '10.1.0.0/16',
      'pool-b',
    ]);
    expect(() => parsePoolsAnnotation(ANNOTATION_IPV4_POOLS, '["fd00::/64"]', 4)).toThrow(
      /fd00::\/64 is not an IPv4 pool/,
    );
    expect(() => parsePoolsAnnotation(ANNOTATION_IPV4_POOLS, '10.1.0.0/16', 4)).toThrow(
      /failed to parse 10.1.0.0\/16 as JSON/,
    );
    expect(() => parsePoolsAnnotation(ANNOTATION_IPV4_POOLS, '[1]', 4)).toThrow(/must be a JSON list of strings/);
  });

  it.each([
    { value: '["10.0.0.1"]', out: ['10.0.0.1'] },
    { value: '["10.0.0.1", "2001:db8::1"]', out: ['10.0.0.1', '2001:db8::1'] },
  ])('ipAddrs $value', ({ value, out }) => {
    expect(parseIpAddrsAnnotation(value)).toEqual(out);
  });

  // Calico's wording (cni-plugin/pkg/k8s/k8s.go validateAndExtractIPs).
  it.each([
    { value: '[]', message: 'annotation "cni.projectcalico.org/ipAddrs" specified but empty' },
    {
      value: '["10.0.0.1","10.0.0.2"]',
      message: 'cannot have more than one IPv4 address for "cni.projectcalico.org/ipAddrs" annotation',
    },
    {
      value: '["fd00::1","fd00::2"]',
      message: 'cannot have more than one IPv6 address for "cni.projectcalico.org/ipAddrs" annotation',
    },
    { value: '["10.0.0.256"]', message: 'invalid IP format: 10.0.0.256' },
  ])('ipAddrs $value is refused', ({ value, message }) => {
    expect(() => parseIpAddrsAnnotation(value)).toThrow(message);
  });

  it('pod annotations override namespace annotations, which override the CNI config', () => {
    const req = { ...assign, ipv4Pools: ['config-pool'] };
    expect(applyPodAnnotations(req, undefined, undefined)).toEqual(req);
    expect(applyPodAnnotations(req, {}, { [ANNOTATION_IPV4_POOLS]: '["ns-pool"]' }).ipv4Pools).toEqual(['ns-pool']);
    expect(
      applyPodAnnotations(req, { [ANNOTATION_IPV4_POOLS]: '["pod-pool"]' }, { [ANNOTATION_IPV4_POOLS]: '["ns-pool"]' })
        .ipv4Pools,
    ).toEqual(['pod-pool']);
    expect(applyPodAnnotations(req, { [ANNOTATION_IPV6_POOLS]: '["fd00::/48"]' }, {}).ipv6Pools).toEqual(['fd00::/48']);
  });

  it('ipFamilies chooses the families (pod over namespace)', () => {
    expect(applyPodAnnotations(assign, {}, { [ANNOTATION_IP_FAMILIES]: '["IPv4","IPv6"]' }).families).toEqual([4, 6]);
    expect(
      applyPodAnnotations(assign, { [ANNOTATION_IP_FAMILIES]: '["IPv6"]' }, { [ANNOTATION_IP_FAMILIES]: '["IPv4"]' })
        .families,
    ).toEqual([6]);
    expect(() => applyPodAnnotations(assign, { [ANNOTATION_IP_FAMILIES]: '["IPv5"]' }, {})).toThrow(
      'error parsing ipFamilies: ["IPv5"]',
    );
  });

  it('ipAddrs asks for exactly those addresses, families following them', () => {
    const out = applyPodAnnotations(assign, { [ANNOTATION_IP_ADDRS]: '["fd00::9","10.0.0.9"]' }, {});
    expect(out.ipAddrs).toEqual(['fd00::9', '10.0.0.9']);
    expect(out.families).toEqual([6, 4]);
    expect(AgentRequestSchema.safeParse(out).success).toBe(true);
  });

  it('ipAddrsNoIpam is refused as Calico does without its feature flag, and together with ipAddrs', () => {
    expect(() => applyPodAnnotations(assign, { [ANNOTATION_IP_ADDRS_NO_IPAM]: '["10.0.0.9"]' }, {})).toThrow(
      'requested feature is not enabled: ip_addrs_no_ipam',
    );
    expect(() =>
      applyPodAnnotations(
        assign,
        { [ANNOTATION_IP_ADDRS]: '["10.0.0.9"]', [ANNOTATION_IP_ADDRS_NO_IPAM]: '["10.0.0.9"]' },
        {},
      ),
    ).toThrow("can't have both annotations: 'ipAddrs' and 'ipAddrsNoIpam' in use at the same time");
  });

  it('names the annotation at fault', () => {
    try {
      applyPodAnnotations(assign, { [ANNOTATION_IPV6_POOLS]: 'nope' }, {});
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(AnnotationError);
      expect((e as AnnotationError).annotation).toBe(ANNOTATION_IPV6_POOLS);
    }
  });
});
