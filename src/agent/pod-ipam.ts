// The agent's IPAM service for its node's pods: the CNI plugin asks over a unix socket (ipam-server.ts), and the
// node's AddressAssigner assigns inside the node's own blocks (ARCHITECTURE.md "One writer per IPAM block").
// Pools and the node's labels come from watches; blocks are read once and then kept by the assigner itself.
// When every own block is full the agent waits briefly for the block the operator pre-claims for it
// (operator-block-source.ts): agents never claim, borrow or write other nodes' blocks.
// Every address assigned or released, and every assignment that fails, is recorded as an Event on the pod (IPAM
// history, src/ipam/history.ts), through a recorder limited to AGENT_EVENT_RATE_LIMIT.
import type { z } from 'zod';
import {
  IPPoolKind,
  IPAMConfigurationKind,
  IPReservationKind,
  type IPPool,
  type IPAMConfiguration,
  type IPReservation,
  type KindDefinition,
  type NodeDesired,
} from '../api/index.js';
import {
  AGENT_REPORTING_CONTROLLER,
  AddressAssigner,
  ipamEvent,
  ipamPoolsFrom,
  cachedReservations,
  type IpamView,
} from '../ipam/index.js';
import { ipamConfigFromSpec } from '../ipam/spec-mapping.js';
import {
  NodeSchema,
  createEventRecorder,
  createInformer,
  type EventMetrics,
  type HasMetadata,
  type Informer,
  type KubeClient,
  type Node,
} from '../kube/index.js';
import { createKubeBlockStore } from '../kube/kube-block-store.js';
import type { Logger } from '../log/logger.js';
import type { RateLimit } from '../kube/token-bucket.js';
import { createIpamServer, type IpamServer } from './ipam-server.js';
import { podMtuOf } from './mtu.js';
import { createNodeOperatorRequests } from './operator-requests.js';
import { createOperatorBlockSource } from './operator-block-source.js';
import { createPodAnnotationSource } from './pod-annotations.js';
import { createPodAddressAllocator } from './pod-address-allocator.js';

export interface PodIpamOptions {
  client: KubeClient;
  nodeName: string;
  socketPath: string;
  logger: Logger;
  /** The node's current plan (for the pod MTU and the workload route protocol). */
  desired: () => NodeDesired | undefined;
  /** The host MTU as the last sync read it from the interfaces; undefined before the first sync. */
  hostMtu: () => number | undefined;
  /** Counts IPAM history Events written and dropped. */
  metrics?: EventMetrics;
  /** Default AGENT_EVENT_RATE_LIMIT. */
  eventRateLimit?: RateLimit;
}

/**
 * IPAM history from one agent: 1 Event/s sustained, 50 at once. A pod costs two Events in its life (assigned,
 * released), so a node starting 25 pods at once — a rollout landing on it — is recorded whole, and a node churning
 * pods without pause costs the apiserver at most 1 write/s, against the kubelet's own allowance of 50/s per node
 * (eventRecordQPS) for the same pods' lifecycle Events. Beyond that, Events are dropped and counted
 * (tabby_events_dropped_total{reason="rateLimited"}).
 */
export const AGENT_EVENT_RATE_LIMIT: RateLimit = Object.freeze({ perSecond: 1, burst: 50 });

export interface PodIpam {
  start(): Promise<void>;
  stop(): Promise<void>;
  ready(): string | undefined;
  /** The plan or the host MTU changed: ADDs waiting for the pod MTU look again. */
  planChanged(): void;
}

export function createPodIpam(opts: PodIpamOptions): PodIpam {
  const log = opts.logger.child({ component: 'pod-ipam' });
  // Every watch keeps an object's last valid version: a bad edit of a pool, a reservation or the node must not stop
  // pods getting addresses, nor hand out the addresses the last good reservation held.
  const watchKind = <T extends HasMetadata>(name: string, d: KindDefinition<z.ZodType<T>>): Informer<T> => {
    const objects = opts.client.kind(d);
    return createInformer({
      name,
      kind: d.kind,
      source: objects.listWatch(),
      schema: objects.schema,
      logger: log,
      keepLastValid: true,
    });
  };
  const pools: Informer<IPPool> = watchKind('ippools', IPPoolKind);
  const configs: Informer<IPAMConfiguration> = watchKind('ipamconfigurations', IPAMConfigurationKind);
  const reservations: Informer<IPReservation> = watchKind('ipreservations', IPReservationKind);
  const node: Informer<Node> = createInformer({
    name: 'node',
    kind: 'Node',
    source: opts.client.nodes().listWatch({ fieldSelector: `metadata.name=${opts.nodeName}` }),
    schema: NodeSchema,
    logger: log,
    keepLastValid: true,
  });
  const view: IpamView = {
    pools: () => ipamPoolsFrom(pools.store.list()).pools,
    config: () => ipamConfigFromSpec(configs.store.get('default')?.spec),
    reservations: cachedReservations(() => reservations.store.list()),
    node: (name) => {
      const n = node.store.get(name);
      return n ? { name, labels: (n.metadata.labels ?? {}) as Record<string, string> } : undefined;
    },
  };
  const store = createKubeBlockStore(opts.client, { fieldManager: 'tabby-agent' });
  const requests = createNodeOperatorRequests({
    client: opts.client,
    nodeName: opts.nodeName,
    log,
    nodeAnnotations: () => node.store.get(opts.nodeName)?.metadata.annotations as Record<string, string> | undefined,
  });
  const source = createOperatorBlockSource({ store, view, node: opts.nodeName, requests });
  const assigner = new AddressAssigner({ store, view, node: opts.nodeName, source });
  const events = createEventRecorder({
    events: opts.client.events(),
    reportingController: AGENT_REPORTING_CONTROLLER,
    reportingInstance: opts.nodeName,
    rateLimit: opts.eventRateLimit ?? AGENT_EVENT_RATE_LIMIT,
    logger: log,
    ...(opts.metrics ? { metrics: opts.metrics } : {}),
  });
  const allocator = createPodAddressAllocator({
    allocator: assigner,
    store,
    node: opts.nodeName,
    now: () => new Date(),
    history: (d) => events.record(ipamEvent(d)),
  });
  const server: IpamServer = createIpamServer({
    socketPath: opts.socketPath,
    node: opts.nodeName,
    allocator,
    mtu: () => podMtuOf(opts.nodeName, opts.desired(), opts.hostMtu()),
    deviceRouteProtocol: () => opts.desired()?.felix.deviceRouteProtocol,
    annotations: createPodAnnotationSource(opts.client, log),
    log,
  });
  const all = [pools, configs, reservations, node];
  return {
    async start() {
      for (const i of all) i.start();
      await Promise.all(all.map((i) => i.waitForSync()));
      await server.listen();
      log.info({ socket: opts.socketPath }, 'pod IPAM listening');
    },
    async stop() {
      await server.close();
      await requests.settled();
      await events.flush();
      await Promise.all(all.map((i) => i.stop()));
    },
    ready: () => (all.every((i) => i.hasSynced()) ? undefined : 'pod IPAM caches not synced'),
    planChanged: () => server.planChanged(),
  };
}
