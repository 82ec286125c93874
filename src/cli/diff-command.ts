// `tabby diff -f change.yaml [--delete KIND/NAME] [--from dump.yaml] [--node N] [-o text|json]`: what a change would
// do to every node — routes, tunnels, BGP sessions, IPAM — before anything is applied, like `kubectl diff`.
// The cluster is read live (kubeconfig, as `tabby ipam show` reads it) or from dump files (as `tabby render` reads
// them); the change is objects to create or replace (YAML/JSON files, `kind: List` included) and objects to delete
// (`--delete ippool/NAME`, repeatable: YAML has no delete marker that `kubectl apply` would not also take as an
// object). Computation: change-diff.ts. Exit codes as kubectl diff: 0 nothing would change, 1 something would,
// 2 or more on error (nothing printed on stdout then).
import { type Command, CommanderError } from 'commander';
import { createKubeClient } from '../kube/index.js';
import { explainComment, type RouteLine } from '../plan/index.js';
import { bgpSessionLine } from '../plan/index.js';
import type { NodeIpamDiff } from '../ipam/index.js';
import { type DiffReport, type NodeDiff, diffChange, parseObjectRef, type ObjectKey } from './change-diff.js';
import { choiceValue, invalidValue, nodeNameValue } from './flag-values.js';
import { addKubeFlags, kubeSource, type KubeFlags } from './kube-options.js';
import { readClusterObjects } from './read-cluster.js';
import { readInputFiles } from './read-inputs.js';
import { objectsFromFiles } from './render-command.js';
import type { InputKindObject } from '../plan/index.js';

const FORMATS = ['text', 'json'] as const;

interface DiffFlags extends KubeFlags {
  file: string[];
  from?: string[];
  delete?: ObjectKey[];
  node?: string;
  output: (typeof FORMATS)[number];
}

function route(sign: '-' | '+', r: RouteLine): string {
  return `    ${sign} ${r.line}  # ${explainComment(r)}`;
}

const CLAIM_WHY: Record<string, string> = {
  noBlock: 'it has no block with free addresses',
  preclaim: 'pre-claim: free addresses below a quarter block',
  requested: "its agent's request",
  poolNoLongerSelectsNode: 'the pool no longer selects the node (empty block)',
  nodeDeleted: 'the node is deleted',
  emptyBlock: 'empty for the grace period',
  emptyUnaffine: 'empty, no node',
};

function ipamLines(d: NodeIpamDiff): string[] {
  const out: string[] = [];
  for (const p of d.poolsLost) out.push(`    - pool ${p}: the node no longer gets addresses from it`);
  for (const p of d.poolsGained) out.push(`    + pool ${p}: the node may get addresses from it`);
  const of = (pool?: string) => (pool === undefined ? '' : ` of pool ${pool}`);
  const why = (r?: string) => (r === undefined ? '' : ` (${CLAIM_WHY[r] ?? r})`);
  for (const b of d.blocksReleased) {
    const taken = b.takenBy === undefined ? '' : ` (empty: taken over by node ${b.takenBy}, which had no block left)`;
    out.push(`    - block ${b.block}${of(b.pool)} released${b.takenBy === undefined ? why(b.reason) : taken}`);
  }
  for (const b of d.blocksClaimed) out.push(`    + block ${b.block}${of(b.pool)} claimed${why(b.reason)}`);
  for (const b of d.blocksKept)
    out.push(`    = block ${b.block}${of(b.pool)} kept while ${b.inUse} address(es) in it are in use`);
  for (const t of d.tunnelAddresses)
    out.push(`    ~ ${t.kind} tunnel address ${t.before ?? '(none)'} -> ${t.after ?? '(none)'}`);
  return out;
}

function nodeText(n: NodeDiff): string[] {
  const out: string[] = [];
  const status = n.plan?.status === 'added' ? ' (new)' : n.plan?.status === 'removed' ? ' (deleted)' : '';
  out.push(`node ${n.node}${status}`);
  const p = n.plan;
  if (p && p.routes.removed.length + p.routes.added.length > 0) {
    out.push('  routes:');
    for (const r of p.routes.removed) out.push(route('-', r));
    for (const r of p.routes.added) out.push(route('+', r));
  }
  if (p && p.tunnels.removed.length + p.tunnels.added.length > 0) {
    out.push('  tunnels:');
    for (const t of p.tunnels.removed) out.push(`    - ${t}`);
    for (const t of p.tunnels.added) out.push(`    + ${t}`);
  }
  if (p && p.bgpSessions.removed.length + p.bgpSessions.added.length > 0) {
    out.push('  bgp sessions:');
    for (const s of p.bgpSessions.removed) out.push(`    - ${bgpSessionLine(s)}`);
    for (const s of p.bgpSessions.added) out.push(`    + ${bgpSessionLine(s)}`);
  }
  if (n.ipam) {
    out.push('  ipam:');
    out.push(...ipamLines(n.ipam));
  }
  return out;
}

