// The route readiness gate's rule (issue 21): a node is ready for ordinary pods once its own agent has programmed
// its plan AND every other live agent has applied a RouteTable revision that carries the routes to it.
//
// - "The routes to node X" in a shard are the shard's entries whose `node` is X (its blocks and the /32s it borrowed)
//   plus X's record in the shard's `nodes` (its VTEP, which VXLAN's ARP and FDB entries need). `routesToNode` gives
//   them as a fingerprint: '' when the shard holds nothing of X.
// - A peer P "has the routes to X" when its agent reports Programmed=True and, in one of its views that carries X,
//   it applied every shard of that view holding X at a revision that holds X's routes as they are now. The shard's
//   current revision always qualifies; so does an older one the gate saw carrying the same routes to X (a later
//   join changes the shard's revision without changing X's part: an agent a revision behind still routes to X).
//   While X is routed somewhere but none of P's views carries X yet, P does not have the routes.
// - Agents report one revision per view (view-revision.ts: a digest of its shards' revisions), not each shard's: the
//   gate keeps, per view, the shard revisions of the last VIEW_HISTORY states it saw under their digest. A report of
//   a state not (or no longer) known counts as not having the routes; one the gate sees later (the agent's watch was
//   ahead of the operator's cache) has the peer looked at again then.
// - Peers are the other nodes whose agent has reported `status.applied` at least once, except nodes whose kubelet
//   has stopped reporting (Node Ready=Unknown: the node controller gave it up). A node with no peer opens once its
//   own dataplane is programmed. Nodes joining together wait for each other's routes, never for each other's gate:
//   agents program routes whatever their own gate says.
// - Own dataplane programmed: Programmed=True at the desired revision (`status.applied.revision`).
// - A node is pending until its NodeDataplane carries RoutesConverged=True; the gate never closes again (a running
//   node keeps its pods; later route changes are the agents' ordinary convergence).
// Work follows what changed: a peer's status is checked against each pending node alone; a pending node's whole
// peer list is looked at again only when the routes to it change (or it starts pending). Pure: no I/O, no clock.
import type { Condition } from '../api/common.js';
import type { NodeDataplane } from '../api/node-dataplane.js';
import type { RouteTableStatus } from '../api/route-table.js';
import { viewRevision } from './view-revision.js';

export const ROUTES_CONVERGED_CONDITION = 'RoutesConverged';
/** Older revisions remembered per pending node and shard (each a possible "agent one revision behind"). */
const HISTORY_PER_SHARD = 16;
/** States of a view remembered under their digest (a report names one; agents behind name older ones). */
const VIEW_HISTORY = 64;

/** What a shard holds of the routes to `node`, as comparable text; '' when it holds none. */
export function routesToNode(status: RouteTableStatus, node: string): string {
  const entries = status.entries.filter((e) => e.node === node);
  const record = status.nodes?.find((n) => n.name === node);
  if (entries.length === 0 && record === undefined) return '';
  return JSON.stringify({ entries, record: record ?? null });
}

/**
 * `routesToNode` of every node a shard holds, in one walk over it (a node it does not hold has no key). The gate asks
 * a shard about many nodes — every pending one, at each of the shard's revisions — and asking each alone would walk
 * the whole shard per node: O(pending × shard) per revision, O(nodes²) per join while a whole cluster is pending.
 */
export function routesByNode(status: RouteTableStatus): Map<string, string> {
  const entries = new Map<string, RouteTableStatus['entries']>();
  for (const e of status.entries) {
    const list = entries.get(e.node);
    if (list) list.push(e);
    else entries.set(e.node, [e]);
  }
  const records = new Map<string, NonNullable<RouteTableStatus['nodes']>[number]>();
  for (const n of status.nodes ?? []) if (!records.has(n.name)) records.set(n.name, n);
  const out = new Map<string, string>();
  for (const node of new Set([...entries.keys(), ...records.keys()])) {
    out.set(node, JSON.stringify({ entries: entries.get(node) ?? [], record: records.get(node) ?? null }));
  }
  return out;
}

/** What the gate reads of one node's NodeDataplane (and Node). */
export interface GateNode {
  views: readonly string[];
  planned: boolean;
  /** The agent has reported status.applied at least once. */
  reported: boolean;
  /** Programmed=True. */
  programmed: boolean;
  /** Programmed=True at the desired revision. */
  ownProgrammed: boolean;
  /** Route view → revision of its shards the agent applied (view-revision.ts). */
  viewRevisions: ReadonlyMap<string, string>;
  converged: boolean;
}

