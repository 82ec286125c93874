// Calico's own validator test vectors (src/api/testdata/calico-validator-cases.ts) through Tabby's validation: the
// verdict must be Calico's — its apiserver's, where Calico's table ran only its Go validator on an object its CRD
// refuses — except where Tabby documents that it differs, and a refusal names a field.
import { describe, expect, it } from 'vitest';
import { formatIssue } from './errors.js';
import { CALICO_CASES, type CalicoCase } from './testdata/calico-validator-cases.js';
import { validateObject } from './validate.js';

/** What Calico's apiserver says: the Go validator's verdict, unless the CRD already refuses the object. */
const calicoApiserver = (c: CalicoCase): boolean => (c.crdRefuses !== undefined ? false : c.valid);
const tabbyExpects = (c: CalicoCase): boolean => (c.differs !== undefined ? !calicoApiserver(c) : calicoApiserver(c));

const label = (c: CalicoCase, i: number) => `${c.kind} #${i}: ${c.calico}`;

describe("Calico's validator test vectors", () => {
  it('carries every kind users write that Calico tests', () => {
    expect(new Set(CALICO_CASES.map((c) => c.kind))).toEqual(
      new Set(['IPPool', 'BGPConfiguration', 'BGPPeer', 'BGPFilter', 'IPReservation', 'FelixConfiguration']),
    );
    expect(CALICO_CASES.length).toBeGreaterThanOrEqual(250);
  });

  it.each(CALICO_CASES.map((c, i) => [label(c, i), c] as const))('%s', (_l, c) => {
    const r = validateObject({
      apiVersion: 'projectcalico.org/v3',
      kind: c.kind,
      metadata: { name: c.name },
      spec: c.spec,
    });
    const why = r.ok ? 'accepted' : r.issues.map(formatIssue).join('\n');
    expect(r.ok, why).toBe(tabbyExpects(c));
    if (!r.ok) {
      for (const i of r.issues) expect(['spec', 'metadata']).toContain(i.path[0]);
    }
  });

  it('differs from Calico only where it says why', () => {
    const differing = CALICO_CASES.filter((c) => c.differs !== undefined).map((c) => `${c.kind}: ${c.calico}`);
    expect(differing).toEqual([
      'IPReservation: should accept IPReservation with an IP',
      'IPReservation: should accept IPReservation IP and a CIDR',
      'IPReservation: should accept IPReservation with an IPv6',
    ]);
  });
});
