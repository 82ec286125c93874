// Calico's service advertisement rule, on the cases of calico: confd/pkg/backends/calico/routes_test.go (its
// services, addresses and ranges re-expressed as snapshot records; node "foobar" is the one deciding).
import { describe, expect, it } from 'vitest';
import {
  type ServiceScope,
  serviceAddresses,
  serviceRanges,
  serviceScope,
  serviceSettings,
} from './service-advertisement.js';
import type { SnapshotBGPConfiguration, SnapshotEndpointSlice, SnapshotService } from './snapshot.js';

const NODE = 'foobar';

function config(over: Partial<SnapshotBGPConfiguration> = {}): SnapshotBGPConfiguration {
  return {
    name: 'default',
    serviceClusterIPs: ['10.0.0.0/16'],
    serviceExternalIPs: ['104.244.42.129/32', '172.217.3.0/24'],
    ...over,
  };
}

/** routes_test.go buildSimpleService: ClusterIP "bar", two cluster IPs, two external IPs, policy Local. */
function bar(over: Partial<SnapshotService> = {}): SnapshotService {
  return {
    namespace: 'foo',
    name: 'bar',
    type: 'ClusterIP',
    clusterIPs: ['127.0.0.1', '::1'],
    externalIPs: ['45.12.70.5', '172.217.3.5'],
    ingressIPs: [],
    externalTrafficPolicy: 'Local',
    ipFamilies: ['IPv4'],
    ...over,
  };
}

/** routes_test.go buildSimpleService3: LoadBalancer "lb" with 172.217.4.10 in spec and status, policy Local. */
function lb(over: Partial<SnapshotService> = {}): SnapshotService {
  return {
    namespace: 'foo',
    name: 'lb',
    type: 'LoadBalancer',
    clusterIPs: ['127.0.0.10', '::a'],
    externalIPs: [],
    loadBalancerIP: '172.217.4.10',
    ingressIPs: ['172.217.4.10'],
    externalTrafficPolicy: 'Local',
    ipFamilies: ['IPv4'],
    ...over,
  };
}

function slice(service: string, nodes: string[], over: Partial<SnapshotEndpointSlice> = {}): SnapshotEndpointSlice {
  return {
    namespace: 'foo',
    name: `${service}-1`,
    service,
    addressType: 'IPv4',
    anyReady: nodes.length > 0,
    readyNodes: nodes,
    ...over,
  };
}

/** What node `node` announces for a decision. */
function announcedBy(s: ServiceScope, node = NODE): string[] {
  if (s.kind === 'none') return [];
  if (s.kind === 'local' && !s.nodes.includes(node)) return [];
  return s.prefixes.map((p) => p.cidr);
}

