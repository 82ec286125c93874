// Writes against changes, pure: from the apiserver's audit events of the operator's NodeDataplane and RouteTable
// writes (the object after each write included), in the order the apiserver finished them. A write that leaves the
// object as the operator's previous write of it left it — labels, annotations, spec and status alike; the
// resourceVersion and managedFields aside — changed nothing: a rewrite. Creating or deleting an object starts its
// history again. Failed writes (conflicts, an apiserver without etcd) are counted apart.

export interface AuditEvent {
  verb: string;
  stageTimestamp?: string;
  objectRef?: { resource?: string; subresource?: string; name?: string };
  responseStatus?: { code?: number };
  responseObject?: {
    metadata?: { labels?: unknown; annotations?: unknown };
    spec?: unknown;
    status?: unknown;
  };
}

export interface WriteTally {
  writes: number;
  changes: number;
  failed: number;
  rewrites: string[];
}

/** JSON with object keys sorted, so two equal objects give one text. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .filter((k) => o[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

/** What a write can change that anyone reads: labels, annotations, spec, status. */
function contentOf(obj: AuditEvent['responseObject']): string {
  return canonical({
    labels: obj?.metadata?.labels,
    annotations: obj?.metadata?.annotations,
    spec: obj?.spec,
    status: obj?.status,
  });
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
  const last = new Map<string, string>();
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
    const now = contentOf(e.responseObject);
    if (e.verb === 'create') {
      last.set(key, now);
      t.changes++;
      continue;
    }
    if (last.has(key) && last.get(key) === now) {
      t.rewrites.push(
        `${e.verb} ${key}${e.objectRef?.subresource ? `/${e.objectRef.subresource}` : ''} at ${e.stageTimestamp} changed nothing`,
      );
    } else {
      t.changes++;
    }
    last.set(key, now);
  }
  return { byResource, unreadable };
}
