// The operator's view of the cluster: one validated informer cache per kind it reads. Every reconciler reads these
// caches, never the apiserver (ARCHITECTURE.md "Performance principles"); nothing plans before all are synced.
// An object that fails its schema stays out of the typed cache and is reported through `onInvalid`, so a bad
// IPPool becomes a condition instead of a crash or a silent deletion.
import type { z } from 'zod';
import type { Issue } from '../api/errors.js';
import {
  BGPConfigurationKind,
  BGPFilterKind,
  BGPPeerKind,
  BlockAffinityKind,
  FelixConfigurationKind,
  IPAMBlockKind,
  IPAMConfigurationKind,
  IPAMHandleKind,
  IPPoolKind,
  IPReservationKind,
  NodeDataplaneKind,
  RouteTableKind,
  type BGPConfiguration,
  type BGPFilter,
  type BGPPeer,
  type BlockAffinity,
  type FelixConfiguration,
  type IPAMBlock,
  type IPAMConfiguration,
  type IPAMHandle,
  type IPPool,
  type IPReservation,
  type KindDefinition,
  type NodeDataplane,
  type RouteTable,
} from '../api/index.js';
import {
  ENDPOINT_SLICES,
  NODES,
  PODS,
  SERVICES,
  createInformer,
  type HasMetadata,
  type Informer,
  type KubeClient,
  type ListWatchSource,
  type Metrics,
  type ObjectReader,
} from '../kube/index.js';
import {
  EndpointSliceSchema,
  NodeSchema,
  PodSchema,
  ServiceSchema,
  type EndpointSlice,
  type Node,
  type Pod,
  type Service,
} from '../kube/index.js';
import { BY_NODE_INDEX, affinityNodeIndex, blockNodeIndex } from '../kube/kube-block-store.js';
import type { IndexFunc } from '../kube/store.js';
import type { Logger } from '../log/logger.js';

export interface ClusterCaches {
  nodes: Informer<Node>;
  pods: Informer<Pod>;
  ippools: Informer<IPPool>;
  bgpConfigurations: Informer<BGPConfiguration>;
  bgpPeers: Informer<BGPPeer>;
  felixConfigurations: Informer<FelixConfiguration>;
  ipamBlocks: Informer<IPAMBlock>;
  blockAffinities: Informer<BlockAffinity>;
  ipamHandles: Informer<IPAMHandle>;
  ipamConfigurations: Informer<IPAMConfiguration>;
  ipReservations: Informer<IPReservation>;
  nodeDataplanes: Informer<NodeDataplane>;
  routeTables: Informer<RouteTable>;
  bgpFilters: Informer<BGPFilter>;
  /** Service advertisement: stripped to the fields it reads (core-kinds.ts). */
  services: Informer<Service>;
  endpointSlices: Informer<EndpointSlice>;
}

export type CacheName = keyof ClusterCaches;

export interface ChangeEvent {
  cache: CacheName;
  key: string;
  /** `invalid`: the latest version failed the schema (its last valid one may stay in the cache). */
  type: 'add' | 'update' | 'delete' | 'invalid';
  /** The cached version before an update or delete. */
  old?: unknown;
  /** The cached version after an add or update. */
  obj?: unknown;
}

export interface CachesOptions {
  client: KubeClient;
  logger: Logger;
  metrics?: Metrics;
  /** Called after every add/update/delete in any cache (handlers only enqueue work). */
  onChange(event: ChangeEvent): void;
  onInvalid?(cache: CacheName, key: string, issues: readonly Issue[]): void;
  resyncPeriodMs?: number;
}

