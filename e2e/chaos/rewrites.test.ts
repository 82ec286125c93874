import { describe, expect, it } from 'vitest';
import { tallyWrites, type AuditEvent } from './rewrites.js';

function ndp(verb: string, at: string, revision: string | undefined, code = 200, name = 'n1'): string {
  const e: AuditEvent = {
    verb,
    stageTimestamp: at,
    objectRef: { resource: 'nodedataplanes', name, ...(verb === 'update' ? { subresource: 'status' } : {}) },
    responseStatus: { code },
    responseObject: { status: revision === undefined ? {} : { desired: { revision } } },
  };
  return JSON.stringify(e);
}

function rt(verb: string, at: string, revision: string): string {
  const e: AuditEvent = {
    verb,
    stageTimestamp: at,
    objectRef: { resource: 'routetables', name: 'v4-0' },
    responseStatus: { code: 200 },
    responseObject: { status: { revision } },
  };
  return JSON.stringify(e);
}

describe('tallyWrites', () => {
  it('calls a write that keeps the revision of the previous write a rewrite, in the order the apiserver finished them', () => {
    const { byResource, unreadable } = tallyWrites([
      ndp('update', '2026-12-07T10:00:03Z', 'b'),
      ndp('create', '2026-12-07T10:00:01Z', undefined),
      ndp('update', '2026-12-07T10:00:02Z', 'a'),
      ndp('update', '2026-12-07T10:00:04Z', 'b'),
      ndp('update', '2026-12-07T10:00:05Z', 'b', 409),
      '{"verb":"upd', // a line cut by a crash
      rt('create', '2026-12-07T10:00:01Z', '1'),
      rt('update', '2026-12-07T10:00:02Z', '2'),
    ]);
    expect(unreadable).toBe(1);
    expect(byResource.get('nodedataplanes')).toEqual({
      writes: 4,
      changes: 3,
      failed: 1,
      rewrites: ['update nodedataplanes/n1/status at 2026-12-07T10:00:04Z kept revision b'],
    });
    expect(byResource.get('routetables')).toEqual({ writes: 2, changes: 2, failed: 0, rewrites: [] });
  });

  it('starts an object history again when it is deleted and created', () => {
    const { byResource } = tallyWrites([
      ndp('update', '2026-12-07T10:00:01Z', 'a'),
      ndp('delete', '2026-12-07T10:00:02Z', undefined),
      ndp('create', '2026-12-07T10:00:03Z', 'a'),
      ndp('update', '2026-12-07T10:00:04Z', 'a', 200, 'n2'),
    ]);
    expect(byResource.get('nodedataplanes')).toEqual({ writes: 4, changes: 3, failed: 0, rewrites: [] });
  });
});
