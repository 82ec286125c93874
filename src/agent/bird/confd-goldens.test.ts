// Tabby's BIRD configuration against Calico's: every confd golden test listed in testdata/confd-cases.ts (75 goldens:
// mesh, explicit peerings, route reflectors, BGPFilters, TTL security, next hop, reachableBy, local AS, passwords,
// restart times, communities, service advertisement, ignored interfaces, reverse peerings, route priorities) is
// rendered from the same input files through Tabby's whole path — input reader, snapshot, planner, agent renderer —
// and compared, family by family, with the golden's model (testdata/bird-model.ts; the goldens are read from a Calico
// checkout by scripts/confd-goldens.ts). Calico's input is its own: projectcalico.org/v3 Nodes become Kubernetes
// Nodes with Calico's annotations, as calico-node writes them; the tests' block affinities become BlockAffinities.
// What Tabby does differently on purpose is listed in DIFFERENCES and applied to the golden, never to Tabby's output.
import { readFileSync } from 'node:fs';
import yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { readInputs } from '../../api/reader.js';
import { cidrContainsCidr, parseCidr } from '../../net/index.js';
import { planCluster } from '../../plan/pipeline.js';
import { type InputKindObject, snapshotFromObjects } from '../../plan/snapshot-from-objects.js';
import { renderBirdConfig, secretRefKey } from './bird-config.js';
import { type FamilyModel, modelFromTabby } from './testdata/bird-model.js';
import { CONFD_CASES, type ConfdCase, type Obj, STANDARD_AFFINITIES } from './testdata/confd-cases.js';

interface Fixture {
  source: string;
  inputs: Record<string, string>;
  goldens: Record<string, { v4: FamilyModel; v6: FamilyModel }>;
}

const fixture = JSON.parse(readFileSync(new URL('./testdata/confd-goldens.json', import.meta.url), 'utf8')) as Fixture;

/**
 * Differences from confd that are Tabby's design, applied to the golden model:
 * - A block outside every IPPool has no pool type, so Tabby plans no route for it and BIRD does not announce it
 *   (confd announces every affine block). The tests' standard affinities 10.0.0.0/30, 10.1.0.0/24 and 10.2.0.1/32
 *   lie outside their pools.
 * - Tabby writes the functions of the BGPFilters a node's sessions call, not of every BGPFilter in the cluster: a
 *   filter change then rewrites only the nodes that use it. Functions no session calls are left out of the golden.
 */
const DIFFERENCES = 'blocks outside every pool; BGPFilter functions no session calls';

function expectedFrom(golden: FamilyModel, pools: string[]): FamilyModel {
  const inPool = (cidr: string) => {
    const c = parseCidr(cidr);
    return pools.some((p) => {
      const pc = parseCidr(p);
      return pc.family === c.family && cidrContainsCidr(pc, c);
    });
  };
  const blockOf = (line: string) => /net = (\S+) \)|net ~ (\S+) /.exec(line);
  const ownBlocks = new Set(
    golden.aggregation.map((l) => blockOf(l)?.[1] ?? blockOf(l)?.[2]).filter((b): b is string => b !== undefined),
  );
  const called = new Set(
    Object.values(golden.sessions).flatMap((s) => [...s.import.calls, ...s.export.calls].map((c) => c.split('(')[0])),
  );
  return {
    ...golden,
    staticRoutes: golden.staticRoutes.filter((l) => {
      const cidr = /^route (\S+) blackhole;$/.exec(l)?.[1];
      return cidr === undefined || !ownBlocks.has(cidr) || inPool(cidr);
    }),
    aggregation: golden.aggregation.filter((l) => {
      const m = blockOf(l);
      const cidr = m?.[1] ?? m?.[2];
      return cidr === undefined || inPool(cidr);
    }),
    filterFunctions: Object.fromEntries(Object.entries(golden.filterFunctions).filter(([name]) => called.has(name))),
  };
}

