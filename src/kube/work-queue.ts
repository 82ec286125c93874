// A keyed work queue that also runs the work (after kube-rs `scheduler.rs` + `runner.rs` and client-go's workqueue).
// Inputs: `add(key, delayMs)`, a `process(key, signal)` function returning a WorkResult, a clock, randomness.
// Outputs: calls of `process`, at most `maxConcurrency` at a time.
// Invariants:
// - One pending entry per key, due at the earliest time anyone asked for.
// - A key is never processed twice at once: re-added while running, it runs again after the current run ends.
// - Failures back off per key (exponential, jittered, capped), and retries also pass an overall token bucket; a
//   success, a requested requeue or a dropped key clears the key's failure count.
// - `shutdown()` takes no new keys and drops delayed ones; with `drain` (the default) it still runs the keys that are
//   ready and waits for running ones, without it it aborts their signals and waits. It resolves when nothing runs.
import { DEFAULT_BACKOFF, TokenBucket, backoffDelay, type BackoffPolicy, type TokenBucketPolicy } from './backoff.js';
import { systemClock, type Clock, type Timer } from './clock.js';

export type WorkResult =
  | { type: 'done' }
  /** Success; run again after `delayMs` (polling), with no backoff. */
  | { type: 'requeueAfter'; delayMs: number }
  /** Failure: run again after the key's backoff (and at least `afterMs`, e.g. a server's Retry-After). */
  | { type: 'retry'; afterMs?: number }
  /** Failure not worth retrying (e.g. invalid input already reported). */
  | { type: 'drop' };

export interface WorkQueueOptions<K extends string> {
  process(key: K, signal: AbortSignal): Promise<WorkResult>;
  maxConcurrency?: number;
  backoff?: BackoffPolicy;
  /** Overall limit on retries (client-go default 10/s, burst 100); null disables it. */
  rateLimit?: TokenBucketPolicy | null;
  clock?: Clock;
  random?: () => number;
  /** Called with the number of waiting keys whenever it changes. */
  onDepth?(depth: number): void;
  /** `process` rejected (it should return a result instead); the key is retried. */
  onProcessError?(key: K, err: unknown): void;
}

interface Entry {
  state: 'ready' | 'delayed' | 'running';
  readyAt: number;
  gen: number;
  /** Re-added while running: run again no earlier than this. */
  rerunAt?: number;
}

interface HeapItem<K> {
  at: number;
  seq: number;
  key: K;
  gen: number;
}

/** Minimal binary min-heap on (at, seq). */
class TimeHeap<K> {
  private items: HeapItem<K>[] = [];

  get size(): number {
    return this.items.length;
  }

  peek(): HeapItem<K> | undefined {
    return this.items[0];
  }

  clear(): void {
    this.items = [];
  }

  push(item: HeapItem<K>): void {
    const a = this.items;
    a.push(item);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(a[i] as HeapItem<K>, a[p] as HeapItem<K>)) break;
      [a[i], a[p]] = [a[p] as HeapItem<K>, a[i] as HeapItem<K>];
      i = p;
    }
  }

  pop(): HeapItem<K> | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last !== undefined) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && this.less(a[l] as HeapItem<K>, a[m] as HeapItem<K>)) m = l;
        if (r < a.length && this.less(a[r] as HeapItem<K>, a[m] as HeapItem<K>)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m] as HeapItem<K>, a[i] as HeapItem<K>];
        i = m;
      }
    }
    return top;
  }

  private less(x: HeapItem<K>, y: HeapItem<K>): boolean {
    return x.at < y.at || (x.at === y.at && x.seq < y.seq);
  }
}

export class WorkQueue<K extends string = string> {
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly maxConcurrency: number;
  private readonly backoff: BackoffPolicy;
  private readonly bucket: TokenBucket | undefined;
  private readonly entries = new Map<K, Entry>();
  private readonly failureCounts = new Map<K, number>();
  private ready: K[] = [];
  private readonly delayed = new TimeHeap<K>();
  private seq = 0;
  private running = 0;
  private started = false;
  private stopping = false;
  private draining = false;
  private timer: Timer | undefined;
  private timerAt = Infinity;
  private readonly abort = new AbortController();
  private idleWaiters: (() => void)[] = [];
  private lastDepth = -1;

  constructor(private readonly opts: WorkQueueOptions<K>) {
    this.clock = opts.clock ?? systemClock;
    this.random = opts.random ?? Math.random;
    this.maxConcurrency = Math.max(1, Math.floor(opts.maxConcurrency ?? 1));
    this.backoff = opts.backoff ?? DEFAULT_BACKOFF;
    const rate = opts.rateLimit === undefined ? { perSecond: 10, burst: 100 } : opts.rateLimit;
    this.bucket = rate ? new TokenBucket(rate, this.clock.now()) : undefined;
  }

  /** Queues `key` to run after `delayMs` (0: as soon as a worker is free). Ignored after shutdown. */
  add(key: K, delayMs = 0): void {
    if (this.stopping) return;
    this.schedule(key, this.clock.now() + Math.max(0, delayMs));
    this.pump();
  }

  /** Failures in a row for `key` (0 after a success). */
  failures(key: K): number {
    return this.failureCounts.get(key) ?? 0;
  }

  /** Clears `key`'s failure count. */
  forget(key: K): void {
    this.failureCounts.delete(key);
  }

