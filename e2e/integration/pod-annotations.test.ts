// Calico's address annotations through the agent's IPAM socket, against a real apiserver and the in-process
// operator: the agent reads the pod and its namespace at each ADD (cni.projectcalico.org/ipv4pools, ipAddrs), and a
// pod asking for a pool that does not select its node (nodeSelector `!all()`, Calico's "manual" pool) gets its
// block through the agent's request on its Node, claimed by the operator — the agent itself never claims.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PodIpam } from '../../src/agent/pod-ipam.js';
import { PROTOCOL_VERSION, type AssignedAddress } from '../../src/api/agent-ipam-protocol.js';
import { IPAM_REQUEST_ANNOTATION } from '../../src/api/ipam-request.js';
import { AgentRefusedError, createAgentClient } from '../../src/cni/agent-client.js';
import type { IPAMBlock } from '../../src/api/index.js';
import { allocationsOf, blockFromSpec } from '../../src/ipam/index.js';
import type { KubeClient } from '../../src/kube/index.js';
import { cidrContainsIP, formatIP, ipAdd, parseCidr, parseIP } from '../../src/net/index.js';
import { DEFAULT_CEILING_MS, startControlPlane, type ControlPlane } from '../harness/index.js';
import {
  eventually,
  inProcessOperator,
  installCrds,
  logFile,
  nodeObject,
  poolObject,
  rawClients,
  startPodIpam,
} from './operator-support.js';

const NODE = 'ann-1';
const OTHER = 'ann-2';
const DEFAULT_CIDR = '10.70.0.0/16';
const MANUAL_CIDR = '10.71.0.0/24';
/** One /29 block: the pool of Calico's strict-affinity e2e (e2e/pkg/tests/ipam/ipam_strict_affinity.go). */
const TINY_CIDR = '10.72.0.0/29';

