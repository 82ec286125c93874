// Release paths that may touch any block (calico: libcalico-go/lib/ipam/ipam.go ReleaseIPs, ReleaseByHandle):
// used by the Calico-style allocator, by the operator for borrowed addresses, and by GC. The agent releases inside
// its own blocks itself (address-assigner.ts), batching writes.
import {
  blockContaining,
  cidrContainsIP,
  formatCidr,
  formatIP,
  ipAtOffset,
  ipOffset,
  parseCidr,
  parseIP,
} from '../net/index.js';
import type { ReleaseOptions, ReleaseResult } from './allocator.js';
import { type BlockStore, type Versioned, blockKey, handleKey } from './block-store.js';
import { attributeOf, ordinalsOfHandle } from './block.js';
import type { AddressLookup } from './tunnel-addresses.js';
import { type AddressRelease, releaseHandleInBlock, releaseInBlock } from './block-writes.js';
import { IpamError, nodeRef } from './errors.js';
import { decrementHandle } from './handles.js';
import type { IPAMBlockData } from './model.js';
import { type IpamPool, enabledPools, poolOfAddress } from './pools.js';

/**
 * calico: ReleaseIPs — groups addresses by block (the enabled pool's block, else an existing block holding the
 * address), releases per block; addresses in no block are returned as unallocated.
 */
export async function releaseAddresses(
  store: BlockStore,
  pools: readonly IpamPool[],
  opts: readonly ReleaseOptions[],
): Promise<ReleaseResult> {
  const unallocated: string[] = [];
  const byBlock = new Map<string, AddressRelease[]>();
  let listed: Versioned<IPAMBlockData>[] | undefined;
  for (const o of opts) {
    if (o.address === '') throw new IpamError('invalidRequest', nodeRef(''), 'No IP address specified in options');
    const ip = parseIP(o.address);
    const pool = poolOfAddress(enabledPools(pools, ip.family), ip);
    let cidrText: string | undefined;
    if (pool !== undefined) cidrText = formatCidr(blockContaining(pool.cidr, pool.blockSize, ip));
    else {
      listed ??= await store.blocks.list();
      cidrText = listed.find((b) => cidrContainsIP(parseCidr(b.value.cidr), ip))?.value.cidr;
    }
    if (cidrText === undefined) {
      unallocated.push(o.address);
      continue;
    }
    const list = byBlock.get(cidrText) ?? [];
    list.push({
      address: o.address,
      ...(o.handleId === undefined ? {} : { handleId: o.handleId }),
      ...(o.sequenceNumber === undefined ? {} : { sequenceNumber: o.sequenceNumber }),
    });
    byBlock.set(cidrText, list);
  }
  for (const [cidrText, list] of byBlock) unallocated.push(...(await releaseInBlock(store, cidrText, list)));
  return { unallocated };
}

/** calico: ReleaseByHandle — every block the handle lists, then the handle's counts. */
export async function releaseHandleEverywhere(store: BlockStore, handleId: string): Promise<void> {
  const h = await store.handles.get(handleKey(handleId));
  if (h === undefined) return;
  for (const cidrText of Object.keys(h.value.block)) {
    const n = await releaseHandleInBlock(store, cidrText, handleId);
    if (n > 0) await decrementHandle(store, handleId, cidrText, n);
  }
}

/** IPAM's record of one address (calico: GetAssignmentAttributes), looked up in the block that holds it. */
export async function lookupAddress(
  store: BlockStore,
  pools: readonly IpamPool[],
  address: string,
): Promise<AddressLookup> {
  const ip = parseIP(address);
  const pool = poolOfAddress(pools, ip);
  let block: Versioned<IPAMBlockData> | undefined;
  if (pool !== undefined)
    block = await store.blocks.get(blockKey(formatCidr(blockContaining(pool.cidr, pool.blockSize, ip))));
  else block = (await store.blocks.list()).find((b) => cidrContainsIP(parseCidr(b.value.cidr), ip));
  if (block === undefined) return { allocated: false };
  const ordinal = ipOffset(parseCidr(block.value.cidr), ip);
  const attribute = attributeOf(block.value, ordinal);
  return attribute === undefined ? { allocated: false } : { allocated: true, attribute };
}

/** calico: IPsByHandle — the addresses a handle holds, found through the blocks its IPAMHandle lists. */
export async function addressesOfHandle(
  store: BlockStore,
  handleId: string,
  onlyBlocks?: readonly string[],
): Promise<string[]> {
  const cidrs = onlyBlocks ?? Object.keys((await store.handles.get(handleKey(handleId)))?.value.block ?? {});
  const out: string[] = [];
  for (const cidrText of cidrs) {
    const b = await store.blocks.get(blockKey(cidrText));
    if (b === undefined) continue;
    const cidr = parseCidr(cidrText);
    for (const o of ordinalsOfHandle(b.value, handleId)) out.push(formatIP(ipAtOffset(cidr, o)));
  }
  return out;
}
