// The one validation entry point for the CLI, the operator and the agent. Input: any parsed YAML/JSON value.
// Output: the typed object with Calico's defaults filled, or every issue found, each naming kind, name and field.
// Dispatch is on apiVersion + kind through the registry in kinds.ts. Never throws on bad input.
import type { z } from 'zod';
import type { BGPConfiguration } from './bgp-configuration.js';
import type { BGPPeer } from './bgp-peer.js';
import type { BGPFilter } from './bgp-filter.js';
import type { BlockAffinity } from './block-affinity.js';
import { issuesFromZod, TabbyError, type Issue, type ObjectRef } from './errors.js';
import type { FelixConfiguration } from './felix-configuration.js';
import type { IPAMBlock } from './ipam-block.js';
import type { IPAMConfiguration } from './ipam-configuration.js';
import type { IPAMHandle } from './ipam-handle.js';
import type { IPPool } from './ip-pool.js';
import { findKind, findKindByName, KINDS } from './kinds.js';
import { apiVersionOf, type KindDefinition } from './meta.js';
import type { NodeDataplane } from './node-dataplane.js';
import type { RouteTable } from './route-table.js';

export type AnyCalicoObject =
  | IPPool
  | BGPConfiguration
  | BGPPeer
  | BGPFilter
  | FelixConfiguration
  | IPAMBlock
  | BlockAffinity
  | IPAMHandle
  | IPAMConfiguration;
export type AnyTabbyObject = AnyCalicoObject | NodeDataplane | RouteTable;

export type ValidationResult = { ok: true; object: AnyTabbyObject } | { ok: false; issues: Issue[] };

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Kind and name as far as they can be read from an unvalidated value (for error messages). */
export function refOf(obj: unknown): ObjectRef {
  if (!isRecord(obj)) return { kind: '(not an object)', name: '' };
  const kind = typeof obj.kind === 'string' && obj.kind.trim() !== '' ? obj.kind : '(no kind)';
  const meta = obj.metadata;
  const name = isRecord(meta) && typeof meta.name === 'string' ? meta.name : '';
  return { kind, name };
}

/** Parses one object of a known kind. Issues carry the object's kind and name. */
export function validateAs<S extends z.ZodType>(
  def: KindDefinition<S>,
  obj: unknown,
): { ok: true; object: z.output<S> } | { ok: false; issues: Issue[] } {
  const ref = { ...refOf(obj), kind: def.kind };
  const input = isRecord(obj) && obj.kind !== def.kind ? { ...obj, kind: def.kind } : obj;
  const issues: Issue[] = [];
  const parsed = def.schema.safeParse(input, { reportInput: true });
  if (!parsed.success) issues.push(...issuesFromZod(parsed.error, ref));
  if (def.checkName !== undefined && ref.name !== '') {
    const problem = def.checkName(ref.name);
    if (problem !== undefined)
      issues.push({ code: 'invalid_name', object: ref, path: ['metadata', 'name'], message: problem });
  }
  if (issues.length > 0 || !parsed.success) return { ok: false, issues };
  return { ok: true, object: parsed.data };
}

/** Validates any object Tabby understands, dispatching on apiVersion and kind, and fills Calico's defaults. */
export function validateObject(obj: unknown): ValidationResult {
  const ref = refOf(obj);
  if (!isRecord(obj)) {
    return { ok: false, issues: [{ code: 'invalid_type', object: ref, path: [], message: 'must be an object' }] };
  }
  const apiVersion = obj.apiVersion;
  if (typeof apiVersion !== 'string' || apiVersion === '') {
    return { ok: false, issues: [{ code: 'invalid_type', object: ref, path: ['apiVersion'], message: 'is required' }] };
  }
  if (typeof obj.kind !== 'string' || obj.kind.trim() === '') {
    return { ok: false, issues: [{ code: 'invalid_type', object: ref, path: ['kind'], message: 'is required' }] };
  }
  const def = findKind(apiVersion, obj.kind);
  if (def === undefined) {
    const sameName = findKindByName(obj.kind);
    const message =
      sameName !== undefined
        ? `must be ${apiVersionOf(sameName)} for kind ${obj.kind} (got ${JSON.stringify(apiVersion)})` +
          (apiVersion === 'crd.projectcalico.org/v1' ? '; Calico v1 objects are converted by the input reader' : '')
        : `unknown kind ${obj.kind} in ${apiVersion}; Tabby serves ${KINDS.map((k) => k.kind).join(', ')}`;
    return {
      ok: false,
      issues: [
        { code: 'unknown_kind', object: ref, path: sameName !== undefined ? ['apiVersion'] : ['kind'], message },
      ],
    };
  }
  return validateAs(def as KindDefinition, obj) as ValidationResult;
}

/** Like validateObject, but throws a TabbyError holding every issue. */
export function parseObject(obj: unknown): AnyTabbyObject {
  const r = validateObject(obj);
  if (!r.ok) throw new TabbyError(r.issues);
  return r.object;
}

/** Like validateAs, but throws a TabbyError holding every issue. */
export function parseAs<S extends z.ZodType>(def: KindDefinition<S>, obj: unknown): z.output<S> {
  const r = validateAs(def, obj);
  if (!r.ok) throw new TabbyError(r.issues);
  return r.object;
}
