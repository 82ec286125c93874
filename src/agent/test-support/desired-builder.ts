// Builds a complete NodeDesired / RouteShard from the few fields a case cares about, with Felix's defaults filled
// in as the planner fills them (plan/felix-effective.ts). For tests, benchmarks and hand-written demo inputs; the
// operator emits these objects itself.
import type { EffectiveFelix, NodeDesired } from '../../api/node-dataplane.js';
import type { RouteEntry, ViewNode } from '../../api/route-table.js';
import { effectiveFelix } from '../../plan/felix-effective.js';
import type { RouteShard } from '../kernel-target.js';

/** What the planner makes of an empty FelixConfiguration in a cluster with no encapsulated pool. */
export const DEFAULT_FELIX: EffectiveFelix = effectiveFelix({}, { ipip: false, vxlan: false, vxlanV6: false });

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
