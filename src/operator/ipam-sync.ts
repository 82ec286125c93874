// The operator's IPAM work (ARCHITECTURE.md "One writer per IPAM block"): per node, claim (and pre-claim) blocks in
// the pools that select it, repair half-done claims, and give it tunnel addresses (IPIP/VXLAN) recorded in Calico's
// Node annotations; cluster-wide, garbage-collect what deleted nodes and vanished pods left behind. Decisions are
// src/ipam's pure planners; this module only feeds them from the caches and carries out the result.
// Reads come from informer caches (the Kubernetes BlockStore reads through them), so a pass costs only its writes.
// Every block claimed or released, every address GC releases and every leak GC first suspects is recorded as an Event
// (IPAM history, src/ipam/history.ts).
import {
  ATTR_NAMESPACE,
  ATTR_POD,
  BlockClaimer,
  CalicoStyleAllocator,
  DEFAULT_LEAK_GRACE_PERIOD_MS,
  allocationsOf,
  emptyGcMemory,
  ipamEvent,
  poolContaining,
  type AllocationRecord,
  type GcAction,
  type IpamDecision,
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
  cachedReservations,
} from '../ipam/index.js';
import { ipamConfigFromSpec } from '../ipam/spec-mapping.js';
import { IPAM_REQUEST_RESULT_ANNOTATION, requestedPools } from '../api/ipam-request.js';
import type { EventRecorder, KubeClient } from '../kube/index.js';
import { parseCidr } from '../net/index.js';
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
  /** Where IPAM history goes (the operator's recorder, rate-limited); none: not recorded. */
  events?: Pick<EventRecorder, 'record'>;
  /**
   * GC's first-seen times from the previous leader, and where to leave them for the next (the leader's Lease,
   * gc-memory-codec.ts); absent: they live only as long as this term, and every grace starts again with the next.
   */
  gcHandover?: { initial: GcMemory; save(memory: GcMemory): void };
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
  const history = (d: IpamDecision): void => deps.events?.record(ipamEvent(d));
  const store = createKubeBlockStore(deps.client, {
    fieldManager: 'tabby-operator',
    indexedByNode: true,
    readers: {
      blocks: caches.ipamBlocks.store,
      affinities: caches.blockAffinities.store,
      handles: caches.ipamHandles.store,
    },
  });
  let gcMemory: GcMemory = deps.gcHandover?.initial ?? emptyGcMemory();
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

  const reservations = cachedReservations(
    () => caches.ipReservations.store.list(),
    (s) => log.warn({ kind: 'IPReservation', name: s.reservation, entry: s.entry, err: s.reason }, 'entry skipped'),
  );

  const view: IpamView = {
    pools,
    reservations,
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
    history,
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
      if (r.outcome !== 'done') continue;
      log.info({ node: name, action: r.action.kind, reason: r.action.reason }, 'block action done');
      const a = r.action;
      if (a.kind === 'claim' && r.block !== undefined) {
        const pool = poolContaining(view.pools(), parseCidr(r.block))?.name;
        history({ kind: 'blockClaimed', node: name, block: r.block, reason: a.reason, ...(pool ? { pool } : {}) });
      } else if (a.kind === 'release') {
        history({ kind: 'blockReleased', node: name, block: a.cidr, reason: a.reason });
      }
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
    const blocks = await store.blocks.list();
    const plan = planGc(
      {
        blocks,
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
    deps.gcHandover?.save(gcMemory);
    const grace = deps.leakGracePeriodMs ?? DEFAULT_LEAK_GRACE_PERIOD_MS;
    for (const r of plan.newLeakCandidates) {
      history({
        kind: 'leakSuspected',
        address: { address: r.address, block: r.block },
        releaseAfterMs: grace > 0 ? grace : undefined,
        ...owner(r),
      });
    }
    if (plan.actions.length > 0) {
      const results = await executeGc(store, plan.actions, deps.now());
      log.info({ actions: plan.actions.length, results: results.length }, 'IPAM garbage collected');
      const records = new Map<string, AllocationRecord>();
      for (const b of blocks) for (const r of allocationsOf(b.value)) records.set(r.address, r);
      for (const r of results) if (r.outcome === 'done') recordGc(r.action, records);
    }
    return { requeueAfterMs: deps.gcIntervalMs ?? 30_000 };
  }

  /** An allocation's handle, node and pod, as its attributes name them. */
  function owner(r: AllocationRecord) {
    const ns = r.attrs[ATTR_NAMESPACE];
    const pod = r.attrs[ATTR_POD];
    return {
      ...(r.handleId === undefined ? {} : { handleId: r.handleId }),
      ...(r.node === undefined ? {} : { node: r.node }),
      ...(ns !== undefined && pod !== undefined ? { pod: { namespace: ns, name: pod } } : {}),
    };
  }

  function recordGc(a: GcAction, records: ReadonlyMap<string, AllocationRecord>): void {
    switch (a.kind) {
      case 'releaseAddresses': {
        const first = records.get(a.releases[0]?.address ?? '');
        history({
          kind: 'gcReleased',
          reason: a.reason,
          addresses: a.releases.map((x) => ({ address: x.address, block: x.block })),
          ...(first ? owner(first) : {}),
          ...(a.handleId === undefined ? {} : { handleId: a.handleId }),
        });
        return;
      }
      case 'releaseAffinity':
        history({ kind: 'blockReleased', node: a.node, block: a.cidr, reason: a.reason });
        return;
      case 'deleteBlock':
        history({ kind: 'blockReleased', block: a.cidr, reason: a.reason });
        return;
      default:
        // Repairs of half-done writes and handle counts change no address's owner: not history.
        return;
    }
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
