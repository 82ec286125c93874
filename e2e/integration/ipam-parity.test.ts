// Calico's IPAM features beyond the basics, against a real apiserver, the in-process operator and two agents' pod
// IPAM (as pod-annotations.test.ts runs them): IPReservation, IPPool assignmentMode and namespaceSelector, and the
// built CLI's `tabby ipam show | release | split`.
// Expected values are Calico's rules, derived by hand:
// - a fresh block hands out its addresses from the first; reserved ones are skipped (ipam_block.go autoAssign), so
//   with each /26 block's first /30 reserved a node's first pod gets the block's 5th address (offset 4);
// - a pool with a namespaceSelector serves only namespaces it selects; a Manual pool serves no pod that does not
//   name it (ipam.go determinePools), and a pod no Automatic pool selects gets "no configured Calico pools";
// - calicoctl ipam release / split messages (commands/ipam_command.go, ipam/split.go).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PodIpam } from '../../src/agent/pod-ipam.js';
import { PROTOCOL_VERSION, type AssignedAddress } from '../../src/api/agent-ipam-protocol.js';
import { AgentRefusedError, createAgentClient } from '../../src/cni/agent-client.js';
import type { KubeClient } from '../../src/kube/index.js';
import { cidrContainsIP, parseCidr, parseIP } from '../../src/net/index.js';
import { DEFAULT_CEILING_MS, runCommand, startControlPlane, type ControlPlane } from '../harness/index.js';
import {
  TABBY_MAIN,
  distProblem,
  eventually,
  inProcessOperator,
  installCrds,
  logFile,
  nodeObject,
  poolObject,
  rawClients,
  startPodIpam,
} from './operator-support.js';

const NODE = 'par-1';
const OTHER = 'par-2';
const BASE = '10.80.0.0/24';
const TEAM_A = '10.81.0.0/24';
const MANUAL = '10.82.0.0/24';
const SPLIT = '10.90.0.0/24';
/** The first /30 of every /26 block of BASE. */
const RESERVED = ['10.80.0.0/30', '10.80.0.64/30', '10.80.0.128/30', '10.80.0.192/30'];

