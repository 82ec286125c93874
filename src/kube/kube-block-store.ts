// The Kubernetes implementation of IPAM's BlockStore (src/ipam/block-store.ts): IPAMBlock, BlockAffinity and
// IPAMHandle objects of projectcalico.org/v3, with `version` = metadata.resourceVersion.
//   update  = PUT with that resourceVersion (409 Conflict → `conflict`, 404 → `notFound`)
//   create  = POST (409 AlreadyExists → `exists`, unless the stored one is soft-deleted: then it is replaced, S3)
//   delete  = DELETE with preconditions.resourceVersion
// Reads go to the apiserver unless `readers` are given: then they come from informer caches (S4 allows stale reads:
// a stale version only costs a conflict), so the hot path makes one request per write and none per read.
// Calico's uint64 sequence numbers travel as JSON numbers; values above 2^53 lose their low bits on the way
// (JSON.parse), which is harmless here because every compare-and-swap uses resourceVersion, never the sequence.
import type { BlockStore, CasCollection, DeleteResult, Version, Versioned, WriteResult } from '../ipam/block-store.js';
import { affinityKey, blockKey, handleKey } from '../ipam/block-store.js';
import {
  HANDLE_NODE_ANNOTATION,
  type BlockAffinityData,
  type IPAMBlockData,
  type IPAMHandleData,
} from '../ipam/model.js';
import {
  affinityFromSpec,
  affinityToSpec,
  blockFromSpec,
  blockToSpec,
  handleFromSpec,
  handleToSpec,
} from '../ipam/spec-mapping.js';
import { BlockAffinityKind, type BlockAffinity } from '../api/block-affinity.js';
import { IPAMBlockKind, type IPAMBlock } from '../api/ipam-block.js';
import { IPAMHandleKind, type IPAMHandle } from '../api/ipam-handle.js';
import { CALICO_API_VERSION } from '../api/meta.js';
import type { KubeClient, ResourceClient } from './client.js';
import { AlreadyExistsError, ConflictError, NotFoundError } from './errors.js';
import { readMeta, type HasMetadata } from './object-meta.js';
import { kindResource } from './resources.js';
import type { ObjectReader } from './store.js';

export const IPAM_BLOCKS = kindResource(IPAMBlockKind);
export const BLOCK_AFFINITIES = kindResource(BlockAffinityKind);
export const IPAM_HANDLES = kindResource(IPAMHandleKind);

interface Mapping<T, O extends HasMetadata> {
  key(value: T): string;
  toObject(value: T, name: string, resourceVersion?: string): O;
  fromObject(obj: O): T;
  deleted(value: T): boolean;
}

const rvOf = (obj: unknown): string => readMeta(obj)?.resourceVersion ?? '';

