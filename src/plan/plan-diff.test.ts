import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bgpSessionLine, diffPlans, neighbourLine, tunnelLine } from './plan-diff.js';
import { planCluster } from './pipeline.js';
import { clusterShape } from './testdata/arbitraries.js';

describe('plan diff', () => {
  it('a plan compared with itself has no difference', () => {
    fc.assert(
      fc.property(clusterShape, (s) => {
        expect(diffPlans(planCluster(s), planCluster(s))).toEqual([]);
      }),
      { numRuns: 60 },
    );
  });

  it("taking each node's removed lines away and adding its added ones turns the first plan into the second", () => {
    fc.assert(
      fc.property(clusterShape, clusterShape, (a, b) => {
        const pa = planCluster(a);
        const pb = planCluster(b);
        const diffs = new Map(diffPlans(pa, pb).map((d) => [d.node, d]));
        for (const node of new Set([...pa.nodes.keys(), ...pb.nodes.keys()])) {
          const before = (pa.materialise(node)?.routes ?? []).map((r) => r.line);
          const after = (pb.materialise(node)?.routes ?? []).map((r) => r.line);
          const d = diffs.get(node);
          const removed = new Set(d?.routes.removed.map((r) => r.line));
          const applied = [...before.filter((l) => !removed.has(l)), ...(d?.routes.added.map((r) => r.line) ?? [])];
          expect(new Set(applied)).toEqual(new Set(after));
          const sessions = (p: typeof pa) => (p.materialise(node)?.bgpPeers ?? []).map(bgpSessionLine);
          const goneS = new Set(d?.bgpSessions.removed.map(bgpSessionLine));
          expect(
            new Set([
              ...sessions(pa).filter((x) => !goneS.has(x)),
              ...(d?.bgpSessions.added.map(bgpSessionLine) ?? []),
            ]),
          ).toEqual(new Set(sessions(pb)));
          // A node planned on one side only is marked so.
          if (!pa.nodes.has(node)) expect(d?.status).toBe('added');
          if (!pb.nodes.has(node)) expect(d?.status).toBe('removed');
        }
      }),
      { numRuns: 60 },
    );
  });

  it('prints tunnels, neighbours and sessions with every field an agent programs', () => {
    expect(
      tunnelLine({
        name: 'vxlan.calico',
        type: 'vxlan',
        family: 4,
        address: '10.65.0.1',
        mtu: 1450,
        vni: 4096,
        port: 4789,
        mac: '66:40:b3:ea:b6:3f',
        parentAddress: '192.168.0.1',
      }),
    ).toBe('vxlan.calico address 10.65.0.1 mtu 1450 vni 4096 port 4789 mac 66:40:b3:ea:b6:3f local 192.168.0.1');
    expect(tunnelLine({ name: 'tunl0', type: 'ipip', family: 4 })).toBe('tunl0');
    expect(
      neighbourLine({
        device: 'vxlan.calico',
        node: 'n2',
        ip: '10.65.1.0',
        mac: '66:40:24:34:76:fc',
        nodeIP: '192.168.0.2',
      }),
    ).toBe('neighbour vxlan.calico 10.65.1.0 lladdr 66:40:24:34:76:fc via 192.168.0.2 (n2)');
    expect(
      bgpSessionLine({
        name: 'Global_192_168_0_254',
        peerIP: '192.168.0.254',
        port: 1179,
        asNumber: 65001,
        type: 'global',
        passwordSecretRef: { name: 'bgp', key: 'tor' },
        keepaliveTimeSeconds: 10,
      }),
    ).toBe('Global_192_168_0_254 192.168.0.254:1179 AS 65001 global password bgp/tor keepalive 10s');
  });
});
