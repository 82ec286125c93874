import { describe, expect, it } from 'vitest';
import { convertCalicoV1, formatInputIssue, readInputs } from './reader.js';

const file = (name: string, content: string) => ({ name, content });

// calico-user-view.md §2.2: the default pool as `kubectl get ippools.crd.projectcalico.org -o yaml` shows it on a
// v3.24 cluster (allowedUses spelled as Calico writes it).
const V1_TUTORIAL_POOL = `apiVersion: crd.projectcalico.org/v1
kind: IPPool
metadata:
  annotations:
    projectcalico.org/metadata: '{"uid":"d756dce9-6384-427d-bfa6-35ffa4625640","creationTimestamp":"2023-07-11T10:05:42Z"}'
  creationTimestamp: "2023-07-11T10:05:43Z"
  generation: 1
  name: default-ipv4-ippool
  resourceVersion: "4403"
  uid: fa62275f-ccc6-4a61-97d9-809605c5a89d
spec:
  allowedUses:
  - Workload
  - Tunnel
  blockSize: 26
  cidr: 10.244.0.0/16
  ipipMode: Always
  natOutgoing: true
  nodeSelector: all()
  vxlanMode: Never
`;

describe('readInputs', () => {
  it('reads multi-document YAML in order, skipping empty documents but counting them', () => {
    const r = readInputs([
      file(
        'pools.yaml',
        `---
apiVersion: projectcalico.org/v3
kind: IPPool
metadata: {name: a}
spec: {cidr: 10.0.0.0/16}
---
---
apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata: {name: default}
spec: {asNumber: 64512}
`,
      ),
    ]);
    expect(r.issues).toEqual([]);
    expect(r.objects.map((o) => [o.object.kind, o.object.metadata.name, o.source.document])).toEqual([
      ['IPPool', 'a', 1],
      ['BGPConfiguration', 'default', 3],
    ]);
  });

  it('expands a v1 List as kubectl get -o yaml prints it', () => {
    const r = readInputs([
      file(
        'dump.yaml',
        `apiVersion: v1
kind: List
items:
- apiVersion: projectcalico.org/v3
  kind: IPPool
  metadata: {name: a}
  spec: {cidr: 10.0.0.0/16}
- apiVersion: projectcalico.org/v3
  kind: IPPool
  metadata: {name: b}
  spec: {cidr: 10.1.0.0/16, blockSize: 40}
metadata: {resourceVersion: ""}
`,
      ),
    ]);
    expect(r.objects.map((o) => [o.object.metadata.name, o.source.item])).toEqual([['a', 1]]);
    expect(r.issues.map(formatInputIssue)).toEqual([
      'dump.yaml (document 1, item 2): IPPool b: spec.blockSize: must be 20..32 for an IPv4 pool (got 40)',
    ]);
  });

  it('reads JSON too', () => {
    const r = readInputs([
      file(
        'p.json',
        JSON.stringify({
          apiVersion: 'projectcalico.org/v3',
          kind: 'IPPool',
          metadata: { name: 'j' },
          spec: { cidr: 'fd00::/48' },
        }),
      ),
    ]);
    expect(r.objects[0]?.object.spec).toMatchObject({ blockSize: 122 });
  });

  it('names file, document, kind, name and field in every error', () => {
    const r = readInputs([
      file(
        'a.yaml',
        'apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata: {name: tor}\nspec: {peerIP: 10.0.0.1:0, asNumber: 1}\n',
      ),
      file('b.yaml', '---\n- just\n- a list\n'),
      file('c.yaml', 'apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: x}\nspec: {cidr: [unclosed\n'),
    ]);
    expect(r.issues.map(formatInputIssue)).toEqual([
      'a.yaml (document 1): BGPPeer tor: spec.peerIP: must be <IPv4>, <IPv4>:<port>, <IPv6> or [<IPv6>]:<port> (port 1..65535) (got "10.0.0.1:0")',
      'b.yaml (document 1): (not an object) (unnamed): document must be a YAML mapping',
      expect.stringMatching(/^c\.yaml: not valid YAML at line 5: /),
    ]);
  });

  it('passes core Nodes, Pods, Namespaces and Secrets through and reports other kinds as skipped', () => {
    const r = readInputs([
      file(
        'cluster.yaml',
        `apiVersion: v1
kind: Node
metadata:
  name: node-1
  annotations: {projectcalico.org/IPv4Address: 192.168.0.11/24}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: default}
spec: {nodeName: node-1}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: calico-config, namespace: kube-system}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: deny}
`,
      ),
    ]);
    expect(r.issues).toEqual([]);
    expect(r.objects.map((o) => `${o.object.kind}/${o.object.metadata.name}`)).toEqual(['Node/node-1', 'Pod/web']);
    expect(r.skipped.map((s) => `${s.apiVersion} ${s.kind}/${s.name}`)).toEqual([
      'v1 ConfigMap/calico-config',
      'projectcalico.org/v3 GlobalNetworkPolicy/deny',
    ]);
  });
});

