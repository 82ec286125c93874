// Calico's allocation algorithm, as libcalico-go runs it in every CNI invocation: any allocator may claim blocks
// and assign anywhere, and every call reads what it needs from the store (calico: libcalico-go/lib/ipam/ipam.go
// autoAssign, findOrClaimBlock, AssignIP, ReleaseIPs, ReleaseByHandle).
//
// Inputs: a BlockStore, an IpamView (pools, IPAMConfiguration, node labels), a clock and a random source.
// Outputs: IpAllocator results; all state lives in the store.
//
// Production code, in the operator only — the one process that may claim blocks anywhere (ARCHITECTURE.md "One
// writer per IPAM block"): it assigns the nodes' IPIP/VXLAN tunnel addresses (operator/ipam-sync.ts, through
// tunnel-addresses.ts) and serves an agent's request for a specific address outside its own blocks
// (BlockClaimer.assignIP). Pod addresses are assigned by the agents' AddressAssigner instead, which never claims.
// It is also the semantic reference the shared table tests hold AddressAssigner to, and the "every allocator
// claims" side of bench/ipam.bench.ts's comparison of CAS conflicts.
// Algorithm per family (see calico-reference.md §3.3):
// 1. choose pools (pools.ts); list the node's affinities; release empty affine blocks whose pool stopped selecting
//    the node; cap = effectiveBlockLimit.
// 2. until enough: use the node's affine blocks in CIDR order (repairing pending/stale affinities on the way); else
//    claim a new block (block-search.ts), unless the cap is reached (blockLimit, no borrowing) or
//    autoAllocateBlocks is off; no free block ⇒ stop (message when strictAffinity).
// 3. if still short and not strictAffinity: borrow from existing blocks of the usable pools, in each pool's
//    node-seeded order; report "No IPs available in pools: [...]" for pools walked without success.
import {
  type Cidr,
  type IPFamily,
  blockContaining,
  compareCidr,
  formatCidr,
  ipOffset,
  parseCidr,
  parseIP,
} from '../net/index.js';
import {
  type NewBlockOutcome,
  claimBlock,
  claimNewBlock,
  releaseBlockAffinity,
  repairAffinity,
} from './affinity-claims.js';
import {
  type AssignIPArgs,
  type AutoAssignArgs,
  type AutoAssignResult,
  type IPAMAssignments,
  type IpAllocator,
  type IpamView,
  type ReleaseOptions,
  type ReleaseResult,
  addMsg,
  newAssignments,
  reservationsOf,
} from './allocator.js';
import { borrowAddresses } from './borrowing.js';
import { type BlockStore, type Versioned, affinityKey, blockKey } from './block-store.js';
import { assignInBlock, assignOrdinalInBlock } from './block-writes.js';
import { DATASTORE_RETRIES, IpamError, blockRef, isIpamError, nodeRef, retriesExhausted } from './errors.js';
import {
  type BlockAffinityData,
  type IPAMBlockData,
  type NodeInfo,
  affinityIsConfirmed,
  effectiveBlockLimit,
  hostAffinity,
} from './model.js';
import { type IpamPool, choosePools, enabledPools, poolContaining, poolOfAddress, poolSelectsNode } from './pools.js';
import { addressesOfHandle, releaseAddresses, releaseHandleEverywhere } from './releases.js';
import { type Reservations, freeAddresses } from './reservations.js';

export interface AllocatorDeps {
  store: BlockStore;
  view: IpamView;
  /** ms since the epoch. */
  clock: () => number;
  /** Uniform in [0, 1). */
  random: () => number;
}

type FoundBlock = NewBlockOutcome | { kind: 'blockLimit' } | { kind: 'autoAllocateDisabled' };

export function nodeOrThrow(view: IpamView, name: string): NodeInfo {
  if (name === '') throw new IpamError('invalidRequest', nodeRef(name), 'Hostname must be specified');
  const node = view.node(name);
  if (node === undefined) throw new IpamError('invalidRequest', nodeRef(name), `node ${name} does not exist`);
  return node;
}

/** The node's host affinities of one family, in CIDR order (our stand-in for Calico's list order). */
export function affinitiesOf(all: readonly Versioned<BlockAffinityData>[], node: string, family: IPFamily) {
  return all
    .filter((a) => a.value.node === node && a.value.type === 'host')
    .map((a) => ({ aff: a, cidr: parseCidr(a.value.cidr) }))
    .filter((x) => x.cidr.family === family)
    .sort((x, y) => compareCidr(x.cidr, y.cidr));
}

