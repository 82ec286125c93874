import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson, coveredBy, jsonEqual } from './canonical-json.js';

describe('canonicalJson', () => {
  it.each([
    { name: 'sorts keys at every depth', a: { b: 1, a: { d: 2, c: 3 } }, want: '{"a":{"c":3,"d":2},"b":1}' },
    { name: 'drops undefined members', a: { a: undefined, b: 1 }, want: '{"b":1}' },
    { name: 'keeps array order', a: [3, 1, 2], want: '[3,1,2]' },
    { name: 'undefined in arrays becomes null, as JSON does', a: [undefined], want: '[null]' },
    { name: 'scalars', a: 'x', want: '"x"' },
    { name: 'undefined alone', a: undefined, want: 'null' },
  ])('$name', ({ a, want }) => {
    expect(canonicalJson(a)).toBe(want);
  });

  it('property: equal for any key order, and round-trips through JSON.parse', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const shuffled = JSON.parse(JSON.stringify(v, (_k, val: unknown) => reverseKeys(val))) as unknown;
        expect(canonicalJson(shuffled)).toBe(canonicalJson(v));
        expect(jsonEqual(JSON.parse(canonicalJson(v)), v)).toBe(true);
      }),
    );
  });
});

function reverseKeys(v: unknown): unknown {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
  return Object.fromEntries(Object.entries(v).reverse());
}

describe('coveredBy', () => {
  it.each([
    { name: 'equal objects', desired: { a: 1 }, observed: { a: 1 }, want: true },
    {
      name: 'other writers’ members are ignored',
      desired: { desired: { r: 1 } },
      observed: { desired: { r: 1 }, applied: { r: 0 } },
      want: true,
    },
    { name: 'a changed scalar', desired: { a: 1 }, observed: { a: 2 }, want: false },
    { name: 'a missing member', desired: { a: 1 }, observed: {}, want: false },
    { name: 'null wants the member absent: absent', desired: { a: null }, observed: {}, want: true },
    { name: 'null wants the member absent: present', desired: { a: null }, observed: { a: 1 }, want: false },
    { name: 'atomic list with an extra element', desired: { l: [1] }, observed: { l: [1, 2] }, want: false },
    { name: 'atomic list in another order', desired: { l: [1, 2] }, observed: { l: [2, 1] }, want: false },
    {
      name: 'nested object with extra observed members',
      desired: { a: { b: 1 } },
      observed: { a: { b: 1, c: 2 } },
      want: true,
    },
    { name: 'object wanted, scalar observed', desired: { a: { b: 1 } }, observed: { a: 3 }, want: false },
    { name: 'observed undefined', desired: { a: 1 }, observed: undefined, want: false },
    { name: 'empty desired is covered by anything object-like', desired: {}, observed: { x: 1 }, want: true },
  ])('$name', ({ desired, observed, want }) => {
    expect(coveredBy(desired, observed)).toBe(want);
  });

  const mapLists = { conditions: ['type'] };
  const planned = { type: 'Planned', status: 'True', reason: 'Done' };
  const programmed = { type: 'Programmed', status: 'False', reason: 'Waiting' };

  it.each([
    {
      name: 'map list: other manager’s element is ignored',
      desired: [planned],
      observed: [programmed, planned],
      want: true,
    },
    {
      name: 'map list: our element changed',
      desired: [{ ...planned, status: 'False' }],
      observed: [planned, programmed],
      want: false,
    },
    { name: 'map list: our element missing', desired: [planned], observed: [programmed], want: false },
    {
      name: 'map list: observed elements may carry more fields',
      desired: [planned],
      observed: [{ ...planned, extra: 1 }],
      want: true,
    },
  ])('$name', ({ desired, observed, want }) => {
    expect(coveredBy({ conditions: desired }, { conditions: observed }, mapLists)).toBe(want);
  });

  it('property: a value covers itself, and a merge of it into anything covers it', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.string(), fc.jsonValue()),
        fc.dictionary(fc.string(), fc.jsonValue()),
        (d, other) => {
          const desired = JSON.parse(JSON.stringify(d)) as Record<string, unknown>;
          const withoutNulls = JSON.parse(
            JSON.stringify(desired, (_k, v: unknown) => (v === null ? undefined : v)),
          ) as Record<string, unknown>;
          expect(coveredBy(withoutNulls, withoutNulls)).toBe(true);
          expect(coveredBy(withoutNulls, { ...other, ...withoutNulls })).toBe(true);
        },
      ),
    );
  });
});
