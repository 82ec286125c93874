// RouteTable (dataplane.tabby.dev/v1alpha1, cluster-scoped): one shard of the routes every node in a view programs
// towards other nodes' blocks (ARCHITECTURE.md "The NodeDataplane contract").
//
// Name `<view>-<shard>`; labels `dataplane.tabby.dev/view=<view>` and `dataplane.tabby.dev/shard=<n>` let an agent
// watch exactly its view. Content lives in `status` (field manager `tabby-operator`); `spec` is empty.
// Each entry says how a node in this view reaches one remote block (or borrowed /32): directly via the owner's IP,
// or through tunl0 / vxlan.calico, with the VTEP address and MAC that VXLAN needs for its ARP and FDB entries.
// An agent programs the union of its view's shards, skipping entries whose node is itself (its blackholes stand).
// Invariants: entries grouped by node (nodes by name), each node's by cidr; `revision` is a content hash of view,
// shard and entries; a shard holds at most a few thousand entries so one object stays far below etcd's request limit.
import { z } from 'zod';
import { ConditionsSchema, envelope } from './common.js';
import { defineKind, field, TABBY_API_VERSION, TABBY_GROUP, TABBY_VERSION } from './meta.js';

export const ROUTE_VIEW_LABEL = 'dataplane.tabby.dev/view';
export const ROUTE_SHARD_LABEL = 'dataplane.tabby.dev/shard';
/** View name used when no pool is CrossSubnet: every node decides the same way. */
export const CLUSTER_VIEW = 'cluster';

export const RouteKindSchema = z.enum(['vxlan', 'ipip', 'direct']);
export type RouteKind = z.infer<typeof RouteKindSchema>;

export const RouteEntrySchema = z.looseObject({
  cidr: field(z.string().min(1).max(64), 'Destination: a remote block, or a borrowed /32 (/128) inside one.'),
  node: field(z.string().min(1).max(253), 'Node owning the destination (block affinity, or the borrower for /32).'),
  nodeIP: field(z.string().min(1).max(45), "That node's address (plain IP from projectcalico.org/IPv4Address)."),
  kind: field(
    RouteKindSchema,
    'direct: via nodeIP with no device named (kernel picks the uplink); ipip: via nodeIP dev tunl0 onlink; ' +
      'vxlan: via vtepIP dev vxlan.calico onlink, with ARP vtepIP->vtepMAC and FDB vtepMAC->nodeIP.',
  ),
  via: field(z.string().min(1).max(45), 'Next-hop address (nodeIP for direct/ipip, vtepIP for vxlan).'),
  device: field(
    z.enum(['tunl0', 'vxlan.calico', 'vxlan-v6.calico']).optional(),
    'Tunnel device; absent for direct routes.',
  ),
  vtepIP: field(z.string().max(45).optional(), "Remote node's VXLAN tunnel address (vxlan only)."),
  vtepMAC: field(z.string().max(17).optional(), "Remote node's VXLAN device MAC (vxlan only)."),
  pool: field(z.string().max(253), 'IPPool the destination belongs to.'),
  borrowed: field(z.boolean().optional(), 'The destination is a /32 borrowed from a block affine to another node.'),
  block: field(z.string().max(64).optional(), 'For a borrowed /32: the block it was borrowed from.'),
});
export type RouteEntry = z.infer<typeof RouteEntrySchema>;

/** Nodes in this shard's part of the view: mesh membership and VTEPs for nodes that hold no block yet. */
export const ViewNodeSchema = z.looseObject({
  name: field(z.string().min(1).max(253), 'Node name.'),
  ipv4: field(z.string().max(45).optional(), 'Node IPv4 address (plain IP).'),
  ipv6: field(z.string().max(45).optional(), 'Node IPv6 address (plain IP).'),
  asNumber: field(z.number().int().min(0).max(4294967295).optional(), 'Node AS when it differs from the default.'),
  vtepIP: field(z.string().max(45).optional(), 'VXLAN tunnel address.'),
  vtepMAC: field(z.string().max(17).optional(), 'VXLAN device MAC.'),
  vtepIPv6: field(z.string().max(45).optional(), 'IPv6 VXLAN tunnel address.'),
  vtepMACv6: field(z.string().max(17).optional(), 'IPv6 VXLAN device MAC.'),
  routeReflectorClusterID: field(
    z.string().max(45).optional(),
    'Set when the node is a route reflector: mesh peers skip it (projectcalico.org/RouteReflectorClusterID).',
  ),
  listenPort: field(
    z.number().int().min(1).max(65535).optional(),
    "Node-specific BGP listen port (BGPConfiguration node.<name>); absent = the default's.",
  ),
});
export type ViewNode = z.infer<typeof ViewNodeSchema>;

export const RouteTableSpecSchema = z.looseObject({});
export type RouteTableSpec = z.infer<typeof RouteTableSpecSchema>;

export const RouteTableStatusSchema = z.looseObject({
  view: field(z.string().min(1).max(63), 'The view these routes are computed for (subnet or "cluster").'),
  shard: field(z.number().int().min(0), 'Shard index within the view.'),
  shardCount: field(z.number().int().min(1).optional(), 'How many shards the view has now.'),
  revision: field(z.string().min(1).max(128), 'Content hash of view, shard, entries and nodes.'),
  entries: field(z.array(RouteEntrySchema), 'Routes, sorted by node, then by cidr.'),
  nodes: field(z.array(ViewNodeSchema).optional(), 'Nodes assigned to this shard, sorted by name.'),
  conditions: ConditionsSchema.optional(),
});
export type RouteTableStatus = z.infer<typeof RouteTableStatusSchema>;

export const RouteTableSchema = z.looseObject({
  ...envelope(TABBY_API_VERSION, 'RouteTable'),
  spec: RouteTableSpecSchema.optional(),
  status: RouteTableStatusSchema.optional(),
});
export type RouteTable = z.infer<typeof RouteTableSchema>;

export const RouteTableKind = defineKind({
  group: TABBY_GROUP,
  version: TABBY_VERSION,
  kind: 'RouteTable',
  plural: 'routetables',
  shortNames: ['rtab'],
  description:
    'One shard of the routes every node of a view programs towards remote blocks; written by tabby-operator, ' +
    'read by the agents of that view (label dataplane.tabby.dev/view).',
  schema: RouteTableSchema,
  hasStatus: true,
  specRequired: false,
  printerColumns: [
    { name: 'View', type: 'string', jsonPath: '.status.view' },
    { name: 'Shard', type: 'integer', jsonPath: '.status.shard' },
    { name: 'Revision', type: 'string', jsonPath: '.status.revision' },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  ],
});
