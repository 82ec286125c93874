// What `tabby ipam release --ip|--handle` may release by hand (calico: calicoctl ipam release --ip, which calls
// ReleaseIPs; and ReleaseByHandle for a handle).
//
// calicoctl releases whatever it is given and says "IP address X is not assigned" for a free one. Tabby refuses,
// unless forced, what GC itself would keep (allocations.ts `allocationValidity`, Calico's kube-controllers rule): an
// address its pod still holds, a tunnel address of a node that exists, a Windows-reserved address. Releasing one of
// those frees it for the next pod while its owner still uses it — two pods, one address. An allocation whose owner
// IPAM cannot tell (no pod attributes) is released as calicoctl would.
// Pure: the caller lists blocks, handles, nodes and pods, then releases with each allocation's sequence number, so
// an address reassigned between this look and the release is not taken from its new owner.
import { cidrContainsIP, formatIP, parseCidr, parseIP } from '../net/index.js';
import { type AllocationRecord, type PodInfo, allocationValidity, allocationsOf } from './allocations.js';
import { ATTR_NAMESPACE, ATTR_NODE, ATTR_POD, type IPAMBlockData, type IPAMHandleData } from './model.js';

export interface ManualReleaseInput {
  blocks: readonly IPAMBlockData[];
  handles: readonly IPAMHandleData[];
  nodes: ReadonlySet<string>;
  pods: ReadonlyMap<string, PodInfo>;
}

export type ReleaseTarget = { ip: string } | { handle: string };

export type ManualReleasePlan =
  /** Release these allocations (each with the sequence number it was read at). */
  | { kind: 'release'; allocations: AllocationRecord[] }
  /** Nothing to release: the message says why (calicoctl's wording for an address). */
  | { kind: 'notFound'; message: string }
  /** In use: refused unless forced; `message` names the owner and the way round. */
  | { kind: 'inUse'; message: string; allocations: AllocationRecord[] };

/** Why GC would keep this allocation, in words; undefined when it would not (or cannot tell). */
export function keptBecause(
  a: AllocationRecord,
  nodes: ReadonlySet<string>,
  pods: ReadonlyMap<string, PodInfo>,
): string | undefined {
  if (allocationValidity(a, nodes, pods) !== 'valid') return undefined;
  switch (a.kind) {
    case 'pod':
      return `in use by pod ${a.attrs[ATTR_NAMESPACE]}/${a.attrs[ATTR_POD]}${a.node ? ` on node ${a.node}` : ''}`;
    case 'tunnel':
      return `the tunnel address of node ${a.attrs[ATTR_NODE] ?? a.node}, which exists`;
    case 'reserved':
      return 'reserved for Windows in its block';
    case 'other':
      return undefined;
  }
}

export function planManualRelease(target: ReleaseTarget, input: ManualReleaseInput, force: boolean): ManualReleasePlan {
  let allocations: AllocationRecord[];
  if ('ip' in target) {
    const ip = parseIP(target.ip);
    const address = formatIP(ip);
    allocations = input.blocks
      .filter((b) => !b.deleted && cidrContainsIP(parseCidr(b.cidr), ip))
      .flatMap((b) => allocationsOf(b))
      .filter((a) => a.address === address);
    if (allocations.length === 0) return { kind: 'notFound', message: `IP address ${target.ip} is not assigned` };
  } else {
    const handle = input.handles.find((h) => h.handleID === target.handle && !h.deleted);
    if (handle === undefined) return { kind: 'notFound', message: `handle ${target.handle} does not exist` };
    const cidrs = new Set(Object.keys(handle.block));
    // The handle's own record lists its blocks; a handle object lost (or never written) leaves its allocations
    // findable only by scanning every block, which Calico's ReleaseByHandle does not do: neither do we.
    allocations = input.blocks
      .filter((b) => !b.deleted && cidrs.has(b.cidr))
      .flatMap((b) => allocationsOf(b))
      .filter((a) => a.handleId === target.handle);
    if (allocations.length === 0) {
      return { kind: 'notFound', message: `handle ${target.handle} holds no address` };
    }
  }
  if (!force) {
    const reasons = allocations
      .map((a) => ({ a, why: keptBecause(a, input.nodes, input.pods) }))
      .filter((x) => x.why !== undefined);
    if (reasons.length > 0) {
      const list = reasons.map((x) => `${x.a.address} is ${x.why}`).join('; ');
      return {
        kind: 'inUse',
        allocations,
        message: `${list}: releasing it would let IPAM give it to another pod while it is still used; refused (--force releases it anyway)`,
      };
    }
  }
  return { kind: 'release', allocations };
}
