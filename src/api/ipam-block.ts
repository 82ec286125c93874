// IPAMBlock (projectcalico.org/v3): one block of a pool and who holds each address in it. Field names follow
// Calico's storage (`calico: api/pkg/apis/projectcalico/v3/ipamblocks.go`, `libcalico-go/lib/backend/model/block.go`),
// including the snake_case `handle_id` and the `secondary` attribute map. Ordinal o is address cidr.base + o;
// `allocations[o]` is an index into `attributes` or null; `unallocated` is the FIFO of free ordinals.
// This module checks the shape and the cheap structural facts (lengths, index ranges); the full consistency check
// (each ordinal free xor allocated, handle counts) belongs to src/ipam.
import { z } from 'zod';
import { cidrSize, tryParseCidr } from '../net/index.js';
import { envelope } from './common.js';
import { cidrField } from './fields.js';
import { CALICO_API_VERSION, CALICO_GROUP, CALICO_VERSION, defineKind, field } from './meta.js';

/** Blocks are /20../32 (v4) or /116../128 (v6): at most 4096 ordinals. */
export const MAX_BLOCK_ORDINALS = 4096;

/** Calico's sequence numbers are uint64 (creation time in ns): beyond 2^53, so they may arrive as bigint. */
const Uint64 = field(
  z.union([
    z.number().refine((n) => Number.isInteger(n) && n >= 0, { error: 'must be a non-negative integer' }),
    z.bigint().refine((n) => n >= 0n, { error: 'must be a non-negative integer' }),
  ]),
  'Unsigned 64-bit counter.',
  { 'x-tabby-crd-schema': { type: 'integer', format: 'int64' } },
);

export const AllocationAttributeSchema = z.looseObject({
  handle_id: field(z.string().optional(), 'Handle owning the address (e.g. k8s-pod-network.<containerID>).'),
  secondary: field(
    z.record(z.string(), z.string()).optional(),
    'Owner attributes: node, namespace, pod, type (ipipTunnelAddress, vxlanTunnelAddress, ...).',
  ),
  alternateOwnerAttrs: field(
    z.record(z.string(), z.string()).optional(),
    'Attributes of a second owner (live migration).',
  ),
  releasedAt: field(z.string().optional(), 'When the address was released (IP cooldown, Calico master).'),
});
export type AllocationAttribute = z.infer<typeof AllocationAttributeSchema>;

const AFFINITY = /^(host|virtual):[a-zA-Z0-9.\-_]+$/;

const IPAMBlockSpecObject = z.looseObject({
  cidr: cidrField('spec.cidr', 'The block CIDR.'),
  affinity: field(
    z.string().regex(AFFINITY, { error: 'must be host:<node> or virtual:<name>' }).optional(),
    'host:<node> or virtual:<name>; absent for a block no node owns.',
  ),
  affinityClaimTime: field(z.string().optional(), 'When the affinity was claimed (RFC 3339).', {}),
  allocations: field(
    z.array(z.number().int().min(0).nullable()).max(MAX_BLOCK_ORDINALS),
    'One entry per address: index into attributes, or null when free.',
    { 'x-kubernetes-list-type': 'atomic' },
  ),
  unallocated: field(
    z.array(z.number().int().min(0)).max(MAX_BLOCK_ORDINALS),
    'Free ordinals, in the order they will be handed out.',
    { 'x-kubernetes-list-type': 'atomic' },
  ),
  attributes: field(z.array(AllocationAttributeSchema).max(MAX_BLOCK_ORDINALS), 'Distinct owner records.', {
    'x-kubernetes-list-type': 'atomic',
  }),
  sequenceNumber: Uint64.optional(),
  sequenceNumberForAllocation: field(
    z.record(z.string(), Uint64).optional(),
    'Block sequence number at the time each ordinal (key) was allocated.',
  ),
  deleted: field(z.boolean().optional(), 'Soft-deleted: readers treat the block as absent.'),
  strictAffinity: field(z.boolean().default(false), 'Deprecated and unused.'),
});

export const IPAMBlockSpecShape = IPAMBlockSpecObject;

export const IPAMBlockSpecSchema = field(
  IPAMBlockSpecObject.superRefine((spec, ctx) => {
    const cidr = tryParseCidr(spec.cidr);
    if (cidr === undefined) return; // already reported on spec.cidr
    const size = Number(cidrSize(cidr));
    if (spec.allocations.length !== size) {
      ctx.addIssue({
        code: 'custom',
        path: ['allocations'],
        message: `must have one entry per address of ${spec.cidr} (${size}), got ${spec.allocations.length}`,
      });
    }
    spec.allocations.forEach((a, i) => {
      if (a !== null && a >= spec.attributes.length) {
        ctx.addIssue({
          code: 'custom',
          path: ['allocations', i],
          message: `refers to attribute ${a} but there are ${spec.attributes.length}`,
        });
      }
    });
    spec.unallocated.forEach((o, i) => {
      if (o >= size) {
        ctx.addIssue({
          code: 'custom',
          path: ['unallocated', i],
          message: `ordinal ${o} is outside the block (size ${size})`,
        });
      }
    });
  }),
  'IPAMBlock specification (Calico projectcalico.org/v3).',
);
export type IPAMBlockSpec = z.infer<typeof IPAMBlockSpecSchema>;

export const IPAMBlockSchema = z.looseObject({
  ...envelope(CALICO_API_VERSION, 'IPAMBlock'),
  spec: IPAMBlockSpecSchema,
});
export type IPAMBlock = z.infer<typeof IPAMBlockSchema>;

export const IPAMBlockKind = defineKind({
  group: CALICO_GROUP,
  version: CALICO_VERSION,
  kind: 'IPAMBlock',
  plural: 'ipamblocks',
  description:
    'One block of an IPPool: which node it is affine to and which handle holds each address. Written by IPAM; ' +
    'Calico-compatible (projectcalico.org/v3).',
  schema: IPAMBlockSchema,
  printerColumns: [
    { name: 'CIDR', type: 'string', jsonPath: '.spec.cidr', description: 'The block CIDR.' },
    { name: 'Affinity', type: 'string', jsonPath: '.spec.affinity', description: 'Owner (host:<node>).' },
    { name: 'ClaimTime', type: 'date', jsonPath: '.spec.affinityClaimTime', description: 'When it was claimed.' },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  ],
});
