// `tabby diff`'s computation on small clusters whose outcome is derived by hand from Calico's rules:
// - a node's first pod or tunnel address is its block's first free ordinal; a released ordinal goes to the back of
//   the free list (so after IPIP's .0 is released, VXLAN gets .1);
// - a VTEP's MAC is 0x66 followed by the first 5 bytes of sha1(node name) (`echo -n n1 | sha1sum` → 40b3eab63f…);
// - a block whose pool stops selecting its node is released when empty and kept while in use;
// - a deleted node's blocks are released by GC; every node meshes with every other (passive: the higher address).
import yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { readInputs } from '../api/reader.js';
import type { InputKindObject } from '../plan/index.js';
import { applyChange, diffChange, parseObjectRef, type ChangeInput } from './change-diff.js';
import { diffOutput } from './diff-command.js';

const MAC = { n1: '66:40:b3:ea:b6:3f', n2: '66:40:24:34:76:fc', n3: '66:26:c2:ce:28:d0' };

function objects(docs: readonly object[]): InputKindObject[] {
  const read = readInputs([{ name: 'test.yaml', content: docs.map((d) => yaml.dump(d)).join('---\n') }]);
  expect(read.issues).toEqual([]);
  return read.objects.map((o) => o.object as InputKindObject);
}

const pool = (name: string, cidr: string, spec: Record<string, unknown> = {}) => ({
  apiVersion: 'projectcalico.org/v3',
  kind: 'IPPool',
  metadata: { name, creationTimestamp: '2024-01-01T00:00:00Z' },
  spec: { cidr, blockSize: 26, ipipMode: 'Never', vxlanMode: 'Never', natOutgoing: true, ...spec },
});

const node = (name: string, ip: string, annotations: Record<string, string> = {}, labels = {}) => ({
  apiVersion: 'v1',
  kind: 'Node',
  metadata: { name, labels, annotations: { 'projectcalico.org/IPv4Address': `${ip}/24`, ...annotations } },
});

/** A /26 block of `node` whose first `used` ordinals are allocated to `handles` (one each). */
function block(cidr: string, owner: string, allocations: { handle: string; attrs: Record<string, string> }[]) {
  const name = cidr.replace(/[./]/g, '-');
  return [
    {
      apiVersion: 'projectcalico.org/v3',
      kind: 'IPAMBlock',
      metadata: { name },
      spec: {
        cidr,
        affinity: `host:${owner}`,
        allocations: Array.from({ length: 64 }, (_, i) => (i < allocations.length ? i : null)),
        unallocated: Array.from({ length: 64 - allocations.length }, (_, i) => i + allocations.length),
        attributes: allocations.map((a) => ({ handle_id: a.handle, secondary: a.attrs })),
        strictAffinity: false,
        deleted: false,
      },
    },
    {
      apiVersion: 'projectcalico.org/v3',
      kind: 'BlockAffinity',
      metadata: { name: `${owner}-${name}` },
      spec: { node: owner, cidr, state: 'confirmed', deleted: false },
    },
    ...allocations.map((a) => ({
      apiVersion: 'projectcalico.org/v3',
      kind: 'IPAMHandle',
      metadata: { name: a.handle.toLowerCase() },
      spec: { handleID: a.handle, block: { [cidr]: 1 } },
    })),
  ];
}

const ipipTunnel = (n: string) => ({
  handle: `ipip-tunnel-addr-${n}`,
  attrs: { node: n, type: 'ipipTunnelAddress' },
});

/** Two nodes in one subnet, IPIP Always, each with its block and its tunnel address at the block's first address. */
function ipipCluster(): InputKindObject[] {
  return objects([
    pool('p1', '10.10.0.0/24', { ipipMode: 'Always' }),
    node('n1', '192.168.0.1', { 'projectcalico.org/IPv4IPIPTunnelAddr': '10.10.0.0' }),
    node('n2', '192.168.0.2', { 'projectcalico.org/IPv4IPIPTunnelAddr': '10.10.0.64' }),
    ...block('10.10.0.0/26', 'n1', [ipipTunnel('n1')]),
    ...block('10.10.0.64/26', 'n2', [ipipTunnel('n2')]),
  ]);
}

