// `tabby explain <ip|cidr> [--node N] [-o text|json]`: what stands behind an address in a live cluster — the pool,
// block, owner node, handle and pod IPAM records for it (src/ipam/address-owner.ts), the route each node should
// have for it with the encapsulation rule that chose it (planned here from the cluster's objects, as the operator
// plans: the planner's RouteRule), and whether each node's agent has programmed it (src/plan/route-lookup.ts: the
// object publishing the route and its revision, against NodeDataplane status.applied).
// The cluster is read once, as `tabby diff` and `tabby ipam show` read it (read-cluster.ts).
import type { Command } from 'commander';
import type { IPAMBlock, IPAMHandle, IPPool, NodeDataplane, RouteTable, BlockAffinity } from '../api/index.js';
import {
  affinityFromSpec,
  blockFromSpec,
  explainAddress,
  handleFromSpec,
  ipamPoolsFrom,
  podInfos,
  type AddressOwnership,
  type PodFields,
} from '../ipam/index.js';
import { createKubeClient } from '../kube/index.js';
import { type Cidr, parseCidr, parseIP } from '../net/index.js';
import {
  type InputKindObject,
  type RouteLine,
  type RouteState,
  planCluster,
  routeState,
  routesFor,
  snapshotFromObjects,
} from '../plan/index.js';
import { addressOrCidrValue, choiceValue, nodeNameValue } from './flag-values.js';
import { addKubeFlags, kubeSource, type KubeFlags } from './kube-options.js';
import { DATAPLANE_KINDS, PLAN_KINDS, readClusterObjects } from './read-cluster.js';
import { table } from './table.js';

export interface NodeExplain {
  node: string;
  routes: {
    line: string;
    rule: string;
    pool?: string;
    block?: string;
    owner: string;
    pod?: string;
    state: RouteState;
  }[];
}

export interface ExplainReport extends AddressOwnership {
  nodes: NodeExplain[];
  warnings: string[];
}

/** `10.0.0.5` → 10.0.0.5/32; a CIDR as written (host bits must be zero). */
export function targetOf(text: string): Cidr {
  if (text.includes('/')) return parseCidr(text);
  const ip = parseIP(text);
  return parseCidr(`${text}/${ip.family === 4 ? 32 : 128}`);
}

/** The whole command as a function of the cluster's objects: testable without a process. */
export function explainObjects(objects: readonly InputKindObject[], target: Cidr, node?: string): ExplainReport {
  const of = <T>(kind: string) => objects.filter((o) => o.kind === kind) as unknown as T[];
  const warnings: string[] = [];
  const pools = ipamPoolsFrom(of<IPPool>('IPPool'));
  for (const e of pools.invalid) warnings.push(e.message);
  const owner = explainAddress(target, {
    pools: pools.pools,
    blocks: of<IPAMBlock>('IPAMBlock').map((b) => blockFromSpec(b.spec)),
    affinities: of<BlockAffinity>('BlockAffinity').map((a) => affinityFromSpec(a.spec)),
    handles: of<IPAMHandle>('IPAMHandle').map((h) => handleFromSpec(h.spec)),
    nodes: new Set(of<{ metadata: { name: string } }>('Node').map((n) => n.metadata.name)),
    pods: podInfos(of<PodFields>('Pod')),
  });
  const planInput = objects.filter((o) => o.kind !== 'NodeDataplane' && o.kind !== 'RouteTable');
  const { snapshot, issues } = snapshotFromObjects(planInput);
  for (const i of issues) {
    const o = planInput[i.index];
    warnings.push(
      `${o ? `${o.kind} ${o.metadata.name}: ` : ''}${i.path.join('.')}: ${i.message} (left out of the plan)`,
    );
  }
  const plan = planCluster(snapshot);
  const dataplanes = new Map(of<NodeDataplane>('NodeDataplane').map((d) => [d.metadata.name, d]));
  const shards = of<RouteTable>('RouteTable')
    .filter((t) => t.status !== undefined)
    .map((t) => ({ name: t.metadata.name, status: t.status! }));
  const names = [...plan.nodes.keys()].filter((n) => node === undefined || n === node);
  if (node !== undefined && names.length === 0) warnings.push(`--node ${node}: no such node is planned`);
  const nodes = names.map((n): NodeExplain => {
    const status = dataplanes.get(n)?.status;
    const pub = {
      ...(status?.desired ? { desired: status.desired } : {}),
      ...(status?.applied ? { applied: status.applied } : {}),
      shards,
    };
    const lines: RouteLine[] = routesFor(plan.materialise(n)?.routes ?? [], target);
    return {
      node: n,
      routes: lines.map((r) => ({
        line: r.line,
        rule: r.explain.rule,
        ...(r.explain.pool !== undefined ? { pool: r.explain.pool } : {}),
        ...(r.explain.block !== undefined ? { block: r.explain.block } : {}),
        owner: r.explain.node,
        ...(r.explain.pod !== undefined ? { pod: r.explain.pod } : {}),
        state: routeState(n, r, pub),
      })),
    };
  });
  return { ...owner, nodes, warnings };
}

