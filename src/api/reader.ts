// The input reader behind the CLI: file contents in (the CLI edge reads the files), validated objects out.
// Accepts multi-document YAML (or JSON), `kind: List` (as `kubectl get -o yaml` prints), Calico's internal
// `crd.projectcalico.org/v1` objects as dumped from a live cluster (converted to projectcalico.org/v3, including the
// `projectcalico.org/metadata` annotation and IPAMConfig -> IPAMConfiguration), and core v1 Node, Pod, Namespace,
// Secret and Service objects and discovery.k8s.io/v1 EndpointSlices, passed through (planning needs them). Other kinds are reported as skipped, never dropped silently.
// Every problem names the file, the document (1-based; and the List item), the kind, the name and the field.
import yaml from 'js-yaml';
import { formatIssue, type Issue } from './errors.js';
import { CALICO_API_VERSION } from './meta.js';
import { refOf, validateObject, type AnyTabbyObject } from './validate.js';

export interface InputFile {
  /** Shown in messages; the CLI passes the path it read. */
  name: string;
  content: string;
}

export interface SourceRef {
  file: string;
  /** 1-based document number within the file (counting empty ones); 0 for the file as a whole. */
  document: number;
  /** 1-based item number when the document is a List. */
  item?: number;
}

/** A core v1 (or discovery.k8s.io/v1 EndpointSlice) object Tabby reads but does not validate beyond its identity. */
export interface CoreObject {
  apiVersion: 'v1' | 'discovery.k8s.io/v1';
  kind: 'Node' | 'Pod' | 'Namespace' | 'Secret' | 'Service' | 'EndpointSlice';
  metadata: { name: string; namespace?: string; [k: string]: unknown };
  [k: string]: unknown;
}

export interface InputObject {
  source: SourceRef;
  object: AnyTabbyObject | CoreObject;
  /** The object was converted from crd.projectcalico.org/v1. */
  converted: boolean;
}

export interface InputIssue extends Issue {
  source: SourceRef;
}

export interface SkippedObject {
  source: SourceRef;
  apiVersion: string;
  kind: string;
  name: string;
}

export interface ReadResult {
  objects: InputObject[];
  issues: InputIssue[];
  skipped: SkippedObject[];
}

export const CALICO_V1_API_VERSION = 'crd.projectcalico.org/v1';
export const CALICO_METADATA_ANNOTATION = 'projectcalico.org/metadata';
const CORE_KINDS = new Set(['Node', 'Pod', 'Namespace', 'Secret', 'Service']);

export function formatSource(s: SourceRef): string {
  if (s.document === 0) return s.file;
  return `${s.file} (document ${s.document}${s.item === undefined ? '' : `, item ${s.item}`})`;
}

