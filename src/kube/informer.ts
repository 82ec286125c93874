// A typed, validated cache of one resource kept current by list+watch (STYLE.md §5; kube-rs reflector). Inputs: a
// ListWatchSource (namespace, label and field selectors are the source's), the caller's zod schema, optional
// secondary indexes, handlers. Outputs: `store` (read-only), handler calls after each change, `hasSynced` /
// `waitForSync`, a periodic `onResync`.
// Invariants:
// - The store has one writer, this informer. A (re)list collects into a buffer that replaces the store in one step
//   at initDone; handlers then get the difference (adds, updates, deletes), so a relist after 410 Gone or a restart
//   of the apiserver never shows a half-filled cache and never replays unchanged objects.
// - Every object is parsed with the schema; one that fails is kept out of the typed cache, recorded in
//   `store.invalid(key)` with its issues and reported to `onInvalid` (so a reconciler can set a condition instead
//   of treating it as deleted). An invalid object, a throwing handler or a failing server never stops the loop.
// - With `keepLastValid`, an object that turns invalid keeps its last valid version in the typed cache (also across
//   relists) next to the invalid entry: a user's bad edit is reported, and what depends on the object goes on from
//   its last good spec instead of acting as if it were deleted (Calico's own API server would have refused the edit).
// - Handlers run after the store is updated, so they read the new state; they should only enqueue keys.
import type { z } from 'zod';
import { issuesFromZod, type Issue } from '../api/errors.js';
import type { Logger } from '../log/logger.js';
import { silentLogger } from '../log/logger.js';
import type { BackoffPolicy } from './backoff.js';
import { systemClock, type Clock, type Timer } from './clock.js';
import type { ListWatchSource } from './list-watch-source.js';
import { noopMetrics, type InformerMetrics } from './metrics.js';
import { keyOf, readMeta } from './object-meta.js';
import { Store, type IndexFunc, type InvalidObject, type ObjectReader, type StoreWriter } from './store.js';
import { newWatcherStats, watchObjects, type WatcherEvent, type WatcherStats } from './watcher.js';

export interface InformerHandler<T> {
  onAdd?(obj: T, key: string): void;
  onUpdate?(oldObj: T, newObj: T, key: string): void;
  /** `obj` is undefined when the deleted object was one that had failed validation. */
  onDelete?(obj: T | undefined, key: string): void;
  /** The object under `key` failed the schema: it is no longer in the typed cache (see `store.invalid(key)`). */
  onInvalid?(raw: unknown, issues: readonly Issue[], key: string): void;
  /** The first complete list is in the store (called at once for a handler added later). */
  onSynced?(): void;
  /** Every `resyncPeriodMs` after the first sync: a safety net for missed events. */
  onResync?(objects: readonly T[]): void;
}

export interface InformerOptions<T> {
  /** For logs and metrics; default the source's description. */
  name?: string;
  source: ListWatchSource;
  schema: z.ZodType<T>;
  /** Kind named in issues, e.g. `IPPool`. */
  kind: string;
  indexes?: Readonly<Record<string, IndexFunc<T>>>;
  handlers?: InformerHandler<T>;
  /** 0 or absent: no resync. */
  resyncPeriodMs?: number;
  clock?: Clock;
  random?: () => number;
  backoff?: BackoffPolicy;
  pageSize?: number;
  /** Keep an object's last valid version in the typed cache when an update fails the schema (see the header). */
  keepLastValid?: boolean;
  /**
   * Leave `metadata.managedFields` out of what is parsed and cached (client-go's TransformStripManagedFields, as
   * kube-controller-manager uses): for a reader that never looks at field ownership it is a third of a small
   * object's cached size, kept and promoted again at every update. A PUT of a cached object without it keeps the
   * server's (the apiserver fills in the live object's managedFields when a request carries none).
   */
  stripManagedFields?: boolean;
  watchTimeoutSeconds?: { min: number; max: number };
  logger?: Logger;
  metrics?: InformerMetrics;
}

export interface InformerStats extends WatcherStats {
  invalid: number;
  handlerErrors: number;
}

export interface Informer<T> {
  readonly name: string;
  readonly store: ObjectReader<T>;
  /** Returns a function that removes the handler. */
  addHandler(handler: InformerHandler<T>): () => void;
  start(): void;
  /** Ends the watch and the resync timer; resolves when the loop has stopped. */
  stop(): Promise<void>;
  hasSynced(): boolean;
  /** Resolves true once synced, false if the informer stops or `signal` aborts first. */
  waitForSync(signal?: AbortSignal): Promise<boolean>;
  /** resourceVersion of the last list or event applied. */
  resourceVersion(): string | undefined;
  stats(): Readonly<InformerStats>;
}

type Parsed<T> =
  { key: string; ok: true; obj: T; rv: string | undefined } | { key: string; ok: false; entry: InvalidObject };

