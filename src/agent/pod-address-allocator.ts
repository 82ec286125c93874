// Adapts src/ipam (the node's AddressAssigner and its BlockStore) to what the IPAM server serves the CNI plugin
// (ipam-server.ts PodAddressAllocator), with the CNI's semantics on top (calico: cni-plugin/pkg/ipamplugin):
// - Idempotent by handle: a handle that already holds addresses gets them back (a repeated ADD for the same
//   container must not take a second address).
// - All or nothing: if fewer addresses than asked could be assigned (pool exhausted, a specific address taken), what
//   was assigned is released by handle and the request fails; a pod never starts with half its families.
// - Attributes as Calico writes them: node, namespace, pod, timestamp.
// - IPAM history (src/ipam/history.ts): every assignment, failed assignment and release of a handle that held
//   addresses is told to `history`, naming the pod. The pod behind a handle is remembered from its assignment; after
//   an agent restart it is read from the allocation's attributes (one handle and one block read per DEL then).
// Requests are for one handle at a time (the server serialises per handle); different handles run concurrently and
// the AddressAssigner batches them.
import { type IPFamily, cidrMasked, formatCidr, formatIP, parseCidrLoose, parseIP } from '../net/index.js';
import {
  ATTR_NAMESPACE,
  ATTR_NODE,
  ATTR_POD,
  ATTR_TIMESTAMP,
  type BlockStore,
  type IpAllocator,
  type IpamDecision,
  type PodRef,
  IpamError,
  allocationsOf,
  blockKey,
  handleKey,
  partialFulfillmentMessage,
} from '../ipam/index.js';
import type { AssignedAddress } from '../api/agent-ipam-protocol.js';
import { type PodAddressAllocator, PodAllocationError } from './ipam-server.js';

export interface PodAddressAllocatorDeps {
  /** The node's allocator (AddressAssigner), assigning only in the node's blocks. */
  allocator: IpAllocator;
  /** The store the allocator writes, read here for a handle's current addresses. */
  store: BlockStore;
  node: string;
  now: () => Date;
  /** IPAM history: told each assignment, failed assignment and release. */
  history?: (d: IpamDecision) => void;
}

/** Handles whose pod is remembered: a node's pods many times over (kubelet's maxPods is 110). */
const REMEMBERED_HANDLES = 4096;

