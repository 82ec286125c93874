// Kubernetes Events (events.k8s.io/v1) about an object, with repeats folded into a series. Inputs: `record()` calls
// (regarding object, type, reason, action, note), a clock. Outputs: one Event object created per distinct
// occurrence; repeats within `seriesWindowMs` of the last one bump `series.count` / `lastObservedTime` on that same
// object with a merge patch, at most once per `seriesUpdateIntervalMs` (client-go `tools/events`: isomorphic events
// become a series). `kubectl describe` shows the count.
// Invariants: recording never throws and never blocks the caller (writes run in the background, one at a time per
// series; `flush()` waits for them); a failed write is logged and counted, never retried in a loop; the cache of
// series is bounded; writes (creates and series updates) spend tokens of one bucket per recorder (`rateLimit`), so
// churn cannot flood the apiserver: a new Event with no token left is dropped and counted (its series stays, so a
// repeat later creates it with the full count), a series update waits for its token. Unlike client-go, the note is part of what makes two events the same, because our notes carry
// the issue (which field, which other pool) and a new issue deserves its own event.
import type { Logger } from '../log/logger.js';
import { silentLogger } from '../log/logger.js';
import { systemClock, type Clock, type Timer } from './clock.js';
import type { ResourceClient } from './client.js';
import { microTime, type Event } from './core-kinds.js';
import { NotFoundError } from './errors.js';
import { noopMetrics, type EventMetrics } from './metrics.js';
import { createTokenBucket, type RateLimit } from './token-bucket.js';

export interface EventObjectRef {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
  uid?: string;
}

export interface EventInput {
  regarding: EventObjectRef;
  type: 'Normal' | 'Warning';
  /** CamelCase, e.g. `PoolOverlap`. */
  reason: string;
  /** What was done or failed, e.g. `Validate`, `Allocate`. */
  action: string;
  note: string;
  related?: EventObjectRef;
}

/** The Event calls the recorder makes (`KubeClient.events()` provides them). */
export type EventClient = Pick<ResourceClient<Event>, 'create' | 'mergePatch'>;

export interface EventRecorderOptions {
  events: EventClient;
  /** e.g. `tabby.dev/operator`. */
  reportingController: string;
  /** e.g. the pod name. */
  reportingInstance: string;
  /** Where events about cluster-scoped objects go (client-go: `default`). */
  defaultNamespace?: string;
  /** A repeat later than this after the last occurrence starts a new Event (client-go: 6 min). */
  seriesWindowMs?: number;
  /** Minimum time between writes of one series (default 30 s). */
  seriesUpdateIntervalMs?: number;
  maxSeries?: number;
  /** Writes per second and burst for this recorder (default DEFAULT_EVENT_RATE_LIMIT). */
  rateLimit?: RateLimit;
  clock?: Clock;
  logger?: Logger;
  metrics?: EventMetrics;
}

export interface EventRecorderStats {
  created: number;
  seriesUpdates: number;
  failed: number;
  /** New Events dropped because the recorder's token bucket was empty. */
  rateLimited: number;
}

/**
 * One controller's default: 10 writes/s sustained, 100 at once. client-go's events.k8s.io broadcaster has no limit
 * of its own and the kubelet allows 50/s (eventRecordQPS) per node; a controller of ours writes a few Events per
 * object change, so a burst of 100 covers e.g. every pool of a cluster turning invalid at once, while a loop gone
 * wrong costs the apiserver at most 10 writes/s.
 */
export const DEFAULT_EVENT_RATE_LIMIT: RateLimit = Object.freeze({ perSecond: 10, burst: 100 });

export interface EventRecorder {
  record(event: EventInput): void;
  /** Sends pending series updates now and waits for every write in flight. */
  flush(): Promise<void>;
  stats(): Readonly<EventRecorderStats>;
}

interface Series {
  input: EventInput;
  namespace: string;
  /** Name of the Event object once created. */
  name: string | undefined;
  count: number;
  writtenCount: number;
  firstMs: number;
  lastObservedMs: number;
  lastWriteMs: number;
  chain: Promise<void>;
  timer: Timer | undefined;
}

const MAX_NOTE = 1024;
const MAX_SHORT = 128;

function truncate(text: string, max: number): string {
  return Buffer.byteLength(text) <= max
    ? text
    : Buffer.from(text)
        .subarray(0, max - 3)
        .toString('utf8')
        .replace(/\uFFFD$/, '') + '...';
}

function objectRef(r: EventObjectRef): Record<string, string> {
  return {
    apiVersion: r.apiVersion,
    kind: r.kind,
    name: r.name,
    ...(r.namespace ? { namespace: r.namespace } : {}),
    ...(r.uid ? { uid: r.uid } : {}),
  };
}

