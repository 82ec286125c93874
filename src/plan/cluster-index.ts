// In-memory indexes over a ClusterSnapshot: the only mutable state the planners read.
// Inputs: snapshot records, one upsert/delete at a time (or a whole snapshot). Outputs: parsed facts by key plus the
// reverse indexes planning needs — blocks by affine node, borrowed addresses by the node holding them, pods by node.
// Invariants: every index agrees with the record maps after each call; a record replaced by an equal one still gets
// new facts (callers compare records, not facts, to decide whether something changed). Every map is written through
// its setter (setNode, setPool, setBlock, setPod, setBgpPeer, setBgpConfiguration, setFelixConfiguration,
// setBgpFilter), never
// directly, so the derived indexes and caches cannot drift from the records.
import { cidrContainsCidr, compareCidr, formatCidr, tryParseCidr } from '../net/index.js';
import {
  type BlockFacts,
  type NodeFacts,
  type PoolFacts,
  blockFacts,
  compareStrings,
  nodeFacts,
  poolFacts,
} from './facts.js';
import { ServiceIndex, serviceKey } from './service-index.js';
import { serviceSettings } from './service-advertisement.js';
import {
  type ClusterSnapshot,
  GLOBAL_CONFIG_NAME,
  type SnapshotBGPConfiguration,
  type SnapshotBGPFilter,
  type SnapshotBGPPeer,
  type SnapshotBlock,
  type SnapshotFelixConfiguration,
  type SnapshotNode,
  type SnapshotPod,
  type SnapshotPool,
} from './snapshot.js';

function addTo<K, V>(m: Map<K, Set<V>>, k: K, v: V): void {
  let s = m.get(k);
  if (!s) m.set(k, (s = new Set<V>()));
  s.add(v);
}

function removeFrom<K, V>(m: Map<K, Set<V>>, k: K, v: V): void {
  const s = m.get(k);
  if (!s) return;
  s.delete(v);
  if (s.size === 0) m.delete(k);
}

/** Upsert (value given) or delete (undefined); returns the previous value. */
function upsert<V>(m: Map<string, V>, key: string, value: V | undefined): V | undefined {
  const old = m.get(key);
  if (value) m.set(key, value);
  else m.delete(key);
  return old;
}

/** Blocks are keyed by canonical CIDR text, so `fd10:0:0:0::/122` and `fd10::/122` name the same block. */
function canonicalBlockKey(text: string): string {
  const c = tryParseCidr(text);
  return c ? formatCidr(c) : text;
}

export function podKey(p: Pick<SnapshotPod, 'namespace' | 'name'>): string {
  return `${p.namespace}/${p.name}`;
}

export class ClusterIndex {
  readonly nodes = new Map<string, NodeFacts>();
  readonly pools = new Map<string, PoolFacts>();
  /** Keyed by canonical block CIDR text. */
  readonly blocks = new Map<string, BlockFacts>();
  readonly blocksByNode = new Map<string, Set<string>>();
  /** Holder node → block keys containing an address it borrowed. */
  readonly borrowedByNode = new Map<string, Set<string>>();
  readonly pods = new Map<string, SnapshotPod>();
  readonly podsByNode = new Map<string, Set<string>>();
  readonly bgpPeers = new Map<string, SnapshotBGPPeer>();
  readonly bgpConfigurations = new Map<string, SnapshotBGPConfiguration>();
  readonly felixConfigurations = new Map<string, SnapshotFelixConfiguration>();
  readonly bgpFilters = new Map<string, SnapshotBGPFilter>();
  /** Services and EndpointSlices, with each Service's announcement decided (service-index.ts). */
  readonly services = new ServiceIndex();
  private poolsSortedCache: PoolFacts[] | undefined;
  /** Sorted lists per node, dropped when a block of that node changes (both are read once per owner and per plan). */
  private readonly blocksOfCache = new Map<string, BlockFacts[]>();
  private readonly borrowingCache = new Map<string, BlockFacts[]>();

  static fromSnapshot(s: ClusterSnapshot): ClusterIndex {
    const idx = new ClusterIndex();
    for (const n of s.nodes) idx.setNode(n.name, n);
    for (const p of s.pools) idx.setPool(p.name, p);
    for (const b of s.blocks) idx.setBlock(b.cidr, b);
    for (const p of s.pods) idx.setPod(podKey(p), p);
    for (const p of s.bgpPeers) idx.setBgpPeer(p.name, p);
    for (const c of s.bgpConfigurations) idx.setBgpConfiguration(c.name, c);
    for (const c of s.felixConfigurations) idx.setFelixConfiguration(c.name, c);
    for (const f of s.bgpFilters ?? []) idx.setBgpFilter(f.name, f);
    idx.services.setSettings(serviceSettings(idx.bgpConfigurations.get(GLOBAL_CONFIG_NAME)));
    for (const svc of s.services ?? []) idx.services.setService(serviceKey(svc), svc);
    for (const e of s.endpointSlices ?? []) idx.services.setSlice(serviceKey(e), e);
    return idx;
  }

  /** Upsert (record given) or delete (undefined); returns the previous facts. */
  setNode(name: string, record: SnapshotNode | undefined): NodeFacts | undefined {
    const old = this.nodes.get(name);
    if (record) this.nodes.set(name, nodeFacts(record));
    else this.nodes.delete(name);
    return old;
  }

