// Services and EndpointSlices as the planner keeps them: each Service's announcement decided once
// (service-advertisement.ts holds the rule), indexed by the nodes that announce it, so a change to one Service or
// one of its EndpointSlices names exactly the nodes whose announcements it changes.
// Inputs: Service and EndpointSlice records, one upsert/delete at a time, and the service settings of the default
// BGPConfiguration. Outputs: per node the Service addresses it announces; per change the nodes it affects.
// Invariants: `scopes` holds the decision for every Service whose decision is not `none`, equal to `serviceScope` of
// its current record, slices and settings; `localByNode` and `everywhere` index exactly those decisions.
import {
  type ServicePrefix,
  type ServiceScope,
  type ServiceSettings,
  serviceScope,
  serviceSettings,
} from './service-advertisement.js';
import type { SnapshotEndpointSlice, SnapshotService } from './snapshot.js';

/** Nodes a change affects: `all` when every node's announcements may differ. */
export interface AffectedNodes {
  all: boolean;
  nodes: Set<string>;
}

export function serviceKey(x: { namespace: string; name: string }): string {
  return `${x.namespace}/${x.name}`;
}

function sliceServiceKey(e: SnapshotEndpointSlice): string {
  return `${e.namespace}/${e.service}`;
}

function samePrefixes(a: readonly ServicePrefix[], b: readonly ServicePrefix[]): boolean {
  return a.length === b.length && a.every((p, i) => p.cidr === b[i]?.cidr && p.origin === b[i]?.origin);
}

export class ServiceIndex {
  private readonly services = new Map<string, SnapshotService>();
  private readonly slices = new Map<string, SnapshotEndpointSlice>();
  private readonly slicesByService = new Map<string, Set<string>>();
  private readonly scopes = new Map<string, Exclude<ServiceScope, { kind: 'none' }>>();
  private readonly localByNode = new Map<string, Set<string>>();
  private readonly everywhere = new Set<string>();
  private settings: ServiceSettings = serviceSettings(undefined);

  get serviceRecords(): Iterable<SnapshotService> {
    return this.services.values();
  }

  get sliceRecords(): Iterable<SnapshotEndpointSlice> {
    return this.slices.values();
  }

  get currentSettings(): ServiceSettings {
    return this.settings;
  }

  /** New settings re-decide every Service; the caller replans every node. */
  setSettings(s: ServiceSettings): void {
    this.settings = s;
    for (const key of this.services.keys()) this.decide(key);
  }

  setService(key: string, record: SnapshotService | undefined): AffectedNodes {
    if (record) this.services.set(key, record);
    else this.services.delete(key);
    return this.decide(key);
  }

  setSlice(key: string, record: SnapshotEndpointSlice | undefined): AffectedNodes {
    const old = this.slices.get(key);
    const touched = new Set<string>();
    if (old) {
      const sk = sliceServiceKey(old);
      const set = this.slicesByService.get(sk);
      set?.delete(key);
      if (set?.size === 0) this.slicesByService.delete(sk);
      touched.add(sk);
    }
    if (record) {
      this.slices.set(key, record);
      const sk = sliceServiceKey(record);
      let set = this.slicesByService.get(sk);
      if (!set) this.slicesByService.set(sk, (set = new Set()));
      set.add(key);
      touched.add(sk);
    } else {
      this.slices.delete(key);
    }
    const out: AffectedNodes = { all: false, nodes: new Set() };
    for (const sk of touched) {
      const a = this.decide(sk);
      out.all ||= a.all;
      for (const n of a.nodes) out.nodes.add(n);
    }
    return out;
  }

  /** Addresses announced from every node that announces services (the caller drops excluded nodes). */
  everywherePrefixes(): ServicePrefix[] {
    const out: ServicePrefix[] = [];
    for (const key of [...this.everywhere].sort()) out.push(...(this.scopes.get(key)?.prefixes ?? []));
    return out;
  }

  /** Addresses `node` announces because it runs a ready endpoint of an externalTrafficPolicy: Local Service. */
  localPrefixes(node: string): ServicePrefix[] {
    const keys = this.localByNode.get(node);
    if (!keys) return [];
    const out: ServicePrefix[] = [];
    for (const key of [...keys].sort()) out.push(...(this.scopes.get(key)?.prefixes ?? []));
    return out;
  }

  private decide(key: string): AffectedNodes {
    const svc = this.services.get(key);
    const slices = [...(this.slicesByService.get(key) ?? [])]
      .sort()
      .map((k) => this.slices.get(k))
      .filter((e): e is SnapshotEndpointSlice => e !== undefined);
    const now: ServiceScope = svc ? serviceScope(svc, slices, this.settings) : { kind: 'none' };
    const was: ServiceScope = this.scopes.get(key) ?? { kind: 'none' };
    this.unindex(key, was);
    if (now.kind === 'none') this.scopes.delete(key);
    else this.scopes.set(key, now);
    this.index(key, now);
    return affected(was, now);
  }

  private index(key: string, s: ServiceScope): void {
    if (s.kind === 'all') this.everywhere.add(key);
    if (s.kind !== 'local') return;
    for (const n of s.nodes) {
      let set = this.localByNode.get(n);
      if (!set) this.localByNode.set(n, (set = new Set()));
      set.add(key);
    }
  }

  private unindex(key: string, s: ServiceScope): void {
    if (s.kind === 'all') this.everywhere.delete(key);
    if (s.kind !== 'local') return;
    for (const n of s.nodes) {
      const set = this.localByNode.get(n);
      set?.delete(key);
      if (set?.size === 0) this.localByNode.delete(n);
    }
  }
}

/** The nodes whose announcements differ between two decisions for one Service. */
export function affected(was: ServiceScope, now: ServiceScope): AffectedNodes {
  const out: AffectedNodes = { all: false, nodes: new Set() };
  if (was.kind === 'none' && now.kind === 'none') return out;
  if (was.kind === 'all' || now.kind === 'all') {
    out.all = !(was.kind === 'all' && now.kind === 'all' && samePrefixes(was.prefixes, now.prefixes));
    return out;
  }
  const before = was.kind === 'local' ? was : undefined;
  const after = now.kind === 'local' ? now : undefined;
  if (before && after && samePrefixes(before.prefixes, after.prefixes)) {
    const a = new Set(before.nodes);
    const b = new Set(after.nodes);
    for (const n of a) if (!b.has(n)) out.nodes.add(n);
    for (const n of b) if (!a.has(n)) out.nodes.add(n);
    return out;
  }
  for (const n of before?.nodes ?? []) out.nodes.add(n);
  for (const n of after?.nodes ?? []) out.nodes.add(n);
  return out;
}
