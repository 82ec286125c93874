// BGP sessions of one node — the peering rule, whole: explicit peers from BGPPeer objects (kept in
// NodeDesired.bgp.peers) and the node-to-node mesh (built from the view's node records by `meshPeers`, which the
// agent's BIRD configuration and `tabby render` both call).
// Inputs: node facts, parsed BGPPeers, the global BGP settings, per-node listen ports. Outputs: PlannedBgpPeer lists
// sorted by name.
// calico: confd/pkg/backends/calico/client.go (updatePeersV1: global pass, node pass, reverse pass, first writer of a
// key wins) and confd/pkg/backends/calico/bgp_processor.go (naming, passive, route-reflector clients), i.e.
// calico-reference.md §5.3. BGPPeers are visited in name order, which makes Calico's "first writer" deterministic.
// Rules:
//   - a session towards another Calico node describes that node: its own AS (projectcalico.org/ASNumber) else the
//     cluster default, and the port it listens on (its node.<name> BGPConfiguration's, else the default's);
//   - mesh: every other non-reflector node with an address of the family, unless the mesh is off or this node is a
//     route reflector; global peerings and the mesh are passive on the side with the greater address string;
//   - on a route reflector, an iBGP peer (same AS as the session's local AS) whose cluster id is not its own is a
//     route-reflector client; keepOriginalNextHop keeps the next hop only towards eBGP peers; nextHopMode wins;
//   - a node-specific peering to an address and port a global peering already has is dropped.
// Invariants: a node never peers with its own address; a peer of a family the node has no BGP address for is
// dropped; passwords stay secret references.
import { createHash } from 'node:crypto';
import { type IPFamily, type Selector, formatIP, parseIP, parseSelector } from '../net/index.js';
import { splitIPPort } from '../api/fields.js';
import type { PlannedBgp, PlannedBgpFilter, PlannedBgpPeer, SecretKeyRef } from '../api/node-dataplane.js';
import type { ViewNode } from '../api/route-table.js';
import type { ClusterIndex } from './cluster-index.js';
import { type NodeFacts, compareStrings } from './facts.js';
import type { PlanGlobals } from './plan-globals.js';
import { PER_NODE_CONFIG_PREFIX, type SnapshotBGPConfiguration, type SnapshotBGPPeer } from './snapshot.js';

/** confd's default `/calico/bgp/v1/global/as_num`. */
export const DEFAULT_AS_NUMBER = 64512;

/**
 * A node's own listen port: its `node.<name>` BGPConfiguration's, when set. Sessions towards the node use it, else
 * the default object's port (confd `/bgp/v1/host/<node>/listen_port`, else `/global/listen_port`).
 */
export function nodeListenPort(
  configs: ReadonlyMap<string, SnapshotBGPConfiguration>,
  node: string,
): number | undefined {
  return configs.get(PER_NODE_CONFIG_PREFIX + node)?.listenPort;
}

/** The port `node` listens on, which sessions towards it use: its own (nodeListenPort), else the default's. */
export function listenPortOf(
  node: string,
  configs: ReadonlyMap<string, SnapshotBGPConfiguration>,
  globals: Pick<BgpGlobals, 'listenPort'>,
): number | undefined {
  return nodeListenPort(configs, node) ?? globals.listenPort;
}

export interface BgpGlobals {
  asNumber: number;
  meshEnabled: boolean;
  listenPort?: number;
  meshPassword?: SecretKeyRef;
  meshRestartSeconds?: number;
}

export interface ParsedPeer {
  record: SnapshotBGPPeer;
  /** Neither `node` nor `nodeSelector`: every node has it. */
  global: boolean;
  nodeSelector?: Selector;
  peerSelector?: Selector;
  peerHost?: string;
  peerPort?: number;
  peerFamily?: IPFamily;
}

