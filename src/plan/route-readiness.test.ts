import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Condition } from '../api/common.js';
import type { NodeDataplane } from '../api/node-dataplane.js';
import type { RouteEntry, RouteTableStatus } from '../api/route-table.js';
import {
  ROUTES_CONVERGED_CONDITION,
  RouteReadiness,
  type ViewStates,
  gateNodeOf,
  peerHasRoutes,
  routeRequirement,
  routesByNode,
  routesToNode,
} from './route-readiness.js';
import { viewRevision } from './view-revision.js';

const entry = (node: string, cidr: string, via: string): RouteEntry => ({
  cidr,
  node,
  nodeIP: via,
  kind: 'direct',
  via,
  pool: 'p',
});

/** A shard whose content is given per node as a block CIDR (and optionally a VTEP); revision named by the caller. */
function shard(revision: string, routes: Record<string, string>, vteps: Record<string, string> = {}, view = 'cluster') {
  const nodes = [...new Set([...Object.keys(routes), ...Object.keys(vteps)])].sort();
  const status: RouteTableStatus = {
    view,
    shard: 0,
    revision,
    entries: nodes.filter((n) => routes[n] !== undefined).map((n) => entry(n, routes[n]!, `192.168.0.${n.length}`)),
    nodes: nodes.map((n) => ({ name: n, ...(vteps[n] !== undefined ? { vtepIP: vteps[n] } : {}) })),
  };
  return status;
}

interface NodeState {
  desired?: string;
  view?: string;
  viewV6?: string;
  applied?: string;
  /** The shards of its view the agent applied, at these revisions (reported as one view revision). */
  shards?: Record<string, string>;
  programmed?: boolean;
  converged?: boolean;
}

function ndp(name: string, s: NodeState): NodeDataplane {
  const conditions: Condition[] = [];
  if (s.programmed !== undefined)
    conditions.push({
      type: 'Programmed',
      status: s.programmed ? 'True' : 'False',
      reason: 'x',
      message: '',
      lastTransitionTime: '2026-01-01T00:00:00Z',
    });
  if (s.converged)
    conditions.push({
      type: ROUTES_CONVERGED_CONDITION,
      status: 'True',
      reason: 'x',
      message: '',
      lastTransitionTime: '2026-01-01T00:00:00Z',
    });
  return {
    apiVersion: 'dataplane.tabby.dev/v1alpha1',
    kind: 'NodeDataplane',
    metadata: { name },
    spec: { nodeName: name },
    status: {
      ...(s.desired !== undefined
        ? {
            desired: {
              revision: s.desired,
              view: s.view ?? 'cluster',
              ...(s.viewV6 !== undefined ? { viewV6: s.viewV6 } : {}),
              blocks: [],
              borrowed: [],
              tunnels: [],
              mtu: {},
              natOutgoing: { sourceCidrs: [], allPoolCidrs: [] },
              felix: {} as never,
            },
          }
        : {}),
      ...(s.applied !== undefined
        ? {
            applied: {
              revision: s.applied,
              viewRevisions: [
                {
                  view: s.view ?? 'cluster',
                  revision: viewRevision(
                    Object.entries(s.shards ?? {}).map(([name, revision]) => ({ name, revision })),
                  ),
                  shards: Object.keys(s.shards ?? {}).length,
                },
              ],
              time: '2026-01-01T00:00:00Z',
            },
          }
        : {}),
      conditions,
    },
  };
}

