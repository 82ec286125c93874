// `tabby diff`'s computation, without I/O: a cluster's objects (listed live or read from a dump), a change (objects
// to create or replace, objects to delete), and what the change would do to every node.
//
//   base objects ──┬────────────────────────────────► world ─► convergeIpam ─► IPAM objects' ─► snapshot ─► plan
//                  └─ apply change (replace/delete) ─► world ─► convergeIpam ─► IPAM objects' ─► snapshot ─► plan
//   diffIpam(two converged worlds) + diffPlans(two plans) = the report
//
// IPAM runs the operator's own code in memory (src/ipam/converge.ts), so blocks a change makes nodes claim or release
// and tunnel addresses it gives or takes are in the planned routes too (an IPIP → VXLAN switch gives every node a
// VTEP address before the routes use it). Both sides converge from the same objects, time and random source, so work
// the operator has pending anyway shows on neither side. Planning is src/plan's, from the same `snapshotFromObjects`
// `tabby render` uses.
import type { Issue } from '../api/errors.js';
import { CALICO_API_VERSION, KINDS } from '../api/index.js';
import type { BlockAffinity, IPAMBlock, IPAMConfiguration, IPAMHandle, IPPool } from '../api/index.js';
import {
  ATTR_NAMESPACE,
  ATTR_NODE,
  ATTR_POD,
  TUNNEL_ADDRESS_ANNOTATIONS,
  TUNNEL_KINDS,
  type BlockAffinityData,
  type BlockDecision,
  type ConvergedIpam,
  type IpamSeed,
  type IpamWorld,
  type NodeIpamDiff,
  type PodFields,
  affinityFromSpec,
  affinityNode,
  affinityToSpec,
  blockFromSpec,
  blockToSpec,
  convergeIpam,
  diffIpam,
  handleFromSpec,
  ipamConfigFromSpec,
  tunnelAttributes,
  tunnelHandleId,
} from '../ipam/index.js';
import { blockAffinityObjectName, ipamBlockObjectName } from '../net/index.js';
import {
  type ClusterPlan,
  type InputKindObject,
  type NodePlanDiff,
  diffPlans,
  planCluster,
  snapshotFromObjects,
  withSyntheticIpam,
} from '../plan/index.js';

/** Which object: kind as src/api or core v1 spells it, namespace for Pods only. */
export interface ObjectKey {
  kind: string;
  namespace?: string;
  name: string;
}

export function keyText(k: ObjectKey): string {
  return k.namespace === undefined ? `${k.kind}/${k.name}` : `${k.kind}/${k.namespace}/${k.name}`;
}

const NAMESPACED = new Set(['Pod']);

export function keyOf(o: InputKindObject): ObjectKey {
  const kind = KINDS.find((k) => k.kind === o.kind || k.aliases.includes(o.kind))?.kind ?? o.kind;
  return NAMESPACED.has(kind)
    ? { kind, namespace: (o.metadata as { namespace?: string }).namespace ?? 'default', name: o.metadata.name }
    : { kind, name: o.metadata.name };
}

/** Kinds `--delete` accepts, by every spelling kubectl would take (kind, singular, plural, short names). */
const DELETABLE: readonly { kind: string; names: readonly string[] }[] = [
  { kind: 'Node', names: ['node', 'nodes', 'no'] },
  { kind: 'Pod', names: ['pod', 'pods', 'po'] },
  ...KINDS.filter((k) => k.group === 'projectcalico.org').map((k) => ({
    kind: k.kind,
    names: [k.kind.toLowerCase(), k.singular, k.plural, ...k.shortNames, ...k.aliases.map((a) => a.toLowerCase())],
  })),
];

/** `ippool/NAME`, `nodes/NAME`, `pod/NAMESPACE/NAME`…; an Error says what it must be. */
export function parseObjectRef(text: string): ObjectKey | Error {
  const parts = text.split('/');
  const kindText = (parts[0] ?? '').toLowerCase();
  const def = DELETABLE.find((d) => d.names.includes(kindText));
  if (def === undefined) {
    const known = DELETABLE.map((d) => d.names[0]).join(', ');
    return new Error(`${JSON.stringify(text)}: the kind must be one of ${known}`);
  }
  const want = NAMESPACED.has(def.kind) ? 3 : 2;
  if (parts.length !== want || parts.slice(1).some((p) => p === '')) {
    const form = want === 3 ? `${parts[0]}/NAMESPACE/NAME` : `${parts[0]}/NAME`;
    return new Error(`${JSON.stringify(text)}: must be ${form}`);
  }
  return want === 3 ? { kind: def.kind, namespace: parts[1]!, name: parts[2]! } : { kind: def.kind, name: parts[1]! };
}

export interface ChangeInput {
  base: readonly InputKindObject[];
  /** Objects to create, or to replace when the base has one of the same kind and name. */
  apply: readonly InputKindObject[];
  delete: readonly ObjectKey[];
  /** Where the base comes from, for messages (`the cluster`, `the dump`). */
  baseName: string;
  now: number;
  random: () => number;
}

