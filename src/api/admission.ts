// Admission review: the validating webhook's decision, as a pure function. Input: an admission.k8s.io/v1
// AdmissionReview as the apiserver sends it. Output: the AdmissionReview to answer with. The decision is our one
// validation (validate.ts) — what the CRD's OpenAPI schema and CEL already refuse, and what they cannot say
// (selector syntax, Go regular expressions, references within the object) — so the apiserver refuses what every
// Tabby component refuses, with the same messages naming the field.
// - Only the kinds users write (kinds.ts VALIDATED_KIND_NAMES) are judged; anything else is allowed.
// - CREATE and UPDATE are judged; DELETE, CONNECT and subresources (status) are allowed.
// - On UPDATE, a problem the old object already had is not held against the change (as the apiserver ratchets its
//   own CRD validation): an object stored before the webhook existed can still have its labels edited or be
//   deleted with its finalizers removed, but a change cannot add a problem.
// Never throws: a review it cannot read is answered with `allowed: false` and why.
import { formatIssue, formatPath, type Issue } from './errors.js';
import { findKind, VALIDATED_KIND_NAMES } from './kinds.js';
import { validateObject } from './validate.js';

export const ADMISSION_API_VERSION = 'admission.k8s.io/v1';

export interface AdmissionStatusCause {
  type: string;
  message: string;
  field: string;
}

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  status?: {
    code: number;
    reason?: string;
    message: string;
    details?: { name?: string; group?: string; kind?: string; causes?: AdmissionStatusCause[] };
  };
}

export interface AdmissionReviewOut {
  apiVersion: typeof ADMISSION_API_VERSION;
  kind: 'AdmissionReview';
  response: AdmissionResponse;
}

/** What the webhook decided, for its log line: the kind and name judged and the problems found. */
export interface AdmissionDecision {
  review: AdmissionReviewOut;
  kind?: string;
  name?: string;
  operation?: string;
  issues: Issue[];
}

const VALIDATED = new Set<string>(VALIDATED_KIND_NAMES);

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const key = (i: Issue) => `${formatPath(i.path)}\u0000${i.message}`;

function answer(uid: string, allowed: boolean, status?: AdmissionResponse['status']): AdmissionReviewOut {
  const response: AdmissionResponse = { uid, allowed };
  if (status !== undefined) response.status = status;
  return { apiVersion: ADMISSION_API_VERSION, kind: 'AdmissionReview', response };
}

/** Decides one AdmissionReview. */
export function reviewAdmission(input: unknown): AdmissionDecision {
  const request = isRecord(input) ? input.request : undefined;
  if (!isRecord(input) || input.apiVersion !== ADMISSION_API_VERSION || !isRecord(request)) {
    return {
      review: answer('', false, { code: 400, message: `expected an ${ADMISSION_API_VERSION} AdmissionReview request` }),
      issues: [],
    };
  }
  const uid = typeof request.uid === 'string' ? request.uid : '';
  const operation = typeof request.operation === 'string' ? request.operation : '';
  const allow = (): AdmissionDecision => ({ review: answer(uid, true), operation, issues: [] });
  if (operation !== 'CREATE' && operation !== 'UPDATE') return allow();
  if (typeof request.subResource === 'string' && request.subResource !== '') return allow();
  const obj = request.object;
  if (!isRecord(obj) || typeof obj.apiVersion !== 'string' || typeof obj.kind !== 'string') return allow();
  const def = findKind(obj.apiVersion, obj.kind);
  if (def === undefined || !VALIDATED.has(def.kind)) return allow();

  const verdict = validateObject(obj);
  if (verdict.ok) return { ...allow(), kind: def.kind };
  let issues = verdict.issues;
  if (operation === 'UPDATE' && isRecord(request.oldObject)) {
    const before = validateObject(request.oldObject);
    if (!before.ok) {
      const known = new Set(before.issues.map(key));
      issues = issues.filter((i) => !known.has(key(i)));
    }
  }
  const name = isRecord(obj.metadata) && typeof obj.metadata.name === 'string' ? obj.metadata.name : '';
  if (issues.length === 0) return { ...allow(), kind: def.kind, name };
  return {
    review: answer(uid, false, {
      code: 422,
      reason: 'Invalid',
      message: issues.map(formatIssue).join('; '),
      details: {
        name,
        group: def.group,
        kind: def.kind,
        causes: issues.map((i) => ({ type: 'FieldValueInvalid', message: i.message, field: formatPath(i.path) })),
      },
    }),
    kind: def.kind,
    name,
    operation,
    issues,
  };
}
