import { describe, expect, it } from 'vitest';
import { tallyWrites, type AuditEvent } from './rewrites.js';

interface Write {
  verb: string;
  at: string;
  status?: unknown;
  code?: number;
  name?: string;
  resourceVersion?: string;
}

function ndp(w: Write): string {
  const e: AuditEvent & { responseObject: { metadata: Record<string, unknown> } } = {
    verb: w.verb,
    stageTimestamp: w.at,
    objectRef: {
      resource: 'nodedataplanes',
      name: w.name ?? 'n1',
      ...(w.verb === 'patch' ? { subresource: 'status' } : {}),
    },
    responseStatus: { code: w.code ?? 200 },
    // resourceVersion and managedFields change with every write that lands; they are no change of content.
    responseObject: {
      metadata: { resourceVersion: w.resourceVersion ?? w.at, managedFields: [{ time: w.at }], labels: { a: '1' } },
      spec: { node: w.name ?? 'n1' },
      status: w.status,
    },
  };
  return JSON.stringify(e);
}

describe('tallyWrites', () => {
  it('calls a write that leaves the object as the previous write left it a rewrite, in the order the apiserver finished them', () => {
    const desired = { desired: { revision: 'b' } };
    const { byResource, unreadable } = tallyWrites([
      ndp({ verb: 'patch', at: '2026-12-07T10:00:03Z', status: desired }),
      ndp({ verb: 'create', at: '2026-12-07T10:00:01Z' }),
      ndp({ verb: 'patch', at: '2026-12-07T10:00:02Z', status: { desired: { revision: 'a' } } }),
      // The same content as the write before it: a rewrite.
      ndp({ verb: 'patch', at: '2026-12-07T10:00:04Z', status: { desired: { revision: 'b' } } }),
      // Same revision, a condition added: a change.
      ndp({
        verb: 'patch',
        at: '2026-12-07T10:00:05Z',
        status: { conditions: [{ type: 'Planned', status: 'True' }], desired: { revision: 'b' } },
      }),
      ndp({ verb: 'patch', at: '2026-12-07T10:00:06Z', status: desired, code: 409 }),
      '{"verb":"upd', // a line cut by a crash
    ]);
    expect(unreadable).toBe(1);
    expect(byResource.get('nodedataplanes')).toEqual({
      writes: 5,
      changes: 4,
      failed: 1,
      rewrites: ['patch nodedataplanes/n1/status at 2026-12-07T10:00:04Z changed nothing'],
    });
  });

  it('starts an object history again when it is deleted and created, and keeps objects apart', () => {
    const { byResource } = tallyWrites([
      ndp({ verb: 'patch', at: '2026-12-07T10:00:01Z', status: { desired: { revision: 'a' } } }),
      ndp({ verb: 'delete', at: '2026-12-07T10:00:02Z' }),
      ndp({ verb: 'create', at: '2026-12-07T10:00:03Z', status: { desired: { revision: 'a' } } }),
      ndp({ verb: 'patch', at: '2026-12-07T10:00:04Z', status: { desired: { revision: 'a' } }, name: 'n2' }),
    ]);
    expect(byResource.get('nodedataplanes')).toEqual({ writes: 4, changes: 3, failed: 0, rewrites: [] });
  });
});