export function createEventRecorder(opts: EventRecorderOptions): EventRecorder {
  const clock = opts.clock ?? systemClock;
  const log = (opts.logger ?? silentLogger()).child({ component: 'events' });
  const metrics = opts.metrics ?? noopMetrics;
  const windowMs = opts.seriesWindowMs ?? 6 * 60_000;
  const intervalMs = opts.seriesUpdateIntervalMs ?? 30_000;
  const maxSeries = opts.maxSeries ?? 4096;
  const defaultNamespace = opts.defaultNamespace ?? 'default';
  const series = new Map<string, Series>();
  const stats: EventRecorderStats = { created: 0, seriesUpdates: 0, failed: 0, rateLimited: 0 };
  const bucket = createTokenBucket(opts.rateLimit ?? DEFAULT_EVENT_RATE_LIMIT, clock.now());
  let nameSeq = 0;

  const keyOf = (e: EventInput): string =>
    JSON.stringify([
      e.regarding.apiVersion,
      e.regarding.kind,
      e.regarding.namespace ?? '',
      e.regarding.name,
      e.regarding.uid ?? '',
      e.type,
      e.reason,
      e.action,
      e.note,
      e.related ? [e.related.kind, e.related.namespace ?? '', e.related.name] : null,
    ]);

  function eventName(s: Series, now: number): string {
    // client-go names events `<object>.<hex nanoseconds>`; a counter keeps two in the same millisecond apart.
    const suffix = (BigInt(Math.floor(now)) * 1_000_000n + BigInt(nameSeq++ % 1_000_000)).toString(16);
    return `${s.input.regarding.name.slice(0, 253 - suffix.length - 1)}.${suffix}`;
  }

  function failed(s: Series, err: unknown, what: string): void {
    stats.failed++;
    metrics.eventDropped('failed');
    log.warn(
      { reason: s.input.reason, name: s.input.regarding.name, err: err instanceof Error ? err.message : String(err) },
      what,
    );
  }

  async function create(s: Series): Promise<void> {
    const now = clock.now();
    if (!bucket.take(now)) {
      stats.rateLimited++;
      metrics.eventDropped('rateLimited');
      log.debug({ reason: s.input.reason, name: s.input.regarding.name }, 'event dropped by the rate limit');
      return;
    }
    const count = s.count;
    const e = s.input;
    const body: Event = {
      metadata: { name: eventName(s, now), namespace: s.namespace },
      eventTime: microTime(s.firstMs),
      reportingController: opts.reportingController,
      reportingInstance: truncate(opts.reportingInstance, MAX_SHORT),
      action: truncate(e.action, MAX_SHORT),
      reason: truncate(e.reason, MAX_SHORT),
      note: truncate(e.note, MAX_NOTE),
      type: e.type,
      regarding: objectRef(e.regarding),
      ...(e.related ? { related: objectRef(e.related) } : {}),
      ...(count > 1 ? { series: { count, lastObservedTime: microTime(s.lastObservedMs) } } : {}),
    };
    try {
      const created = await opts.events.create(body, { namespace: s.namespace });
      s.name = created.metadata.name;
      s.writtenCount = count;
      s.lastWriteMs = now;
      stats.created++;
      metrics.eventWritten(e.type, 'create');
    } catch (err) {
      failed(s, err, 'event not recorded');
    }
  }

  async function updateSeries(s: Series): Promise<void> {
    if (s.count === s.writtenCount) return;
    if (s.name === undefined) return create(s);
    const now = clock.now();
    const wait = bucket.waitMs(now);
    // The count is kept, so an update can wait for its token instead of being lost.
    if (wait > 0 || !bucket.take(now)) return scheduleUpdate(s, Math.max(wait, 1));
    const count = s.count;
    try {
      await opts.events.mergePatch(
        s.name,
        { series: { count, lastObservedTime: microTime(s.lastObservedMs) } },
        { namespace: s.namespace },
      );
      s.writtenCount = count;
      s.lastWriteMs = now;
      stats.seriesUpdates++;
      metrics.eventWritten(s.input.type, 'series');
    } catch (err) {
      if (err instanceof NotFoundError) {
        // The Event expired (the apiserver keeps them an hour) or was deleted: start a new object.
        s.name = undefined;
        return create(s);
      }
      failed(s, err, 'event series not updated');
    }
  }

  function enqueue(s: Series, write: (s: Series) => Promise<void>): void {
    s.chain = s.chain.then(() => write(s));
  }

  function scheduleUpdate(s: Series, atLeastMs = 0): void {
    if (s.timer) return;
    const delay = Math.max(atLeastMs, s.lastWriteMs + intervalMs - clock.now());
    s.timer = clock.setTimer(() => {
      s.timer = undefined;
      enqueue(s, updateSeries);
    }, delay);
  }

  return {
    record(input) {
      const now = clock.now();
      const key = keyOf(input);
      const existing = series.get(key);
      if (existing && now - existing.lastObservedMs <= windowMs) {
        existing.count++;
        existing.lastObservedMs = now;
        // Most recently used last, so eviction drops the stalest series.
        series.delete(key);
        series.set(key, existing);
        scheduleUpdate(existing);
        return;
      }
      existing?.timer?.cancel();
      const s: Series = {
        input,
        namespace: input.regarding.namespace ?? defaultNamespace,
        name: undefined,
        count: 1,
        writtenCount: 0,
        firstMs: now,
        lastObservedMs: now,
        lastWriteMs: now,
        chain: existing?.chain ?? Promise.resolve(),
        timer: undefined,
      };
      series.delete(key);
      series.set(key, s);
      while (series.size > maxSeries) {
        const oldest = series.keys().next().value as string;
        series.get(oldest)?.timer?.cancel();
        series.delete(oldest);
      }
      enqueue(s, create);
    },

    async flush() {
      for (const s of series.values()) {
        if (s.timer) {
          s.timer.cancel();
          s.timer = undefined;
          enqueue(s, updateSeries);
        }
      }
      await Promise.all([...series.values()].map((s) => s.chain));
    },

    stats: () => ({ ...stats }),
  };
}