export class CalicoStyleAllocator implements IpAllocator {
  constructor(private readonly deps: AllocatorDeps) {}

  async autoAssign(args: AutoAssignArgs): Promise<AutoAssignResult> {
    const result: AutoAssignResult = {};
    for (const family of [4, 6] as const) {
      const num = family === 4 ? args.num4 : args.num6;
      if (num <= 0) continue;
      const ia = newAssignments(family, num);
      if (family === 4) result.v4 = ia;
      else result.v6 = ia;
      try {
        await this.autoAssignFamily(family, ia, args);
      } catch (e) {
        if (!isIpamError(e)) throw e;
        result.error = e;
        return result;
      }
    }
    return result;
  }

  private async autoAssignFamily(family: IPFamily, ia: IPAMAssignments, args: AutoAssignArgs): Promise<void> {
    const { store, view } = this.deps;
    const node = nodeOrThrow(view, args.node);
    const requested = family === 4 ? args.ipv4Pools : args.ipv6Pools;
    const choice = choosePools(view.pools(), {
      family,
      node,
      use: args.use,
      ...(requested === undefined ? {} : { requested }),
      ...(args.namespaceLabels === undefined ? {} : { namespaceLabels: args.namespaceLabels }),
    });
    const config = view.config();
    const reservations = reservationsOf(view);
    // The node's own affinities: from the store's by-node index when it has one (a node's tunnel address or pod start
    // must not list every affinity in the cluster).
    const own = store.nodeView ? (await store.nodeView(node.name)).affinities : await store.affinities.list();
    const mine = affinitiesOf(own, node.name, family);
    const allowed: Cidr[] = [];
    for (const { aff, cidr } of mine) {
      if (poolContaining(choice.usable, cidr) !== undefined) allowed.push(cidr);
      else if (poolContaining(choice.selectingNode, cidr) === undefined) {
        // Best effort, as Calico: an empty block of a pool that no longer selects this node goes back. The block's own
        // pool is asked, not the request's: a request naming other pools (a tunnel address, an annotation) must not
        // take a node's block of a pool that still selects it (calico: prepareAffinityBlocksForHost, SelectsNode);
        // a block in no pool is left alone, as Calico leaves it.
        const own = poolContaining(view.pools(), cidr);
        if (own !== undefined && !poolSelectsNode(own, node)) {
          await releaseBlockAffinity(store, node.name, aff.value.cidr, { requireEmpty: true });
        }
      }
    }
    let owned = allowed.length;
    const limit = effectiveBlockLimit(config, args.maxBlocksPerHost ?? 0);
    const remaining = [...allowed];
    for (let guard = 0; ia.ips.length < ia.numRequested; guard++) {
      if (guard > DATASTORE_RETRIES * 4) throw retriesExhausted(nodeRef(node.name));
      const found = await this.findOrClaimBlock(
        node.name,
        choice.usable,
        remaining,
        owned < limit,
        config.autoAllocateBlocks,
        reservations,
      );
      if (found.kind === 'noFreeBlocks') {
        if (config.strictAffinity) addMsg(ia, 'No more free affine blocks and strict affinity enabled');
        break;
      }
      if (found.kind === 'blockLimit') {
        const msg = `Need to allocate an IPAM block but could not - limit of ${limit} blocks reached for this node`;
        addMsg(ia, msg);
        throw new IpamError('blockLimit', nodeRef(node.name), msg);
      }
      if (found.kind === 'autoAllocateDisabled') {
        throw new IpamError('noFreeBlocks', nodeRef(node.name), 'failed to find or claim a block');
      }
      if (found.newlyClaimed) owned++;
      const reserved = reservations.ordinalFilter(parseCidr(found.block.value.cidr));
      const out = await assignInBlock(store, found.block, {
        num: ia.numRequested - ia.ips.length,
        handleId: args.handleId,
        attrs: args.attrs,
        ...(config.strictAffinity ? { requireAffinity: node.name } : {}),
        ...(reserved === undefined ? {} : { reserved }),
      });
      if (out.kind === 'assigned') ia.ips.push(...out.ips);
    }
    if (!config.strictAffinity && ia.ips.length < ia.numRequested) {
      await this.borrow(node.name, choice.usable, ia, args);
    }
  }