  /** Every key waiting (ready or delayed) or running. */
  keys(): K[] {
    return [...this.entries.keys()];
  }

  /** Keys waiting to run (ready or delayed), not counting running ones. */
  get depth(): number {
    return this.entries.size - this.running;
  }

  get active(): number {
    return this.running;
  }

  /** Whether `key` is waiting or running. */
  has(key: K): boolean {
    return this.entries.has(key);
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.pump();
  }

  /** Resolves when no key is running and none is ready (delayed keys may remain). */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  async shutdown(opts: { drain?: boolean } = {}): Promise<void> {
    const drain = (opts.drain ?? true) && this.started;
    if (!this.stopping) {
      this.stopping = true;
      this.draining = drain;
      this.timer?.cancel();
      this.timer = undefined;
      this.timerAt = Infinity;
      this.delayed.clear();
      for (const [key, e] of this.entries) {
        if (e.state === 'delayed' || (!drain && e.state === 'ready')) this.entries.delete(key);
        else if (!drain && e.state === 'running') delete e.rerunAt;
      }
      if (!drain) {
        this.ready = [];
        this.abort.abort();
      }
      this.pump();
    }
    await this.idle();
  }

  private isIdle(): boolean {
    return this.running === 0 && (this.ready.length === 0 || !this.started);
  }

  private schedule(key: K, at: number): void {
    const now = this.clock.now();
    const e = this.entries.get(key);
    if (e === undefined) {
      const entry: Entry = { state: at <= now ? 'ready' : 'delayed', readyAt: at, gen: 0 };
      this.entries.set(key, entry);
      if (entry.state === 'ready') this.ready.push(key);
      else this.delayed.push({ at, seq: this.seq++, key, gen: entry.gen });
      return;
    }
    if (e.state === 'running') {
      e.rerunAt = Math.min(e.rerunAt ?? Infinity, at);
    } else if (e.state === 'delayed' && at < e.readyAt) {
      e.readyAt = at;
      e.gen++;
      if (at <= now) {
        e.state = 'ready';
        this.ready.push(key);
      } else {
        this.delayed.push({ at, seq: this.seq++, key, gen: e.gen });
      }
    }
  }

  private pump(): void {
    const now = this.clock.now();
    for (let top = this.delayed.peek(); top !== undefined && top.at <= now; top = this.delayed.peek()) {
      this.delayed.pop();
      const e = this.entries.get(top.key);
      if (e && e.state === 'delayed' && e.gen === top.gen) {
        e.state = 'ready';
        this.ready.push(top.key);
      }
    }
    if (this.started) {
      while (this.running < this.maxConcurrency && this.ready.length > 0 && (!this.stopping || this.draining)) {
        const key = this.ready.shift() as K;
        const e = this.entries.get(key);
        if (!e || e.state !== 'ready') continue;
        e.state = 'running';
        this.running++;
        void this.runOne(key);
      }
    }
    this.armTimer();
    const depth = this.depth;
    if (depth !== this.lastDepth) {
      this.lastDepth = depth;
      this.opts.onDepth?.(depth);
    }
    if (this.isIdle()) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  private armTimer(): void {
    // Drop stale heap tops so the timer aims at a live entry.
    for (let top = this.delayed.peek(); top !== undefined; top = this.delayed.peek()) {
      const e = this.entries.get(top.key);
      if (e && e.state === 'delayed' && e.gen === top.gen) break;
      this.delayed.pop();
    }
    const next = this.delayed.peek()?.at ?? Infinity;
    if (next === this.timerAt) return;
    this.timer?.cancel();
    this.timer = undefined;
    this.timerAt = next;
    if (next !== Infinity && !this.stopping) {
      this.timer = this.clock.setTimer(() => {
        this.timer = undefined;
        this.timerAt = Infinity;
        this.pump();
      }, next - this.clock.now());
    }
  }

  private async runOne(key: K): Promise<void> {
    let result: WorkResult;
    try {
      result = await this.opts.process(key, this.abort.signal);
    } catch (err) {
      this.opts.onProcessError?.(key, err);
      result = { type: 'retry' };
    }
    this.running--;
    const e = this.entries.get(key);
    this.entries.delete(key);
    const now = this.clock.now();
    let next: number | undefined;
    switch (result.type) {
      case 'done':
      case 'drop':
        this.failureCounts.delete(key);
        break;
      case 'requeueAfter':
        this.failureCounts.delete(key);
        next = now + Math.max(0, result.delayMs);
        break;
      case 'retry': {
        const n = (this.failureCounts.get(key) ?? 0) + 1;
        this.failureCounts.set(key, n);
        let delay = backoffDelay(this.backoff, n, this.random);
        if (this.bucket) delay = Math.max(delay, this.bucket.reserve(now));
        if (result.afterMs !== undefined) delay = Math.max(delay, result.afterMs);
        next = now + delay;
        break;
      }
    }
    const rerunAt = e?.rerunAt;
    if (this.stopping) {
      // Draining: a key re-added before shutdown still runs; results asking for more are dropped.
      if (this.draining && rerunAt !== undefined) this.schedule(key, now);
    } else {
      const at = Math.min(next ?? Infinity, rerunAt ?? Infinity);
      if (at !== Infinity) this.schedule(key, at);
    }
    this.pump();
  }
}
