// What src/kube reports, as an injected interface (STYLE.md §12): src/operator wires it to prom-client, unit tests
// use `noopMetrics`. Each `*Registered` call comes first, once per name, so the implementation can start every
// series at zero (dashboards show 0, not "no data"). Label values stay small sets: controller, informer and writer
// names, results — never object names.

export type ReconcileResult = 'success' | 'requeue' | 'error' | 'terminal';
export const RECONCILE_RESULTS: readonly ReconcileResult[] = ['success', 'requeue', 'error', 'terminal'];

export interface ControllerMetrics {
  controllerRegistered(controller: string): void;
  reconcileCompleted(controller: string, result: ReconcileResult, durationSeconds: number): void;
  /** Keys waiting (ready or delayed), after every change. */
  queueDepth(controller: string, depth: number): void;
}

export interface InformerMetrics {
  informerRegistered(informer: string): void;
  informerListed(informer: string): void;
  /** A watch or list failure waited out with backoff. */
  informerWatchError(informer: string): void;
  /** A 410 Gone: the informer relists. */
  informerExpired(informer: string): void;
  /** Objects currently kept out of the cache because they failed validation. */
  informerInvalidObjects(informer: string, count: number): void;
}

export interface StatusWriterMetrics {
  statusWriterRegistered(writer: string): void;
  statusWritten(writer: string, bytes: number): void;
  statusWriteSkipped(writer: string): void;
  statusWriteFailed(writer: string): void;
}

export interface LeaderElectionMetrics {
  leaderStatus(lease: string, leading: boolean): void;
}

export interface EventMetrics {
  eventWritten(type: 'Normal' | 'Warning', action: 'create' | 'series'): void;
  /** An Event not written: the recorder's rate limit was reached, or the write failed. */
  eventDropped(reason: 'rateLimited' | 'failed'): void;
}

export type Metrics = ControllerMetrics & InformerMetrics & StatusWriterMetrics & LeaderElectionMetrics & EventMetrics;

const nothing = (): void => undefined;

export const noopMetrics: Metrics = {
  controllerRegistered: nothing,
  reconcileCompleted: nothing,
  queueDepth: nothing,
  informerRegistered: nothing,
  informerListed: nothing,
  informerWatchError: nothing,
  informerExpired: nothing,
  informerInvalidObjects: nothing,
  statusWriterRegistered: nothing,
  statusWritten: nothing,
  statusWriteSkipped: nothing,
  statusWriteFailed: nothing,
  leaderStatus: nothing,
  eventWritten: nothing,
  eventDropped: nothing,
};
