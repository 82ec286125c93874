// Cluster-wide inputs every node's plan shares: which families have CrossSubnet pools (this decides the views), which
// encapsulations are on, the global BGP settings, the default FelixConfiguration.
// Inputs: the cluster index. Output: `PlanGlobals`, recomputed whenever a pool or a global config object changes.
// `sameShape` tells the incremental planner whether a change reshapes the views (then everything is recomputed).
import type { ClusterIndex } from './cluster-index.js';
import type { PoolFacts } from './facts.js';
import { type BgpGlobals, DEFAULT_AS_NUMBER } from './bgp-peers.js';
import { type EncapFlags, encapFromPools } from './encap-decider.js';
import type { CrossSubnetFlags } from './route-views.js';
import { type FelixSettings, GLOBAL_CONFIG_NAME, type SnapshotBGPConfiguration } from './snapshot.js';

export interface PlanGlobals {
  crossSubnet: CrossSubnetFlags;
  encap: EncapFlags;
  poolsSorted: readonly PoolFacts[];
  felixDefault: Readonly<FelixSettings>;
  bgpDefault?: SnapshotBGPConfiguration;
  bgp: BgpGlobals;
  /** Pool CIDRs BIRD must not export (IPPool disableBGPExport), sorted. */
  rejectPrefixes: readonly string[];
}

export function computeGlobals(idx: ClusterIndex): PlanGlobals {
  const poolsSorted = idx.poolsSorted();
  const crossSubnet: CrossSubnetFlags = { v4: false, v6: false };
  for (const p of poolsSorted) {
    if (!p.crossSubnet) continue;
    if (p.family === 4) crossSubnet.v4 = true;
    else crossSubnet.v6 = true;
  }
  const bgpDefault = idx.bgpConfigurations.get(GLOBAL_CONFIG_NAME);
  const bgp: BgpGlobals = {
    asNumber: bgpDefault?.asNumber ?? DEFAULT_AS_NUMBER,
    meshEnabled: bgpDefault?.nodeToNodeMeshEnabled ?? true,
  };
  if (bgpDefault?.listenPort !== undefined) bgp.listenPort = bgpDefault.listenPort;
  // The mesh password and restart time only apply while the mesh is on (BGPConfiguration CEL rules).
  if (bgp.meshEnabled && bgpDefault?.nodeMeshPassword) {
    bgp.meshPassword = { name: bgpDefault.nodeMeshPassword.name, key: bgpDefault.nodeMeshPassword.key };
  }
  if (bgp.meshEnabled && bgpDefault?.nodeMeshMaxRestartTimeSeconds !== undefined) {
    bgp.meshRestartSeconds = bgpDefault.nodeMeshMaxRestartTimeSeconds;
  }
  const out: PlanGlobals = {
    crossSubnet,
    encap: encapFromPools(poolsSorted),
    poolsSorted,
    felixDefault: idx.felixConfigurations.get(GLOBAL_CONFIG_NAME)?.spec ?? {},
    bgp,
    rejectPrefixes: poolsSorted.filter((p) => p.disableBGPExport).map((p) => p.cidrText),
  };
  if (bgpDefault) out.bgpDefault = bgpDefault;
  return out;
}