describe('what a shard holds of the routes to a node', () => {
  const s = shard('r1', { a: '10.0.0.0/26', b: '10.0.0.64/26' }, { c: '10.0.9.1' });
  it('is empty for a node it does not mention, and differs between nodes it does', () => {
    expect(routesToNode(s, 'd')).toBe('');
    expect(routesToNode(s, 'a')).not.toBe('');
    expect(routesToNode(s, 'a')).not.toBe(routesToNode(s, 'b'));
    // A VTEP alone (a node with no block yet) is something peers must have for VXLAN.
    expect(routesToNode(s, 'c')).not.toBe('');
  });
  it('does not change with the shard revision or other nodes, and changes with the node own routes', () => {
    const later = shard('r2', { a: '10.0.0.0/26', b: '10.0.0.64/26', d: '10.0.1.0/26' }, { c: '10.0.9.1' });
    expect(routesToNode(later, 'a')).toBe(routesToNode(s, 'a'));
    const moved = shard('r3', { a: '10.0.0.0/26', b: '10.0.0.128/26' });
    expect(routesToNode(moved, 'b')).not.toBe(routesToNode(s, 'b'));
  });
  it('is the same read node by node or for every node of the shard at once', () => {
    const names = ['a', 'b', 'c', 'd'];
    fc.assert(
      fc.property(
        fc.array(fc.record({ node: fc.constantFrom(...names), net: fc.nat(255) }), { maxLength: 12 }),
        fc.array(fc.record({ name: fc.constantFrom(...names), vtep: fc.option(fc.nat(255), { nil: undefined }) }), {
          maxLength: 6,
        }),
        (entries, records) => {
          const status: RouteTableStatus = {
            view: 'cluster',
            shard: 0,
            revision: 'r',
            entries: entries.map((e) => entry(e.node, `10.0.${e.net}.0/26`, '192.168.0.1')),
            nodes: records.map((r) => ({
              name: r.name,
              ...(r.vtep !== undefined ? { vtepIP: `10.9.0.${r.vtep}` } : {}),
            })),
          };
          const all = routesByNode(status);
          for (const n of names) expect(all.get(n) ?? '').toBe(routesToNode(status, n));
          expect([...all.values()]).not.toContain('');
        },
      ),
    );
  });
});

describe('whether a peer has the routes to a node', () => {
  /** The view states the gate knows: every one a peer below reports, unless it is told to forget. */
  const known = new Map<string, ReadonlyMap<string, string>>();
  const states: ViewStates = (_view, revision) => known.get(revision);
  const peer = (programmed: boolean, shards: Record<string, string>, views = ['cluster']) => {
    known.set(
      viewRevision(Object.entries(shards).map(([name, revision]) => ({ name, revision }))),
      new Map(Object.entries(shards)),
    );
    return { ...gateNodeOf(ndp('p', { desired: 'd1', applied: 'd1', programmed, shards })), views };
  };
  const shards = new Map([
    ['cluster-0', shard('r2', { x: '10.0.0.0/26' })],
    ['cluster-1', shard('q1', { y: '10.0.1.0/26' })],
  ]);
  const req = routeRequirement('x', shards, new Map([['cluster-0', new Map([['r1', '']])]]));
  it('asks for the shards holding the node at their current revision', () => {
    expect([...req.keys()]).toEqual(['cluster']);
    expect([...req.get('cluster')!.entries()].map(([n, s]) => [n, [...s]])).toEqual([['cluster-0', ['r2']]]);
  });
  it.each([
    ['programmed at the current revision', true, { 'cluster-0': 'r2', 'cluster-1': 'q0' }, true],
    ['at a revision without the node', true, { 'cluster-0': 'r1', 'cluster-1': 'q1' }, false],
    ['not programmed', false, { 'cluster-0': 'r2' }, false],
    ['without the shard', true, { 'cluster-1': 'q1' }, false],
  ])('%s → %s', (_what, programmed, applied, want) => {
    expect(peerHasRoutes(peer(programmed, applied), req, states)).toBe(want);
  });
  it('an older revision seen carrying the same routes qualifies, one with other routes to the node does not', () => {
    const x = routesToNode(shard('r1', { x: '10.0.0.0/26' }), 'x');
    const other = routesToNode(shard('r0', { x: '10.0.7.0/26' }), 'x');
    const r = routeRequirement(
      'x',
      shards,
      new Map([
        [
          'cluster-0',
          new Map([
            ['r1', x],
            ['r0', other],
          ]),
        ],
      ]),
    );
    expect(peerHasRoutes(peer(true, { 'cluster-0': 'r1' }), r, states)).toBe(true);
    expect(peerHasRoutes(peer(true, { 'cluster-0': 'r0' }), r, states)).toBe(false);
  });
  it('a peer whose views do not carry the node yet does not have its routes; nothing to route is had by all', () => {
    expect(peerHasRoutes(peer(true, { 'cluster-0': 'r2' }, ['10.0.1.0-24']), req, states)).toBe(false);
    expect(peerHasRoutes(peer(false, {}), routeRequirement('z', shards), states)).toBe(true);
  });
  it('a dual-stack peer has the routes when its view carrying them does (its other view carries none)', () => {
    expect(peerHasRoutes(peer(true, { 'cluster-0': 'r2' }, ['cluster', 'v6']), req, states)).toBe(true);
  });
  it('a view revision the gate does not know (never seen, or forgotten) does not count as having the routes', () => {
    const p = peer(true, { 'cluster-0': 'r2' });
    expect(peerHasRoutes(p, req, states)).toBe(true);
    expect(peerHasRoutes(p, req, () => undefined)).toBe(false);
  });
});