const input = (base: InputKindObject[], apply: object[], del: string[] = []): ChangeInput => ({
  base,
  apply: apply.length > 0 ? objects(apply) : [],
  delete: del.map((d) => {
    const k = parseObjectRef(d);
    if (k instanceof Error) throw k;
    return k;
  }),
  baseName: 'the test cluster',
  now: Date.UTC(2026, 0, 1),
  random: () => 0.5,
});

describe('tabby diff: what a change does to each node', () => {
  it('IPIP Always → VXLAN Always: every route moves to vxlan.calico via a new VTEP, tunl0 goes', async () => {
    const r = await diffChange(input(ipipCluster(), [pool('p1', '10.10.0.0/24', { vxlanMode: 'Always' })]));
    expect(r.errors).toEqual([]);
    expect(r.nodes.map((n) => n.node)).toEqual(['n1', 'n2']);
    const n1 = r.nodes[0]!;
    expect(n1.plan?.routes.removed.map((x) => `${x.line} ${x.explain.rule}`)).toEqual([
      '10.10.0.64/26 via 192.168.0.2 dev tunl0 onlink ipip-always',
    ]);
    expect(n1.plan?.routes.added.map((x) => `${x.line} ${x.explain.rule}`)).toEqual([
      '10.10.0.64/26 via 10.10.0.65 dev vxlan.calico onlink vxlan-always',
    ]);
    expect(n1.plan?.tunnels).toEqual({
      removed: ['tunl0 address 10.10.0.0'],
      added: [
        `neighbour vxlan.calico 10.10.0.65 lladdr ${MAC.n2} via 192.168.0.2 (n2)`,
        `vxlan.calico address 10.10.0.1 vni 4096 port 4789 mac ${MAC.n1} local 192.168.0.1`,
      ],
    });
    expect(n1.plan?.bgpSessions).toEqual({ removed: [], added: [] });
    expect(n1.ipam).toEqual({
      node: 'n1',
      poolsLost: [],
      poolsGained: [],
      blocksClaimed: [],
      blocksReleased: [],
      blocksKept: [],
      tunnelAddresses: [
        { kind: 'ipip', before: '10.10.0.0' },
        { kind: 'vxlan', after: '10.10.0.1' },
      ],
    });
    expect(r.nodes[1]!.ipam?.tunnelAddresses).toEqual([
      { kind: 'ipip', before: '10.10.0.64' },
      { kind: 'vxlan', after: '10.10.0.65' },
    ]);
  });

  it('the same pool again changes nothing: no node listed, exit code 0 and nothing on stdout', async () => {
    const r = await diffChange(input(ipipCluster(), [pool('p1', '10.10.0.0/24', { ipipMode: 'Always' })]));
    expect(r).toEqual({ nodes: [], errors: [], warnings: [] });
    expect(diffOutput(r, { output: 'text' })).toEqual({ code: 0, stdout: '', stderr: 'no node would change\n' });
  });

  it('a pool that stops selecting nodes: empty blocks released, in-use ones kept, an empty one reclaimed', async () => {
    const base = objects([
      pool('p1', '10.10.0.0/24'),
      pool('p2', '10.20.0.0/26', { nodeSelector: "zone == 'b'" }),
      node('n1', '192.168.0.1', {}, { zone: 'a' }),
      node('n2', '192.168.0.2', {}, { zone: 'b' }),
      node('n3', '192.168.0.3', {}, { zone: 'b' }),
      ...block('10.10.0.0/26', 'n1', []),
      // n2's block holds a pod: it must stay while the pod does.
      ...block('10.10.0.64/26', 'n2', [
        { handle: 'k8s-pod-network.c1', attrs: { node: 'n2', namespace: 'default', pod: 'web-1' } },
      ]),
      ...block('10.10.0.128/26', 'n3', []),
      // p2 has one block only, n2's, empty and claimed long ago.
      ...block('10.20.0.0/26', 'n2', []),
    ]);
    const r = await diffChange(input(base, [pool('p1', '10.10.0.0/24', { nodeSelector: "zone == 'a'" })]));
    expect(r.errors).toEqual([]);
    const byNode = new Map(r.nodes.map((n) => [n.node, n]));
    expect([...byNode.keys()]).toEqual(['n1', 'n2', 'n3']);
    // n3 has no block of p2 and p2 has no block nobody holds: it takes over n2's empty one (Calico reclaims an empty
    // block claimed over a minute ago); n2 keeps its p1 block while its pod lives.
    expect(byNode.get('n2')?.ipam).toMatchObject({
      poolsLost: ['p1'],
      blocksReleased: [{ block: '10.20.0.0/26', pool: 'p2', reason: 'reclaimed', takenBy: 'n3' }],
      blocksKept: [{ block: '10.10.0.64/26', pool: 'p1', inUse: 1 }],
    });
    expect(byNode.get('n3')?.ipam).toMatchObject({
      poolsLost: ['p1'],
      blocksReleased: [{ block: '10.10.0.128/26', pool: 'p1', reason: 'poolNoLongerSelectsNode' }],
      blocksClaimed: [{ block: '10.20.0.0/26', pool: 'p2', reason: 'noBlock' }],
    });
    const lines = (n: string) => {
      const routes = byNode.get(n)?.plan?.routes;
      return { removed: routes?.removed.map((x) => x.line), added: routes?.added.map((x) => x.line) };
    };
    expect(lines('n3')).toEqual({
      removed: ['blackhole 10.10.0.128/26', '10.20.0.0/26 via 192.168.0.2'],
      added: ['blackhole 10.20.0.0/26'],
    });
    // n1 (not CrossSubnet, no encapsulation: direct routes) follows both blocks.
    expect(lines('n1')).toEqual({
      removed: ['10.10.0.128/26 via 192.168.0.3', '10.20.0.0/26 via 192.168.0.2'],
      added: ['10.20.0.0/26 via 192.168.0.3'],
    });
    expect(byNode.get('n1')?.ipam).toBeUndefined();
  });

  it('deleting a node: GC releases its block, every other node drops its route and its mesh session', async () => {
    const r = await diffChange(input(ipipCluster(), [], ['node/n2']));
    expect(r.errors).toEqual([]);
    const n1 = r.nodes.find((n) => n.node === 'n1')!;
    expect(n1.plan?.routes.removed.map((x) => x.line)).toEqual(['10.10.0.64/26 via 192.168.0.2 dev tunl0 onlink']);
    expect(n1.plan?.bgpSessions.removed.map((s) => `${s.name} ${s.peerIP} ${s.type}`)).toEqual([
      'Mesh_192_168_0_2 192.168.0.2 mesh',
    ]);
    const n2 = r.nodes.find((n) => n.node === 'n2')!;
    expect(n2.plan?.status).toBe('removed');
    expect(n2.ipam).toMatchObject({
      poolsLost: ['p1'],
      blocksReleased: [{ block: '10.10.0.64/26', pool: 'p1', reason: 'nodeDeleted' }],
      tunnelAddresses: [{ kind: 'ipip', before: '10.10.0.64' }],
    });
  });

  it('a new node: it claims a block and a tunnel address; every other node routes to it and meshes with it', async () => {
    const r = await diffChange(input(ipipCluster(), [node('n3', '192.168.0.3')]));
    expect(r.errors).toEqual([]);
    const n3 = r.nodes.find((n) => n.node === 'n3')!;
    expect(n3.plan?.status).toBe('added');
    const claimed = n3.ipam?.blocksClaimed ?? [];
    expect(claimed).toHaveLength(1);
    expect(claimed[0]).toMatchObject({ pool: 'p1', reason: 'noBlock' });
    // The two blocks taken are 10.10.0.0/26 and 10.10.0.64/26: n3's is one of the other two.
    expect(['10.10.0.128/26', '10.10.0.192/26']).toContain(claimed[0]!.block);
    const first = claimed[0]!.block.replace('/26', '');
    expect(n3.ipam?.tunnelAddresses).toEqual([{ kind: 'ipip', after: first }]);
    const n1 = r.nodes.find((n) => n.node === 'n1')!;
    expect(n1.plan?.routes).toEqual({
      removed: [],
      added: [expect.objectContaining({ line: `${claimed[0]!.block} via 192.168.0.3 dev tunl0 onlink` })],
    });
    // n1 (192.168.0.1) is the lower address: n3 connects, n1 listens.
    expect(n1.plan?.bgpSessions.added.map((s) => `${s.name} ${s.passive === true}`)).toEqual(['Mesh_192_168_0_3 true']);
  });

  it('a global BGPPeer: a new session on every node', async () => {
    const r = await diffChange(
      input(ipipCluster(), [
        {
          apiVersion: 'projectcalico.org/v3',
          kind: 'BGPPeer',
          metadata: { name: 'tor' },
          spec: { peerIP: '192.168.0.254', asNumber: 65001 },
        },
      ]),
    );
    expect(r.nodes.map((n) => [n.node, n.plan?.bgpSessions.added.map((s) => `${s.peerIP} AS ${s.asNumber}`)])).toEqual([
      ['n1', ['192.168.0.254 AS 65001']],
      ['n2', ['192.168.0.254 AS 65001']],
    ]);
    expect(diffOutput(r, { output: 'text' }).code).toBe(1);
  });

  it('a change whose object the planner cannot use is an error naming it (exit 2), not a silent drop', async () => {
    const bad = node('n3', '192.168.0.3', { 'projectcalico.org/IPv4Address': 'not-an-address' });
    const r = await diffChange(input(ipipCluster(), [bad]));
    expect(r.errors).toEqual([
      expect.stringMatching(
        /^Node\/n3: metadata\.annotations\.projectcalico\.org\/IPv4Address: must be the node's address/,
      ),
    ]);
    const out = diffOutput(r, { output: 'text' });
    expect(out.code).toBe(2);
    expect(out.stdout).toBe('');
  });
});

