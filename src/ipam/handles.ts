// IPAMHandle reference counts (calico: libcalico-go/lib/ipam/ipam.go incrementHandle/decrementHandle).
//
// A handle records, per block, how many addresses it holds there. Release-by-handle reads it to find the blocks,
// so it must never under-count: callers increment BEFORE the block write that assigns and decrement AFTER the
// block write that releases (invariant I3 in index.ts). A crash in between leaves an over-count, which check.ts
// reports, the agent's retried release repairs (assign-round.ts, SettleHandleOp) and gc.ts repairs after its grace;
// never a missed address.
//
// Every write is compare-and-swap with bounded retries. `known` lets a caller that created or last wrote the
// handle skip the read (the agent's hot path); a stale `known` only costs one conflict and a read.
//
// A handle records the node whose allocation it counts (`node`, given by whoever creates it): an update keeps the
// node the handle has, and names `node` only on a handle that had none.
import { type BlockStore, type Versioned, handleKey } from './block-store.js';
import { DATASTORE_RETRIES, handleRef, retriesExhausted } from './errors.js';
import type { IPAMHandleData } from './model.js';

/**
 * Adds `delta[block]` to the handle's count for each block (negative to subtract; counts never go below zero and
 * vanish at zero). Creates the handle when it is absent and something is added; deletes it when nothing is left.
 * Returns the stored handle, or undefined when it no longer exists.
 */
export async function adjustHandle(
  store: BlockStore,
  handleId: string,
  delta: Readonly<Record<string, number>>,
  known?: Versioned<IPAMHandleData>,
  node?: string,
): Promise<Versioned<IPAMHandleData> | undefined> {
  const key = handleKey(handleId);
  const adds = Object.values(delta).some((n) => n > 0);
  let current: Versioned<IPAMHandleData> | undefined = known;
  // Without a known version, adding tries a create first: a new handle (a new pod) then costs no read.
  let mustRead = known === undefined && !adds;
  for (let i = 0; i < DATASTORE_RETRIES; i++) {
    if (mustRead) current = await store.handles.get(key);
    mustRead = true;
    const block: Record<string, number> = { ...(current?.value.block ?? {}) };
    for (const [cidr, n] of Object.entries(delta)) {
      const left = (block[cidr] ?? 0) + n;
      if (left > 0) block[cidr] = left;
      else delete block[cidr];
    }
    const empty = Object.keys(block).length === 0;
    const owner = current?.value.node ?? node;
    const withNode = owner === undefined ? {} : { node: owner };
    if (current === undefined) {
      if (empty) return undefined;
      const r = await store.handles.create({ handleID: handleId, block, deleted: false, ...withNode });
      if (r.ok) return r;
      continue;
    }
    if (empty) {
      const r = await store.handles.delete(key, current.version);
      if (r.ok || r.reason === 'notFound') return undefined;
      continue;
    }
    const r = await store.handles.update(
      { handleID: current.value.handleID, block, deleted: false, ...withNode },
      current.version,
    );
    if (r.ok) return r;
  }
  throw retriesExhausted(handleRef(key));
}

export function incrementHandle(
  store: BlockStore,
  handleId: string,
  blockCidr: string,
  n: number,
  known?: Versioned<IPAMHandleData>,
  node?: string,
): Promise<Versioned<IPAMHandleData> | undefined> {
  return adjustHandle(store, handleId, { [blockCidr]: n }, known, node);
}

/** A missing handle is not an error: the counts it would carry are already gone. */
export async function decrementHandle(
  store: BlockStore,
  handleId: string,
  blockCidr: string,
  n: number,
  known?: Versioned<IPAMHandleData>,
): Promise<Versioned<IPAMHandleData> | undefined> {
  return adjustHandle(store, handleId, { [blockCidr]: -n }, known);
}