export function parsePeer(p: SnapshotBGPPeer): ParsedPeer {
  const nodeSel = p.nodeSelector !== undefined && p.nodeSelector !== '' ? parseSelector(p.nodeSelector) : undefined;
  const peerSel = p.peerSelector !== undefined && p.peerSelector !== '' ? parseSelector(p.peerSelector) : undefined;
  const out: ParsedPeer = { record: p, global: nodeSel === undefined && (p.node === undefined || p.node === '') };
  if (nodeSel) out.nodeSelector = nodeSel;
  if (peerSel) out.peerSelector = peerSel;
  else if (p.peerIP !== undefined && p.peerIP !== '') {
    const hp = splitIPPort(p.peerIP);
    if (hp) {
      out.peerHost = formatIP(parseIP(hp.ip));
      out.peerFamily = parseIP(hp.ip).family;
      if (hp.port !== undefined) out.peerPort = hp.port;
    }
  }
  return out;
}

/** What the peer expansion needs from the rest of the plan; the caller memoises selector matches. */
export interface PeerContext {
  globals: BgpGlobals;
  /** Sorted by BGPPeer name. */
  peers: readonly ParsedPeer[];
  node(name: string): NodeFacts | undefined;
  /** Nodes matching `sel`, sorted by name. */
  nodesMatching(sel: Selector): readonly NodeFacts[];
  allNodes(): readonly NodeFacts[];
  /** Nodes whose BGP IPv4 or IPv6 address is `ip`. */
  nodesWithIP(ip: string): readonly NodeFacts[];
  /** Node-specific listen port (BGPConfiguration node.<name>). */
  listenPort(node: string): number | undefined;
}

interface Peering {
  ip: string;
  family: IPFamily;
  port?: number;
  asNumber: number;
  rrClusterId?: string;
  calicoNode: boolean;
  from: ParsedPeer;
}

function key(p: Peering): string {
  return `${p.ip}|${p.port ?? 0}`;
}

/** listenPortOf, through the peer context (which memoises nothing for it: one map lookup). */
function remotePort(n: NodeFacts, ctx: PeerContext): number | undefined {
  return ctx.listenPort(n.name) ?? ctx.globals.listenPort;
}

function nodeAS(n: NodeFacts, g: BgpGlobals): number {
  return n.asNumber ?? g.asNumber;
}

/** The nodes holding the local side of a BGPPeer (`node`, `nodeSelector`, or all for a global peer). */
export function localSide(p: ParsedPeer, ctx: PeerContext): readonly NodeFacts[] {
  if (p.nodeSelector) return ctx.nodesMatching(p.nodeSelector);
  const name = p.record.node;
  if (name !== undefined && name !== '') {
    const n = ctx.node(name);
    return n ? [n] : [];
  }
  return ctx.allNodes();
}

export function isLocalSide(p: ParsedPeer, n: NodeFacts): boolean {
  if (p.nodeSelector) return p.nodeSelector.matches(n.labels);
  const name = p.record.node;
  return name === undefined || name === '' || name === n.name;
}

/** The node appears on the remote side of `p` (selected by peerSelector, or holds its peerIP) — a superset test. */
export function isRemoteSide(p: ParsedPeer, n: NodeFacts): boolean {
  if (p.peerSelector) return p.peerSelector.matches(n.labels);
  return p.peerHost !== undefined && (n.v4?.text === p.peerHost || n.v6?.text === p.peerHost);
}

/** Calico nodes a peerIP BGPPeer points at: same address, same AS (0 = global), same port when one is given. */
function nodesWithIPPortAndAS(p: ParsedPeer, ctx: PeerContext): NodeFacts[] {
  if (p.peerHost === undefined) return [];
  const wantAS = p.record.asNumber ?? ctx.globals.asNumber;
  const out: NodeFacts[] = [];
  for (const n of ctx.nodesWithIP(p.peerHost)) {
    if (nodeAS(n, ctx.globals) !== wantAS) continue;
    if (p.peerPort !== undefined) {
      const nodePort = ctx.listenPort(n.name);
      if (nodePort !== undefined ? nodePort !== p.peerPort : (ctx.globals.listenPort ?? p.peerPort) !== p.peerPort) {
        continue;
      }
    }
    out.push(n);
  }
  return out;
}

