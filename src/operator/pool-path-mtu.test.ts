import { describe, expect, it } from 'vitest';
import type { NodeDataplane, PathMtuStatus } from '../api/index.js';
import { poolPathMtuCondition } from './pool-path-mtu.js';

const ndp = (name: string, pathMTU?: PathMtuStatus): NodeDataplane => ({
  apiVersion: 'dataplane.tabby.dev/v1alpha1',
  kind: 'NodeDataplane',
  metadata: { name },
  spec: { nodeName: name },
  status: pathMTU ? { pathMTU } : {},
});

const failing = (peer: string, pools: string[]): PathMtuStatus['failing'][number] => ({
  peer,
  address: '172.18.0.9',
  encapsulation: 'vxlan',
  mtu: 1450,
  size: 1500,
  largestPassed: 1400,
  pools,
});

describe('poolPathMtuCondition', () => {
  it('Unknown until some agent has probed', () => {
    expect(poolPathMtuCondition('p', [ndp('a'), ndp('b')])).toEqual({
      type: 'PathMTU',
      status: 'Unknown',
      reason: 'NotChecked',
      message: 'no node has probed its paths yet',
    });
  });

  it('False listing each node → peer path of this pool, and only this pool', () => {
    const nodes = [
      ndp('b', { paths: 2, unreachable: 0, failing: [failing('a', ['p']), failing('c', ['other'])] }),
      ndp('a', { paths: 2, unreachable: 0, failing: [failing('b', ['other', 'p'])] }),
      ndp('c'),
    ];
    expect(poolPathMtuCondition('p', nodes)).toEqual({
      type: 'PathMTU',
      status: 'False',
      reason: 'MTUTooLarge',
      message:
        "2 node-to-node paths cannot carry the configured MTU (see each NodeDataplane's PathMTU): " +
        'a → b (VXLAN): MTU 1450 needs 1500-byte packets, the largest that passed is 1400; ' +
        'b → a (VXLAN): MTU 1450 needs 1500-byte packets, the largest that passed is 1400',
    });
    expect(poolPathMtuCondition('unused', nodes)).toEqual({
      type: 'PathMTU',
      status: 'True',
      reason: 'PathsCarryMTU',
      message: 'no path of this pool fails the configured MTU (2 nodes probed their peers)',
    });
  });
});