export interface DiffReport {
  /** Per node, in name order: what its plan and its IPAM would do differently. */
  nodes: NodeDiff[];
  /** Problems that make the diff meaningless (exit code 2). */
  errors: string[];
  /** Problems worth telling but that do not stop the diff (objects of the base the planner cannot use…). */
  warnings: string[];
}

export interface NodeDiff {
  node: string;
  plan?: NodePlanDiff;
  ipam?: NodeIpamDiff;
}

function mapByKey(objects: readonly InputKindObject[]): Map<string, InputKindObject> {
  return new Map(objects.map((o) => [keyText(keyOf(o)), o]));
}

/** The base with the change made: replacements in place, new objects appended, deletions removed. */
export function applyChange(input: ChangeInput): {
  objects: InputKindObject[];
  changed: Set<string>;
  errors: string[];
} {
  const objects = mapByKey(input.base);
  const errors: string[] = [];
  const changed = new Set<string>();
  for (const k of input.delete) {
    const text = keyText(k);
    if (!objects.delete(text)) errors.push(`--delete ${text}: no such object in ${input.baseName}`);
    changed.add(text);
  }
  for (const o of input.apply) {
    const text = keyText(keyOf(o));
    if (changed.has(text) && input.delete.some((k) => keyText(k) === text)) {
      errors.push(`${text}: both deleted (--delete) and given in a change file`);
    }
    objects.set(text, o);
    changed.add(text);
  }
  return { objects: [...objects.values()], changed, errors };
}

function annotationsOf(o: InputKindObject): Record<string, string> {
  const a = (o.metadata as { annotations?: unknown }).annotations;
  return typeof a === 'object' && a !== null ? (a as Record<string, string>) : {};
}

function labelsOf(o: InputKindObject): Record<string, string> {
  const l = (o.metadata as { labels?: unknown }).labels;
  return typeof l === 'object' && l !== null ? (l as Record<string, string>) : {};
}

/**
 * IPAM's view of the objects. A dump with IPAMBlocks but no BlockAffinity at all (`kubectl get ipamblocks` alone) is
 * read as Calico keeps them: each block affine to a node has its confirmed affinity.
 */
export function worldOf(objects: readonly InputKindObject[]): IpamWorld {
  const of = <T>(kind: string) => objects.filter((o) => o.kind === kind) as unknown as T[];
  const config = of<IPAMConfiguration>('IPAMConfiguration').find((c) => c.metadata.name === 'default');
  const blocks = of<IPAMBlock>('IPAMBlock').map((b) => blockFromSpec(b.spec));
  const given = of<BlockAffinity>('BlockAffinity').map((a) => affinityFromSpec(a.spec));
  const affinities: BlockAffinityData[] =
    given.length > 0
      ? given
      : blocks.flatMap((b) => {
          const node = affinityNode(b.affinity);
          return node === undefined || b.deleted
            ? []
            : [{ node, cidr: b.cidr, state: 'confirmed' as const, type: 'host' as const, deleted: false }];
        });
  return {
    pools: of<IPPool>('IPPool'),
    config: ipamConfigFromSpec(config?.spec),
    nodes: objects
      .filter((o) => o.kind === 'Node')
      .map((n) => ({ name: n.metadata.name, labels: labelsOf(n), annotations: annotationsOf(n) })),
    pods: of<PodFields>('Pod'),
    blocks,
    affinities,
    handles: of<IPAMHandle>('IPAMHandle').map((h) => handleFromSpec(h.spec)),
  };
}

/** The objects as they are once IPAM has converged: its blocks and affinities, Nodes with their tunnel addresses. */
export function convergedObjects(objects: readonly InputKindObject[], c: ConvergedIpam): InputKindObject[] {
  const out: InputKindObject[] = [];
  for (const o of objects) {
    if (o.kind === 'IPAMBlock' || o.kind === 'BlockAffinity') continue;
    const annotations = o.kind === 'Node' ? c.annotations.get(o.metadata.name) : undefined;
    out.push(annotations === undefined ? o : ({ ...o, metadata: { ...o.metadata, annotations } } as InputKindObject));
  }
  for (const b of c.blocks) {
    out.push({
      apiVersion: CALICO_API_VERSION,
      kind: 'IPAMBlock',
      metadata: { name: ipamBlockObjectName(b.cidr) },
      spec: blockToSpec(b),
    } as unknown as InputKindObject);
  }
  for (const a of c.affinities) {
    out.push({
      apiVersion: CALICO_API_VERSION,
      kind: 'BlockAffinity',
      metadata: { name: blockAffinityObjectName(a.node, a.cidr) },
      spec: affinityToSpec(a),
    } as unknown as InputKindObject);
  }
  return out;
}