describe('the gate over a cluster', () => {
  const withX = shard('r2', { a: '10.0.0.0/26', b: '10.0.0.64/26', x: '10.0.0.128/26' });
  const withoutX = shard('r1', { a: '10.0.0.0/26', b: '10.0.0.64/26' });
  const converged = (rev: string): NodeState => ({
    desired: 'd',
    applied: 'd',
    programmed: true,
    converged: true,
    shards: { 'cluster-0': rev },
  });

  function cluster(): RouteReadiness {
    const g = new RouteReadiness();
    g.observeShard('cluster-0', withoutX);
    g.observeNodeDataplane('a', ndp('a', converged('r1')));
    g.observeNodeDataplane('b', ndp('b', converged('r1')));
    return g;
  }

  it('opens for a joining node only after its own sync and the last peer applied the routes to it, once', () => {
    const g = cluster();
    expect(g.pendingNodes()).toEqual([]);
    g.observeShard('cluster-0', withX);
    g.observeNodeDataplane('x', ndp('x', { desired: 'dx' }));
    expect(g.takeOpened()).toEqual([]);
    expect(g.waitingFor('x')).toEqual(['a', 'b']);
    g.observeNodeDataplane('a', ndp('a', converged('r2')));
    expect(g.takeOpened()).toEqual([]);
    expect(g.waitingFor('x')).toEqual(['b']);
    // Its own agent programmed, b still behind.
    g.observeNodeDataplane(
      'x',
      ndp('x', { desired: 'dx', applied: 'dx', programmed: true, shards: { 'cluster-0': 'r2' } }),
    );
    expect(g.takeOpened()).toEqual([]);
    g.observeNodeDataplane('b', ndp('b', converged('r2')));
    expect(g.takeOpened()).toEqual([{ node: 'x', peers: 2 }]);
    expect(g.takeOpened()).toEqual([]);
    g.observeNodeDataplane('a', ndp('a', { ...converged('r2'), applied: 'd2' }));
    expect(g.takeOpened()).toEqual([]);
    // The condition written: no longer pending.
    g.observeNodeDataplane('x', ndp('x', { ...converged('r2'), desired: 'dx', applied: 'dx' }));
    expect(g.pendingNodes()).toEqual([]);
  });

  it('waits for its own sync at the desired revision', () => {
    const g = cluster();
    g.observeShard('cluster-0', withX);
    g.observeNodeDataplane('a', ndp('a', converged('r2')));
    g.observeNodeDataplane('b', ndp('b', converged('r2')));
    g.observeNodeDataplane('x', ndp('x', { desired: 'dx2', applied: 'dx1', programmed: true }));
    expect(g.takeOpened()).toEqual([]);
    g.observeNodeDataplane('x', ndp('x', { desired: 'dx2', applied: 'dx2', programmed: false }));
    expect(g.takeOpened()).toEqual([]);
    g.observeNodeDataplane('x', ndp('x', { desired: 'dx2', applied: 'dx2', programmed: true }));
    expect(g.takeOpened()).toEqual([{ node: 'x', peers: 2 }]);
  });

  it('a node with no peer opens once programmed; a peer whose kubelet is gone is not waited for', () => {
    const alone = new RouteReadiness();
    alone.observeShard('cluster-0', shard('r1', { x: '10.0.0.0/26' }));
    alone.observeNodeDataplane('x', ndp('x', { desired: 'd', applied: 'd', programmed: true }));
    expect(alone.takeOpened()).toEqual([{ node: 'x', peers: 0 }]);

    const g = cluster();
    g.observeShard('cluster-0', withX);
    g.observeNodeDataplane('a', ndp('a', converged('r2')));
    g.observeNodeDataplane('x', ndp('x', { desired: 'd', applied: 'd', programmed: true }));
    expect(g.takeOpened()).toEqual([]);
    g.observeNodeLost('b', true);
    expect(g.takeOpened()).toEqual([{ node: 'x', peers: 1 }]);
  });

  it('an agent that never reported is no peer; a revision that changed the routes to the node no longer counts', () => {
    const g = cluster();
    g.observeNodeDataplane('c', ndp('c', { desired: 'dc' }));
    g.observeShard('cluster-0', withX);
    g.observeNodeDataplane('x', ndp('x', { desired: 'd', applied: 'd', programmed: true }));
    g.observeNodeDataplane('a', ndp('a', converged('r2')));
    // x's VTEP arrives: r2 no longer holds the routes to x as they are.
    g.observeShard(
      'cluster-0',
      shard('r3', { a: '10.0.0.0/26', b: '10.0.0.64/26', x: '10.0.0.128/26' }, { x: '10.0.0.129' }),
    );
    g.observeNodeDataplane('b', ndp('b', converged('r2')));
    expect(g.takeOpened()).toEqual([]);
    // c (now pending too) and x wait for each other's routes, never for each other's gate.
    expect(g.waitingFor('x')).toEqual(['a', 'b']);
    // Another node joins (r4): x's part is unchanged, so peers at r3 or r4 both have it.
    g.observeShard(
      'cluster-0',
      shard('r4', { a: '10.0.0.0/26', b: '10.0.0.64/26', x: '10.0.0.128/26', y: '10.0.0.192/26' }, { x: '10.0.0.129' }),
    );
    g.observeNodeDataplane('a', ndp('a', converged('r3')));
    g.observeNodeDataplane('b', ndp('b', converged('r4')));
    expect(g.takeOpened()).toEqual([{ node: 'x', peers: 2 }]);
  });

  it('a report that leaves the node waiting for another peer gives it nothing to do; the last one does', () => {
    const g = cluster();
    g.observeNodeDataplane('c', ndp('c', converged('r1')));
    g.observeShard('cluster-0', withX);
    g.observeNodeDataplane('x', ndp('x', { desired: 'd', applied: 'd', programmed: true }));
    expect(g.takeOpened()).toEqual([]);
    expect(g.mayOpen).toBe(false);
    g.observeNodeDataplane('a', ndp('a', converged('r2')));
    expect(g.mayOpen).toBe(false);
    // A peer still behind reporting again (say its counts changed) changes nothing either.
    g.observeNodeDataplane('b', ndp('b', { ...converged('r1'), applied: 'd2' }));
    expect(g.mayOpen).toBe(false);
    g.observeNodeDataplane('b', ndp('b', converged('r2')));
    expect(g.mayOpen).toBe(false);
    g.observeNodeDataplane('c', ndp('c', converged('r2')));
    expect(g.mayOpen).toBe(true);
    expect(g.takeOpened()).toEqual([{ node: 'x', peers: 3 }]);
    expect(g.mayOpen).toBe(false);
  });

  it("a peer's report of a view state the gate has not seen yet counts once the gate sees it", () => {
    // Two shards: x's routes in cluster-0; cluster-1 (another node's) changes without touching x.
    const other = (rev: string, net: string) => ({ ...shard(rev, { o: net }), shard: 1 });
    const g = new RouteReadiness();
    g.observeShard('cluster-0', withX);
    g.observeShard('cluster-1', other('q1', '10.0.5.0/26'));
    g.observeNodeDataplane('x', ndp('x', { desired: 'd', applied: 'd', programmed: true }));
    // a's watch was ahead of the operator's cache: it applied cluster-1 at q2 before the gate's event for it.
    g.observeNodeDataplane('a', ndp('a', { ...converged('r2'), shards: { 'cluster-0': 'r2', 'cluster-1': 'q2' } }));
    expect(g.waitingFor('x')).toEqual(['a']);
    expect(g.takeOpened()).toEqual([]);
    g.observeShard('cluster-1', other('q2', '10.0.6.0/26'));
    expect(g.mayOpen).toBe(true);
    expect(g.takeOpened()).toEqual([{ node: 'x', peers: 1 }]);
  });

  it('hands a node out again when its condition could not be written', () => {
    const g = new RouteReadiness();
    g.observeNodeDataplane('x', ndp('x', { desired: 'd', applied: 'd', programmed: true }));
    expect(g.takeOpened()).toEqual([{ node: 'x', peers: 0 }]);
    g.retry('x');
    expect(g.takeOpened()).toEqual([{ node: 'x', peers: 0 }]);
  });
});

