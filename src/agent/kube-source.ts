// The agent's Kubernetes side: it watches only its own NodeDataplane (field selector on the name) and the
// RouteTable shards of its view (label selector, re-made when the view changes), turns them into the SyncInput
// snapshots the sync loop consumes, and writes status.applied + the Programmed condition back (field manager
// tabby-agent, only when they change). BGP passwords come from the Secrets the plan refers to, in the agent's
// namespace unless a reference names another: each referenced Secret is watched by name (list+watch with a field
// selector, as calico-node's secret watcher does), so a Secret created, changed or deleted after the plan named it
// reaches BIRD without an agent restart. A first read of a new Secret is awaited at most SECRET_SYNC_WAIT_MS before
// the snapshot goes out without it (routes never wait on a password).
import type { z } from 'zod';
import type { Condition } from '../api/common.js';
import {
  NodeDataplaneKind,
  NodeDataplaneSchema,
  ROUTE_VIEW_LABEL,
  RouteTableKind,
  type NodeDataplane,
  type NodeDesired,
  type RouteTable,
} from '../api/index.js';
import {
  SecretSchema,
  createInformer,
  createStatusWriter,
  type Informer,
  type KubeClient,
  type ListWatchSource,
  type Metrics,
  type Secret,
} from '../kube/index.js';
import type { Logger } from '../log/logger.js';
import type { SyncInput } from './agent-syncer.js';
import { programmedCondition, toNodeApplied, type ApplyReport } from './apply-report.js';
import { secretRefKey } from './bird/bird-config.js';
import { ROUTES_CONVERGED_CONDITION } from '../plan/route-readiness.js';

export const AGENT_FIELD_MANAGER = 'tabby-agent';
/** How long a snapshot waits for the first read of a newly referenced Secret. */
export const SECRET_SYNC_WAIT_MS = 10_000;

export interface AgentKubeSourceOptions {
  client: KubeClient;
  nodeName: string;
  /** Where Secrets without a namespace are looked up (the agent's own namespace). */
  namespace: string;
  logger: Logger;
  metrics?: Metrics;
}

export interface AgentKubeSource {
  snapshots: AsyncIterable<SyncInput>;
  start(): void;
  stop(): Promise<void>;
  writeStatus(report: ApplyReport): Promise<void>;
  /** undefined when ready, else why not. */
  ready(): string | undefined;
  desired(): NodeDesired | undefined;
  /** The operator's route readiness gate opened for this node (RoutesConverged=True). */
  routesConverged(): boolean;
}

type SecretRefLike = Parameters<typeof secretRefKey>[0];

function secretRefs(d: NodeDesired): SecretRefLike[] {
  const refs: SecretRefLike[] = [];
  if (d.bgp?.meshPasswordSecretRef) refs.push(d.bgp.meshPasswordSecretRef);
  for (const p of d.bgp?.peers ?? []) if (p.passwordSecretRef) refs.push(p.passwordSecretRef);
  return refs;
}

