// The validation table: every field of the kinds users write says Calico's rule, the table is what the schemas
// generate (docs/validation.md is committed and checked), and the rows read the generated CRD, not a second copy.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { findKindByName, VALIDATED_KIND_NAMES } from './kinds.js';
import { summarize, validatedKinds, validationRows, validationTableMarkdown } from './validation-table.js';

const DOC = fileURLToPath(new URL('../../docs/validation.md', import.meta.url));

describe('the validation table', () => {
  it('covers every kind users write', () => {
    expect(validatedKinds().map((k) => k.kind)).toEqual([...VALIDATED_KIND_NAMES]);
  });

  it.each(VALIDATED_KIND_NAMES.map((k) => [k]))(
    "%s: every field says Calico's rule (booleans may rely on their type)",
    (kind) => {
      const rows = validationRows(findKindByName(kind)!);
      expect(rows.length).toBeGreaterThan(0);
      const undeclared = rows.filter((r) => !r.declared && !/^none \((boolean|object)\)$/.test(r.calico));
      expect(undeclared.map((r) => r.field)).toEqual([]);
    },
  );

  it("reads the CRD's own checks: IPPool cidr rules, BGPPeer's reachableBy family rule, FelixConfiguration's object rule", () => {
    const row = (kind: string, field: string) => validationRows(findKindByName(kind)!).find((r) => r.field === field);
    expect(row('IPPool', 'spec.cidr')?.crd).toEqual(
      expect.arrayContaining([
        'required',
        'at most 48 characters',
        'CEL: spec.cidr must be strictly masked (host bits zero)',
      ]),
    );
    expect(row('IPPool', 'spec.cidr')?.condition).toMatch(/overlap/);
    expect(row('BGPPeer', 'spec.reachableBy')?.crd).toContain(
      'CEL: spec.reachableBy must be the same address family as spec.peerIP',
    );
    expect(row('FelixConfiguration', 'spec.nodeSelector')?.crd).toContain(
      "CEL: spec.nodeSelector must not be set on the 'default' or per-node ('node.*') FelixConfiguration",
    );
    expect(row('FelixConfiguration', 'spec.mtuIfacePattern')?.webhook).toBe('Go regular-expression syntax');
    expect(row('FelixConfiguration', 'spec.bpfEnabled')?.kept).toBe(true);
    expect(row('FelixConfiguration', 'spec.vxlanPort')?.kept).toBe(false);
  });

  it('counts by where each rule is enforced', () => {
    const rows = [
      { kind: 'K', field: 'a', calico: 'none (integer)', crd: [], kept: false, declared: true },
      { kind: 'K', field: 'b', calico: 'enum', crd: ['enum A'], kept: false, declared: true, webhook: 'x' },
      { kind: 'K', field: 'c', calico: 'overlap', crd: [], kept: false, declared: true, condition: 'y', differs: 'z' },
    ];
    expect(summarize('K', rows, 4)).toEqual({
      kind: 'K',
      fields: 3,
      crd: 1,
      webhook: 1,
      condition: 1,
      notApplicable: 1,
      differs: 1,
      celRules: 4,
    });
  });

  it('docs/validation.md is what the schemas generate (run `npm run crds` after changing a schema)', () => {
    expect(readFileSync(DOC, 'utf8')).toBe(validationTableMarkdown());
  });
});
