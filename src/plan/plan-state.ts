// The planner's state machine: indexes, per-owner routes, views, shards and node plans, with dirty sets so that a
// change recomputes only what it can affect (STYLE.md §3 "calculators with dirty sets").
//
//   change ──► ClusterIndex ──► dirty owners ──► OwnerRoutes ──► (view × shard of owner) ──► RouteTable shards
//                     │                                              ▲ views by node subnet
//                     └───────► dirty nodes ───► NodeDesired (+ BGP peers, felix, tunnels, NAT)
//
// Inputs: `PlanChange`s (or a whole snapshot). Outputs: current NodeDesired per node and RouteTable status per shard,
// and after each flush the names of what changed.
// Invariants (checked by the differential property test): after every flush the state equals a from-scratch plan of
// the same snapshot; a shard is rebuilt only if an owner hashed to it changed or the view's shard count changed; a
// node plan is rebuilt only if something it reads changed.
import type { NodeDesired } from '../api/node-dataplane.js';
import { cidrsOverlap } from '../net/index.js';
import type { ViewNode } from '../api/route-table.js';
import { ClusterIndex, podKey } from './cluster-index.js';
import { type NodeFacts, compareStrings } from './facts.js';
import { type OwnerRoutes, type PlannedRoute, ownerRoutes } from './owner-routes.js';
import {
  type BuiltShard,
  type ViewDef,
  buildShard,
  fnv1a,
  nodeViews,
  selectRoutes,
  shardCountFor,
  shardName,
  viewNodeRecord,
} from './route-views.js';
import {
  type ParsedPeer,
  PeerMemo,
  isLocalSide,
  isRemoteSide,
  localSide,
  nodeListenPort,
  parsePeer,
  remoteNodes,
} from './bgp-peers.js';
import { serviceSettings } from './service-advertisement.js';
import { type AffectedNodes, serviceKey } from './service-index.js';
import { type NodeDesiredContext, buildNodeDesired } from './node-desired.js';
import { type PlanGlobals, computeGlobals } from './plan-globals.js';
import {
  type ClusterSnapshot,
  GLOBAL_CONFIG_NAME,
  PER_NODE_CONFIG_PREFIX,
  type SnapshotBGPConfiguration,
  type SnapshotBGPFilter,
  type SnapshotBGPPeer,
  type SnapshotBlock,
  type SnapshotEndpointSlice,
  type SnapshotFelixConfiguration,
  type SnapshotNode,
  type SnapshotPod,
  type SnapshotPool,
  type SnapshotService,
} from './snapshot.js';

/** One change to the cluster; the record absent means the object was deleted. */
export type PlanChange =
  | { kind: 'node'; name: string; node?: SnapshotNode }
  | { kind: 'pool'; name: string; pool?: SnapshotPool }
  | { kind: 'block'; cidr: string; block?: SnapshotBlock }
  | { kind: 'pod'; namespace: string; name: string; pod?: SnapshotPod }
  | { kind: 'bgpPeer'; name: string; peer?: SnapshotBGPPeer }
  | { kind: 'bgpConfiguration'; name: string; config?: SnapshotBGPConfiguration }
  | { kind: 'felixConfiguration'; name: string; config?: SnapshotFelixConfiguration }
  | { kind: 'bgpFilter'; name: string; filter?: SnapshotBGPFilter }
  | { kind: 'service'; namespace: string; name: string; service?: SnapshotService }
  | { kind: 'endpointSlice'; namespace: string; name: string; slice?: SnapshotEndpointSlice };

export interface PlanOptions {
  /** Average upper bound of destinations per RouteTable shard (default TARGET_ENTRIES_PER_SHARD). */
  targetEntriesPerShard?: number;
}

/** What a flush changed: objects to write (new or different revision) and objects to delete. */
export interface PlanDelta {
  changedNodes: string[];
  removedNodes: string[];
  changedRouteTables: string[];
  removedRouteTables: string[];
}

interface ViewState {
  def: ViewDef;
  members: Set<string>;
  shardCount: number;
}

interface NodeViews {
  v4: string;
  v6: string;
}

type PeerSide = { peer: ParsedPeer; side: 'local' | 'remote' };

