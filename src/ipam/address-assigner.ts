// The node agent's allocator: assigns and releases addresses only inside the blocks affine to its own node
// (ARCHITECTURE.md "One writer per IPAM block"), for the CNI plugin.
//
// Inputs: a BlockStore, an IpamView (pools, config, node labels — from caches), the node name, and a BlockSource
// (the operator's BlockClaimer) for new blocks, borrowing and addresses outside the node's blocks.
// Outputs: IpAllocator results with Calico's semantics (same table tests as CalicoStyleAllocator).
//
// How it avoids conflicts and reads:
// - Restore before allocate: the first call lists blocks and affinities once and keeps the node's confirmed blocks
//   with their versions. Afterwards the agent knows every version it wrote, so the hot path reads nothing; a
//   conflict (the operator borrowed from, GC'd or released one of its blocks) costs one read of that block.
// - Group commit: requests queue; one round takes every queued request, plans them all against working copies of
//   the blocks (assign-round.ts, pure: `planRound`), then commits: (a) one handle write per handle (the increments,
//   before the block write — I3), (b) one CAS write per touched block, (c) the decrements of releases (after the
//   block write), and answers each request as `roundResults` says. Requests arriving while a round is in flight form
//   the next round, so N concurrent assignments in one block cost one block write.
// - Nothing else writes the node's blocks except the operator (borrowing when the pool is full, GC, releasing an
//   affinity), so conflicts are rare by design; a failed block write undoes that block's handle increments and
//   puts its requests back in the queue (bounded rounds).
// - When the node's blocks are full the agent asks the BlockSource for a block (normally pre-claimed already);
//   blockLimit ⇒ Calico's error without borrowing; no free blocks ⇒ borrow through the operator unless strict.
import {
  blockContaining,
  cidrContainsIP,
  compareCidr,
  formatCidr,
  formatIP,
  ipAtOffset,
  ipOffset,
  parseCidr,
  parseIP,
} from '../net/index.js';
import {
  type AssignIPArgs,
  type AutoAssignArgs,
  type AutoAssignResult,
  type IpAllocator,
  type IpamView,
  type ReleaseOptions,
  type ReleaseResult,
  addMsg,
  newAssignments,
  reservationsOf,
} from './allocator.js';
import {
  type AddressRelease,
  type AssignOp,
  type HandleDeltas,
  type Op,
  type OwnBlock,
  type RoundPlan,
  Reply,
  decrementsAfter,
  incrementedHandle,
  planRound,
  roundResults,
} from './assign-round.js';
import type { BlockSource } from './block-claimer.js';
import { type BlockStore, type Versioned, blockKey, handleKey } from './block-store.js';
import { bumpSequence, ordinalsOfHandle } from './block.js';
import { DATASTORE_RETRIES, IpamError, isIpamError, nodeRef, retriesExhausted } from './errors.js';
import { adjustHandle } from './handles.js';
import { type IPAMBlockData, type IPAMHandleData, affinityIsConfirmed, hostAffinity } from './model.js';
import { nodeOrThrow } from './calico-style-allocator.js';
import { addressesOfHandle } from './releases.js';
import { choosePools, enabledPools, poolOfAddress } from './pools.js';

export interface AddressAssignerDeps {
  store: BlockStore;
  view: IpamView;
  node: string;
  source: BlockSource;
}

/** Counters for benchmarks and metrics. */
export interface AssignerStats {
  rounds: number;
  blockWrites: number;
  blockConflicts: number;
  handleWrites: number;
  claimsRequested: number;
}

export class AddressAssigner implements IpAllocator {
  readonly node: string;
  readonly stats: AssignerStats = { rounds: 0, blockWrites: 0, blockConflicts: 0, handleWrites: 0, claimsRequested: 0 };
  private readonly own = new Map<string, OwnBlock>();
  /** Handle versions this agent wrote last (lets decrements skip the read). */
  private readonly handles = new Map<string, Versioned<IPAMHandleData>>();
  private queue: Op[] = [];
  private pumping = false;
  private restored: Promise<void> | undefined;

  constructor(private readonly deps: AddressAssignerDeps) {
    this.node = deps.node;
  }

