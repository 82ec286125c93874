import { describe, expect, it } from 'vitest';
import { podInfos } from './allocations.js';

describe('podInfos', () => {
  it('keys pods by namespace/name and reads node, addresses and eviction as GC and the check judge them', () => {
    const m = podInfos([
      {
        metadata: { name: 'web', namespace: 'shop' },
        spec: { nodeName: 'n1' },
        status: { phase: 'Running', podIPs: [{ ip: '10.0.0.5' }, { ip: 'fd00::5' }] },
      },
      { metadata: { name: 'gone' }, status: { phase: 'Failed', reason: 'Evicted', podIPs: [{ ip: '10.0.0.6' }] } },
      { metadata: { name: 'failed' }, status: { phase: 'Failed', reason: 'Error' } },
      { metadata: { name: 'pending', namespace: 'shop' } },
    ]);
    expect([...m.keys()]).toEqual(['shop/web', 'default/gone', 'default/failed', 'shop/pending']);
    expect(m.get('shop/web')).toEqual({
      namespace: 'shop',
      name: 'web',
      node: 'n1',
      ips: ['10.0.0.5', 'fd00::5'],
      evictedFailed: false,
    });
    expect(m.get('default/gone')?.evictedFailed).toBe(true);
    expect(m.get('default/failed')?.evictedFailed).toBe(false);
    expect(m.get('shop/pending')).toMatchObject({ node: undefined, ips: [] });
  });
});