export class PlanState {
  readonly idx: ClusterIndex;
  private globals: PlanGlobals;
  private peers: ParsedPeer[] = [];
  private readonly routes = new Map<string, OwnerRoutes>();
  private readonly records = new Map<string, { record: ViewNode; json: string }>();
  private readonly nodeViews = new Map<string, NodeViews>();
  private readonly views = new Map<string, ViewState>();
  private readonly hashes = new Map<string, number>();
  /** Shard members per shard count in use: count → bucket → node names. */
  private readonly buckets = new Map<number, Set<string>[]>();
  readonly shards = new Map<string, BuiltShard>();
  readonly desired = new Map<string, NodeDesired>();
  private total4 = 0;
  private total6 = 0;

  private dirtyOwners = new Set<string>();
  private dirtyNodes = new Set<string>();
  private pendingSides: PeerSide[] = [];
  private allDirty = true;
  private allNodesDirty = false;

  constructor(
    snapshot: ClusterSnapshot,
    private readonly options: PlanOptions = {},
  ) {
    this.idx = ClusterIndex.fromSnapshot(snapshot);
    this.globals = computeGlobals(this.idx);
    this.peers = this.parsedPeers();
  }

  private parsedPeers(): ParsedPeer[] {
    return [...this.idx.bgpPeers.values()].sort((a, b) => compareStrings(a.name, b.name)).map(parsePeer);
  }

  // ---- applying changes -------------------------------------------------------------------------------------------

  apply(change: PlanChange): void {
    switch (change.kind) {
      case 'node':
        return this.applyNode(change.name, change.node);
      case 'pool':
        return this.applyPool(change.name, change.pool);
      case 'block':
        return this.applyBlock(change.cidr, change.block);
      case 'pod':
        // Pods only feed `tabby render`'s local routes (materialise): no node plan or shard reads them.
        this.idx.setPod(podKey(change), change.pod);
        return;
      case 'bgpPeer':
        return this.applyPeer(change.name, change.peer);
      case 'bgpConfiguration':
        return this.applyBgpConfiguration(change.name, change.config);
      case 'felixConfiguration':
        return this.applyFelixConfiguration(change.name, change.config);
      case 'bgpFilter':
        return this.applyFilter(change.name, change.filter);
      case 'service':
        return this.dirtyServiceNodes(this.idx.services.setService(serviceKey(change), change.service));
      case 'endpointSlice':
        return this.dirtyServiceNodes(this.idx.services.setSlice(serviceKey(change), change.slice));
    }
  }

  private applyNode(name: string, record: SnapshotNode | undefined): void {
    const old = this.idx.setNode(name, record);
    const now = this.idx.nodes.get(name);
    this.dirtyOwners.add(name);
    this.dirtyNodes.add(name);
    if (!now) this.hashes.delete(name);
    this.markPeerDependents([old, now]);
  }

  /** BGP sessions other nodes hold towards (or because of) these versions of a node. */
  private markPeerDependents(versions: (NodeFacts | undefined)[]): void {
    for (const p of this.peers) {
      if (versions.some((v) => v && isRemoteSide(p, v))) this.pendingSides.push({ peer: p, side: 'local' });
      if (versions.some((v) => v && isLocalSide(p, v))) this.pendingSides.push({ peer: p, side: 'remote' });
    }
  }

  private applyPool(name: string, record: SnapshotPool | undefined): void {
    const old = this.idx.setPool(name, record);
    const now = this.idx.pools.get(name);
    const before = this.globals;
    this.globals = computeGlobals(this.idx);
    if (
      before.crossSubnet.v4 !== this.globals.crossSubnet.v4 ||
      before.crossSubnet.v6 !== this.globals.crossSubnet.v6
    ) {
      this.allDirty = true;
      return;
    }
    // Pool membership of a block is containment: any block overlapping either version may change pool or route type.
    for (const b of this.idx.blocks.values()) {
      const hit = [old, now].some((p) => p && p.family === b.family && cidrsOverlap(p.cidr, b.cidr));
      if (!hit) continue;
      if (b.affinity !== undefined) this.dirtyOwners.add(b.affinity);
      for (const a of b.borrowed) this.dirtyOwners.add(a.holder);
    }
    // NAT sets, tunnel devices and pool names in every node plan.
    this.allNodesDirty = true;
  }

