// The agent's IPAM service for its node's pods: the CNI plugin asks over a unix socket (ipam-server.ts), and the
// node's AddressAssigner assigns inside the node's own blocks (ARCHITECTURE.md "One writer per IPAM block").
// Pools and the node's labels come from watches; blocks are read once and then kept by the assigner itself.
// When every own block is full the agent waits briefly for the block the operator pre-claims for it
// (operator-block-source.ts): agents never claim, borrow or write other nodes' blocks.
import {
  IPPoolKind,
  IPAMConfigurationKind,
  type IPPool,
  type IPAMConfiguration,
  type NodeDesired,
} from '../api/index.js';
import { AddressAssigner, ipamPoolsFrom, type IpamView } from '../ipam/index.js';
import { ipamConfigFromSpec } from '../ipam/spec-mapping.js';
import { NodeSchema, createInformer, type Informer, type KubeClient, type Node } from '../kube/index.js';
import { createKubeBlockStore } from '../kube/kube-block-store.js';
import type { Logger } from '../log/logger.js';
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
}

export interface PodIpam {
  start(): Promise<void>;
  stop(): Promise<void>;
  ready(): string | undefined;
  /** The plan or the host MTU changed: ADDs waiting for the pod MTU look again. */
  planChanged(): void;
}

export function createPodIpam(opts: PodIpamOptions): PodIpam {
  const log = opts.logger.child({ component: 'pod-ipam' });
  const pools: Informer<IPPool> = createInformer({
    name: 'ippools',
    kind: 'IPPool',
    source: opts.client.kind(IPPoolKind).listWatch(),
    schema: IPPoolKind.schema,
    logger: log,
    keepLastValid: true, // a bad edit of a pool or the node must not stop pods getting addresses
  });
  const configs: Informer<IPAMConfiguration> = createInformer({
    name: 'ipamconfigurations',
    kind: 'IPAMConfiguration',
    source: opts.client.kind(IPAMConfigurationKind).listWatch(),
    schema: IPAMConfigurationKind.schema,
    logger: log,
    keepLastValid: true, // a bad edit of a pool or the node must not stop pods getting addresses
  });
  const node: Informer<Node> = createInformer({
    name: 'node',
    kind: 'Node',
    source: opts.client.nodes().listWatch({ fieldSelector: `metadata.name=${opts.nodeName}` }),
    schema: NodeSchema,
    logger: log,
    keepLastValid: true, // a bad edit of a pool or the node must not stop pods getting addresses
  });
  const view: IpamView = {
    pools: () => ipamPoolsFrom(pools.store.list()).pools,
    config: () => ipamConfigFromSpec(configs.store.get('default')?.spec),
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
  const allocator = createPodAddressAllocator({
    allocator: assigner,
    store,
    node: opts.nodeName,
    now: () => new Date(),
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
  const all = [pools, configs, node];
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
      await Promise.all(all.map((i) => i.stop()));
    },
    ready: () => (all.every((i) => i.hasSynced()) ? undefined : 'pod IPAM caches not synced'),
    planChanged: () => server.planChanged(),
  };
}