describe('IPReservation, assignmentMode, namespaceSelector and tabby ipam release/split', () => {
  let cp: ControlPlane;
  let op: ReturnType<typeof inProcessOperator>;
  let client: KubeClient;
  const ipams: PodIpam[] = [];
  let dir: string;
  const log = logFile('ipam-parity');
  const socket = (node: string) => join(dir, `${node}.sock`);
  const tabby = (args: string[]) =>
    runCommand(process.execPath, [TABBY_MAIN, ...args, `--kubeconfig=${cp.kubeconfigPath}`]);
  const kubectlJson = async <T>(args: string[]): Promise<T> => JSON.parse((await cp.kubectl(args)).stdout) as T;
  const inCidr = (ip: string, cidr: string) => cidrContainsIP(parseCidr(cidr), parseIP(ip));
  const ipOf = (a: AssignedAddress[]) => a[0]!.address.split('/')[0]!;

  async function assign(namespace: string, pod: string, node = NODE): Promise<AssignedAddress[]> {
    const r = await createAgentClient(socket(node), DEFAULT_CEILING_MS).call({
      v: PROTOCOL_VERSION,
      op: 'assign',
      handleId: `k8s-pod-network.${namespace}-${pod}`,
      containerId: `${namespace}-${pod}`,
      attrs: { namespace, pod, node },
      families: [4],
    });
    return r.addresses;
  }

  async function makePod(namespace: string, name: string, annotations: Record<string, string> = {}, node = NODE) {
    await client.pods().create({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace, annotations },
      spec: { nodeName: node, containers: [{ name: 'app', image: 'none' }] },
    });
  }

  /** A pod that runs and lists its address, as the kubelet reports it once the sandbox is up. */
  async function runningPod(namespace: string, name: string, ip: string) {
    await client.pods().patchStatus(name, { phase: 'Running', podIP: ip, podIPs: [{ ip }] }, { namespace });
  }

  async function apply(obj: object): Promise<void> {
    const r = await cp.kubectl(['apply', '-f', '-'], { input: JSON.stringify(obj) });
    if (r.code !== 0) throw new Error(`kubectl apply: ${r.stderr}`);
  }

  beforeAll(async () => {
    const problem = distProblem();
    if (problem) throw new Error(problem);
    cp = await startControlPlane({ name: 'ipam-parity' });
    await installCrds(cp);
    op = inProcessOperator(cp, log);
    client = op.client;
    const raw = rawClients(client);
    await client.nodes().create(nodeObject({ name: NODE, ipv4: '10.0.0.21/24' }));
    await client.nodes().create(nodeObject({ name: OTHER, ipv4: '10.0.0.22/24' }));
    await raw.pools.create({
      ...poolObject('base', BASE),
      spec: { cidr: BASE, blockSize: 26, namespaceSelector: '!has(team)' },
    });
    await raw.pools.create({
      ...poolObject('team-a', TEAM_A),
      spec: { cidr: TEAM_A, blockSize: 28, namespaceSelector: "team == 'a'" },
    });
    await raw.pools.create({
      ...poolObject('manual', MANUAL),
      spec: { cidr: MANUAL, blockSize: 28, assignmentMode: 'Manual' },
    });
    await raw.pools.create(poolObject('splittable', SPLIT, { blockSize: 26, nodeSelector: '!all()' }));
    await apply({
      apiVersion: 'projectcalico.org/v3',
      kind: 'IPReservation',
      metadata: { name: 'first-four' },
      spec: { reservedCIDRs: RESERVED },
    });
    for (const [ns, labels] of [
      ['plain', {}],
      ['alpha', { team: 'a' }],
      ['beta', { team: 'b' }],
    ] as const) {
      await cp.kubectl(['create', 'namespace', ns]);
      if (Object.keys(labels).length > 0)
        await cp.kubectl(['label', 'namespace', ns, ...Object.entries(labels).map(([k, v]) => `${k}=${v}`)]);
    }
    await op.operator.start();
    dir = mkdtempSync(join(tmpdir(), 'tabby-parity-'));
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

  it('an IPReservation with a bad entry is refused by the apiserver, naming the field', async () => {
    const r = await cp.kubectl(['apply', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'projectcalico.org/v3',
        kind: 'IPReservation',
        metadata: { name: 'bad' },
        spec: { reservedCIDRs: ['10.0.0.0/33'] },
      }),
    });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('spec.reservedCIDRs[0]');
  });

  it("reserved addresses are never assigned: a fresh block's first pod gets its 5th address", async () => {
    await makePod('plain', 'p1');
    const ip = ipOf(await assign('plain', 'p1'));
    expect(inCidr(ip, BASE)).toBe(true);
    expect(Number(ip.split('.')[3]) % 64).toBe(4);
    await makePod('plain', 'p2');
    const ip2 = ipOf(await assign('plain', 'p2'));
    expect(Number(ip2.split('.')[3])).toBe(Number(ip.split('.')[3]) + 1);
  });

  it('namespaceSelector: a namespace labelled team=a gets the team-a pool, its block claimed by the operator', async () => {
    await makePod('alpha', 'a1');
    expect(inCidr(ipOf(await assign('alpha', 'a1')), TEAM_A)).toBe(true);
    await makePod('plain', 'p3');
    expect(inCidr(ipOf(await assign('plain', 'p3')), BASE)).toBe(true);
  });

  it('assignmentMode Manual: a namespace no Automatic pool selects gets none; naming the Manual pool gets it', async () => {
    await makePod('beta', 'b1');
    const err = await assign('beta', 'b1').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AgentRefusedError);
    expect((err as Error).message).toContain(`no configured Calico pools for node ${NODE}`);
    await makePod('beta', 'b2', { 'cni.projectcalico.org/ipv4pools': '["manual"]' });
    expect(inCidr(ipOf(await assign('beta', 'b2')), MANUAL)).toBe(true);
  });

  it('tabby ipam show: the reservation, and the pool counts as calicoctl would give them', async () => {
    // The operator gives each node a block of the pools a pod of an unlabelled namespace would use (base, not
    // team-a): par-2's stays empty. Waited for, as the claim is the operator's own pace.
    await eventually('a base block for each node', async () => {
      const blocks = await kubectlJson<{ items: { spec: { cidr: string; affinity?: string } }[] }>([
        'get',
        'ipamblocks.projectcalico.org',
        '-o',
        'json',
      ]);
      const owners = blocks.items.filter((b) => inCidr(b.spec.cidr.split('/')[0]!, BASE)).map((b) => b.spec.affinity);
      return owners.sort().join() === `host:${NODE},host:${OTHER}` ? true : undefined;
    });
    const r = await tabby(['ipam', 'show', '--pool', 'base']);
    expect(r.code).toBe(0);
    const row = r.stdout
      .split('\n')
      .find((l) => l.startsWith('base '))!
      .trim()
      .split(/\s+/);
    // POOL CIDR BLOCKS IN USE RESERVED FREE SIZE: two blocks, three pods in par-1's; the pool's 4 x 4 reserved
    // addresses (calicoctl counts every reserved address of the pool); 256 - 16 - 3 free.
    expect(row).toEqual(['base', BASE, '2', '3', '16', '237', '256']);
    expect(r.stdout).toMatch(
      /^first-four\s+10\.80\.0\.0\/30 10\.80\.0\.64\/30 10\.80\.0\.128\/30 10\.80\.0\.192\/30$/m,
    );
  });

  it('tabby ipam release --ip: refused while the pod lives, released once it is gone, then "not assigned"', async () => {
    await makePod('plain', 'r1');
    const ip = ipOf(await assign('plain', 'r1'));
    await runningPod('plain', 'r1', ip);
    // The handle is checked against the pod the allocation names; the operator's GC reads the same Pod.
    const refused = await tabby(['ipam', 'release', '--ip', ip]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`${ip} is in use by pod plain/r1 on node ${NODE}`);
    expect(refused.stderr).toContain('--force');
    // At once: a pod bound to a node is otherwise only marked for deletion until its (absent) kubelet confirms, and
    // a terminating pod still holds its address for GC and for release.
    await client.pods().delete('r1', { namespace: 'plain', gracePeriodSeconds: 0 });
    const released = await tabby(['ipam', 'release', '--ip', ip]);
    expect({ code: released.code, stdout: released.stdout }).toEqual({
      code: 0,
      stdout: `Successfully released IP address ${ip}\n`,
    });
    const again = await tabby(['ipam', 'release', '--ip', ip]);
    expect({ code: again.code, stderr: again.stderr }).toEqual({
      code: 1,
      stderr: `error: IP address ${ip} is not assigned\n`,
    });
    const handles = await kubectlJson<{ items: { spec: { handleID: string } }[] }>([
      'get',
      'ipamhandles.projectcalico.org',
      '-o',
      'json',
    ]);
    expect(handles.items.map((h) => h.spec.handleID)).not.toContain('k8s-pod-network.plain-r1');
  });

  it("tabby ipam release --handle --force takes a live pod's addresses; flags are checked", async () => {
    await makePod('plain', 'r2');
    const ip = ipOf(await assign('plain', 'r2'));
    await runningPod('plain', 'r2', ip);
    const refused = await tabby(['ipam', 'release', '--handle', 'k8s-pod-network.plain-r2']);
    expect(refused.code).toBe(1);
    const forced = await tabby(['ipam', 'release', '--handle', 'k8s-pod-network.plain-r2', '--force']);
    expect({ code: forced.code, stdout: forced.stdout }).toEqual({
      code: 0,
      stdout: `Successfully released IP address ${ip}\n`,
    });
    const none = await tabby(['ipam', 'release', '--handle', 'k8s-pod-network.plain-r2']);
    expect(none.stderr).toBe('error: handle k8s-pod-network.plain-r2 does not exist\n');
    expect((await tabby(['ipam', 'release'])).code).toBe(2);
    const bad = await tabby(['ipam', 'release', '--ip', '10.80.0.300']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('--ip');
  });

  it("tabby ipam split: Calico's refusals, a pool with addresses refused and left enabled, an empty pool split", async () => {
    const three = await tabby(['ipam', 'split', '3', '--name', 'splittable']);
    expect({ code: three.code, stderr: three.stderr }).toEqual({
      code: 1,
      stderr: 'error: number to split CIDR into is not a valid power of 2: 3\n',
    });
    const big = await tabby(['ipam', 'split', '512', '--cidr', SPLIT]);
    expect(big.stderr).toBe(`error: the CIDR ${SPLIT} is not large enough to be split into 512 parts\n`);
    const missing = await tabby(['ipam', 'split', '4', '--cidr', '10.91.0.0/24']);
    expect(missing.stderr).toContain('unable to find IP pool');
    const neither = await tabby(['ipam', 'split', '4']);
    expect(neither.stderr).toContain('no name or CIDR provided');
    const small = await tabby(['ipam', 'split', '8', '--name', 'splittable']);
    expect(small.stderr).toContain('a /27 part could not hold one (split into at most 4 parts)');

    const used = await tabby(['ipam', 'split', '2', '--name', 'base']);
    expect(used.code).toBe(1);
    expect(used.stderr).toMatch(/^error: IP pool base has 3 allocated addresses in 1 block \(10\.80\.0\.\d+\/26\)/);
    const base = await kubectlJson<{ spec: { disabled?: boolean } }>(['get', 'ippool', 'base', '-o', 'json']);
    expect(base.spec.disabled ?? false).toBe(false);

    const ok = await tabby(['ipam', 'split', '4', '--name', 'splittable']);
    expect(ok.stderr).toBe('');
    expect(ok.stdout).toBe(
      [
        'IP Pool splittable was successfully split into 4 smaller pools.',
        'Created split-splittable-0 with CIDR 10.90.0.0/26.',
        'Created split-splittable-1 with CIDR 10.90.0.64/26.',
        'Created split-splittable-2 with CIDR 10.90.0.128/26.',
        'Created split-splittable-3 with CIDR 10.90.0.192/26.',
        '',
      ].join('\n'),
    );
    const pools = await kubectlJson<{ items: { metadata: { name: string }; spec: Record<string, unknown> }[] }>([
      'get',
      'ippools',
      '-o',
      'json',
    ]);
    const split = pools.items
      .filter((p) => p.metadata.name.startsWith('split-'))
      .sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1));
    expect(split.map((p) => [p.metadata.name, p.spec['cidr'], p.spec['blockSize'], p.spec['nodeSelector']])).toEqual([
      ['split-splittable-0', '10.90.0.0/26', 26, '!all()'],
      ['split-splittable-1', '10.90.0.64/26', 26, '!all()'],
      ['split-splittable-2', '10.90.0.128/26', 26, '!all()'],
      ['split-splittable-3', '10.90.0.192/26', 26, '!all()'],
    ]);
    expect(pools.items.map((p) => p.metadata.name)).not.toContain('splittable');
    // The operator takes the new pools as valid ones.
    await eventually('the split pools Valid', async () => {
      const now = await kubectlJson<{
        items: { metadata: { name: string }; status?: { conditions?: { type: string; status: string }[] } }[];
      }>(['get', 'ippools', '-o', 'json']);
      const children = now.items.filter((p) => p.metadata.name.startsWith('split-'));
      return children.length === 4 &&
        children.every((p) => p.status?.conditions?.some((c) => c.type === 'Valid' && c.status === 'True'))
        ? true
        : undefined;
    });
  });
});
