// Writes against changes, pure: from the apiserver's audit events of the operator's NodeDataplane and RouteTable
// writes (the object after each write included), in the order the apiserver finished them. A write whose object
// carries the same revision as after the operator's previous write of it (status.desired.revision of a
// NodeDataplane, status.revision of a RouteTable) changed nothing the agents act on: a rewrite. Creating or deleting
// an object starts its history again. Failed writes (conflicts, an apiserver without etcd) are counted apart.

export interface AuditEvent {
  verb: string;
  stageTimestamp?: string;
  objectRef?: { resource?: string; subresource?: string; name?: string };
  responseStatus?: { code?: number };
  responseObject?: {
    metadata?: { resourceVersion?: string };
    status?: { revision?: string; desired?: { revision?: string } };
  };
}

export interface WriteTally {
  writes: number;
  changes: number;
  failed: number;
  rewrites: string[];
}

function revisionOf(resource: string, obj: AuditEvent['responseObject']): string | undefined {
  return resource === 'nodedataplanes' ? obj?.status?.desired?.revision : obj?.status?.revision;
}

/** Per resource (`nodedataplanes`, `routetables`); lines that are not JSON (a crash mid-line) are skipped. */
export function tallyWrites(lines: readonly string[]): { byResource: Map<string, WriteTally>; unreadable: number } {
  const events: AuditEvent[] = [];
  let unreadable = 0;
  for (const l of lines) {
    try {
      events.push(JSON.parse(l) as AuditEvent);
    } catch {
      unreadable++;
    }
  }
  events.sort((a, b) => ((a.stageTimestamp ?? '') < (b.stageTimestamp ?? '') ? -1 : 1));
  const byResource = new Map<string, WriteTally>();
  const last = new Map<string, string | undefined>();
  for (const e of events) {
    const resource = e.objectRef?.resource ?? '';
    const name = e.objectRef?.name ?? '';
    const t = byResource.get(resource) ?? { writes: 0, changes: 0, failed: 0, rewrites: [] };
    byResource.set(resource, t);
    const code = e.responseStatus?.code ?? 0;
    if (code < 200 || code >= 300) {
      t.failed++;
      continue;
    }
    const key = `${resource}/${name}`;
    t.writes++;
    if (e.verb === 'delete') {
      last.delete(key);
      continue;
    }
    const now = revisionOf(resource, e.responseObject);
    if (e.verb === 'create') {
      last.set(key, now);
      t.changes++;
      continue;
    }
    if (now !== undefined && last.has(key) && last.get(key) === now) {
      t.rewrites.push(
        `${e.verb} ${key}${e.objectRef?.subresource ? `/${e.objectRef.subresource}` : ''} at ${e.stageTimestamp} kept revision ${now}`,
      );
    } else {
      t.changes++;
    }
    last.set(key, now);
  }
  return { byResource, unreadable };
}
