// IPAM garbage collection, acting half: carries out a GcPlan against a BlockStore, in the plan's order, each
// action guarded by compare-and-swap (versions and allocation sequence numbers from the plan), so anything that
// changed since the plan was made is skipped rather than undone — the next pass re-plans from fresh state.
import { parseCidr } from '../net/index.js';
import { releaseBlockAffinity, repairAffinity } from './affinity-claims.js';
import { type BlockStore, affinityKey, blockKey, handleKey } from './block-store.js';
import { releaseInBlock } from './block-writes.js';
import { isIpamError } from './errors.js';
import type { AddressReleasePlan, GcAction } from './gc.js';

export interface GcActionResult {
  action: GcAction;
  outcome: 'done' | 'skipped' | 'failed';
  detail?: string;
}

export async function executeGc(
  store: BlockStore,
  actions: readonly GcAction[],
  now: number,
): Promise<GcActionResult[]> {
  const results: GcActionResult[] = [];
  for (const action of actions) {
    try {
      results.push(await run(store, action, now));
    } catch (e) {
      if (isIpamError(e) && e.errorClass === 'stale') {
        results.push({ action, outcome: 'skipped', detail: e.message });
      } else if (e instanceof Error) {
        results.push({ action, outcome: 'failed', detail: e.message });
      } else throw e;
    }
  }
  return results;
}

async function run(store: BlockStore, action: GcAction, now: number): Promise<GcActionResult> {
  switch (action.kind) {
    case 'releaseAddresses': {
      const byBlock = new Map<string, AddressReleasePlan[]>();
      for (const r of action.releases) byBlock.set(r.block, [...(byBlock.get(r.block) ?? []), r]);
      let notAllocated = 0;
      for (const [block, list] of byBlock) notAllocated += (await releaseInBlock(store, block, list)).length;
      return notAllocated === action.releases.length
        ? { action, outcome: 'skipped', detail: 'already released' }
        : { action, outcome: 'done' };
    }
    case 'fixHandle': {
      const key = handleKey(action.handleId);
      const empty = Object.keys(action.block).length === 0;
      const node = action.node === undefined ? {} : { node: action.node };
      if (action.version === undefined) {
        if (empty) return { action, outcome: 'skipped' };
        const r = await store.handles.create({
          handleID: action.handleId,
          block: action.block,
          deleted: false,
          ...node,
        });
        return r.ok ? { action, outcome: 'done' } : { action, outcome: 'skipped', detail: r.reason };
      }
      const r = empty
        ? await store.handles.delete(key, action.version)
        : await store.handles.update(
            { handleID: action.handleId, block: action.block, deleted: false, ...node },
            action.version,
          );
      return r.ok ? { action, outcome: 'done' } : { action, outcome: 'skipped', detail: r.reason };
    }
    case 'repairAffinity': {
      const aff = await store.affinities.get(affinityKey(action.node, action.cidr));
      if (aff === undefined) return { action, outcome: 'skipped', detail: 'affinity is gone' };
      const r = await repairAffinity(store, aff, parseCidr(action.cidr), { now });
      return { action, outcome: r.kind === 'unchanged' ? 'skipped' : 'done', detail: r.kind };
    }
    case 'deleteAffinity': {
      const r = await store.affinities.delete(affinityKey(action.node, action.cidr), action.version);
      return r.ok ? { action, outcome: 'done' } : { action, outcome: 'skipped', detail: r.reason };
    }
    case 'deleteBlock': {
      const r = await store.blocks.delete(blockKey(action.cidr), action.version);
      return r.ok ? { action, outcome: 'done' } : { action, outcome: 'skipped', detail: r.reason };
    }
    case 'releaseAffinity': {
      const r = await releaseBlockAffinity(store, action.node, action.cidr, {
        requireEmpty: action.requireEmpty,
        ...(action.requiredSequenceNumber === undefined
          ? {}
          : { requiredSequenceNumber: action.requiredSequenceNumber }),
      });
      return r.kind === 'released' ? { action, outcome: 'done' } : { action, outcome: 'skipped', detail: r.kind };
    }
  }
}