function nodeAsPeerings(n: NodeFacts, v4: boolean, v6: boolean, from: ParsedPeer, ctx: PeerContext): Peering[] {
  const out: Peering[] = [];
  const port = remotePort(n, ctx);
  for (const family of [4, 6] as const) {
    if (family === 4 ? !v4 : !v6) continue;
    const addr = family === 4 ? n.v4 : n.v6;
    if (!addr?.bgp) continue;
    const p: Peering = { ip: addr.text, family, asNumber: nodeAS(n, ctx.globals), calicoNode: false, from };
    if (port !== undefined) p.port = port;
    if (n.routeReflectorClusterId !== undefined) p.rrClusterId = n.routeReflectorClusterId;
    out.push(p);
  }
  return out;
}

function remotePeerings(p: ParsedPeer, ctx: PeerContext): Peering[] {
  if (p.peerSelector) return ctx.nodesMatching(p.peerSelector).flatMap((n) => nodeAsPeerings(n, true, true, p, ctx));
  if (p.peerHost === undefined || p.peerFamily === undefined) return [];
  if (p.record.reachableBy !== undefined && p.record.reachableBy !== '') {
    // confd skips a peer whose reachableBy is of the other family.
    if (parseIP(p.record.reachableBy).family !== p.peerFamily) return [];
  }
  let port = p.peerPort;
  if (port === undefined) {
    const nodes = nodesWithIPPortAndAS(p, ctx);
    const first = nodes[0];
    if (first) port = remotePort(first, ctx);
  }
  const out: Peering = {
    ip: p.peerHost,
    family: p.peerFamily,
    // An unset AS means the cluster's own AS (as nodesWithIPPortAndAS reads it): an iBGP session.
    asNumber: p.record.asNumber ?? ctx.globals.asNumber,
    calicoNode: ctx.nodesWithIP(p.peerHost).length > 0,
    from: p,
  };
  if (port !== undefined) out.port = port;
  return [out];
}

/** Global peerings (same for every node); compute once per planning pass and pass to `explicitPeers`. */
export function globalPeerings(ctx: PeerContext): ReadonlyMap<string, Peering> {
  const out = new Map<string, Peering>();
  for (const p of ctx.peers) {
    if (!p.global) continue;
    for (const r of remotePeerings(p, ctx)) if (!out.has(key(r))) out.set(key(r), r);
  }
  return out;
}

export type GlobalPeerings = ReturnType<typeof globalPeerings>;

/** Node-specific and reverse peerings of `n`, then both rendered as Calico renders them. */
export function explicitPeers(n: NodeFacts, ctx: PeerContext, globals: GlobalPeerings): PlannedBgpPeer[] {
  if (ctx.peers.length === 0) return [];
  const mine = new Map<string, Peering>();
  const emit = (r: Peering) => {
    const k = key(r);
    if (!globals.has(k) && !mine.has(k)) mine.set(k, r);
  };
  for (const p of ctx.peers) {
    if (p.global || !isLocalSide(p, n)) continue;
    for (const r of remotePeerings(p, ctx)) emit(r);
  }
  // Reverse pass: sessions between Calico nodes are made symmetric unless the BGPPeer opts out.
  for (const p of ctx.peers) {
    if (p.record.reversePeering === 'Manual') continue;
    let v4: boolean;
    let v6: boolean;
    if (p.peerSelector) {
      if (!p.peerSelector.matches(n.labels)) continue;
      v4 = v6 = true;
    } else {
      if (!nodesWithIPPortAndAS(p, ctx).some((m) => m.name === n.name)) continue;
      v4 = p.peerFamily === 4;
      v6 = p.peerFamily === 6;
    }
    for (const l of localSide(p, ctx)) for (const r of nodeAsPeerings(l, v4, v6, p, ctx)) emit(r);
  }
  const out: PlannedBgpPeer[] = [];
  for (const r of globals.values()) {
    const peer = render(n, r, 'global', ctx.globals);
    if (peer) out.push(peer);
  }
  for (const r of mine.values()) {
    const peer = render(n, r, 'node', ctx.globals);
    if (peer) out.push(peer);
  }
  return out.sort((a, b) => compareStrings(a.name, b.name));
}

function sessionName(prefix: string, ip: string, port: number | undefined): string {
  const base = `${prefix}_${ip.replace(/[.:]/g, '_')}`;
  return port !== undefined && port > 0 ? `${base}_port_${port}` : base;
}

