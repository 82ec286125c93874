// Where an agent's AddressAssigner turns for anything outside its own blocks — without writing it: claiming, borrowing
// and releasing in other nodes' blocks are the operator's job (ARCHITECTURE.md "One writer per IPAM block"), and in a
// real install the agent's RBAC and admission policy forbid them (it may change only blocks already affine to its
// node). The operator pre-claims a node's next block while free addresses remain (BlockClaimer's watermark), so
// ensureBlock mostly finds one at once. Otherwise — a pod asked for pools that do not select the node, a burst
// outran the pre-claim, a full pool with strictAffinity off (borrowing), a DEL of a borrowed address — the agent asks
// the operator through its Node's annotation (operator-requests.ts, src/api/ipam-request.ts) and waits, polling the
// datastore, until the result is there, the operator answers that it cannot serve it, or `waitMs` passes: then it
// reports exhaustion (borrow, block) or an "unavailable" error (releases), which the CNI plugin turns into an error
// the runtime retries.
import type { BlockSource, EnsureBlockOutcome, EnsureBlockRequest } from '../ipam/block-claimer.js';
import {
  type AssignIPArgs,
  type IpamView,
  type ReleaseOptions,
  type ReleaseResult,
  reservationsOf,
} from '../ipam/allocator.js';
import type { BorrowRequest, BorrowResult } from '../ipam/borrowing.js';
import { ordinalsOfHandle } from '../ipam/block.js';
import { freeAddresses } from '../ipam/reservations.js';
import { blockKey, handleKey, type BlockStore } from '../ipam/block-store.js';
import { addressWithMask } from '../ipam/block-writes.js';
import { IpamError, nodeRef } from '../ipam/errors.js';
import { affinityIsConfirmed, hostAffinity } from '../ipam/model.js';
import { poolContaining } from '../ipam/pools.js';
import { lookupAddress } from '../ipam/releases.js';
import { parseCidr } from '../net/index.js';
import type { OperatorRequests } from './operator-requests.js';

export interface OperatorBlockSourceOptions {
  store: BlockStore;
  view: IpamView;
  node: string;
  /** How long to wait for the operator (ms). */
  waitMs?: number;
  pollMs?: number;
  /** Where to ask the operator (its Node's annotation). Absent: only wait for the pre-claim; refuse the rest. */
  requests?: OperatorRequests;
  sleep?: (ms: number) => Promise<void>;
}

