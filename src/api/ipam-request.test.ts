import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  IPAM_REQUEST_ANNOTATION,
  type IpamRequest,
  formatIpamRequestFailures,
  formatIpamRequests,
  parseIpamRequestFailures,
  parseIpamRequests,
  requestedPools,
} from './ipam-request.js';

describe('IPAM request annotation', () => {
  it('is absent or empty: no requests', () => {
    expect(parseIpamRequests(undefined)).toEqual([]);
    expect(parseIpamRequests('')).toEqual([]);
    expect(formatIpamRequests([])).toBeNull();
  });

  it('parses every kind the agent writes', () => {
    const list: IpamRequest[] = [
      { id: 'a-1', kind: 'block', family: 4, pools: ['pool-b', 'pool-c'] },
      {
        id: 'a-2',
        kind: 'borrow',
        family: 4,
        pools: ['pool-b'],
        num: 1,
        handleId: 'k8s-pod-network.c1',
        attrs: { node: 'n2', namespace: 'ns', pod: 'p' },
      },
      { id: 'a-3', kind: 'releaseHandle', handleId: 'k8s-pod-network.c1', blocks: ['10.0.0.0/29'] },
      {
        id: 'a-4',
        kind: 'releaseIPs',
        ips: [{ address: '10.0.0.3', handleId: 'h', sequenceNumber: '18446744073709551615' }],
      },
    ];
    expect(parseIpamRequests(JSON.stringify(list))).toEqual(list);
    expect(requestedPools(list)).toEqual(['pool-b', 'pool-c']);
  });

  it.each([
    ['{', 'not JSON'],
    ['{"id":"a"}', ': expected array'],
    ['[{"id":"a","kind":"block","family":5,"pools":["p"]}]', '[0].family'],
    ['[{"id":"a","kind":"block","family":4,"pools":[]}]', '[0].pools'],
    ['[{"id":"","kind":"block","family":4,"pools":["p"]}]', '[0].id'],
    ['[{"id":"a","kind":"block","family":4,"pools":["p"],"extra":1}]', 'extra'],
    ['[{"id":"a","kind":"claim","family":4,"pools":["p"]}]', '[0].kind'],
    ['[{"id":"a","kind":"borrow","family":4,"pools":["p"],"num":0,"handleId":"h","attrs":{}}]', '[0].num'],
    ['[{"id":"a","kind":"releaseHandle","handleId":"h","blocks":["10.0.0.0/33"]}]', '[0].blocks[0]'],
    ['[{"id":"a","kind":"releaseIPs","ips":[{"address":"10.0.0.300"}]}]', '[0].ips[0].address'],
    ['[{"id":"a","kind":"releaseIPs","ips":[{"address":"10.0.0.3","sequenceNumber":"-1"}]}]', 'sequenceNumber'],
  ])('names the annotation and the field for %s', (value, want) => {
    const r = parseIpamRequests(value);
    expect(r).toBeInstanceOf(Error);
    expect((r as Error).message).toContain(IPAM_REQUEST_ANNOTATION);
    expect((r as Error).message).toContain(want);
  });

  it('failures: sorted, removable, and a malformed value only means no answer yet', () => {
    expect(formatIpamRequestFailures({ b: 'noFreeBlocks', a: 'strictAffinity' })).toBe(
      '{"a":"strictAffinity","b":"noFreeBlocks"}',
    );
    expect(formatIpamRequestFailures({})).toBeNull();
    expect(parseIpamRequestFailures('{"a":"strictAffinity"}')).toEqual({ a: 'strictAffinity' });
    expect(parseIpamRequestFailures('{')).toEqual({});
    expect(parseIpamRequestFailures('{"a":1}')).toEqual({});
    expect(parseIpamRequestFailures(undefined)).toEqual({});
  });

  it('round-trips every valid list of block requests', () => {
    const request = fc.record({
      id: fc.string({ minLength: 1, maxLength: 64 }),
      kind: fc.constant('block' as const),
      family: fc.constantFrom(4 as const, 6 as const),
      pools: fc.array(fc.string({ minLength: 1, maxLength: 40 }), { minLength: 1, maxLength: 5 }),
    });
    fc.assert(
      fc.property(fc.array(request, { minLength: 1, maxLength: 10 }), (list) => {
        expect(parseIpamRequests(formatIpamRequests(list)!)).toEqual(list);
      }),
    );
  });
});
