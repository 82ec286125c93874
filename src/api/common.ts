// Pieces every kind shares: object metadata, the standard condition shape, and the envelope builder that turns a
// spec (and status) schema into a whole-object schema. Unknown keys are kept everywhere (`looseObject`): Calico
// YAML must round-trip unchanged, and the CRD preserves them too.
import { z } from 'zod';
import { field } from './meta.js';

/** DNS-1123 subdomain, as Calico's `name` validator and Kubernetes require for cluster-scoped object names. */
export const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export const ObjectNameSchema = z
  .string()
  .min(1, { error: 'is required' })
  .max(253, { error: 'must be at most 253 characters' })
  .regex(DNS1123_SUBDOMAIN, {
    error: 'must be a DNS-1123 subdomain: lower-case letters, digits, "-" and ".", starting and ending alphanumeric',
  });

const StringMapSchema = z.record(z.string(), z.string());

export const OwnerReferenceSchema = z.looseObject({
  apiVersion: z.string(),
  kind: z.string(),
  name: z.string(),
  uid: z.string(),
  controller: z.boolean().optional(),
  blockOwnerDeletion: z.boolean().optional(),
});

/** The parts of ObjectMeta we read; everything else (uid, managedFields, ...) is kept as it came. */
export const ObjectMetaSchema = z.looseObject({
  name: ObjectNameSchema,
  labels: StringMapSchema.optional(),
  annotations: StringMapSchema.optional(),
  uid: z.string().optional(),
  resourceVersion: z.string().optional(),
  generation: z.number().int().optional(),
  creationTimestamp: z.string().nullable().optional(),
  deletionTimestamp: z.string().nullable().optional(),
  finalizers: z.array(z.string()).optional(),
  ownerReferences: z.array(OwnerReferenceSchema).optional(),
});
export type ObjectMeta = z.infer<typeof ObjectMetaSchema>;

/** metav1.Condition, the standard shape (`kubectl wait --for=condition=...` understands it). */
export const ConditionSchema = z.looseObject({
  type: field(
    z
      .string()
      .max(316)
      .regex(
        /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$/,
      ),
    'Type of condition in CamelCase, e.g. Planned, Programmed, Allocatable.',
  ),
  status: field(z.enum(['True', 'False', 'Unknown']), 'Status of the condition: True, False or Unknown.'),
  observedGeneration: field(
    z.number().int().min(0).optional(),
    'The metadata.generation this condition was computed from; older than metadata.generation means stale.',
  ),
  lastTransitionTime: field(z.string(), 'When the condition last changed status (RFC 3339).', { format: 'date-time' }),
  reason: field(
    z
      .string()
      .min(1)
      .max(1024)
      .regex(/^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/),
    'Machine-readable CamelCase reason for the last transition.',
  ),
  message: field(z.string().max(32768), 'Human-readable details about the last transition.'),
});
export type Condition = z.infer<typeof ConditionSchema>;

export const ConditionsSchema = field(
  z.array(ConditionSchema).max(32),
  'Standard conditions, one per type (metav1.Condition).',
  { 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'] },
);

/**
 * The pinned `apiVersion`/`kind` and checked metadata every object starts with; a kind's schema spreads this into
 * a `z.looseObject` next to its `spec`/`status`, so unknown top-level keys are kept too.
 */
export function envelope<A extends string, K extends string>(apiVersion: A, kind: K) {
  return {
    apiVersion: z.literal(apiVersion),
    kind: z.literal(kind),
    metadata: ObjectMetaSchema,
  };
}