  /** Restore before allocate: the node's confirmed blocks, read once. Called by the first request if not before. */
  restore(): Promise<void> {
    this.restored ??= (async () => {
      const [blocks, affs] = await Promise.all([this.deps.store.blocks.list(), this.deps.store.affinities.list()]);
      const confirmed = new Set(
        affs.filter((a) => a.value.node === this.node && affinityIsConfirmed(a.value)).map((a) => a.value.cidr),
      );
      for (const b of blocks) {
        if (b.value.affinity === hostAffinity(this.node) && confirmed.has(b.value.cidr)) this.adopt(b);
      }
    })().catch((e: unknown) => {
      // A failed restore is retried by the next request rather than remembered.
      this.restored = undefined;
      throw e;
    });
    return this.restored;
  }

  /** Feed from a watch (or a claim's result): a block that is, or stopped being, this node's. */
  observeBlock(cidrText: string, block: Versioned<IPAMBlockData> | undefined): void {
    if (block === undefined || block.value.affinity !== hostAffinity(this.node)) this.own.delete(cidrText);
    else this.adopt(block);
  }

  /** Blocks the agent currently assigns from (for tests and status). */
  ownBlocks(): string[] {
    return [...this.own.keys()].sort();
  }

  private adopt(b: Versioned<IPAMBlockData>): void {
    this.own.set(b.value.cidr, { cidr: parseCidr(b.value.cidr), current: b });
  }

  private ownBlockOf(address: string): OwnBlock | undefined {
    const ip = parseIP(address);
    for (const ob of this.own.values()) if (cidrContainsIP(ob.cidr, ip)) return ob;
    return undefined;
  }

