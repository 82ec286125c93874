// IPReservation (projectcalico.org/v3): addresses Calico IPAM never hands out automatically
// (`calico: api/pkg/apis/projectcalico/v3/ipreservation.go`). Each entry of `reservedCIDRs` is a CIDR or a bare
// address, host bits allowed, as Calico's `cidrs` validator takes it (libcalico-go/lib/validator/v3 validateCIDRs:
// cnet.ParseCIDROrIP). Reservations only stop new automatic assignments: addresses already allocated stay, and an
// address asked for by name (cni.projectcalico.org/ipAddrs) is still given.
import { z } from 'zod';
import { envelope } from './common.js';
import { netField } from './fields.js';
import { CALICO_API_VERSION, CALICO_GROUP, CALICO_VERSION, defineKind, field, rule } from './meta.js';

/** Entries per object: a bound the apiserver needs to cost the per-entry CEL rule; Calico sets none. */
export const MAX_RESERVED_CIDRS = 1024;

const IPReservationSpecObject = z.looseObject({
  reservedCIDRs: rule(
    field(
      z
        .array(netField('spec.reservedCIDRs[*]', 'A CIDR (e.g. 10.0.0.0/28) or a single address (10.0.0.1).'))
        .max(MAX_RESERVED_CIDRS)
        .optional(),
      'CIDRs and addresses Calico IPAM excludes from automatic assignment.',
      { 'x-kubernetes-list-type': 'set' },
    ),
    {
      calico: 'each a CIDR or an address, host bits allowed (validator `cidrs`); CRD items format cidr',
      differs:
        "bare addresses accepted, as Calico's validator and docs take them, although the format cidr of Calico's " +
        `CRD refuses them; at most ${MAX_RESERVED_CIDRS} entries`,
    },
  ),
});

export const IPReservationSpecShape = IPReservationSpecObject;
export const IPReservationSpecSchema = field(IPReservationSpecObject, 'IPReservation specification.');
export type IPReservationSpec = z.infer<typeof IPReservationSpecSchema>;

export const IPReservationSchema = z.looseObject({
  ...envelope(CALICO_API_VERSION, 'IPReservation'),
  spec: IPReservationSpecSchema,
});
export type IPReservation = z.infer<typeof IPReservationSchema>;

export const IPReservationKind = defineKind({
  group: CALICO_GROUP,
  version: CALICO_VERSION,
  kind: 'IPReservation',
  plural: 'ipreservations',
  description:
    'Addresses IPAM never assigns automatically (existing allocations stay). Calico-compatible (projectcalico.org/v3).',
  schema: IPReservationSchema,
  printerColumns: [{ name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' }],
});
