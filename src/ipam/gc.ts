// IPAM garbage collection, planning half (calico: kube-controllers/pkg/controllers/node/ipam.go,
// ipam_allocation.go; design/ipam/ipam-gc.md). Pure: the executor (gc-executor.ts) carries the plan out.
//
// Inputs: all blocks, affinities and handles (with versions), the names of existing Nodes, the Pods, the time, and
// the memory the previous pass returned (when each candidate was first seen). Outputs: GcAction[] in execution
// order, and the memory for the next pass.
//
// Rules:
// - An allocation is judged by allocations.ts `allocationValidity`. Invalid on a deleted node ⇒ released now;
//   invalid on an existing node ⇒ released once it has been invalid for `leakGracePeriodMs` (default 15 min; 0
//   disables this kind of release, as in Calico); a later pass finding it valid forgets it. Unknown owners are
//   never released.
// - Releases are per handle, all or nothing: a handle with any valid (or unknown) allocation keeps all of them.
//   Every release carries the allocation's sequence number, so an address re-allocated since is left alone.
// - A deleted node's affinities are released once nothing valid of its own remains in its blocks (requireEmpty when
//   the blocks will be empty; otherwise the blocks become un-affine and the borrowed addresses of other nodes in
//   them stay valid). Its pending affinities are deleted.
// - An affine block seen empty, with an unchanged sequence number, for the grace period is released — never a
//   node's last block, and only while its other blocks of the family keep a quarter block free (else the claimer
//   would pre-claim again at once).
// - Handles whose counts differ from the blocks: under-counts are fixed at once (they can only come from outside
//   writers); over-counts (an interrupted assignment or release) after the grace period; fixes are CAS writes, so an
//   assignment in flight wins.
// - A handle without a node (written by Calico's tools, or before handles recorded one) is given the node its
//   allocations name, when they all name the same one: until then only the operator may change it (an agent is
//   held to its own node's handles by admission).
// - Affinities left pending or pendingDeletion by an interrupted claim/release for the grace period are repaired;
//   empty un-affine blocks (an interrupted release) are deleted.
import { type AllocationRecord, type PodInfo, allocationValidity, allocationsOf } from './allocations.js';
import { type Versioned, affinityKey, handleKey } from './block-store.js';
import { freeCount, isEmpty } from './block.js';
import { type BlockAffinityData, type IPAMBlockData, type IPAMHandleData, affinityNode } from './model.js';

/** calico: KubeControllersConfiguration leakGracePeriod default. */
export const DEFAULT_LEAK_GRACE_PERIOD_MS = 15 * 60_000;

export interface GcInput {
  blocks: readonly Versioned<IPAMBlockData>[];
  affinities: readonly Versioned<BlockAffinityData>[];
  handles: readonly Versioned<IPAMHandleData>[];
  nodes: ReadonlySet<string>;
  pods: ReadonlyMap<string, PodInfo>;
  now: number;
  leakGracePeriodMs?: number;
  /** How long a block must stay empty, and an affinity in transition, before GC acts. Default: the leak grace. */
  settleGracePeriodMs?: number;
}

export interface GcMemory {
  /** `block|ordinal|seq` → when first seen invalid. */
  leakCandidates: ReadonlyMap<string, number>;
  /** block CIDR → first seen empty, and the sequence number then. */
  emptyBlocks: ReadonlyMap<string, { since: number; sequenceNumber: bigint }>;
  /** handle key → when its counts were first seen above the blocks'. */
  handleOvercounts: ReadonlyMap<string, number>;
  /** affinity key → when first seen pending or pendingDeletion. */
  transitions: ReadonlyMap<string, number>;
}

export function emptyGcMemory(): GcMemory {
  return { leakCandidates: new Map(), emptyBlocks: new Map(), handleOvercounts: new Map(), transitions: new Map() };
}

export interface AddressReleasePlan {
  block: string;
  address: string;
  handleId?: string;
  sequenceNumber?: bigint;
}

