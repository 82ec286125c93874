// `tabby render`: the examples/ clusters against the tables derived by hand from Calico's rules
// (hand-derived-routes.txt) and against their goldens (expected-routes.txt, the exact output, rewritten only by
// `npm run goldens`, never by a test); output that validates against our own API; bad input that fails whole,
// naming file, object and field.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import type { InputFile } from '../api/reader.js';
import { validateObject } from '../api/validate.js';
import { renderFiles } from './render-command.js';

const EXAMPLES = join(import.meta.dirname, '..', '..', 'examples');
const examples = readdirSync(EXAMPLES, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .sort();

function filesOf(dir: string): InputFile[] {
  return readdirSync(dir)
    .filter((f) => /\.(ya?ml|json)$/.test(f))
    .sort()
    .map((f) => ({ name: join(dir, f), content: readFileSync(join(dir, f), 'utf8') }));
}

/**
 * Route lines per node of a routes table: `# node <name>` starts a node, other `#` lines and trailing `# ...`
 * comments (the reasoning in hand-derived tables) are dropped. Sorted: the hand derivation fixes content, the golden
 * fixes order.
 */
function routesByNode(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const node = /^# node (\S+)$/.exec(line);
    if (node) out.set(node[1]!, (current = []));
    else if (line === '' || line.startsWith('#')) continue;
    else if (current === undefined) throw new Error(`route before any "# node" line: ${line}`);
    else current.push(line.replace(/\s+#.*$/, ''));
  }
  for (const lines of out.values()) lines.sort();
  return out;
}

describe('render examples/', () => {
  it('has examples', () => {
    expect(examples.length).toBeGreaterThanOrEqual(4);
  });

  it.each(examples)("%s renders the routes derived by hand from Calico's rules", (name) => {
    const dir = join(EXAMPLES, name);
    const out = renderFiles(filesOf(dir), { format: 'routes' });
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    const oracle = join(dir, 'hand-derived-routes.txt');
    expect(existsSync(oracle), `${oracle} missing: derive it by hand (examples/README.md)`).toBe(true);
    const want = routesByNode(readFileSync(oracle, 'utf8'));
    expect(want.size).toBeGreaterThanOrEqual(3);
    for (const [node, lines] of want) expect(lines.length, `${name}: routes of ${node}`).toBeGreaterThan(0);
    expect(routesByNode(out.stdout)).toEqual(want);
  });

  it.each(examples)('%s renders exactly its golden table (npm run goldens rewrites it)', (name) => {
    const dir = join(EXAMPLES, name);
    const out = renderFiles(filesOf(dir), { format: 'routes' });
    const golden = join(dir, 'expected-routes.txt');
    expect(existsSync(golden), `${golden} missing: run npm run goldens and review it`).toBe(true);
    expect(out.stdout).toBe(readFileSync(golden, 'utf8'));
  });

  it.each(examples)('%s: json output is NodeDataplanes and RouteTables that validate against our API', (name) => {
    const out = renderFiles(filesOf(join(EXAMPLES, name)), { format: 'json' });
    expect(out.code).toBe(0);
    const list = JSON.parse(out.stdout) as { kind: string; items: unknown[] };
    expect(list.kind).toBe('List');
    const kinds = new Set<string>();
    for (const item of list.items) {
      const v = validateObject(item);
      expect(v.ok ? [] : v.issues).toEqual([]);
      if (v.ok) kinds.add(v.object.kind);
    }
    expect([...kinds].sort()).toEqual(['NodeDataplane', 'RouteTable']);
  });

  it('--node narrows the output; --explain adds the reason; yaml equals json', () => {
    const files = filesOf(join(EXAMPLES, 'vxlan-cross-subnet'));
    const out = renderFiles(files, { format: 'routes', node: 'node02', explain: true });
    expect(out.stdout.split('\n')[0]).toBe('# node node02');
    expect(out.stdout).not.toContain('# node master01');
    expect(out.stdout).toContain(
      '10.244.53.64/26 via 10.0.1.204  # vxlan-cross-subnet-direct: pool default-ipv4-ippool, block 10.244.53.64/26, node node03',
    );
    const asJson = JSON.parse(renderFiles(files, { format: 'json', node: 'node02' }).stdout) as unknown;
    const asYaml = yaml.load(renderFiles(files, { format: 'yaml', node: 'node02' }).stdout);
    expect(asYaml).toEqual(asJson);
  });
});

describe('render rejects bad input whole', () => {
  const pool = `apiVersion: projectcalico.org/v3
kind: IPPool
metadata: {name: p}
spec: {cidr: 10.244.0.0/16, ipipMode: Always}
`;
  const node = (name: string, annotation = '10.0.0.11/24') => `---
apiVersion: v1
kind: Node
metadata:
  name: ${name}
  annotations: {projectcalico.org/IPv4Address: ${annotation}}
`;

  it.each([
    {
      name: 'an unknown kind',
      files: [
        { name: 'c.yaml', content: `${pool}---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n` },
      ],
      want: ['c.yaml (document 2): Deployment web: kind: render does not read apps/v1 Deployment'],
    },
    {
      name: 'a node without an address',
      files: [{ name: 'n.yaml', content: `${pool}---\napiVersion: v1\nkind: Node\nmetadata: {name: bare}\n` }],
      want: ['n.yaml (document 2): Node bare: metadata.annotations["projectcalico.org/IPv4Address"]: is required'],
    },
    {
      name: 'a malformed node address',
      files: [{ name: 'n.yaml', content: pool + node('a', '10.0.0.300/24') }],
      want: [
        'n.yaml (document 2): Node a: metadata.annotations["projectcalico.org/IPv4Address"]: ' +
          `must be the node's address with its subnet's prefix length, e.g. 192.168.0.11/24 (got "10.0.0.300/24")`,
      ],
    },
    {
      name: 'a block outside every pool',
      files: [
        {
          name: 'b.yaml',
          content: `${pool + node('a')}---
apiVersion: projectcalico.org/v3
kind: BlockAffinity
metadata: {name: a-10-99-0-0-26}
spec: {node: a, cidr: 10.99.0.0/26, state: confirmed}
---
apiVersion: projectcalico.org/v3
kind: IPAMBlock
metadata: {name: 10-99-1-0-30}
spec: {cidr: 10.99.1.0/30, affinity: "host:a", allocations: [null, null, null, null], unallocated: [0, 1, 2, 3], attributes: []}
`,
        },
      ],
      want: ['b.yaml (document 4): IPAMBlock 10-99-1-0-30: spec.cidr: 10.99.1.0/30 is not inside any IPPool'],
    },
    {
      name: 'an invalid Calico object',
      files: [
        {
          name: 'p.yaml',
          content: `apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: p}\nspec: {cidr: 10.244.0.0/16, ipipMode: always}\n${node('a')}`,
        },
      ],
      want: ['p.yaml (document 1): IPPool p: spec.ipipMode:'],
    },
    {
      name: 'broken YAML',
      files: [{ name: 'y.yaml', content: 'kind: [unclosed\n' }],
      want: ['y.yaml'],
    },
    {
      name: 'no nodes',
      files: [{ name: 'p.yaml', content: pool }],
      want: ['no Node objects in the input'],
    },
  ])('$name: exit 1, no table, error names file, object and field', ({ files, want }) => {
    const out = renderFiles(files, { format: 'routes' });
    expect(out.code).toBe(1);
    expect(out.stdout).toBe('');
    for (const w of want) expect(out.stderr).toContain(w);
  });

  it('an unknown --node is an error', () => {
    const out = renderFiles([{ name: 'c.yaml', content: pool + node('a') }], { format: 'routes', node: 'nope' });
    expect(out).toMatchObject({ code: 1, stdout: '' });
    expect(out.stderr).toContain('--node nope: no Node of that name');
  });
});

describe('render --format bird: the agent BIRD configuration from Calico objects, Services included', () => {
  const manifests = `
apiVersion: projectcalico.org/v3
kind: IPPool
metadata: {name: pool}
spec: {cidr: 10.244.0.0/16}
---
apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata: {name: default}
spec:
  serviceClusterIPs: [{cidr: 10.96.0.0/12}]
---
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata: {name: tor}
spec: {peerIP: 10.0.0.254, asNumber: 65000, filters: [no-pods]}
---
apiVersion: projectcalico.org/v3
kind: BGPFilter
metadata: {name: no-pods}
spec:
  exportV4: [{action: Reject, matchOperator: In, cidr: 10.244.0.0/16}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec: {type: LoadBalancer, clusterIP: 10.96.0.10, externalTrafficPolicy: Local}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-1, namespace: shop, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
endpoints: [{addresses: [10.244.1.5], nodeName: b}]
---
apiVersion: v1
kind: Node
metadata: {name: a, annotations: {projectcalico.org/IPv4Address: 10.0.0.11/24}}
---
apiVersion: v1
kind: Node
metadata: {name: b, annotations: {projectcalico.org/IPv4Address: 10.0.0.12/24}}
`;
  it('the Service address is a static route on the node with its endpoint only; the filter is called by the peer', () => {
    const bird = (n: string) => renderFiles([{ name: 'c.yaml', content: manifests }], { format: 'bird', node: n });
    const a = bird('a');
    const b = bird('b');
    expect(a.stderr).toBe('');
    expect(b.stderr).toBe('');
    expect(b.stdout).toContain('  route 10.96.0.10/32 blackhole;');
    expect(a.stdout).not.toContain('10.96.0.10/32');
    for (const out of [a.stdout, b.stdout]) {
      expect(out).toContain('  route 10.96.0.0/12 blackhole;');
      expect(out).toContain(
        "function 'bgp_no-pods_exportFilterV4'() {\n  if ((net ~ 10.244.0.0/16)) then { reject; }\n}",
      );
      expect(out).toContain("      'bgp_no-pods_exportFilterV4'();\n      calico_export_to_bgp_peers(false);");
    }
  });
});
