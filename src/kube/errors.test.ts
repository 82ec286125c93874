import { describe, expect, it } from 'vitest';
import {
  AlreadyExistsError,
  ConflictError,
  ForbiddenError,
  GoneError,
  InvalidError,
  KubeError,
  NotFoundError,
  TransientError,
  errorFromResponse,
  networkError,
  parseFieldPath,
} from './errors.js';

const target = { verb: 'replace', resource: 'ippools.projectcalico.org', name: 'pool-a' };
const status = (code: number, reason: string, extra: Record<string, unknown> = {}) => ({
  kind: 'Status',
  apiVersion: 'v1',
  status: 'Failure',
  message: `${reason} happened`,
  reason,
  code,
  ...extra,
});

describe('errorFromResponse', () => {
  it.each([
    { name: '404', code: 404, reason: 'NotFound', cls: NotFoundError },
    { name: '409 Conflict', code: 409, reason: 'Conflict', cls: ConflictError },
    { name: '409 AlreadyExists', code: 409, reason: 'AlreadyExists', cls: AlreadyExistsError },
    { name: '422 Invalid', code: 422, reason: 'Invalid', cls: InvalidError },
    { name: '400 BadRequest', code: 400, reason: 'BadRequest', cls: InvalidError },
    { name: '401', code: 401, reason: 'Unauthorized', cls: ForbiddenError },
    { name: '403', code: 403, reason: 'Forbidden', cls: ForbiddenError },
    { name: '410', code: 410, reason: 'Expired', cls: GoneError },
    { name: '429', code: 429, reason: 'TooManyRequests', cls: TransientError },
    { name: '500', code: 500, reason: 'InternalError', cls: TransientError },
    { name: '503', code: 503, reason: 'ServiceUnavailable', cls: TransientError },
    { name: '504', code: 504, reason: 'Timeout', cls: TransientError },
    { name: '405 is none of the above', code: 405, reason: 'MethodNotAllowed', cls: KubeError },
  ])('$name → $cls.name', ({ code, reason, cls }) => {
    const err = errorFromResponse(code, status(code, reason), target);
    expect(err).toBeInstanceOf(cls);
    expect(err.constructor).toBe(cls);
    expect(err.status).toBe(code);
    expect(err.reason).toBe(reason);
    expect(err.message).toBe(`replace ippools.projectcalico.org pool-a: ${code} ${reason}: ${reason} happened`);
  });

  it('AlreadyExists is also a ConflictError, so CAS loops handle it', () => {
    expect(errorFromResponse(409, status(409, 'AlreadyExists'), target)).toBeInstanceOf(ConflictError);
  });

  it('keeps the server’s causes and turns them into issues with real paths', () => {
    const err = errorFromResponse(
      422,
      status(422, 'Invalid', {
        details: {
          name: 'pool-a',
          kind: 'IPPool',
          causes: [
            { reason: 'FieldValueInvalid', message: 'Invalid value: 33: must be at most 32', field: 'spec.blockSize' },
            { reason: 'FieldValueRequired', message: 'Required value', field: 'spec.peers[0].peerIP' },
          ],
        },
      }),
      target,
    );
    expect(err).toBeInstanceOf(InvalidError);
    const inv = err as InvalidError;
    expect(inv.fieldPaths()).toEqual(['spec.blockSize', 'spec.peers[0].peerIP']);
    expect(inv.issues({ kind: 'IPPool', name: 'pool-a' })).toEqual([
      {
        code: 'FieldValueInvalid',
        object: { kind: 'IPPool', name: 'pool-a' },
        path: ['spec', 'blockSize'],
        message: 'Invalid value: 33: must be at most 32',
      },
      {
        code: 'FieldValueRequired',
        object: { kind: 'IPPool', name: 'pool-a' },
        path: ['spec', 'peers', 0, 'peerIP'],
        message: 'Required value',
      },
    ]);
  });

  it('reads Retry-After from the Status or the header', () => {
    const a = errorFromResponse(429, status(429, 'TooManyRequests', { details: { retryAfterSeconds: 2 } }), target);
    expect((a as TransientError).retryAfterMs).toBe(2000);
    const b = errorFromResponse(503, 'busy', target, '5');
    expect((b as TransientError).retryAfterMs).toBe(5000);
    expect(b.serverMessage).toBe('busy');
  });

  it('an ERROR watch event without a code is transient', () => {
    expect(
      errorFromResponse(0, { kind: 'Status', message: 'internal error' }, { verb: 'watch', resource: 'nodes' }),
    ).toBeInstanceOf(TransientError);
  });

  it('a network failure is transient and keeps its code', () => {
    const e = networkError(
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6443'), { code: 'ECONNREFUSED' }),
      target,
    );
    expect(e).toBeInstanceOf(TransientError);
    expect(e.reason).toBe('ECONNREFUSED');
    expect(e.status).toBe(0);
  });
});

describe('parseFieldPath', () => {
  it.each([
    { name: 'dotted', field: 'spec.blockSize', want: ['spec', 'blockSize'] },
    { name: 'index', field: 'spec.peers[0].peerIP', want: ['spec', 'peers', 0, 'peerIP'] },
    { name: 'map key with a slash', field: 'metadata.labels[a.b/c]', want: ['metadata', 'labels', 'a.b/c'] },
    { name: 'nested indexes', field: 'a[1][2]', want: ['a', 1, 2] },
    { name: 'empty', field: '', want: [] },
    { name: 'unclosed bracket kept as text', field: 'a[1', want: ['a', '[1'] },
  ])('$name', ({ field, want }) => {
    expect(parseFieldPath(field)).toEqual(want);
  });
});