export function createAgentKubeSource(opts: AgentKubeSourceOptions): AgentKubeSource {
  const log = opts.logger.child({ node: opts.nodeName });
  const ndpClient = opts.client.kind(NodeDataplaneKind);
  const rtClient = opts.client.kind(RouteTableKind);
  const writer = createStatusWriter({
    resource: ndpClient,
    fieldManager: AGENT_FIELD_MANAGER,
    name: 'agent',
    mapLists: { conditions: ['type'] },
    logger: log,
    ...(opts.metrics ? { metrics: opts.metrics } : {}),
  });

  // The snapshot channel: the newest snapshot replaces an unconsumed older one (the loop wants only the latest).
  let pending: SyncInput | undefined;
  let waiter: ((v: IteratorResult<SyncInput>) => void) | undefined;
  let closed = false;
  const push = (s: SyncInput): void => {
    if (waiter) {
      const w = waiter;
      waiter = undefined;
      w({ value: s, done: false });
    } else pending = s;
  };
  const snapshots: AsyncIterable<SyncInput> = {
    [Symbol.asyncIterator]: () => ({
      next: () =>
        new Promise<IteratorResult<SyncInput>>((resolve) => {
          if (pending) {
            const s = pending;
            pending = undefined;
            resolve({ value: s, done: false });
          } else if (closed) resolve({ value: undefined, done: true });
          else waiter = resolve;
        }),
    }),
  };

  let routeTables: Informer<RouteTable> | undefined;
  let watchedViews = '';
  /** One informer per referenced Secret, by `<namespace>/<name>`. */
  const secretWatches = new Map<string, Informer<Secret>>();
  /** What was last logged about each referenced Secret key, so a problem is logged when it starts, not per sync. */
  const secretStates = new Map<string, string>();
  let stopped = false;

  /** An informer whose first list and every change make the source look again (route views, Secrets). */
  function watchAll<T>(name: string, kind: string, source: ListWatchSource, schema: z.ZodType<T>): Informer<T> {
    return createInformer<T>({
      name,
      kind,
      source,
      schema,
      logger: log,
      ...(opts.metrics ? { metrics: opts.metrics } : {}),
      handlers: {
        onSynced: () => void changed(),
        onAdd: () => void changed(),
        onUpdate: () => void changed(),
        onDelete: () => void changed(),
      },
    });
  }

  const ndp = createInformer<NodeDataplane>({
    name: 'nodedataplane',
    kind: 'NodeDataplane',
    source: ndpClient.listWatch({ fieldSelector: `metadata.name=${opts.nodeName}` }),
    schema: NodeDataplaneSchema,
    logger: log,
    ...(opts.metrics ? { metrics: opts.metrics } : {}),
    handlers: {
      onAdd: () => void changed(),
      onUpdate: () => void changed(),
      onInvalid: (_raw, issues) =>
        log.error(
          { issues: issues.map((i) => `${i.path.join('.')}: ${i.message}`) },
          'own NodeDataplane is invalid; keeping the last good state',
        ),
    },
  });

  function desired(): NodeDesired | undefined {
    return ndp.store.get(opts.nodeName)?.status?.desired;
  }

  function ensureRouteTableWatch(d: NodeDesired): void {
    const views = [...new Set([d.view, d.viewV6].filter((v): v is string => typeof v === 'string' && v !== ''))].sort();
    const key = views.join(',');
    if (key === watchedViews && routeTables) return;
    void routeTables?.stop();
    watchedViews = key;
    routeTables = watchAll(
      'routetables',
      'RouteTable',
      rtClient.listWatch({ labelSelector: `${ROUTE_VIEW_LABEL} in (${key})` }),
      rtClient.schema,
    );
    routeTables.start();
    log.info({ views: key }, 'watching route views');
  }

  const secretName = (ref: SecretRefLike) => `${ref.namespace ?? opts.namespace}/${ref.name}`;

  /** Watches exactly the Secrets `d` refers to; returns the ones whose first list has not arrived yet. */
  function ensureSecretWatches(d: NodeDesired): Informer<Secret>[] {
    const wanted = new Set(secretRefs(d).map(secretName));
    for (const [name, informer] of secretWatches) {
      if (wanted.has(name)) continue;
      secretWatches.delete(name);
      void informer.stop();
    }
    for (const name of wanted) {
      if (secretWatches.has(name)) continue;
      const [namespace, secret] = name.split('/') as [string, string];
      const informer = watchAll(
        `secret ${name}`,
        'Secret',
        opts.client.secrets().listWatch({ namespace, fieldSelector: `metadata.name=${secret}` }),
        SecretSchema,
      );
      secretWatches.set(name, informer);
      informer.start();
    }
    return [...secretWatches.values()].filter((i) => !i.hasSynced());
  }

  /** The passwords the watched Secrets hold now, keyed by secretRefKey. */
  function passwords(d: NodeDesired): Map<string, string> {
    const out = new Map<string, string>();
    const states = new Map<string, string>();
    for (const ref of secretRefs(d)) {
      const name = secretName(ref);
      const informer = secretWatches.get(name);
      const secret = informer?.hasSynced() === true ? informer.store.list()[0] : undefined;
      const value = secret?.data?.[ref.key];
      const state =
        informer?.hasSynced() !== true
          ? 'BGP password Secret not read yet; BIRD goes without it until it is'
          : secret === undefined
            ? 'BGP password Secret not found; BIRD goes without it until it is created'
            : value === undefined
              ? 'BGP password key missing'
              : 'read';
      const id = `${name}/${ref.key}`;
      states.set(id, state);
      if (state !== 'read' && secretStates.get(id) !== state) log.warn({ kind: 'Secret', name, key: ref.key }, state);
      if (value !== undefined) out.set(secretRefKey(ref), Buffer.from(value, 'base64').toString('utf8'));
    }
    secretStates.clear();
    for (const [id, state] of states) secretStates.set(id, state);
    return out;
  }

  async function changed(): Promise<void> {
    const first = desired();
    if (!first) return;
    ensureRouteTableWatch(first);
    if (!routeTables?.hasSynced()) return;
    const unread = ensureSecretWatches(first);
    if (unread.length > 0) {
      // Each of these calls changed() again when its list arrives; waiting here only keeps a first snapshot from
      // going out without a password that is one list away.
      const signal = AbortSignal.timeout(SECRET_SYNC_WAIT_MS);
      await Promise.all(unread.map((i) => i.waitForSync(signal)));
    }
    // Read everything again after the wait: a newer change may have landed meanwhile, and the newest must win.
    const d = desired();
    if (!d || stopped || !routeTables.hasSynced()) return;
    ensureSecretWatches(d);
    push({
      desired: d,
      shards: routeTables.store
        .list()
        .flatMap((rt) => (rt.status ? [{ name: rt.metadata.name, status: rt.status }] : [])),
      passwords: passwords(d),
    });
  }

  return {
    snapshots,
    start: () => ndp.start(),
    async stop() {
      closed = true;
      stopped = true;
      waiter?.({ value: undefined, done: true });
      await ndp.stop();
      await routeTables?.stop();
      await Promise.all([...secretWatches.values()].map((i) => i.stop()));
      secretWatches.clear();
    },
    async writeStatus(report) {
      const obj = ndp.store.get(opts.nodeName);
      if (!obj) return;
      const previous = (obj.status?.conditions as Condition[] | undefined)?.find((c) => c.type === 'Programmed');
      const generation = typeof obj.metadata.generation === 'number' ? obj.metadata.generation : undefined;
      await writer.write(
        { name: opts.nodeName },
        { applied: toNodeApplied(report), conditions: [programmedCondition(report, generation, previous)] },
        obj,
      );
    },
    ready() {
      if (!ndp.hasSynced()) return 'NodeDataplane cache not synced';
      if (!desired()) return `no desired state planned for node ${opts.nodeName} yet`;
      if (!routeTables?.hasSynced()) return 'RouteTable cache not synced';
      return undefined;
    },
    desired,
    routesConverged: () =>
      ((ndp.store.get(opts.nodeName)?.status?.conditions ?? []) as Condition[]).some(
        (c) => c.type === ROUTES_CONVERGED_CONDITION && c.status === 'True',
      ),
  };
}
