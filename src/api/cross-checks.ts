// Rules that need more than one object (or the previous version of one), as pure functions for the operator, which
// turns their issues into conditions and Events (the CRD cannot see other objects). Inputs are validated objects;
// outputs are `Issue[]` in a stable order.
// - Pool overlap: Calico refuses a new pool overlapping an existing one (`calico: libcalico-go/lib/clientv3/ippool.go`)
//   and, since v3.32, marks the later of two overlapping live pools `Allocatable=False/CIDROverlap`
//   (`calico: kube-controllers/pkg/controllers/ippool/pool_controller.go`). We report the later one (by
//   creationTimestamp, then name), naming the earlier.
// - A new pool over existing IPAM blocks of another size.
// - Immutable fields on update (IPPool cidr and effective blockSize), for clients that bypass the CRD's CEL.
import { cidrContainsCidr, cidrsOverlap, compareCidr, parseCidr, parseSelector, type Cidr } from '../net/index.js';
import type { Issue } from './errors.js';
import type { IPAMBlock } from './ipam-block.js';
import type { IPPool } from './ip-pool.js';

export interface PoolOverlap {
  /** The pool that loses (later created): should be Allocatable=False, reason CIDROverlap. */
  pool: string;
  /** The earlier pools it overlaps, sorted by name. */
  overlaps: string[];
  issue: Issue;
}

/** What the overlap rule reads of a pool (an `IPPool` fits). */
export interface OverlapPool {
  metadata: { name: string; creationTimestamp?: unknown; deletionTimestamp?: unknown };
  spec: { cidr: string };
}

function created(p: OverlapPool): string {
  return typeof p.metadata.creationTimestamp === 'string' ? p.metadata.creationTimestamp : '';
}

/** Orders pools oldest first; pools without a timestamp (not yet created) come last, then by name. */
function olderFirst(a: OverlapPool, b: OverlapPool): number {
  const ta = created(a);
  const tb = created(b);
  if (ta !== tb) {
    if (ta === '') return 1;
    if (tb === '') return -1;
    return ta < tb ? -1 : 1;
  }
  return a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0;
}

/**
 * Finds pools whose CIDR overlaps an older pool's. Pools being deleted are left out (Calico reports them as
 * Terminating instead). Sorting by network lets each pool be compared only with the run of pools that can still
 * contain it, so the common case (disjoint pools) is O(n log n).
 */
export function findPoolOverlaps(pools: readonly OverlapPool[]): PoolOverlap[] {
  const live = pools.filter((p) => p.metadata.deletionTimestamp == null);
  const rank = new Map([...live].sort(olderFirst).map((p, i) => [p.metadata.name, i]));
  const entries = live
    .map((pool) => ({ pool, cidr: parseCidr(pool.spec.cidr) }))
    .sort((a, b) => compareCidr(a.cidr, b.cidr));
  const losers = new Map<string, Set<string>>();
  // Sweep: `open` holds earlier entries that may still overlap later ones (their range reaches this far).
  const open: { pool: OverlapPool; cidr: Cidr }[] = [];
  for (const cur of entries) {
    for (let i = open.length - 1; i >= 0; i--) {
      const prev = open[i];
      if (prev === undefined) continue;
      if (prev.cidr.family !== cur.cidr.family || !cidrsOverlap(prev.cidr, cur.cidr)) {
        open.splice(i, 1);
        continue;
      }
      const [older, newer] =
        (rank.get(prev.pool.metadata.name) ?? 0) < (rank.get(cur.pool.metadata.name) ?? 0) ? [prev, cur] : [cur, prev];
      const set = losers.get(newer.pool.metadata.name) ?? new Set<string>();
      set.add(older.pool.metadata.name);
      losers.set(newer.pool.metadata.name, set);
    }
    open.push(cur);
  }
  const byName = new Map(live.map((p) => [p.metadata.name, p]));
  return [...losers.keys()].sort().map((name) => {
    const overlaps = [...(losers.get(name) ?? [])].sort();
    const first = byName.get(overlaps[0] ?? '');
    return {
      pool: name,
      overlaps,
      issue: {
        code: 'overlap',
        object: { kind: 'IPPool', name },
        path: ['spec', 'cidr'],
        message:
          `overlaps IPPool ${overlaps.join(', IPPool ')}` +
          (first === undefined ? '' : ` (CIDR ${first.spec.cidr})`) +
          '; the older pool keeps the range',
      },
    };
  });
}

/**
 * Calico refuses a pool when an existing IPAM block inside it has another size (blocks are never re-cut).
 * `blocks` may be every block in the cluster; only those overlapping the pool count.
 */
export function checkPoolAgainstBlocks(pool: IPPool, blocks: readonly IPAMBlock[]): Issue[] {
  const cidr = parseCidr(pool.spec.cidr);
  const out: Issue[] = [];
  for (const b of blocks) {
    const bc = parseCidr(b.spec.cidr);
    if (bc.family !== cidr.family || !cidrsOverlap(bc, cidr)) continue;
    if (bc.prefix !== pool.spec.blockSize || !cidrContainsCidr(cidr, bc)) {
      out.push({
        code: 'block_conflict',
        object: { kind: 'IPPool', name: pool.metadata.name },
        path: ['spec', 'blockSize'],
        message: `existing IPAM block ${b.spec.cidr} overlaps this pool with a different size (blockSize ${pool.spec.blockSize})`,
      });
    }
  }
  return out.sort((a, b) => (a.message < b.message ? -1 : a.message > b.message ? 1 : 0));
}

/** IPPool update rules: cidr and (effective) blockSize never change. */
export function checkIPPoolUpdate(oldPool: IPPool, newPool: IPPool): Issue[] {
  const object = { kind: 'IPPool', name: newPool.metadata.name };
  const out: Issue[] = [];
  const o = parseCidr(oldPool.spec.cidr);
  const n = parseCidr(newPool.spec.cidr);
  if (compareCidr(o, n) !== 0) {
    out.push({
      code: 'immutable',
      object,
      path: ['spec', 'cidr'],
      message: `cannot be changed (was ${oldPool.spec.cidr}); create a new pool and disable this one to migrate`,
    });
  }
  if (oldPool.spec.blockSize !== newPool.spec.blockSize) {
    out.push({
      code: 'immutable',
      object,
      path: ['spec', 'blockSize'],
      message: `cannot be changed (was ${oldPool.spec.blockSize}); create a new pool and disable this one to migrate`,
    });
  }
  return out;
}

/**
 * Selector fields of a raw object that do not parse. Validation already refuses these; this is for objects that
 * reached the cluster through the CRD, which cannot parse selectors, so the operator can name the field.
 */
export function selectorIssues(obj: { kind: string; metadata: { name: string }; spec?: unknown }): Issue[] {
  const fields: Record<string, readonly string[]> = {
    IPPool: ['nodeSelector', 'namespaceSelector'],
    BGPPeer: ['nodeSelector', 'peerSelector', 'localWorkloadSelector'],
    FelixConfiguration: ['nodeSelector'],
  };
  const spec = obj.spec;
  if (typeof spec !== 'object' || spec === null) return [];
  const out: Issue[] = [];
  for (const f of fields[obj.kind] ?? []) {
    const text = (spec as Record<string, unknown>)[f];
    if (typeof text !== 'string') continue;
    try {
      parseSelector(text);
    } catch (err) {
      out.push({
        code: 'invalid_selector',
        object: { kind: obj.kind, name: obj.metadata.name },
        path: ['spec', f],
        message: err instanceof Error ? err.message : String(err),
      });
    }
  }
  return out;
}
