// The typed cache behind an informer. Inputs: writes from exactly one writer (the informer: upsert, remove,
// markInvalid, replace). Outputs: reads by key (`name`, or `namespace/name`), full lists, secondary indexes, and the
// objects that failed validation (kept apart, with their issues, so a reconciler can tell "invalid" from "gone").
// Invariants: one writer (`claimWriter` works once); a key is valid (typed), invalid, or — when the writer keeps the
// last valid version of an object that turned invalid (`markInvalid(entry, true)`) — both; index
// entries always match the current objects; `replace` swaps the whole content in one step, so readers never see a
// half-filled cache; lists come out sorted by key, so callers iterate deterministically.
import type { Issue } from '../api/errors.js';

export type IndexFunc<T> = (obj: T) => readonly string[];

export interface InvalidObject {
  key: string;
  /** The object as the server sent it. */
  raw: unknown;
  issues: readonly Issue[];
  resourceVersion: string | undefined;
}

/** What readers (reconcilers, planners) get: no way to write. */
export interface ObjectReader<T> {
  get(key: string): T | undefined;
  has(key: string): boolean;
  /** Every valid object, sorted by key. */
  list(): T[];
  keys(): string[];
  readonly size: number;
  /** Objects whose index function returned `value`, sorted by key. Throws for an index that was not declared. */
  byIndex(index: string, value: string): T[];
  /** Keys whose index function returned `value`. */
  keysByIndex(index: string, value: string): string[];
  invalid(key: string): InvalidObject | undefined;
  listInvalid(): InvalidObject[];
  readonly invalidCount: number;
}

export interface StoreWriter<T> {
  /** Stores `obj` under `key` (clearing any invalid entry); returns the object it replaced. */
  upsert(key: string, obj: T): T | undefined;
  /** Keeps `entry` as invalid, dropping the valid object under its key; returns that object. */
  /** `keepValid`: the typed object stays (the last valid version) next to the invalid entry. */
  markInvalid(entry: InvalidObject, keepValid?: boolean): T | undefined;
  /** Removes both kinds of entry; returns what was there. */
  remove(key: string): { obj: T | undefined; invalid: InvalidObject | undefined };
  /** Swaps in a complete new content; returns the previous one. */
  replace(
    objects: ReadonlyMap<string, T>,
    invalid: ReadonlyMap<string, InvalidObject>,
  ): { objects: Map<string, T>; invalid: Map<string, InvalidObject> };
}

export class Store<T> implements ObjectReader<T> {
  private objects = new Map<string, T>();
  private invalids = new Map<string, InvalidObject>();
  /** index name → value → keys */
  private indexes = new Map<string, Map<string, Set<string>>>();
  private writerClaimed = false;
  /**
   * Sorted keys, built at the first list after a `replace` and then kept sorted as keys come and go: sorting again at
   * each list after an add (a node joining adds a Node, a block, an affinity, a handle, a NodeDataplane) cost
   * O(n log n) string comparisons per list, where a binary search and one array move cost O(log n) + a memmove.
   */
  private sortedKeys: string[] | undefined;

  constructor(private readonly indexFuncs: Readonly<Record<string, IndexFunc<T>>> = {}) {
    for (const name of Object.keys(indexFuncs)) this.indexes.set(name, new Map());
  }

  /** The one writer. A second call throws: two writers would race and the cache would lie. */
  claimWriter(): StoreWriter<T> {
    if (this.writerClaimed) throw new Error('store already has a writer');
    this.writerClaimed = true;
    return {
      upsert: (key, obj) => this.upsert(key, obj),
      markInvalid: (entry, keepValid = false) => {
        const prev = keepValid ? this.objects.get(entry.key) : this.removeValid(entry.key);
        this.invalids.set(entry.key, entry);
        return prev;
      },
      remove: (key) => {
        const invalid = this.invalids.get(key);
        this.invalids.delete(key);
        return { obj: this.removeValid(key), invalid };
      },
      replace: (objects, invalid) => {
        const previous = { objects: this.objects, invalid: this.invalids };
        this.sortedKeys = undefined;
        this.objects = new Map(objects);
        this.invalids = new Map(invalid);
        for (const name of this.indexes.keys()) this.indexes.set(name, new Map());
        for (const [key, obj] of this.objects) this.addToIndexes(key, obj);
        return previous;
      },
    };
  }

  get(key: string): T | undefined {
    return this.objects.get(key);
  }

  has(key: string): boolean {
    return this.objects.has(key);
  }

  list(): T[] {
    this.sortedKeys ??= [...this.objects.keys()].sort();
    return this.sortedKeys.map((k) => this.objects.get(k) as T);
  }

  keys(): string[] {
    this.sortedKeys ??= [...this.objects.keys()].sort();
    return [...this.sortedKeys];
  }

  get size(): number {
    return this.objects.size;
  }

  byIndex(index: string, value: string): T[] {
    return this.keysByIndex(index, value).map((k) => this.objects.get(k) as T);
  }

  keysByIndex(index: string, value: string): string[] {
    const idx = this.indexes.get(index);
    if (!idx) throw new Error(`store has no index '${index}'`);
    return [...(idx.get(value) ?? [])].sort();
  }

  invalid(key: string): InvalidObject | undefined {
    return this.invalids.get(key);
  }

  get invalidCount(): number {
    return this.invalids.size;
  }

  listInvalid(): InvalidObject[] {
    return [...this.invalids.keys()].sort().map((k) => this.invalids.get(k) as InvalidObject);
  }

  private upsert(key: string, obj: T): T | undefined {
    const prev = this.objects.get(key);
    if (prev !== undefined) this.removeFromIndexes(key, prev);
    else this.sortedKeys?.splice(this.sortedPosition(key), 0, key);
    this.invalids.delete(key);
    this.objects.set(key, obj);
    this.addToIndexes(key, obj);
    return prev;
  }

  private removeValid(key: string): T | undefined {
    const prev = this.objects.get(key);
    if (prev === undefined) return undefined;
    this.objects.delete(key);
    if (this.sortedKeys !== undefined) {
      const at = this.sortedPosition(key);
      if (this.sortedKeys[at] === key) this.sortedKeys.splice(at, 1);
      else this.sortedKeys = undefined;
    }
    this.removeFromIndexes(key, prev);
    return prev;
  }

  /** Where `key` is or would go in `sortedKeys` (the order of `Array.prototype.sort`: UTF-16 code units). */
  private sortedPosition(key: string): number {
    const keys = this.sortedKeys as string[];
    let lo = 0;
    let hi = keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((keys[mid] as string) < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private removeFromIndexes(key: string, obj: T): void {
    for (const [name, fn] of Object.entries(this.indexFuncs)) {
      const idx = this.indexes.get(name) as Map<string, Set<string>>;
      for (const value of fn(obj)) {
        const keys = idx.get(value);
        keys?.delete(key);
        if (keys?.size === 0) idx.delete(value);
      }
    }
  }

  private addToIndexes(key: string, obj: T): void {
    for (const [name, fn] of Object.entries(this.indexFuncs)) {
      const idx = this.indexes.get(name) as Map<string, Set<string>>;
      for (const value of fn(obj)) {
        let keys = idx.get(value);
        if (!keys) idx.set(value, (keys = new Set()));
        keys.add(key);
      }
    }
  }
}
