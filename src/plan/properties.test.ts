// Properties of every plan, on random clusters (fast-check): what must hold whatever the cluster looks like.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cidrContainsCidr, formatCidr, formatIP, parseCidr, parseIP } from '../net/index.js';
import { poolRouteType } from './encap-decider.js';
import { planCluster } from './pipeline.js';
import type { ClusterSnapshot, SnapshotBlock, SnapshotNode, SnapshotPool } from './snapshot.js';
import { clusterShape } from './testdata/arbitraries.js';
import { routeDestination } from './materialise.js';

function poolOf(s: ClusterSnapshot, b: SnapshotBlock): SnapshotPool | undefined {
  const c = parseCidr(b.cidr);
  let best: SnapshotPool | undefined;
  for (const p of s.pools) {
    const pc = parseCidr(p.cidr);
    if (cidrContainsCidr(pc, c) && (!best || pc.prefix > parseCidr(best.cidr).prefix)) best = p;
  }
  return best;
}

function family(cidr: string): 4 | 6 {
  return cidr.includes(':') ? 6 : 4;
}

/** A ceiling, not an expectation: fast-check runs a fixed number of cases, slower on a loaded machine. */
const PROPERTY_CEILING_MS = 120_000;

describe('plan properties on random clusters', () => {
  it(
    'each node: one route per destination; own blocks only as blackholes; remote blocks never blackholed',
    () => {
      const reached = { ownBlackhole: 0, routeToOwner: 0, ownerless: 0 };
      fc.assert(
        fc.property(clusterShape, (s) => {
          const plan = planCluster(s);
          const nodes = new Map(s.nodes.map((n) => [n.name, n]));
          for (const n of s.nodes) {
            const m = plan.materialise(n.name);
            expect(m).toBeDefined();
            const routes = m?.routes ?? [];
            const dsts = routes.map((r) => r.dst);
            expect(new Set(dsts).size, `duplicate destination on ${n.name}: ${dsts.join(', ')}`).toBe(dsts.length);
            const byDst = new Map(routes.map((r) => [r.dst, r]));
            for (const b of s.blocks) {
              const pool = poolOf(s, b);
              const dst = routeDestination(canonicalBlock(b.cidr));
              const line = byDst.get(dst);
              if (!pool || poolRouteType(pool, family(b.cidr)) === 'none') {
                expect(line, `${n.name}: no route for ${b.cidr} outside a routing pool`).toBeUndefined();
                continue;
              }
              const hostBlock = parseCidr(b.cidr).prefix === (family(b.cidr) === 4 ? 32 : 128);
              if (b.affinity === n.name) {
                if (!hostBlock) {
                  expect(line?.line, `${n.name}: own block ${b.cidr}`).toBe(`blackhole ${dst}`);
                  reached.ownBlackhole++;
                }
                continue;
              }
              expect(line?.line.startsWith('blackhole'), `${n.name}: remote block ${b.cidr} blackholed`).not.toBe(true);
              const owner = b.affinity !== undefined ? nodes.get(b.affinity) : undefined;
              const ownerAddr = owner && (family(b.cidr) === 4 ? owner.ipv4 : owner.ipv6);
              // Without VXLAN the only requirement is the owner's address: then the route must be there, exactly once.
              if (owner && ownerAddr && pool.vxlanMode === 'Never') {
                expect(line, `${n.name}: route to ${b.cidr} on ${owner.name}`).toBeDefined();
                expect(line?.explain.node).toBe(owner.name);
                reached.routeToOwner++;
              }
              // Un-affine blocks and blocks of unknown nodes have no owner to route to.
              if (!owner) {
                expect(line, `${n.name}: ownerless block ${b.cidr}`).toBeUndefined();
                reached.ownerless++;
              }
            }
          }
        }),
        { numRuns: 200 },
      );
      // Guards against a vacuous property: each kind of check must actually be reached by the random clusters.
      for (const [what, n] of Object.entries(reached)) expect(n, what).toBeGreaterThan(20);
    },
    PROPERTY_CEILING_MS,
  );

  it(
    'reachability is symmetric between complete nodes, and so is the route kind for equal prefix lengths',
    () => {
      let compared = 0;
      fc.assert(
        fc.property(clusterShape, (s) => {
          const plan = planCluster(s);
          // Complete for a pool: an address of its family, and a VTEP when the pool uses VXLAN.
          const complete = (n: SnapshotNode, p: SnapshotPool) => {
            const v6 = family(p.cidr) === 6;
            if (!(v6 ? n.ipv6 : n.ipv4)) return false;
            return p.vxlanMode === 'Never' || (v6 ? n.vxlanTunnelAddressV6 : n.vxlanTunnelAddress) !== undefined;
          };
          const kindOf = (from: string, dst: string) => {
            const r = plan.materialise(from)?.routes.find((x) => x.dst === dst);
            return r === undefined ? 'none' : r.line.includes(' dev ') ? 'tunnel' : 'direct';
          };
          for (const pool of s.pools) {
            if (poolRouteType(pool, family(pool.cidr)) === 'none') continue;
            const blocks = s.blocks.filter((b) => poolOf(s, b) === pool && b.affinity !== undefined);
            for (const x of blocks) {
              for (const y of blocks) {
                const a = s.nodes.find((n) => n.name === x.affinity);
                const b = s.nodes.find((n) => n.name === y.affinity);
                if (!a || !b || a === b || !complete(a, pool) || !complete(b, pool)) continue;
                const ab = kindOf(a.name, routeDestination(canonicalBlock(y.cidr)));
                const ba = kindOf(b.name, routeDestination(canonicalBlock(x.cidr)));
                expect(ab, `${a.name}→${y.cidr}`).not.toBe('none');
                expect(ba, `${b.name}→${x.cidr}`).not.toBe('none');
                const addrA = family(pool.cidr) === 4 ? a.ipv4 : a.ipv6;
                const addrB = family(pool.cidr) === 4 ? b.ipv4 : b.ipv6;
                if (addrA?.prefixLength === addrB?.prefixLength)
                  expect(ab, `${a.name}↔${b.name} in ${pool.name}`).toBe(ba);
                compared++;
              }
            }
          }
        }),
        { numRuns: 200 },
      );
      // Guards against a vacuous property: random clusters must actually contain comparable pairs.
      expect(compared).toBeGreaterThan(10);
    },
    PROPERTY_CEILING_MS,
  );

  it(
    'mesh sessions describe the remote node and pair up: its AS and port, one passive side',
    () => {
      let checked = 0;
      fc.assert(
        fc.property(clusterShape, (s) => {
          const plan = planCluster(s);
          const byName = new Map(s.nodes.map((n) => [n.name, n]));
          const global = s.bgpConfigurations.find((c) => c.name === 'default');
          const portOf = (n: string) =>
            s.bgpConfigurations.find((c) => c.name === `node.${n}`)?.listenPort ?? global?.listenPort;
          const meshOn = global?.nodeToNodeMeshEnabled ?? true;
          const sessions = new Map<string, { peer: string; passive: boolean }>();
          for (const a of s.nodes) {
            for (const p of plan.materialise(a.name)?.bgpPeers ?? []) {
              if (p.type !== 'mesh') continue;
              const b = byName.get(p.source ?? '');
              expect(b, `${a.name}: ${p.name} names a node`).toBeDefined();
              if (!b) continue;
              // The remote node's own AS, else the cluster default — never the local node's own AS.
              expect(p.asNumber, `${a.name} → ${b.name}`).toBe(b.asNumber ?? global?.asNumber ?? 64512);
              expect(p.port, `${a.name} → ${b.name}`).toBe(portOf(b.name));
              expect(meshOn && a.routeReflectorClusterId === undefined && b.routeReflectorClusterId === undefined).toBe(
                true,
              );
              sessions.set(`${a.name}>${b.name}>${p.peerIP}`, { peer: p.peerIP, passive: p.passive === true });
              checked++;
            }
          }
          for (const [key, v] of sessions) {
            const [a = '', b = ''] = key.split('>');
            const own = v.peer.includes(':') ? byName.get(a)?.ipv6?.address : byName.get(a)?.ipv4?.address;
            const back = sessions.get(`${b}>${a}>${own === undefined ? '' : formatIP(parseIP(own))}`);
            expect(back, `${b} has no session back to ${a}`).toBeDefined();
            expect([v.passive, back?.passive].filter(Boolean), `${a}↔${b}: exactly one side waits`).toHaveLength(1);
          }
        }),
        { numRuns: 200 },
      );
      expect(checked).toBeGreaterThan(50);
    },
    PROPERTY_CEILING_MS,
  );

  it(
    'is deterministic: same input in any order gives identical objects and revisions',
    () => {
      fc.assert(
        fc.property(clusterShape, (s) => {
          const reversed: ClusterSnapshot = {
            nodes: [...s.nodes].reverse(),
            pools: [...s.pools].reverse(),
            blocks: [...s.blocks].reverse(),
            pods: [...s.pods].reverse(),
            bgpConfigurations: [...s.bgpConfigurations].reverse(),
            bgpPeers: [...s.bgpPeers].reverse(),
            felixConfigurations: [...s.felixConfigurations].reverse(),
            bgpFilters: [...(s.bgpFilters ?? [])].reverse(),
            services: [...(s.services ?? [])].reverse(),
            endpointSlices: [...(s.endpointSlices ?? [])].reverse(),
          };
          const a = planCluster(s);
          const b = planCluster(reversed);
          expect(JSON.stringify([...a.nodes])).toBe(JSON.stringify([...b.nodes]));
          expect(JSON.stringify([...a.routeTables])).toBe(JSON.stringify([...b.routeTables]));
          for (const n of s.nodes) expect(a.materialise(n.name)).toEqual(b.materialise(n.name));
        }),
        { numRuns: 150 },
      );
    },
    PROPERTY_CEILING_MS,
  );
});

function canonicalBlock(cidr: string): string {
  return formatCidr(parseCidr(cidr));
}
