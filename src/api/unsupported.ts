// Which fields of an object Tabby keeps but does not act on. Calico YAML must apply unchanged, so such fields are
// accepted and preserved; this pure function lists them so the operator can say so in a condition (and the CLI can
// warn). Input: an object as written (before or after validation). Output: one entry per field that is set and is
// either unknown to Tabby or a Calico field Tabby does not implement, sorted by path.
import { z } from 'zod';
import { formatPath } from './errors.js';
import { findKind } from './kinds.js';
import type { FieldMeta } from './meta.js';

export interface UnsupportedField {
  path: (string | number)[];
  /** `unknown`: not a field of this kind as far as Tabby knows; `not-implemented`: a Calico field Tabby ignores. */
  reason: 'unknown' | 'not-implemented';
  message: string;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Peels optional/default/pipe/nullable wrappers, collecting field metadata found on the way. */
function unwrap(schema: z.ZodType): { core: z.ZodType; meta: FieldMeta } {
  let meta: FieldMeta = {};
  let s: z.ZodType = schema;
  for (let depth = 0; depth < 16; depth++) {
    meta = { ...(z.globalRegistry.get(s) as FieldMeta | undefined), ...meta };
    const def = (s as unknown as { _zod: { def: Record<string, unknown> } })._zod.def;
    const type = def.type as string;
    if (
      type === 'optional' ||
      type === 'default' ||
      type === 'nullable' ||
      type === 'prefault' ||
      type === 'readonly'
    ) {
      s = def.innerType as z.ZodType;
    } else if (type === 'pipe') {
      s = def.in as z.ZodType;
    } else break;
  }
  return { core: s, meta };
}

function walk(
  value: unknown,
  schema: z.ZodType,
  path: (string | number)[],
  out: UnsupportedField[],
  otherKnown?: ReadonlySet<string>,
): void {
  const { core } = unwrap(schema);
  const def = (core as unknown as { _zod: { def: Record<string, unknown> } })._zod.def;
  if (def.type === 'object' && isRecord(value)) {
    const shape = def.shape as Record<string, z.ZodType>;
    for (const key of Object.keys(value).sort()) {
      if (value[key] === undefined) continue;
      const here = [...path, key];
      const fieldSchema = shape[key];
      if (fieldSchema === undefined) {
        const known = otherKnown?.has(key) === true;
        out.push({
          path: here,
          reason: known ? 'not-implemented' : 'unknown',
          message: known
            ? 'Calico field not implemented by Tabby (kept as written)'
            : 'unknown field (kept as written)',
        });
        continue;
      }
      const { meta } = unwrap(fieldSchema);
      if (meta['x-tabby-unsupported'] !== undefined) {
        out.push({
          path: here,
          reason: 'not-implemented',
          message: `${meta['x-tabby-unsupported']} (kept as written)`,
        });
        continue;
      }
      walk(value[key], fieldSchema, here, out);
    }
  } else if (def.type === 'array' && Array.isArray(value)) {
    value.forEach((item, i) => walk(item, def.element as z.ZodType, [...path, i], out));
  } else if (def.type === 'record' && isRecord(value)) {
    for (const key of Object.keys(value).sort()) walk(value[key], def.valueType as z.ZodType, [...path, key], out);
  }
}

/** Lists the set fields of `obj.spec` Tabby does not act on. Unknown kinds and non-objects give an empty list. */
export function unsupportedFields(obj: unknown): UnsupportedField[] {
  if (!isRecord(obj) || typeof obj.apiVersion !== 'string' || typeof obj.kind !== 'string') return [];
  const def = findKind(obj.apiVersion, obj.kind);
  if (def === undefined) return [];
  const specSchema = (def.schema as unknown as { shape: Record<string, z.ZodType> }).shape.spec;
  if (specSchema === undefined || !isRecord(obj.spec)) return [];
  const out: UnsupportedField[] = [];
  walk(obj.spec, specSchema, ['spec'], out, def.otherKnownFields);
  return out;
}

/** One line for a condition message: `spec.bpfEnabled, spec.foo` (first `limit` paths, then `and N more`). */
export function summarizeUnsupported(fields: readonly UnsupportedField[], limit = 10): string {
  const shown = fields.slice(0, limit).map((f) => formatPath(f.path));
  const more = fields.length > limit ? ` and ${fields.length - limit} more` : '';
  return fields.length === 0 ? '' : `fields kept but not acted on: ${shown.join(', ')}${more}`;
}
