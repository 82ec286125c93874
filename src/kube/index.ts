// Public surface of src/kube: the only layer that talks to the kube-apiserver (and the only importer of
// @kubernetes/client-node). Reconcilers above it see typed clients, read-only caches, the reconcile runtime, status
// writers, leader election and events — never the library.
export { systemClock, sleep, type Clock, type Timer } from './clock.js';
export {
  Backoff,
  DEFAULT_BACKOFF,
  TokenBucket,
  backoffDelay,
  type BackoffPolicy,
  type TokenBucketPolicy,
} from './backoff.js';
export {
  AlreadyExistsError,
  ConflictError,
  ForbiddenError,
  GoneError,
  InvalidError,
  KubeError,
  NotFoundError,
  TransientError,
  parseFieldPath,
  type RequestTarget,
  type StatusCause,
} from './errors.js';
export {
  CONFIG_MAPS,
  ENDPOINT_SLICES,
  EVENTS,
  LEASES,
  NODES,
  PODS,
  SECRETS,
  SERVICES,
  apiVersionOf,
  clusterResource,
  kindResource,
  resourceName,
  type ResourceType,
} from './resources.js';
export {
  KubeObjectSchema,
  ObjectMetaSchema,
  keyOf,
  objectKey,
  readMeta,
  type HasMetadata,
  type KubeObject,
  type MetaFields,
  type ObjectMeta,
} from './object-meta.js';
export {
  ConfigMapSchema,
  EndpointSliceSchema,
  EventSchema,
  LeaseSchema,
  NodeSchema,
  ObjectReferenceSchema,
  PodSchema,
  SecretSchema,
  ServiceSchema,
  microTime,
  type ConfigMap,
  type EndpointSlice,
  type Event,
  type Lease,
  type Node,
  type ObjectReference,
  type Pod,
  type Secret,
  type Service,
} from './core-kinds.js';
export type { KubeConfigSource } from './transport.js';
export {
  InvalidObjectError,
  createKubeClient,
  type ApplyObject,
  type ApplyOptions,
  type DeleteOptions,
  type InvalidItem,
  type KubeClient,
  type KubeClientOptions,
  type ListOptions,
  type ObjectList,
  type ResourceClient,
  type WatchSelector,
  type WriteOptions,
} from './client.js';
export type { ListWatchSource, RawList, RawWatchEvent } from './list-watch-source.js';
export { watchObjects, type WatcherEvent, type WatcherOptions, type WatcherStats } from './watcher.js';
export { Store, type IndexFunc, type InvalidObject, type ObjectReader } from './store.js';
export {
  createInformer,
  type Informer,
  type InformerHandler,
  type InformerOptions,
  type InformerStats,
} from './informer.js';
export { WorkQueue, type WorkQueueOptions, type WorkResult } from './work-queue.js';
export {
  TerminalError,
  createController,
  defaultErrorPolicy,
  type Controller,
  type ControllerOptions,
  type ErrorAction,
  type ErrorPolicy,
  type Outcome,
  type Reconcile,
  type ReconcileContext,
} from './controller.js';
export {
  RECONCILE_RESULTS,
  noopMetrics,
  type ControllerMetrics,
  type EventMetrics,
  type InformerMetrics,
  type LeaderElectionMetrics,
  type Metrics,
  type ReconcileResult,
  type StatusWriterMetrics,
} from './metrics.js';
export { canonicalJson, coveredBy, jsonEqual } from './canonical-json.js';
export {
  createStatusWriter,
  type StatusPatcher,
  type StatusRef,
  type StatusStrategy,
  type StatusWriteResult,
  type StatusWriter,
  type StatusWriterOptions,
  type StatusWriterStats,
} from './status-writer.js';
export {
  createLeaderElector,
  type LeaseClient,
  type LeaderElectionOptions,
  type LeaderElector,
} from './leader-election.js';
export {
  createEventRecorder,
  type EventClient,
  type EventInput,
  type EventObjectRef,
  type EventRecorder,
  type EventRecorderOptions,
  type EventRecorderStats,
} from './events.js';
