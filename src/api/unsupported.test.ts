import { describe, expect, it } from 'vitest';
import { formatPath } from './errors.js';
import { summarizeUnsupported, unsupportedFields } from './unsupported.js';

const v3 = (kind: string, spec: Record<string, unknown>) => ({
  apiVersion: 'projectcalico.org/v3',
  kind,
  metadata: { name: 'x' },
  spec,
});
const list = (obj: unknown) => unsupportedFields(obj).map((f) => [formatPath(f.path), f.reason]);

describe('unsupportedFields', () => {
  it('lists nothing for a pool Tabby fully implements', () => {
    expect(list(v3('IPPool', { cidr: '10.0.0.0/16', ipipMode: 'Always', natOutgoing: true, blockSize: 26 }))).toEqual(
      [],
    );
  });

  it('lists unknown fields, including APIv1 leftovers', () => {
    expect(list(v3('IPPool', { cidr: '10.0.0.0/16', ipip: { enabled: true }, 'nat-outgoing': true }))).toEqual([
      ['spec.ipip', 'unknown'],
      ['spec.nat-outgoing', 'unknown'],
    ]);
  });

  it('tells Calico Felix fields Tabby ignores from unknown ones', () => {
    const got = list(
      v3('FelixConfiguration', {
        vxlanVNI: 4096,
        bpfEnabled: true,
        logSeverityScreen: 'Info',
        wireguardMTU: 1400,
        typo: 1,
      }),
    );
    expect(got).toEqual([
      ['spec.bpfEnabled', 'not-implemented'],
      ['spec.logSeverityScreen', 'not-implemented'],
      ['spec.typo', 'unknown'],
      ['spec.wireguardMTU', 'not-implemented'],
    ]);
  });

  it('looks inside nested objects and lists', () => {
    const got = list(
      v3('BGPConfiguration', {
        serviceClusterIPs: [{ cidr: '10.96.0.0/12' }],
        localWorkloadPeeringIPV4: '169.254.0.179',
        communities: [{ name: 'c', value: '1:1', colour: 'blue' }],
        prefixAdvertisements: [{ cidr: '10.0.0.0/8', communities: ['c'] }],
      }),
    );
    expect(got).toEqual([
      ['spec.communities[0].colour', 'unknown'],
      ['spec.localWorkloadPeeringIPV4', 'not-implemented'],
    ]);
  });

  it('BGPPeer filters and service advertisement are acted on; local-workload peering is not', () => {
    expect(list(v3('BGPPeer', { peerIP: '10.0.0.1', asNumber: 1, filters: ['f'] }))).toEqual([]);
    expect(
      list(
        v3('BGPConfiguration', {
          serviceClusterIPs: [{ cidr: '10.96.0.0/12' }],
          serviceExternalIPs: [{ cidr: '192.0.2.0/24' }],
          serviceLoadBalancerIPs: [{ cidr: '198.51.100.0/24' }],
        }),
      ),
    ).toEqual([]);
    expect(
      list(v3('BGPPeer', { nodeSelector: 'all()', asNumber: 65000, localWorkloadSelector: 'app == "x"' })),
    ).toEqual([['spec.localWorkloadSelector', 'not-implemented']]);
  });

  it('is empty for things it cannot read', () => {
    expect(unsupportedFields(null)).toEqual([]);
    expect(unsupportedFields({ apiVersion: 'v1', kind: 'Node' })).toEqual([]);
    expect(unsupportedFields(v3('IPPool', undefined as unknown as Record<string, unknown>))).toEqual([]);
  });

  it('summarizes for a condition message', () => {
    const fields = unsupportedFields(v3('FelixConfiguration', { bpfEnabled: true, typo: 1 }));
    expect(summarizeUnsupported(fields)).toBe('fields kept but not acted on: spec.bpfEnabled, spec.typo');
    expect(summarizeUnsupported(fields, 1)).toBe('fields kept but not acted on: spec.bpfEnabled and 1 more');
    expect(summarizeUnsupported([])).toBe('');
  });
});