function render(n: NodeFacts, r: Peering, type: 'global' | 'node', g: BgpGlobals): PlannedBgpPeer | undefined {
  const own = r.family === 4 ? n.v4 : n.v6;
  if (!own?.bgp || own.text === r.ip) return undefined;
  const spec = r.from.record;
  const peer: PlannedBgpPeer = {
    name: sessionName(type === 'global' ? 'Global' : 'Node', r.ip, r.port),
    peerIP: r.ip,
    asNumber: r.asNumber,
    type,
    source: spec.name,
  };
  if (r.port !== undefined) peer.port = r.port;
  if (spec.localASNumber !== undefined) peer.localASNumber = spec.localASNumber;
  if (spec.password) peer.passwordSecretRef = { name: spec.password.name, key: spec.password.key };
  if ((spec.sourceAddress ?? 'UseNodeIP') === 'UseNodeIP') peer.sourceAddress = own.text;
  const localAS = spec.localASNumber ?? nodeAS(n, g);
  // bgp_processor.go: passive for global (and mesh) sessions to Calico nodes, on the side with the greater string.
  if (type === 'global' && r.calicoNode && r.ip > own.text) peer.passive = true;
  if (r.asNumber === localAS && n.routeReflectorClusterId !== undefined) {
    if (r.rrClusterId === undefined || r.rrClusterId !== n.routeReflectorClusterId) peer.routeReflectorClient = true;
  }
  if (spec.nextHopMode === 'Self' || spec.nextHopMode === 'Keep') peer.nextHopMode = spec.nextHopMode;
  else if (spec.keepOriginalNextHop === true && r.asNumber !== localAS) peer.nextHopMode = 'Keep';
  if (spec.ttlSecurity !== undefined && spec.ttlSecurity > 0) peer.ttlSecurity = spec.ttlSecurity;
  if (spec.maxRestartTimeSeconds !== undefined) peer.maxRestartTimeSeconds = spec.maxRestartTimeSeconds;
  if (spec.keepaliveTimeSeconds !== undefined) peer.keepaliveTimeSeconds = spec.keepaliveTimeSeconds;
  if (spec.numAllowedLocalASNumbers !== undefined && spec.numAllowedLocalASNumbers > 0) {
    peer.numAllowedLocalASNumbers = spec.numAllowedLocalASNumbers;
  }
  if (spec.reachableBy !== undefined && spec.reachableBy !== '') peer.reachableBy = spec.reachableBy;
  if (spec.filters && spec.filters.length > 0) peer.filters = [...spec.filters];
  return peer;
}

/**
 * BGP router id: the node's IPv4 BGP address; without one, Calico's `hash` scheme — the first four bytes of
 * sha256(node name) as an IPv4 address, first octet above 223 lowered by 32 (confd template.HashToIPv4).
 */
export function routerId(n: NodeFacts): string {
  if (n.v4?.bgp) return n.v4.text;
  const b = createHash('sha256').update(n.name, 'utf8').digest();
  const first = (b[0] ?? 0) > 223 ? (b[0] ?? 0) - 32 : (b[0] ?? 0);
  return `${first}.${b[1] ?? 0}.${b[2] ?? 0}.${b[3] ?? 0}`;
}

/** PeerContext over the planner's index, memoising selector matches and address lookups for one planning pass. */
export class PeerMemo implements PeerContext {
  private readonly matches = new Map<Selector, NodeFacts[]>();
  private all: NodeFacts[] | undefined;
  private byIP: Map<string, NodeFacts[]> | undefined;
  private globalsMemo: GlobalPeerings | undefined;

  constructor(
    private readonly idx: ClusterIndex,
    private readonly planGlobals: PlanGlobals,
    readonly peers: readonly ParsedPeer[],
  ) {}

  get globals() {
    return this.planGlobals.bgp;
  }

  node(name: string): NodeFacts | undefined {
    return this.idx.nodes.get(name);
  }

  allNodes(): readonly NodeFacts[] {
    this.all ??= [...this.idx.nodes.values()].sort((a, b) => compareStrings(a.name, b.name));
    return this.all;
  }

