// IPAM history against a real apiserver: the agent's pod IPAM (over its unix socket, as the CNI plugin asks it) and
// the in-process operator record their decisions as events.k8s.io Events, and `tabby ipam history --pod|--ip` (the
// built CLI) prints them. Expected rows follow from what the test did, never from the code under test: a pod given
// an address and released, a node's first block claimed, a node deleted with an address still in it (GC), a pod
// object gone while its address stays allocated (a suspected leak). A third agent with a tiny rate limit shows
// dropped Events counted in its metrics.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPodIpam, type PodIpam } from '../../src/agent/pod-ipam.js';
import { buildNodeDesired } from '../../src/agent/test-support/desired-builder.js';
import { PROTOCOL_VERSION } from '../../src/api/agent-ipam-protocol.js';
import { createAgentClient } from '../../src/cni/agent-client.js';
import type { KubeClient } from '../../src/kube/index.js';
import { cidrMasked, formatCidr, parseCidrLoose } from '../../src/net/index.js';
import { createPromMetrics } from '../../src/observe/prom-metrics.js';
import { DEFAULT_CEILING_MS, runCommand, startControlPlane, type ControlPlane } from '../harness/index.js';
import {
  TABBY_MAIN,
  distProblem,
  eventually,
  fileLogger,
  inProcessOperator,
  installCrds,
  logFile,
  metricValue,
  nodeObject,
  poolObject,
  rawClients,
} from './operator-support.js';

const POOL = '10.90.0.0/16';

interface Row {
  time: string;
  action: string;
  reason: string;
  object: string;
  related?: string;
  note: string;
  count: number;
  reportedBy: string;
}

