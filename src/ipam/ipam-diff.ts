// What a change does to each node's IPAM (for `tabby diff`): the cluster converged twice by converge.ts, without and
// with the change, compared node by node. Comparing two converged states (not the cluster as it is against the
// change) means work the operator has pending anyway is never blamed on the change.
//
// Per node:
// - pools it can take workload addresses from (Calico's pool choice, pools.ts `choosePools`), lost and gained;
// - blocks affine to it that the change makes it claim or release, with the operator's reason;
// - blocks it keeps although their pool no longer selects it, because addresses in them are in use (Calico never
//   releases a block with allocations: they stay routed until the pods go);
// - tunnel addresses (IPIP, VXLAN, VXLAN v6 Node annotations) that change.
// Nodes with none of these are left out; every list is sorted.
import { parseCidr } from '../net/index.js';
import { inUseCount } from './block.js';
import type { ConvergedIpam, IpamWorld } from './converge.js';
import type { BlockClaimReason, BlockReleaseReason } from './history.js';
import { type IPAMBlockData, affinityNode } from './model.js';
import { type IpamPool, choosePools, enabledPools, ipamPoolsFrom, poolContaining, poolSelectsNode } from './pools.js';
import { TUNNEL_ADDRESS_ANNOTATIONS, TUNNEL_KINDS, type TunnelKind } from './tunnel-addresses.js';

export interface BlockChange {
  block: string;
  pool?: string;
  /** The operator's reason, when it took the decision itself. */
  reason?: BlockClaimReason | BlockReleaseReason;
  /** For a block `reclaimed`: the node that took it. */
  takenBy?: string;
}

export interface KeptBlock {
  block: string;
  pool: string;
  inUse: number;
}

export interface NodeIpamDiff {
  node: string;
  poolsLost: string[];
  poolsGained: string[];
  blocksClaimed: BlockChange[];
  blocksReleased: BlockChange[];
  blocksKept: KeptBlock[];
  tunnelAddresses: { kind: TunnelKind; before?: string; after?: string }[];
}

export interface ConvergedWorld {
  world: IpamWorld;
  converged: ConvergedIpam;
}

const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function workloadPools(pools: readonly IpamPool[], node: { name: string; labels: Readonly<Record<string, string>> }) {
  const out: string[] = [];
  for (const family of [4, 6] as const) {
    try {
      out.push(...choosePools(pools, { family, node, use: 'Workload' }).usable.map((p) => p.name));
    } catch {
      // No pool for this family: nothing to add.
    }
  }
  return out.sort(byText);
}

function selecting(pools: readonly IpamPool[], node: { name: string; labels: Readonly<Record<string, string>> }) {
  return new Set([...enabledPools(pools, 4), ...enabledPools(pools, 6)].filter((p) => poolSelectsNode(p, node)));
}

function affineTo(blocks: readonly IPAMBlockData[], node: string): Map<string, IPAMBlockData> {
  return new Map(blocks.filter((b) => affinityNode(b.affinity) === node).map((b) => [b.cidr, b]));
}

export function diffIpam(before: ConvergedWorld, after: ConvergedWorld): NodeIpamDiff[] {
  const poolsBefore = ipamPoolsFrom(before.world.pools).pools;
  const poolsAfter = ipamPoolsFrom(after.world.pools).pools;
  const nodesBefore = new Map(before.world.nodes.map((n) => [n.name, n]));
  const nodesAfter = new Map(after.world.nodes.map((n) => [n.name, n]));
  const names = [...new Set([...nodesBefore.keys(), ...nodesAfter.keys()])].sort(byText);
  const out: NodeIpamDiff[] = [];
  const poolName = (pools: readonly IpamPool[], cidr: string) => poolContaining(pools, parseCidr(cidr))?.name;
  const decided = (c: ConvergedIpam, kind: 'claimed' | 'released', block: string) =>
    c.decisions.find((d) => d.kind === kind && d.block === block)?.reason;

  for (const name of names) {
    const nb = nodesBefore.get(name);
    const na = nodesAfter.get(name);
    const pb = nb ? workloadPools(poolsBefore, nb) : [];
    const pa = na ? workloadPools(poolsAfter, na) : [];
    const bb = affineTo(before.converged.blocks, name);
    const ba = affineTo(after.converged.blocks, name);
    const claimed: BlockChange[] = [];
    const released: BlockChange[] = [];
    for (const cidr of [...ba.keys()].filter((c) => !bb.has(c)).sort(byText)) {
      const pool = poolName(poolsAfter, cidr);
      const reason = decided(after.converged, 'claimed', cidr);
      claimed.push({ block: cidr, ...(pool ? { pool } : {}), ...(reason ? { reason } : {}) });
    }
    for (const cidr of [...bb.keys()].filter((c) => !ba.has(c)).sort(byText)) {
      const pool = poolName(poolsBefore, cidr);
      // A claim that found no free block reclaims an empty one of another node inside the claim itself.
      const takenBy = after.converged.decisions.find(
        (d) => d.kind === 'claimed' && d.block === cidr && d.node !== name,
      )?.node;
      const reason: BlockChange['reason'] =
        decided(after.converged, 'released', cidr) ??
        (takenBy !== undefined ? 'reclaimed' : na ? undefined : 'nodeDeleted');
      released.push({
        block: cidr,
        ...(pool ? { pool } : {}),
        ...(reason ? { reason } : {}),
        ...(takenBy !== undefined ? { takenBy } : {}),
      });
    }
    const kept: KeptBlock[] = [];
    if (nb && na) {
      const was = selecting(poolsBefore, nb);
      const is = selecting(poolsAfter, na);
      for (const [cidr, b] of [...ba].sort(([x], [y]) => byText(x, y))) {
        const now = poolContaining(poolsAfter, parseCidr(cidr));
        const then = poolContaining(poolsBefore, parseCidr(cidr));
        const lostPool = then !== undefined && was.has(then) && (now === undefined || !is.has(now));
        if (lostPool && inUseCount(b) > 0) kept.push({ block: cidr, pool: then.name, inUse: inUseCount(b) });
      }
    }
    const tunnels: NodeIpamDiff['tunnelAddresses'] = [];
    for (const kind of TUNNEL_KINDS) {
      const key = TUNNEL_ADDRESS_ANNOTATIONS[kind];
      const t0 = before.converged.annotations.get(name)?.[key];
      const t1 = after.converged.annotations.get(name)?.[key];
      if (t0 !== t1) tunnels.push({ kind, ...(t0 ? { before: t0 } : {}), ...(t1 ? { after: t1 } : {}) });
    }
    const d: NodeIpamDiff = {
      node: name,
      poolsLost: pb.filter((p) => !pa.includes(p)),
      poolsGained: pa.filter((p) => !pb.includes(p)),
      blocksClaimed: claimed,
      blocksReleased: released,
      blocksKept: kept,
      tunnelAddresses: tunnels,
    };
    const empty =
      d.poolsLost.length + d.poolsGained.length + claimed.length + released.length + kept.length + tunnels.length === 0;
    if (!empty) out.push(d);
  }
  return out;
}