export type GcAction =
  | {
      kind: 'releaseAddresses';
      reason: 'nodeDeleted' | 'leaked';
      handleId: string | undefined;
      releases: AddressReleasePlan[];
    }
  | {
      kind: 'fixHandle';
      handleId: string;
      version: string | undefined;
      block: Record<string, number>;
      /** The node the handle records after the fix (kept, or adopted from its allocations). */
      node?: string;
      reason: 'overcount' | 'undercount' | 'adoptNode';
    }
  | { kind: 'repairAffinity'; node: string; cidr: string; reason: 'pending' | 'pendingDeletion' | 'stale' }
  | { kind: 'deleteAffinity'; node: string; cidr: string; version: string; reason: 'nodeDeleted' }
  | { kind: 'deleteBlock'; cidr: string; version: string; reason: 'emptyUnaffine' }
  | {
      kind: 'releaseAffinity';
      node: string;
      cidr: string;
      requireEmpty: boolean;
      requiredSequenceNumber?: bigint;
      reason: 'nodeDeleted' | 'emptyBlock';
    };

export interface GcPlan {
  actions: GcAction[];
  memory: GcMemory;
  /** Allocations on existing nodes seen invalid for the first time in this pass (released after the grace). */
  newLeakCandidates: AllocationRecord[];
}

function allocationKey(a: AllocationRecord): string {
  return `${a.block}|${a.ordinal}|${a.sequenceNumber ?? ''}`;
}

