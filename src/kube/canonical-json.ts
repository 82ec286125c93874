// Content comparison for writers. Pure. Inputs: JSON-like values. Outputs: a canonical JSON text (object keys sorted
// at every depth, `undefined` members dropped — equal content gives equal text, whatever the key order) and
// `coveredBy`, which says whether writing `desired` onto `observed` would change nothing.
// Invariants: canonicalJson(a) === canonicalJson(b) iff a and b are the same JSON document; `coveredBy` never says
// "nothing to do" when a write would change a field the writer owns.

export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value)) ?? 'null';
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map((v) => (v === undefined ? null : sortKeys(v)));
  if (value !== null && typeof value === 'object') {
    const withToJson = value as { toJSON?: () => unknown };
    if (typeof withToJson.toJSON === 'function') return sortKeys(withToJson.toJSON());
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) out[key] = sortKeys(v);
    }
    return out;
  }
  return value;
}

export function jsonEqual(a: unknown, b: unknown): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/**
 * Whether `observed` already holds everything in `desired`: each member of a desired object must be covered in the
 * observed one (other members may exist: other writers own them); `null` means "absent" (a merge-patch delete).
 * Lists are atomic — equal as a whole — unless their path (dot-joined keys, e.g. `conditions`) is in `mapLists`:
 * then each desired element must be covered by the observed element with the same key fields, as server-side apply
 * merges `x-kubernetes-list-type: map` lists.
 */
export function coveredBy(
  desired: unknown,
  observed: unknown,
  mapLists: Readonly<Record<string, readonly string[]>> = {},
  path = '',
): boolean {
  if (isPlainObject(desired)) {
    if (!isPlainObject(observed)) return false;
    for (const [key, want] of Object.entries(desired)) {
      if (want === undefined) continue;
      const child = path === '' ? key : `${path}.${key}`;
      // Own properties only: a field named like an Object.prototype member (`toString`) is absent when not set.
      const got = Object.hasOwn(observed, key) ? observed[key] : undefined;
      if (want === null) {
        if (got !== undefined && got !== null) return false;
        continue;
      }
      if (!coveredBy(want, got, mapLists, child)) return false;
    }
    return true;
  }
  if (Array.isArray(desired)) {
    const keys = Object.hasOwn(mapLists, path) ? mapLists[path] : undefined;
    if (!keys || !Array.isArray(observed)) return jsonEqual(desired, observed);
    const identity = (el: unknown): string | undefined =>
      isPlainObject(el) ? canonicalJson(keys.map((k) => el[k])) : undefined;
    const byKey = new Map<string, unknown>();
    for (const el of observed) {
      const id = identity(el);
      if (id !== undefined) byKey.set(id, el);
    }
    return desired.every((el) => {
      const id = identity(el);
      return id !== undefined && byKey.has(id) && coveredBy(el, byKey.get(id), mapLists, path);
    });
  }
  return jsonEqual(desired, observed);
}
