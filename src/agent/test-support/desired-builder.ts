// Builds a complete NodeDesired / RouteShard from the few fields a case cares about, with Felix's defaults filled
// in (calico: felix/config/config_params.go). For tests, benchmarks and hand-written demo inputs; the operator
// emits these objects itself.
import type { EffectiveFelix, NodeDesired } from '../../api/node-dataplane.js';
import type { RouteEntry, ViewNode } from '../../api/route-table.js';
import type { RouteShard } from '../kernel-target.js';

export const DEFAULT_FELIX: EffectiveFelix = {
  ipipEnabled: false,
  vxlanEnabled: false,
  vxlanEnabledV6: false,
  vxlanPort: 4789,
  vxlanVNI: 4096,
  deviceRouteProtocol: 3,
  clusterRouteProtocol: 80,
  removeExternalRoutes: true,
  routeRefreshIntervalSeconds: 90,
  routeSource: 'CalicoIPAM',
  ipForwarding: 'Enabled',
};

export type NodeDesiredInit = Partial<Omit<NodeDesired, 'felix'>> & { felix?: Partial<EffectiveFelix> };

export function buildNodeDesired(init: NodeDesiredInit = {}): NodeDesired {
  const { felix, ...rest } = init;
  return {
    revision: 'rev-1',
    view: 'cluster',
    blocks: [],
    borrowed: [],
    tunnels: [],
    mtu: {},
    natOutgoing: { sourceCidrs: [], allPoolCidrs: [] },
    ...rest,
    felix: { ...DEFAULT_FELIX, ...felix },
  };
}

export function buildShard(
  name: string,
  entries: RouteEntry[],
  nodes: ViewNode[] = [],
  revision = `${name}-rev`,
): RouteShard {
  return { name, status: { view: 'cluster', shard: 0, revision, entries, nodes } };
}