describe("Calico's pod and namespace annotations, served by the agent", () => {
  let cp: ControlPlane;
  let op: ReturnType<typeof inProcessOperator>;
  let client: KubeClient;
  const ipams: PodIpam[] = [];
  let dir: string;
  const log = logFile('pod-annotations');
  const socket = (node: string) => join(dir, `${node}.sock`);

  async function assign(namespace: string, pod: string, node = NODE): Promise<AssignedAddress[]> {
    const agent = createAgentClient(socket(node), DEFAULT_CEILING_MS);
    const r = await agent.call({
      v: PROTOCOL_VERSION,
      op: 'assign',
      handleId: `k8s-pod-network.${namespace}-${pod}`,
      containerId: `${namespace}-${pod}`,
      attrs: { namespace, pod, node },
      families: [4],
    });
    return r.addresses;
  }

  async function release(namespace: string, pod: string, node: string): Promise<void> {
    await createAgentClient(socket(node), DEFAULT_CEILING_MS).call({
      v: PROTOCOL_VERSION,
      op: 'release',
      handleId: `k8s-pod-network.${namespace}-${pod}`,
    });
  }

  async function makePod(namespace: string, name: string, annotations: Record<string, string> = {}, node = NODE) {
    await client.pods().create({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace, annotations },
      spec: { nodeName: node, containers: [{ name: 'app', image: 'none' }] },
    });
  }

  /** Allocations in the pool's blocks as `address handle node block-affinity`. */
  async function allocationsIn(cidr: string): Promise<string[]> {
    const blocks = JSON.parse((await cp.kubectl(['get', 'ipamblocks.projectcalico.org', '-o', 'json'])).stdout) as {
      items: { spec: IPAMBlock['spec'] }[];
    };
    return blocks.items
      .filter((b) => inCidr(b.spec.cidr.split('/')[0]!, cidr))
      .flatMap((b) =>
        allocationsOf(blockFromSpec(b.spec)).map(
          (a) => `${a.address} ${a.handleId} ${a.attrs.node} ${b.spec.affinity}`,
        ),
      )
      .sort();
  }

  const ipOf = (a: AssignedAddress[]) => a[0]!.address.split('/')[0]!;
  const inCidr = (ip: string, cidr: string) => cidrContainsIP(parseCidr(cidr), parseIP(ip));

  beforeAll(async () => {
    cp = await startControlPlane({ name: 'pod-annotations' });
    await installCrds(cp);
    op = inProcessOperator(cp, log);
    client = op.client;
    const raw = rawClients(client);
    await client.nodes().create(nodeObject({ name: NODE, ipv4: '10.0.0.11/24' }));
    await client.nodes().create(nodeObject({ name: OTHER, ipv4: '10.0.0.12/24' }));
    await raw.pools.create(poolObject('default-pool', DEFAULT_CIDR));
    await raw.pools.create(poolObject('manual-pool', MANUAL_CIDR, { blockSize: 28, nodeSelector: '!all()' }));
    await raw.pools.create(poolObject('tiny-pool', TINY_CIDR, { blockSize: 29, nodeSelector: '!all()' }));
    for (const [name, annotations] of [
      ['plain', {}],
      ['team-b', { 'cni.projectcalico.org/ipv4pools': '["manual-pool"]' }],
      ['tiny', { 'cni.projectcalico.org/ipv4pools': '["tiny-pool"]' }],
    ] as const) {
      await cp.kubectl(['create', 'namespace', name]);
      if (Object.keys(annotations).length > 0)
        await cp.kubectl(['annotate', 'namespace', name, ...Object.entries(annotations).map(([k, v]) => `${k}=${v}`)]);
    }
    await op.operator.start();
    dir = mkdtempSync(join(tmpdir(), 'tabby-ann-'));
    for (const nodeName of [NODE, OTHER]) {
      ipams.push(await startPodIpam(client, nodeName, socket(nodeName), log));
    }
  });

  afterAll(async () => {
    console.log(`log: ${log}`);
    for (const ipam of ipams) await ipam.stop();
    await op?.stop();
    await cp?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a pod without annotations, and a sandbox with no Pod object, get addresses from the pool selecting the node', async () => {
    await makePod('plain', 'p1');
    expect(inCidr(ipOf(await assign('plain', 'p1')), DEFAULT_CIDR)).toBe(true);
    expect(inCidr(ipOf(await assign('plain', 'no-such-pod')), DEFAULT_CIDR)).toBe(true);
  });

  it('ipAddrs: exactly the address asked for', async () => {
    // A free address in the node's own block (the one p1's address came from).
    const want = formatIP(ipAdd(parseIP(ipOf(await assign('plain', 'p1'))), 17));
    await makePod('plain', 'fixed', { 'cni.projectcalico.org/ipAddrs': `["${want}"]` });
    expect(ipOf(await assign('plain', 'fixed'))).toBe(want);
  });

  it("the namespace's ipv4pools: a pool that does not select the node, its block claimed by the operator on the agent's request", async () => {
    await makePod('team-b', 'b1');
    const t0 = performance.now();
    const ip = ipOf(await assign('team-b', 'b1'));
    const ms = Math.round(performance.now() - t0);
    expect(inCidr(ip, MANUAL_CIDR)).toBe(true);
    console.log(`first address from a pool the node had no block in: ${ms} ms (request → operator claim → assign)`);
    // The second pod of that namespace is served from the same block at once.
    await makePod('team-b', 'b2');
    expect(inCidr(ipOf(await assign('team-b', 'b2')), MANUAL_CIDR)).toBe(true);
    // The request is withdrawn once served, and the block (not selecting the node) is kept while it is in use.
    await eventually('the Node annotation removed', async () => {
      const n = await client.nodes().get(NODE);
      return (n.metadata.annotations ?? {})[IPAM_REQUEST_ANNOTATION] === undefined ? true : undefined;
    });
    const affinities = JSON.parse(
      (await cp.kubectl(['get', 'blockaffinities.projectcalico.org', '-o', 'json'])).stdout,
    ) as { items: { spec: { node: string; cidr: string } }[] };
    const manual = affinities.items.filter((a) => inCidr(a.spec.cidr.split('/')[0]!, MANUAL_CIDR));
    expect(manual.map((a) => a.spec.node)).toEqual([NODE]);
  });

  it("the pod's own ipv4pools wins over its namespace's", async () => {
    await makePod('team-b', 'b3', { 'cni.projectcalico.org/ipv4pools': '["default-pool"]' });
    expect(inCidr(ipOf(await assign('team-b', 'b3')), DEFAULT_CIDR)).toBe(true);
  });

  it('a pool that does not exist, or conflicting annotations: refused naming them, nothing assigned', async () => {
    await makePod('plain', 'bad-pool', { 'cni.projectcalico.org/ipv4pools': '["no-such-pool"]' });
    await expect(assign('plain', 'bad-pool')).rejects.toThrow(/no-such-pool/);
    await makePod('plain', 'both', {
      'cni.projectcalico.org/ipAddrs': '["10.70.0.5"]',
      'cni.projectcalico.org/ipAddrsNoIpam': '["10.70.0.5"]',
    });
    const err = await assign('plain', 'both').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AgentRefusedError);
    expect((err as AgentRefusedError).code).toBe('invalid');
    expect((err as Error).message).toContain('ipAddrsNoIpam');
    const handles = JSON.parse((await cp.kubectl(['get', 'ipamhandles.projectcalico.org', '-o', 'json'])).stdout) as {
      items: { spec: { handleID: string } }[];
    };
    const ids = handles.items.map((h) => h.spec.handleID);
    expect(ids).toContain('k8s-pod-network.team-b-b1'); // the query sees handles …
    expect(ids.filter((id) => id.includes('bad-pool') || id.includes('both'))).toEqual([]); // … and none of these
  });

  it("strictAffinity off: a node that cannot get a block of a one-block pool borrows from the other node's block through the operator, and its DEL gives it back; on: it gets none", async () => {
    await makePod('tiny', 't1', {}, NODE);
    const a1 = ipOf(await assign('tiny', 't1', NODE));
    expect(inCidr(a1, TINY_CIDR)).toBe(true);
    await makePod('tiny', 't2', {}, OTHER);
    const t0 = performance.now();
    const a2 = ipOf(await assign('tiny', 't2', OTHER));
    const ms = Math.round(performance.now() - t0);
    console.log(`borrowed ${a2} for a pod on ${OTHER} from ${NODE}'s block in ${ms} ms (block wait + borrow)`);
    expect(inCidr(a2, TINY_CIDR)).toBe(true);
    // Both in the one block, affine to the first node; the borrowed address is recorded as the other node's pod.
    expect(await allocationsIn(TINY_CIDR)).toEqual(
      [
        `${a1} k8s-pod-network.tiny-t1 ${NODE} host:${NODE}`,
        `${a2} k8s-pod-network.tiny-t2 ${OTHER} host:${NODE}`,
      ].sort(),
    );
    // The same ADD again (a runtime retry) returns the same address, borrowing nothing more.
    expect(ipOf(await assign('tiny', 't2', OTHER))).toBe(a2);
    await release('tiny', 't2', OTHER);
    expect(await allocationsIn(TINY_CIDR)).toEqual([`${a1} k8s-pod-network.tiny-t1 ${NODE} host:${NODE}`]);

    expect(
      (
        await cp.kubectl(['apply', '-f', '-'], {
          input: JSON.stringify({
            apiVersion: 'projectcalico.org/v3',
            kind: 'IPAMConfiguration',
            metadata: { name: 'default' },
            spec: { strictAffinity: true, autoAllocateBlocks: true },
          }),
        })
      ).code,
    ).toBe(0);
    await makePod('tiny', 't3', {}, OTHER);
    // The agents' and the operator's caches see the configuration within a moment; until then a borrow may still
    // succeed, so ask until the answer is Calico's strict one.
    const { value: refused } = await eventually('a strict-affinity refusal', async () => {
      const r = await assign('tiny', 't3', OTHER).catch((e: unknown) => e);
      if (r instanceof AgentRefusedError) return r;
      await release('tiny', 't3', OTHER);
      return undefined;
    });
    expect(refused.code).toBe('exhausted');
    expect(await allocationsIn(TINY_CIDR)).toEqual([`${a1} k8s-pod-network.tiny-t1 ${NODE} host:${NODE}`]);
  });
});
