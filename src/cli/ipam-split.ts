// `tabby ipam split N --name POOL | --cidr CIDR` (calico: calicoctl ipam split, SplitPool): the pool becomes N equal
// pools `split-<name>-<i>`, copies of it (labels, annotations, spec) with their part of the CIDR, enabled. The rule
// and the refusals are src/ipam/pool-split.ts's.
//
// The writes, in order:
// 1. every child is checked against the IPPool schema first, so a split that would fail does so before any write;
// 2. the pool is disabled (compare-and-swap on what was read): agents stop assigning from it;
// 3. its blocks are read again: an address assigned before they saw the pool disabled stops the split, and the pool
//    is enabled again as it was;
// 4. the pool is deleted, then the children are created. Calico creates the children first, with a create that skips
//    its overlap check; Tabby's apiserver has no such back door, and a child overlapping the pool it replaces would
//    be refused or left unallocatable. With no address allocated in the range, the moment without a pool loses
//    nothing; the range's empty blocks stay and are used again by the children.
// A create that fails after the delete prints the original pool, so it can be applied again.
// Exit codes: 0 split, 1 refused (the reason on stderr), 2 bad arguments.
import type { Command } from 'commander';
import { IPAMBlockKind, IPPoolKind, formatIssue, issuesFromZod } from '../api/index.js';
import { SplitError, blockFromSpec, planPoolSplit, type SplitPlan } from '../ipam/index.js';
import { createKubeClient, kindResource, type KubeClient, type KubeObject } from '../kube/index.js';
import { formatCidr, parseCidr, tryParseCidr } from '../net/index.js';
import { objectNameValue } from './flag-values.js';
import { addKubeFlags, kubeSource, type KubeFlags } from './kube-options.js';

type Raw = KubeObject & { spec?: Record<string, unknown> };

/** The child as it is created: the pool's labels, annotations and spec, its own name and CIDR, enabled. */
export function childPool(pool: Raw, child: { name: string; cidr: string }): Raw {
  const { labels, annotations } = pool.metadata as { labels?: unknown; annotations?: unknown };
  return {
    apiVersion: pool.apiVersion ?? 'projectcalico.org/v3',
    kind: 'IPPool',
    metadata: {
      name: child.name,
      ...(labels === undefined ? {} : { labels }),
      ...(annotations === undefined ? {} : { annotations }),
    },
    spec: { ...(pool.spec ?? {}), cidr: child.cidr, disabled: false },
  } as Raw;
}

async function findPool(client: KubeClient, name: string | undefined, cidr: string | undefined): Promise<Raw> {
  const pools = client.resource(kindResource(IPPoolKind));
  if (name !== undefined) {
    try {
      return (await pools.get(name)) as Raw;
    } catch (e) {
      throw new SplitError(`unable to find IP pool with name ${name}: ${(e as Error).message}`);
    }
  }
  const want = tryParseCidr(cidr!);
  const found = (await pools.list()).items.find((p) => {
    const have = tryParseCidr(String((p as Raw).spec?.['cidr'] ?? ''));
    return have !== undefined && want !== undefined && formatCidr(have) === formatCidr(want);
  });
  if (found === undefined) throw new SplitError(`unable to find IP pool covering the specified CIDR ${cidr}`);
  return found as Raw;
}

async function plan(client: KubeClient, pool: Raw, parts: number): Promise<SplitPlan> {
  const blocks = await client.kind(IPAMBlockKind).list();
  return planPoolSplit(
    {
      metadata: { name: pool.metadata.name },
      spec: {
        cidr: String(pool.spec?.['cidr'] ?? ''),
        ...(typeof pool.spec?.['blockSize'] === 'number' ? { blockSize: pool.spec['blockSize'] } : {}),
      },
    },
    blocks.items.map((b) => blockFromSpec(b.spec)),
    parts,
  );
}

export async function splitPool(
  client: KubeClient,
  o: { name?: string; cidr?: string; parts: number },
  out: (line: string) => void,
): Promise<void> {
  if (o.name === undefined && o.cidr === undefined) {
    throw new SplitError('no name or CIDR provided. Provide a name or CIDR to denote the IP pool to split');
  }
  const pools = client.resource(kindResource(IPPoolKind));
  const pool = await findPool(client, o.name, o.cidr);
  const p = await plan(client, pool, o.parts);
  const children = p.children.map((c) => childPool(pool, c));
  for (const c of children) {
    const r = IPPoolKind.schema.safeParse(c);
    if (!r.success) {
      const issues = issuesFromZod(r.error, { kind: 'IPPool', name: c.metadata.name });
      throw new SplitError(`the split pool ${c.metadata.name} would be invalid: ${issues.map(formatIssue).join('; ')}`);
    }
  }
  const wasDisabled = pool.spec?.['disabled'] === true;
  const disabled = (await pools.replace({ ...pool, spec: { ...pool.spec, disabled: true } })) as Raw;
  try {
    await plan(client, disabled, o.parts);
  } catch (e) {
    await pools.replace({ ...disabled, spec: { ...disabled.spec, disabled: wasDisabled } });
    throw e;
  }
  await pools.delete(pool.metadata.name);
  const created: string[] = [];
  for (const c of children) {
    try {
      await pools.create(c);
    } catch (e) {
      const original = {
        apiVersion: pool.apiVersion,
        kind: 'IPPool',
        metadata: { name: pool.metadata.name },
        spec: pool.spec,
      };
      throw new SplitError(
        `creating ${c.metadata.name} failed after ${pool.metadata.name} was deleted: ${(e as Error).message}; ` +
          `created: ${created.join(', ') || 'none'}; the original pool, to apply again: ${JSON.stringify(original)}`,
      );
    }
    created.push(c.metadata.name);
  }
  out(`IP Pool ${p.pool} was successfully split into ${o.parts} smaller pools.`);
  for (const c of p.children) out(`Created ${c.name} with CIDR ${c.cidr}.`);
}

export function registerIpamSplit(ipam: Command): void {
  addKubeFlags(
    ipam
      .command('split')
      .argument('<number>', 'how many pools to make (a power of 2)')
      .description(
        'split an IP pool into NUMBER equal pools split-<name>-<i>, as calicoctl ipam split; ' +
          'refused while any address of the pool is allocated',
      ),
  )
    .option('--name <pool>', 'the pool to split', objectNameValue('--name'))
    .option('--cidr <cidr>', 'the CIDR of the pool to split')
    .action(async (number: string, opts: KubeFlags & { name?: string; cidr?: string }) => {
      const parts = /^-?\d+$/.test(number) ? Number(number) : NaN;
      if (Number.isNaN(parts)) {
        process.stderr.write(`error: error reading number to split IP pools into. ${number} is not a valid number\n`);
        process.exitCode = 2;
        return;
      }
      if (opts.cidr !== undefined && tryParseCidr(opts.cidr) === undefined) {
        try {
          parseCidr(opts.cidr);
        } catch (e) {
          process.stderr.write(`error: --cidr: ${(e as Error).message}\n`);
        }
        process.exitCode = 2;
        return;
      }
      const client = createKubeClient({ source: kubeSource(opts) });
      try {
        await splitPool(client, { ...opts, parts }, (line) => process.stdout.write(`${line}\n`));
      } catch (e) {
        if (!(e instanceof SplitError)) throw e;
        process.stderr.write(`error: ${e.message}\n`);
        process.exitCode = 1;
      } finally {
        client.close();
      }
    });
}
