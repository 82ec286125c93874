// An IPPool's PathMTU condition: the agents' path-MTU findings (NodeDataplane status.pathMTU, agent/path-mtu.ts)
// gathered per pool, because the pool is what chooses the encapsulation (vxlanMode / ipipMode) whose overhead the
// MTU must leave room for, and `kubectl get/describe ippool` is where a Calico user looks at a pool's health
// (FelixConfiguration, which holds the MTUs, has no status in Calico's API).
//   True   PathsCarryMTU  no node reports a path of this pool that cannot carry the configured MTU;
//   False  MTUTooLarge    the node → peer paths that cannot (encapsulation, configured MTU, bytes needed, the
//                         largest probe that passed), first MAX_LISTED of them;
//   Unknown NotChecked    no agent has reported its paths yet.
// Pure: the NodeDataplanes in, the condition out; deterministic, so an unchanged finding writes nothing.
import type { NodeDataplane } from '../api/index.js';
import type { ConditionInput } from './conditions.js';

const MAX_LISTED = 16;

const ENCAP_TEXT: Readonly<Record<string, string>> = {
  vxlan: 'VXLAN',
  'vxlan-v6': 'VXLAN (IPv6)',
  ipip: 'IPIP',
  none: 'no encapsulation',
};

export function poolPathMtuCondition(pool: string, dataplanes: readonly NodeDataplane[]): ConditionInput {
  const checked = dataplanes.filter((d) => d.status?.pathMTU !== undefined);
  if (checked.length === 0) {
    return { type: 'PathMTU', status: 'Unknown', reason: 'NotChecked', message: 'no node has probed its paths yet' };
  }
  const lines: string[] = [];
  for (const d of [...checked].sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1))) {
    for (const f of d.status!.pathMTU!.failing) {
      if (!f.pools.includes(pool)) continue;
      lines.push(
        `${d.metadata.name} → ${f.peer} (${ENCAP_TEXT[f.encapsulation] ?? f.encapsulation}): MTU ${f.mtu} needs ` +
          `${f.size}-byte packets, the largest that passed is ${f.largestPassed}`,
      );
    }
  }
  if (lines.length === 0) {
    return {
      type: 'PathMTU',
      status: 'True',
      reason: 'PathsCarryMTU',
      message: `no path of this pool fails the configured MTU (${checked.length} nodes probed their peers)`,
    };
  }
  const more = lines.length > MAX_LISTED ? `; and ${lines.length - MAX_LISTED} more` : '';
  return {
    type: 'PathMTU',
    status: 'False',
    reason: 'MTUTooLarge',
    message:
      `${lines.length} node-to-node paths cannot carry the configured MTU (see each NodeDataplane's PathMTU): ` +
      lines.slice(0, MAX_LISTED).join('; ') +
      more,
  };
}