export function planGc(input: GcInput, memory: GcMemory = emptyGcMemory()): GcPlan {
  const now = input.now;
  const leakGrace = input.leakGracePeriodMs ?? DEFAULT_LEAK_GRACE_PERIOD_MS;
  const settle = input.settleGracePeriodMs ?? (leakGrace > 0 ? leakGrace : DEFAULT_LEAK_GRACE_PERIOD_MS);
  const releases: GcAction[] = [];
  const later: GcAction[] = [];
  const nextLeaks = new Map<string, number>();
  const newLeakCandidates: AllocationRecord[] = [];
  const nextEmpty = new Map<string, { since: number; sequenceNumber: bigint }>();
  const nextOver = new Map<string, number>();
  const nextTransitions = new Map<string, number>();

  // 1. Allocations: validity, then per-handle all-or-none release.
  const records: AllocationRecord[] = [];
  for (const b of input.blocks) records.push(...allocationsOf(b.value));
  const byHandle = new Map<string, AllocationRecord[]>();
  const noHandle: AllocationRecord[] = [];
  for (const r of records) {
    if (r.handleId === undefined) noHandle.push(r);
    else {
      const list = byHandle.get(r.handleId) ?? [];
      list.push(r);
      byHandle.set(r.handleId, list);
    }
  }
  /** Addresses each deleted node still has that GC cannot release. */
  const keptOnDeletedNode = new Set<string>();
  const releasedKeys = new Set<string>();
  const confirmed = (r: AllocationRecord): boolean => {
    const v = allocationValidity(r, input.nodes, input.pods);
    if (v !== 'invalid') return false;
    if (r.node === undefined || !input.nodes.has(r.node)) return true;
    const key = allocationKey(r);
    const since = memory.leakCandidates.get(key) ?? now;
    if (!memory.leakCandidates.has(key)) newLeakCandidates.push(r);
    nextLeaks.set(key, since);
    return leakGrace > 0 && now - since >= leakGrace;
  };
  const plan = (handleId: string | undefined, group: AllocationRecord[]) => {
    const verdicts = group.map((r) => ({ r, ok: confirmed(r) }));
    const all = verdicts.every((v) => v.ok);
    if (!all) {
      for (const v of verdicts)
        if (v.r.node !== undefined && !input.nodes.has(v.r.node)) keptOnDeletedNode.add(v.r.node);
      return;
    }
    const onDeleted = group.every((r) => r.node === undefined || !input.nodes.has(r.node));
    for (const r of group) {
      releasedKeys.add(allocationKey(r));
      nextLeaks.delete(allocationKey(r));
    }
    releases.push({
      kind: 'releaseAddresses',
      reason: onDeleted ? 'nodeDeleted' : 'leaked',
      handleId,
      releases: group.map((r) => ({
        block: r.block,
        address: r.address,
        ...(handleId === undefined ? {} : { handleId }),
        ...(r.sequenceNumber === undefined ? {} : { sequenceNumber: r.sequenceNumber }),
      })),
    });
  };
  for (const [h, group] of [...byHandle].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) plan(h, group);
  for (const r of noHandle) plan(undefined, [r]);

  // 2. Blocks: deleted nodes' affinities, empty blocks, un-affine empty blocks.
  const blocksByNode = new Map<string, Versioned<IPAMBlockData>[]>();
  for (const b of input.blocks) {
    const n = affinityNode(b.value.affinity);
    if (n === undefined) continue;
    const list = blocksByNode.get(n) ?? [];
    list.push(b);
    blocksByNode.set(n, list);
  }
  for (const b of input.blocks) {
    const node = affinityNode(b.value.affinity);
    const remaining = allocationsOf(b.value).filter(
      (r) => !releasedKeys.has(allocationKey(r)) && r.kind !== 'reserved',
    );
    if (b.value.affinity === null) {
      if (isEmpty(b.value))
        later.push({ kind: 'deleteBlock', cidr: b.value.cidr, version: b.version, reason: 'emptyUnaffine' });
      continue;
    }
    if (node === undefined) continue;
    if (!input.nodes.has(node)) {
      if (keptOnDeletedNode.has(node)) continue;
      const ownLeft = remaining.some((r) => r.node === node || r.node === undefined);
      if (ownLeft) continue;
      later.push({
        kind: 'releaseAffinity',
        node,
        cidr: b.value.cidr,
        requireEmpty: remaining.length === 0,
        reason: 'nodeDeleted',
      });
      continue;
    }
    if (!isEmpty(b.value)) continue;
    const prev = memory.emptyBlocks.get(b.value.cidr);
    const since = prev !== undefined && prev.sequenceNumber === b.value.sequenceNumber ? prev.since : now;
    nextEmpty.set(b.value.cidr, { since, sequenceNumber: b.value.sequenceNumber });
    const nodeBlocks = blocksByNode.get(node) ?? [];
    // Keep it while the node's other blocks of the family could not take a quarter block more (the claimer's
    // pre-claim watermark): releasing it would only make the operator claim again.
    const family = b.value.cidr.includes(':') ? 6 : 4;
    const otherFree = nodeBlocks
      .filter((x) => x !== b && x.value.cidr.includes(':') === (family === 6))
      .reduce((n, x) => n + freeCount(x.value), 0);
    const keepFree = Math.max(1, Math.floor(b.value.allocations.length / 4));
    if (now - since >= settle && nodeBlocks.length > 1 && otherFree >= keepFree) {
      later.push({
        kind: 'releaseAffinity',
        node,
        cidr: b.value.cidr,
        requireEmpty: true,
        requiredSequenceNumber: b.value.sequenceNumber,
        reason: 'emptyBlock',
      });
      nextEmpty.delete(b.value.cidr);
      blocksByNode.set(
        node,
        nodeBlocks.filter((x) => x !== b),
      );
    }
  }

  // 3. Affinities: deleted nodes' and those stuck in transition.
  const blockCidrs = new Map(input.blocks.map((b) => [b.value.cidr, b.value]));
  for (const a of input.affinities) {
    const { node, cidr, state } = a.value;
    const block = blockCidrs.get(cidr);
    if (!input.nodes.has(node)) {
      const affine = block !== undefined && affinityNode(block.affinity) === node;
      if (!affine) later.push({ kind: 'deleteAffinity', node, cidr, version: a.version, reason: 'nodeDeleted' });
      continue;
    }
    if (state !== 'pending' && state !== 'pendingDeletion') {
      // A confirmed affinity always has its block (a release marks it pendingDeletion first): never transient.
      if (block === undefined || affinityNode(block.affinity) !== node) {
        later.push({ kind: 'repairAffinity', node, cidr, reason: 'stale' });
      }
      continue;
    }
    const key = affinityKey(node, cidr);
    const since = memory.transitions.get(key) ?? now;
    if (now - since >= settle) later.push({ kind: 'repairAffinity', node, cidr, reason: state });
    else nextTransitions.set(key, since);
  }

  // 4. Handles against the blocks, counting what this plan releases as gone.
  const actual = new Map<string, Record<string, number>>();
  /** The one node a pod handle's remaining allocations name (null when they name several, or are not a pod's). */
  const nodeOfHandle = new Map<string, string | null>();
  for (const r of records) {
    if (r.handleId === undefined || releasedKeys.has(allocationKey(r))) continue;
    const m = actual.get(r.handleId) ?? {};
    m[r.block] = (m[r.block] ?? 0) + 1;
    actual.set(r.handleId, m);
    // Only pod handles are an agent's to write: others need no node.
    const prev = nodeOfHandle.get(r.handleId);
    const node = r.kind === 'pod' && r.node !== undefined ? r.node : null;
    nodeOfHandle.set(r.handleId, prev === undefined || prev === node ? node : null);
  }
  const nodeFor = (id: string, has: string | undefined): { node?: string } => {
    const node = has ?? nodeOfHandle.get(id) ?? undefined;
    return node === undefined ? {} : { node };
  };
  const releasing = new Map<string, Record<string, number>>();
  for (const a of releases) {
    if (a.kind !== 'releaseAddresses' || a.handleId === undefined) continue;
    const m = releasing.get(a.handleId) ?? {};
    for (const r of a.releases) m[r.block] = (m[r.block] ?? 0) + 1;
    releasing.set(a.handleId, m);
  }
  const seen = new Set<string>();
  for (const h of input.handles) {
    const id = h.value.handleID;
    seen.add(id);
    const want = actual.get(id) ?? {};
    const cidrs = new Set([...Object.keys(h.value.block), ...Object.keys(want)]);
    let over = false;
    let under = false;
    for (const c of cidrs) {
      const recorded = h.value.block[c] ?? 0;
      const held = want[c] ?? 0;
      // Counts this plan releases are decremented by the release itself, not fixed here.
      const gone = releasing.get(id)?.[c] ?? 0;
      if (recorded - gone > held) over = true;
      if (recorded - gone < held) under = true;
    }
    const node = nodeFor(id, h.value.node);
    const fix = { kind: 'fixHandle', handleId: id, version: h.version, ...node } as const;
    if (under) {
      later.push({ ...fix, block: want, reason: 'undercount' });
      continue;
    }
    if (over) {
      const key = handleKey(id);
      const since = memory.handleOvercounts.get(key) ?? now;
      if (now - since >= settle) {
        later.push({ ...fix, block: want, reason: 'overcount' });
        continue;
      }
      nextOver.set(key, since);
    }
    // Counts that are right (or not yet repaired) are kept as they are; only the node is added.
    if (h.value.node === undefined && node.node !== undefined && !releasing.has(id))
      later.push({ ...fix, block: { ...h.value.block }, reason: 'adoptNode' });
  }
  for (const [id, want] of [...actual].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (!seen.has(id))
      later.push({
        kind: 'fixHandle',
        handleId: id,
        version: undefined,
        block: want,
        ...nodeFor(id, undefined),
        reason: 'undercount',
      });
  }

  return {
    actions: [...releases, ...later],
    newLeakCandidates,
    memory: {
      leakCandidates: nextLeaks,
      emptyBlocks: nextEmpty,
      handleOvercounts: nextOver,
      transitions: nextTransitions,
    },
  };
}
