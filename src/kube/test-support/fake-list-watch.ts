// An in-memory ListWatchSource for unit tests of the watcher, the informer and reconcilers above them. Inputs:
// `put` / `remove` of objects, and knobs that make the next calls fail, expire (410) or hang. Outputs: what the
// apiserver's list and watch would answer: resourceVersions that grow, paged lists, watches that replay events
// after the requested version and then stream new ones. Not a Kubernetes fake for integration: those run against
// the real apiserver (STYLE.md §10); this only drives the state machines.
import { GoneError, type KubeError } from '../errors.js';
import type { ListWatchSource, RawList, RawWatchEvent } from '../list-watch-source.js';
import { readMeta } from '../object-meta.js';

interface OpenWatch {
  onEvent: (e: RawWatchEvent) => void;
  finish: (err?: unknown) => void;
}

export class FakeListWatch implements ListWatchSource {
  readonly description = 'fake';
  private rv = 0;
  private readonly objects = new Map<string, Record<string, unknown>>();
  private readonly log: { rv: number; event: RawWatchEvent }[] = [];
  private readonly open = new Set<OpenWatch>();
  private listGate: Promise<void> | undefined;
  /** A watch from a resourceVersion below this gets 410 Gone. */
  private compactedBelow = 0;
  /** Errors the next list calls throw, in order. */
  readonly failLists: unknown[] = [];
  /** Errors the next watch calls throw, in order. */
  readonly failWatches: unknown[] = [];
  readonly listCalls: { continueToken: string | undefined }[] = [];
  /** resourceVersion each watch started from. */
  readonly watchCalls: string[] = [];

  get resourceVersion(): string {
    return String(this.rv);
  }

  get openWatches(): number {
    return this.open.size;
  }

  /** Creates or replaces an object (any shape: invalid ones too); returns its new resourceVersion. */
  put(obj: Record<string, unknown>): string {
    const name = readMeta(obj)?.name;
    if (name === undefined) throw new Error('put: object needs metadata.name');
    const rv = String(++this.rv);
    const meta = { ...(obj['metadata'] as Record<string, unknown>), resourceVersion: rv };
    const stored = { ...obj, metadata: meta };
    const type = this.objects.has(name) ? 'MODIFIED' : 'ADDED';
    this.objects.set(name, stored);
    this.emit({ type, object: stored });
    return rv;
  }

  remove(name: string): void {
    const obj = this.objects.get(name);
    if (!obj) return;
    this.objects.delete(name);
    const rv = String(++this.rv);
    this.emit({
      type: 'DELETED',
      object: { ...obj, metadata: { ...(obj['metadata'] as object), resourceVersion: rv } },
    });
  }

  /** Changes the content without any watch event (as if the watch had been down), e.g. before `expire`. */
  silently(fn: () => void): void {
    const saved = [...this.open];
    this.open.clear();
    const logLength = this.log.length;
    fn();
    this.log.length = logLength;
    for (const w of saved) this.open.add(w);
  }

  /** Sends an arbitrary event to open watches (e.g. an object with no name), bypassing the stored content. */
  emitRaw(event: RawWatchEvent): void {
    for (const w of this.open) w.onEvent(event);
  }

  bookmark(): void {
    this.emit({ type: 'BOOKMARK', object: { metadata: { resourceVersion: String(this.rv) } } });
  }

  /** Forgets history: watches from older versions get 410, and open ones get a 410 ERROR event. */
  expire(): void {
    this.compactedBelow = this.rv + 1;
    this.log.length = 0;
    for (const w of [...this.open]) {
      w.onEvent({
        type: 'ERROR',
        object: { kind: 'Status', code: 410, reason: 'Expired', message: 'too old resource version' },
      });
    }
  }

  /** Ends open watches: cleanly (the server's timeout) or with `err` (a dropped connection). */
  endWatches(err?: KubeError | Error): void {
    for (const w of [...this.open]) w.finish(err);
  }

  /** Makes list calls wait until the returned function is called. */
  holdLists(): () => void {
    let release = (): void => undefined;
    this.listGate = new Promise<void>((r) => (release = r));
    return () => {
      this.listGate = undefined;
      release();
    };
  }

  async list(opts: { limit: number; continueToken?: string; signal: AbortSignal }): Promise<RawList> {
    this.listCalls.push({ continueToken: opts.continueToken });
    if (this.listGate) await this.listGate;
    const err = this.failLists.shift();
    if (err !== undefined) throw err;
    const all = [...this.objects.keys()].sort().map((k) => this.objects.get(k));
    const start = opts.continueToken ? Number(opts.continueToken) : 0;
    const items = all.slice(start, start + opts.limit);
    const next = start + opts.limit;
    return { items, resourceVersion: String(this.rv), ...(next < all.length ? { continueToken: String(next) } : {}) };
  }

  watch(
    opts: { resourceVersion: string; timeoutSeconds: number; signal: AbortSignal },
    onEvent: (event: RawWatchEvent) => void,
  ): Promise<void> {
    this.watchCalls.push(opts.resourceVersion);
    const err = this.failWatches.shift();
    if (err !== undefined) return Promise.reject(err);
    const from = Number(opts.resourceVersion);
    if (from < this.compactedBelow - 1) {
      return Promise.reject(
        new GoneError({
          status: 410,
          reason: 'Expired',
          serverMessage: 'too old resource version',
          target: { verb: 'watch', resource: 'fake' },
        }),
      );
    }
    return new Promise<void>((resolve, reject) => {
      const w: OpenWatch = {
        onEvent,
        finish: (e) => {
          this.open.delete(w);
          opts.signal.removeEventListener('abort', onAbort);
          if (e === undefined) resolve();
          else reject(e);
        },
      };
      const onAbort = (): void => w.finish();
      opts.signal.addEventListener('abort', onAbort, { once: true });
      for (const entry of this.log) if (entry.rv > from) onEvent(entry.event);
      this.open.add(w);
    });
  }

  private emit(event: RawWatchEvent): void {
    this.log.push({ rv: this.rv, event });
    for (const w of this.open) w.onEvent(event);
  }
}
