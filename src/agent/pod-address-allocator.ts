// Adapts src/ipam (the node's AddressAssigner and its BlockStore) to what the IPAM server serves the CNI plugin
// (ipam-server.ts PodAddressAllocator), with the CNI's semantics on top (calico: cni-plugin/pkg/ipamplugin):
// - Idempotent by handle: a handle that already holds addresses gets them back (a repeated ADD for the same
//   container must not take a second address).
// - All or nothing: if fewer addresses than asked could be assigned (pool exhausted, a specific address taken), what
//   was assigned is released by handle and the request fails; a pod never starts with half its families.
// - Attributes as Calico writes them: node, namespace, pod, timestamp.
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
  /** Namespace labels for pools' namespaceSelector (from the agent's cache); none = no labels. */
  namespaceLabels?: (namespace: string) => Readonly<Record<string, string>> | undefined;
}

export function createPodAddressAllocator(deps: PodAddressAllocatorDeps): PodAddressAllocator {
  async function addressesByHandle(handleId: string): Promise<AssignedAddress[]> {
    const handle = await deps.store.handles.get(handleKey(handleId));
    if (handle === undefined) return [];
    const out: AssignedAddress[] = [];
    for (const [cidr, count] of Object.entries(handle.value.block)) {
      if (count <= 0) continue;
      const block = await deps.store.blocks.get(blockKey(cidr));
      if (block === undefined) continue;
      for (const a of allocationsOf(block.value)) {
        if (a.handleId === handleId)
          out.push({ address: a.address, family: parseIP(a.address).family, block: a.block });
      }
    }
    return out.sort((x, y) => x.family - y.family);
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

  return {
    addressesByHandle,

    releaseByHandle: (handleId) => deps.allocator.releaseByHandle(handleId),

    async assign(req, looked) {
      const existing = looked?.existing ?? (await addressesByHandle(req.handleId));
      if (existing.length > 0) return existing;
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
      const labels = req.attrs.namespace === undefined ? undefined : deps.namespaceLabels?.(req.attrs.namespace);
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
    },
  };
}