/** Counts for the summary line. */
function totals(nodes: readonly NodeDiff[]) {
  let routes = 0;
  let tunnels = 0;
  let bgp = 0;
  let ipam = 0;
  for (const n of nodes) {
    routes += (n.plan?.routes.removed.length ?? 0) + (n.plan?.routes.added.length ?? 0);
    tunnels += (n.plan?.tunnels.removed.length ?? 0) + (n.plan?.tunnels.added.length ?? 0);
    bgp += (n.plan?.bgpSessions.removed.length ?? 0) + (n.plan?.bgpSessions.added.length ?? 0);
    if (n.ipam) ipam += ipamLines(n.ipam).length;
  }
  return { routes, tunnels, bgp, ipam };
}

/** What the command prints and its exit code, from a report. */
export function diffOutput(
  report: DiffReport,
  opts: { node?: string; output: (typeof FORMATS)[number] },
): { code: number; stdout: string; stderr: string } {
  let stderr = report.warnings.map((w) => `warning: ${w}\n`).join('');
  if (report.errors.length > 0) {
    return { code: 2, stdout: '', stderr: stderr + report.errors.map((e) => `error: ${e}\n`).join('') };
  }
  const nodes = report.nodes.filter((n) => opts.node === undefined || n.node === opts.node);
  const t = totals(nodes);
  stderr +=
    nodes.length === 0
      ? 'no node would change\n'
      : `${nodes.length} node(s) would change: ${t.routes} route, ${t.tunnels} tunnel, ${t.bgp} BGP session and ${t.ipam} IPAM line(s)\n`;
  const stdout =
    opts.output === 'json'
      ? `${JSON.stringify({ nodes }, null, 2)}\n`
      : nodes.length === 0
        ? ''
        : `${nodes.flatMap(nodeText).join('\n')}\n`;
  return { code: nodes.length > 0 ? 1 : 0, stdout, stderr };
}

function readFiles(paths: readonly string[]): { objects: InputKindObject[]; errors: string[] } {
  const { files, errors } = readInputFiles(paths);
  const read = objectsFromFiles(files);
  return { objects: read.objects.map((o) => o.object as InputKindObject), errors: [...errors, ...read.errors] };
}

async function run(opts: DiffFlags): Promise<{ code: number; stdout: string; stderr: string }> {
  const change = readFiles(opts.file);
  const base = opts.from !== undefined ? readFiles(opts.from) : undefined;
  const errors = [...change.errors, ...(base?.errors ?? [])];
  if (errors.length > 0) return { code: 2, stdout: '', stderr: errors.map((e) => `error: ${e}\n`).join('') };
  let objects: InputKindObject[];
  const warnings: string[] = [];
  if (base !== undefined) objects = base.objects;
  else {
    const client = createKubeClient({ source: kubeSource(opts) });
    try {
      const read = await readClusterObjects(client);
      objects = read.objects;
      for (const i of read.invalid) warnings.push(`${i} (not read)`);
    } finally {
      client.close();
    }
  }
  const report = await diffChange({
    base: objects,
    apply: change.objects,
    delete: opts.delete ?? [],
    baseName: base !== undefined ? 'the --from files' : 'the cluster',
    now: Date.now(),
    // Only /32 and /128 pools draw a random start block; one fixed source keeps both sides of the diff alike.
    random: () => 0.5,
  });
  report.warnings.unshift(...warnings);
  return diffOutput(report, opts);
}

export function registerDiff(program: Command): void {
  const cmd = addKubeFlags(
    program
      .command('diff')
      .description(
        "show what a change would do to every node's routes, tunnels, BGP sessions and IPAM, applying nothing; " +
          'exit code 0: no change, 1: changes, 2: error (as kubectl diff)',
      ),
  )
    .requiredOption('-f, --file <path...>', 'objects to create or replace (YAML/JSON files or directories)')
    .option(
      '--delete <kind/name>',
      'an object to delete, e.g. ippool/old-pool, node/node-3, bgppeer/rr1, pod/NAMESPACE/NAME (repeatable)',
      (text: string, prev: ObjectKey[] | undefined) => {
        const k = parseObjectRef(text);
        if (k instanceof Error) throw invalidValue(`--delete ${k.message}`);
        return [...(prev ?? []), k];
      },
    )
    .option('--from <path...>', 'read the cluster from these dump files instead of the apiserver (as tabby render)')
    .option('--node <name>', 'only this node', nodeNameValue('--node'))
    .option('-o, --output <format>', 'text | json', choiceValue('--output', FORMATS), 'text')
    .action(async (opts: DiffFlags) => {
      let out;
      try {
        out = await run(opts);
      } catch (err) {
        out = { code: 2, stdout: '', stderr: `error: ${err instanceof Error ? err.message : String(err)}\n` };
      }
      process.stdout.write(out.stdout);
      process.stderr.write(out.stderr);
      process.exitCode = out.code;
    });
  // kubectl diff's convention: 1 means "differences", so every usage error must exit with more.
  cmd.exitOverride((err) => {
    if (err.exitCode === 1) throw new CommanderError(2, err.code, err.message);
    throw err;
  });
}
