import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BLOCK_REQUEST_ANNOTATION, formatBlockRequests, parseBlockRequests } from './block-request.js';

describe('block request annotation', () => {
  it('is absent or empty: no requests', () => {
    expect(parseBlockRequests(undefined)).toEqual([]);
    expect(parseBlockRequests('')).toEqual([]);
    expect(formatBlockRequests([])).toBeNull();
  });

  it('parses what the agent writes', () => {
    const value = '[{"id":"a-1","family":4,"pools":["pool-b","pool-c"]},{"id":"a-2","family":6,"pools":["v6"]}]';
    expect(parseBlockRequests(value)).toEqual([
      { id: 'a-1', family: 4, pools: ['pool-b', 'pool-c'] },
      { id: 'a-2', family: 6, pools: ['v6'] },
    ]);
  });

  it.each([
    ['{', 'not JSON'],
    ['{"id":"a"}', ': expected array'],
    ['[{"id":"a","family":5,"pools":["p"]}]', '[0].family'],
    ['[{"id":"a","family":4,"pools":[]}]', '[0].pools'],
    ['[{"id":"","family":4,"pools":["p"]}]', '[0].id'],
    ['[{"id":"a","family":4,"pools":["p"],"extra":1}]', 'extra'],
  ])('names the annotation and the field for %s', (value, want) => {
    const r = parseBlockRequests(value);
    expect(r).toBeInstanceOf(Error);
    expect((r as Error).message).toContain(BLOCK_REQUEST_ANNOTATION);
    expect((r as Error).message).toContain(want);
  });

  it('round-trips every valid list', () => {
    const request = fc.record({
      id: fc.string({ minLength: 1, maxLength: 64 }),
      family: fc.constantFrom(4 as const, 6 as const),
      pools: fc.array(fc.string({ minLength: 1, maxLength: 40 }), { minLength: 1, maxLength: 5 }),
    });
    fc.assert(
      fc.property(fc.array(request, { minLength: 1, maxLength: 10 }), (list) => {
        expect(parseBlockRequests(formatBlockRequests(list)!)).toEqual(list);
      }),
    );
  });
});
