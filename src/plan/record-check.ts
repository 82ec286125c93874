// Whether a record can enter the planner: the parsing its index does (addresses, CIDRs, selectors), run here first so
// that a record which would throw inside the planner is reported, naming its object and field, and its last good
// version stays in the plan (ARCHITECTURE.md "Bad input keeps the last good state"). Pure.
// Inputs: a record as `planRecordOf` builds it. Output: the issues (none when the planner accepts it).
import type { Issue } from '../api/errors.js';
import { parseSelector } from '../net/index.js';
import { parsePeer } from './bgp-peers.js';
import { blockFacts, nodeFacts, poolFacts } from './facts.js';
import type { PlanRecord } from './snapshot-from-objects.js';

const KINDS: Record<PlanRecord['kind'], string> = {
  node: 'Node',
  pool: 'IPPool',
  block: 'IPAMBlock',
  pod: 'Pod',
  bgpConfiguration: 'BGPConfiguration',
  bgpPeer: 'BGPPeer',
  felixConfiguration: 'FelixConfiguration',
  bgpFilter: 'BGPFilter',
  service: 'Service',
  endpointSlice: 'EndpointSlice',
};

export function planRecordIssues(r: PlanRecord): Issue[] {
  const issue = (path: string[], err: unknown): Issue => ({
    code: 'invalid_value',
    object: { kind: KINDS[r.kind], name: r.key },
    path,
    message: err instanceof Error ? err.message : String(err),
  });
  const attempt = (path: string[], parse: () => unknown): Issue[] => {
    try {
      parse();
      return [];
    } catch (err) {
      return [issue(path, err)];
    }
  };
  switch (r.kind) {
    case 'node':
      return attempt(['metadata', 'annotations'], () => nodeFacts(r.record));
    case 'pool':
      return [
        ...attempt(['spec', 'nodeSelector'], () => parseSelector(r.record.nodeSelector)),
        ...attempt(['spec', 'cidr'], () => poolFacts({ ...r.record, nodeSelector: 'all()' })),
      ];
    case 'block':
      return attempt(['spec', 'cidr'], () => blockFacts(r.record));
    case 'bgpPeer': {
      const selectors = (['nodeSelector', 'peerSelector'] as const).flatMap((field) => {
        const text = r.record[field];
        return text === undefined || text === '' ? [] : attempt(['spec', field], () => parseSelector(text));
      });
      if (selectors.length > 0) return selectors;
      return attempt(['spec', 'peerIP'], () => parsePeer(r.record));
    }
    default:
      return [];
  }
}
