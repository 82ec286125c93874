// IPAMHandle (projectcalico.org/v3): how many addresses one allocation handle (a pod, a tunnel) holds in each
// block (`calico: api/pkg/apis/projectcalico/v3/ipamhandles.go`). Object name = handle ID lower-cased.
import { z } from 'zod';
import { envelope } from './common.js';
import { CALICO_API_VERSION, CALICO_GROUP, CALICO_VERSION, defineKind, field } from './meta.js';

const IPAMHandleSpecObject = z.looseObject({
  handleID: field(z.string().min(1, { error: 'is required' }), 'The handle, e.g. k8s-pod-network.<containerID>.'),
  block: field(
    z.record(z.string(), z.number().int().min(0, { error: 'must be >= 0' })),
    'Block CIDR (as text) -> number of addresses this handle holds in it.',
  ),
  deleted: field(z.boolean().optional(), 'Soft-delete marker.'),
});

export const IPAMHandleSpecShape = IPAMHandleSpecObject;
export const IPAMHandleSpecSchema = field(IPAMHandleSpecObject, 'IPAMHandle specification.');
export type IPAMHandleSpec = z.infer<typeof IPAMHandleSpecSchema>;

export const IPAMHandleSchema = z.looseObject({
  ...envelope(CALICO_API_VERSION, 'IPAMHandle'),
  spec: IPAMHandleSpecSchema,
});
export type IPAMHandle = z.infer<typeof IPAMHandleSchema>;

export const IPAMHandleKind = defineKind({
  group: CALICO_GROUP,
  version: CALICO_VERSION,
  kind: 'IPAMHandle',
  plural: 'ipamhandles',
  description:
    'Counts of the addresses one allocation handle holds per block. Calico-compatible (projectcalico.org/v3).',
  schema: IPAMHandleSchema,
  printerColumns: [
    { name: 'ID', type: 'string', jsonPath: '.spec.handleID', description: 'The handle ID.' },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  ],
});
