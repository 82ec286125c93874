import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import {
  CRD_HEADER,
  crdFileName,
  generateCrd,
  generateCrdFiles,
  openApiSchema,
  structuralProblems,
} from './crd-gen.js';
import { KINDS } from './kinds.js';

type Json = Record<string, unknown>;
const crds = KINDS.map((k) => [k.kind, generateCrd(k)] as const);

/** The field schemas of a zod object, under its optional/default wrappers and on the input side of pipes. */
function zodShape(schema: unknown): Record<string, unknown> {
  let s = schema as { _zod: { def: ZodDef } };
  for (;;) {
    const d = s._zod.def;
    if (d.innerType !== undefined) s = d.innerType;
    else if (d.type === 'pipe' && d.in !== undefined) s = d.in;
    else if (d.type === 'object' && d.shape !== undefined) return d.shape;
    else throw new Error(`not a zod object: ${d.type}`);
  }
}
interface ZodDef {
  type: string;
  innerType?: { _zod: { def: ZodDef } };
  in?: { _zod: { def: ZodDef } };
  shape?: Record<string, unknown>;
}

/** Every schema node with its dotted path. */
function* nodes(schema: unknown, path = ''): Generator<[string, Json]> {
  if (typeof schema !== 'object' || schema === null) return;
  const s = schema as Json;
  yield [path, s];
  const props = s.properties as Json | undefined;
  if (props) for (const [k, v] of Object.entries(props)) yield* nodes(v, path === '' ? k : `${path}.${k}`);
  if (s.items) yield* nodes(s.items, `${path}[]`);
  if (typeof s.additionalProperties === 'object') yield* nodes(s.additionalProperties, `${path}{}`);
}