describe('IPAM history: decisions as Events, found again by tabby ipam history', () => {
  let cp: ControlPlane;
  let op: ReturnType<typeof inProcessOperator>;
  let client: KubeClient;
  const ipams = new Map<string, PodIpam>();
  const quietMetrics = createPromMetrics('agent');
  let dir: string;
  const log = logFile('ipam-history');
  const socket = (node: string) => join(dir, `${node}.sock`);

  async function assign(node: string, ns: string, pod: string): Promise<string> {
    const r = await createAgentClient(socket(node), DEFAULT_CEILING_MS).call({
      v: PROTOCOL_VERSION,
      op: 'assign',
      handleId: `k8s-pod-network.${ns}-${pod}`,
      containerId: `${ns}-${pod}`,
      attrs: { namespace: ns, pod, node },
      families: [4],
    });
    return r.addresses[0]!.address.split('/')[0]!;
  }

  async function release(node: string, ns: string, pod: string): Promise<void> {
    await createAgentClient(socket(node), DEFAULT_CEILING_MS).call({
      v: PROTOCOL_VERSION,
      op: 'release',
      handleId: `k8s-pod-network.${ns}-${pod}`,
    });
  }

  async function history(args: string[]): Promise<Row[]> {
    const r = await runCommand(process.execPath, [
      TABBY_MAIN,
      'ipam',
      'history',
      ...args,
      '-o',
      'json',
      `--kubeconfig=${cp.kubeconfigPath}`,
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    return JSON.parse(r.stdout) as Row[];
  }

  const brief = (rows: Row[]) => rows.map((r) => `${r.reason} ${r.object}`);

  beforeAll(async () => {
    const stale = distProblem();
    if (stale) throw new Error(stale);
    cp = await startControlPlane({ name: 'ipam-history' });
    await installCrds(cp);
    op = inProcessOperator(cp, log);
    client = op.client;
    for (const [name, ip] of [
      ['hist-1', '10.0.0.11/24'],
      ['hist-2', '10.0.0.12/24'],
      ['hist-3', '10.0.0.13/24'],
    ] as const) {
      await client.nodes().create(nodeObject({ name, ipv4: ip }));
    }
    await rawClients(client).pools.create(poolObject('hist-pool', POOL));
    await op.operator.start();
    dir = mkdtempSync(join(tmpdir(), 'tabby-hist-'));
    for (const nodeName of ['hist-1', 'hist-2', 'hist-3']) {
      const ipam = createPodIpam({
        client,
        nodeName,
        socketPath: socket(nodeName),
        logger: fileLogger(log),
        desired: () => buildNodeDesired(),
        hostMtu: () => 1500,
        // hist-3's agent may write 2 Events and then 1 per hour: what it records beyond that is dropped and counted.
        ...(nodeName === 'hist-3' ? { metrics: quietMetrics, eventRateLimit: { perSecond: 1 / 3600, burst: 2 } } : {}),
      });
      await ipam.start();
      ipams.set(nodeName, ipam);
    }
  });

  afterAll(async () => {
    console.log(`log: ${log}`);
    for (const ipam of ipams.values()) await ipam.stop();
    await op?.stop();
    await cp?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a pod: its address assigned and released, on the Pod, with the block and the handle; --ip finds the block claim too', async () => {
    await client.pods().create({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'web-1', namespace: 'default' },
      spec: { nodeName: 'hist-1', containers: [{ name: 'app', image: 'none' }] },
    });
    const ip = await assign('hist-1', 'default', 'web-1');
    const block = formatCidr(cidrMasked(parseCidrLoose(`${ip}/26`)));
    await release('hist-1', 'default', 'web-1');

    const { value: rows } = await eventually('both Events of web-1', async () => {
      const r = await history(['--pod', 'default/web-1']);
      return r.length >= 2 ? r : undefined;
    });
    expect(brief(rows)).toEqual(['AddressAssigned Pod/default/web-1', 'AddressReleased Pod/default/web-1']);
    expect(rows.map((r) => r.action)).toEqual(['Allocate', 'Release']);
    expect(rows[0]!.note).toBe(`assigned ${ip} (block ${block}) on node hist-1, handle k8s-pod-network.default-web-1`);
    expect(rows[1]!.note).toContain(`released ${ip}`);
    expect(rows[0]!.related).toBe(`IPAMBlock/${block.replace(/[./]/g, '-')}`);

    // By address: the pod's two Events and the operator's claim of the block holding it (and nothing of other blocks).
    const { value: byIp } = await eventually('the block claim among the address history', async () => {
      const r = await history(['--ip', ip]);
      return r.some((x) => x.reason === 'BlockClaimed') ? r : undefined;
    });
    expect(brief(byIp).sort()).toEqual(
      ['AddressAssigned Pod/default/web-1', 'AddressReleased Pod/default/web-1', 'BlockClaimed Node/hist-1'].sort(),
    );
    expect(byIp.find((r) => r.reason === 'BlockClaimed')!.note).toBe(
      `claimed block ${block} of pool hist-pool for node hist-1: it had no block with free addresses`,
    );
  });

  it('a deleted node: GC releases the address it left and its block, each recorded', async () => {
    const ip = await assign('hist-2', 'default', 'sandbox-only'); // no Pod object: a sandbox the API never saw
    await ipams.get('hist-2')!.stop();
    ipams.delete('hist-2');
    await client.nodes().delete('hist-2');
    const { value: rows } = await eventually(
      'GC of hist-2 in the history of its address',
      async () => {
        const r = await history(['--ip', ip]);
        return r.some((x) => x.reason === 'AddressGarbageCollected') && r.some((x) => x.reason === 'BlockReleased')
          ? r
          : undefined;
      },
      { describe: () => 'see the operator log' },
    );
    const gc = rows.find((r) => r.reason === 'AddressGarbageCollected')!;
    expect(gc.object).toBe('Pod/default/sandbox-only');
    expect(gc.note).toContain(`released ${ip}`);
    expect(gc.note).toContain('its node was deleted');
    expect(rows.find((r) => r.reason === 'BlockReleased')!.note).toContain('of node hist-2: the node was deleted');
  });

  it('a pod object gone while its address stays allocated: GC records the suspected leak', async () => {
    await client.pods().create({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'leaky', namespace: 'default' },
      spec: { nodeName: 'hist-1', containers: [{ name: 'app', image: 'none' }] },
    });
    const ip = await assign('hist-1', 'default', 'leaky');
    await client.pods().delete('leaky', { namespace: 'default', gracePeriodSeconds: 0 });
    // GC runs on its own period (30 s) and whenever a Node goes: delete an empty node to have it look now.
    await client.nodes().create(nodeObject({ name: 'hist-gone', ipv4: '10.0.0.99/24' }));
    await client.nodes().delete('hist-gone');
    const { value: rows } = await eventually('the suspected leak', async () => {
      const r = await history(['--pod', 'default/leaky']);
      return r.some((x) => x.reason === 'AddressLeakSuspected') ? r : undefined;
    });
    const leak = rows.find((r) => r.reason === 'AddressLeakSuspected')!;
    expect(leak.note).toContain(`${ip} (block `);
    expect(leak.note).toContain('is allocated but no running pod has it; released in 15m unless it is used again');
  });

  it('an agent over its rate limit drops Events and counts them; history shows only what was written', async () => {
    const ips = [];
    for (const pod of ['q1', 'q2', 'q3']) ips.push(await assign('hist-3', 'default', pod));
    await release('hist-3', 'default', 'q1');
    // 4 decisions, a burst of 2: two written, two dropped.
    const { value: text } = await eventually('two dropped Events counted', async () => {
      const t = await quietMetrics.registry.metrics();
      return metricValue(t, 'tabby_events_dropped_total{reason="rateLimited"}') === 2 ? t : undefined;
    });
    expect(metricValue(text, 'tabby_events_total{type="Normal",action="create"}')).toBe(2);
    // The agent's Events only: the operator's GC may meanwhile suspect these Pod-less addresses of leaking.
    const byAgent = async (pod: string) =>
      (await history(['--pod', `default/${pod}`])).filter((r) => r.reportedBy === 'tabby.dev/agent/hist-3');
    expect(brief([...(await byAgent('q1')), ...(await byAgent('q2'))])).toEqual([
      'AddressAssigned Pod/default/q1',
      'AddressAssigned Pod/default/q2',
    ]);
    expect(await byAgent('q3')).toEqual([]);
  });
});
