import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { formatIssue, formatPath, issuesFromZod, TabbyError, type Issue } from './errors.js';

const pool = { kind: 'IPPool', name: 'pool-a' };

describe('formatPath', () => {
  it.each([
    ['empty', [], ''],
    ['one key', ['spec'], 'spec'],
    ['nested', ['spec', 'blockSize'], 'spec.blockSize'],
    ['array index', ['spec', 'peers', 0, 'peerIP'], 'spec.peers[0].peerIP'],
    ['map key that is not an identifier', ['spec', 'block', '10.0.0.0/26'], 'spec.block["10.0.0.0/26"]'],
    [
      'annotation key',
      ['metadata', 'annotations', 'projectcalico.org/metadata'],
      'metadata.annotations["projectcalico.org/metadata"]',
    ],
  ] as const)('%s', (_name, path, expected) => {
    expect(formatPath([...path])).toBe(expected);
  });
});

describe('formatIssue', () => {
  it('renders kind, name, dotted path and message', () => {
    const i: Issue = { code: 'custom', object: pool, path: ['spec', 'blockSize'], message: 'must be 20..32 (got 33)' };
    expect(formatIssue(i)).toBe('IPPool pool-a: spec.blockSize: must be 20..32 (got 33)');
  });
  it('leaves the path out for whole-object problems and marks unnamed objects', () => {
    expect(
      formatIssue({ code: 'x', object: { kind: 'IPPool', name: '' }, path: [], message: 'must be an object' }),
    ).toBe('IPPool (unnamed): must be an object');
  });
});

describe('TabbyError', () => {
  it('holds the issues and prints one line per issue', () => {
    const issues: Issue[] = [
      { code: 'a', object: pool, path: ['spec', 'cidr'], message: 'bad' },
      { code: 'b', object: pool, path: ['spec', 'blockSize'], message: 'worse' },
    ];
    const e = new TabbyError(issues);
    expect(e).toBeInstanceOf(Error);
    expect(e.issues).toBe(issues);
    expect(e.message).toBe('IPPool pool-a: spec.cidr: bad\nIPPool pool-a: spec.blockSize: worse');
  });
});

describe('issuesFromZod', () => {
  const schema = z.object({ spec: z.object({ n: z.number().max(3), s: z.string(), o: z.object({ a: z.string() }) }) });

  it('prefixes paths, keeps codes and appends the offending scalar', () => {
    const r = schema.safeParse({ spec: { n: 9, s: 's', o: { a: 'x' } } }, { reportInput: true });
    expect(r.success).toBe(false);
    if (r.success) return;
    const issues = issuesFromZod(r.error, pool, ['root']);
    expect(issues).toHaveLength(1);
    expect(issues[0]?.path).toEqual(['root', 'spec', 'n']);
    expect(issues[0]?.code).toBe('too_big');
    expect(issues[0]?.message).toMatch(/\(got 9\)$/);
  });

  it('does not echo objects', () => {
    const r = schema.safeParse({ spec: { n: 1, s: 's', o: 'nope' } }, { reportInput: true });
    if (r.success) throw new Error('expected failure');
    const [i] = issuesFromZod(r.error, pool);
    expect(i?.message).toContain('(got "nope")');
    const r2 = schema.safeParse({ spec: { n: 1, s: { x: 1 }, o: { a: 'x' } } }, { reportInput: true });
    if (r2.success) throw new Error('expected failure');
    expect(issuesFromZod(r2.error, pool)[0]?.message).not.toContain('(got');
  });

  it('turns unknown keys of strict objects into one issue per key', () => {
    const strict = z.strictObject({ a: z.string() });
    const r = strict.safeParse({ a: 'x', b: 1, c: 2 });
    if (r.success) throw new Error('expected failure');
    expect(issuesFromZod(r.error, pool, ['spec']).map((i) => formatPath(i.path))).toEqual(['spec.b', 'spec.c']);
  });

  it('reports the deepest branch of a failed union', () => {
    const u = z.union([z.object({ a: z.object({ b: z.number() }) }), z.string()]);
    const r = u.safeParse({ a: { b: 'x' } });
    if (r.success) throw new Error('expected failure');
    expect(issuesFromZod(r.error, pool).map((i) => formatPath(i.path))).toEqual(['a.b']);
  });
});