  private async findOrClaimBlock(
    node: string,
    pools: readonly IpamPool[],
    remaining: Cidr[],
    allowNewClaim: boolean,
    autoAllocate: boolean,
    reservations: Reservations,
  ): Promise<FoundBlock> {
    const { store } = this.deps;
    while (remaining.length > 0) {
      const cidr = remaining.shift()!;
      if (reservations.matchesWholeCidr(cidr)) continue;
      const aff = await store.affinities.get(affinityKey(node, formatCidr(cidr)));
      if (aff === undefined) continue;
      const block = await this.blockFromAffinity(aff, cidr);
      if (block !== undefined && freeAddresses(block.value, reservations) >= 1) {
        return { kind: 'block', block, newlyClaimed: false };
      }
    }
    if (!allowNewClaim) return { kind: 'blockLimit' };
    if (!autoAllocate) return { kind: 'autoAllocateDisabled' };
    return claimNewBlock(this.deps, node, pools);
  }

  /** calico: getBlockFromAffinity — the affinity's block, creating/confirming it, or undefined when stale. */
  private async blockFromAffinity(
    aff: Versioned<BlockAffinityData>,
    cidr: Cidr,
  ): Promise<Versioned<IPAMBlockData> | undefined> {
    const { store } = this.deps;
    const block = await store.blocks.get(blockKey(aff.value.cidr));
    if (
      block !== undefined &&
      block.value.affinity === hostAffinity(aff.value.node) &&
      affinityIsConfirmed(aff.value)
    ) {
      return block;
    }
    const r = await repairAffinity(store, aff, cidr, { now: this.deps.clock() });
    return r.kind === 'confirmed' ? r.block : undefined;
  }

  private async borrow(
    node: string,
    pools: readonly IpamPool[],
    ia: IPAMAssignments,
    args: AutoAssignArgs,
  ): Promise<void> {
    const r = await borrowAddresses(
      this.deps.store,
      this.deps.random,
      {
        node,
        family: ia.ipVersion,
        pools,
        num: ia.numRequested - ia.ips.length,
        handleId: args.handleId,
        attrs: args.attrs,
      },
      reservationsOf(this.deps.view),
    );
    ia.ips.push(...r.ips);
    for (const m of r.msgs) addMsg(ia, m);
  }

  async assignIP(args: AssignIPArgs): Promise<void> {
    const { store, view } = this.deps;
    const ip = parseIP(args.ip);
    nodeOrThrow(view, args.node);
    const pool = poolOfAddress(enabledPools(view.pools(), ip.family), ip);
    if (pool === undefined) {
      throw new IpamError(
        'notInPool',
        nodeRef(args.node),
        `The provided IP address is not in a configured pool (${args.ip})`,
      );
    }
    if (args.use !== undefined && !pool.allowedUses.includes(args.use)) {
      throw new IpamError(
        'noQualifiedPool',
        { kind: 'IPPool', name: pool.name },
        `pool does not allow use ${args.use}`,
      );
    }
    const config = view.config();
    const cidr = blockContaining(pool.cidr, pool.blockSize, ip);
    const key = blockKey(formatCidr(cidr));
    for (let i = 0; i < DATASTORE_RETRIES; i++) {
      let block = await store.blocks.get(key);
      if (block === undefined) {
        const c = await claimBlock(store, args.node, cidr, { now: this.deps.clock() });
        if (c.kind === 'taken') continue;
        block = c.block;
      }
      const r = await assignOrdinalInBlock(store, block, ipOffset(cidr, ip), {
        handleId: args.handleId,
        attrs: args.attrs,
        address: args.ip,
        ...(config.strictAffinity ? { requireAffinity: args.node } : {}),
      });
      if (r.kind === 'assigned') return;
    }
    throw retriesExhausted(blockRef(key));
  }

  async releaseIPs(opts: readonly ReleaseOptions[]): Promise<ReleaseResult> {
    return releaseAddresses(this.deps.store, this.deps.view.pools(), opts);
  }

  async releaseByHandle(handleId: string): Promise<void> {
    await releaseHandleEverywhere(this.deps.store, handleId);
  }

  ipsByHandle(handleId: string): Promise<string[]> {
    return addressesOfHandle(this.deps.store, handleId);
  }
}