  private applyBlock(key: string, record: SnapshotBlock | undefined): void {
    const { old, now } = this.idx.setBlock(key, record);
    for (const b of [old, now]) {
      if (!b) continue;
      if (b.affinity !== undefined) {
        this.dirtyOwners.add(b.affinity);
        this.dirtyNodes.add(b.affinity);
      }
      for (const a of b.borrowed) {
        this.dirtyOwners.add(a.holder);
        this.dirtyNodes.add(a.holder);
      }
    }
  }

  private applyPeer(name: string, record: SnapshotBGPPeer | undefined): void {
    const old = this.peers.find((p) => p.record.name === name);
    this.idx.setBgpPeer(name, record);
    this.peers = this.parsedPeers();
    const now = this.peers.find((p) => p.record.name === name);
    for (const p of [old, now]) {
      if (!p) continue;
      this.pendingSides.push({ peer: p, side: 'local' }, { peer: p, side: 'remote' });
    }
  }

  /** A BGPFilter's rules are in the plan of every node with a session naming it (either side of its BGPPeer). */
  private applyFilter(name: string, record: SnapshotBGPFilter | undefined): void {
    this.idx.setBgpFilter(name, record);
    for (const p of this.peers) {
      if (!p.record.filters?.includes(name)) continue;
      this.pendingSides.push({ peer: p, side: 'local' }, { peer: p, side: 'remote' });
    }
  }

  /** A Service or EndpointSlice change replans the nodes whose announcements it changes (service-index.ts). */
  private dirtyServiceNodes(a: AffectedNodes): void {
    if (a.all) this.allNodesDirty = true;
    for (const n of a.nodes) this.dirtyNodes.add(n);
  }

  private applyBgpConfiguration(name: string, record: SnapshotBGPConfiguration | undefined): void {
    this.idx.setBgpConfiguration(name, record);
    if (name === GLOBAL_CONFIG_NAME) {
      this.globals = computeGlobals(this.idx);
      this.idx.services.setSettings(serviceSettings(record));
      this.allNodesDirty = true;
    } else if (name.startsWith(PER_NODE_CONFIG_PREFIX)) {
      // A node's listen port is in its view record and in the sessions other nodes open to it.
      const node = name.slice(PER_NODE_CONFIG_PREFIX.length);
      this.dirtyOwners.add(node);
      this.dirtyNodes.add(node);
      this.markPeerDependents([this.idx.nodes.get(node)]);
    }
  }

  private applyFelixConfiguration(name: string, record: SnapshotFelixConfiguration | undefined): void {
    this.idx.setFelixConfiguration(name, record);
    if (name === GLOBAL_CONFIG_NAME) {
      this.globals = computeGlobals(this.idx);
      this.allNodesDirty = true;
    } else if (name.startsWith(PER_NODE_CONFIG_PREFIX)) {
      this.dirtyNodes.add(name.slice(PER_NODE_CONFIG_PREFIX.length));
    }
  }

  // ---- flushing -----------------------------------------------------------------------------------------------------

  /** Recomputes what the applied changes affect; returns what changed since the previous flush. */
  flush(): PlanDelta {
    const prevShards = new Map<string, string>();
    const prevNodes = new Map<string, string>();
    const touchedShards = new Set<string>();
    const touchedNodes = new Set<string>();
    if (this.allDirty) this.globals = computeGlobals(this.idx);
    const memo = new PeerMemo(this.idx, this.globals, this.peers);

    if (this.allDirty) {
      for (const [k, s] of this.shards) prevShards.set(k, s.status.revision);
      for (const [k, d] of this.desired) prevNodes.set(k, d.revision);
      this.rebuildAll(memo);
      for (const k of this.shards.keys()) touchedShards.add(k);
      for (const k of this.desired.keys()) touchedNodes.add(k);
      for (const k of prevShards.keys()) touchedShards.add(k);
      for (const k of prevNodes.keys()) touchedNodes.add(k);
    } else {
      for (const { peer, side } of this.pendingSides) {
        const nodes = side === 'local' ? localSide(peer, memo) : remoteNodes(peer, memo);
        for (const n of nodes) this.dirtyNodes.add(n.name);
      }
      if (this.allNodesDirty) for (const n of this.idx.nodes.keys()) this.dirtyNodes.add(n);
      for (const d of this.dirtyNodes) {
        const r = this.desired.get(d);
        if (r) prevNodes.set(d, r.revision);
        touchedNodes.add(d);
      }
      this.flushRoutes(touchedShards, prevShards);
      this.flushNodes(memo, this.dirtyNodes);
    }
    this.dirtyOwners = new Set();
    this.dirtyNodes = new Set();
    this.pendingSides = [];
    this.allDirty = false;
    this.allNodesDirty = false;

    const delta: PlanDelta = { changedNodes: [], removedNodes: [], changedRouteTables: [], removedRouteTables: [] };
    for (const k of touchedNodes) {
      const now = this.desired.get(k);
      if (!now) {
        if (prevNodes.has(k)) delta.removedNodes.push(k);
      } else if (now.revision !== prevNodes.get(k)) delta.changedNodes.push(k);
    }
    for (const k of touchedShards) {
      const now = this.shards.get(k);
      if (!now) {
        if (prevShards.has(k)) delta.removedRouteTables.push(k);
      } else if (now.status.revision !== prevShards.get(k)) delta.changedRouteTables.push(k);
    }
    for (const list of Object.values(delta) as string[][]) list.sort(compareStrings);
    return delta;
  }

