import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Store, type InvalidObject } from './store.js';

interface Obj {
  name: string;
  node: string;
  tags: string[];
}

const obj = (name: string, node: string, tags: string[] = []): Obj => ({ name, node, tags });
const invalid = (key: string): InvalidObject => ({
  key,
  raw: { metadata: { name: key } },
  issues: [{ code: 'custom', object: { kind: 'Thing', name: key }, path: ['spec'], message: 'bad' }],
  resourceVersion: '1',
});

function newStore(): Store<Obj> {
  return new Store<Obj>({ byNode: (o) => [o.node], byTag: (o) => o.tags });
}

describe('Store', () => {
  it('has exactly one writer', () => {
    const s = newStore();
    s.claimWriter();
    expect(() => s.claimWriter()).toThrow(/already has a writer/);
  });

  it('reads by key, lists sorted by key, and keeps indexes current on update and removal', () => {
    const s = newStore();
    const w = s.claimWriter();
    w.upsert('b', obj('b', 'n1', ['x']));
    w.upsert('a', obj('a', 'n1', ['x', 'y']));
    expect(s.keys()).toEqual(['a', 'b']);
    expect(s.list().map((o) => o.name)).toEqual(['a', 'b']);
    expect(s.byIndex('byNode', 'n1').map((o) => o.name)).toEqual(['a', 'b']);
    expect(s.keysByIndex('byTag', 'y')).toEqual(['a']);

    const prev = w.upsert('a', obj('a', 'n2', []));
    expect(prev?.node).toBe('n1');
    expect(s.keysByIndex('byNode', 'n1')).toEqual(['b']);
    expect(s.keysByIndex('byNode', 'n2')).toEqual(['a']);
    expect(s.keysByIndex('byTag', 'y')).toEqual([]);

    expect(w.remove('b').obj?.name).toBe('b');
    expect(s.keysByIndex('byNode', 'n1')).toEqual([]);
    expect(s.size).toBe(1);
    expect(s.get('b')).toBeUndefined();
  });

  it('rejects an index that was never declared', () => {
    expect(() => newStore().byIndex('nope', 'x')).toThrow(/no index 'nope'/);
  });

  it('keeps an invalid object apart from the valid ones, never both under one key', () => {
    const s = newStore();
    const w = s.claimWriter();
    w.upsert('a', obj('a', 'n1'));
    const dropped = w.markInvalid(invalid('a'));
    expect(dropped?.name).toBe('a');
    expect(s.get('a')).toBeUndefined();
    expect(s.has('a')).toBe(false);
    expect(s.invalid('a')?.issues[0]?.message).toBe('bad');
    expect(s.invalidCount).toBe(1);
    expect(s.keysByIndex('byNode', 'n1')).toEqual([]);

    w.upsert('a', obj('a', 'n1'));
    expect(s.invalid('a')).toBeUndefined();
    expect(s.get('a')?.name).toBe('a');

    w.markInvalid(invalid('a'));
    expect(w.remove('a')).toEqual({ obj: undefined, invalid: invalid('a') });
    expect(s.listInvalid()).toEqual([]);
  });

  it('replace swaps the whole content at once and returns the previous one', () => {
    const s = newStore();
    const w = s.claimWriter();
    w.upsert('a', obj('a', 'n1'));
    w.markInvalid(invalid('z'));
    const prev = w.replace(new Map([['c', obj('c', 'n3')]]), new Map());
    expect([...prev.objects.keys()]).toEqual(['a']);
    expect([...prev.invalid.keys()]).toEqual(['z']);
    expect(s.keys()).toEqual(['c']);
    expect(s.invalidCount).toBe(0);
    expect(s.keysByIndex('byNode', 'n1')).toEqual([]);
    expect(s.keysByIndex('byNode', 'n3')).toEqual(['c']);
  });

  it('property: after any sequence of writes, indexes equal a recomputation from the objects', () => {
    const op = fc.oneof(
      fc.record({
        t: fc.constant('upsert' as const),
        key: fc.constantFrom('a', 'b', 'c', 'd'),
        node: fc.constantFrom('n1', 'n2'),
        tags: fc.subarray(['x', 'y', 'z']),
      }),
      fc.record({ t: fc.constant('remove' as const), key: fc.constantFrom('a', 'b', 'c', 'd') }),
      fc.record({ t: fc.constant('invalid' as const), key: fc.constantFrom('a', 'b', 'c', 'd') }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
        const s = newStore();
        const w = s.claimWriter();
        const model = new Map<string, Obj>();
        for (const o of ops) {
          if (o.t === 'upsert') {
            w.upsert(o.key, obj(o.key, o.node, o.tags));
            model.set(o.key, obj(o.key, o.node, o.tags));
          } else {
            if (o.t === 'remove') w.remove(o.key);
            else w.markInvalid(invalid(o.key));
            model.delete(o.key);
          }
          // Read between writes too, so a stale sorted-key cache would show.
          expect(s.keys()).toEqual([...model.keys()].sort());
        }
        expect(s.list()).toEqual([...model.keys()].sort().map((k) => model.get(k)));
        for (const node of ['n1', 'n2']) {
          expect(s.keysByIndex('byNode', node)).toEqual(
            s
              .list()
              .filter((x) => x.node === node)
              .map((x) => x.name),
          );
        }
        for (const tag of ['x', 'y', 'z']) {
          expect(s.keysByIndex('byTag', tag)).toEqual(
            s
              .list()
              .filter((x) => x.tags.includes(tag))
              .map((x) => x.name),
          );
        }
        for (const k of s.keys()) expect(s.invalid(k)).toBeUndefined();
      }),
    );
  });

  it('property: keys stay sorted as keys come and go between lists, whatever the keys', () => {
    const key = fc.string({ maxLength: 3, unit: fc.constantFrom('a', 'B', '-', '0', 'é', '\u{1F600}') });
    const op = fc.oneof(
      fc.record({ t: fc.constant('upsert' as const), key }),
      fc.record({ t: fc.constant('remove' as const), key }),
      fc.record({ t: fc.constant('list' as const) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const s = newStore();
        const w = s.claimWriter();
        const model = new Set<string>();
        for (const o of ops) {
          if (o.t === 'upsert') {
            w.upsert(o.key, obj(o.key, 'n1'));
            model.add(o.key);
          } else if (o.t === 'remove') {
            w.remove(o.key);
            model.delete(o.key);
          } else expect(s.keys()).toEqual([...model].sort());
        }
        expect(s.list().map((x) => x.name)).toEqual([...model].sort());
      }),
    );
  });
});