// Random histories of a small cluster: shards rewritten (each revision a random route per node), agents reporting
// random revisions, kubelets lost and back. Oracle: the generator's own record of what each revision held, so "has the
// routes" is judged from the contents, not from the gate's bookkeeping.
/** A ceiling, not an expectation: fast-check runs a fixed number of cases, slower on a loaded machine. */
const PROPERTY_CEILING_MS = 120_000;

describe('the gate on random histories', () => {
  const NODES = ['n0', 'n1', 'n2', 'n3'];
  const SHARDS = ['cluster-0', 'cluster-1'];
  type Op =
    | { k: 'shard'; shard: number; routes: (number | null)[] }
    | { k: 'status'; node: number; shards: (number | null)[]; programmed: boolean; own: boolean }
    | { k: 'lost'; node: number; lost: boolean }
    | { k: 'converge'; node: number };
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.record({
      k: fc.constant('shard' as const),
      shard: fc.nat(1),
      routes: fc.array(fc.option(fc.nat(1), { nil: null }), { minLength: 4, maxLength: 4 }),
    }),
    fc.record({
      k: fc.constant('status' as const),
      node: fc.nat(3),
      // Index back into the shard's history (0 = current), or no report of it.
      shards: fc.array(fc.option(fc.nat(3), { nil: null }), { minLength: 2, maxLength: 2 }),
      programmed: fc.boolean(),
      own: fc.boolean(),
    }),
    fc.record({ k: fc.constant('lost' as const), node: fc.nat(3), lost: fc.boolean() }),
    fc.record({ k: fc.constant('converge' as const), node: fc.nat(3) }),
  );

  it(
    'opens a node only when every live reporting peer holds its current routes, and as soon as all have',
    () => {
      fc.assert(
        fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
          const g = new RouteReadiness();
          const revs = SHARDS.map(() => [] as { rev: string; routes: (number | null)[] }[]);
          const state = NODES.map(() => ({ shards: [null, null] as (string | null)[], programmed: false, own: false }));
          const lost = new Set<string>();
          const converged = new Set<string>();
          const opened = new Set<string>();
          /** Each state the view passed through (shard → revision, absent shards left out), as a key. */
          const viewStatesSeen = new Set<string>();
          const stateKey = (shards: readonly (string | null)[]) => JSON.stringify(shards);
          let seq = 0;
          const statusOf = (i: number) =>
            ndp(NODES[i]!, {
              desired: 'd',
              ...(state[i]!.shards.some((s) => s !== null) || state[i]!.programmed
                ? {
                    applied: state[i]!.own ? 'd' : 'old',
                    shards: Object.fromEntries(
                      SHARDS.flatMap((s, j) => (state[i]!.shards[j] !== null ? [[s, state[i]!.shards[j]!]] : [])),
                    ),
                  }
                : {}),
              programmed: state[i]!.programmed,
              converged: converged.has(NODES[i]!),
            });
          const reported = (i: number) => state[i]!.shards.some((s) => s !== null) || state[i]!.programmed;
          /** What the gate may remember for x: the last 16 revisions of the shard holding x (pending from the start). */
          const remembered = (j: number, x: number) => revs[j]!.filter((r) => r.routes[x] !== null).slice(-16);
          const oracleWaiting = (x: number): string[] => {
            const holding = SHARDS.map((_, j) => j).filter((j) => (revs[j]!.at(-1)?.routes[x] ?? null) !== null);
            const waiting: string[] = [];
            for (let p = 0; p < NODES.length; p++) {
              const ps = state[p]!;
              if (p === x || !reported(p) || lost.has(NODES[p]!) || holding.length === 0) continue;
              // Agents report one revision per view: a combination of shard revisions the view never had as a
              // whole cannot be told apart from an unknown one.
              const has =
                ps.programmed &&
                viewStatesSeen.has(stateKey(ps.shards)) &&
                holding.every((j) => {
                  const applied = remembered(j, x).find((r) => r.rev === ps.shards[j]);
                  return applied !== undefined && applied.routes[x] === revs[j]!.at(-1)!.routes[x];
                });
              if (!has) waiting.push(NODES[p]!);
            }
            return waiting;
          };
          const oracleOpen = (x: number): boolean =>
            reported(x) && state[x]!.programmed && state[x]!.own && oracleWaiting(x).length === 0;
          const take = () => {
            // `mayOpen` false promises an empty `takeOpened` (the operator then does not run the gate at all).
            const may = g.mayOpen;
            const out = g.takeOpened();
            if (!may) expect(out, 'handed out while mayOpen was false').toEqual([]);
            for (const o of out) {
              const x = NODES.indexOf(o.node);
              expect(opened.has(o.node), `${o.node} handed out twice`).toBe(false);
              expect(oracleOpen(x), `${o.node} opened too early`).toBe(true);
              opened.add(o.node);
            }
            // And as soon as a node may open, it does (not only at the end of the history).
            for (let x = 0; x < NODES.length; x++) {
              if (!converged.has(NODES[x]!) && oracleOpen(x))
                expect(opened.has(NODES[x]!), `${NODES[x]} not opened`).toBe(true);
            }
          };
          const writeShard = (j: number, routes: (number | null)[]) => {
            const rev = `s${j}-${seq++}`;
            revs[j]!.push({ rev, routes });
            const r: Record<string, string> = {};
            routes.forEach((v, i) => {
              if (v !== null) r[NODES[i]!] = `10.${i}.${v}.0/26`;
            });
            g.observeShard(SHARDS[j]!, { ...shard(rev, r), shard: j });
            viewStatesSeen.add(stateKey(SHARDS.map((_, k) => revs[k]!.at(-1)?.rev ?? null)));
          };
          // Every node planned from the start (pending), as the operator plans a node before its agent reports.
          for (let i = 0; i < NODES.length; i++) g.observeNodeDataplane(NODES[i]!, statusOf(i));
          for (const o of ops) {
            if (o.k === 'shard') writeShard(o.shard, o.routes);
            else if (o.k === 'status') {
              const s = state[o.node]!;
              s.shards = o.shards.map((back, j) => {
                if (back === null) return null;
                const h = revs[j]!;
                return h.length === 0 ? null : h[Math.max(0, h.length - 1 - back)]!.rev;
              });
              s.programmed = o.programmed;
              s.own = o.own;
              g.observeNodeDataplane(NODES[o.node]!, statusOf(o.node));
            } else if (o.k === 'lost') {
              if (o.lost) lost.add(NODES[o.node]!);
              else lost.delete(NODES[o.node]!);
              g.observeNodeLost(NODES[o.node]!, o.lost);
            } else if (opened.has(NODES[o.node]!)) {
              converged.add(NODES[o.node]!);
              g.observeNodeDataplane(NODES[o.node]!, statusOf(o.node));
            }
            take();
            expect(g.pendingNodes()).toEqual(NODES.filter((n) => !converged.has(n)));
            for (const n of g.pendingNodes()) expect(g.waitingFor(n), n).toEqual(oracleWaiting(NODES.indexOf(n)));
          }
          // Everyone applies what is current now: every node not yet converged opens.
          for (let i = 0; i < NODES.length; i++) {
            state[i] = {
              shards: SHARDS.map((_, j) => revs[j]!.at(-1)?.rev ?? null),
              programmed: true,
              own: true,
            };
          }
          for (let i = 0; i < NODES.length; i++) g.observeNodeDataplane(NODES[i]!, statusOf(i));
          take();
          for (const n of NODES) expect(opened.has(n), `${n} never opened`).toBe(true);
        }),
        { numRuns: 300 },
      );
    },
    PROPERTY_CEILING_MS,
  );
});