  nodesMatching(sel: Selector): readonly NodeFacts[] {
    let m = this.matches.get(sel);
    if (!m) {
      m = this.allNodes().filter((n) => sel.matches(n.labels));
      this.matches.set(sel, m);
    }
    return m;
  }

  nodesWithIP(ip: string): readonly NodeFacts[] {
    if (!this.byIP) {
      this.byIP = new Map();
      for (const n of this.allNodes()) {
        for (const a of [n.v4, n.v6]) {
          if (!a?.bgp) continue;
          const list = this.byIP.get(a.text);
          if (list) list.push(n);
          else this.byIP.set(a.text, [n]);
        }
      }
    }
    return this.byIP.get(ip) ?? [];
  }

  listenPort(node: string): number | undefined {
    return nodeListenPort(this.idx.bgpConfigurations, node);
  }

  globalPeerings(): GlobalPeerings {
    this.globalsMemo ??= globalPeerings(this);
    return this.globalsMemo;
  }
}

/** The nodes on the remote side of a BGPPeer (a superset for peerIP peers: every node holding the address). */
export function remoteNodes(p: ParsedPeer, ctx: PeerContext): readonly NodeFacts[] {
  if (p.peerSelector) return ctx.nodesMatching(p.peerSelector);
  return p.peerHost !== undefined ? ctx.nodesWithIP(p.peerHost) : [];
}

/**
 * Node-to-node mesh sessions of `node` (calico: bgp_processor.go processMeshPeers; calico-reference.md §5.3.1), from
 * the view's node records: one per other node with a BGP address of a family this node has, except route
 * reflectors; none on a route reflector or with the mesh off. Each session describes the remote node — its own AS
 * (else the cluster default) and the port it listens on (its node.<name> BGPConfiguration's, else the default's) —
 * and is passive on the side whose address is the greater string, so exactly one side connects. `tabby render` and
 * the agent's BIRD configuration both take the mesh from here.
 */
export function meshPeers(node: string, bgp: PlannedBgp, records: readonly ViewNode[]): PlannedBgpPeer[] {
  const out: PlannedBgpPeer[] = [];
  if (!bgp.nodeToNodeMesh || bgp.routeReflectorClusterID !== undefined) return out;
  const own4 = bgp.ipv4Address?.split('/')[0];
  const own6 = bgp.ipv6Address?.split('/')[0];
  const seen = new Set<string>();
  for (const r of records) {
    if (r.name === node || seen.has(r.name)) continue;
    seen.add(r.name);
    if (r.routeReflectorClusterID !== undefined && r.routeReflectorClusterID !== '') continue;
    for (const [own, theirs] of [
      [own4, r.ipv4],
      [own6, r.ipv6],
    ] as const) {
      if (own === undefined || theirs === undefined || own === theirs) continue;
      const peer: PlannedBgpPeer = {
        name: sessionName('Mesh', theirs, undefined),
        peerIP: theirs,
        asNumber: r.asNumber ?? bgp.defaultASNumber ?? bgp.asNumber,
        type: 'mesh',
        source: r.name,
      };
      const port = r.listenPort ?? bgp.defaultListenPort;
      if (port !== undefined) peer.port = port;
      if (bgp.meshPasswordSecretRef) peer.passwordSecretRef = { ...bgp.meshPasswordSecretRef };
      peer.sourceAddress = own;
      if (theirs > own) peer.passive = true;
      if (bgp.meshMaxRestartTimeSeconds !== undefined) peer.maxRestartTimeSeconds = bgp.meshMaxRestartTimeSeconds;
      out.push(peer);
    }
  }
  return out.sort((a, b) => compareStrings(a.name, b.name));
}

/**
 * The BGPFilters a node's sessions name, as they exist now (a name without its object is skipped, as confd skips
 * it), sorted by name: the agent renders their functions and calls them from those sessions.
 */
export function filtersFor(
  peers: readonly PlannedBgpPeer[],
  filters: ReadonlyMap<string, PlannedBgpFilter>,
): PlannedBgpFilter[] {
  const names = new Set<string>();
  for (const p of peers) for (const f of p.filters ?? []) names.add(f);
  return [...names]
    .sort(compareStrings)
    .map((n) => filters.get(n))
    .filter((f): f is PlannedBgpFilter => f !== undefined);
}
