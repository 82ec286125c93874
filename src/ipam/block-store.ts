// The one storage interface IPAM writes through: three collections (IPAMBlock, BlockAffinity, IPAMHandle), each
// with compare-and-swap. Implementations:
// - InMemoryBlockStore (in-memory-block-store.ts): unit tests, property tests with injected interleavings and
//   crashes, benchmarks, `tabby render`.
// - The Kubernetes store (src/kube, later): objects of those kinds, `version` = metadata.resourceVersion,
//   `update` = PUT with resourceVersion (409 → conflict), `create` = POST (409 AlreadyExists → exists),
//   `delete` = DELETE with preconditions.resourceVersion. Keys are the objects' metadata.name (see the *Key
//   functions), so that store is a renaming of metadata around the plain data of model.ts.
//
// Contract every implementation keeps (the allocator's safety rests on it):
// - S1: `update` and `delete` succeed only when the stored version equals the given one; every successful write
//   yields a new version never used before for that key. Nothing else changes an object.
// - S2: `create` succeeds only when no object is stored under the key.
// - S3: objects whose `deleted` flag is set (Calico's soft delete) are absent to readers, and `create` over one
//   replaces it (the store finishes the two-step delete).
// - S4: reads may be stale (a watch cache), writes may not: a stale read only costs a conflict.
// - Conflicts are results, not exceptions; a thrown error is a transient store failure (network, crash).
import type { BlockAffinityData, IPAMBlockData, IPAMHandleData } from './model.js';
import { blockAffinityObjectName, ipamBlockObjectName, ipamHandleObjectName } from '../net/index.js';

export type Version = string;

export interface Versioned<T> {
  readonly value: T;
  readonly version: Version;
}

export type WriteResult<T> =
  | { readonly ok: true; readonly value: T; readonly version: Version }
  | { readonly ok: false; readonly reason: 'conflict' | 'exists' | 'notFound' };

export type DeleteResult = { readonly ok: true } | { readonly ok: false; readonly reason: 'conflict' | 'notFound' };

export interface CasCollection<T> {
  /** The key (object name) `value` is stored under. */
  keyOf(value: T): string;
  get(key: string): Promise<Versioned<T> | undefined>;
  list(): Promise<Versioned<T>[]>;
  /** Create-if-absent. */
  create(value: T): Promise<WriteResult<T>>;
  /** Write-if-version-unchanged; `notFound` when the object is gone. */
  update(value: T, version: Version): Promise<WriteResult<T>>;
  /** Delete-if-version-unchanged. */
  delete(key: string, version: Version): Promise<DeleteResult>;
}

export interface BlockStore {
  readonly blocks: CasCollection<IPAMBlockData>;
  readonly affinities: CasCollection<BlockAffinityData>;
  readonly handles: CasCollection<IPAMHandleData>;
  /**
   * What one node's block decisions read (block-claimer.ts): its affinities, the blocks affine to it, and the blocks
   * its affinities name — in O(what the node has), where `list()` is O(cluster). Stores without an index leave it
   * out and callers filter `list()`.
   */
  nodeView?(node: string): Promise<NodeBlocks>;
}

export interface NodeBlocks {
  blocks: Versioned<IPAMBlockData>[];
  affinities: Versioned<BlockAffinityData>[];
}

/** `nodeView` by filtering whole lists: the reference every indexed implementation must agree with. */
export async function nodeViewByLists(store: BlockStore, node: string): Promise<NodeBlocks> {
  const [blocks, affinities] = await Promise.all([store.blocks.list(), store.affinities.list()]);
  const mine = affinities.filter((a) => a.value.node === node);
  const named = new Set(mine.map((a) => a.value.cidr));
  return {
    blocks: blocks.filter((b) => b.value.affinity === `host:${node}` || named.has(b.value.cidr)),
    affinities: mine,
  };
}

export type CollectionName = 'blocks' | 'affinities' | 'handles';

/** IPAMBlock name: the CIDR with `.`, `:` and `/` turned into `-` (calico: libcalico-go/lib/names/cidr.go). */
export function blockKey(cidr: string): string {
  return ipamBlockObjectName(cidr);
}

/** BlockAffinity name: `<node>-<block name>`, hashed when too long (calico: ipam_affinity_v1.go). */
export function affinityKey(node: string, cidr: string): string {
  return blockAffinityObjectName(node, cidr);
}

/** IPAMHandle name: the handle ID lower-cased (calico: backend/k8s/resources/ipam_handle.go). */
export function handleKey(handleId: string): string {
  return ipamHandleObjectName(handleId);
}