  private rebuildAll(memo: PeerMemo): void {
    this.routes.clear();
    this.records.clear();
    this.nodeViews.clear();
    this.views.clear();
    this.buckets.clear();
    this.shards.clear();
    this.desired.clear();
    this.total4 = 0;
    this.total6 = 0;
    for (const n of this.idx.nodes.values()) {
      this.setOwner(n);
      this.placeInViews(n);
    }
    for (const v of this.views.values()) {
      v.shardCount = shardCountFor(this.destinations(v.def), this.options.targetEntriesPerShard);
      for (let i = 0; i < v.shardCount; i++) this.rebuildShard(v, i);
    }
    this.flushNodes(memo, this.idx.nodes.keys());
  }

  private flushRoutes(touched: Set<string>, prev: Map<string, string>): void {
    const dirtyViews = new Set<string>();
    const removedNodes: string[] = [];
    for (const name of this.dirtyOwners) {
      const n = this.idx.nodes.get(name);
      this.clearOwner(name);
      const was = this.nodeViews.get(name);
      if (was) {
        this.leaveView(was.v4, name);
        if (was.v6 !== was.v4) this.leaveView(was.v6, name);
        this.nodeViews.delete(name);
      }
      if (n) {
        this.setOwner(n);
        for (const v of this.placeInViews(n)) dirtyViews.add(v);
      } else {
        removedNodes.push(name);
      }
    }
    // Views are dropped only once every owner moved: a node leaving and re-entering its view keeps its shard count.
    for (const [name, v] of this.views) {
      if (v.members.size > 0) continue;
      this.views.delete(name);
      dirtyViews.add(name);
    }
    for (const name of removedNodes) this.forgetBucketMember(name);
    const remember = (k: string) => {
      const s = this.shards.get(k);
      if (s && !prev.has(k)) prev.set(k, s.status.revision);
      touched.add(k);
    };
    for (const v of this.views.values()) {
      const count = shardCountFor(this.destinations(v.def), this.options.targetEntriesPerShard);
      const wholeView = dirtyViews.has(v.def.name) || count !== v.shardCount;
      const dirty = new Set<number>();
      if (wholeView) {
        for (let i = 0; i < Math.max(count, v.shardCount); i++) dirty.add(i);
      } else {
        for (const o of this.dirtyOwners) dirty.add(this.hashOf(o) & (count - 1));
      }
      for (const i of dirty) {
        const k = shardName(v.def.name, i);
        remember(k);
        if (i >= count) this.shards.delete(k);
      }
      v.shardCount = count;
      for (const i of dirty) if (i < count) this.rebuildShard(v, i);
    }
    // Views that lost their last member.
    for (const name of dirtyViews) {
      if (this.views.has(name)) continue;
      for (const k of [...this.shards.keys()]) {
        if (this.shards.get(k)?.status.view !== name) continue;
        remember(k);
        this.shards.delete(k);
      }
    }
  }

