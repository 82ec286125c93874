// `tabby render -f FILE|DIR ... [--node NAME] [--format routes|json|yaml|bird] [--explain]`: plans a cluster offline
// from manifests or `kubectl get ... -o yaml` dumps and prints what each node's kernel must hold — or, with `bird`,
// exactly the BIRD 2 configuration the node's agent would write (the agent's own renderer; BGP passwords from the
// Secrets in the input, in `--secrets-namespace` (Calico's manifest namespace, kube-system) unless a peer names one).
// I/O sits here (reading files, printing); reading, snapshotting and planning are the pure api and plan layers.
// Bad input — files that cannot be read (with the system's reason), YAML errors, invalid objects, kinds render does
// not read, nodes without an address, blocks outside every pool, an unknown --node — prints every problem with file,
// object and field, and exits 1 without printing any table: output is complete or absent.
import type { Command } from 'commander';
import yaml from 'js-yaml';
import { formatIssue } from '../api/errors.js';
import { type InputFile, type InputObject, formatSource, readInputs } from '../api/reader.js';
import { TABBY_API_VERSION } from '../api/meta.js';
import { cidrContainsCidr, parseCidr } from '../net/index.js';
import { explainComment } from '../plan/materialise.js';
import { planCluster } from '../plan/pipeline.js';
import { type InputKindObject, snapshotFromObjects } from '../plan/snapshot-from-objects.js';
import { withSyntheticIpam } from '../plan/synthetic-ipam.js';
import { renderBirdConfig, secretRefKey } from '../agent/bird/bird-config.js';
import { choiceValue, namespaceValue, nodeNameValue } from './flag-values.js';
import { readInputFiles } from './read-inputs.js';
import type { NodeDesired } from '../api/node-dataplane.js';

export interface RenderOptions {
  file: string[];
  node?: string;
  format: (typeof FORMATS)[number];
  explain?: boolean;
  /** Where BGP password Secrets without a namespace are looked up (default kube-system). */
  secretsNamespace?: string;
}

const FORMATS = ['routes', 'json', 'yaml', 'bird'] as const;

interface SecretLike {
  metadata: { name: string; namespace?: string };
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}

/** Passwords the plan refers to, from the Secrets in the input, keyed as the agent keys them. */
function passwordsFrom(desired: NodeDesired, secrets: readonly SecretLike[], defaultNs: string): Map<string, string> {
  const out = new Map<string, string>();
  const refs = [desired.bgp?.meshPasswordSecretRef, ...(desired.bgp?.peers ?? []).map((p) => p.passwordSecretRef)];
  for (const ref of refs) {
    if (!ref) continue;
    const ns = ref.namespace ?? defaultNs;
    const secret = secrets.find((x) => x.metadata.name === ref.name && (x.metadata.namespace ?? 'default') === ns);
    const value =
      secret?.stringData?.[ref.key] ??
      (secret?.data?.[ref.key] !== undefined
        ? Buffer.from(secret.data[ref.key]!, 'base64').toString('utf8')
        : undefined);
    if (value !== undefined) out.set(secretRefKey(ref), value);
  }
  return out;
}

