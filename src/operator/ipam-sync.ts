// The operator's IPAM work (ARCHITECTURE.md "One writer per IPAM block"): per node, claim (and pre-claim) blocks in
// the pools that select it, repair half-done claims, and give it tunnel addresses (IPIP/VXLAN) recorded in Calico's
// Node annotations; cluster-wide, garbage-collect what deleted nodes and vanished pods left behind. Decisions are
// src/ipam's pure planners; this module only feeds them from the caches and carries out the result.
// Reads come from informer caches (the Kubernetes BlockStore reads through them), so a pass costs only its writes.
import {
  BlockClaimer,
  CalicoStyleAllocator,
  emptyGcMemory,
  executeGc,
  ipamPoolsFrom,
  lookupAddress,
  planGc,
  reconcileTunnelAddresses,
  type GcMemory,
  type IpamPool,
  type IpamView,
  type NodeInfo,
  podInfos,
} from '../ipam/index.js';
import { ipamConfigFromSpec } from '../ipam/spec-mapping.js';
import { IPAM_REQUEST_RESULT_ANNOTATION, requestedPools } from '../api/ipam-request.js';
import type { KubeClient } from '../kube/index.js';
import { createKubeBlockStore } from '../kube/kube-block-store.js';
import type { Logger } from '../log/logger.js';
import type { CacheName, ClusterCaches } from './caches.js';
import { createIpamRequestServer } from './ipam-requests.js';

export interface IpamSyncDeps {
  client: KubeClient;
  caches: ClusterCaches;
  logger: Logger;
  now: () => number;
  random: () => number;
  /** How often GC looks again (ms). */
  gcIntervalMs?: number;
  leakGracePeriodMs?: number;
}

export interface IpamSync {
  readonly GC_KEY: string;
  reconcileNode(key: string): Promise<{ requeueAfterMs?: number }>;
  /** Nodes whose IPAM state an IPAMBlock / BlockAffinity change may concern. */
  nodesAffectedBy(cache: CacheName, key: string): string[];
  /** True when the caches show every write IPAM made (blocks, affinities, handles, Node annotations). */
  caughtUp(): boolean;
}

const GC_KEY = '\u0000gc';

