// IPAM errors: one class, tagged with Calico's three error classes (design/ipam/ipam-core-library.md, STYLE.md §7):
// - transient: store failures and conflicts; retried inside (bounded) and only surfaced when retries run out.
// - invalid: the request or the stored data is wrong; shown to the user, never retried.
// - stale: the caller's view is out of date or a resource is exhausted; skip and look again on the next pass.
// Each error names the object it is about, so its message renders as `IPAMBlock 10-0-0-0-26: ...`. Messages keep
// Calico's wording where callers (and Calico's tests) match on it.
import { TabbyError, type ObjectRef } from '../api/errors.js';

export type IpamErrorClass = 'transient' | 'invalid' | 'stale';

export type IpamErrorCode =
  | 'useRequired'
  | 'noQualifiedPool'
  | 'poolNotEnabled'
  | 'notInPool'
  | 'blockLimit'
  | 'noFreeBlocks'
  | 'alreadyAssigned'
  | 'affinityMismatch'
  | 'badSequenceNumber'
  | 'badHandle'
  | 'cidrNotInPool'
  | 'cidrTooSmall'
  | 'retriesExhausted'
  | 'corruptBlock'
  | 'notOwnBlock'
  | 'invalidRequest';

const CLASS_OF: Record<IpamErrorCode, IpamErrorClass> = {
  useRequired: 'invalid',
  noQualifiedPool: 'invalid',
  poolNotEnabled: 'invalid',
  notInPool: 'invalid',
  blockLimit: 'stale',
  noFreeBlocks: 'stale',
  alreadyAssigned: 'invalid',
  affinityMismatch: 'invalid',
  badSequenceNumber: 'stale',
  badHandle: 'stale',
  cidrNotInPool: 'invalid',
  cidrTooSmall: 'invalid',
  retriesExhausted: 'transient',
  corruptBlock: 'invalid',
  notOwnBlock: 'invalid',
  invalidRequest: 'invalid',
};

export class IpamError extends TabbyError {
  readonly code: IpamErrorCode;
  readonly errorClass: IpamErrorClass;
  readonly object: ObjectRef;

  constructor(code: IpamErrorCode, object: ObjectRef, message: string, path: (string | number)[] = []) {
    super([{ code, object, path, message }]);
    this.name = 'IpamError';
    this.code = code;
    this.errorClass = CLASS_OF[code];
    this.object = object;
  }
}

export function isIpamError(e: unknown, code?: IpamErrorCode): e is IpamError {
  return e instanceof IpamError && (code === undefined || e.code === code);
}

export const nodeRef = (name: string): ObjectRef => ({ kind: 'Node', name });
export const poolRef = (name: string): ObjectRef => ({ kind: 'IPPool', name });
export const blockRef = (key: string): ObjectRef => ({ kind: 'IPAMBlock', name: key });
export const affinityRef = (key: string): ObjectRef => ({ kind: 'BlockAffinity', name: key });
export const handleRef = (key: string): ObjectRef => ({ kind: 'IPAMHandle', name: key });

/** calico: libcalico-go/lib/ipam/ipam.go datastoreRetries. */
export const DATASTORE_RETRIES = 100;

export function retriesExhausted(object: ObjectRef): IpamError {
  return new IpamError('retriesExhausted', object, 'Max retries hit - excessive concurrent IPAM requests');
}