function stateText(s: RouteState): string {
  switch (s.state) {
    case 'applied':
      return `yes: ${s.object} at ${s.revision.slice(0, 19)}${s.time ? ` (programmed ${s.time})` : ''}`;
    case 'pending':
      return `no: ${s.object} is at ${s.revision.slice(0, 19)}, the agent at ${s.appliedRevision?.slice(0, 19) ?? 'nothing yet'}`;
    case 'not-published':
      return s.publishedLines.length > 0
        ? `no: the operator's plan has ${s.publishedLines.join('; ')}`
        : "no: not in the operator's plan for this node yet";
    case 'cni':
      return "by the CNI plugin at the pod's start (not in status.applied)";
    case 'no-plan':
      return 'no: the node has no NodeDataplane plan yet';
  }
}

export function formatExplain(r: ExplainReport): string {
  const out: string[] = [];
  out.push(`${r.single ? 'address' : 'cidr'} ${r.single ? r.target.replace(/\/(32|128)$/, '') : r.target}`);
  if (r.pools.length === 0) out.push('  pool        none: no IPPool holds it');
  for (const p of r.pools)
    out.push(`  pool        ${p.name} (${p.cidr}, ipipMode ${p.ipipMode}, vxlanMode ${p.vxlanMode})`);
  if (r.blocks.length === 0) out.push('  block       none: no IPAM block holds it');
  for (const b of r.blocks) {
    const owner = b.node === undefined ? 'no node (un-affine)' : `node ${b.node} (affinity ${b.affinityState})`;
    out.push(`  block       ${b.cidr}${b.pool ? ` of pool ${b.pool}` : ''}, ${owner}, ${b.inUse} of ${b.size} in use`);
  }
  const a = r.allocation;
  if (r.single && a === undefined && r.blocks.length > 0) out.push('  allocation  none: the address is free');
  if (a) {
    const attrs = Object.entries(a.attrs)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    out.push(`  allocation  ${a.kind}, handle ${a.handleId ?? '(none)'}, ${attrs}`);
    if (a.handleId !== undefined) {
      const counted = a.handle
        ? Object.entries(a.handle)
            .map(([b, n]) => `${n} in ${b}`)
            .join(', ')
        : 'no IPAMHandle object';
      out.push(`  handle      ${a.handleId}: ${counted}`);
    }
    if (a.pod) {
      const where = a.pod.found
        ? `on node ${a.pod.node ?? '(unscheduled)'}, status podIPs ${a.pod.ips?.join(', ') || '(none yet)'}`
        : 'gone';
      out.push(`  pod         ${a.pod.namespace}/${a.pod.name}: ${where}`);
    }
    const verdict =
      a.validity === 'valid'
        ? 'in use'
        : a.validity === 'invalid'
          ? 'not in use: GC releases it (at once for a deleted node, else after the leak grace period)'
          : 'unknown owner: GC leaves it alone';
    out.push(`  gc          ${verdict}`);
  }
  out.push('');
  const rows = [['NODE', 'ROUTE', 'RULE', 'PROGRAMMED']];
  for (const n of r.nodes) {
    if (n.routes.length === 0) rows.push([n.node, '(no route: the default route takes it)', '-', '-']);
    for (const x of n.routes) rows.push([n.node, x.line, x.rule, stateText(x.state)]);
  }
  out.push(table(rows).trimEnd());
  return `${out.join('\n')}\n`;
}

const FORMATS = ['text', 'json'] as const;

export function registerExplain(program: Command): void {
  addKubeFlags(
    program
      .command('explain')
      .description(
        'what stands behind an address or CIDR: pool, block, owner node, handle and pod; the route each node should ' +
          'have for it, the rule that chose it, and whether each agent has programmed it',
      )
      .argument('<ip|cidr>', 'an address (10.244.1.5) or a CIDR (10.244.1.0/26)', addressOrCidrValue('<ip|cidr>')),
  )
    .option('--node <name>', 'only this node', nodeNameValue('--node'))
    .option('-o, --output <format>', 'text | json', choiceValue('--output', FORMATS), 'text')
    .action(async (text: string, opts: KubeFlags & { node?: string; output: (typeof FORMATS)[number] }) => {
      const target = targetOf(text);
      const client = createKubeClient({ source: kubeSource(opts) });
      try {
        const read = await readClusterObjects(client, [...PLAN_KINDS, ...DATAPLANE_KINDS]);
        const report = explainObjects(read.objects, target, opts.node);
        for (const w of [...read.invalid.map((i) => `${i} (not read)`), ...report.warnings])
          process.stderr.write(`warning: ${w}\n`);
        const { warnings: _w, ...shown } = report;
        process.stdout.write(opts.output === 'json' ? `${JSON.stringify(shown, null, 2)}\n` : formatExplain(report));
      } finally {
        client.close();
      }
    });
}