describe('Calico v1 (crd.projectcalico.org) input', () => {
  it('converts the tutorial default pool, taking metadata from the projectcalico.org/metadata annotation', () => {
    const r = readInputs([file('pool.yaml', V1_TUTORIAL_POOL)]);
    expect(r.issues).toEqual([]);
    const o = r.objects[0]!;
    expect(o.converted).toBe(true);
    expect(o.object).toEqual({
      apiVersion: 'projectcalico.org/v3',
      kind: 'IPPool',
      metadata: { name: 'default-ipv4-ippool', creationTimestamp: '2023-07-11T10:05:42Z' },
      spec: {
        allowedUses: ['Workload', 'Tunnel'],
        assignmentMode: 'Automatic',
        blockSize: 26,
        cidr: '10.244.0.0/16',
        disableBGPExport: false,
        disabled: false,
        ipipMode: 'Always',
        natOutgoing: true,
        nodeSelector: 'all()',
        vxlanMode: 'Never',
      },
    });
  });

  it('merges labels and annotations from the annotation over the v1 ones', () => {
    const { object, issues } = convertCalicoV1({
      apiVersion: 'crd.projectcalico.org/v1',
      kind: 'BGPPeer',
      metadata: {
        name: 'tor',
        labels: { 'projectcalico.org/owned': 'x' },
        annotations: {
          other: 'kept',
          'projectcalico.org/metadata': '{"labels":{"rack":"a"},"annotations":{"note":"from v3"}}',
        },
      },
      spec: { peerIP: '10.0.0.1', asNumber: 64512 },
    });
    expect(issues).toEqual([]);
    expect(object.metadata).toEqual({
      name: 'tor',
      labels: { 'projectcalico.org/owned': 'x', rack: 'a' },
      annotations: { other: 'kept', note: 'from v3' },
    });
  });

  it.each([
    ['ipip enabled always', { ipip: { enabled: true } }, { ipipMode: 'Always' }],
    ['ipip cross-subnet', { ipip: { enabled: true, mode: 'cross-subnet' } }, { ipipMode: 'CrossSubnet' }],
    ['ipip disabled', { ipip: { enabled: false, mode: 'always' } }, { ipipMode: 'Never' }],
    ['ipipMode wins over ipip', { ipip: { enabled: true }, ipipMode: 'Never' }, { ipipMode: 'Never' }],
    ['nat-outgoing', { 'nat-outgoing': true }, { natOutgoing: true }],
    ['empty mode strings mean Never', { ipipMode: '', vxlanMode: '' }, { ipipMode: 'Never', vxlanMode: 'Never' }],
  ] as const)('converts APIv1 pool fields: %s', (_name, fields, expected) => {
    const r = readInputs([
      file(
        'p.yaml',
        JSON.stringify({
          apiVersion: 'crd.projectcalico.org/v1',
          kind: 'IPPool',
          metadata: { name: 'p' },
          spec: { cidr: '10.0.0.0/16', ...fields },
        }),
      ),
    ]);
    expect(r.issues).toEqual([]);
    const spec = r.objects[0]!.object.spec as Record<string, unknown>;
    expect(spec).toMatchObject(expected);
    expect(spec).not.toHaveProperty('ipip');
    expect(spec).not.toHaveProperty('nat-outgoing');
  });

  it('converts IPAMConfig to IPAMConfiguration', () => {
    const r = readInputs([
      file(
        'ipam.yaml',
        `apiVersion: crd.projectcalico.org/v1
kind: IPAMConfig
metadata: {name: default}
spec: {autoAllocateBlocks: true, strictAffinity: false, maxBlocksPerHost: 0}
`,
      ),
    ]);
    expect(r.issues).toEqual([]);
    expect(r.objects[0]!.object).toMatchObject({ apiVersion: 'projectcalico.org/v3', kind: 'IPAMConfiguration' });
  });

  it('turns the v1 string "deleted" of a BlockAffinity into a boolean', () => {
    const r = readInputs([
      file(
        'aff.yaml',
        `apiVersion: crd.projectcalico.org/v1
kind: BlockAffinity
metadata: {name: node-1-10-244-1-0-26}
spec: {cidr: 10.244.1.0/26, deleted: "false", node: node-1, state: confirmed}
`,
      ),
    ]);
    expect(r.issues).toEqual([]);
    expect(r.objects[0]!.object.spec).toMatchObject({ deleted: false, type: 'host' });
  });

  it.each([
    [
      'an annotation that is not JSON',
      { annotations: { 'projectcalico.org/metadata': '{nope' } },
      {},
      'metadata.annotations["projectcalico.org/metadata"]',
    ],
    ['a deleted flag that is not a boolean string', {}, { deleted: 'maybe' }, 'spec.deleted'],
  ] as const)('reports %s with the field', (_name, meta, spec, path) => {
    const kind = 'deleted' in spec ? 'BlockAffinity' : 'IPPool';
    const r = readInputs([
      file(
        'x.yaml',
        JSON.stringify({
          apiVersion: 'crd.projectcalico.org/v1',
          kind,
          metadata: { name: 'obj', ...meta },
          spec: { cidr: '10.0.0.0/26', node: 'n', state: 'confirmed', ...spec },
        }),
      ),
    ]);
    expect(r.objects).toEqual([]);
    expect(r.issues.map(formatInputIssue)).toEqual([
      expect.stringContaining(`x.yaml (document 1): ${kind} obj: ${path}: `),
    ]);
  });

  it('validates the converted object like any other', () => {
    const r = readInputs([
      file(
        'bad.yaml',
        V1_TUTORIAL_POOL.replace('ipipMode: Always', 'ipipMode: Always\n  vxlanMode: Always').replace(
          '  vxlanMode: Never\n',
          '',
        ),
      ),
    ]);
    expect(r.issues.map(formatInputIssue)).toEqual([
      'bad.yaml (document 1): IPPool default-ipv4-ippool: spec.vxlanMode: ipipMode and vxlanMode cannot both be enabled',
    ]);
  });
});
