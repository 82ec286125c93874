// The pod's and its namespace's annotations for the IPAM server (Calico's cni.projectcalico.org/ipv4pools, ipAddrs,
// …), and the namespace's labels (IPPool namespaceSelector), read the way Calico's CNI plugin reads them: one GET of
// the pod and one of its namespace per ADD, at the moment
// of the ADD. A watch cache would be cheaper but could answer from before the pod existed, and a pod's address
// annotations only matter at that one moment.
//
// Invariants:
// - A pod or namespace that does not exist has no annotations: sandboxes made by other runtimes (cnitool, tests)
//   have no Pod object, and Calico's defaults (the node's pools) are then the only sensible answer. This is the one
//   place we are more lenient than Calico, whose plugin fails the ADD; it is logged.
// - Any other failure (apiserver unreachable, forbidden) fails the ADD as `unavailable` naming the object, so the
//   runtime retries instead of the pod getting an address its annotations forbid.
import { NotFoundError, clusterResource, type KubeClient } from '../kube/index.js';
import type { Logger } from '../log/logger.js';
import { PodAllocationError, type PodAnnotations } from './ipam-server.js';

const NAMESPACES = clusterResource('', 'v1', 'namespaces', 'Namespace');

type Annotations = Record<string, string>;

export function createPodAnnotationSource(
  client: KubeClient,
  log: Logger,
): (namespace: string, pod: string) => Promise<PodAnnotations | undefined> {
  async function read(what: string, get: () => Promise<{ metadata: { annotations?: unknown; labels?: unknown } }>) {
    try {
      const obj = await get();
      return {
        annotations: (obj.metadata.annotations ?? {}) as Annotations,
        labels: (obj.metadata.labels ?? {}) as Annotations,
      };
    } catch (e) {
      if (e instanceof NotFoundError) return undefined;
      throw new PodAllocationError(
        'unavailable',
        `cannot read ${what} for its cni.projectcalico.org annotations: ${e instanceof Error ? e.message : String(e)}`,
      );
    }
  }
  return async (namespace, pod) => {
    const [p, ns] = await Promise.all([
      read(`pod ${namespace}/${pod}`, () => client.pods().get(pod, { namespace })),
      read(`namespace ${namespace}`, () => client.resource(NAMESPACES).get(namespace)),
    ]);
    if (p === undefined) log.info({ namespace, pod }, 'pod not found in the apiserver: no annotations apply');
    if (p === undefined && ns === undefined) return undefined;
    return {
      ...(p ? { pod: p.annotations } : {}),
      ...(ns ? { namespace: ns.annotations, namespaceLabels: ns.labels } : {}),
    };
  };
}