describe('per-Service addresses (routes_test.go RouteGenerator)', () => {
  it('a Local service with a local endpoint: its cluster IPs and the external IPs inside the allowed ranges', () => {
    const s = serviceScope(bar(), [slice('bar', [NODE])], serviceSettings(config()));
    expect(s.kind).toBe('local');
    expect(announcedBy(s)).toEqual(['127.0.0.1/32', '::1/128', '172.217.3.5/32']);
    expect(announcedBy(s, 'other-node')).toEqual([]);
  });

  it('only external IPs within the configured ranges; the ranges themselves are announced and rejected', () => {
    const settings = serviceSettings(config({ serviceExternalIPs: ['45.12.0.0/16'] }));
    expect(announcedBy(serviceScope(bar(), [slice('bar', [NODE])], settings))).toEqual([
      '127.0.0.1/32',
      '::1/128',
      '45.12.70.5/32',
    ]);
    expect(serviceRanges(settings)).toEqual([
      { cidr: '10.0.0.0/16', origin: 'serviceClusterIP' },
      { cidr: '45.12.0.0/16', origin: 'serviceExternalIP' },
    ]);
  });

  it('cluster IPs are not announced unless a serviceClusterIPs range is given', () => {
    const settings = serviceSettings(config({ serviceClusterIPs: [] }));
    expect(announcedBy(serviceScope(bar(), [slice('bar', [NODE])], settings))).toEqual(['172.217.3.5/32']);
    expect(serviceAddresses(bar(), serviceSettings(config({ serviceClusterIPs: ['10.0.0.0/16'] })))).toContainEqual({
      cidr: '127.0.0.1/32',
      origin: 'serviceClusterIP',
    });
  });

  it('a single-address serviceLoadBalancerIPs entry is never a global range; the Service announces it', () => {
    const settings = serviceSettings(config({ serviceLoadBalancerIPs: ['172.217.4.10/32'] }));
    expect(serviceRanges(settings).map((r) => r.cidr)).toEqual(['10.0.0.0/16', '172.217.3.0/24']);
    expect(announcedBy(serviceScope(lb(), [slice('lb', [NODE])], settings))).toEqual([
      '127.0.0.10/32',
      '::a/128',
      '172.217.4.10/32',
    ]);
    // Without the range the LoadBalancer address is not allowed.
    expect(announcedBy(serviceScope(lb(), [slice('lb', [NODE])], serviceSettings(config())))).toEqual([
      '127.0.0.10/32',
      '::a/128',
    ]);
  });

  it('CI-1944: a Cluster LoadBalancer whose /32 is only in status is announced from every node', () => {
    const svc = lb({
      name: 'lb-cluster',
      clusterIPs: ['127.0.0.20'],
      externalTrafficPolicy: 'Cluster',
      ingressIPs: ['192.168.1.50'],
    });
    delete svc.loadBalancerIP;
    const s = serviceScope(
      svc,
      [slice('lb-cluster', [NODE])],
      serviceSettings(config({ serviceLoadBalancerIPs: ['192.168.1.50/32'] })),
    );
    expect(s.kind).toBe('all');
    expect(announcedBy(s, 'any-node')).toEqual(['127.0.0.20/32', '192.168.1.50/32']);
  });

  it('a single-address serviceExternalIPs entry: announced with the Service that has the address', () => {
    // buildSimpleService4: LoadBalancer "ext", policy Local, external IP 45.12.70.7.
    const ext = lb({ name: 'ext', clusterIPs: ['127.0.0.11', '::b'], externalIPs: ['45.12.70.7'], ingressIPs: [] });
    delete ext.loadBalancerIP;
    const settings = serviceSettings(config({ serviceExternalIPs: ['45.12.70.7/32'] }));
    expect(serviceRanges(settings).map((r) => r.cidr)).toEqual(['10.0.0.0/16']);
    expect(announcedBy(serviceScope(ext, [slice('ext', [NODE])], settings))).toEqual([
      '127.0.0.11/32',
      '::b/128',
      '45.12.70.7/32',
    ]);
    expect(serviceScope({ ...ext, externalTrafficPolicy: 'Cluster' }, [slice('ext', [])], settings).kind).toBe('all');
  });

  it('only ClusterIP, NodePort and LoadBalancer services with a cluster IP, and only with an EndpointSlice', () => {
    const settings = serviceSettings(config());
    const ready = [slice('bar', [NODE])];
    expect(serviceScope(bar({ type: 'ExternalName' }), ready, settings).kind).toBe('none');
    expect(serviceScope(bar({ clusterIPs: [] }), ready, settings).kind).toBe('none');
    expect(serviceScope(bar({ type: 'NodePort' }), ready, settings).kind).toBe('local');
    expect(serviceScope(bar(), [], settings).kind).toBe('none');
  });
});

describe('serviceLoadBalancerAggregation (routes_test.go "Service Load Balancer Aggregation")', () => {
  const cluster = lb({ externalTrafficPolicy: 'Cluster', loadBalancerIP: '172.217.4.10' });
  it('Enabled: Cluster services are left to the ranges; Local services are still announced', () => {
    const settings = serviceSettings(config({ serviceLoadBalancerIPs: ['172.217.4.0/24'] }));
    expect(serviceScope(cluster, [slice('lb', [NODE])], settings).kind).toBe('none');
    expect(serviceRanges(settings).map((r) => r.cidr)).toContain('172.217.4.0/24');
    expect(serviceScope(lb(), [slice('lb', [NODE])], settings).kind).toBe('local');
  });

  it('Disabled: no LoadBalancer range; Cluster services are announced from every node once an endpoint is ready', () => {
    const settings = serviceSettings(
      config({ serviceLoadBalancerIPs: ['172.217.4.0/24'], serviceLoadBalancerAggregation: 'Disabled' }),
    );
    expect(serviceRanges(settings).map((r) => r.cidr)).not.toContain('172.217.4.0/24');
    const s = serviceScope(cluster, [slice('lb', ['somewhere-else'])], settings);
    expect(s.kind).toBe('all');
    expect(announcedBy(s)).toEqual(['127.0.0.10/32', '::a/128', '172.217.4.10/32']);
    expect(serviceScope(cluster, [slice('lb', [], { anyReady: false })], settings).kind).toBe('none');
  });
});

describe('address families and readiness (routes_test.go)', () => {
  const settings = serviceSettings(config());
  it('an IPv4 service does not count IPv6 endpoints; a dual-stack service counts either', () => {
    const v6 = slice('bar', [NODE], { addressType: 'IPv6' });
    expect(serviceScope(bar(), [v6], settings).kind).toBe('none');
    expect(serviceScope(bar({ ipFamilies: ['IPv4', 'IPv6'] }), [v6], settings).kind).toBe('local');
  });

  it('Local: only nodes with a ready endpoint; a ready endpoint elsewhere does not count here', () => {
    expect(announcedBy(serviceScope(bar(), [slice('bar', ['other'])], settings))).toEqual([]);
    const s = serviceScope(bar(), [slice('bar', ['other']), { ...slice('bar', [NODE]), name: 'bar-2' }], settings);
    expect(s.kind === 'local' && s.nodes).toEqual([NODE, 'other']);
  });
});
