// `tabby ipam show [--pool P] [--node N]` and `tabby ipam check`: IPAM as the cluster holds it, read once with LISTs
// (a command, not a controller). `check` exits 1 when it finds an error (duplicate allocations, affinities without
// blocks, blocks of deleted nodes, handles that disagree with blocks, leaked addresses), naming each object.
import type { Command } from 'commander';
import { formatIssue } from '../api/errors.js';
import {
  BlockAffinityKind,
  IPAMBlockKind,
  IPAMHandleKind,
  IPPoolKind,
  type BlockAffinity,
  type IPAMBlock,
  type IPAMHandle,
  type IPPool,
} from '../api/index.js';
import { checkIpam, inUseCount, ipamPoolFrom, podInfos, type IpamPool } from '../ipam/index.js';
import { affinityFromSpec, blockFromSpec, handleFromSpec } from '../ipam/spec-mapping.js';
import { clusterResource, createKubeClient, type KubeClient } from '../kube/index.js';
import { cidrContainsCidr, parseCidr } from '../net/index.js';
import { addKubeFlags, kubeSource, type KubeFlags } from './kube-options.js';

async function listKind<T>(
  client: KubeClient,
  kind: { group: string; version: string; plural: string; kind: string; schema: unknown },
): Promise<T[]> {
  const r = await client
    .resource(clusterResource(kind.group, kind.version, kind.plural, kind.kind), kind.schema as never)
    .list();
  for (const bad of r.invalid) {
    process.stderr.write(`warning: ${bad.issues.map(formatIssue).join('; ')}\n`);
  }
  return r.items as T[];
}

async function readIpam(client: KubeClient) {
  const [pools, blocks, affinities, handles, nodes, pods] = await Promise.all([
    listKind<IPPool>(client, IPPoolKind),
    listKind<IPAMBlock>(client, IPAMBlockKind),
    listKind<BlockAffinity>(client, BlockAffinityKind),
    listKind<IPAMHandle>(client, IPAMHandleKind),
    client.nodes().list(),
    client.pods().list(),
  ]);
  const ipamPools: IpamPool[] = [];
  for (const p of pools) {
    try {
      ipamPools.push(ipamPoolFrom(p));
    } catch (err) {
      process.stderr.write(`warning: ${(err as Error).message}\n`);
    }
  }
  const podInfo = podInfos(pods.items);
  return {
    pools,
    ipamPools,
    blocks: blocks.map((b) => blockFromSpec(b.spec)),
    affinities: affinities.map((a) => affinityFromSpec(a.spec)),
    handles: handles.map((h) => handleFromSpec(h.spec)),
    nodes: new Set(nodes.items.map((n) => n.metadata.name)),
    pods: podInfo,
  };
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return (
    rows
      .map((r) =>
        r
          .map((c, i) => c.padEnd(widths[i]!))
          .join('   ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}

export function registerIpam(program: Command): void {
  const ipam = program.command('ipam').description('inspect and check IP address management in a cluster');
  addKubeFlags(ipam.command('show').description('usage per pool and per node, with blocks and affinities'))
    .option('--pool <name>', 'only this pool')
    .option('--node <name>', 'only this node')
    .action(async (opts: KubeFlags & { pool?: string; node?: string }) => {
      const client = createKubeClient({ source: kubeSource(opts) });
      try {
        const s = await readIpam(client);
        const poolRows = [['POOL', 'CIDR', 'BLOCKS', 'IN USE', 'SIZE']];
        for (const p of s.pools) {
          if (opts.pool && p.metadata.name !== opts.pool) continue;
          const cidr = parseCidr(p.spec.cidr);
          const inPool = s.blocks.filter((b) => cidrContainsCidr(cidr, parseCidr(b.cidr)));
          const used = inPool.reduce((n, b) => n + inUseCount(b), 0);
          poolRows.push([
            p.metadata.name,
            p.spec.cidr,
            String(inPool.length),
            String(used),
            (2n ** BigInt((cidr.family === 4 ? 32 : 128) - cidr.prefix)).toString(),
          ]);
        }
        process.stdout.write(table(poolRows));
        const blockRows = [['BLOCK', 'NODE', 'AFFINITY', 'IN USE', 'FREE']];
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
            String(b.unallocated.length),
          ]);
        }
        process.stdout.write('\n' + table(blockRows));
      } finally {
        client.close();
      }
    });
  addKubeFlags(
    ipam.command('check').description('report IPAM inconsistencies; exit code 1 when any error is found'),
  ).action(async (opts: KubeFlags) => {
    const client = createKubeClient({ source: kubeSource(opts) });
    try {
      const s = await readIpam(client);
      const r = checkIpam({
        blocks: s.blocks,
        affinities: s.affinities,
        handles: s.handles,
        nodes: s.nodes,
        pods: s.pods,
        pools: s.ipamPools,
      });
      for (const f of r.findings) process.stdout.write(`${f.severity}: ${formatIssue(f)}\n`);
      const sum = r.summary;
      process.stdout.write(
        `checked ${sum.blocks} blocks, ${sum.affinities} affinities, ${sum.handles} handles, ${sum.allocations} allocations: ${sum.errors} errors, ${sum.warnings} warnings\n`,
      );
      if (sum.errors > 0) process.exitCode = 1;
    } finally {
      client.close();
    }
  });
}
