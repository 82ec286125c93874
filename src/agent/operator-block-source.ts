// Where an agent's AddressAssigner gets a new block when its own are full — without claiming it: claiming is the
// operator's job (ARCHITECTURE.md "One writer per IPAM block"), and in a real install the agent's RBAC and
// admission policy forbid it (it may change only blocks already affine to its node). The operator pre-claims a
// node's next block while free addresses remain (BlockClaimer's watermark), so this source mostly finds one at once.
// When it does not (a pod asked for pools that do not select the node, or a burst outran the pre-claim), it asks the
// operator through its Node's block-request annotation (block-demand.ts, src/api/block-request.ts) and waits briefly
// for a confirmed block of this node with room, then reports exhaustion (the CNI plugin returns an error the
// runtime retries). Borrowing and addresses outside the node's blocks are the operator's too: refused here, by name.
import type { BlockSource, EnsureBlockOutcome } from '../ipam/block-claimer.js';
import type { BlockDemand } from './block-demand.js';
import { freeCount } from '../ipam/block.js';
import { blockKey, type BlockStore } from '../ipam/block-store.js';
import { IpamError, nodeRef } from '../ipam/errors.js';
import { affinityIsConfirmed, hostAffinity } from '../ipam/model.js';
import type { IpamView } from '../ipam/allocator.js';
import { poolContaining } from '../ipam/pools.js';
import { parseCidr } from '../net/index.js';

export interface OperatorBlockSourceOptions {
  store: BlockStore;
  view: IpamView;
  node: string;
  /** How long to wait for the operator's pre-claimed block (ms). */
  waitMs?: number;
  pollMs?: number;
  /**
   * Where to say that the node lacks a block with room in these pools (its Node's annotation): the operator's
   * pre-claim covers the pools that select the node, not pools a pod asked for by annotation. Absent: only wait.
   */
  demand?: BlockDemand;
  sleep?: (ms: number) => Promise<void>;
}

export function createOperatorBlockSource(opts: OperatorBlockSourceOptions): BlockSource {
  const waitMs = opts.waitMs ?? 5000;
  const pollMs = opts.pollMs ?? 250;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const refuse = (what: string): never => {
    throw new IpamError(
      'invalidRequest',
      nodeRef(opts.node),
      `${what} is done by the operator, not the node agent (one writer per IPAM block)`,
    );
  };
  /** A confirmed block of this node's, in one of the pools, with a free address. */
  async function findBlock(req: Parameters<BlockSource['ensureBlock']>[0]) {
    const affinities = await opts.store.affinities.list();
    for (const a of affinities) {
      const aff = a.value;
      if (aff.node !== req.node || aff.type !== 'host' || !affinityIsConfirmed(aff)) continue;
      const cidr = parseCidr(aff.cidr);
      if (cidr.family !== req.family) continue;
      const allowed = opts.view.pools().filter((p) => req.pools.includes(p.name));
      if (poolContaining(allowed, cidr) === undefined) continue;
      const b = await opts.store.blocks.get(blockKey(aff.cidr));
      if (!b || b.value.affinity !== hostAffinity(req.node) || freeCount(b.value) === 0) continue;
      return b;
    }
    return undefined;
  }
  return {
    async ensureBlock(req): Promise<EnsureBlockOutcome> {
      let request: string | undefined;
      try {
        for (let waited = 0; ; waited += pollMs) {
          const found = await findBlock(req);
          if (found !== undefined) return { kind: 'block', block: found };
          if (waited >= waitMs) return { kind: 'noFreeBlocks' };
          request ??= opts.demand?.open(req.family, req.pools);
          await sleep(pollMs);
        }
      } finally {
        if (request !== undefined) opts.demand?.close(request);
      }
    },
    borrow: async () => refuse("borrowing from another node's block"),
    releaseIPs: async () => refuse("releasing addresses outside this node's blocks"),
    releaseHandleIn: async () => refuse("releasing a handle in another node's block"),
    assignIP: async () => refuse("assigning an address outside this node's blocks"),
  };
}
