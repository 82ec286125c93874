// The webhook's decision: every invalid case of the validation matrix of a kind users write is refused naming its
// field (those the CRD cannot refuse included), every valid one allowed; other kinds, deletes and status writes
// pass untouched; an update is not blamed for a problem the stored object already had.
import { describe, expect, it } from 'vitest';
import { reviewAdmission } from './admission.js';
import { VALIDATED_KIND_NAMES } from './kinds.js';
import { INVALID, VALID } from './testdata/cases.js';

const review = (request: Record<string, unknown>) => ({
  apiVersion: 'admission.k8s.io/v1',
  kind: 'AdmissionReview',
  request: { uid: 'u-1', operation: 'CREATE', ...request },
});

const pool = (name: string, spec: Record<string, unknown>, labels?: Record<string, string>) => ({
  apiVersion: 'projectcalico.org/v3',
  kind: 'IPPool',
  metadata: { name, ...(labels === undefined ? {} : { labels }) },
  spec,
});

const validated = new Set<string>(VALIDATED_KIND_NAMES);

describe('reviewAdmission', () => {
  it.each(INVALID.filter((c) => validated.has(String(c.object.kind))).map((c) => [c.name, c] as const))(
    'refuses %s, naming the field',
    (_n, c) => {
      const d = reviewAdmission(review({ object: c.object }));
      expect(d.review.response.allowed).toBe(false);
      expect(d.review.response.uid).toBe('u-1');
      expect(d.review.response.status?.code).toBe(422);
      expect(d.review.response.status?.message).toContain(c.path);
      expect(d.review.response.status?.details?.causes?.map((x) => x.field)).toContain(c.path);
    },
  );

  it.each(VALID.filter((c) => validated.has(String(c.object.kind))).map((c) => [c.name, c] as const))(
    'allows %s',
    (_n, c) => {
      expect(reviewAdmission(review({ object: c.object })).review.response).toEqual({ uid: 'u-1', allowed: true });
    },
  );

  it('allows the kinds Tabby writes itself, and kinds it does not know, whatever they hold', () => {
    for (const object of [
      { apiVersion: 'projectcalico.org/v3', kind: 'IPAMBlock', metadata: { name: 'b' }, spec: { cidr: 'nonsense' } },
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: 'b' } },
      { apiVersion: 'projectcalico.org/v3', kind: 'NetworkPolicy', metadata: { name: 'n' }, spec: {} },
    ]) {
      expect(reviewAdmission(review({ object })).review.response.allowed).toBe(true);
    }
  });

  it('allows deletes and status writes', () => {
    const bad = pool('p', { cidr: '10.0.0.0/16', nodeSelector: 'bad selector (' });
    expect(reviewAdmission(review({ operation: 'DELETE', oldObject: bad })).review.response.allowed).toBe(true);
    expect(
      reviewAdmission(review({ operation: 'UPDATE', subResource: 'status', object: bad, oldObject: bad })).review
        .response.allowed,
    ).toBe(true);
  });

  it('does not blame an update for what the stored object already had, but refuses what it adds', () => {
    const stored = pool('p', { cidr: '10.0.0.0/16', nodeSelector: 'bad selector (' });
    const relabelled = pool('p', { cidr: '10.0.0.0/16', nodeSelector: 'bad selector (' }, { team: 'a' });
    expect(
      reviewAdmission(review({ operation: 'UPDATE', object: relabelled, oldObject: stored })).review.response.allowed,
    ).toBe(true);
    const worse = pool('p', { cidr: '10.0.0.0/16', nodeSelector: 'bad selector (', namespaceSelector: 'x ==' });
    const d = reviewAdmission(review({ operation: 'UPDATE', object: worse, oldObject: stored }));
    expect(d.review.response.allowed).toBe(false);
    expect(d.issues.map((i) => i.path.join('.'))).toEqual(['spec.namespaceSelector']);
    // A changed bad value is a new problem.
    const changed = pool('p', { cidr: '10.0.0.0/16', nodeSelector: 'other bad (' });
    expect(
      reviewAdmission(review({ operation: 'UPDATE', object: changed, oldObject: stored })).review.response.allowed,
    ).toBe(false);
  });

  it('says what is wrong with a review it cannot read', () => {
    for (const input of [
      undefined,
      {},
      { apiVersion: 'admission.k8s.io/v1beta1', request: {} },
      { apiVersion: 'admission.k8s.io/v1' },
    ]) {
      const r = reviewAdmission(input).review;
      expect(r.response.allowed).toBe(false);
      expect(r.response.status?.message).toMatch(/AdmissionReview/);
    }
  });

  it('names the object and every problem in one message, as the CLI prints them', () => {
    const d = reviewAdmission(
      review({ object: pool('p', { cidr: '10.0.0.0/16', nodeSelector: 'a ==', namespaceSelector: 'b ==' }) }),
    );
    const message = d.review.response.status?.message ?? '';
    expect(message).toMatch(
      /^IPPool p: spec\.nodeSelector: must be a valid selector: .*; IPPool p: spec\.namespaceSelector: /,
    );
    expect(d.review.response.status?.details).toMatchObject({ name: 'p', group: 'projectcalico.org', kind: 'IPPool' });
  });
});
