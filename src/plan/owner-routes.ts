// Every remote route that leads to one node ("owner"): its affine blocks plus the addresses it borrowed, each decided
// both ways a view might need it (across subnets, and within the owner's subnet when its pool is CrossSubnet).
// Inputs: the cluster index and the owner's name. Output: `OwnerRoutes`, independent of any view, so that V views
// cost one decision per destination plus one subnet test per (view, owner) — not V full decisions.
// Invariants: items sorted by destination; a destination whose pool is unknown, or whose owner lacks an address,
// yields no item (calico: such routes have no pool type / next hop and are never programmed).
import type { IPFamily } from '../net/index.js';
import type { RouteEntry } from '../api/route-table.js';
import type { ClusterIndex } from './cluster-index.js';
import { type BlockFacts, type NodeFacts, type PoolFacts, compareStrings, ipSortKey } from './facts.js';
import { type RouteRule, decideRemoteRoute } from './encap-decider.js';

/** One route as an entry of a RouteTable, plus what planning knows about it. */
export interface PlannedRoute {
  entry: RouteEntry;
  rule: RouteRule;
  /** JSON of `entry`, computed once and reused by every shard revision that includes it. */
  json: string;
}

export interface RouteItem {
  family: IPFamily;
  destKey: string;
  /** Route for views outside the owner's subnet (and for every view when the pool is not CrossSubnet). */
  normal: PlannedRoute | null;
  /** Route for views whose subnet contains the owner's address; only for CrossSubnet pools. */
  sameSubnet: PlannedRoute | null;
}

export interface OwnerRoutes {
  owner: string;
  items: readonly RouteItem[];
  count4: number;
  count6: number;
}

function planned(
  pool: PoolFacts,
  owner: NodeFacts,
  family: IPFamily,
  sameSubnet: boolean,
  cidrText: string,
  block: string | undefined,
): PlannedRoute | null {
  const d = decideRemoteRoute(pool, owner, family, sameSubnet);
  if (typeof d === 'string') return null;
  // Key order is fixed here: it is the canonical form the shard revision hashes.
  const entry: RouteEntry = {
    cidr: cidrText,
    node: owner.name,
    nodeIP: d.nodeIP,
    kind: d.kind,
    via: d.via,
    pool: pool.name,
  };
  if (d.device !== undefined) entry.device = d.device;
  if (d.vtepIP !== undefined) entry.vtepIP = d.vtepIP;
  if (d.vtepMAC !== undefined) entry.vtepMAC = d.vtepMAC;
  if (block !== undefined) {
    entry.borrowed = true;
    entry.block = block;
  }
  return { entry, rule: d.rule, json: JSON.stringify(entry) };
}

function item(
  pool: PoolFacts,
  owner: NodeFacts,
  family: IPFamily,
  cidrText: string,
  destKey: string,
  block?: string,
): RouteItem | null {
  const normal = planned(pool, owner, family, false, cidrText, block);
  const sameSubnet = pool.crossSubnet ? planned(pool, owner, family, true, cidrText, block) : null;
  if (!normal && !sameSubnet) return null;
  return { family, destKey, normal, sameSubnet };
}

export function ownerRoutes(idx: ClusterIndex, owner: NodeFacts): OwnerRoutes {
  const items: RouteItem[] = [];
  for (const b of idx.blocksOf(owner.name)) {
    const pool = idx.poolFor(b);
    if (!pool) continue;
    const it = item(pool, owner, b.family, b.cidrText, b.sortKey);
    if (it) items.push(it);
  }
  for (const b of idx.borrowingBlocksOf(owner.name)) addBorrowed(idx, owner, b, items);
  items.sort((a, b) => compareStrings(a.destKey, b.destKey));
  let count4 = 0;
  let count6 = 0;
  for (const it of items) {
    if (it.family === 4) count4++;
    else count6++;
  }
  return { owner: owner.name, items, count4, count6 };
}

function addBorrowed(idx: ClusterIndex, owner: NodeFacts, b: BlockFacts, items: RouteItem[]): void {
  const pool = idx.poolFor(b);
  if (!pool) return;
  for (const a of b.borrowed) {
    if (a.holder !== owner.name) continue;
    const it = item(pool, owner, b.family, a.cidrText, ipSortKey(a.address), b.cidrText);
    if (it) items.push(it);
  }
}
