// Schemas for the built-in kinds Tabby reads and writes: Node, Pod, Secret, ConfigMap, Lease and events.k8s.io/v1
// Event. Loose: only the fields we use are checked and typed; the rest round-trips untouched. Service and
// discovery.k8s.io/v1 EndpointSlice, which Tabby only reads (for service advertisement) and of which a cluster holds
// many, are stripped to what it reads: a cache of them holds no annotations, managed fields or ports.
import { z } from 'zod';
import { ObjectMetaSchema } from './object-meta.js';

const base = { apiVersion: z.string().optional(), kind: z.string().optional(), metadata: ObjectMetaSchema };

export const NodeSchema = z.looseObject({
  ...base,
  spec: z
    .looseObject({
      podCIDR: z.string().optional(),
      podCIDRs: z.array(z.string()).optional(),
      providerID: z.string().optional(),
      unschedulable: z.boolean().optional(),
    })
    .optional(),
  status: z
    .looseObject({
      addresses: z.array(z.looseObject({ type: z.string(), address: z.string() })).optional(),
    })
    .optional(),
});
export type Node = z.infer<typeof NodeSchema>;

export const PodSchema = z.looseObject({
  ...base,
  spec: z
    .looseObject({
      nodeName: z.string().optional(),
      hostNetwork: z.boolean().optional(),
    })
    .optional(),
  status: z
    .looseObject({
      phase: z.string().optional(),
      podIP: z.string().optional(),
      podIPs: z.array(z.looseObject({ ip: z.string() })).optional(),
      hostIP: z.string().optional(),
    })
    .optional(),
});
export type Pod = z.infer<typeof PodSchema>;

/** Only what identifies an object and its version, and (for slices) the label naming the Service. */
const slimMeta = z.object({
  name: z.string().min(1),
  namespace: z.string().optional(),
  uid: z.string().optional(),
  resourceVersion: z.string().optional(),
});

export const ServiceSchema = z.object({
  apiVersion: z.string().optional(),
  kind: z.string().optional(),
  metadata: slimMeta,
  spec: z
    .object({
      type: z.string().optional(),
      clusterIP: z.string().optional(),
      clusterIPs: z.array(z.string()).optional(),
      externalIPs: z.array(z.string()).optional(),
      loadBalancerIP: z.string().optional(),
      externalTrafficPolicy: z.string().optional(),
      ipFamilies: z.array(z.string()).optional(),
    })
    .optional(),
  status: z
    .object({
      loadBalancer: z.object({ ingress: z.array(z.object({ ip: z.string().optional() })).optional() }).optional(),
    })
    .optional(),
});
export type Service = z.infer<typeof ServiceSchema>;

export const EndpointSliceSchema = z.object({
  apiVersion: z.string().optional(),
  kind: z.string().optional(),
  metadata: slimMeta.extend({ labels: z.record(z.string(), z.string()).optional() }),
  addressType: z.string(),
  endpoints: z
    .array(
      z.object({
        conditions: z.object({ ready: z.boolean().nullable().optional() }).optional(),
        nodeName: z.string().optional(),
      }),
    )
    .nullable()
    .optional(),
});
export type EndpointSlice = z.infer<typeof EndpointSliceSchema>;

export const SecretSchema = z.looseObject({
  ...base,
  type: z.string().optional(),
  /** base64 values, as the API returns them. */
  data: z.record(z.string(), z.string()).optional(),
  stringData: z.record(z.string(), z.string()).optional(),
});
export type Secret = z.infer<typeof SecretSchema>;

export const ConfigMapSchema = z.looseObject({
  ...base,
  data: z.record(z.string(), z.string()).optional(),
});
export type ConfigMap = z.infer<typeof ConfigMapSchema>;

/** coordination.k8s.io/v1 Lease. Times are MicroTime: RFC 3339 with exactly six fractional digits. */
export const LeaseSchema = z.looseObject({
  ...base,
  spec: z
    .looseObject({
      holderIdentity: z.string().nullable().optional(),
      leaseDurationSeconds: z.number().int().nullable().optional(),
      acquireTime: z.string().nullable().optional(),
      renewTime: z.string().nullable().optional(),
      leaseTransitions: z.number().int().nullable().optional(),
    })
    .optional(),
});
export type Lease = z.infer<typeof LeaseSchema>;

export const ObjectReferenceSchema = z.looseObject({
  apiVersion: z.string().optional(),
  kind: z.string().optional(),
  name: z.string().optional(),
  namespace: z.string().optional(),
  uid: z.string().optional(),
  resourceVersion: z.string().optional(),
  fieldPath: z.string().optional(),
});
export type ObjectReference = z.infer<typeof ObjectReferenceSchema>;

/** events.k8s.io/v1 Event. */
export const EventSchema = z.looseObject({
  ...base,
  eventTime: z.string().nullable().optional(),
  reportingController: z.string().optional(),
  reportingInstance: z.string().optional(),
  action: z.string().optional(),
  reason: z.string().optional(),
  note: z.string().optional(),
  type: z.string().optional(),
  regarding: ObjectReferenceSchema.optional(),
  related: ObjectReferenceSchema.nullable().optional(),
  series: z.looseObject({ count: z.number().int(), lastObservedTime: z.string() }).nullable().optional(),
  deprecatedCount: z.number().int().optional(),
});
export type Event = z.infer<typeof EventSchema>;

/** Kubernetes MicroTime: `2024-05-01T10:00:00.123000Z` (the apiserver rejects other fractional widths). */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}
