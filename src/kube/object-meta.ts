// The part of every Kubernetes object src/kube relies on, and safe readers for objects not yet validated.
// Inputs: `unknown` JSON from the server. Outputs: name / namespace / resourceVersion / uid when present, cache keys.
// Invariant: a cache key is `name` for cluster-scoped objects and `namespace/name` for namespaced ones.
import { z } from 'zod';
import { ObjectMetaSchema as ApiObjectMetaSchema } from '../api/common.js';

/**
 * The api layer's ObjectMeta, widened for every kind src/kube serves: core objects may be namespaced and their
 * names are the server's to judge (Calico kinds keep the stricter name rule in src/api). Loose: other fields are
 * kept as they came.
 */
export const ObjectMetaSchema = ApiObjectMetaSchema.extend({
  name: z.string().min(1),
  namespace: z.string().optional(),
});
export type ObjectMeta = z.infer<typeof ObjectMetaSchema>;

/** Any object: apiVersion, kind, metadata, and whatever else it carries. The default schema of a typed client. */
export const KubeObjectSchema = z.looseObject({
  apiVersion: z.string().optional(),
  kind: z.string().optional(),
  metadata: ObjectMetaSchema,
});
export type KubeObject = z.infer<typeof KubeObjectSchema>;

/** What every typed object must have for src/kube to key, compare and write it. */
export interface HasMetadata {
  metadata: { name: string };
}

export interface MetaFields {
  name: string;
  namespace?: string;
  resourceVersion?: string;
  uid?: string;
}

function field(meta: Record<string, unknown>, key: string): string | undefined {
  const v = meta[key];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** Reads identity fields from any value; undefined when it has no `metadata.name`. */
export function readMeta(obj: unknown): MetaFields | undefined {
  if (typeof obj !== 'object' || obj === null) return undefined;
  const meta = (obj as Record<string, unknown>)['metadata'];
  if (typeof meta !== 'object' || meta === null) return undefined;
  const m = meta as Record<string, unknown>;
  const name = field(m, 'name');
  if (name === undefined) return undefined;
  const out: MetaFields = { name };
  const namespace = field(m, 'namespace');
  if (namespace !== undefined) out.namespace = namespace;
  const resourceVersion = field(m, 'resourceVersion');
  if (resourceVersion !== undefined) out.resourceVersion = resourceVersion;
  const uid = field(m, 'uid');
  if (uid !== undefined) out.uid = uid;
  return out;
}

export function objectKey(meta: { name: string; namespace?: string | undefined }): string {
  return meta.namespace ? `${meta.namespace}/${meta.name}` : meta.name;
}

/** The cache key of any value, or undefined when it has no name. */
export function keyOf(obj: unknown): string | undefined {
  const meta = readMeta(obj);
  return meta && objectKey(meta);
}

/** `status` of any value (undefined when absent). */
export function readStatus(obj: unknown): unknown {
  return typeof obj === 'object' && obj !== null ? (obj as Record<string, unknown>)['status'] : undefined;
}
