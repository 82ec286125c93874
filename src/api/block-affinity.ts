// BlockAffinity (projectcalico.org/v3): "block B belongs to node N", with Calico's claim states
// (`calico: api/pkg/apis/projectcalico/v3/blockaffinity.go`). v3 `deleted` is a boolean; Calico's v1 storage writes
// the string "true"/"false" (the reader converts). Users may not set `deleted: true` (Calico's validator refuses it),
// but IPAM soft-deletes through it, so that rule is enforced on user input only (`validateUserInput`).
import { z } from 'zod';
import { envelope } from './common.js';
import { cidrField } from './fields.js';
import { CALICO_API_VERSION, CALICO_GROUP, CALICO_VERSION, crdDefault, defineKind, field } from './meta.js';

export const AffinityStateSchema = z.enum(['', 'confirmed', 'pending', 'pendingDeletion'], {
  error: 'must be "", confirmed, pending or pendingDeletion',
});
export type AffinityState = z.infer<typeof AffinityStateSchema>;

const BlockAffinitySpecObject = z.looseObject({
  state: field(
    AffinityStateSchema.default(''),
    'Claim state: pending (being claimed), confirmed, pendingDeletion; "" is the legacy implicit confirmed.',
  ),
  node: field(
    z.string().min(1, { error: 'is required' }).max(253),
    'The node (or virtual owner) the block belongs to.',
  ),
  type: field(
    z.enum(['host', 'virtual'], { error: 'must be host or virtual' }).default('host'),
    'host (a node) or virtual. Default host.',
  ),
  cidr: cidrField('spec.cidr', 'The block CIDR.'),
  deleted: crdDefault(z.boolean().default(false), false, 'Soft-delete marker written by IPAM.'),
});

export const BlockAffinitySpecShape = BlockAffinitySpecObject;
export const BlockAffinitySpecSchema = field(BlockAffinitySpecObject, 'BlockAffinity specification.');
export type BlockAffinitySpec = z.infer<typeof BlockAffinitySpecSchema>;

export const BlockAffinitySchema = z.looseObject({
  ...envelope(CALICO_API_VERSION, 'BlockAffinity'),
  spec: BlockAffinitySpecSchema,
});
export type BlockAffinity = z.infer<typeof BlockAffinitySchema>;

export const BlockAffinityKind = defineKind({
  group: CALICO_GROUP,
  version: CALICO_VERSION,
  kind: 'BlockAffinity',
  plural: 'blockaffinities',
  shortNames: ['affinity', 'affinities'],
  description:
    'Records that an IPAM block belongs to a node, with its claim state. Written by IPAM; Calico-compatible ' +
    '(projectcalico.org/v3).',
  schema: BlockAffinitySchema,
  printerColumns: [
    { name: 'CIDR', type: 'string', jsonPath: '.spec.cidr', description: 'The block CIDR.' },
    { name: 'Node', type: 'string', jsonPath: '.spec.node', description: 'Owner node.' },
    { name: 'Type', type: 'string', jsonPath: '.spec.type', description: 'host or virtual.' },
    { name: 'State', type: 'string', jsonPath: '.spec.state', description: 'Claim state.' },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  ],
});