export function gateNodeOf(ndp: NodeDataplane): GateNode {
  const d = ndp.status?.desired;
  const a = ndp.status?.applied;
  const conditions = (ndp.status?.conditions ?? []) as Condition[];
  const isTrue = (type: string) => conditions.some((c) => c.type === type && c.status === 'True');
  const programmed = isTrue('Programmed');
  return {
    views: [...new Set([d?.view, d?.viewV6].filter((v): v is string => typeof v === 'string' && v !== ''))],
    planned: d !== undefined,
    reported: a !== undefined,
    programmed,
    ownProgrammed: programmed && d !== undefined && a?.revision === d.revision,
    viewRevisions: new Map((a?.viewRevisions ?? []).map((v) => [v.view, v.revision])),
    converged: isTrue(ROUTES_CONVERGED_CONDITION),
  };
}

/** Per view that carries the routes to a node: each shard holding them → the revisions that hold them as now. */
export type RouteRequirement = ReadonlyMap<string, ReadonlyMap<string, ReadonlySet<string>>>;

/** The shard revisions (shard → revision) of a view at one of its revisions; undefined when not known. */
export type ViewStates = (view: string, revision: string) => ReadonlyMap<string, string> | undefined;

/** Whether `peer` has applied the routes `req` asks for (see the header). */
export function peerHasRoutes(peer: GateNode, req: RouteRequirement, states: ViewStates): boolean {
  if (req.size === 0) return true;
  if (!peer.programmed) return false;
  let covered = false;
  for (const view of peer.views) {
    const shards = req.get(view);
    if (shards === undefined) continue;
    const revision = peer.viewRevisions.get(view);
    const applied = revision === undefined ? undefined : states(view, revision);
    if (applied === undefined) return false;
    for (const [shard, accepted] of shards) {
      const at = applied.get(shard);
      if (at === undefined || !accepted.has(at)) return false;
    }
    covered = true;
  }
  return covered;
}

/** The routes to `node` every peer needs: from the shards as they are, and the older revisions seen carrying them. */
export function routeRequirement(
  node: string,
  shards: Iterable<readonly [string, RouteTableStatus]>,
  history: ReadonlyMap<string, ReadonlyMap<string, string>> = new Map(),
  /** `routesToNode` of a shard (a caller that keeps `routesByNode` per shard answers without walking it). */
  routesIn: (name: string, status: RouteTableStatus) => string = (_, status) => routesToNode(status, node),
): RouteRequirement {
  const req = new Map<string, Map<string, Set<string>>>();
  for (const [name, status] of shards) {
    const now = routesIn(name, status);
    if (now === '') continue;
    const accepted = new Set([status.revision]);
    for (const [rev, fp] of history.get(name) ?? []) if (fp === now) accepted.add(rev);
    const view = req.get(status.view) ?? new Map<string, Set<string>>();
    view.set(name, accepted);
    req.set(status.view, view);
  }
  return req;
}

export interface GateOpened {
  node: string;
  /** Peers whose agents applied the routes (0: the node had none). */
  peers: number;
}

interface Pending {
  /** shard → revision → routesToNode, for revisions seen while pending (bounded). */
  history: Map<string, Map<string, string>>;
  req: RouteRequirement;
  /** Peers that do not have the routes yet. */
  waiting: Set<string>;
  peers: Set<string>;
  /** Opened and handed out: wait for the condition to show (or `retry`). */
  handedOut: boolean;
}

/**
 * The gate's state over every NodeDataplane, RouteTable and Node ready state it is shown. `observe*` take what the
 * caches hold (undefined: deleted); `takeOpened` hands out the nodes whose gate opened since, once each.
 */
export class RouteReadiness {
  private readonly nodes = new Map<string, GateNode>();
  private readonly lost = new Set<string>();
  /** The nodes that are peers now (`isPeer`): a rebuild looks at these, not at every node planned. */
  private readonly livePeers = new Set<string>();
  private readonly shards = new Map<string, RouteTableStatus>();
  /** `routesByNode` of each shard as it is now, built when first asked. */
  private readonly shardRoutes = new Map<string, Map<string, string>>();
  /** View → shard → revision, as the shards are now. */
  private readonly viewShards = new Map<string, Map<string, string>>();
  /** The view each shard was seen in (a delete event carries no status). */
  private readonly shardView = new Map<string, string>();
  /** View → its revision → its shard revisions then; the last VIEW_HISTORY states seen, oldest first. */
  private readonly viewStates = new Map<string, Map<string, ReadonlyMap<string, string>>>();
  /** `view revision` a peer reported before the gate saw that state → those peers. */
  private readonly unresolved = new Map<string, Set<string>>();
  private readonly states: ViewStates = (view, revision) => this.viewStates.get(view)?.get(revision);
  private readonly pending = new Map<string, Pending>();
  /** Pending nodes whose requirement and peer list must be built again. */
  private readonly dirty = new Set<string>();
  /**
   * Pending nodes to look at in the next `takeOpened`: those that may open (no peer left to wait for, or their own
   * status changed) and those to rebuild. A peer's report that leaves a node still waiting for others adds nothing,
   * so most reports of a join give `takeOpened` nothing to do (`mayOpen` false).
   */
  private readonly check = new Set<string>();

