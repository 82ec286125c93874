// `tabby ipam show [--pool P] [--node N]` and `tabby ipam check`: IPAM as the cluster holds it (IPReservations
// included), read once with LISTs (a command, not a controller); `release` and `split` live in ipam-release.ts and
// ipam-split.ts. `check` exits 1 when it finds an error (duplicate allocations, affinities without
// blocks, blocks of deleted nodes, handles that disagree with blocks, leaked addresses, a block, affinity or handle
// that fails its schema), naming each object and field.
import type { Command } from 'commander';
import { formatIssue } from '../api/errors.js';
import {
  BlockAffinityKind,
  IPAMBlockKind,
  IPAMHandleKind,
  IPPoolKind,
  IPReservationKind,
  type BlockAffinity,
  type IPAMBlock,
  type IPAMHandle,
  type IPPool,
  type IPReservation,
} from '../api/index.js';
import {
  checkIpam,
  freeAddresses,
  inUseCount,
  ipamPoolsFrom,
  podInfos,
  poolSpace,
  reservationsFrom,
  reservedInBlock,
} from '../ipam/index.js';
import { affinityFromSpec, blockFromSpec, handleFromSpec } from '../ipam/spec-mapping.js';
import { createKubeClient, type KubeClient, type ObjectList, type Pod } from '../kube/index.js';
import { cidrContainsCidr, parseCidr } from '../net/index.js';
import { nodeNameValue, objectNameValue } from './flag-values.js';
import { registerIpamHistory } from './ipam-history.js';
import { registerIpamRelease } from './ipam-release.js';
import { registerIpamSplit } from './ipam-split.js';
import { addKubeFlags, kubeSource, type KubeFlags } from './kube-options.js';
import { table } from './table.js';

/** Everything `ipam show` and `ipam check` read, as the apiserver listed it (objects failing their schema apart). */
export interface IpamLists {
  pools: ObjectList<IPPool>;
  blocks: ObjectList<IPAMBlock>;
  affinities: ObjectList<BlockAffinity>;
  handles: ObjectList<IPAMHandle>;
  /** Absent: none listed (the reservation columns then show nothing reserved). */
  reservations?: ObjectList<IPReservation>;
  nodes: readonly { metadata: { name: string } }[];
  pods: readonly Pod[];
}

export async function listIpam(client: KubeClient): Promise<IpamLists> {
  const [pools, blocks, affinities, handles, reservations, nodes, pods] = await Promise.all([
    client.kind(IPPoolKind).list(),
    client.kind(IPAMBlockKind).list(),
    client.kind(BlockAffinityKind).list(),
    client.kind(IPAMHandleKind).list(),
    client.kind(IPReservationKind).list(),
    client.nodes().list(),
    client.pods().list(),
  ]);
  return { pools, blocks, affinities, handles, reservations, nodes: nodes.items, pods: pods.items };
}

/** The lists in IPAM's own terms; `problems` says what could not be used. */
function ipamState(l: IpamLists) {
  const problems: string[] = [];
  for (const list of [l.pools, l.blocks, l.affinities, l.handles]) {
    for (const bad of list.invalid) problems.push(bad.issues.map(formatIssue).join('; '));
  }
  const { pools: ipamPools, invalid } = ipamPoolsFrom(l.pools.items);
  const poolErrors = invalid.map((err) => err.message);
  problems.push(...poolErrors);
  return {
    problems,
    poolErrors,
    pools: l.pools.items,
    ipamPools,
    blocks: l.blocks.items.map((b) => blockFromSpec(b.spec)),
    affinities: l.affinities.items.map((a) => affinityFromSpec(a.spec)),
    handles: l.handles.items.map((h) => handleFromSpec(h.spec)),
    nodes: new Set(l.nodes.map((n) => n.metadata.name)),
    pods: podInfos(l.pods),
  };
}

/**
 * `ipam check` on what was listed: the text it prints and its exit code. A block, affinity or handle that fails its
 * schema is an error — the check cannot vouch for what it cannot read — reported per field; a pool that does, a
 * warning (pools are configuration, and the operator reports them on the IPPool).
 */
export function ipamCheckReport(l: IpamLists): { stdout: string; code: number } {
  const s = ipamState(l);
  const r = checkIpam({
    blocks: s.blocks,
    affinities: s.affinities,
    handles: s.handles,
    nodes: s.nodes,
    pods: s.pods,
    pools: s.ipamPools,
  });
  const unreadable = [l.blocks, l.affinities, l.handles].flatMap((list) => list.invalid.flatMap((o) => o.issues));
  const poolProblems = [...l.pools.invalid.flatMap((o) => o.issues.map(formatIssue)), ...s.poolErrors];
  let stdout = '';
  for (const i of unreadable) stdout += `error: ${formatIssue(i)}\n`;
  for (const p of poolProblems) stdout += `warning: ${p}\n`;
  for (const f of r.findings) stdout += `${f.severity}: ${formatIssue(f)}\n`;
  const sum = r.summary;
  const errors = sum.errors + unreadable.length;
  const warnings = sum.warnings + poolProblems.length;
  const blocks = sum.blocks + l.blocks.invalid.length;
  const affinities = sum.affinities + l.affinities.invalid.length;
  const handles = sum.handles + l.handles.invalid.length;
  stdout += `checked ${blocks} blocks, ${affinities} affinities, ${handles} handles, ${sum.allocations} allocations: ${errors} errors, ${warnings} warnings\n`;
  return { stdout, code: errors > 0 ? 1 : 0 };
}