  private flushNodes(memo: PeerMemo, names: Iterable<string>): void {
    const ctx: NodeDesiredContext = {
      idx: this.idx,
      globals: this.globals,
      peers: memo,
      globalPeerings: memo.globalPeerings(),
      views: (n) => this.nodeViews.get(n.name) ?? this.viewsFor(n),
      shared: {},
    };
    for (const name of names) {
      const n = this.idx.nodes.get(name);
      if (n) this.desired.set(name, buildNodeDesired(n, ctx));
      else this.desired.delete(name);
    }
  }

  // ---- owners, views, shards -----------------------------------------------------------------------------------------

  private setOwner(n: NodeFacts): void {
    const r = ownerRoutes(this.idx, n);
    this.routes.set(n.name, r);
    this.total4 += r.count4;
    this.total6 += r.count6;
    this.records.set(n.name, viewNodeRecord(n, { listenPort: (x) => nodeListenPort(this.idx.bgpConfigurations, x) }));
    const h = this.hashOf(n.name);
    for (const [count, b] of this.buckets) b[h & (count - 1)]?.add(n.name);
  }

  private clearOwner(name: string): void {
    const r = this.routes.get(name);
    if (r) {
      this.total4 -= r.count4;
      this.total6 -= r.count6;
      this.routes.delete(name);
    }
    this.records.delete(name);
  }

  private forgetBucketMember(name: string): void {
    const h = fnv1a(name);
    for (const [count, b] of this.buckets) b[h & (count - 1)]?.delete(name);
  }

  private hashOf(name: string): number {
    let h = this.hashes.get(name);
    if (h === undefined) {
      h = fnv1a(name);
      this.hashes.set(name, h);
    }
    return h;
  }

  private viewsFor(n: NodeFacts): NodeViews {
    const v = nodeViews(n, this.globals.crossSubnet);
    return { v4: v.v4.name, v6: v.v6.name };
  }

  /** Records the node's views, creating views as needed; returns names of views created. */
  private placeInViews(n: NodeFacts): string[] {
    const created: string[] = [];
    const v = nodeViews(n, this.globals.crossSubnet);
    this.nodeViews.set(n.name, { v4: v.v4.name, v6: v.v6.name });
    for (const def of v.v4.name === v.v6.name ? [v.v4] : [v.v4, v.v6]) {
      let state = this.views.get(def.name);
      if (!state) {
        state = { def, members: new Set(), shardCount: 0 };
        this.views.set(def.name, state);
        created.push(def.name);
      }
      state.members.add(n.name);
    }
    return created;
  }

  private leaveView(view: string, node: string): void {
    this.views.get(view)?.members.delete(node);
  }

  private destinations(def: ViewDef): number {
    return (def.families.includes(4) ? this.total4 : 0) + (def.families.includes(6) ? this.total6 : 0);
  }

  private bucketsFor(count: number): Set<string>[] {
    let b = this.buckets.get(count);
    if (!b) {
      b = Array.from({ length: count }, () => new Set<string>());
      for (const name of this.idx.nodes.keys()) b[this.hashOf(name) & (count - 1)]?.add(name);
      this.buckets.set(count, b);
    }
    return b;
  }

  private rebuildShard(v: ViewState, i: number): void {
    const members = [...(this.bucketsFor(v.shardCount)[i] ?? [])].sort(compareStrings);
    const routes: PlannedRoute[] = [];
    const records: { record: ViewNode; json: string }[] = [];
    for (const name of members) {
      const r = this.routes.get(name);
      if (r) selectRoutes(v.def, r, this.idx.nodes.get(name), routes);
      const rec = this.records.get(name);
      if (rec) records.push(rec);
    }
    const built = buildShard(v.def, i, v.shardCount, routes, records);
    this.shards.set(built.name, built);
  }

  // ---- read access ---------------------------------------------------------------------------------------------------

  get planGlobals(): PlanGlobals {
    return this.globals;
  }

  get parsedPeerList(): readonly ParsedPeer[] {
    return this.peers;
  }

  viewsOf(node: string): NodeViews | undefined {
    return this.nodeViews.get(node);
  }

  shardsOfView(view: string): BuiltShard[] {
    const v = this.views.get(view);
    if (!v) return [];
    const out: BuiltShard[] = [];
    for (let i = 0; i < v.shardCount; i++) {
      const s = this.shards.get(shardName(view, i));
      if (s) out.push(s);
    }
    return out;
  }

  peerContext(): PeerMemo {
    return new PeerMemo(this.idx, this.globals, this.peers);
  }
}