  observeNodeDataplane(name: string, ndp: NodeDataplane | undefined): void {
    const before = this.nodes.get(name);
    const after = ndp ? gateNodeOf(ndp) : undefined;
    if (before !== undefined) this.forgetUnresolved(name, before);
    if (after !== undefined) this.noteUnresolved(name, after);
    if (after) this.nodes.set(name, after);
    else this.nodes.delete(name);
    const wasPeer = before !== undefined && this.isPeer(name, before);
    const isPeer = after !== undefined && this.isPeer(name, after);
    if (isPeer) this.livePeers.add(name);
    else this.livePeers.delete(name);
    if (after?.planned === true && !after.converged) {
      if (!this.pending.has(name)) this.startPending(name);
      this.check.add(name);
    } else this.stopPending(name);
    if (wasPeer || isPeer) this.peerChanged(name);
  }

  /** The node's kubelet stopped reporting (Ready=Unknown), or came back. */
  observeNodeLost(name: string, lost: boolean): void {
    if (this.lost.has(name) === lost) return;
    if (lost) this.lost.add(name);
    else this.lost.delete(name);
    const n = this.nodes.get(name);
    if (n !== undefined && this.isPeer(name, n)) this.livePeers.add(name);
    else this.livePeers.delete(name);
    if (n !== undefined) this.peerChanged(name);
  }

  observeShard(name: string, status: RouteTableStatus | undefined): void {
    const before = this.pending.size > 0 ? this.routesIn(name) : undefined;
    this.shardRoutes.delete(name);
    if (status) this.shards.set(name, status);
    else this.shards.delete(name);
    this.recordViewState(name, status);
    if (this.pending.size === 0) return;
    const after = this.routesIn(name);
    for (const [node, p] of this.pending) {
      const was = before?.get(node) ?? '';
      const now = after?.get(node) ?? '';
      if (status && now !== '') remember(p.history, name, status.revision, now);
      // A shard that holds (or held) routes to the node: who has them is looked at again (a new revision holding
      // the same routes qualifies too; an agent may report it before this event arrives).
      if (was !== '' || now !== '') {
        this.dirty.add(node);
        this.check.add(node);
      }
    }
  }

  /** Nodes whose gate opened since the last call; each is handed out once (see `retry`). */
  takeOpened(): GateOpened[] {
    const out: GateOpened[] = [];
    for (const node of this.check) {
      const p = this.pending.get(node);
      if (!p) continue;
      if (this.dirty.has(node)) this.rebuild(node, p);
      const self = this.nodes.get(node);
      if (p.handedOut || self?.ownProgrammed !== true || p.waiting.size > 0) continue;
      p.handedOut = true;
      out.push({ node, peers: p.peers.size });
    }
    this.check.clear();
    this.dirty.clear();
    return out;
  }

  /** Whether `takeOpened` may hand out a node now (false: it would return [], no need to call it). */
  get mayOpen(): boolean {
    return this.check.size > 0;
  }

  /** The gate's opening could not be recorded: hand the node out again. */
  retry(node: string): void {
    const p = this.pending.get(node);
    if (!p) return;
    p.handedOut = false;
    this.check.add(node);
  }

  pendingNodes(): string[] {
    return [...this.pending.keys()].sort();
  }

  /** How many nodes are pending (without listing them: told at every NodeDataplane event). */
  get pendingCount(): number {
    return this.pending.size;
  }

  /** Peers a pending node waits for (sorted), or undefined when it is not pending. */
  waitingFor(node: string): string[] | undefined {
    const p = this.pending.get(node);
    if (!p) return undefined;
    if (this.dirty.has(node)) this.rebuild(node, p);
    return [...p.waiting].sort();
  }

  private isPeer(name: string, n: GateNode): boolean {
    return n.reported && n.planned && !this.lost.has(name);
  }

  private startPending(name: string): void {
    const history = new Map<string, Map<string, string>>();
    for (const [shard, status] of this.shards) {
      const fp = this.routesIn(shard)?.get(name) ?? '';
      if (fp !== '') remember(history, shard, status.revision, fp);
    }
    this.pending.set(name, { history, req: new Map(), waiting: new Set(), peers: new Set(), handedOut: false });
    this.dirty.add(name);
  }