/** `pools.yaml (document 2): IPPool pool-a: spec.blockSize: must be 20..32 for an IPv4 pool (got 33)` */
export function formatInputIssue(i: InputIssue): string {
  // A file that does not parse has no object to name.
  if (i.code === 'yaml_syntax') return `${formatSource(i.source)}: ${i.message}`;
  return `${formatSource(i.source)}: ${formatIssue(i)}`;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const SERVER_SET_METADATA = ['uid', 'resourceVersion', 'generation', 'managedFields', 'selfLink', 'ownerReferences'];

/**
 * Converts one Calico v1 (KDD storage) object to projectcalico.org/v3, the way Calico's client reads it
 * (`calico: libcalico-go/lib/backend/k8s/resources/resources.go` ConvertK8sResourceToCalicoResource): the v3
 * metadata comes from the `projectcalico.org/metadata` annotation, merged over the v1 labels and annotations;
 * server-set fields of the v1 object (uid, resourceVersion, ...) are dropped since they belong to another object.
 * Returns the converted object or the issues found (a malformed annotation, a malformed deprecated field).
 */
export function convertCalicoV1(obj: Record<string, unknown>): { object: Record<string, unknown>; issues: Issue[] } {
  const kind = obj.kind === 'IPAMConfig' ? 'IPAMConfiguration' : String(obj.kind);
  const ref = { ...refOf(obj), kind };
  const issues: Issue[] = [];
  const v1meta = isRecord(obj.metadata) ? obj.metadata : {};
  const meta: Record<string, unknown> = { ...v1meta };
  for (const k of SERVER_SET_METADATA) delete meta[k];
  delete meta.creationTimestamp;
  const annotations: Record<string, string> = isRecord(v1meta.annotations)
    ? { ...(v1meta.annotations as Record<string, string>) }
    : {};
  const labels: Record<string, string> = isRecord(v1meta.labels)
    ? { ...(v1meta.labels as Record<string, string>) }
    : {};
  const stored = annotations[CALICO_METADATA_ANNOTATION];
  delete annotations[CALICO_METADATA_ANNOTATION];
  if (stored !== undefined) {
    let v3meta: unknown;
    try {
      v3meta = JSON.parse(stored);
    } catch (err) {
      issues.push({
        code: 'invalid_annotation',
        object: ref,
        path: ['metadata', 'annotations', CALICO_METADATA_ANNOTATION],
        message: `must be JSON object metadata: ${err instanceof Error ? err.message : String(err)}`,
      });
    }
    if (isRecord(v3meta)) {
      if (isRecord(v3meta.labels)) Object.assign(labels, v3meta.labels);
      if (isRecord(v3meta.annotations)) Object.assign(annotations, v3meta.annotations);
      if (typeof v3meta.creationTimestamp === 'string') meta.creationTimestamp = v3meta.creationTimestamp;
    } else if (v3meta !== undefined) {
      issues.push({
        code: 'invalid_annotation',
        object: ref,
        path: ['metadata', 'annotations', CALICO_METADATA_ANNOTATION],
        message: 'must be a JSON object',
      });
    }
  }
  if (Object.keys(labels).length > 0) meta.labels = labels;
  else delete meta.labels;
  if (Object.keys(annotations).length > 0) meta.annotations = annotations;
  else delete meta.annotations;

  const out: Record<string, unknown> = { ...obj, apiVersion: CALICO_API_VERSION, kind, metadata: meta };
  if (isRecord(obj.spec)) out.spec = convertV1Spec(kind, { ...obj.spec }, ref, issues);
  return { object: out, issues };
}

function convertV1Spec(
  kind: string,
  spec: Record<string, unknown>,
  ref: { kind: string; name: string },
  issues: Issue[],
): Record<string, unknown> {
  // Go's omitempty never writes "", but hand-edited v1 objects do; "" means the default in every case below.
  for (const [k, v] of Object.entries(spec)) if (v === '' && k !== 'state') delete spec[k];
  if (kind === 'IPPool') {
    // APIv1 back-compat fields (`calico: api/pkg/apis/projectcalico/v3/ippool.go` in v3.24): ipip {enabled, mode}
    // and nat-outgoing, only honoured when the v3 field is absent.
    const ipip = spec.ipip;
    if (ipip !== undefined) {
      if (!isRecord(ipip)) {
        issues.push({
          code: 'invalid_type',
          object: ref,
          path: ['spec', 'ipip'],
          message: 'must be an object {enabled, mode}',
        });
      } else if (spec.ipipMode === undefined) {
        spec.ipipMode = ipip.enabled === true ? (ipip.mode === 'cross-subnet' ? 'CrossSubnet' : 'Always') : 'Never';
      }
      delete spec.ipip;
    }
    if (spec['nat-outgoing'] !== undefined) {
      if (spec.natOutgoing === undefined) spec.natOutgoing = spec['nat-outgoing'] === true;
      delete spec['nat-outgoing'];
    }
  }
  if (kind === 'BlockAffinity' && typeof spec.deleted === 'string') {
    // v1 stores `deleted` as the string "true"/"false" (`calico: libcalico-go/lib/backend/k8s/resources/ipam_affinity_v1.go`).
    if (spec.deleted === 'true' || spec.deleted === 'false') spec.deleted = spec.deleted === 'true';
    else {
      issues.push({
        code: 'invalid_value',
        object: ref,
        path: ['spec', 'deleted'],
        message: `must be "true" or "false" (got ${JSON.stringify(spec.deleted)})`,
      });
    }
  }
  if (kind === 'IPAMConfiguration') {
    // etcd-era storage keys, seen in old dumps.
    for (const [from, to] of [
      ['strict_affinity', 'strictAffinity'],
      ['auto_allocate_blocks', 'autoAllocateBlocks'],
    ] as const) {
      if (spec[from] !== undefined) {
        if (spec[to] === undefined) spec[to] = spec[from];
        delete spec[from];
      }
    }
  }
  return spec;
}

/**
 * The object as the apiserver stores it: a field set to null (YAML `spec:` with nothing after it) is dropped, as
 * kube-apiserver drops null values of CRD fields that are not nullable. List items stay (IPAMBlock allocations hold
 * nulls on purpose).
 */
function withoutNullFields(v: unknown): unknown {
  if (Array.isArray(v)) return v.map((x) => (isRecord(x) ? withoutNullFields(x) : x));
  if (!isRecord(v)) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) if (x !== null) out[k] = withoutNullFields(x);
  return out;
}

