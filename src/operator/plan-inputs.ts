// What the planner is given, object by object: informer events in, plan changes out (ARCHITECTURE.md "How a change
// flows"). Each cached object is read into its planner record (`planRecordOf`); an event whose record equals the one
// in effect — a Node heartbeat, a pod starting in its node's own block, our own status writes on a pool — makes no
// change. An object that becomes unusable (an annotation that does not parse, a selector the planner cannot compile,
// a schema the informer refuses) keeps its last good record in effect and is listed as a problem, naming the object,
// the field and the version kept, so nothing is withdrawn over a typo (ARCHITECTURE.md "Bad input keeps the last good
// state"). Inputs: cache events (and the caches, for full rebuilds). Outputs: pending `PlanChange`s, a snapshot of
// every record in effect, and the current problems.
// Invariants: after `takeChanges()`, the records in effect equal the planner's index applied with every change taken;
// a record is in effect only if `planRecordIssues` accepted it; problems are keyed by object and cleared when the
// object is valid again or deleted.
import type { Issue } from '../api/errors.js';
import { planRecordIssues } from '../plan/record-check.js';
import type { PlanChange } from '../plan/plan-state.js';
import type { ClusterSnapshot } from '../plan/snapshot.js';
import {
  addToSnapshot,
  freezeSnapshot,
  mutableSnapshot,
  planRecordOf,
  type InputKindObject,
  type PlanRecord,
} from '../plan/snapshot-from-objects.js';
import type { ClusterCaches } from './caches.js';

/** The caches whose objects the planner reads. */
export const PLAN_CACHES = [
  'nodes',
  'ippools',
  'ipamBlocks',
  'bgpConfigurations',
  'bgpPeers',
  'felixConfigurations',
  'bgpFilters',
  'services',
  'endpointSlices',
] as const;
export type PlanCache = (typeof PLAN_CACHES)[number];

