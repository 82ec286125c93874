// An in-memory BlockStore with the same compare-and-swap contract as the Kubernetes one (block-store.ts S1–S4).
// Values are copied on the way in and out, so callers can never change stored state except through a write.
//
// Hooks make it a test instrument: `before(op)` runs before every operation and may
// - await (a fast-check scheduler or a latency model decides when the operation happens: interleavings),
// - throw (a simulated crash: the operation does not happen and the caller sees the error).
// Operations are atomic once their hook returns. `stats` counts reads, writes and conflicts for benchmarks.
import type {
  BlockStore,
  CasCollection,
  CollectionName,
  DeleteResult,
  Version,
  Versioned,
  WriteResult,
} from './block-store.js';
import { affinityKey, blockKey, handleKey } from './block-store.js';
import { cloneBlock } from './block.js';
import type { BlockAffinityData, IPAMBlockData, IPAMHandleData } from './model.js';

export type StoreOpKind = 'get' | 'list' | 'create' | 'update' | 'delete';

export interface StoreOp {
  readonly kind: StoreOpKind;
  readonly collection: CollectionName;
  /** Absent for `list`. */
  readonly key?: string;
  /** Sequence number of this operation in the store's life, from 1. */
  readonly seq: number;
}

export interface InMemoryStoreHooks {
  before?(op: StoreOp): void | Promise<void>;
}

export interface StoreStats {
  gets: number;
  lists: number;
  creates: number;
  updates: number;
  deletes: number;
  /** Writes refused: version changed (`conflict`), object already there (`exists`) or gone (`notFound`). */
  conflicts: number;
}

function emptyStats(): StoreStats {
  return { gets: 0, lists: 0, creates: 0, updates: 0, deletes: 0, conflicts: 0 };
}

export function storeWrites(s: StoreStats): number {
  return s.creates + s.updates + s.deletes;
}

export function storeReads(s: StoreStats): number {
  return s.gets + s.lists;
}

class MemoryCollection<T extends { deleted: boolean }> implements CasCollection<T> {
  private readonly items = new Map<string, { value: T; version: Version }>();

  constructor(
    private readonly name: CollectionName,
    private readonly key: (v: T) => string,
    private readonly clone: (v: T) => T,
    private readonly store: InMemoryBlockStore,
  ) {}

  keyOf(value: T): string {
    return this.key(value);
  }

  async get(key: string): Promise<Versioned<T> | undefined> {
    await this.store.enter('get', this.name, key);
    this.store.stats.gets++;
    const item = this.items.get(key);
    return item === undefined || item.value.deleted
      ? undefined
      : { value: this.clone(item.value), version: item.version };
  }

  async list(): Promise<Versioned<T>[]> {
    await this.store.enter('list', this.name);
    this.store.stats.lists++;
    const out: Versioned<T>[] = [];
    for (const item of this.items.values()) {
      if (!item.value.deleted) out.push({ value: this.clone(item.value), version: item.version });
    }
    return out;
  }

  async create(value: T): Promise<WriteResult<T>> {
    const key = this.key(value);
    await this.store.enter('create', this.name, key);
    const existing = this.items.get(key);
    if (existing !== undefined && !existing.value.deleted) {
      this.store.stats.conflicts++;
      return { ok: false, reason: 'exists' };
    }
    this.store.stats.creates++;
    return this.put(key, value);
  }

  /** CAS precondition of update and delete: the item exists and is still at `version`. */
  private precondition(key: string, version: Version): { ok: false; reason: 'notFound' | 'conflict' } | undefined {
    const existing = this.items.get(key);
    if (existing !== undefined && !existing.value.deleted && existing.version === version) return undefined;
    this.store.stats.conflicts++;
    return { ok: false, reason: existing === undefined || existing.value.deleted ? 'notFound' : 'conflict' };
  }

  async update(value: T, version: Version): Promise<WriteResult<T>> {
    const key = this.key(value);
    await this.store.enter('update', this.name, key);
    const refused = this.precondition(key, version);
    if (refused !== undefined) return refused;
    this.store.stats.updates++;
    return this.put(key, value);
  }

  async delete(key: string, version: Version): Promise<DeleteResult> {
    await this.store.enter('delete', this.name, key);
    const refused = this.precondition(key, version);
    if (refused !== undefined) return refused;
    this.store.stats.deletes++;
    this.items.delete(key);
    return { ok: true };
  }

  /** Synchronous view for assertions; no hook, not counted. */
  peek(): Versioned<T>[] {
    return [...this.items.values()].map((i) => ({ value: this.clone(i.value), version: i.version }));
  }

  /** Test setup: store an object as-is (including `deleted: true` ones, to model Calico's soft deletes). */
  seed(value: T): Versioned<T> {
    const key = this.key(value);
    const r = this.put(key, value);
    return { value: r.value, version: r.version };
  }

  private put(key: string, value: T): { ok: true; value: T; version: Version } {
    const version = this.store.nextVersion();
    this.items.set(key, { value: this.clone(value), version });
    return { ok: true, value: this.clone(value), version };
  }
}

function cloneAffinity(a: BlockAffinityData): BlockAffinityData {
  return { ...a };
}

function cloneHandle(h: IPAMHandleData): IPAMHandleData {
  return {
    handleID: h.handleID,
    block: { ...h.block },
    deleted: h.deleted,
    ...(h.node === undefined ? {} : { node: h.node }),
  };
}

export interface StoreSnapshot {
  blocks: Versioned<IPAMBlockData>[];
  affinities: Versioned<BlockAffinityData>[];
  handles: Versioned<IPAMHandleData>[];
}

export class InMemoryBlockStore implements BlockStore {
  readonly blocks: MemoryCollection<IPAMBlockData>;
  readonly affinities: MemoryCollection<BlockAffinityData>;
  readonly handles: MemoryCollection<IPAMHandleData>;
  stats: StoreStats = emptyStats();
  hooks: InMemoryStoreHooks;
  private version = 0;
  private ops = 0;

  constructor(opts: { hooks?: InMemoryStoreHooks } = {}) {
    this.hooks = opts.hooks ?? {};
    this.blocks = new MemoryCollection('blocks', (b) => blockKey(b.cidr), cloneBlock, this);
    this.affinities = new MemoryCollection('affinities', (a) => affinityKey(a.node, a.cidr), cloneAffinity, this);
    this.handles = new MemoryCollection('handles', (h) => handleKey(h.handleID), cloneHandle, this);
  }

  /** @internal Runs the hook for one operation; the operation itself happens after this resolves. */
  async enter(kind: StoreOpKind, collection: CollectionName, key?: string): Promise<void> {
    const op: StoreOp =
      key === undefined ? { kind, collection, seq: ++this.ops } : { kind, collection, key, seq: ++this.ops };
    const before = this.hooks.before;
    if (before !== undefined) await before(op);
  }

  /** @internal */
  nextVersion(): Version {
    return String(++this.version);
  }

  resetStats(): void {
    this.stats = emptyStats();
  }

  /** Everything stored (including soft-deleted objects), synchronously, for assertions. */
  snapshot(): StoreSnapshot {
    return { blocks: this.blocks.peek(), affinities: this.affinities.peek(), handles: this.handles.peek() };
  }
}