export interface RenderOutput {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Kinds render reads from core v1 (Services for BGP service advertisement, with discovery.k8s.io/v1 EndpointSlices);
 * every projectcalico.org/v3 kind the api layer knows is read too.
 */
const CORE_KINDS_READ = new Set(['Node', 'Pod', 'Namespace', 'Secret', 'Service']);

/**
 * The objects of the input files that planning reads, and every problem with them (file, object, field): the input
 * half of render, which `tabby diff` reads its dump and change files with.
 */
export function objectsFromFiles(files: readonly InputFile[]): { objects: InputObject[]; errors: string[] } {
  const errors: string[] = [];
  const read = readInputs(files);
  for (const i of read.issues) errors.push(`${formatSource(i.source)}: ${formatIssue(i)}`);
  for (const s of read.skipped) {
    errors.push(
      `${formatSource(s.source)}: ${s.kind} ${s.name || '(unnamed)'}: kind: render does not read ${s.apiVersion} ${s.kind} ` +
        '(it reads v1 Node, Pod, Service and Secret, discovery.k8s.io/v1 EndpointSlice and the projectcalico.org/v3 kinds)',
    );
  }
  const objects = read.objects.filter((o) => o.object.apiVersion !== 'v1' || CORE_KINDS_READ.has(o.object.kind));
  return { objects, errors };
}

/** The whole command as a function of file contents: testable without a process. */
export function renderFiles(files: readonly InputFile[], opts: Omit<RenderOptions, 'file'>): RenderOutput {
  const { objects, errors } = objectsFromFiles(files);
  const { snapshot, issues } = snapshotFromObjects(
    objects.map((o) => o.object as InputKindObject),
    { requireNodeAddress: true },
  );
  for (const i of issues) {
    const src = objects[i.index]?.source;
    errors.push(`${src ? `${formatSource(src)}: ` : ''}${formatIssue(i)}`);
  }
  // A block outside every pool has no pool type: Calico would never route it, so the input is inconsistent.
  const pools = snapshot.pools.map((p) => parseCidr(p.cidr));
  objects.forEach((o) => {
    if (o.object.kind !== 'IPAMBlock') return;
    const spec = (o.object as { spec: { cidr: string } }).spec;
    let c;
    try {
      c = parseCidr(spec.cidr);
    } catch {
      return;
    }
    if (!pools.some((p) => cidrContainsCidr(p, c))) {
      errors.push(
        `${formatSource(o.source)}: IPAMBlock ${o.object.metadata.name}: spec.cidr: ${spec.cidr} is not inside any IPPool`,
      );
    }
  });
  if (snapshot.nodes.length === 0 && errors.length === 0)
    errors.push('no Node objects in the input: nothing to render');
  if (opts.node !== undefined && errors.length === 0 && !snapshot.nodes.some((n) => n.name === opts.node)) {
    errors.push(`--node ${opts.node}: no Node of that name in the input`);
  }
  if (errors.length > 0) return { code: 1, stdout: '', stderr: `${errors.map((e) => `error: ${e}`).join('\n')}\n` };

  const planned = planCluster(withSyntheticIpam(snapshot).snapshot);
  const names = [...planned.nodes.keys()].filter((n) => opts.node === undefined || n === opts.node);
  if (opts.format === 'routes') {
    const out: string[] = [];
    for (const name of names) {
      const m = planned.materialise(name);
      if (!m) continue;
      out.push(`# node ${name}`);
      for (const r of m.routes) out.push(opts.explain ? `${r.line}  # ${explainComment(r)}` : r.line);
    }
    return { code: 0, stdout: `${out.join('\n')}\n`, stderr: '' };
  }
  if (opts.format === 'bird') {
    const secrets = objects.filter((o) => o.object.kind === 'Secret').map((o) => o.object as unknown as SecretLike);
    const out: string[] = [];
    const problems: string[] = [];
    for (const name of names) {
      const desired = planned.nodes.get(name);
      if (!desired) continue;
      if (!desired.bgp) {
        problems.push(`Node ${name}: BGP is off for this node: no BIRD configuration`);
        continue;
      }
      const viewNodes = [...planned.routeTables.values()]
        .filter((rt) => rt.view === desired.view || rt.view === desired.viewV6)
        .flatMap((rt) => rt.nodes ?? []);
      const cfg = renderBirdConfig({
        nodeName: name,
        desired,
        viewNodes,
        passwords: passwordsFrom(desired, secrets, opts.secretsNamespace ?? 'kube-system'),
      });
      for (const i of cfg.issues)
        if (i.severity === 'error') problems.push(`Node ${name}: ${i.object ?? 'bgp'}: ${i.message}`);
      if (names.length > 1) out.push(`# node ${name}`);
      out.push(cfg.text.trimEnd());
    }
    if (problems.length > 0)
      return { code: 1, stdout: '', stderr: `${problems.map((e) => `error: ${e}`).join('\n')}\n` };
    return { code: 0, stdout: `${out.join('\n')}\n`, stderr: '' };
  }
  const items: unknown[] = [];
  const views = new Set<string>();
  for (const name of names) {
    const desired = planned.nodes.get(name);
    if (!desired) continue;
    views.add(desired.view);
    if (desired.viewV6 !== undefined) views.add(desired.viewV6);
    items.push({
      apiVersion: TABBY_API_VERSION,
      kind: 'NodeDataplane',
      metadata: { name },
      spec: { nodeName: name },
      status: { desired },
    });
  }
  for (const [name, status] of planned.routeTables) {
    if (!views.has(status.view)) continue;
    items.push({
      apiVersion: TABBY_API_VERSION,
      kind: 'RouteTable',
      metadata: {
        name,
        labels: { 'dataplane.tabby.dev/view': status.view, 'dataplane.tabby.dev/shard': String(status.shard) },
      },
      status,
    });
  }
  const list = { apiVersion: 'v1', kind: 'List', items };
  const text =
    opts.format === 'json' ? `${JSON.stringify(list, null, 2)}\n` : yaml.dump(list, { lineWidth: -1, noRefs: true });
  return { code: 0, stdout: text, stderr: '' };
}

export function registerRender(program: Command): void {
  program
    .command('render')
    .description("plan a cluster offline from manifests or kubectl dumps and print each node's routes or desired state")
    .requiredOption('-f, --file <path...>', 'YAML/JSON files or directories (kubectl -o yaml dumps work)')
    .option('--node <name>', 'only this node', nodeNameValue('--node'))
    .option('--format <format>', 'routes | json | yaml | bird', choiceValue('--format', FORMATS), 'routes')
    .option(
      '--secrets-namespace <ns>',
      'namespace of BGP password Secrets in the input (--format bird)',
      namespaceValue('--secrets-namespace'),
      'kube-system',
    )
    .option('--explain', 'add the reason (rule, pool, block, node) after each route')
    .action((opts: RenderOptions) => {
      const { files, errors } = readInputFiles(opts.file);
      if (errors.length > 0) {
        process.stderr.write(errors.map((e) => `error: ${e}\n`).join(''));
        process.exitCode = 1;
        return;
      }
      const out = renderFiles(files, opts);
      process.stdout.write(out.stdout);
      process.stderr.write(out.stderr);
      process.exitCode = out.code;
    });
}
