// `tabby diff` and `tabby explain` (the built CLI) against a real apiserver with the in-process operator: three nodes
// (two in one subnet), a VXLAN Always pool, blocks and VTEPs claimed by the operator, one pod address assigned by a
// node's agent over its socket. Oracles are independent of src/plan: the routes Calico's rules give each node are
// computed by operator-support's expectedRoutes from the Nodes, IPPools and IPAMBlocks alone — before and with the
// change — and the diff must be exactly their difference; "programmed" is decided by status.applied revisions the
// test writes as each agent would.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import yaml from 'js-yaml';
import { createPodIpam, type PodIpam } from '../../src/agent/pod-ipam.js';
import { buildNodeDesired } from '../../src/agent/test-support/desired-builder.js';
import { PROTOCOL_VERSION } from '../../src/api/agent-ipam-protocol.js';
import { NodeDataplaneKind, RouteTableKind } from '../../src/api/index.js';
import { createAgentClient } from '../../src/cni/agent-client.js';
import type { KubeClient } from '../../src/kube/index.js';
import { cidrContainsIP, parseCidr, parseIP, workloadInterfaceName } from '../../src/net/index.js';
import { DEFAULT_CEILING_MS, runCommand, startControlPlane, type ControlPlane } from '../harness/index.js';
import { type ViewRevision, viewRevisions } from '../../src/plan/view-revision.js';
import {
  TABBY_MAIN,
  VXLAN_ADDRESS,
  annotation,
  blocksOf,
  distProblem,
  expectedRoutes,
  fileLogger,
  inProcessOperator,
  installCrds,
  logFile,
  nodeObject,
  poolObject,
  rawClients,
  readCluster,
  routesConverge,
  type ClusterState,
} from './operator-support.js';

const NODES = ['dx-1', 'dx-2', 'dx-3'];
const POOL = 'dx-pool';
const CIDR = '10.60.0.0/16';

interface DiffJson {
  nodes: {
    node: string;
    plan?: {
      status: string;
      routes: {
        removed: { line: string; explain: { rule: string } }[];
        added: { line: string; explain: { rule: string } }[];
      };
      bgpSessions: { removed: { peerIP: string }[]; added: unknown[] };
    };
    ipam?: { blocksReleased: { block: string; reason?: string }[]; poolsLost: string[] };
  }[];
}