describe('generated CRDs', () => {
  it.each(crds)('%s has a structural schema', (_kind, crd) => {
    const schema = crd.spec.versions[0]!.schema.openAPIV3Schema;
    expect(structuralProblems(schema)).toEqual([]);
    expect(JSON.stringify(schema)).not.toContain('$ref');
    expect(JSON.stringify(schema)).not.toContain('x-tabby-');
    for (const [path, n] of nodes(schema)) {
      const typed = typeof n.type === 'string' || n['x-kubernetes-int-or-string'] === true;
      expect(typed, `${path} has a type`).toBe(true);
    }
  });

  it.each(crds)('%s is cluster-scoped, in the calico and tabby categories, one served storage version', (_k, crd) => {
    expect(crd.spec.scope).toBe('Cluster');
    expect(crd.spec.names.categories).toEqual(['calico', 'tabby']);
    expect(crd.spec.versions).toHaveLength(1);
    expect(crd.spec.versions[0]).toMatchObject({ served: true, storage: true });
    expect(crd.metadata.name).toBe(`${crd.spec.names.plural}.${crd.spec.group}`);
  });

  it.each(KINDS.map((k) => [k.kind, k] as const))(
    '%s carries every spec and status field of its zod schema, each documented for kubectl explain',
    (_kind, def) => {
      // Read from the zod object shapes directly, not through the JSON Schema conversion the generator uses: a CRD
      // that lost its spec, its status or a field fails here.
      const shape = zodShape(def.schema);
      expect(Object.keys(shape)).toContain('spec'); // every kind of Calico's and ours has a spec
      const props = generateCrd(def).spec.versions[0]!.schema.openAPIV3Schema.properties as Json;
      for (const part of ['spec', 'status'] as const) {
        if (shape[part] === undefined) {
          expect(props[part], part).toBeUndefined();
          continue;
        }
        const crdPart = props[part] as Json | undefined;
        expect(crdPart, part).toMatchObject({ type: 'object' });
        const fields = (crdPart!.properties ?? {}) as Json;
        expect(Object.keys(fields).sort(), part).toEqual(Object.keys(zodShape(shape[part])).sort());
        for (const [name, f] of Object.entries(fields)) {
          expect((f as Json).description, `${part}.${name}`).toEqual(expect.any(String));
        }
      }
    },
  );

  it.each(crds)('%s bounds every string and list a CEL rule reads (CEL cost budget)', (_kind, crd) => {
    for (const [path, n] of nodes(crd.spec.versions[0]!.schema.openAPIV3Schema)) {
      const rules = n['x-kubernetes-validations'] as { rule: string; message: string }[] | undefined;
      if (rules === undefined) continue;
      for (const r of rules) expect(r.message.length, `${path}: ${r.rule}`).toBeGreaterThan(0);
      if (n.type === 'string') expect(n.maxLength, `${path} maxLength`).toEqual(expect.any(Number));
      if (n.type === 'object') {
        for (const [child, c] of Object.entries((n.properties ?? {}) as Json)) {
          const cj = c as Json;
          const read = rules.some((r) => r.rule.includes(`self.${child}`));
          if (read && cj.type === 'string' && cj.enum === undefined)
            expect(cj.maxLength, `${path}.${child} maxLength`).toEqual(expect.any(Number));
          if (read && cj.type === 'array') expect(cj.maxItems, `${path}.${child} maxItems`).toEqual(expect.any(Number));
        }
      }
    }
  });

  it('gives every rule message the field it is about', () => {
    const kindsWithRules = new Set<string>();
    for (const [kind, crd] of crds) {
      for (const [path, n] of nodes(crd.spec.versions[0]!.schema.openAPIV3Schema)) {
        for (const r of (n['x-kubernetes-validations'] ?? []) as { message: string; fieldPath?: string }[]) {
          kindsWithRules.add(kind);
          expect(r.message, `${kind} ${path}`).toMatch(/(spec|metadata)\.[a-zA-Z]+|^(min|max) /);
        }
      }
    }
    // These kinds carry CEL rules (our parse's checks, repeated for the apiserver): the loop must have seen them.
    for (const kind of ['IPPool', 'BGPConfiguration', 'BGPPeer', 'FelixConfiguration', 'IPAMConfiguration']) {
      expect(kindsWithRules, kind).toContain(kind);
    }
  });

  it('keeps status in a subresource for the kinds that have one', () => {
    const withStatus = crds.filter(([, c]) => c.spec.versions[0]!.subresources !== undefined).map(([k]) => k);
    expect(withStatus).toEqual(['IPPool', 'NodeDataplane', 'RouteTable']);
  });

  it('uses Calico short names where Calico has them', () => {
    const short = Object.fromEntries(crds.map(([k, c]) => [k, c.spec.names.shortNames ?? []]));
    expect(short.BGPConfiguration).toEqual(['bgpconfig', 'bgpconfigs']);
    expect(short.BlockAffinity).toEqual(['affinity', 'affinities']);
    expect(short.IPAMConfiguration).toEqual(['ipamconfig', 'ipamconfigs']);
    expect(short.FelixConfiguration).toEqual(['felixconfig', 'felixconfigs']);
    const all = Object.values(short).flat();
    expect(new Set(all).size).toBe(all.length);
  });

  it('shows the IPPool columns calicoctl users expect', () => {
    const ipp = crds.find(([k]) => k === 'IPPool')![1].spec.versions[0]!.additionalPrinterColumns!;
    expect(ipp.map((c) => [String(c.name).toUpperCase(), c.priority ?? 0])).toEqual([
      ['CIDR', 0],
      ['BLOCKSIZE', 0],
      ['IPIP', 0],
      ['VXLAN', 0],
      ['NAT', 0],
      ['DISABLED', 0],
      ['BLOCKS', 0],
      ['USED', 1],
      ['ALLOCATABLE', 0],
      ['AGE', 0],
      ['SELECTOR', 1],
    ]);
    expect(ipp.find((c) => c.name === 'Allocatable')!.jsonPath).toBe(
      ".status.conditions[?(@.type=='Allocatable')].status",
    );
  });

  it('applies on the server only the defaults Calico CRDs (and our columns) rely on', () => {
    const defaults: string[] = [];
    for (const [kind, crd] of crds) {
      for (const [path, n] of nodes(crd.spec.versions[0]!.schema.openAPIV3Schema)) {
        if ('default' in n) defaults.push(`${kind}.${path}=${JSON.stringify(n.default)}`);
      }
    }
    expect(defaults.sort()).toEqual(
      [
        'BGPConfiguration.spec.logSeverityScreen="Info"',
        'BGPConfiguration.spec.serviceLoadBalancerAggregation="Enabled"',
        'BlockAffinity.spec.deleted=false',
        'IPAMConfiguration.spec.autoAllocateBlocks=true',
        'IPAMConfiguration.spec.maxBlocksPerHost=0',
        'IPAMConfiguration.spec.strictAffinity=false',
        'IPPool.spec.assignmentMode="Automatic"',
        'IPPool.spec.disabled=false',
        'IPPool.spec.ipipMode="Never"',
        'IPPool.spec.natOutgoing=false',
        'IPPool.spec.nodeSelector="all()"',
        'IPPool.spec.vxlanMode="Never"',
      ].sort(),
    );
  });

  it.each(crds)('%s keeps unknown Calico fields (preserve-unknown-fields on spec)', (_kind, crd) => {
    const spec = (crd.spec.versions[0]!.schema.openAPIV3Schema.properties as Json).spec as Json | undefined;
    expect(spec?.['x-kubernetes-preserve-unknown-fields']).toBe(true);
  });

  it('makes IPPool cidr and blockSize immutable with transition rules', () => {
    const spec = (openApiSchema(KINDS[0]).properties as Json).spec as Json;
    const cidr = (spec.properties as Json).cidr as Json;
    expect((cidr['x-kubernetes-validations'] as { rule: string }[]).map((r) => r.rule)).toContain('self == oldSelf');
    const specRules = (spec['x-kubernetes-validations'] as { rule: string; fieldPath?: string }[]).filter((r) =>
      r.rule.includes('oldSelf'),
    );
    expect(specRules.map((r) => r.fieldPath)).toEqual(['.blockSize']);
  });

  it('is deterministic and writes one file per kind with the header', () => {
    const a = generateCrdFiles();
    const b = generateCrdFiles();
    expect(a).toEqual(b);
    expect(a.map((f) => f.fileName)).toEqual(KINDS.map(crdFileName));
    for (const f of a) {
      expect(f.content.startsWith(CRD_HEADER)).toBe(true);
      expect(yaml.load(f.content)).toMatchObject({ kind: 'CustomResourceDefinition' });
    }
  });

  it('matches the committed crds/ folder (run `npm run crds` after changing a schema)', () => {
    const dir = fileURLToPath(new URL('../../crds/', import.meta.url));
    for (const f of generateCrdFiles()) {
      let committed: string;
      try {
        committed = readFileSync(dir + f.fileName, 'utf8');
      } catch {
        throw new Error(`crds/${f.fileName} is missing: run npm run crds`);
      }
      expect(committed, `crds/${f.fileName} is stale: run npm run crds`).toBe(f.content);
    }
  });
});
