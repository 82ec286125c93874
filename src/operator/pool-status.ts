// IPPool status: validity, allocatability and usage, for every pool in one pass (overlap is a relation between
// pools, so pools are judged together). Conditions:
//   Valid        True/False — the pool parses and its selectors compile (reason InvalidSelector, InvalidField).
//   Allocatable  Calico v3.32's condition: True (OK) or False (CIDROverlap, Terminating, PoolDisabled).
//   Ready        True when Valid and not overlapping another pool: the pool is in effect (a disabled pool is Ready:
//                its blocks are still routed, it just hands out nothing new).
//   UnsupportedFields  True when the pool sets Calico fields Tabby keeps but does not act on (listed).
//   PathMTU      whether every node's path of this pool carries the configured MTU (pool-path-mtu.ts).
// Usage comes from the block cache: claimed blocks (status.blocks, the table's BLOCKS column) are always current; the
// address count (allocatedIPs, status.used) is counted whenever this pass runs — a pool edit, a block claimed or
// released, the operator's drift check — and stamped with usageTime, so pods starting inside a claimed block cost
// no IPPool write. A Warning Event is recorded when a pool becomes invalid or overlapping, naming the field or the other pool.
import {
  IPPoolKind,
  findPoolOverlaps,
  selectorIssues,
  summarizeUnsupported,
  unsupportedFields,
  formatIssue,
  type IPPool,
  type IPAMBlock,
} from '../api/index.js';
import type { Condition } from '../api/common.js';
import { blockCount, cidrContainsCidr, cidrSize, tryParseCidr, type Cidr } from '../net/index.js';
import {
  createStatusWriter,
  kindResource,
  type EventRecorder,
  type InvalidObject,
  type KubeClient,
  type Metrics,
} from '../kube/index.js';
import type { Logger } from '../log/logger.js';
import type { ClusterCaches } from './caches.js';
import { setCondition } from './conditions.js';
import { poolPathMtuCondition } from './pool-path-mtu.js';
import { OPERATOR_FIELD_MANAGER } from './plan-sync.js';

/** The previous usageTime when the counts it stamps are unchanged (so an unchanged count writes nothing). */
function usageTime(pool: IPPool, u: PoolUsage): { usageTime: string } | undefined {
  const st = pool.status;
  const same = st?.allocatedIPs === u.allocatedIPs && st.used === `${u.allocatedIPs}/${u.totalIPs.toString()}`;
  return same && typeof st.usageTime === 'string' ? { usageTime: st.usageTime } : undefined;
}

export interface PoolUsage {
  allocatedIPs: number;
  allocatedBlocks: number;
  totalIPs: bigint;
  totalBlocks: bigint;
}

/**
 * Per block object: its CIDR and how many of its addresses are allocated. Blocks come from the informer cache, whose
 * objects are never changed in place (an update replaces the object), so each version is read once — the pool pass
 * that follows each block claim otherwise parsed every block's CIDR and counted its allocations again: O(blocks × block
 * size) per join.
 */
const blockFacts = new WeakMap<IPAMBlock, { cidr: Cidr | undefined; allocated: number }>();

function factsOf(b: IPAMBlock): { cidr: Cidr | undefined; allocated: number } {
  let f = blockFacts.get(b);
  if (f === undefined) {
    f = {
      cidr: tryParseCidr(b.spec.cidr),
      allocated: b.spec.allocations.reduce<number>((n, a) => (a === null ? n : n + 1), 0),
    };
    blockFacts.set(b, f);
  }
  return f;
}

/** Usage of each pool from the blocks inside it (pure; blocks are read as immutable, see `blockFacts`). */
export function poolUsage(pools: readonly IPPool[], blocks: readonly IPAMBlock[]): Map<string, PoolUsage> {
  const out = new Map<string, PoolUsage>();
  const parsed = pools
    .map((p) => ({ p, cidr: tryParseCidr(p.spec.cidr) }))
    .filter((x): x is { p: IPPool; cidr: NonNullable<typeof x.cidr> } => x.cidr !== undefined);
  for (const { p, cidr } of parsed) {
    const bs = p.spec.blockSize ?? (cidr.family === 4 ? 26 : 122);
    out.set(p.metadata.name, {
      allocatedIPs: 0,
      allocatedBlocks: 0,
      totalIPs: cidrSize(cidr),
      totalBlocks: bs >= cidr.prefix ? blockCount(cidr, bs) : 0n,
    });
  }
  for (const b of blocks) {
    if (b.spec.deleted) continue;
    const { cidr: bc, allocated } = factsOf(b);
    if (!bc) continue;
    const owner = parsed.find((x) => cidrContainsCidr(x.cidr, bc));
    if (!owner) continue;
    const u = out.get(owner.p.metadata.name)!;
    u.allocatedBlocks++;
    u.allocatedIPs += allocated;
  }
  return out;
}