describe('tabby diff and tabby explain against a live cluster', () => {
  let cp: ControlPlane;
  let op: ReturnType<typeof inProcessOperator>;
  let client: KubeClient;
  let ipam: PodIpam;
  let dir: string;
  let state: ClusterState;
  const log = logFile('cli-diff-explain');

  const tabby = (args: string[]) =>
    runCommand(process.execPath, [TABBY_MAIN, ...args, `--kubeconfig=${cp.kubeconfigPath}`]);

  function file(name: string, docs: object[]): string {
    const path = join(dir, name);
    writeFileSync(path, docs.map((d) => yaml.dump(d)).join('---\n'));
    return path;
  }

  /** The state with the pool's spec changed: what expectedRoutes judges "with the change" by. */
  function withPool(s: ClusterState, spec: Record<string, unknown>): ClusterState {
    const pools = new Map(s.pools);
    const p = pools.get(POOL)!;
    pools.set(POOL, { ...p, spec: { ...p.spec, ...spec } });
    return { ...s, pools };
  }

  function expected(s: ClusterState, node: string): string[] {
    const r = expectedRoutes(s, node, [POOL]);
    if (typeof r === 'string') throw new Error(r);
    return r;
  }

  beforeAll(async () => {
    const stale = distProblem();
    if (stale) throw new Error(stale);
    cp = await startControlPlane({ name: 'cli-diff-explain' });
    await installCrds(cp);
    op = inProcessOperator(cp, log);
    client = op.client;
    await client.nodes().create(nodeObject({ name: 'dx-1', ipv4: '10.0.0.11/24' }));
    await client.nodes().create(nodeObject({ name: 'dx-2', ipv4: '10.0.0.12/24' }));
    await client.nodes().create(nodeObject({ name: 'dx-3', ipv4: '10.0.1.13/24' }));
    await rawClients(client).pools.create(poolObject(POOL, CIDR, { vxlanMode: 'Always' }));
    await op.operator.start();
    state = (await routesConverge(client, NODES, [POOL])).state;
    dir = mkdtempSync(join(tmpdir(), 'tabby-dx-'));
    ipam = createPodIpam({
      client,
      nodeName: 'dx-2',
      socketPath: join(dir, 'dx-2.sock'),
      logger: fileLogger(log),
      desired: () => buildNodeDesired(),
      hostMtu: () => 1500,
    });
    await ipam.start();
  });

  afterAll(async () => {
    console.log(`log: ${log}`);
    await ipam?.stop();
    await op?.stop();
    await cp?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  describe('tabby diff', () => {
    it('the cluster as it is: no node would change, exit 0, nothing on stdout', async () => {
      const r = await tabby(['diff', '-f', file('same.yaml', [poolObject(POOL, CIDR, { vxlanMode: 'Always' })])]);
      expect(r.stderr).toBe('no node would change\n');
      expect(r.stdout).toBe('');
      expect(r.code).toBe(0);
    });

    it('VXLAN Always → CrossSubnet: exactly the routes Calico’s rules change, with the rule that chose them; nothing applied', async () => {
      const before = await readCluster(client);
      const change = file('cross.yaml', [poolObject(POOL, CIDR, { vxlanMode: 'CrossSubnet' })]);
      const r = await tabby(['diff', '-f', change, '-o', 'json']);
      expect(r.code).toBe(1);
      const out = JSON.parse(r.stdout) as DiffJson;
      const after = withPool(before, { vxlanMode: 'CrossSubnet' });
      for (const node of NODES) {
        const was = expected(before, node);
        const will = expected(after, node);
        const d = out.nodes.find((n) => n.node === node);
        expect({
          node,
          removed: d?.plan?.routes.removed.map((x) => x.line).sort() ?? [],
          added: d?.plan?.routes.added.map((x) => x.line).sort() ?? [],
        }).toEqual({
          node,
          removed: was.filter((l) => !will.includes(l)).sort(),
          added: will.filter((l) => !was.includes(l)).sort(),
        });
      }
      // dx-1 and dx-2 share 10.0.0.0/24: between them the routes go direct, by CrossSubnet's same-subnet rule.
      const dx1 = out.nodes.find((n) => n.node === 'dx-1')!;
      expect(dx1.plan!.routes.added.length).toBeGreaterThan(0);
      expect(dx1.plan!.routes.added.every((x) => x.explain.rule === 'vxlan-cross-subnet-direct')).toBe(true);
      expect(out.nodes.some((n) => n.node === 'dx-3' && (n.plan?.routes.added.length ?? 0) > 0)).toBe(false);
      // Nothing was applied: the pool and every object the operator writes are as they were.
      const now = await readCluster(client);
      expect(now.pools.get(POOL)?.metadata.resourceVersion).toBe(before.pools.get(POOL)?.metadata.resourceVersion);
      expect(now.pools.get(POOL)?.spec?.vxlanMode).toBe('Always');
      expect([...now.dataplanes.values()].map((d) => d.status?.desired?.revision)).toEqual(
        [...before.dataplanes.values()].map((d) => d.status?.desired?.revision),
      );
    });

    it('deleting a node: its blocks released by GC, every other node drops its routes and its mesh session', async () => {
      const r = await tabby([
        'diff',
        '-f',
        file('same2.yaml', [poolObject(POOL, CIDR, { vxlanMode: 'Always' })]),
        '--delete',
        'node/dx-3',
        '-o',
        'json',
      ]);
      expect(r.code).toBe(1);
      const out = JSON.parse(r.stdout) as DiffJson;
      const gone = blocksOf(state, 'dx-3');
      expect(gone.length).toBeGreaterThan(0);
      const dx3 = out.nodes.find((n) => n.node === 'dx-3')!;
      expect(dx3.plan?.status).toBe('removed');
      expect(dx3.ipam?.blocksReleased).toEqual(gone.map((block) => ({ block, pool: POOL, reason: 'nodeDeleted' })));
      for (const node of ['dx-1', 'dx-2']) {
        const d = out.nodes.find((n) => n.node === node)!;
        const vtep = annotation(state, 'dx-3', VXLAN_ADDRESS);
        expect(d.plan?.routes.removed.map((x) => x.line).sort()).toEqual(
          gone.map((b) => `${b} via ${vtep} dev vxlan.calico onlink`).sort(),
        );
        expect(d.plan?.routes.added).toEqual([]);
        expect(d.plan?.bgpSessions.removed.map((s) => s.peerIP)).toEqual(['10.0.1.13']);
      }
    });

    it('errors exit 2 and print nothing on stdout: a missing object to delete, an unknown flag', async () => {
      const same = file('same3.yaml', [poolObject(POOL, CIDR, { vxlanMode: 'Always' })]);
      const missing = await tabby(['diff', '-f', same, '--delete', 'ippool/nope']);
      expect([missing.code, missing.stdout]).toEqual([2, '']);
      expect(missing.stderr).toBe('error: --delete IPPool/nope: no such object in the cluster\n');
      const flag = await tabby(['diff', '-f', same, '--no-such-flag']);
      expect([flag.code, flag.stdout]).toEqual([2, '']);
    });
  });

  describe('tabby explain', () => {
    let podIP: string;
    let revisions: { desired: Map<string, string>; views: ViewRevision[] };

    beforeAll(async () => {
      const r = await createAgentClient(join(dir, 'dx-2.sock'), DEFAULT_CEILING_MS).call({
        v: PROTOCOL_VERSION,
        op: 'assign',
        handleId: 'k8s-pod-network.dx-web',
        containerId: 'dx-web',
        attrs: { namespace: 'default', pod: 'web', node: 'dx-2' },
        families: [4],
      });
      podIP = r.addresses[0]!.address.split('/')[0]!;
      await client.pods().create({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'web', namespace: 'default' },
        spec: { nodeName: 'dx-2', containers: [{ name: 'app', image: 'none' }] },
      });
      await client.pods().patchStatus('web', { podIP, podIPs: [{ ip: podIP }] }, { namespace: 'default' });
      // The agents report: dx-1 programmed its plan and every shard, dx-3 an older shard, dx-2 nothing yet.
      const s = await readCluster(client);
      revisions = {
        desired: new Map([...s.dataplanes].map(([n, d]) => [n, d.status!.desired!.revision])),
        views: viewRevisions(
          s.routeTables.map((t) => t.status!.view),
          s.routeTables.map((t) => ({ name: t.metadata.name, status: t.status! })),
        ),
      };
      const applied = (node: string, views: ViewRevision[]) =>
        client.kind(NodeDataplaneKind).applyStatus(
          node,
          {
            applied: {
              revision: revisions.desired.get(node)!,
              viewRevisions: views,
              time: '2026-01-01T00:00:00Z',
            },
          },
          { fieldManager: 'tabby-agent' },
        );
      await applied('dx-1', revisions.views);
      await applied(
        'dx-3',
        revisions.views.map((x) => ({ ...x, revision: 'sha256:stale' })),
      );
      expect((await client.kind(RouteTableKind).list()).items.length).toBe(
        revisions.views.reduce((n, v) => n + v.shards, 0),
      );
    });

    interface ExplainJson {
      pools: { name: string }[];
      blocks: { cidr: string; node?: string; affinityState?: string }[];
      allocation?: {
        address: string;
        handleId: string;
        kind: string;
        attrs: Record<string, string>;
        handle?: Record<string, number>;
        pod?: { found: boolean; node?: string };
        validity: string;
      };
      nodes: {
        node: string;
        routes: { line: string; rule: string; state: { state: string; object?: string; appliedRevision?: string } }[];
      }[];
    }

    it("a pod's address: pool, block, owner, handle and pod; per node its route, the rule, and whether the agent has it", async () => {
      const r = await tabby(['explain', podIP, '-o', 'json']);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const out = JSON.parse(r.stdout) as ExplainJson;
      const block = blocksOf(state, 'dx-2').find((b) => cidrContainsIP(parseCidr(b), parseIP(podIP)))!;
      expect(out.pools.map((p) => p.name)).toEqual([POOL]);
      expect(out.blocks).toEqual([expect.objectContaining({ cidr: block, node: 'dx-2', affinityState: 'confirmed' })]);
      expect(out.allocation).toMatchObject({
        address: podIP,
        handleId: 'k8s-pod-network.dx-web',
        kind: 'pod',
        attrs: { node: 'dx-2', namespace: 'default', pod: 'web' },
        handle: { [block]: 1 },
        pod: { found: true, node: 'dx-2' },
        validity: 'valid',
      });
      const vtep2 = annotation(state, 'dx-2', VXLAN_ADDRESS);
      const byNode = new Map(out.nodes.map((n) => [n.node, n.routes]));
      expect(byNode.get('dx-1')).toEqual([
        {
          line: `${block} via ${vtep2} dev vxlan.calico onlink`,
          rule: 'vxlan-always',
          pool: POOL,
          block,
          owner: 'dx-2',
          state: expect.objectContaining({ state: 'applied', object: expect.stringMatching(/^RouteTable\//) }),
        },
      ]);
      expect(byNode.get('dx-2')!.map((x) => [x.line, x.rule, x.state.state])).toEqual([
        [`${podIP} dev ${workloadInterfaceName('default', 'web')} scope link`, 'local-workload', 'cni'],
      ]);
      expect(byNode.get('dx-3')!.map((x) => [x.rule, x.state.state, x.state.appliedRevision])).toEqual([
        ['vxlan-always', 'pending', 'sha256:stale'],
      ]);
    });

    it('a block, in text: each node, its route and whether it is programmed, readable', async () => {
      const block = blocksOf(state, 'dx-1')[0]!;
      const r = await tabby(['explain', block, '--node', 'dx-2']);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`cidr ${block}\n`);
      expect(r.stdout).toContain(`  block       ${block} of pool ${POOL}, node dx-1 (affinity confirmed)`);
      const vtep1 = annotation(state, 'dx-1', VXLAN_ADDRESS);
      expect(r.stdout).toMatch(
        new RegExp(
          `\\ndx-2 +${block.replace(/[./]/g, '\\$&')} via ${vtep1!.replace(/\./g, '\\.')} dev vxlan\\.calico onlink +vxlan-always +no: RouteTable/`,
        ),
      );
      expect(r.stdout).not.toMatch(/\ndx-1 /);
    });
  });
});