export function createClusterCaches(opts: CachesOptions): ClusterCaches & { all: Informer<unknown>[] } {
  // What users and other components write keeps its last valid version when an edit fails our schema (a selector
  // that does not parse, a field out of range): acting as if the object were deleted would take a pool's routes, a
  // node's plan or an IPAM block's allocations away over a typo. Our own outputs are simply rewritten.
  const keepLastValid = (cache: CacheName) => cache !== 'nodeDataplanes' && cache !== 'routeTables';
  const make = <T>(
    cache: CacheName,
    kind: string,
    source: ListWatchSource,
    schema: z.ZodType<T>,
    indexes?: Record<string, IndexFunc<T>>,
  ): Informer<T> =>
    createInformer<T>({
      name: cache,
      kind,
      source,
      schema,
      ...(indexes ? { indexes } : {}),
      keepLastValid: keepLastValid(cache),
      // Nothing in the operator reads field ownership; every agent's status report would otherwise keep a new copy.
      stripManagedFields: true,
      logger: opts.logger,
      ...(opts.metrics ? { metrics: opts.metrics } : {}),
      ...(opts.resyncPeriodMs ? { resyncPeriodMs: opts.resyncPeriodMs } : {}),
      handlers: {
        onAdd: (obj, key) => opts.onChange({ cache, key, type: 'add', obj }),
        onUpdate: (old, obj, key) => opts.onChange({ cache, key, type: 'update', old, obj }),
        onDelete: (old, key) => opts.onChange({ cache, key, type: 'delete', ...(old !== undefined ? { old } : {}) }),
        onInvalid: (_raw, issues, key) => {
          opts.onInvalid?.(cache, key, issues);
          opts.onChange({ cache, key, type: 'invalid' });
        },
      },
    });
  const c = opts.client;
  const kindCache = <T extends HasMetadata>(
    cache: CacheName,
    kind: KindDefinition<z.ZodType<T>>,
    indexes?: Record<string, IndexFunc<T>>,
  ): Informer<T> => {
    const objects = c.kind(kind);
    return make(cache, kind.kind, objects.listWatch(), objects.schema, indexes);
  };
  const caches: ClusterCaches = {
    nodes: make<Node>('nodes', 'Node', c.nodes().listWatch(), NodeSchema),
    pods: make<Pod>('pods', 'Pod', c.pods().listWatch(), PodSchema),
    ippools: kindCache('ippools', IPPoolKind),
    bgpConfigurations: kindCache('bgpConfigurations', BGPConfigurationKind),
    bgpPeers: kindCache('bgpPeers', BGPPeerKind),
    felixConfigurations: kindCache('felixConfigurations', FelixConfigurationKind),
    // Indexed by node, so a node's IPAM pass reads its own blocks and affinities, not the cluster's.
    ipamBlocks: kindCache('ipamBlocks', IPAMBlockKind, { [BY_NODE_INDEX]: blockNodeIndex }),
    blockAffinities: kindCache('blockAffinities', BlockAffinityKind, { [BY_NODE_INDEX]: affinityNodeIndex }),
    ipamHandles: kindCache('ipamHandles', IPAMHandleKind),
    ipamConfigurations: kindCache('ipamConfigurations', IPAMConfigurationKind),
    ipReservations: kindCache('ipReservations', IPReservationKind),
    nodeDataplanes: kindCache('nodeDataplanes', NodeDataplaneKind),
    routeTables: kindCache('routeTables', RouteTableKind),
    bgpFilters: kindCache('bgpFilters', BGPFilterKind),
    services: make<Service>('services', 'Service', c.resource(SERVICES, ServiceSchema).listWatch(), ServiceSchema),
    endpointSlices: make<EndpointSlice>(
      'endpointSlices',
      'EndpointSlice',
      c.resource(ENDPOINT_SLICES, EndpointSliceSchema).listWatch(),
      EndpointSliceSchema,
    ),
  };
  return { ...caches, all: Object.values(caches) as Informer<unknown>[] };
}

/** Reads every object of a cache as a list (the snapshot builders take arrays). */
export function listOf<T>(reader: ObjectReader<T>): readonly T[] {
  return reader.list();
}

export { NODES, PODS };
