// Which REST collection a kind lives in. Inputs: group, version, plural, kind, scope. Outputs: URL paths and the
// `apiVersion` string. Invariant: the core group is `''` and lives under `/api/v1`; every other group under `/apis`.
import type { KindDefinition } from '../api/meta.js';

export interface ResourceType {
  /** `''` for the core group. */
  group: string;
  version: string;
  plural: string;
  kind: string;
  namespaced: boolean;
}

export const NODES: ResourceType = { group: '', version: 'v1', plural: 'nodes', kind: 'Node', namespaced: false };
export const PODS: ResourceType = { group: '', version: 'v1', plural: 'pods', kind: 'Pod', namespaced: true };
export const SERVICES: ResourceType = {
  group: '',
  version: 'v1',
  plural: 'services',
  kind: 'Service',
  namespaced: true,
};
export const ENDPOINT_SLICES: ResourceType = {
  group: 'discovery.k8s.io',
  version: 'v1',
  plural: 'endpointslices',
  kind: 'EndpointSlice',
  namespaced: true,
};
export const SECRETS: ResourceType = { group: '', version: 'v1', plural: 'secrets', kind: 'Secret', namespaced: true };
export const CONFIG_MAPS: ResourceType = {
  group: '',
  version: 'v1',
  plural: 'configmaps',
  kind: 'ConfigMap',
  namespaced: true,
};
export const LEASES: ResourceType = {
  group: 'coordination.k8s.io',
  version: 'v1',
  plural: 'leases',
  kind: 'Lease',
  namespaced: true,
};
/** events.k8s.io/v1 (the API `kubectl events` and newer recorders use; core v1 Events read the same objects). */
export const EVENTS: ResourceType = {
  group: 'events.k8s.io',
  version: 'v1',
  plural: 'events',
  kind: 'Event',
  namespaced: true,
};

/** A cluster-scoped custom resource, e.g. `clusterResource('projectcalico.org', 'v3', 'ippools', 'IPPool')`. */
export function clusterResource(group: string, version: string, plural: string, kind: string): ResourceType {
  return { group, version, plural, kind, namespaced: false };
}

/** The resource of one of the cluster-scoped kinds `src/api` defines (Calico's or ours). */
export function kindResource(d: Pick<KindDefinition, 'group' | 'version' | 'plural' | 'kind'>): ResourceType {
  return clusterResource(d.group, d.version, d.plural, d.kind);
}

export function apiVersionOf(type: Pick<ResourceType, 'group' | 'version'>): string {
  return type.group === '' ? type.version : `${type.group}/${type.version}`;
}

/** `nodes`, `leases.coordination.k8s.io`: how kubectl and RBAC name the resource. */
export function resourceName(type: ResourceType): string {
  return type.group === '' ? type.plural : `${type.plural}.${type.group}`;
}

export interface PathParts {
  namespace?: string;
  name?: string;
  subresource?: 'status';
}

export function resourcePath(type: ResourceType, parts: PathParts = {}): string {
  const root = type.group === '' ? `/api/${type.version}` : `/apis/${type.group}/${type.version}`;
  if (type.namespaced && parts.name !== undefined && !parts.namespace) {
    throw new Error(`${resourceName(type)} ${parts.name}: a namespaced resource needs a namespace`);
  }
  const ns = type.namespaced && parts.namespace ? `/namespaces/${encodeURIComponent(parts.namespace)}` : '';
  const name = parts.name !== undefined ? `/${encodeURIComponent(parts.name)}` : '';
  const sub = parts.subresource && parts.name !== undefined ? `/${parts.subresource}` : '';
  return `${root}${ns}/${type.plural}${name}${sub}`;
}