  setPool(name: string, record: SnapshotPool | undefined): PoolFacts | undefined {
    const old = this.pools.get(name);
    if (record) this.pools.set(name, poolFacts(record));
    else this.pools.delete(name);
    this.poolsSortedCache = undefined;
    return old;
  }

  /** `key` is the block CIDR as the caller names it; the facts are stored under the canonical text. */
  setBlock(key: string, record: SnapshotBlock | undefined): { old?: BlockFacts; now?: BlockFacts } {
    const now = record ? blockFacts(record) : undefined;
    const canonical = now?.cidrText ?? canonicalBlockKey(key);
    const old = this.blocks.get(canonical);
    for (const b of [old, now]) {
      if (!b) continue;
      if (b.affinity !== undefined) this.blocksOfCache.delete(b.affinity);
      for (const a of b.borrowed) this.borrowingCache.delete(a.holder);
    }
    if (old) {
      if (old.affinity !== undefined) removeFrom(this.blocksByNode, old.affinity, old.cidrText);
      for (const b of old.borrowed) removeFrom(this.borrowedByNode, b.holder, old.cidrText);
      this.blocks.delete(old.cidrText);
    }
    if (now) {
      this.blocks.set(now.cidrText, now);
      if (now.affinity !== undefined) addTo(this.blocksByNode, now.affinity, now.cidrText);
      for (const b of now.borrowed) addTo(this.borrowedByNode, b.holder, now.cidrText);
    }
    const out: { old?: BlockFacts; now?: BlockFacts } = {};
    if (old) out.old = old;
    if (now) out.now = now;
    return out;
  }

  setPod(key: string, record: SnapshotPod | undefined): SnapshotPod | undefined {
    const old = this.pods.get(key);
    if (old) removeFrom(this.podsByNode, old.node, key);
    if (record) {
      this.pods.set(key, record);
      addTo(this.podsByNode, record.node, key);
    } else {
      this.pods.delete(key);
    }
    return old;
  }

  setBgpPeer(name: string, record: SnapshotBGPPeer | undefined): SnapshotBGPPeer | undefined {
    return upsert(this.bgpPeers, name, record);
  }

  setBgpConfiguration(
    name: string,
    record: SnapshotBGPConfiguration | undefined,
  ): SnapshotBGPConfiguration | undefined {
    return upsert(this.bgpConfigurations, name, record);
  }

  setFelixConfiguration(
    name: string,
    record: SnapshotFelixConfiguration | undefined,
  ): SnapshotFelixConfiguration | undefined {
    return upsert(this.felixConfigurations, name, record);
  }

  setBgpFilter(name: string, record: SnapshotBGPFilter | undefined): SnapshotBGPFilter | undefined {
    return upsert(this.bgpFilters, name, record);
  }

  /** Pools ordered by CIDR (IPv4 first); the order every pool-derived list is emitted in. */
  poolsSorted(): readonly PoolFacts[] {
    this.poolsSortedCache ??= [...this.pools.values()].sort(
      (a, b) => compareCidr(a.cidr, b.cidr) || compareStrings(a.name, b.name),
    );
    return this.poolsSortedCache;
  }

  /**
   * The pool a block (or address) belongs to: the most specific containing pool, by name on a tie. Valid clusters
   * have no overlapping pools; this keeps planning total when they briefly do.
   */
  poolFor(block: BlockFacts): PoolFacts | undefined {
    let best: PoolFacts | undefined;
    for (const p of this.poolsSorted()) {
      if (!cidrContainsCidr(p.cidr, block.cidr)) continue;
      if (!best || p.cidr.prefix > best.cidr.prefix) best = p;
    }
    return best;
  }

  /** Blocks affine to `node`, sorted. The array is shared: callers must not modify it. */
  blocksOf(node: string): readonly BlockFacts[] {
    let out = this.blocksOfCache.get(node);
    if (!out) {
      out = this.sortedBlocks(this.blocksByNode.get(node));
      this.blocksOfCache.set(node, out);
    }
    return out;
  }

  /** Blocks holding an address `node` borrowed, sorted; shared like `blocksOf`. */
  borrowingBlocksOf(node: string): readonly BlockFacts[] {
    let out = this.borrowingCache.get(node);
    if (!out) {
      out = this.sortedBlocks(this.borrowedByNode.get(node));
      this.borrowingCache.set(node, out);
    }
    return out;
  }

  private sortedBlocks(keys: ReadonlySet<string> | undefined): BlockFacts[] {
    const out: BlockFacts[] = [];
    if (!keys) return out;
    for (const k of keys) {
      const b = this.blocks.get(k);
      if (b) out.push(b);
    }
    if (out.length > 1) out.sort((a, b) => compareStrings(a.sortKey, b.sortKey));
    return out;
  }

  podsOf(node: string): SnapshotPod[] {
    const keys = this.podsByNode.get(node);
    if (!keys) return [];
    return [...keys]
      .sort(compareStrings)
      .map((k) => this.pods.get(k))
      .filter((p): p is SnapshotPod => p !== undefined);
  }
}