const KIND_OF: Record<PlanCache, { apiVersion: string; kind: string }> = {
  nodes: { apiVersion: 'v1', kind: 'Node' },
  ippools: { apiVersion: 'projectcalico.org/v3', kind: 'IPPool' },
  ipamBlocks: { apiVersion: 'projectcalico.org/v3', kind: 'IPAMBlock' },
  bgpConfigurations: { apiVersion: 'projectcalico.org/v3', kind: 'BGPConfiguration' },
  bgpPeers: { apiVersion: 'projectcalico.org/v3', kind: 'BGPPeer' },
  felixConfigurations: { apiVersion: 'projectcalico.org/v3', kind: 'FelixConfiguration' },
  bgpFilters: { apiVersion: 'projectcalico.org/v3', kind: 'BGPFilter' },
  services: { apiVersion: 'v1', kind: 'Service' },
  endpointSlices: { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice' },
};

export function isPlanCache(cache: string): cache is PlanCache {
  return (PLAN_CACHES as readonly string[]).includes(cache);
}

/** An object the planner cannot use as it is now. */
export interface InputProblem {
  cache: PlanCache;
  apiVersion: string;
  kind: string;
  name: string;
  uid?: string;
  issues: readonly Issue[];
  /** resourceVersion of the version still in effect; undefined when none ever was (the object is left out). */
  keptResourceVersion?: string;
}

interface InEffect {
  record: PlanRecord;
  resourceVersion: string | undefined;
  json: string;
}

type Meta = { name: string; uid?: string | undefined; resourceVersion?: string | undefined };

function metaOf(obj: unknown): Meta {
  return (obj as { metadata: Meta }).metadata;
}

function changeOf(r: PlanRecord): PlanChange {
  switch (r.kind) {
    case 'node':
      return { kind: 'node', name: r.key, node: r.record };
    case 'pool':
      return { kind: 'pool', name: r.key, pool: r.record };
    case 'block':
      return { kind: 'block', cidr: r.key, block: r.record };
    case 'pod':
      return { kind: 'pod', namespace: r.record.namespace, name: r.record.name, pod: r.record };
    case 'bgpConfiguration':
      return { kind: 'bgpConfiguration', name: r.key, config: r.record };
    case 'bgpPeer':
      return { kind: 'bgpPeer', name: r.key, peer: r.record };
    case 'felixConfiguration':
      return { kind: 'felixConfiguration', name: r.key, config: r.record };
    case 'bgpFilter':
      return { kind: 'bgpFilter', name: r.key, filter: r.record };
    case 'service':
      return { kind: 'service', namespace: r.record.namespace, name: r.record.name, service: r.record };
    case 'endpointSlice':
      return { kind: 'endpointSlice', namespace: r.record.namespace, name: r.record.name, slice: r.record };
  }
}

function removalOf(r: PlanRecord): PlanChange {
  switch (r.kind) {
    case 'node':
      return { kind: 'node', name: r.key };
    case 'pool':
      return { kind: 'pool', name: r.key };
    case 'block':
      return { kind: 'block', cidr: r.key };
    case 'pod':
      return { kind: 'pod', namespace: r.record.namespace, name: r.record.name };
    case 'bgpConfiguration':
      return { kind: 'bgpConfiguration', name: r.key };
    case 'bgpPeer':
      return { kind: 'bgpPeer', name: r.key };
    case 'felixConfiguration':
      return { kind: 'felixConfiguration', name: r.key };
    case 'bgpFilter':
      return { kind: 'bgpFilter', name: r.key };
    case 'service':
      return { kind: 'service', namespace: r.record.namespace, name: r.record.name };
    case 'endpointSlice':
      return { kind: 'endpointSlice', namespace: r.record.namespace, name: r.record.name };
  }
}

export class PlanInputs {
  /** `cache/name` → the record in effect (the last good one). */
  private readonly inEffect = new Map<string, InEffect>();
  /** `cache/name` → the change not yet taken by the planner (latest wins). */
  private pending = new Map<string, PlanChange>();
  private readonly problemsByKey = new Map<string, InputProblem>();
  /** `cache/name` of problems added, changed or cleared since `takeProblemChanges()`. */
  private problemChanges = new Set<string>();

  constructor(private readonly caches: Pick<ClusterCaches, PlanCache>) {}

  /**
   * An informer saw `name` in `cache` change (absent from the cache: deleted). Returns true when the plan must
   * change; false when the object's record is what is already in effect, or it is unusable (then a problem).
   */
  observe(cache: PlanCache, name: string): boolean {
    const objKey = `${cache}/${name}`;
    const obj = this.caches[cache].store.get(name) as InputKindObject | undefined;
    if (obj === undefined) {
      this.clearProblem(objKey);
      return this.setInEffect(objKey, undefined);
    }
    const typed = { ...obj, ...KIND_OF[cache] } as InputKindObject;
    const r = planRecordOf(typed);
    const issues = [...r.issues, ...(r.record ? planRecordIssues(r.record) : [])];
    const meta = metaOf(obj);
    // The informer keeps the last valid version of an object whose latest edit its schema refused: that version
    // may be read here, but the problem stays until the stored object is valid again.
    const schema = this.caches[cache].store.invalid(name);
    if (issues.length > 0) {
      this.setProblem(objKey, cache, meta, issues);
      return false;
    }
    if (schema === undefined) this.clearProblem(objKey);
    else this.setProblem(objKey, cache, meta, schema.issues);
    if (!r.record) return this.setInEffect(objKey, undefined);
    return this.setInEffect(objKey, { record: r.record, resourceVersion: meta.resourceVersion });
  }

  /** The informer refused the latest version of `name` (its last valid version, if any, stays in its cache). */
  refused(cache: PlanCache, name: string, issues: readonly Issue[]): void {
    const objKey = `${cache}/${name}`;
    const kept = this.caches[cache].store.get(name);
    const meta = kept ? metaOf(kept) : { name };
    this.setProblem(objKey, cache, meta, issues);
  }

  /** Changes since the last call, for the planner. */
  takeChanges(): PlanChange[] {
    const out = [...this.pending.values()];
    this.pending = new Map();
    return out;
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  /**
   * Reads every cached object again (a full pass: leadership start, drift check) and returns the snapshot of every
   * record in effect; pending changes are folded into it, so the planner built from it has taken them.
   */
  rebuild(): ClusterSnapshot {
    const seen = new Set<string>();
    for (const cache of PLAN_CACHES) {
      for (const name of this.caches[cache].store.keys()) {
        seen.add(`${cache}/${name}`);
        this.observe(cache, name);
      }
      for (const inv of this.caches[cache].store.listInvalid()) {
        // Observed above when its last valid version is kept; refused here when it never had one.
        if (!this.caches[cache].store.has(inv.key)) this.refused(cache, inv.key, inv.issues);
        seen.add(`${cache}/${inv.key}`);
      }
    }
    for (const objKey of [...this.inEffect.keys()]) if (!seen.has(objKey)) this.setInEffect(objKey, undefined);
    for (const objKey of [...this.problemsByKey.keys()]) if (!seen.has(objKey)) this.clearProblem(objKey);
    this.pending = new Map();
    const into = mutableSnapshot();
    for (const e of this.inEffect.values()) addToSnapshot(into, e.record);
    return freezeSnapshot(into);
  }

  problems(): readonly InputProblem[] {
    return [...this.problemsByKey.values()];
  }

  /** Problems that appeared, changed or went away since the last call (`cleared` when gone). */
  takeProblemChanges(): { key: string; problem?: InputProblem; previous?: InputProblem }[] {
    if (this.problemChanges.size === 0) return [];
    const out = [...this.problemChanges].map((key) => ({ key, ...this.problemState(key) }));
    this.problemChanges = new Set();
    for (const c of out) this.reported.set(c.key, c.problem);
    return out;
  }

  private readonly reported = new Map<string, InputProblem | undefined>();

  private problemState(key: string): { problem?: InputProblem; previous?: InputProblem } {
    const problem = this.problemsByKey.get(key);
    const previous = this.reported.get(key);
    return { ...(problem ? { problem } : {}), ...(previous ? { previous } : {}) };
  }

  /** The record in effect for an object (for reports: which node a block belongs to). */
  recordOf(cache: PlanCache, name: string): PlanRecord | undefined {
    return this.inEffect.get(`${cache}/${name}`)?.record;
  }

  private setInEffect(objKey: string, next: { record: PlanRecord; resourceVersion: string | undefined } | undefined) {
    const prev = this.inEffect.get(objKey);
    if (next === undefined) {
      if (prev === undefined) return false;
      this.inEffect.delete(objKey);
      this.pending.set(objKey, removalOf(prev.record));
      return true;
    }
    const json = JSON.stringify(next.record.record);
    if (prev !== undefined && prev.json === json && prev.record.key === next.record.key) {
      prev.resourceVersion = next.resourceVersion;
      return false;
    }
    this.inEffect.set(objKey, { ...next, json });
    // A block's planner key is its CIDR: a (never seen) change of CIDR under one name removes the old one first.
    if (prev !== undefined && prev.record.key !== next.record.key) {
      this.pending.set(`${objKey}\u0000old`, removalOf(prev.record));
    }
    this.pending.set(objKey, changeOf(next.record));
    return true;
  }

  private setProblem(objKey: string, cache: PlanCache, meta: Meta, issues: readonly Issue[]): void {
    const kept = this.inEffect.get(objKey)?.resourceVersion;
    const problem: InputProblem = {
      cache,
      ...KIND_OF[cache],
      name: meta.name,
      ...(meta.uid !== undefined ? { uid: meta.uid } : {}),
      issues,
      ...(kept !== undefined ? { keptResourceVersion: kept } : {}),
    };
    const prev = this.problemsByKey.get(objKey);
    if (prev && JSON.stringify(prev) === JSON.stringify(problem)) return;
    this.problemsByKey.set(objKey, problem);
    this.problemChanges.add(objKey);
  }

  private clearProblem(objKey: string): void {
    if (!this.problemsByKey.delete(objKey)) return;
    this.problemChanges.add(objKey);
  }
}
