// Service advertisement and BGPFilters through the operator's event path against a real apiserver (in this process,
// its writes counted): Services and EndpointSlices are read from the operator's caches into plan changes, and each
// change rewrites exactly the NodeDataplanes whose announcements it changes — an externalTrafficPolicy: Local
// Service the node with its endpoint, a pod starting beside one already there nothing, the endpoint moving the two
// nodes concerned, a Service deleted the node that announced it — while the serviceClusterIPs range stays on every
// node. A BGPFilter is written only to the nodes whose sessions name it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BGPFilterKind, BGPPeerKind, BGPConfigurationKind, type NodeDataplane } from '../../src/api/index.js';
import { ENDPOINT_SLICES, SERVICES, ServiceSchema, type KubeClient, type KubeObject } from '../../src/kube/index.js';
import type { Operator } from '../../src/operator/operator.js';
import { startControlPlane, type ControlPlane } from '../harness/index.js';
import {
  copyCounts,
  eventually,
  inProcessOperator,
  installCrds,
  logFile,
  newWriteCounts,
  nodeObject,
  poolObject,
  rawClients,
  readCluster,
  serverSeen,
  writesBetween,
  type TestNode,
} from './operator-support.js';

const NODES: TestNode[] = [
  { name: 'node-a', ipv4: '10.0.0.11/24', labels: { rack: 'r1' } },
  { name: 'node-b', ipv4: '10.0.0.12/24' },
  { name: 'node-c', ipv4: '10.0.0.13/24' },
];
const NAMES = NODES.map((n) => n.name);
const RANGE = '10.96.0.0/12';

