// Reading a live cluster for the commands that look at one (`tabby ipam show|check|history`, `tabby diff`,
// `tabby explain`): each kind listed once (a command, not a controller), every object parsed by its src/api schema
// as the operator's caches parse it, and stamped with its apiVersion and kind (a LIST's items carry neither), so the
// objects go into the same readers `tabby render` feeds from files (snapshotFromObjects, IPAM's spec mapping).
// An object that fails its schema is not returned; it is reported, naming the object and field.
import {
  BGPConfigurationKind,
  BGPPeerKind,
  BlockAffinityKind,
  FelixConfigurationKind,
  IPAMBlockKind,
  IPAMConfigurationKind,
  IPAMHandleKind,
  IPPoolKind,
  NodeDataplaneKind,
  RouteTableKind,
  apiVersionOf,
  formatIssue,
  type KindDefinition,
} from '../api/index.js';
import type { z } from 'zod';
import type { HasMetadata, KubeClient, ObjectList } from '../kube/index.js';
import type { InputKindObject } from '../plan/index.js';

/** The kinds a plan and IPAM are made from (render's input kinds, Secrets aside). */
export const PLAN_KINDS: readonly KindDefinition[] = [
  IPPoolKind,
  IPAMBlockKind,
  BlockAffinityKind,
  IPAMHandleKind,
  IPAMConfigurationKind,
  BGPConfigurationKind,
  BGPPeerKind,
  FelixConfigurationKind,
];

/** What the operator wrote and the agents report (`tabby explain`). */
export const DATAPLANE_KINDS: readonly KindDefinition[] = [NodeDataplaneKind, RouteTableKind];

export interface ClusterObjects {
  objects: InputKindObject[];
  /** Objects that fail their schema, one line each naming the object and field. */
  invalid: string[];
}

/** Nodes, Pods and `kinds`, listed at once. */
export async function readClusterObjects(
  client: KubeClient,
  kinds: readonly KindDefinition[] = PLAN_KINDS,
): Promise<ClusterObjects> {
  const [nodes, pods, ...lists] = await Promise.all([
    client.nodes().list(),
    client.pods().list(),
    ...kinds.map((k) => client.kind(k as KindDefinition<z.ZodType<HasMetadata>>).list()),
  ]);
  const objects: InputKindObject[] = [];
  const invalid: string[] = [];
  const take = (list: ObjectList<object>, apiVersion: string, kind: string) => {
    for (const o of list.items) objects.push({ ...o, apiVersion, kind } as unknown as InputKindObject);
    for (const bad of list.invalid) invalid.push(bad.issues.map(formatIssue).join('; '));
  };
  take(nodes, 'v1', 'Node');
  take(pods, 'v1', 'Pod');
  kinds.forEach((k, i) => take(lists[i]!, apiVersionOf(k), k.kind));
  return { objects, invalid };
}