/**
 * IPAM state for a base described without IPAM objects (a hand-written cluster, a dump of Nodes, Pods and pools):
 * the blocks `tabby render`'s synthetic IPAM gives each node, and the addresses the objects show in use — tunnel
 * addresses from Node annotations, pod IPs (handle `k8s-pod-network.<namespace>.<pod>`: the real one names the
 * sandbox, which a dump does not carry). Undefined when the base has IPAM objects.
 */
export function seedOf(base: readonly InputKindObject[]): IpamSeed | undefined {
  if (base.some((o) => o.kind === 'IPAMBlock' || o.kind === 'BlockAffinity')) return undefined;
  const { snapshot } = snapshotFromObjects(base);
  const claims = withSyntheticIpam(snapshot).blocks.map((b) => ({ node: b.node, block: b.block }));
  const addresses: IpamSeed['addresses'][number][] = [];
  for (const n of base.filter((o) => o.kind === 'Node')) {
    const ann = annotationsOf(n);
    for (const kind of TUNNEL_KINDS) {
      const address = ann[TUNNEL_ADDRESS_ANNOTATIONS[kind]];
      if (address === undefined || address === '') continue;
      const node = n.metadata.name;
      addresses.push({
        address,
        node,
        handleId: tunnelHandleId(kind, node),
        attrs: tunnelAttributes(kind, node),
        use: 'Tunnel',
      });
    }
  }
  for (const p of snapshot.pods) {
    for (const address of p.ips) {
      addresses.push({
        address,
        node: p.node,
        handleId: `k8s-pod-network.${p.namespace}.${p.name}`,
        attrs: { [ATTR_NAMESPACE]: p.namespace, [ATTR_POD]: p.name, [ATTR_NODE]: p.node },
        use: 'Workload',
      });
    }
  }
  return { claims, addresses };
}

interface Side {
  world: IpamWorld;
  converged: ConvergedIpam;
  plan: ClusterPlan;
  issues: (Issue & { index: number })[];
  objects: InputKindObject[];
}

async function side(
  objects: InputKindObject[],
  now: number,
  random: () => number,
  seed: IpamSeed | undefined,
): Promise<Side> {
  const world = worldOf(objects);
  const converged = await convergeIpam(world, { now, random, ...(seed ? { seed } : {}) });
  const planned = convergedObjects(objects, converged);
  const { snapshot, issues } = snapshotFromObjects(planned);
  return { world, converged, plan: planCluster(snapshot), issues, objects: planned };
}

function describeDecision(d: BlockDecision): string {
  return `${d.kind} ${d.block}${d.node === undefined ? '' : ` (node ${d.node})`}: ${d.reason}`;
}

export async function diffChange(input: ChangeInput): Promise<DiffReport> {
  const after = applyChange(input);
  if (after.errors.length > 0) return { nodes: [], errors: after.errors, warnings: [] };
  const seed = seedOf(input.base);
  const before = await side([...input.base], input.now, input.random, seed);
  const next = await side(after.objects, input.now, input.random, seed);
  const errors: string[] = [];
  const warnings: string[] = [];
  // The change's own objects must be usable; the base's problems are the cluster's, reported but not fatal.
  for (const i of next.issues) {
    const o = next.objects[i.index];
    const text = `${o ? `${keyText(keyOf(o))}: ` : ''}${i.path.join('.')}: ${i.message}`;
    if (o !== undefined && after.changed.has(keyText(keyOf(o)))) errors.push(text);
    else if (!before.issues.some((b) => b.message === i.message && b.path.join('.') === i.path.join('.')))
      warnings.push(text);
  }
  for (const i of before.issues) {
    const o = before.objects[i.index];
    warnings.push(`${o ? `${keyText(keyOf(o))}: ` : ''}${i.path.join('.')}: ${i.message} (left out of the plan)`);
  }
  for (const [label, s] of [
    ['without the change', before],
    ['with the change', next],
  ] as const) {
    for (const p of s.converged.problems) warnings.push(`${label}: ${p}`);
    if (!s.converged.settled) {
      const last = s.converged.decisions.slice(-3).map(describeDecision).join('; ');
      warnings.push(`${label}: IPAM still claiming or releasing blocks after the last round (${last})`);
    }
  }
  if (errors.length > 0) return { nodes: [], errors, warnings };
  const planDiffs = new Map(diffPlans(before.plan, next.plan).map((d) => [d.node, d]));
  const ipamDiffs = new Map(diffIpam(before, next).map((d) => [d.node, d]));
  const names = [...new Set([...planDiffs.keys(), ...ipamDiffs.keys()])].sort();
  const nodes = names.map((node) => {
    const plan = planDiffs.get(node);
    const ipam = ipamDiffs.get(node);
    return { node, ...(plan ? { plan } : {}), ...(ipam ? { ipam } : {}) };
  });
  return { nodes, errors, warnings };
}