  /** Queues a request and resolves with its answer (each request is answered once: see Reply). */
  private submit<T>(request: (reply: Reply<T>) => Op): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push(request(new Reply(resolve, reject)));
      if (!this.pumping) {
        this.pumping = true;
        void this.pump();
      }
    });
  }

  private async pump(): Promise<void> {
    try {
      // Let requests issued in the same tick join the first round.
      await Promise.resolve();
      while (this.queue.length > 0) {
        const ops = this.queue.splice(0).filter((op) => !op.reply.settled);
        try {
          await this.round(ops);
        } catch (e) {
          for (const op of ops) op.reply.fail(asError(e));
        }
      }
    } finally {
      this.pumping = false;
    }
  }

  private requeue(op: Op): void {
    if (op.reply.settled) return;
    op.rounds++;
    if (op.rounds > DATASTORE_RETRIES) op.reply.fail(retriesExhausted(nodeRef(this.node)));
    else this.queue.push(op);
  }

  // --- one group-commit round -------------------------------------------------------------------------------------

  /** Plans the round (assign-round.ts), then commits it: handle increments, block writes, decrements, answers. */
  private async round(ops: Op[]): Promise<void> {
    this.stats.rounds++;
    const plan = planRound(this.own, ops, this.node);
    for (const e of plan.early) {
      if (e.kind === 'refuse') e.op.reply.fail(e.error);
      else {
        const op = e.op;
        void this.deps.source.releaseIPs(op.releases.map((r) => releaseOption(r))).then(
          (r) => op.reply.ok(r.unallocated),
          (err: unknown) => op.reply.fail(asError(err)),
        );
      }
    }
    if (!(await this.writeIncrements(plan))) return;
    const failed = await this.writeBlocks(plan);
    const survives = await this.writeDecrements(decrementsAfter(plan, failed));
    await this.writeSettles(plan);

    const needMore: AssignOp[] = [];
    for (const r of roundResults(plan, failed, survives)) {
      if (r.kind === 'assign') {
        r.op.ia.ips.push(...r.addresses);
        if (r.next === 'needMore') {
          needMore.push(r.op);
          continue;
        }
      }
      if (r.next === 'retry') this.requeue(r.op);
      else if (r.kind === 'release') r.op.reply.ok(r.unallocated);
      else if (r.kind === 'releaseHandle') r.op.reply.ok(r.gone);
      else r.op.reply.ok();
    }
    if (needMore.length > 0) await this.getMoreSpace(needMore);
  }

  /**
   * (a) Handle increments before any block write (I3). When one fails, no block is written this round: the requests
   * of that handle fail, the other increments are undone and every other request goes back to the queue.
   */
  private async writeIncrements(plan: RoundPlan): Promise<boolean> {
    const incFailed = new Set<string>();
    const incDone: [string, Record<string, number>][] = [];
    await Promise.all(
      [...plan.increments].map(async ([h, delta]) => {
        try {
          const known = this.handles.get(handleKey(h));
          this.cacheHandle(h, await adjustHandle(this.deps.store, h, delta, known, this.node));
          this.stats.handleWrites++;
          incDone.push([h, delta]);
        } catch (e) {
          incFailed.add(h);
          for (const op of plan.active) if (incrementedHandle(op) === h) op.reply.fail(asError(e));
        }
      }),
    );
    if (incFailed.size === 0) return true;
    await Promise.all(incDone.map(([h, d]) => this.adjust(h, negate(d))));
    for (const op of plan.active) {
      const h = incrementedHandle(op);
      if (h === null || !incFailed.has(h)) this.requeue(op);
    }
    return false;
  }

  /** (b) One CAS write per touched block; returns the blocks whose write failed (each then read again). */
  private async writeBlocks(plan: RoundPlan): Promise<Set<string>> {
    const failed = new Set<string>();
    await Promise.all(
      [...plan.work].map(async ([cidr, w]) => {
        if (!w.dirty) return;
        bumpSequence(w.next);
        this.stats.blockWrites++;
        const r = await this.deps.store.blocks.update(w.next, w.own.current.version);
        if (r.ok) {
          this.adopt({ value: r.value, version: r.version });
          return;
        }
        this.stats.blockConflicts++;
        failed.add(cidr);
        const fresh = r.reason === 'notFound' ? undefined : await this.deps.store.blocks.get(blockKey(cidr));
        this.observeBlock(cidr, fresh);
      }),
    );
    return failed;
  }

  /** (c) The decrements; returns per handle whether it still exists afterwards. */
  private async writeDecrements(decrements: HandleDeltas): Promise<Map<string, boolean>> {
    const survives = new Map<string, boolean>();
    await Promise.all([...decrements].map(async ([h, d]) => survives.set(h, await this.adjust(h, d))));
    return survives;
  }

  /**
   * (d) Handle repairs (assign-round.ts, SettleHandleOp): one compare-and-swap on the version read, never retried — a
   * handle that changed since is left to the next DEL or to GC (its over-count repair).
   */
  private async writeSettles(plan: RoundPlan): Promise<void> {
    await Promise.all(
      [...plan.settles].map(async ([op, block]) => {
        const { value, version } = op.handle;
        const key = handleKey(value.handleID);
        this.stats.handleWrites++;
        let after: Versioned<IPAMHandleData> | undefined;
        if (Object.keys(block).length === 0) {
          const r = await this.deps.store.handles.delete(key, version);
          if (!r.ok && r.reason === 'conflict') return;
        } else {
          const r = await this.deps.store.handles.update({ ...value, block }, version);
          if (!r.ok && r.reason === 'conflict') return;
          if (r.ok) after = { value: r.value, version: r.version };
        }
        this.cacheHandle(value.handleID, after);
      }),
    );
  }

  /** Requests whose pools have no free address in the node's blocks: a new block, or Calico's fallbacks. */
  private async getMoreSpace(ops: AssignOp[]): Promise<void> {
    const groups = new Map<string, AssignOp[]>();
    for (const op of ops) {
      const key = `${op.ia.ipVersion}|${op.maxBlocksPerHost}|${op.pools.map((p) => p.name).join(',')}`;
      const g = groups.get(key) ?? [];
      g.push(op);
      groups.set(key, g);
    }
    const config = this.deps.view.config();
    for (const group of groups.values()) {
      const first = group[0]!;
      this.stats.claimsRequested++;
      let outcome;
      try {
        outcome = await this.deps.source.ensureBlock({
          node: this.node,
          family: first.ia.ipVersion,
          pools: first.pools.map((p) => p.name),
          maxBlocksPerHost: first.maxBlocksPerHost,
        });
      } catch (e) {
        for (const op of group) op.reply.fail(asError(e));
        continue;
      }
      switch (outcome.kind) {
        case 'block':
          this.observeBlock(outcome.block.value.cidr, outcome.block);
          for (const op of group) this.requeue(op);
          break;
        case 'blockLimit': {
          const msg = `Need to allocate an IPAM block but could not - limit of ${outcome.limit} blocks reached for this node`;
          for (const op of group) {
            addMsg(op.ia, msg);
            op.reply.fail(new IpamError('blockLimit', nodeRef(this.node), msg));
          }
          break;
        }
        case 'autoAllocateDisabled':
          for (const op of group)
            op.reply.fail(new IpamError('noFreeBlocks', nodeRef(this.node), 'failed to find or claim a block'));
          break;
        case 'noFreeBlocks':
          for (const op of group) {
            if (config.strictAffinity) {
              addMsg(op.ia, 'No more free affine blocks and strict affinity enabled');
              op.reply.ok();
              continue;
            }
            try {
              const r = await this.deps.source.borrow({
                node: this.node,
                family: op.ia.ipVersion,
                pools: op.pools,
                num: op.ia.numRequested - op.ia.ips.length,
                handleId: op.handleId,
                attrs: op.attrs,
              });
              op.ia.ips.push(...r.ips);
              for (const m of r.msgs) addMsg(op.ia, m);
              if (op.handleId !== null && r.handle !== undefined) this.cacheHandle(op.handleId, r.handle);
              op.reply.ok();
            } catch (e) {
              op.reply.fail(asError(e));
            }
          }
          break;
      }
    }
  }

  private cacheHandle(handleId: string, v: Versioned<IPAMHandleData> | undefined): void {
    if (v === undefined) this.handles.delete(handleKey(handleId));
    else this.handles.set(handleKey(handleId), v);
  }

  /** Returns whether the handle still exists afterwards. */
  private async adjust(handleId: string, delta: Record<string, number>): Promise<boolean> {
    this.stats.handleWrites++;
    const v = await adjustHandle(this.deps.store, handleId, delta, this.handles.get(handleKey(handleId)), this.node);
    this.cacheHandle(handleId, v);
    return v !== undefined;
  }

  // --- IpAllocator ------------------------------------------------------------------------------------------------

  async autoAssign(args: AutoAssignArgs): Promise<AutoAssignResult> {
    const result: AutoAssignResult = {};
    if (args.node !== this.node) {
      result.error = new IpamError(
        'notOwnBlock',
        nodeRef(args.node),
        `the agent of node ${this.node} assigns only for its own node`,
      );
      return result;
    }
    await this.restore();
    for (const family of [4, 6] as const) {
      const num = family === 4 ? args.num4 : args.num6;
      if (num <= 0) continue;
      const ia = newAssignments(family, num);
      if (family === 4) result.v4 = ia;
      else result.v6 = ia;
      try {
        const node = nodeOrThrow(this.deps.view, this.node);
        const requested = family === 4 ? args.ipv4Pools : args.ipv6Pools;
        const { usable } = choosePools(this.deps.view.pools(), {
          family,
          node,
          use: args.use,
          ...(requested === undefined ? {} : { requested }),
          ...(args.namespaceLabels === undefined ? {} : { namespaceLabels: args.namespaceLabels }),
        });
        await this.submit<void>((reply) => ({
          kind: 'assign',
          ia,
          handleId: args.handleId,
          attrs: args.attrs,
          pools: usable,
          maxBlocksPerHost: args.maxBlocksPerHost ?? 0,
          reservations: reservationsOf(this.deps.view),
          rounds: 0,
          reply,
        }));
      } catch (e) {
        if (!isIpamError(e)) throw e;
        result.error = e;
        return result;
      }
    }
    return result;
  }

  async assignIP(args: AssignIPArgs): Promise<void> {
    await this.restore();
    const ob = this.ownBlockOf(args.ip);
    if (args.node !== this.node || ob === undefined) {
      // Not in one of this node's blocks: claiming or assigning elsewhere is the operator's job.
      const ip = parseIP(args.ip);
      if (poolOfAddress(enabledPools(this.deps.view.pools(), ip.family), ip) === undefined) {
        throw new IpamError(
          'notInPool',
          nodeRef(args.node),
          `The provided IP address is not in a configured pool (${args.ip})`,
        );
      }
      await this.deps.source.assignIP(args);
      // Rare path: learn what the operator wrote (a block it claimed for us, the handle spanning a foreign block).
      const pool = poolOfAddress(this.deps.view.pools(), ip);
      if (pool !== undefined) {
        const cidrText = formatCidr(blockContaining(pool.cidr, pool.blockSize, ip));
        this.observeBlock(cidrText, await this.deps.store.blocks.get(blockKey(cidrText)));
      }
      if (args.handleId !== null)
        this.cacheHandle(args.handleId, await this.deps.store.handles.get(handleKey(args.handleId)));
      return;
    }
    await this.submit<void>((reply) => ({
      kind: 'assignOrdinal',
      cidrText: ob.current.value.cidr,
      ordinal: ipOffset(ob.cidr, parseIP(args.ip)),
      handleId: args.handleId,
      attrs: args.attrs,
      address: args.ip,
      rounds: 0,
      reply,
    }));
  }

  async releaseIPs(opts: readonly ReleaseOptions[]): Promise<ReleaseResult> {
    await this.restore();
    const byBlock = new Map<string, AddressRelease[]>();
    const elsewhere: ReleaseOptions[] = [];
    for (const o of opts) {
      if (o.address === '')
        throw new IpamError('invalidRequest', nodeRef(this.node), 'No IP address specified in options');
      const ob = this.ownBlockOf(o.address);
      if (ob === undefined) {
        elsewhere.push(o);
        continue;
      }
      const list = byBlock.get(ob.current.value.cidr) ?? [];
      list.push({
        address: o.address,
        ordinal: ipOffset(ob.cidr, parseIP(o.address)),
        ...(o.handleId === undefined ? {} : { handleId: o.handleId }),
        ...(o.sequenceNumber === undefined ? {} : { sequenceNumber: o.sequenceNumber }),
      });
      byBlock.set(ob.current.value.cidr, list);
    }
    const parts = await Promise.all([
      ...[...byBlock].map(([cidrText, releases]) =>
        this.submit<string[]>((reply) => ({ kind: 'release', cidrText, releases, rounds: 0, reply })),
      ),
      elsewhere.length > 0 ? this.deps.source.releaseIPs(elsewhere).then((r) => r.unallocated) : Promise.resolve([]),
    ]);
    return { unallocated: parts.flat() };
  }

  /**
   * From the node's blocks and the handles this agent wrote, without a store read (the CNI's idempotent ADD asks on
   * every pod start). Borrowed addresses of a handle written before this agent's last restart are not seen here;
   * releaseByHandle still finds them (it reads the handle when it does not know it).
   */
  async ipsByHandle(handleId: string): Promise<string[]> {
    await this.restore();
    const out: string[] = [];
    for (const ob of [...this.own.values()].sort((a, b) => compareCidr(a.cidr, b.cidr))) {
      for (const o of ordinalsOfHandle(ob.current.value, handleId)) out.push(formatIP(ipAtOffset(ob.cidr, o)));
    }
    const known = this.handles.get(handleKey(handleId));
    const others = Object.keys(known?.value.block ?? {}).filter((c) => !this.own.has(c));
    if (others.length > 0) out.push(...(await addressesOfHandle(this.deps.store, handleId, others)));
    return out;
  }

  async releaseByHandle(handleId: string): Promise<void> {
    await this.restore();
    const gone = await this.submit<boolean>((reply) => ({ kind: 'releaseHandle', handleId, rounds: 0, reply }));
    if (gone) return;
    // The handle outlived the release: it lists addresses outside our blocks (borrowed), or it still counts
    // addresses our blocks no longer hold (an earlier release stopped between its block write and its handle write).
    // Read from the store, not the cache: that interrupted write may have reached the apiserver.
    const stored = await this.deps.store.handles.get(handleKey(handleId));
    if (stored === undefined) return;
    if (Object.keys(stored.value.block).some((c) => this.own.has(c)))
      await this.submit<void>((reply) => ({
        kind: 'settleHandle',
        handle: stored,
        rounds: 0,
        reply,
      }));
    const others = Object.keys(stored.value.block).filter((c) => !this.own.has(c));
    if (others.length > 0) await this.deps.source.releaseHandleIn(handleId, others);
  }
}

function negate(d: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(d)) out[k] = -v;
  return out;
}

function asError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}

function releaseOption(r: AddressRelease): ReleaseOptions {
  return {
    address: r.address,
    ...(r.handleId === undefined ? {} : { handleId: r.handleId }),
    ...(r.sequenceNumber === undefined ? {} : { sequenceNumber: r.sequenceNumber }),
  };
}