export function createOperatorBlockSource(opts: OperatorBlockSourceOptions): BlockSource {
  const waitMs = opts.waitMs ?? 5000;
  const pollMs = opts.pollMs ?? 250;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const own = hostAffinity(opts.node);
  const refuse = (what: string): never => {
    throw new IpamError(
      'invalidRequest',
      nodeRef(opts.node),
      `${what} is done by the operator, not the node agent (one writer per IPAM block)`,
    );
  };

  /**
   * Polls `done` until it returns a value; asks the operator (once, after the first miss) with `request`, and
   * withdraws the request however the wait ends. Undefined when `waitMs` passed.
   */
  async function askAndWait<T>(
    request: Parameters<OperatorRequests['open']>[0] | undefined,
    done: () => Promise<T | undefined>,
  ): Promise<T | undefined> {
    let id: string | undefined;
    try {
      for (let waited = 0; ; waited += pollMs) {
        const found = await done();
        if (found !== undefined) return found;
        if (waited >= waitMs) return undefined;
        // The operator said it cannot: no use waiting out the rest (a last look above has just been taken).
        if (id !== undefined && opts.requests?.failure(id) !== undefined) return undefined;
        if (request !== undefined) id ??= opts.requests?.open(request);
        await sleep(pollMs);
      }
    } finally {
      if (id !== undefined) opts.requests?.close(id);
    }
  }

  /** A confirmed block of this node's, in one of the pools, with a free address. */
  async function findBlock(req: EnsureBlockRequest) {
    const affinities = await opts.store.affinities.list();
    for (const a of affinities) {
      const aff = a.value;
      if (aff.node !== req.node || aff.type !== 'host' || !affinityIsConfirmed(aff)) continue;
      const cidr = parseCidr(aff.cidr);
      if (cidr.family !== req.family) continue;
      const allowed = opts.view.pools().filter((p) => req.pools.includes(p.name));
      if (poolContaining(allowed, cidr) === undefined) continue;
      const b = await opts.store.blocks.get(blockKey(aff.cidr));
      if (!b || b.value.affinity !== own || freeAddresses(b.value, reservationsOf(opts.view)) === 0) continue;
      return b;
    }
    return undefined;
  }

  /** The handle's addresses (with the block's mask) in blocks not affine to this node, and the handle. */
  async function borrowedOf(handleId: string) {
    const handle = await opts.store.handles.get(handleKey(handleId));
    const ips: string[] = [];
    for (const cidrText of Object.keys(handle?.value.block ?? {})) {
      const b = await opts.store.blocks.get(blockKey(cidrText));
      if (b === undefined || b.value.affinity === own) continue;
      for (const o of ordinalsOfHandle(b.value, handleId)) ips.push(addressWithMask(parseCidr(cidrText), o));
    }
    return { ips, handle };
  }

  const unavailable = (what: string) =>
    new IpamError('retriesExhausted', nodeRef(opts.node), `${what}: the operator did not do it within ${waitMs} ms`);

  return {
    async ensureBlock(req): Promise<EnsureBlockOutcome> {
      const block = await askAndWait({ kind: 'block', family: req.family, pools: [...req.pools] }, () =>
        findBlock(req),
      );
      return block === undefined ? { kind: 'noFreeBlocks' } : { kind: 'block', block };
    },

    async borrow(req: BorrowRequest): Promise<BorrowResult> {
      if (opts.requests === undefined) return refuse("borrowing from another node's block");
      if (req.handleId === null) return refuse('borrowing without a handle');
      const handleId = req.handleId;
      const pools = req.pools.map((p) => p.name);
      const before = (await borrowedOf(handleId)).ips.length;
      const got = await askAndWait(
        { kind: 'borrow', family: req.family, pools, num: req.num, handleId, attrs: { ...req.attrs } },
        async () => {
          const r = await borrowedOf(handleId);
          return r.ips.length >= before + req.num ? r : undefined;
        },
      );
      if (got === undefined) {
        return {
          ips: [],
          msgs: [`No IPs available in pools: [${req.pools.map((p) => p.cidrText).join(' ')}]`],
        };
      }
      return {
        ips: got.ips.slice(before),
        msgs: [],
        ...(got.handle === undefined ? {} : { handle: got.handle }),
      };
    },

    async releaseHandleIn(handleId: string, blockCidrs: readonly string[]): Promise<void> {
      if (opts.requests === undefined) return refuse("releasing a handle in another node's block");
      const holds = async () => {
        for (const c of blockCidrs) {
          const b = await opts.store.blocks.get(blockKey(c));
          if (b !== undefined && ordinalsOfHandle(b.value, handleId).length > 0) return true;
        }
        return false;
      };
      const done = await askAndWait({ kind: 'releaseHandle', handleId, blocks: [...blockCidrs] }, async () =>
        (await holds()) ? undefined : true,
      );
      if (done === undefined) throw unavailable(`releasing ${handleId} in ${blockCidrs.join(', ')}`);
    },

    async releaseIPs(list: readonly ReleaseOptions[]): Promise<ReleaseResult> {
      if (opts.requests === undefined) return refuse("releasing addresses outside this node's blocks");
      const pools = opts.view.pools();
      // Still held as asked: allocated (to the given handle, when one is given).
      const held = async (o: ReleaseOptions) => {
        const r = await lookupAddress(opts.store, pools, o.address);
        return r.allocated && (o.handleId === undefined || r.attribute.handle_id === o.handleId);
      };
      const unallocated: string[] = [];
      const pending: ReleaseOptions[] = [];
      for (const o of list) {
        if (await held(o)) pending.push(o);
        else unallocated.push(o.address);
      }
      if (pending.length === 0) return { unallocated };
      const ips = pending.map((o) => ({
        address: o.address,
        ...(o.handleId === undefined ? {} : { handleId: o.handleId }),
        ...(o.sequenceNumber === undefined ? {} : { sequenceNumber: o.sequenceNumber.toString() }),
      }));
      const done = await askAndWait({ kind: 'releaseIPs', ips }, async () => {
        for (const o of pending) if (await held(o)) return undefined;
        return true;
      });
      if (done === undefined) throw unavailable(`releasing ${pending.map((o) => o.address).join(', ')}`);
      return { unallocated };
    },

    assignIP: async (args: AssignIPArgs) => refuse(`assigning ${args.ip} outside this node's blocks`),
  };
}