export function createIpamSync(deps: IpamSyncDeps): IpamSync {
  const { caches } = deps;
  const log = deps.logger.child({ controller: 'ipam' });
  const store = createKubeBlockStore(deps.client, {
    fieldManager: 'tabby-operator',
    readers: {
      blocks: caches.ipamBlocks.store,
      affinities: caches.blockAffinities.store,
      handles: caches.ipamHandles.store,
    },
  });
  let gcMemory: GcMemory = emptyGcMemory();
  /** Annotations we patched that the Node cache may not show yet (read-your-writes, as in the block store). */
  const pendingAnnotations = new Map<string, Record<string, string | null>>();

  function annotationsOf(name: string, cached: Record<string, string>): Record<string, string> {
    const pending = pendingAnnotations.get(name);
    if (!pending) return cached;
    const shown = Object.entries(pending).every(([k, v]) => (v === null ? !(k in cached) : cached[k] === v));
    if (shown) {
      pendingAnnotations.delete(name);
      return cached;
    }
    const merged = { ...cached };
    for (const [k, v] of Object.entries(pending)) {
      if (v === null) delete merged[k];
      else merged[k] = v;
    }
    return merged;
  }

  function pools(): IpamPool[] {
    const { pools: usable, invalid } = ipamPoolsFrom(caches.ippools.store.list());
    // An invalid pool is reported on its own status by the pool controller; IPAM just does not use it.
    for (const err of invalid)
      log.debug({ kind: 'IPPool', name: err.object.name, err: err.message }, 'pool skipped by IPAM');
    return usable;
  }

  const view: IpamView = {
    pools,
    config: () => ipamConfigFromSpec(caches.ipamConfigurations.store.get('default')?.spec),
    node: (name) => {
      const n = caches.nodes.store.get(name);
      if (!n) return undefined;
      const wanted = requestedPools(requests.requestsOf(name, annotationsOfNode(name)));
      return {
        name,
        labels: (n.metadata.labels ?? {}) as Record<string, string>,
        ...(wanted.length > 0 ? { requestedPools: wanted } : {}),
      } satisfies NodeInfo;
    },
  };

  const allocDeps = { store, view, clock: deps.now, random: deps.random };
  const claimer = new BlockClaimer(allocDeps);
  const requests = createIpamRequestServer({
    claimer,
    store,
    view,
    log,
    writeFailures: async (name, value) => {
      await deps.client
        .nodes()
        .mergePatch(
          name,
          { metadata: { annotations: { [IPAM_REQUEST_RESULT_ANNOTATION]: value } } },
          { fieldManager: 'tabby-operator' },
        );
      pendingAnnotations.set(name, {
        ...(pendingAnnotations.get(name) ?? {}),
        [IPAM_REQUEST_RESULT_ANNOTATION]: value,
      });
    },
  });
  const annotationsOfNode = (name: string) =>
    caches.nodes.store.get(name)?.metadata.annotations as Record<string, string> | undefined;
  const tunnelAllocator = new CalicoStyleAllocator(allocDeps);

  async function reconcileNode(name: string): Promise<{ requeueAfterMs?: number }> {
    if (name === GC_KEY) return gc();
    const node = caches.nodes.store.get(name);
    if (!node) {
      requests.forget(name);
      return {};
    }
    await requests.serve(name, annotationsOf(name, annotationsOfNode(name) ?? {}));
    const results = await claimer.reconcile([name]);
    for (const r of results) {
      if (r.outcome === 'failed') {
        log.warn({ node: name, action: r.action.kind, err: r.error.message }, 'block action failed');
        throw r.error;
      }
      if (r.outcome === 'done')
        log.info({ node: name, action: r.action.kind, reason: r.action.reason }, 'block action done');
    }
    const info = view.node(name)!;
    const annotations = annotationsOf(name, (node.metadata.annotations ?? {}) as Record<string, string>);
    const tunnel = await reconcileTunnelAddresses(tunnelAllocator, info, view.pools(), annotations, (address) =>
      lookupAddress(store, view.pools(), address),
    );
    if (Object.keys(tunnel.annotations).length > 0) {
      await deps.client
        .nodes()
        .mergePatch(name, { metadata: { annotations: tunnel.annotations } }, { fieldManager: 'tabby-operator' });
      pendingAnnotations.set(name, { ...(pendingAnnotations.get(name) ?? {}), ...tunnel.annotations });
      log.info({ node: name, annotations: tunnel.annotations }, 'tunnel addresses updated');
    }
    return {};
  }

  async function gc(): Promise<{ requeueAfterMs?: number }> {
    const pods = podInfos(caches.pods.store.list());
    const plan = planGc(
      {
        blocks: await store.blocks.list(),
        affinities: await store.affinities.list(),
        handles: await store.handles.list(),
        nodes: new Set(caches.nodes.store.keys()),
        pods,
        now: deps.now(),
        ...(deps.leakGracePeriodMs !== undefined ? { leakGracePeriodMs: deps.leakGracePeriodMs } : {}),
      },
      gcMemory,
    );
    gcMemory = plan.memory;
    if (plan.actions.length > 0) {
      const results = await executeGc(store, plan.actions, deps.now());
      log.info({ actions: plan.actions.length, results: results.length }, 'IPAM garbage collected');
    }
    return { requeueAfterMs: deps.gcIntervalMs ?? 30_000 };
  }

  return {
    GC_KEY,
    reconcileNode,
    caughtUp() {
      for (const name of [...pendingAnnotations.keys()]) {
        annotationsOf(name, (caches.nodes.store.get(name)?.metadata.annotations ?? {}) as Record<string, string>);
        // A Node deleted meanwhile shows nothing more.
        if (!caches.nodes.store.has(name)) pendingAnnotations.delete(name);
      }
      return pendingAnnotations.size === 0 && store.unseenWrites() === 0;
    },
    nodesAffectedBy(cache, key) {
      if (cache === 'blockAffinities') {
        const a = caches.blockAffinities.store.get(key);
        return a ? [a.spec.node] : [];
      }
      const b = caches.ipamBlocks.store.get(key);
      const aff = b?.spec.affinity;
      return aff?.startsWith('host:') ? [aff.slice(5)] : [];
    },
  };
}