function deepFreeze<V>(value: V): V {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/** JSON has no bigint: sequence numbers go out as numbers (see the header for why the lost bits do not matter). */
function jsonSafeBlockSpec(b: IPAMBlockData): IPAMBlock['spec'] {
  const spec = blockToSpec(b);
  return {
    ...spec,
    sequenceNumber: Number(b.sequenceNumber),
    sequenceNumberForAllocation: Object.fromEntries(
      Object.entries(b.sequenceNumberForAllocation).map(([k, v]) => [k, Number(v)]),
    ),
  };
}

function envelopeOf<K extends string>(kind: K, name: string, rv: string | undefined) {
  return { apiVersion: CALICO_API_VERSION, kind, metadata: { name, ...(rv ? { resourceVersion: rv } : {}) } };
}

const blockMapping: Mapping<IPAMBlockData, IPAMBlock> = {
  key: (b) => blockKey(b.cidr),
  toObject: (b, name, rv) => ({ ...envelopeOf('IPAMBlock', name, rv), spec: jsonSafeBlockSpec(b) }) as IPAMBlock,
  fromObject: (o) => blockFromSpec(o.spec),
  deleted: (b) => b.deleted,
};

const affinityMapping: Mapping<BlockAffinityData, BlockAffinity> = {
  key: (a) => affinityKey(a.node, a.cidr),
  toObject: (a, name, rv) => ({ ...envelopeOf('BlockAffinity', name, rv), spec: affinityToSpec(a) }) as BlockAffinity,
  fromObject: (o) => affinityFromSpec(o.spec),
  deleted: (a) => a.deleted,
};

// The handle's node lives in an annotation (Calico's spec has no field for it; a label could not hold every node
// name): a handle written by Calico's tools reads as one without a node.
const handleMapping: Mapping<IPAMHandleData, IPAMHandle> = {
  key: (h) => handleKey(h.handleID),
  toObject: (h, name, rv) => {
    const env = envelopeOf('IPAMHandle', name, rv);
    const metadata =
      h.node === undefined ? env.metadata : { ...env.metadata, annotations: { [HANDLE_NODE_ANNOTATION]: h.node } };
    return { ...env, metadata, spec: handleToSpec(h) } as IPAMHandle;
  },
  fromObject: (o) => {
    const node = o.metadata.annotations?.[HANDLE_NODE_ANNOTATION];
    return { ...handleFromSpec(o.spec), ...(node === undefined ? {} : { node }) };
  },
  deleted: (h) => h.deleted,
};

export interface KubeStoreStats {
  reads: number;
  writes: number;
  conflicts: number;
}

/** A write of ours the cache may not show yet: the object written (or `deleted` with the version it had). */
interface RecentWrite<O> {
  obj: O | undefined;
  rv: string;
}

/** resourceVersions are etcd revisions: comparing them numerically tells which of two states of a key is newer. */
function newerOrSame(a: string, b: string): boolean {
  const x = Number(a);
  const y = Number(b);
  return Number.isFinite(x) && Number.isFinite(y) ? x >= y : a === b;
}

class KubeCollection<T, O extends HasMetadata> implements CasCollection<T> {
  /**
   * Read-your-writes over a watch cache: until the cache shows our write (or something newer), reads see the write.
   * Without it a reconcile right after a claim could read the old state and claim a second block.
   */
  private readonly recent = new Map<string, RecentWrite<O>>();

  constructor(
    private readonly client: ResourceClient<O>,
    private readonly m: Mapping<T, O>,
    private readonly stats: KubeStoreStats,
    private readonly fieldManager: string,
    private readonly reader?: ObjectReader<O>,
  ) {}

  keyOf(value: T): string {
    return this.m.key(value);
  }

  /**
   * Values already converted, by the object they came from. Cached objects are immutable (the informer replaces an
   * object on every change), so each version is converted once — without this, every IPAM pass converted every block
   * in the cluster again (O(nodes²) per pool creation; most of the operator's CPU at 1,000 nodes). The value is frozen:
   * readers share it, and src/ipam clones before it mutates (block.ts), so a caller that forgot to fails loudly
   * instead of changing what every other reader sees.
   */
  private readonly converted = new WeakMap<object, Versioned<T> | null>();

  /**
   * The object's value with its version (null: soft-deleted), built once per cached object and frozen like the value:
   * a list of the cluster's blocks (each block claim searches them) then allocates nothing per block.
   */
  private versioned(obj: O): Versioned<T> | undefined {
    let v = this.converted.get(obj);
    if (v === undefined) {
      const value = deepFreeze(this.m.fromObject(obj));
      v = this.m.deleted(value) ? null : Object.freeze({ value, version: rvOf(obj) });
      this.converted.set(obj, v);
    }
    return v ?? undefined;
  }

  /** The cached object under `key`, corrected by our own recent writes. */
  private cached(key: string): O | undefined {
    const obj = this.reader!.get(key);
    const mine = this.recent.get(key);
    if (!mine) return obj;
    if (mine.obj === undefined) {
      // Gone (our delete, or a write of ours that found it deleted): hidden while the cache still holds that
      // version or an older one; only a newer object (created again since) shows.
      if (obj !== undefined && newerOrSame(mine.rv, rvOf(obj))) return undefined;
      this.recent.delete(key);
      return obj;
    }
    if (obj !== undefined && newerOrSame(rvOf(obj), mine.rv)) {
      this.recent.delete(key);
      return obj;
    }
    return mine.obj;
  }

  /** How many of our writes the cache does not show yet (0 without a cache). */
  unseenWrites(): number {
    let n = 0;
    for (const key of [...this.recent.keys()]) {
      this.cached(key);
      if (this.recent.has(key)) n++;
    }
    return n;
  }

  private remember(key: string, obj: O | undefined, rv: string): void {
    if (this.reader) this.recent.set(key, { obj, rv });
  }

  async get(key: string): Promise<Versioned<T> | undefined> {
    if (this.reader) {
      const obj = this.cached(key);
      return obj ? this.versioned(obj) : undefined;
    }
    this.stats.reads++;
    try {
      return this.versioned(await this.client.get(key));
    } catch (err) {
      if (err instanceof NotFoundError) return undefined;
      throw err;
    }
  }

  /** Objects the reader's `index` files under `value`, and our recent writes that `keep` accepts (read-your-writes). */
  byIndex(index: string, value: string, keep: (v: T) => boolean): Versioned<T>[] {
    const keys = new Set([...this.reader!.keysByIndex(index, value), ...this.recent.keys()]);
    const out: Versioned<T>[] = [];
    for (const k of keys) {
      const obj = this.cached(k);
      const v = obj ? this.versioned(obj) : undefined;
      if (v && keep(v.value)) out.push(v);
    }
    return out;
  }

  async list(): Promise<Versioned<T>[]> {
    let objs: readonly O[];
    if (this.reader) {
      // The cache's keys (sorted), then our writes it does not hold yet; `cached` may forget writes as it goes.
      const reader = this.reader;
      const found: O[] = [];
      for (const k of reader.keys()) {
        const o = this.cached(k);
        if (o !== undefined) found.push(o);
      }
      for (const k of [...this.recent.keys()]) {
        if (reader.has(k)) continue;
        const o = this.cached(k);
        if (o !== undefined) found.push(o);
      }
      objs = found;
    } else {
      this.stats.reads++;
      objs = (await this.client.list()).items;
    }
    const out: Versioned<T>[] = [];
    for (const o of objs) {
      const v = this.versioned(o);
      if (v) out.push(v);
    }
    return out;
  }

  async create(value: T): Promise<WriteResult<T>> {
    const name = this.m.key(value);
    this.stats.writes++;
    try {
      const obj = await this.client.create(this.m.toObject(value, name), { fieldManager: this.fieldManager });
      this.remember(name, obj, rvOf(obj));
      return { ok: true, value: this.m.fromObject(obj), version: rvOf(obj) };
    } catch (err) {
      if (!(err instanceof AlreadyExistsError)) throw err;
    }
    // S3: a soft-deleted object under the key is replaced as if absent.
    let existing: O;
    try {
      this.stats.reads++;
      existing = await this.client.get(name);
    } catch (err) {
      if (err instanceof NotFoundError) return this.refused('conflict');
      throw err;
    }
    this.remember(name, existing, rvOf(existing));
    if (!this.m.deleted(this.m.fromObject(existing))) return this.refused('exists');
    return this.update(value, rvOf(existing));
  }

  async update(value: T, version: Version): Promise<WriteResult<T>> {
    const name = this.m.key(value);
    this.stats.writes++;
    try {
      const obj = await this.client.replace(this.m.toObject(value, name, version), { fieldManager: this.fieldManager });
      this.remember(name, obj, rvOf(obj));
      return { ok: true, value: this.m.fromObject(obj), version: rvOf(obj) };
    } catch (err) {
      if (err instanceof NotFoundError) {
        // Deleted by another writer. A write of ours the cache no longer shows would otherwise be read back for
        // ever (nothing newer ever arrives for a deleted key), and every retry would write into the void.
        this.remember(name, undefined, version);
        return this.refused('notFound');
      }
      if (err instanceof ConflictError) {
        await this.refresh(name, version);
        return this.refused('conflict');
      }
      throw err;
    }
  }

  /** After a conflict the cache is behind: fetch the current object once so the caller's retry reads it. */
  private async refresh(name: string, staleVersion: string): Promise<void> {
    if (!this.reader) return;
    try {
      this.stats.reads++;
      const fresh = await this.client.get(name);
      this.remember(name, fresh, rvOf(fresh));
    } catch (err) {
      if (err instanceof NotFoundError) this.remember(name, undefined, staleVersion);
      else throw err;
    }
  }

  async delete(key: string, version: Version): Promise<DeleteResult> {
    this.stats.writes++;
    try {
      await this.client.delete(key, { preconditions: { resourceVersion: version } });
      this.remember(key, undefined, version);
      return { ok: true };
    } catch (err) {
      if (err instanceof NotFoundError) {
        this.stats.conflicts++;
        this.remember(key, undefined, version);
        return { ok: false, reason: 'notFound' };
      }
      if (err instanceof ConflictError) {
        this.stats.conflicts++;
        await this.refresh(key, version);
        return { ok: false, reason: 'conflict' };
      }
      throw err;
    }
  }

  private refused(reason: 'conflict' | 'exists' | 'notFound'): WriteResult<T> {
    this.stats.conflicts++;
    return { ok: false, reason };
  }
}

export interface KubeBlockStoreOptions {
  fieldManager?: string;
  /** Informer caches to read from instead of the apiserver. */
  readers?: {
    blocks?: ObjectReader<IPAMBlock>;
    affinities?: ObjectReader<BlockAffinity>;
    handles?: ObjectReader<IPAMHandle>;
  };
  /**
   * The block and affinity readers carry a `BY_NODE_INDEX` index (`blockNodeIndex`, `affinityNodeIndex`): the store
   * then answers `nodeView` from it, in O(what the node has).
   */
  indexedByNode?: boolean;
}

/** Index name the block and affinity caches declare for `nodeView`. */
export const BY_NODE_INDEX = 'node';
/** A block's index value: the node of its `host:` affinity. */
export const blockNodeIndex = (b: IPAMBlock): string[] =>
  b.spec.affinity?.startsWith('host:') ? [b.spec.affinity.slice('host:'.length)] : [];
/** An affinity's index value: its node. */
export const affinityNodeIndex = (a: BlockAffinity): string[] => [a.spec.node];

export interface KubeBlockStore extends BlockStore {
  readonly stats: KubeStoreStats;
  /** Writes of this store its caches do not show yet: whoever plans from those caches would plan from the past. */
  unseenWrites(): number;
}

export function createKubeBlockStore(client: KubeClient, opts: KubeBlockStoreOptions = {}): KubeBlockStore {
  const stats: KubeStoreStats = { reads: 0, writes: 0, conflicts: 0 };
  const fm = opts.fieldManager ?? 'tabby-ipam';
  const collections = {
    blocks: new KubeCollection(client.kind(IPAMBlockKind), blockMapping, stats, fm, opts.readers?.blocks),
    affinities: new KubeCollection(
      client.kind(BlockAffinityKind),
      affinityMapping,
      stats,
      fm,
      opts.readers?.affinities,
    ),
    handles: new KubeCollection(client.kind(IPAMHandleKind), handleMapping, stats, fm, opts.readers?.handles),
  };
  const indexed = opts.indexedByNode === true && opts.readers?.blocks !== undefined && opts.readers.affinities;
  return {
    stats,
    ...collections,
    ...(indexed
      ? {
          async nodeView(node: string) {
            const affinities = collections.affinities.byIndex(BY_NODE_INDEX, node, (a) => a.node === node);
            const named = new Set(affinities.map((a) => a.value.cidr));
            const blocks = collections.blocks.byIndex(BY_NODE_INDEX, node, (b) => b.affinity === `host:${node}`);
            for (const cidr of named) {
              if (blocks.some((b) => b.value.cidr === cidr)) continue;
              const b = await collections.blocks.get(blockKey(cidr));
              if (b) blocks.push(b);
            }
            return { blocks, affinities };
          },
        }
      : {}),
    unseenWrites: () =>
      collections.blocks.unseenWrites() + collections.affinities.unseenWrites() + collections.handles.unseenWrites(),
  };
}
