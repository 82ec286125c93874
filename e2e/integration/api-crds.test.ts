// The generated CRDs against a real kube-apiserver: they install and become Established; the validation matrix of
// src/api/testdata/cases.ts gives the same verdicts through `kubectl apply` (the CRD's OpenAPI + CEL rules) as
// through our zod schemas, with the field named; Calico's validator vectors pass or fail the CRD as they do
// Calico's; every CEL rule of every CRD refuses at least one of those objects (its message is in a refusal);
// kubectl's table, wide table, explain and categories show what a Calico user expects; transition rules keep IPPool
// cidr/blockSize immutable; unknown Calico fields survive.
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startControlPlane, type ControlPlane } from '../harness/index.js';
import { generateCrd, openApiSchema } from '../../src/api/crd-gen.js';
import { IPPoolKind } from '../../src/api/ip-pool.js';
import { KINDS } from '../../src/api/kinds.js';
import { CALICO_CASES } from '../../src/api/testdata/calico-validator-cases.js';
import { INVALID, VALID } from '../../src/api/testdata/cases.js';
import { formatIssue } from '../../src/api/errors.js';
import { validateObject } from '../../src/api/validate.js';

const CRD_DIR = fileURLToPath(new URL('../../crds/', import.meta.url));

let cp: ControlPlane;
/** Every refusal's message, for the check that each CEL rule refused something. */
const refusals: string[] = [];

async function kubectl(args: string[], input?: string) {
  return cp.kubectl(args, input === undefined ? {} : { input });
}

async function apply(obj: unknown) {
  return kubectl(['apply', '-f', '-'], JSON.stringify(obj));
}

function pluralOf(kind: string): string {
  const def = KINDS.find((k) => k.kind === kind);
  if (def === undefined) throw new Error(`no kind ${kind}`);
  return `${def.plural}.${def.group}`;
}

/** The header and data lines of a kubectl table, each split on runs of 2+ spaces (columns may be empty). */
function table(stdout: string): string[][] {
  return stdout
    .trimEnd()
    .split('\n')
    .map((l) => l.split(/\s{2,}/).map((c) => c.trim()));
}

const squash = (s: string) => s.replace(/\s+/g, ' ').trim();

beforeAll(async () => {
  cp = await startControlPlane({ name: 'api-crds' });
  const applied = await kubectl(['apply', '-f', CRD_DIR]);
  if (applied.code !== 0) throw new Error(`kubectl apply -f crds/ failed:\n${applied.stderr}`);
  const established = await kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd', '--all']);
  if (established.code !== 0) throw new Error(`CRDs not Established:\n${established.stderr}`);
});

afterAll(async () => {
  await cp?.stop();
});

