// The agent's Kubernetes side: it watches only its own NodeDataplane (field selector on the name) and the
// RouteTable shards of its view (label selector, re-made when the view changes), turns them into the SyncInput
// snapshots the sync loop consumes, and writes status.applied + the Programmed condition back (field manager
// tabby-agent, only when they change). BGP passwords are read from the Secrets the plan refers to, in the agent's
// namespace unless a reference names another.
import type { Condition } from '../api/common.js';
import {
  NodeDataplaneKind,
  NodeDataplaneSchema,
  ROUTE_VIEW_LABEL,
  RouteTableKind,
  RouteTableSchema,
  type NodeDataplane,
  type NodeDesired,
  type RouteTable,
} from '../api/index.js';
import {
  NotFoundError,
  clusterResource,
  createInformer,
  createStatusWriter,
  type Informer,
  type KubeClient,
  type Metrics,
  type ResourceClient,
} from '../kube/index.js';
import type { Logger } from '../log/logger.js';
import type { SyncInput } from './agent-syncer.js';
import { programmedCondition, toNodeApplied, type ApplyReport } from './apply-report.js';
import { secretRefKey } from './bird/bird-config.js';

export const AGENT_FIELD_MANAGER = 'tabby-agent';

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
  const ndpType = clusterResource(
    NodeDataplaneKind.group,
    NodeDataplaneKind.version,
    NodeDataplaneKind.plural,
    'NodeDataplane',
  );
  const rtType = clusterResource(RouteTableKind.group, RouteTableKind.version, RouteTableKind.plural, 'RouteTable');
  const ndpClient = opts.client.resource(ndpType, NodeDataplaneSchema) as unknown as ResourceClient<NodeDataplane>;
  const rtClient = opts.client.resource(rtType, RouteTableSchema) as unknown as ResourceClient<RouteTable>;
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
  let passwords = new Map<string, string>();
  let passwordsFor = '';

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
    routeTables = createInformer<RouteTable>({
      name: 'routetables',
      kind: 'RouteTable',
      source: rtClient.listWatch({ labelSelector: `${ROUTE_VIEW_LABEL} in (${key})` }),
      schema: RouteTableSchema,
      logger: log,
      ...(opts.metrics ? { metrics: opts.metrics } : {}),
      handlers: {
        onSynced: () => void changed(),
        onAdd: () => void changed(),
        onUpdate: () => void changed(),
        onDelete: () => void changed(),
      },
    });
    routeTables.start();
    log.info({ views: key }, 'watching route views');
  }

  async function loadPasswords(d: NodeDesired): Promise<void> {
    const refs = secretRefs(d);
    const key = JSON.stringify(refs);
    if (key === passwordsFor) return;
    const next = new Map<string, string>();
    for (const ref of refs) {
      const ns = ref.namespace ?? opts.namespace;
      try {
        const secret = await opts.client.secrets().get(ref.name, { namespace: ns });
        const value = (secret.data as Record<string, string> | undefined)?.[ref.key];
        if (value !== undefined) next.set(secretRefKey(ref), Buffer.from(value, 'base64').toString('utf8'));
        else log.warn({ kind: 'Secret', name: `${ns}/${ref.name}`, key: ref.key }, 'BGP password key missing');
      } catch (err) {
        if (!(err instanceof NotFoundError)) throw err;
        log.warn({ kind: 'Secret', name: `${ns}/${ref.name}` }, 'BGP password Secret not found');
      }
    }
    passwords = next;
    passwordsFor = key;
  }

  async function changed(): Promise<void> {
    const d = desired();
    if (!d) return;
    ensureRouteTableWatch(d);
    if (!routeTables?.hasSynced()) return;
    try {
      await loadPasswords(d);
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'reading BGP passwords failed; retrying on the next change');
    }
    push({
      desired: d,
      shards: routeTables.store
        .list()
        .flatMap((rt) => (rt.status ? [{ name: rt.metadata.name, status: rt.status }] : [])),
      passwords,
    });
  }

  return {
    snapshots,
    start: () => ndp.start(),
    async stop() {
      closed = true;
      waiter?.({ value: undefined, done: true });
      await ndp.stop();
      await routeTables?.stop();
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
  };
}
