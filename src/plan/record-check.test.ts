import { describe, expect, it } from 'vitest';
import { planRecordIssues } from './record-check.js';
import type { PlanRecord } from './snapshot-from-objects.js';

const pool = (nodeSelector: string, cidr = '10.0.0.0/16'): PlanRecord => ({
  kind: 'pool',
  key: 'p',
  record: {
    name: 'p',
    cidr,
    blockSize: 26,
    ipipMode: 'Never',
    vxlanMode: 'Always',
    natOutgoing: false,
    disabled: false,
    disableBGPExport: false,
    nodeSelector,
    allowedUses: ['Workload', 'Tunnel'],
  },
});

describe('planRecordIssues', () => {
  it('accepts what the planner can parse', () => {
    expect(planRecordIssues(pool('all()'))).toEqual([]);
    expect(planRecordIssues(pool("zone == 'a' && has(rack)"))).toEqual([]);
    expect(
      planRecordIssues({
        kind: 'bgpPeer',
        key: 'tor',
        record: { name: 'tor', peerIP: '192.0.2.1:179', asNumber: 64512 },
      }),
    ).toEqual([]);
    expect(
      planRecordIssues({
        kind: 'node',
        key: 'n1',
        record: { name: 'n1', labels: {}, ipv4: { address: '10.1.0.5', prefixLength: 24, source: 'annotation' } },
      }),
    ).toEqual([]);
  });

  it('names the object and the selector field it cannot compile', () => {
    const [issue, ...rest] = planRecordIssues(pool('has(zone'));
    expect(rest).toEqual([]);
    expect(issue).toMatchObject({ object: { kind: 'IPPool', name: 'p' }, path: ['spec', 'nodeSelector'] });
    expect(issue?.message).toMatch(/has\(/);
    const peer = planRecordIssues({
      kind: 'bgpPeer',
      key: 'rr',
      record: { name: 'rr', nodeSelector: 'all()', peerSelector: "role == 'rr" },
    });
    expect(peer.map((i) => [i.object.kind, i.path.join('.')])).toEqual([['BGPPeer', 'spec.peerSelector']]);
  });

  it('names a CIDR the planner cannot use', () => {
    const issues = planRecordIssues({ kind: 'block', key: 'b', record: { cidr: '10.0.0.0/99', allocations: [] } });
    expect(issues.map((i) => [i.object.kind, i.path.join('.')])).toEqual([['IPAMBlock', 'spec.cidr']]);
  });
});