export interface PoolStatusDeps {
  client: KubeClient;
  caches: ClusterCaches;
  events?: EventRecorder;
  logger: Logger;
  metrics?: Metrics;
  now: () => number;
  /** Reports usage per pool to metrics. */
  onUsage?(pool: string, usage: PoolUsage): void;
}

export function createPoolStatus(deps: PoolStatusDeps): { run(): Promise<void> } {
  const log = deps.logger.child({ controller: 'ippool' });
  // Untyped on purpose: the pools whose status says they are invalid are exactly those the IPPool schema refuses, so
  // a typed client would fail to read its own answer to that write (and retry it for ever).
  const pools = deps.client.resource(kindResource(IPPoolKind));
  const writer = createStatusWriter({
    resource: pools,
    name: 'ippool',
    fieldManager: OPERATOR_FIELD_MANAGER,
    mapLists: { conditions: ['type'] },
    logger: log,
    ...(deps.metrics ? { metrics: deps.metrics } : {}),
  });

  async function run(): Promise<void> {
    const all = deps.caches.ippools.store.list();
    const blocks = deps.caches.ipamBlocks.store.list();
    const usage = poolUsage(all, blocks);
    const overlaps = new Map(findPoolOverlaps(all).map((o) => [o.pool, o]));
    const dataplanes = deps.caches.nodeDataplanes.store.list();
    const nowIso = new Date(deps.now()).toISOString();
    for (const pool of all) {
      const name = pool.metadata.name;
      // Edited into something invalid: reported from the object as stored (below), while IPAM and the planner go on
      // with this last valid version.
      if (deps.caches.ippools.store.invalid(name) !== undefined) continue;
      const generation = typeof pool.metadata.generation === 'number' ? pool.metadata.generation : undefined;
      const gen = generation !== undefined ? { observedGeneration: generation } : {};
      const existing = (pool.status?.conditions ?? []) as Condition[];
      const invalid = selectorIssues({ kind: 'IPPool', metadata: pool.metadata, spec: pool.spec });
      const overlap = overlaps.get(name);
      const unsupported = unsupportedFields(pool);
      const terminating = pool.metadata.deletionTimestamp != null;

      const valid = setCondition(
        existing,
        invalid.length === 0
          ? { type: 'Valid', status: 'True', reason: 'Valid', message: 'spec is valid', ...gen }
          : {
              type: 'Valid',
              status: 'False',
              reason: 'InvalidSelector',
              message: invalid.map(formatIssue).join('; '),
              ...gen,
            },
        nowIso,
      );
      const allocatable = setCondition(
        existing,
        terminating
          ? { type: 'Allocatable', status: 'False', reason: 'Terminating', message: 'pool is being deleted', ...gen }
          : overlap
            ? {
                type: 'Allocatable',
                status: 'False',
                reason: 'CIDROverlap',
                message: formatIssue(overlap.issue),
                ...gen,
              }
            : pool.spec.disabled
              ? {
                  type: 'Allocatable',
                  status: 'False',
                  reason: 'PoolDisabled',
                  message: 'spec.disabled is true: no new addresses',
                  ...gen,
                }
              : invalid.length > 0
                ? {
                    type: 'Allocatable',
                    status: 'False',
                    reason: 'InvalidSpec',
                    message: 'see the Valid condition',
                    ...gen,
                  }
                : { type: 'Allocatable', status: 'True', reason: 'OK', message: 'addresses can be allocated', ...gen },
        nowIso,
      );
      const ready = setCondition(
        existing,
        invalid.length === 0 && !overlap && !terminating
          ? { type: 'Ready', status: 'True', reason: 'Ready', message: 'pool is in effect', ...gen }
          : {
              type: 'Ready',
              status: 'False',
              reason: terminating ? 'Terminating' : overlap ? 'CIDROverlap' : 'Invalid',
              message: terminating
                ? 'pool is being deleted'
                : overlap
                  ? formatIssue(overlap.issue)
                  : invalid.map(formatIssue).join('; '),
              ...gen,
            },
        nowIso,
      );
      const ignored = setCondition(
        existing,
        unsupported.length > 0
          ? {
              type: 'UnsupportedFields',
              status: 'True',
              reason: 'FieldsNotImplemented',
              message: summarizeUnsupported(unsupported),
              ...gen,
            }
          : {
              type: 'UnsupportedFields',
              status: 'False',
              reason: 'None',
              message: 'every field set is acted on',
              ...gen,
            },
        nowIso,
      );

      // Events mark transitions into a bad state, not every pass.
      const was = (t: string): string | undefined => existing.find((c) => c.type === t)?.status;
      const warn = (reason: string, note: string): void =>
        deps.events?.record({
          regarding: {
            apiVersion: 'projectcalico.org/v3',
            kind: 'IPPool',
            name,
            ...(pool.metadata.uid ? { uid: pool.metadata.uid as string } : {}),
          },
          type: 'Warning',
          reason,
          action: 'Validate',
          note,
        });
      if (overlap && was('Ready') !== 'False') warn('CIDROverlap', formatIssue(overlap.issue));
      if (invalid.length > 0 && was('Valid') !== 'False') warn('InvalidSelector', invalid.map(formatIssue).join('; '));

      const u = usage.get(name);
      if (u) deps.onUsage?.(name, u);
      const status: Record<string, unknown> = {
        conditions: [
          allocatable,
          ready,
          ignored,
          valid,
          setCondition(existing, poolPathMtuCondition(name, dataplanes), nowIso),
        ],
        ...(generation !== undefined ? { observedGeneration: generation } : {}),
        ...(u
          ? {
              allocatedIPs: u.allocatedIPs,
              allocatedBlocks: u.allocatedBlocks,
              totalIPs: u.totalIPs.toString(),
              totalBlocks: u.totalBlocks.toString(),
              blocks: `${u.allocatedBlocks}/${u.totalBlocks.toString()}`,
              used: `${u.allocatedIPs}/${u.totalIPs.toString()}`,
              ...(usageTime(pool, u) ?? { usageTime: nowIso }),
            }
          : {}),
      };
      try {
        await writer.write({ name }, status, pool);
      } catch (err) {
        log.warn({ kind: 'IPPool', name, err: (err as Error).message }, 'status write failed');
        throw err;
      }
    }
    for (const entry of deps.caches.ippools.store.listInvalid()) await reportInvalid(entry, nowIso);
  }

  /**
   * A pool that fails its schema (a selector that does not parse, a bad field the CRD lets through) is judged here
   * from the object as stored: Valid=False naming each field, not Allocatable, not Ready, and a Warning Event when
   * it turns invalid. A pool that never was valid is not seen by IPAM and the planner; one edited into an invalid
   * state is used as it last was valid (the cache keeps that version), and Ready's message says so.
   */
  async function reportInvalid(entry: InvalidObject, nowIso: string): Promise<void> {
    const raw = entry.raw as {
      metadata?: { name?: string; uid?: string; generation?: number };
      status?: { conditions?: Condition[] };
    };
    const name = raw.metadata?.name ?? entry.key;
    const generation = typeof raw.metadata?.generation === 'number' ? raw.metadata.generation : undefined;
    const gen = generation !== undefined ? { observedGeneration: generation } : {};
    const existing = raw.status?.conditions ?? [];
    const issues = entry.issues.map((i) => ({ ...i, object: { kind: 'IPPool', name } }));
    const message = issues.map(formatIssue).join('; ');
    const selectorsOnly = issues.every((i) => i.path[0] === 'spec' && /Selector$/.test(String(i.path[1])));
    const reason = selectorsOnly ? 'InvalidSelector' : 'InvalidField';
    const lastGood = deps.caches.ippools.store.get(name)?.metadata.resourceVersion;
    const kept =
      lastGood === undefined
        ? ''
        : `; its blocks and routes stay as in the last valid version (resourceVersion ${lastGood}) until this is fixed`;
    const conditions = [
      setCondition(
        existing,
        { type: 'Allocatable', status: 'False', reason: 'InvalidSpec', message: 'see the Valid condition', ...gen },
        nowIso,
      ),
      setCondition(
        existing,
        { type: 'Ready', status: 'False', reason: 'Invalid', message: message + kept, ...gen },
        nowIso,
      ),
      setCondition(existing, { type: 'Valid', status: 'False', reason, message, ...gen }, nowIso),
    ];
    if (existing.find((c) => c.type === 'Valid')?.status !== 'False') {
      deps.events?.record({
        regarding: {
          apiVersion: 'projectcalico.org/v3',
          kind: 'IPPool',
          name,
          ...(raw.metadata?.uid ? { uid: raw.metadata.uid } : {}),
        },
        type: 'Warning',
        reason,
        action: 'Validate',
        note: message,
      });
    }
    const status = { conditions, ...(generation !== undefined ? { observedGeneration: generation } : {}) };
    try {
      await writer.write({ name }, status, entry.raw);
    } catch (err) {
      log.warn({ kind: 'IPPool', name, err: (err as Error).message }, 'status write failed');
      throw err;
    }
  }
  return { run };
}
