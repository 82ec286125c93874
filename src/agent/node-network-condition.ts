// The Node's NetworkUnavailable condition. Only the network plugin clears it: a cloud's route controller (or an
// operator) may set it True on a new Node, and the node lifecycle controller then taints the Node
// node.kubernetes.io/network-unavailable so nothing schedules there. calico-node sets it False, reason CalicoIsUp,
// "Calico is running on this node" (calico: node/pkg/lifecycle/startup, setNodeNetworkUnavailableFalse); the agent
// does the same once it has programmed its node, by server-side apply of that one condition (the Node's conditions
// are a list keyed by type, so kubelet's stay its own).
import type { KubeClient } from '../kube/index.js';

export const NETWORK_AVAILABLE = {
  type: 'NetworkUnavailable',
  status: 'False',
  reason: 'TabbyIsUp',
  message: 'Tabby is running on this node',
} as const;

/** The condition as of `now` (metav1.Time has whole seconds). */
export function networkAvailableCondition(now: Date): Record<string, string> {
  const at = now.toISOString().replace(/\.\d+Z$/, 'Z');
  return { ...NETWORK_AVAILABLE, lastHeartbeatTime: at, lastTransitionTime: at };
}

export async function markNetworkAvailable(
  client: KubeClient,
  nodeName: string,
  fieldManager: string,
  now: Date,
): Promise<void> {
  await client
    .nodes()
    .applyStatus(nodeName, { conditions: [networkAvailableCondition(now)] }, { fieldManager, force: true });
}
