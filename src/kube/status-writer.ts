// Writes an object's status only when its content changed. Inputs: the object's name, the status this writer owns,
// and (optionally) the object as the cache last saw it. Outputs: at most one write per call — a merge patch or a
// server-side apply on the status subresource with this writer's field manager — plus counts of writes, skips and
// bytes. Invariants:
// - Nothing is sent when the observed status already holds the desired content (`coveredBy`: other writers' fields
//   are theirs), or when this writer already wrote exactly this content and the cache has not caught up yet (the
//   observed resourceVersion is the one seen before that write, or the one it produced).
// - With server-side apply, content that differs from this writer's last write is always sent, so fields it stops
//   owning are removed. (After a restart the last write is unknown; then the observed status decides alone.)
// - A failed write is counted and rethrown; it does not update what was "last written".
import type { Logger } from '../log/logger.js';
import { silentLogger } from '../log/logger.js';
import { canonicalJson, coveredBy } from './canonical-json.js';
import type { ApplyOptions, ResourceClient, WriteOptions } from './client.js';
import { noopMetrics, type StatusWriterMetrics } from './metrics.js';
import { objectKey, readMeta, readStatus, type HasMetadata } from './object-meta.js';

export type StatusStrategy = 'merge' | 'apply';

/** The two calls a status writer makes, as `ResourceClient` provides them. */
export type StatusPatcher = Pick<ResourceClient<HasMetadata>, 'patchStatus' | 'applyStatus' | 'type'>;

export interface StatusWriterOptions {
  resource: StatusPatcher;
  fieldManager: string;
  /** Default `apply`. */
  strategy?: StatusStrategy;
  /** Lists merged by key under server-side apply (paths under `status`, e.g. `{ conditions: ['type'] }`). */
  mapLists?: Readonly<Record<string, readonly string[]>>;
  /** Metric label; default the field manager. */
  name?: string;
  metrics?: StatusWriterMetrics;
  logger?: Logger;
}

export interface StatusRef {
  name: string;
  namespace?: string;
}

export interface StatusWriteResult {
  written: boolean;
  /** Request body bytes sent (0 when skipped). */
  bytes: number;
  /** The object's resourceVersion after the write. */
  resourceVersion?: string;
}

export interface StatusWriterStats {
  writes: number;
  skipped: number;
  failures: number;
  bytes: number;
}

export interface StatusWriter {
  /**
   * Writes `status` unless nothing would change. `observed` is the object as the cache holds it (its
   * `metadata.resourceVersion` and `status` are read); leave it out when there is none.
   */
  write(ref: StatusRef, status: Readonly<Record<string, unknown>>, observed?: unknown): Promise<StatusWriteResult>;
  /** Forget what was written for `ref` (the object was deleted). */
  forget(ref: StatusRef): void;
  stats(): Readonly<StatusWriterStats>;
}

interface LastWrite {
  canonical: string;
  rvBefore: string | undefined;
  rvAfter: string | undefined;
}

export function createStatusWriter(opts: StatusWriterOptions): StatusWriter {
  const strategy = opts.strategy ?? 'apply';
  const label = opts.name ?? opts.fieldManager;
  const metrics = opts.metrics ?? noopMetrics;
  const log = (opts.logger ?? silentLogger()).child({ writer: label, kind: opts.resource.type.kind });
  const mapLists = opts.mapLists ?? {};
  const last = new Map<string, LastWrite>();
  const stats: StatusWriterStats = { writes: 0, skipped: 0, failures: 0, bytes: 0 };
  metrics.statusWriterRegistered(label);

  function unchanged(
    key: string,
    desired: Readonly<Record<string, unknown>>,
    canonical: string,
    observed: unknown,
  ): boolean {
    const prev = last.get(key);
    if (observed === undefined) return prev?.canonical === canonical;
    const observedRv = readMeta(observed)?.resourceVersion;
    if (
      prev?.canonical === canonical &&
      observedRv !== undefined &&
      (observedRv === prev.rvBefore || observedRv === prev.rvAfter)
    ) {
      return true;
    }
    const ownsMore = strategy === 'apply' && prev !== undefined && prev.canonical !== canonical;
    return !ownsMore && coveredBy(desired, readStatus(observed) ?? {}, mapLists);
  }

  return {
    async write(ref, status, observed) {
      const key = objectKey(ref);
      const canonical = canonicalJson(status);
      if (unchanged(key, status, canonical, observed)) {
        stats.skipped++;
        metrics.statusWriteSkipped(label);
        return { written: false, bytes: 0 };
      }
      let bytes = 0;
      const common = {
        ...(ref.namespace !== undefined ? { namespace: ref.namespace } : {}),
        onRequestBytes: (n: number) => (bytes = n),
      };
      try {
        const after =
          strategy === 'apply'
            ? await opts.resource.applyStatus(ref.name, status, {
                ...common,
                fieldManager: opts.fieldManager,
              } satisfies ApplyOptions)
            : await opts.resource.patchStatus(ref.name, status, {
                ...common,
                fieldManager: opts.fieldManager,
              } satisfies WriteOptions);
        const rvAfter = readMeta(after)?.resourceVersion;
        last.set(key, { canonical, rvBefore: readMeta(observed)?.resourceVersion, rvAfter });
        stats.writes++;
        stats.bytes += bytes;
        metrics.statusWritten(label, bytes);
        log.debug({ name: ref.name, bytes, resourceVersion: rvAfter }, 'status written');
        return { written: true, bytes, ...(rvAfter !== undefined ? { resourceVersion: rvAfter } : {}) };
      } catch (err) {
        stats.failures++;
        metrics.statusWriteFailed(label);
        throw err;
      }
    },

    forget(ref) {
      last.delete(objectKey(ref));
    },

    stats: () => ({ ...stats }),
  };
}