  private stopPending(name: string): void {
    this.pending.delete(name);
    this.dirty.delete(name);
    this.check.delete(name);
  }

  /** A node's status or liveness changed: check it against each pending node alone. */
  private peerChanged(name: string): void {
    const n = this.nodes.get(name);
    const peer = n !== undefined && this.isPeer(name, n);
    for (const [node, p] of this.pending) {
      if (node === name || this.dirty.has(node)) continue;
      const waited = p.waiting.size;
      if (peer) {
        p.peers.add(name);
        if (peerHasRoutes(n, p.req, this.states)) p.waiting.delete(name);
        else p.waiting.add(name);
      } else {
        p.peers.delete(name);
        p.waiting.delete(name);
      }
      // A node can open only when its last awaited peer is done: a report that leaves it waiting for others (or for
      // nobody, as before) changes nothing `takeOpened` would decide.
      if (waited > 0 && p.waiting.size === 0) this.check.add(node);
    }
  }

  private rebuild(node: string, p: Pending): void {
    // Every shard that holds routes to the node now was remembered in its history (when it started pending, or at
    // the shard's event since), so only those are asked — not every shard of every view.
    const holding: [string, RouteTableStatus][] = [];
    for (const name of p.history.keys()) {
      const status = this.shards.get(name);
      if (status !== undefined) holding.push([name, status]);
    }
    p.req = routeRequirement(node, holding, p.history, (shard) => this.routesIn(shard)?.get(node) ?? '');
    p.peers.clear();
    p.waiting.clear();
    for (const name of this.livePeers) {
      const n = this.nodes.get(name);
      if (name === node || n === undefined) continue;
      p.peers.add(name);
      if (!peerHasRoutes(n, p.req, this.states)) p.waiting.add(name);
    }
    this.dirty.delete(node);
  }

  /** The shard's view as it is now, remembered under its revision; peers that reported that state are looked at. */
  private recordViewState(shard: string, status: RouteTableStatus | undefined): void {
    const was = this.shardView.get(shard);
    const view = status?.view ?? was;
    if (view === undefined) return;
    if (was !== undefined && was !== view) {
      // A shard does not move between views (its name carries the view); if one did, the old view loses it.
      this.viewShards.get(was)?.delete(shard);
    }
    const shards = this.viewShards.get(view) ?? new Map<string, string>();
    if (status) {
      shards.set(shard, status.revision);
      this.shardView.set(shard, view);
    } else {
      shards.delete(shard);
      this.shardView.delete(shard);
    }
    this.viewShards.set(view, shards);
    const revision = viewRevision([...shards].map(([name, rev]) => ({ name, revision: rev })));
    const states = this.viewStates.get(view) ?? new Map<string, ReadonlyMap<string, string>>();
    states.delete(revision);
    states.set(revision, new Map(shards));
    while (states.size > VIEW_HISTORY) states.delete(states.keys().next().value!);
    this.viewStates.set(view, states);
    const peers = this.unresolved.get(`${view} ${revision}`);
    if (peers === undefined) return;
    this.unresolved.delete(`${view} ${revision}`);
    for (const peer of peers) this.peerChanged(peer);
  }

  /** Remembers the reported view states the gate has not seen, to look at the peer again when it does. */
  private noteUnresolved(name: string, n: GateNode): void {
    for (const [view, revision] of n.viewRevisions) {
      if (this.states(view, revision) !== undefined) continue;
      const key = `${view} ${revision}`;
      const peers = this.unresolved.get(key) ?? new Set<string>();
      peers.add(name);
      this.unresolved.set(key, peers);
    }
  }

  private forgetUnresolved(name: string, n: GateNode): void {
    for (const [view, revision] of n.viewRevisions) {
      const key = `${view} ${revision}`;
      const peers = this.unresolved.get(key);
      if (peers === undefined) continue;
      peers.delete(name);
      if (peers.size === 0) this.unresolved.delete(key);
    }
  }

  /** `routesByNode` of a shard as it is now (undefined: no such shard). */
  private routesIn(shard: string): Map<string, string> | undefined {
    let routes = this.shardRoutes.get(shard);
    if (routes !== undefined) return routes;
    const status = this.shards.get(shard);
    if (status === undefined) return undefined;
    routes = routesByNode(status);
    this.shardRoutes.set(shard, routes);
    return routes;
  }
}

function remember(history: Map<string, Map<string, string>>, shard: string, revision: string, fp: string): void {
  const revs = history.get(shard) ?? new Map<string, string>();
  revs.delete(revision);
  revs.set(revision, fp);
  while (revs.size > HISTORY_PER_SHARD) revs.delete(revs.keys().next().value!);
  history.set(shard, revs);
}