/**
 * `ipam show` on what was listed. Counts as calicoctl's (GetUtilization): IN USE allocated addresses; RESERVED the
 * addresses IPReservations cover, allocated or not (an address allocated before it was reserved is in both); FREE
 * what automatic assignment can still hand out — a block's unallocated, unreserved addresses, and for a pool also
 * its unreserved space no block covers yet.
 */
export function ipamShowReport(
  l: IpamLists,
  opts: { pool?: string; node?: string },
): { stdout: string; stderr: string } {
  const s = ipamState(l);
  const { reservations, skipped } = reservationsFrom(l.reservations?.items ?? []);
  let stderr = '';
  for (const p of s.problems) stderr += `warning: ${p}\n`;
  for (const bad of l.reservations?.invalid ?? []) stderr += `warning: ${bad.issues.map(formatIssue).join('; ')}\n`;
  for (const k of skipped)
    stderr += `warning: IPReservation ${k.reservation}: entry ${JSON.stringify(k.entry)} skipped: ${k.reason}\n`;
  const poolRows = [['POOL', 'CIDR', 'BLOCKS', 'IN USE', 'RESERVED', 'FREE', 'SIZE']];
  for (const p of s.pools) {
    if (opts.pool && p.metadata.name !== opts.pool) continue;
    const cidr = parseCidr(p.spec.cidr);
    const inPool = s.blocks.filter((b) => cidrContainsCidr(cidr, parseCidr(b.cidr)));
    const used = inPool.reduce((n, b) => n + inUseCount(b), 0);
    const space = poolSpace(
      cidr,
      reservations,
      inPool.map((b) => parseCidr(b.cidr)),
    );
    const free = inPool.reduce((n, b) => n + BigInt(freeAddresses(b, reservations)), space.availableOutsideBlocks);
    poolRows.push([
      p.metadata.name,
      p.spec.cidr,
      String(inPool.length),
      String(used),
      space.reserved.toString(),
      free.toString(),
      space.capacity.toString(),
    ]);
  }
  let stdout = table(poolRows);
  const blockRows = [['BLOCK', 'NODE', 'AFFINITY', 'IN USE', 'RESERVED', 'FREE']];
  for (const b of [...s.blocks].sort((x, y) => (x.cidr < y.cidr ? -1 : 1))) {
    const node = b.affinity?.startsWith('host:') ? b.affinity.slice(5) : '';
    if (opts.node && node !== opts.node) continue;
    if (opts.pool) {
      const p = s.pools.find((x) => x.metadata.name === opts.pool);
      if (!p || !cidrContainsCidr(parseCidr(p.spec.cidr), parseCidr(b.cidr))) continue;
    }
    const aff = s.affinities.find((a) => a.cidr === b.cidr && a.node === node);
    blockRows.push([
      b.cidr,
      node || '(none)',
      aff?.state || (aff ? 'confirmed' : '-'),
      String(inUseCount(b)),
      String(reservedInBlock(parseCidr(b.cidr), reservations)),
      String(freeAddresses(b, reservations)),
    ]);
  }
  stdout += '\n' + table(blockRows);
  const reservationRows = [['RESERVATION', 'RESERVED CIDRS']];
  for (const r of l.reservations?.items ?? []) {
    reservationRows.push([r.metadata.name, (r.spec.reservedCIDRs ?? []).map((c) => c.trim()).join(' ') || '(none)']);
  }
  if (reservationRows.length > 1) stdout += '\n' + table(reservationRows);
  return { stdout, stderr };
}

export function registerIpam(program: Command): void {
  const ipam = program.command('ipam').description('inspect and check IP address management in a cluster');
  addKubeFlags(ipam.command('show').description('usage per pool and per block, with affinities and reservations'))
    .option('--pool <name>', 'only this pool', objectNameValue('--pool'))
    .option('--node <name>', 'only this node', nodeNameValue('--node'))
    .action(async (opts: KubeFlags & { pool?: string; node?: string }) => {
      const client = createKubeClient({ source: kubeSource(opts) });
      try {
        const r = ipamShowReport(await listIpam(client), opts);
        process.stderr.write(r.stderr);
        process.stdout.write(r.stdout);
      } finally {
        client.close();
      }
    });
  registerIpamHistory(ipam);
  registerIpamRelease(ipam);
  registerIpamSplit(ipam);
  addKubeFlags(
    ipam.command('check').description('report IPAM inconsistencies; exit code 1 when any error is found'),
  ).action(async (opts: KubeFlags) => {
    const client = createKubeClient({ source: kubeSource(opts) });
    try {
      const r = ipamCheckReport(await listIpam(client));
      process.stdout.write(r.stdout);
      process.exitCode = r.code;
    } finally {
      client.close();
    }
  });
}
