// prom-client behind src/kube's Metrics interface (STYLE.md §12): names tabby_<subsystem>_<what>_<unit>, small
// label sets (controller, informer, writer names; never object names), every series started at zero when its
// name is registered. The operator and the agent each make one on their own Registry.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Metrics, ReconcileResult } from '../kube/metrics.js';

const RESULTS: readonly ReconcileResult[] = ['success', 'requeue', 'error', 'terminal'];

export interface PromMetrics extends Metrics {
  readonly registry: Registry;
}

export function createPromMetrics(prefix: 'operator' | 'agent', registry = new Registry()): PromMetrics {
  collectDefaultMetrics({ register: registry, prefix: `tabby_${prefix}_` });
  const reconciles = new Counter({
    name: 'tabby_reconcile_total',
    help: 'Reconciles by controller and result.',
    labelNames: ['controller', 'result'],
    registers: [registry],
  });
  const reconcileSeconds = new Histogram({
    name: 'tabby_reconcile_duration_seconds',
    help: 'Reconcile latency by controller.',
    labelNames: ['controller'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const queue = new Gauge({
    name: 'tabby_workqueue_depth',
    help: 'Keys waiting per controller.',
    labelNames: ['controller'],
    registers: [registry],
  });
  const listed = new Counter({
    name: 'tabby_informer_lists_total',
    help: 'Complete lists per informer.',
    labelNames: ['informer'],
    registers: [registry],
  });
  const watchErrors = new Counter({
    name: 'tabby_informer_watch_errors_total',
    help: 'Watch/list failures retried with backoff.',
    labelNames: ['informer'],
    registers: [registry],
  });
  const expired = new Counter({
    name: 'tabby_informer_relists_total',
    help: '410 Gone relists.',
    labelNames: ['informer'],
    registers: [registry],
  });
  const invalid = new Gauge({
    name: 'tabby_informer_invalid_objects',
    help: 'Objects kept out of the cache for failing validation.',
    labelNames: ['informer'],
    registers: [registry],
  });
  const writes = new Counter({
    name: 'tabby_status_writes_total',
    help: 'Status writes sent.',
    labelNames: ['writer'],
    registers: [registry],
  });
  const writeBytes = new Counter({
    name: 'tabby_status_write_bytes_total',
    help: 'Request bytes of status writes.',
    labelNames: ['writer'],
    registers: [registry],
  });
  const skipped = new Counter({
    name: 'tabby_status_writes_skipped_total',
    help: 'Status writes skipped: content unchanged.',
    labelNames: ['writer'],
    registers: [registry],
  });
  const failed = new Counter({
    name: 'tabby_status_write_failures_total',
    help: 'Status writes that failed.',
    labelNames: ['writer'],
    registers: [registry],
  });
  const leader = new Gauge({
    name: 'tabby_leader',
    help: '1 while this process holds the lease.',
    labelNames: ['lease'],
    registers: [registry],
  });
  const events = new Counter({
    name: 'tabby_events_total',
    help: 'Kubernetes Events written.',
    labelNames: ['type', 'action'],
    registers: [registry],
  });
  const dropped = new Counter({
    name: 'tabby_events_dropped_total',
    help: "Events not written: the recorder's rate limit was reached (rateLimited) or the write failed (failed).",
    labelNames: ['reason'],
    registers: [registry],
  });
  for (const reason of ['rateLimited', 'failed']) dropped.inc({ reason }, 0);
  return {
    registry,
    controllerRegistered(c) {
      for (const r of RESULTS) reconciles.inc({ controller: c, result: r }, 0);
      queue.set({ controller: c }, 0);
      reconcileSeconds.zero({ controller: c });
    },
    reconcileCompleted(c, result, s) {
      reconciles.inc({ controller: c, result });
      reconcileSeconds.observe({ controller: c }, s);
    },
    queueDepth: (c, d) => queue.set({ controller: c }, d),
    informerRegistered(i) {
      listed.inc({ informer: i }, 0);
      watchErrors.inc({ informer: i }, 0);
      expired.inc({ informer: i }, 0);
      invalid.set({ informer: i }, 0);
    },
    informerListed: (i) => listed.inc({ informer: i }),
    informerWatchError: (i) => watchErrors.inc({ informer: i }),
    informerExpired: (i) => expired.inc({ informer: i }),
    informerInvalidObjects: (i, n) => invalid.set({ informer: i }, n),
    statusWriterRegistered(w) {
      writes.inc({ writer: w }, 0);
      writeBytes.inc({ writer: w }, 0);
      skipped.inc({ writer: w }, 0);
      failed.inc({ writer: w }, 0);
    },
    statusWritten(w, bytes) {
      writes.inc({ writer: w });
      writeBytes.inc({ writer: w }, bytes);
    },
    statusWriteSkipped: (w) => skipped.inc({ writer: w }),
    statusWriteFailed: (w) => failed.inc({ writer: w }),
    leaderStatus: (lease, leading) => leader.set({ lease }, leading ? 1 : 0),
    eventWritten: (type, action) => events.inc({ type, action }),
    eventDropped: (reason) => dropped.inc({ reason }),
  };
}