describe('--delete and applying a change', () => {
  it('reads kinds as kubectl spells them, and says what it must be otherwise', () => {
    expect(parseObjectRef('ippool/old')).toEqual({ kind: 'IPPool', name: 'old' });
    expect(parseObjectRef('IPPools/old')).toEqual({ kind: 'IPPool', name: 'old' });
    expect(parseObjectRef('nodes/n1')).toEqual({ kind: 'Node', name: 'n1' });
    expect(parseObjectRef('bgppeer/rr')).toEqual({ kind: 'BGPPeer', name: 'rr' });
    expect(parseObjectRef('pod/shop/cart')).toEqual({ kind: 'Pod', namespace: 'shop', name: 'cart' });
    expect(String(parseObjectRef('pod/cart'))).toMatch(/must be pod\/NAMESPACE\/NAME/);
    expect(String(parseObjectRef('ippool/'))).toMatch(/must be ippool\/NAME/);
    expect(String(parseObjectRef('service/x'))).toMatch(/the kind must be one of node, pod, ippool/);
  });

  it('replaces by kind and name, adds what is new, and refuses deleting what is not there', () => {
    const base = ipipCluster();
    const r = applyChange(input(base, [pool('p1', '10.10.0.0/24'), pool('p9', '10.99.0.0/24')], ['node/n2']));
    expect(r.errors).toEqual([]);
    expect(r.objects.filter((o) => o.kind === 'IPPool').map((o) => o.metadata.name)).toEqual(['p1', 'p9']);
    expect(r.objects.some((o) => o.kind === 'Node' && o.metadata.name === 'n2')).toBe(false);
    expect(applyChange(input(base, [], ['ippool/nope'])).errors).toEqual([
      '--delete IPPool/nope: no such object in the test cluster',
    ]);
  });
});
