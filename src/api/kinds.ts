// The kind registry: every kind Tabby serves, once, in the order CRDs are generated and listed. Validation
// dispatches on it (apiVersion + kind, including aliases such as Calico's v1 `IPAMConfig`); the CRD generator walks it.
import { BGPConfigurationKind } from './bgp-configuration.js';
import { BGPFilterKind } from './bgp-filter.js';
import { BGPPeerKind } from './bgp-peer.js';
import { BlockAffinityKind } from './block-affinity.js';
import { FelixConfigurationKind } from './felix-configuration.js';
import { IPAMBlockKind } from './ipam-block.js';
import { IPAMConfigurationKind } from './ipam-configuration.js';
import { IPAMHandleKind } from './ipam-handle.js';
import { IPPoolKind } from './ip-pool.js';
import { IPReservationKind } from './ip-reservation.js';
import { apiVersionOf, type KindDefinition } from './meta.js';
import { NodeDataplaneKind } from './node-dataplane.js';
import { RouteTableKind } from './route-table.js';

export const KINDS = [
  IPPoolKind,
  BGPConfigurationKind,
  BGPPeerKind,
  BGPFilterKind,
  FelixConfigurationKind,
  IPAMBlockKind,
  BlockAffinityKind,
  IPAMHandleKind,
  IPAMConfigurationKind,
  IPReservationKind,
  NodeDataplaneKind,
  RouteTableKind,
] as const satisfies readonly KindDefinition[];

export type AnyKindDefinition = (typeof KINDS)[number];

/**
 * The kinds users write (Calico's v3 configuration kinds): the admission webhook judges these and the validation
 * table (docs/validation.md) lists their fields. The IPAM kinds (blocks, affinities, handles) are written by Tabby's
 * own components, and NodeDataplane and RouteTable are Tabby's: those stay with their CRD's rules.
 */
export const VALIDATED_KIND_NAMES = [
  'IPPool',
  'BGPConfiguration',
  'BGPPeer',
  'BGPFilter',
  'IPReservation',
  'IPAMConfiguration',
  'FelixConfiguration',
] as const;

/** Looks a kind up by apiVersion and kind (or alias). */
export function findKind(apiVersion: string, kind: string): AnyKindDefinition | undefined {
  return KINDS.find((k) => apiVersionOf(k) === apiVersion && (k.kind === kind || k.aliases.includes(kind)));
}

/** Looks a kind up by kind name (or alias) alone, whatever the group. */
export function findKindByName(kind: string): AnyKindDefinition | undefined {
  return KINDS.find((k) => k.kind === kind || k.aliases.includes(kind));
}