function coreObject(obj: Record<string, unknown>): obj is CoreObject {
  if (obj.apiVersion === 'discovery.k8s.io/v1') return obj.kind === 'EndpointSlice';
  return obj.apiVersion === 'v1' && typeof obj.kind === 'string' && CORE_KINDS.has(obj.kind);
}

function readOne(value: unknown, source: SourceRef, out: ReadResult): void {
  const ref = refOf(value);
  if (!isRecord(value)) {
    out.issues.push({
      source,
      code: 'invalid_type',
      object: ref,
      path: [],
      message: 'document must be a YAML mapping',
    });
    return;
  }
  if (coreObject(value)) {
    if (ref.name === '') {
      out.issues.push({
        source,
        code: 'invalid_type',
        object: ref,
        path: ['metadata', 'name'],
        message: 'is required',
      });
      return;
    }
    out.objects.push({ source, object: value, converted: false });
    return;
  }
  let obj = withoutNullFields(value) as Record<string, unknown>;
  let converted = false;
  if (value.apiVersion === CALICO_V1_API_VERSION) {
    const c = convertCalicoV1(obj);
    if (c.issues.length > 0) {
      out.issues.push(...c.issues.map((i) => ({ ...i, source })));
      return;
    }
    obj = c.object;
    converted = true;
  }
  const result = validateObject(obj);
  if (result.ok) {
    out.objects.push({ source, object: result.object, converted });
    return;
  }
  if (result.issues.length === 1 && result.issues[0]?.code === 'unknown_kind' && result.issues[0].path[0] === 'kind') {
    out.skipped.push({ source, apiVersion: String(obj.apiVersion), kind: ref.kind, name: ref.name });
    return;
  }
  out.issues.push(...result.issues.map((i) => ({ ...i, source })));
}

function isList(v: unknown): v is { kind: string; items: unknown[] } {
  return isRecord(v) && typeof v.kind === 'string' && v.kind.endsWith('List') && Array.isArray(v.items);
}

/** Reads every document of every file, in order. Never throws on bad input. */
export function readInputs(files: readonly InputFile[]): ReadResult {
  const out: ReadResult = { objects: [], issues: [], skipped: [] };
  for (const file of files) {
    let docs: unknown[];
    try {
      docs = yaml.loadAll(file.content, undefined, { filename: file.name });
    } catch (err) {
      const mark = (err as { mark?: { line?: number } }).mark;
      const line = mark?.line === undefined ? '' : ` at line ${mark.line + 1}`;
      out.issues.push({
        source: { file: file.name, document: 0 },
        code: 'yaml_syntax',
        object: { kind: '(file)', name: file.name },
        path: [],
        message: `not valid YAML${line}: ${(err as { reason?: string }).reason ?? String(err)}`,
      });
      continue;
    }
    docs.forEach((doc, i) => {
      if (doc === null || doc === undefined) return;
      const document = i + 1;
      if (isList(doc)) {
        doc.items.forEach((item, j) => readOne(item, { file: file.name, document, item: j + 1 }, out));
      } else {
        readOne(doc, { file: file.name, document }, out);
      }
    });
  }
  return out;
}