describe('CRDs on a real kube-apiserver', () => {
  it('installs every kind and each is Established', async () => {
    const r = await kubectl(['get', 'crd', '-o', 'json']);
    expect(r.code).toBe(0);
    const items = (
      JSON.parse(r.stdout) as {
        items: { metadata: { name: string }; status: { conditions: { type: string; status: string }[] } }[];
      }
    ).items;
    for (const def of KINDS) {
      const crd = items.find((i) => i.metadata.name === `${def.plural}.${def.group}`);
      expect(crd, `${def.kind} CRD`).toBeDefined();
      expect(crd?.status.conditions.find((c) => c.type === 'Established')?.status, def.kind).toBe('True');
      expect(crd?.status.conditions.find((c) => c.type === 'NamesAccepted')?.status, def.kind).toBe('True');
    }
  });

  describe('valid objects are accepted and read back valid', () => {
    it.each(VALID.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
      const r = await apply(c.object);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const name = (c.object.metadata as { name: string }).name;
      const back = await kubectl(['get', pluralOf(String(c.object.kind)), name, '-o', 'json']);
      expect(back.code).toBe(0);
      const v = validateObject(JSON.parse(back.stdout));
      if (!v.ok) throw new Error(v.issues.map(formatIssue).join('\n'));
    });
  });

  describe('invalid objects are refused by the server, naming the field', () => {
    const serverCases = INVALID.filter((c) => c.clientOnly === undefined);
    it('covers most of the matrix on the server side', () => {
      expect(serverCases.length).toBeGreaterThanOrEqual(50);
    });
    it.each(serverCases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
      const r = await apply(c.object);
      refusals.push(r.stderr);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain('is invalid');
      expect(r.stderr).toContain(c.serverField ?? c.path);
    });
  });

  describe('client-only rules (the operator reports these) pass the CRD', () => {
    it.each(INVALID.filter((c) => c.clientOnly !== undefined).map((c) => [c.name, c] as const))(
      '%s',
      async (_name, c) => {
        const r = await apply(c.object);
        expect(r.stderr).toBe('');
        expect(r.code).toBe(0);
      },
    );
  });

  describe('kubectl UX', () => {
    it('prints the IPPool table like calicoctl get ippool -o wide', async () => {
      const pool = {
        apiVersion: 'projectcalico.org/v3',
        kind: 'IPPool',
        metadata: { name: 'ux-pool' },
        spec: { cidr: '10.250.0.0/16', blockSize: 26, ipipMode: 'Always', natOutgoing: true, nodeSelector: 'all()' },
      };
      expect((await apply(pool)).code).toBe(0);
      const status = {
        status: {
          used: '3/65536',
          allocatedIPs: 3,
          totalIPs: '65536',
          blocks: '1/1024',
          conditions: [
            {
              type: 'Allocatable',
              status: 'True',
              reason: 'OK',
              message: '',
              lastTransitionTime: '2026-01-01T00:00:00Z',
            },
          ],
        },
      };
      const patched = await kubectl([
        'patch',
        'ippool',
        'ux-pool',
        '--subresource=status',
        '--type=merge',
        '-p',
        JSON.stringify(status),
      ]);
      expect(patched.stderr).toBe('');

      const plain = table((await kubectl(['get', 'ippools', 'ux-pool'])).stdout);
      expect(plain[0]).toEqual([
        'NAME',
        'CIDR',
        'BLOCKSIZE',
        'IPIP',
        'VXLAN',
        'NAT',
        'DISABLED',
        'BLOCKS',
        'ALLOCATABLE',
        'AGE',
      ]);
      expect(plain[1]?.slice(0, 9)).toEqual([
        'ux-pool',
        '10.250.0.0/16',
        '26',
        'Always',
        'Never',
        'true',
        'false',
        '1/1024',
        'True',
      ]);

      const wide = table((await kubectl(['get', 'ippools', 'ux-pool', '-o', 'wide'])).stdout);
      expect(wide[0]).toEqual([
        'NAME',
        'CIDR',
        'BLOCKSIZE',
        'IPIP',
        'VXLAN',
        'NAT',
        'DISABLED',
        'BLOCKS',
        'USED',
        'ALLOCATABLE',
        'AGE',
        'SELECTOR',
      ]);
      expect(wide[1]?.[0]).toBe('ux-pool');
      expect(wide[1]?.at(-1)).toBe('all()');
    });

    it('explains ippool.spec.ipipMode with our description', async () => {
      const r = await kubectl(['explain', 'ippool.spec.ipipMode']);
      expect(r.code).toBe(0);
      const spec = (
        openApiSchema(IPPoolKind).properties as Record<string, { properties: Record<string, { description: string }> }>
      ).spec;
      const description = spec?.properties.ipipMode?.description ?? '(missing)';
      expect(squash(r.stdout)).toContain(squash(description));
      expect(r.stdout).toContain('CrossSubnet');
    });

    it('lists several kinds with kubectl get calico', async () => {
      const r = await kubectl(['get', 'calico']);
      expect(r.code).toBe(0);
      for (const prefix of [
        'ippool.projectcalico.org/',
        'bgpconfiguration.projectcalico.org/',
        'bgppeer.projectcalico.org/',
        'felixconfiguration.projectcalico.org/',
        'ipamblock.projectcalico.org/',
        'blockaffinity.projectcalico.org/',
        'ipamhandle.projectcalico.org/',
        'ipamconfiguration.projectcalico.org/',
        'nodedataplane.dataplane.tabby.dev/',
        'routetable.dataplane.tabby.dev/',
      ]) {
        expect(r.stdout).toContain(prefix);
      }
    });

    it('answers to Calico short names', async () => {
      for (const short of ['bgpconfig', 'affinities', 'ipamconfig', 'felixconfig']) {
        const r = await kubectl(['get', short]);
        expect(r.stderr, short).toBe('');
        expect(r.code, short).toBe(0);
      }
    });
  });

  describe('server behaviour', () => {
    it('fills the Calico CRD defaults and keeps unknown fields', async () => {
      const r = await kubectl(['get', 'ippool', 'future-field', '-o', 'json']);
      const spec = (JSON.parse(r.stdout) as { spec: Record<string, unknown> }).spec;
      expect(spec).toMatchObject({
        cidr: '10.31.0.0/24',
        ipipMode: 'Never',
        vxlanMode: 'Never',
        nodeSelector: 'all()',
        assignmentMode: 'Automatic',
        someFutureField: { enabled: true },
      });
    });

    it('refuses a changed IPPool cidr', async () => {
      const base = { apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: { name: 'immutable' } };
      expect((await apply({ ...base, spec: { cidr: '10.240.0.0/16' } })).code).toBe(0);
      const r = await apply({ ...base, spec: { cidr: '10.241.0.0/16' } });
      refusals.push(r.stderr);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain('spec.cidr');
    });

    it('refuses a changed effective blockSize but allows spelling out the default', async () => {
      const base = { apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: { name: 'immutable' } };
      expect((await apply({ ...base, spec: { cidr: '10.240.0.0/16', blockSize: 26 } })).code).toBe(0);
      const r = await apply({ ...base, spec: { cidr: '10.240.0.0/16', blockSize: 24 } });
      refusals.push(r.stderr);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain('spec.blockSize');
    });
  });

  describe("Calico's validator vectors through the CRD alone", () => {
    // Dry-run creates of Calico's names ('default', ...): the objects the tests above stored go first.
    beforeAll(async () => {
      const kinds = ['IPPool', 'BGPConfiguration', 'BGPPeer', 'BGPFilter', 'IPReservation', 'FelixConfiguration'];
      const r = await kubectl(['delete', kinds.map(pluralOf).join(','), '--all']);
      if (r.code !== 0) throw new Error(`deleting the stored objects: ${r.stderr}`);
    });
    // Calico's apiserver runs its CRD first: what Calico accepts ours must accept, what Calico's CRD refuses
    // (crdRefuses) ours refuses, except where Tabby differs on purpose (calico-validator-cases.ts says why). Calico's
    // other refusals need the webhook (webhook-admission.test.ts).
    it.each(CALICO_CASES.map((c, i) => [`${c.kind} #${i}: ${c.calico}`, c] as const))('%s', async (_l, c) => {
      const object = { apiVersion: 'projectcalico.org/v3', kind: c.kind, metadata: { name: c.name }, spec: c.spec };
      const r = await kubectl(['create', '--dry-run=server', '-f', '-'], JSON.stringify(object));
      if (r.code !== 0) refusals.push(r.stderr);
      const calicoApiserver = c.crdRefuses !== undefined ? false : c.valid;
      const tabbyAccepts = c.differs !== undefined ? !calicoApiserver : calicoApiserver;
      if (c.crdRefuses !== undefined && c.differs === undefined) {
        expect(r.code).not.toBe(0);
        expect(r.stderr).toContain('is invalid');
      } else if (tabbyAccepts) {
        expect(r.stderr).toBe('');
        expect(r.code).toBe(0);
      }
    });
  });

  // Runs after the refusals above (vitest runs a file's tests in order).
  describe('every CEL rule refused an object, naming its field', () => {
    const rules = KINDS.flatMap((def) =>
      celMessages(generateCrd(def).spec.versions[0]!.schema.openAPIV3Schema).map(
        (m) => [`${def.kind}: ${m}`, m] as const,
      ),
    );
    it('has rules to check', () => {
      expect(rules.length).toBeGreaterThanOrEqual(90);
    });
    it.each(rules)('%s', (_label, message) => {
      expect(refusals.some((r) => r.includes(message))).toBe(true);
    });
  });
});

/** The messages of every CEL rule in a CRD schema. */
function celMessages(node: unknown): string[] {
  if (Array.isArray(node)) return node.flatMap(celMessages);
  if (typeof node !== 'object' || node === null) return [];
  const out: string[] = [];
  for (const [k, v] of Object.entries(node)) {
    if (k === 'x-kubernetes-validations' && Array.isArray(v)) {
      out.push(...v.map((r: { message: string }) => r.message));
    } else out.push(...celMessages(v));
  }
  return out;
}