/** calico-node's view of a projectcalico.org/v3 Node: a Kubernetes Node with Calico's annotations. */
function kubernetesNode(o: Obj): Obj {
  const bgp = ((o.spec as Record<string, unknown> | undefined)?.bgp ?? {}) as Record<string, unknown>;
  const annotations: Record<string, string> = {};
  const put = (field: string, key: string) => {
    if (typeof bgp[field] === 'string' || typeof bgp[field] === 'number') annotations[key] = String(bgp[field]);
  };
  put('ipv4Address', 'projectcalico.org/IPv4Address');
  put('ipv6Address', 'projectcalico.org/IPv6Address');
  put('asNumber', 'projectcalico.org/ASNumber');
  put('routeReflectorClusterID', 'projectcalico.org/RouteReflectorClusterID');
  // Calico's test rig reads its YAML as YAML 1.1, where `route-reflector: yes` is the boolean true.
  const yaml11 = (v: unknown) =>
    /^(yes|on|true)$/i.test(String(v)) ? 'true' : /^(no|off|false)$/i.test(String(v)) ? 'false' : String(v);
  const labels = Object.fromEntries(
    Object.entries((o.metadata as { labels?: Record<string, unknown> }).labels ?? {}).map(([k, v]) => [k, yaml11(v)]),
  );
  return { apiVersion: 'v1', kind: 'Node', metadata: { name: o.metadata.name, labels, annotations } };
}

function objectsOf(c: ConfdCase): Obj[] {
  const byKey = new Map<string, Obj>();
  for (const path of c.inputs) {
    const text = fixture.inputs[path];
    if (text === undefined) throw new Error(`${path} is not in confd-goldens.json: run scripts/confd-goldens.ts`);
    for (const doc of yaml.loadAll(text)) {
      if (doc === null || doc === undefined) continue;
      const o = doc as Obj;
      // kubectl status never reaches the apiserver in Calico's test rig (kubectl-input.yaml says so).
      const { status: _status, ...rest } = o as Obj & { status?: unknown };
      const obj = (o.kind === 'Node' && o.apiVersion === 'projectcalico.org/v3' ? kubernetesNode(o) : rest) as Obj;
      byKey.set(`${obj.kind}/${obj.metadata.name}`, obj);
    }
  }
  let objects = [...byKey.values()];
  if (c.edit) objects = c.edit(objects);
  if (c.affinities ?? true) {
    for (const a of STANDARD_AFFINITIES) {
      objects.push({
        apiVersion: 'projectcalico.org/v3',
        kind: 'BlockAffinity',
        metadata: { name: `kube-master-${a.cidr.replace('/', '-')}` },
        spec: { node: 'kube-master', cidr: a.cidr, state: a.state, deleted: false },
      });
    }
  }
  return objects;
}

function render(c: ConfdCase) {
  const objects = objectsOf(c);
  const read = readInputs([{ name: c.golden, content: objects.map((o) => yaml.dump(o)).join('---\n') }]);
  expect(read.issues.map((i) => i.message)).toEqual([]);
  expect(read.skipped).toEqual([]);
  const { snapshot, issues } = snapshotFromObjects(read.objects.map((o) => o.object as InputKindObject));
  expect(issues).toEqual([]);
  const plan = planCluster(snapshot);
  const node = c.node ?? 'kube-master';
  const desired = plan.nodes.get(node);
  if (!desired) throw new Error(`no plan for ${node}`);
  const passwords = new Map<string, string>();
  for (const [name, data] of Object.entries(c.secrets ?? {})) {
    for (const [key, value] of Object.entries(data)) passwords.set(secretRefKey({ name, key }), value);
  }
  const viewNodes = [...plan.routeTables.values()].flatMap((t) => t.nodes ?? []);
  const cfg = renderBirdConfig({ nodeName: node, desired, viewNodes, passwords });
  return { cfg, pools: snapshot.pools.map((p) => p.cidr) };
}

describe(`BIRD configuration equals confd's goldens (${fixture.source}; by design: ${DIFFERENCES})`, () => {
  it('covers every golden the manifest names', () => {
    expect(Object.keys(fixture.goldens).sort()).toEqual(CONFD_CASES.map((c) => c.golden).sort());
    expect(CONFD_CASES.length).toBe(75);
  });

  it.each(CONFD_CASES.map((c) => [c.golden, c] as const))('%s', (golden, c) => {
    const { cfg, pools } = render(c);
    // A Secret the test had not created yet leaves the session without a password, as in confd; nothing else.
    expect(cfg.issues.filter((i) => !/is not available; session has no password/.test(i.message))).toEqual([]);
    const want = fixture.goldens[golden];
    if (!want) throw new Error(`${golden} is not in confd-goldens.json`);
    for (const family of [4, 6] as const) {
      const expected = expectedFrom(family === 4 ? want.v4 : want.v6, pools);
      const actual = modelFromTabby(cfg.text, family);
      if (expected.disabled) {
        expect(actual.disabled, `IPv${family} disabled`).toBe(true);
        expect(actual.sessions, `IPv${family} sessions`).toEqual({});
        continue;
      }
      expect(actual, `IPv${family}`).toEqual(expected);
    }
  });
});