describe('operator: Services, EndpointSlices and BGPFilters make plan changes for the nodes they concern', () => {
  let cp: ControlPlane;
  let op: { operator: Operator; client: KubeClient; stop(): Promise<void> };
  let client: KubeClient;
  const counts = newWriteCounts();
  const log = logFile('bgp');
  let clusterIP = '';

  beforeAll(async () => {
    cp = await startControlPlane({ name: 'operator-bgp' });
    await installCrds(cp);
    op = inProcessOperator(cp, log, {}, counts);
    client = op.client;
    for (const n of NODES) await client.nodes().create(nodeObject(n));
    await rawClients(client).pools.create(poolObject('pool-a', '10.244.0.0/16'));
    await client.kind(BGPConfigurationKind).create({
      apiVersion: 'projectcalico.org/v3',
      kind: 'BGPConfiguration',
      metadata: { name: 'default' },
      spec: { serviceClusterIPs: [{ cidr: RANGE }] },
    });
    await op.operator.start();
  });

  afterAll(async () => {
    console.log(`operator log: ${log}`);
    await op?.stop();
    await cp?.stop();
  });

  const exported = async (): Promise<Map<string, string[]>> => {
    const s = await readCluster(client);
    return new Map(
      NAMES.map((n) => [n, (s.dataplanes.get(n)?.status?.desired?.bgp?.exportPrefixes ?? []).map((p) => p.cidr)]),
    );
  };
  const desired = async (n: string): Promise<NodeDataplane['status']> =>
    (await readCluster(client)).dataplanes.get(n)?.status;

  /** Waits for `want` to hold, then for the operator to settle; returns the NodeDataplane writes in between. */
  const change = async (what: string, act: () => Promise<unknown>, want: (e: Map<string, string[]>) => boolean) => {
    // Counting starts once the operator has had every event of what was written so far (its caches can lag: a fresh
    // apiserver answers watches of new CRDs with 429 for a while).
    await op.operator.settled({ seen: await serverSeen(client) });
    const before = copyCounts(counts);
    await act();
    await eventually(what, async () => want(await exported()), { describe: () => 'see operator log' });
    await op.operator.settled();
    return dataplaneWrites(before);
  };
  /** The operator's NodeDataplane writes since `before` (the test writes through the same client). */
  const dataplaneWrites = (before: ReturnType<typeof copyCounts>) =>
    Object.fromEntries(
      Object.entries(writesBetween(before, copyCounts(counts))).filter(([k]) => k.includes('nodedataplanes')),
    );

  const services = () => client.resource(SERVICES, ServiceSchema);
  const slices = () => client.resource(ENDPOINT_SLICES);
  const slice = (...nodes: string[]): KubeObject =>
    ({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: 'web-x1', namespace: 'default', labels: { 'kubernetes.io/service-name': 'web' } },
      addressType: 'IPv4',
      endpoints: nodes.map((nodeName, i) => ({
        addresses: [`10.244.9.${i + 1}`],
        nodeName,
        conditions: { ready: true },
      })),
    }) as KubeObject;

  it('announces the serviceClusterIPs range from every node', async () => {
    await eventually('range everywhere', async () => [...(await exported()).values()].every((e) => e.includes(RANGE)));
    for (const n of NAMES) expect((await desired(n))?.desired?.bgp?.serviceRejectPrefixes).toEqual([RANGE]);
  });

  it('an externalTrafficPolicy: Local Service: only the node with its endpoint is rewritten, and only as it moves', async () => {
    let ip = '';
    const has = (e: Map<string, string[]>, n: string) => (e.get(n) ?? []).includes(`${ip}/32`);
    let w = await change(
      'Service and its endpoint on node-b',
      async () => {
        // Written untyped (ServiceSchema keeps only what service advertisement reads, not ports), read back typed.
        const written = await client.resource(SERVICES).create({
          apiVersion: 'v1',
          kind: 'Service',
          metadata: { name: 'web', namespace: 'default' },
          spec: { type: 'LoadBalancer', externalTrafficPolicy: 'Local', ports: [{ port: 80 }] },
        });
        const svc = ServiceSchema.parse(written);
        ip = clusterIP = svc.spec?.clusterIP ?? '';
        await slices().create(slice('node-b'));
      },
      (e) => ip !== '' && has(e, 'node-b') && !has(e, 'node-a') && !has(e, 'node-c'),
    );
    expect(w).toEqual({ 'PATCH nodedataplanes/status': 1 });

    // A second pod on node-b: the nodes with a ready endpoint are the same, nothing is written.
    await op.operator.settled({ seen: await serverSeen(client) });
    const before = copyCounts(counts);
    const cur = await slices().get('web-x1', { namespace: 'default' });
    const replaced = await slices().replace({ ...slice('node-b', 'node-b'), metadata: cur.metadata });
    // Settled once the operator has had the event: without `seen` this could pass before the change arrived.
    await op.operator.settled({ seen: { endpointSlices: replaced.metadata.resourceVersion } });
    expect(dataplaneWrites(before)).toEqual({});

    w = await change(
      'the endpoint moves to node-c',
      async () => {
        const now = await slices().get('web-x1', { namespace: 'default' });
        await slices().replace({ ...slice('node-c'), metadata: now.metadata });
      },
      (e) => has(e, 'node-c') && !has(e, 'node-b'),
    );
    expect(w).toEqual({ 'PATCH nodedataplanes/status': 2 });

    w = await change(
      'the Service is deleted',
      () => services().delete('web', { namespace: 'default' }),
      (e) => NAMES.every((n) => !has(e, n)),
    );
    expect(w).toEqual({ 'PATCH nodedataplanes/status': 1 });
    expect([...(await exported()).values()].every((e) => e.includes(RANGE))).toBe(true);
    expect(clusterIP).not.toBe('');
  });

  it('a BGPFilter is written to the nodes whose sessions name it, and nowhere else', async () => {
    await client.kind(BGPPeerKind).create({
      apiVersion: 'projectcalico.org/v3',
      kind: 'BGPPeer',
      metadata: { name: 'tor' },
      spec: { nodeSelector: 'rack == "r1"', peerIP: '10.0.0.254', asNumber: 65000, filters: ['no-pods'] },
    });
    await eventually('session on node-a', async () =>
      ((await desired('node-a'))?.desired?.bgp?.peers ?? []).some((p) => p.peerIP === '10.0.0.254'),
    );
    await op.operator.settled({ seen: await serverSeen(client) });
    const before = copyCounts(counts);
    await client.kind(BGPFilterKind).create({
      apiVersion: 'projectcalico.org/v3',
      kind: 'BGPFilter',
      metadata: { name: 'no-pods' },
      spec: { exportV4: [{ action: 'Reject', matchOperator: 'In', cidr: '10.244.0.0/16' }] },
    });
    await eventually('filter on node-a', async () =>
      ((await desired('node-a'))?.desired?.bgp?.filters ?? []).some((f) => f.name === 'no-pods'),
    );
    await op.operator.settled();
    expect(dataplaneWrites(before)).toEqual({ 'PATCH nodedataplanes/status': 1 });
    expect((await desired('node-b'))?.desired?.bgp?.filters).toBeUndefined();
  });
});