export function createPodAddressAllocator(deps: PodAddressAllocatorDeps): PodAddressAllocator {
  const history = deps.history;
  /** handle → the pod it was assigned for, oldest first. */
  const podOfHandle = new Map<string, PodRef | undefined>();
  const remember = (handleId: string, pod: PodRef | undefined): void => {
    podOfHandle.delete(handleId);
    podOfHandle.set(handleId, pod);
    if (podOfHandle.size > REMEMBERED_HANDLES) podOfHandle.delete(podOfHandle.keys().next().value as string);
  };

  /** The handle's addresses as the store holds them, with the pod their attributes name. */
  async function lookupHandle(handleId: string): Promise<{ addresses: AssignedAddress[]; pod?: PodRef }> {
    const handle = await deps.store.handles.get(handleKey(handleId));
    if (handle === undefined) return { addresses: [] };
    const out: AssignedAddress[] = [];
    let pod: PodRef | undefined;
    for (const [cidr, count] of Object.entries(handle.value.block)) {
      if (count <= 0) continue;
      const block = await deps.store.blocks.get(blockKey(cidr));
      if (block === undefined) continue;
      for (const a of allocationsOf(block.value)) {
        if (a.handleId !== handleId) continue;
        out.push({ address: a.address, family: parseIP(a.address).family, block: a.block });
        const ns = a.attrs[ATTR_NAMESPACE];
        const name = a.attrs[ATTR_POD];
        if (ns !== undefined && name !== undefined) pod = { namespace: ns, name };
      }
    }
    out.sort((x, y) => x.family - y.family);
    return pod === undefined ? { addresses: out } : { addresses: out, pod };
  }

  async function addressesByHandle(handleId: string): Promise<AssignedAddress[]> {
    return (await lookupHandle(handleId)).addresses;
  }

  /** What a release is about to free: from memory and the allocator's own view, else from the store. */
  async function heldBy(handleId: string): Promise<{ addresses: AssignedAddress[]; pod?: PodRef }> {
    if (!podOfHandle.has(handleId)) return lookupHandle(handleId);
    const pod = podOfHandle.get(handleId);
    const addresses = (await deps.allocator.ipsByHandle(handleId)).map((address) => ({
      address,
      family: parseIP(address).family,
    }));
    return pod === undefined ? { addresses } : { addresses, pod };
  }

  async function releaseByHandle(handleId: string): Promise<void> {
    if (history === undefined) return deps.allocator.releaseByHandle(handleId);
    const held = await heldBy(handleId);
    await deps.allocator.releaseByHandle(handleId);
    podOfHandle.delete(handleId);
    // A DEL of a handle that held nothing (a retried DEL, a sandbox that never got an address) decided nothing.
    if (held.addresses.length === 0) return;
    history({
      kind: 'released',
      node: deps.node,
      handleId,
      addresses: held.addresses.map(inBlock),
      ...(held.pod ? { pod: held.pod } : {}),
    });
  }

  async function releaseAfterFailure(handleId: string, cause: Error): Promise<never> {
    try {
      await deps.allocator.releaseByHandle(handleId);
    } catch (e) {
      throw new PodAllocationError(
        'internal',
        `${cause.message}; releasing the partial assignment of ${handleId} also failed: ${(e as Error).message}`,
      );
    }
    throw cause;
  }

  async function assign(
    req: Parameters<PodAddressAllocator['assign']>[0],
    looked: Parameters<PodAddressAllocator['assign']>[1],
    scope: Parameters<PodAddressAllocator['assign']>[2],
  ): Promise<AssignedAddress[]> {
    const existing = looked?.existing ?? (await addressesByHandle(req.handleId));
    // A repeated ADD gets the handle's addresses back: nothing new is decided, nothing recorded.
    if (existing.length > 0) return existing;
    const labels = scope?.namespaceLabels;
    if (history === undefined) return assignNew(req, labels);
    const pod = podOf(req.attrs);
    let out: AssignedAddress[];
    try {
      out = await assignNew(req, labels);
    } catch (e) {
      history({
        kind: 'assignFailed',
        node: deps.node,
        handleId: req.handleId,
        message: e instanceof Error ? e.message : String(e),
        ...(pod ? { pod } : {}),
      });
      throw e;
    }
    remember(req.handleId, pod);
    history({
      kind: 'assigned',
      node: deps.node,
      handleId: req.handleId,
      addresses: out.map(inBlock),
      ...(pod ? { pod } : {}),
    });
    return out;
  }

  return { addressesByHandle, releaseByHandle, assign };

  /** Assigns for a handle that holds nothing (all or nothing). */
  async function assignNew(
    req: Parameters<PodAddressAllocator['assign']>[0],
    /** The namespace's labels; undefined = none (Calico treats a pod without a namespace object so). */
    labels: Readonly<Record<string, string>> | undefined,
  ): Promise<AssignedAddress[]> {
    const node = req.attrs.node;
    const attrs: Record<string, string> = { [ATTR_NODE]: node, [ATTR_TIMESTAMP]: deps.now().toISOString() };
    if (req.attrs.namespace !== undefined) attrs[ATTR_NAMESPACE] = req.attrs.namespace;
    if (req.attrs.pod !== undefined) attrs[ATTR_POD] = req.attrs.pod;

    if (req.ipAddrs !== undefined) {
      const out: AssignedAddress[] = [];
      for (const text of req.ipAddrs) {
        const ip = parseIP(text);
        try {
          await deps.allocator.assignIP({ ip: formatIP(ip), handleId: req.handleId, attrs, node, use: 'Workload' });
        } catch (e) {
          return releaseAfterFailure(req.handleId, e as Error);
        }
        out.push({ address: formatIP(ip), family: ip.family });
      }
      return out;
    }

    const want = (f: IPFamily) => (req.families.includes(f) ? 1 : 0);
    const result = await deps.allocator.autoAssign({
      num4: want(4),
      num6: want(6),
      handleId: req.handleId,
      attrs,
      node,
      use: 'Workload',
      ...(req.ipv4Pools === undefined ? {} : { ipv4Pools: req.ipv4Pools }),
      ...(req.ipv6Pools === undefined ? {} : { ipv6Pools: req.ipv6Pools }),
      ...(labels === undefined ? {} : { namespaceLabels: labels }),
    });
    const out: AssignedAddress[] = [];
    for (const a of [result.v4, result.v6]) {
      if (a === undefined) continue;
      for (const withMask of a.ips) {
        const c = parseCidrLoose(withMask);
        out.push({ address: formatIP(c.address), family: c.family, block: formatCidr(cidrMasked(c)) });
      }
    }
    if (result.error !== undefined) return releaseAfterFailure(req.handleId, result.error);
    for (const a of [result.v4, result.v6]) {
      const short = a === undefined ? undefined : partialFulfillmentMessage(a);
      if (short !== undefined) {
        return releaseAfterFailure(req.handleId, new PodAllocationError('exhausted', short));
      }
    }
    if (out.length === 0) {
      return releaseAfterFailure(
        req.handleId,
        new IpamError('invalidRequest', { kind: 'Node', name: node }, 'no address family requested'),
      );
    }
    return out;
  }
}

function podOf(attrs: { namespace?: string | undefined; pod?: string | undefined }): PodRef | undefined {
  return attrs.namespace !== undefined && attrs.pod !== undefined
    ? { namespace: attrs.namespace, name: attrs.pod }
    : undefined;
}

function inBlock(a: AssignedAddress): { address: string; block?: string } {
  const address = a.address.split('/')[0]!;
  return a.block === undefined ? { address } : { address, block: a.block };
}
