import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { viewRevision, viewRevisions } from './view-revision.js';

// Expected digests from the shell, not from the function: printf '<lines>' | sha256sum, first 32 hex digits.
describe('the revision of a route view', () => {
  it("is sha256 over the shards' sorted `name revision` lines", () => {
    expect(
      viewRevision([
        { name: 'a-1', revision: 'sha256:22' },
        { name: 'a-0', revision: 'sha256:11' },
      ]),
    ).toBe('sha256:8a9ee1669b507b02bfcafb1e002d1616'); // printf 'a-0 sha256:11\na-1 sha256:22'
    expect(viewRevision([])).toBe('sha256:e3b0c44298fc1c149afbf4c8996fb924'); // printf ''
  });

  it('does not depend on the order shards arrive in, and changes with any one revision', () => {
    const shard = fc.record({
      name: fc.stringMatching(/^[a-z0-9-]{1,12}$/),
      revision: fc.stringMatching(/^[0-9a-f]{1,16}$/),
    });
    fc.assert(
      fc.property(
        fc.uniqueArray(shard, { selector: (s) => s.name, minLength: 1, maxLength: 20 }),
        fc.nat(),
        (shards, k) => {
          const i = k % shards.length;
          expect(viewRevision([...shards].reverse())).toBe(viewRevision(shards));
          const changed = shards.map((s, j) => (j === i ? { ...s, revision: `${s.revision}0` } : s));
          expect(viewRevision(changed)).not.toBe(viewRevision(shards));
        },
      ),
    );
  });

  it("groups an agent's shards by the view their status names, one entry per view even without shards", () => {
    const shards = [
      { name: 'v4-1', status: { view: '10.0.0.0-16', revision: 'sha256:22' } },
      { name: 'v6-0', status: { view: 'cluster-v6', revision: 'sha256:33' } },
      { name: 'v4-0', status: { view: '10.0.0.0-16', revision: 'sha256:11' } },
    ];
    expect(viewRevisions(['cluster-v6', '10.0.0.0-16', '10.0.0.0-16', ''], shards)).toEqual([
      {
        view: '10.0.0.0-16',
        revision: viewRevision([shards[2]!, shards[0]!].map((s) => ({ name: s.name, revision: s.status.revision }))),
        shards: 2,
      },
      { view: 'cluster-v6', revision: viewRevision([{ name: 'v6-0', revision: 'sha256:33' }]), shards: 1 },
    ]);
    expect(viewRevisions(['empty'], [])).toEqual([
      { view: 'empty', revision: 'sha256:e3b0c44298fc1c149afbf4c8996fb924', shards: 0 },
    ]);
  });
});