export function createInformer<T>(opts: InformerOptions<T>): Informer<T> {
  const name = opts.name ?? opts.source.description;
  const clock = opts.clock ?? systemClock;
  const log = (opts.logger ?? silentLogger()).child({ informer: name, kind: opts.kind });
  const metrics = opts.metrics ?? noopMetrics;
  const store = new Store<T>(opts.indexes ?? {});
  const writer: StoreWriter<T> = store.claimWriter();
  const handlers = new Set<InformerHandler<T>>();
  if (opts.handlers) handlers.add(opts.handlers);
  const wstats = newWatcherStats();
  let handlerErrors = 0;
  let synced = false;
  let rv: string | undefined;
  let abort: AbortController | undefined;
  let running: Promise<void> | undefined;
  let resyncTimer: Timer | undefined;
  const syncWaiters = new Set<(ok: boolean) => void>();
  metrics.informerRegistered(name);

  function call(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      handlerErrors++;
      log.error({ err: err instanceof Error ? err.message : String(err) }, 'informer handler failed');
    }
  }

  function each(fn: (h: InformerHandler<T>) => void): void {
    for (const h of handlers) call(() => fn(h));
  }

  function parse(raw: unknown): Parsed<T> | undefined {
    const key = keyOf(raw);
    if (key === undefined) {
      const issues: Issue[] = [
        {
          code: 'invalid_type',
          object: { kind: opts.kind, name: '' },
          path: ['metadata', 'name'],
          message: 'is required',
        },
      ];
      log.warn({ issues }, 'object without a name ignored');
      each((h) => h.onInvalid?.(raw, issues, ''));
      return undefined;
    }
    const meta = readMeta(raw);
    if (opts.stripManagedFields === true) raw = withoutManagedFields(raw);
    // The offending values are only needed to word issues: a valid object (nearly every event) is parsed without
    // carrying them (~10% of the parse), an invalid one again with them.
    const valid = opts.schema.safeParse(raw);
    if (valid.success) return { key, ok: true, obj: valid.data, rv: meta?.resourceVersion };
    // Same verdict (reportInput only adds the values to the issues).
    const worded = opts.schema.safeParse(raw, { reportInput: true });
    const issues = issuesFromZod(worded.error ?? valid.error, { kind: opts.kind, name: meta?.name ?? '' });
    return { key, ok: false, entry: { key, raw, issues, resourceVersion: meta?.resourceVersion } };
  }

  const rvOf = (obj: T | undefined): string | undefined => readMeta(obj)?.resourceVersion;

  function reportInvalid(entry: InvalidObject): void {
    log.warn(
      { key: entry.key, issues: entry.issues.map((i) => ({ path: i.path, message: i.message })) },
      'invalid object kept out of the cache',
    );
    each((h) => h.onInvalid?.(entry.raw, entry.issues, entry.key));
  }

  function applyOne(p: Parsed<T>): void {
    if (p.ok) {
      const prev = writer.upsert(p.key, p.obj);
      if (prev === undefined) each((h) => h.onAdd?.(p.obj, p.key));
      else if (rvOf(prev) !== p.rv || p.rv === undefined) each((h) => h.onUpdate?.(prev, p.obj, p.key));
    } else {
      const before = store.invalid(p.key);
      writer.markInvalid(p.entry, opts.keepLastValid === true);
      if (before?.resourceVersion !== p.entry.resourceVersion || before === undefined) reportInvalid(p.entry);
    }
  }

  function swap(objects: Map<string, T>, invalid: Map<string, InvalidObject>): void {
    if (opts.keepLastValid === true) {
      for (const key of invalid.keys()) {
        const lastGood = store.get(key);
        if (lastGood !== undefined && !objects.has(key)) objects.set(key, lastGood);
      }
    }
    const prev = writer.replace(objects, invalid);
    for (const [key, old] of prev.objects) {
      if (!objects.has(key) && !invalid.has(key)) each((h) => h.onDelete?.(old, key));
    }
    for (const key of prev.invalid.keys()) {
      if (!objects.has(key) && !invalid.has(key)) each((h) => h.onDelete?.(undefined, key));
    }
    for (const [key, obj] of objects) {
      const old = prev.objects.get(key);
      if (old === undefined) each((h) => h.onAdd?.(obj, key));
      else if (rvOf(old) !== rvOf(obj) || rvOf(obj) === undefined) each((h) => h.onUpdate?.(old, obj, key));
    }
    for (const [key, entry] of invalid) {
      const old = prev.invalid.get(key);
      if (old === undefined || old.resourceVersion !== entry.resourceVersion) reportInvalid(entry);
    }
  }

  function scheduleResync(): void {
    const period = opts.resyncPeriodMs ?? 0;
    if (period <= 0 || !abort || abort.signal.aborted) return;
    resyncTimer = clock.setTimer(() => {
      const objects = store.list();
      each((h) => h.onResync?.(objects));
      scheduleResync();
    }, period);
  }

  let buffer: { objects: Map<string, T>; invalid: Map<string, InvalidObject> } | undefined;

  let reportedInvalid = -1;
  function reportInvalidCount(): void {
    if (store.invalidCount !== reportedInvalid) {
      reportedInvalid = store.invalidCount;
      metrics.informerInvalidObjects(name, reportedInvalid);
    }
  }

  function handle(ev: WatcherEvent): void {
    switch (ev.type) {
      case 'init':
        buffer = { objects: new Map(), invalid: new Map() };
        return;
      case 'initApply': {
        const p = parse(ev.object);
        if (!p || !buffer) return;
        if (p.ok) buffer.objects.set(p.key, p.obj);
        else buffer.invalid.set(p.key, p.entry);
        return;
      }
      case 'initDone': {
        const b = buffer ?? { objects: new Map<string, T>(), invalid: new Map<string, InvalidObject>() };
        buffer = undefined;
        rv = ev.resourceVersion;
        swap(b.objects, b.invalid);
        reportInvalidCount();
        if (!synced) {
          synced = true;
          log.info({ objects: store.size, invalid: store.invalidCount, resourceVersion: rv }, 'informer synced');
          for (const w of syncWaiters) w(true);
          syncWaiters.clear();
          each((h) => h.onSynced?.());
          scheduleResync();
        }
        return;
      }
      case 'apply': {
        const p = parse(ev.object);
        rv = readMeta(ev.object)?.resourceVersion ?? rv;
        if (!p) return;
        applyOne(p);
        reportInvalidCount();
        return;
      }
      case 'delete': {
        const key = keyOf(ev.object);
        rv = readMeta(ev.object)?.resourceVersion ?? rv;
        if (key === undefined) return;
        const removed = writer.remove(key);
        if (removed.obj !== undefined || removed.invalid !== undefined) {
          each((h) => h.onDelete?.(removed.obj, key));
        }
        reportInvalidCount();
        return;
      }
    }
  }

  async function run(signal: AbortSignal): Promise<void> {
    const events = watchObjects(opts.source, {
      signal,
      clock,
      ...(opts.random ? { random: opts.random } : {}),
      ...(opts.backoff ? { backoff: opts.backoff } : {}),
      ...(opts.pageSize ? { pageSize: opts.pageSize } : {}),
      ...(opts.watchTimeoutSeconds ? { watchTimeoutSeconds: opts.watchTimeoutSeconds } : {}),
      logger: log,
      stats: wstats,
      observe: (what) => {
        if (what === 'list') metrics.informerListed(name);
        else if (what === 'gone') metrics.informerExpired(name);
        else if (what === 'error') metrics.informerWatchError(name);
      },
    });
    for await (const ev of events) {
      try {
        handle(ev);
      } catch (err) {
        // Only an index function can throw here; the event is lost for the index, never the loop.
        log.error({ err: err instanceof Error ? err.message : String(err), event: ev.type }, 'informer event failed');
      }
    }
  }

  return {
    name,
    store,

    addHandler(handler) {
      handlers.add(handler);
      if (synced) {
        for (const key of store.keys()) {
          const obj = store.get(key) as T;
          call(() => handler.onAdd?.(obj, key));
        }
        call(() => handler.onSynced?.());
      }
      return () => {
        handlers.delete(handler);
      };
    },

    start() {
      if (running) return;
      abort = new AbortController();
      const signal = abort.signal;
      running = run(signal).catch((err: unknown) => {
        log.error({ err: err instanceof Error ? err.message : String(err) }, 'informer loop ended');
      });
    },

    async stop() {
      abort?.abort();
      resyncTimer?.cancel();
      for (const w of syncWaiters) w(false);
      syncWaiters.clear();
      await running;
    },

    hasSynced: () => synced,

    waitForSync(signal) {
      if (synced) return Promise.resolve(true);
      if (signal?.aborted || abort?.signal.aborted) return Promise.resolve(false);
      return new Promise((resolve) => {
        const done = (ok: boolean): void => {
          signal?.removeEventListener('abort', onAbort);
          syncWaiters.delete(done);
          resolve(ok);
        };
        const onAbort = (): void => done(false);
        syncWaiters.add(done);
        signal?.addEventListener('abort', onAbort, { once: true });
      });
    },

    resourceVersion: () => rv,

    stats: () => ({ ...wstats, invalid: store.invalidCount, handlerErrors }),
  };
}

/** A shallow copy of `raw` without `metadata.managedFields` (the caller's object is left as it is). */
function withoutManagedFields(raw: unknown): unknown {
  const metadata = (raw as { metadata?: unknown }).metadata;
  if (typeof metadata !== 'object' || metadata === null || !('managedFields' in metadata)) return raw;
  const { managedFields: _dropped, ...rest } = metadata as Record<string, unknown>;
  return { ...(raw as Record<string, unknown>), metadata: rest };
}
