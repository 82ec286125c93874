// The route readiness gate on real kubelets (issue 21 item 1): Tabby installed by its chart on two nodes in two
// subnets (VXLAN CrossSubnet), a busybox pod on each; then a third node joins. Proven: kubelet keeps the new node
// NotReady until its agent writes the CNI configuration, and the agent writes it only once the operator has set
// RoutesConverged=True on the node's NodeDataplane (every peer agent applied the routes to it); an ordinary pod the
// scheduler then puts on the new node answers ONE ping (`ping -c 1 -W 5`, a single packet, no retry) from every
// other node and from the pod on every other node, sent as soon as the pod is Running.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitUntil } from '../dataplane/wait-until.js';
import { startTabbyKubeCluster, type TabbyKubeCluster } from './tabby-kube.js';

const log = (l: string): void => console.log(`[route-gate] ${l}`);
const CONFLIST = '/etc/cni/net.d/10-tabby.conflist';
const NS = 'default';

interface Cond {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}
interface PodJson {
  spec: { nodeName?: string };
  status: { phase?: string; podIP?: string };
}

function pod(name: string, node: string, image: string): string {
  return `apiVersion: v1
kind: Pod
metadata: { name: ${name}, namespace: ${NS} }
spec:
  nodeSelector: { kubernetes.io/hostname: ${node} }
  terminationGracePeriodSeconds: 1
  containers:
    - { name: sh, image: ${image}, command: [sleep, '86400'] }
`;
}

describe('route readiness gate on a kubelet cluster', () => {
  let c: TabbyKubeCluster;

  beforeAll(async () => {
    c = await startTabbyKubeCluster({
      mode: 'VXLANCrossSubnet',
      topology: {
        networks: [
          { name: 'kube-a', subnet: '172.30.70.0/24' },
          { name: 'kube-b', subnet: '172.30.71.0/24' },
        ],
        nodes: [
          { name: 'node-1', network: 'kube-a' },
          { name: 'node-2', network: 'kube-b' },
        ],
      },
      coredns: false,
      progress: log,
    });
  }, 1_200_000);

  afterAll(async () => {
    await c?.stop();
  });

  const running = (name: string) =>
    waitUntil(
      `pod ${name} Running`,
      async () => {
        const p = await c.getJson<PodJson>(['get', 'pod', name, '-n', NS]);
        return p.status.phase === 'Running' && p.status.podIP ? p : undefined;
      },
      { timeoutMs: 300_000, everyMs: 200 },
    );

  it('a joining node gets its CNI configuration only after the routes to it converged, and its first pod answers the first ping from every node and pod', async () => {
    const peers = ['node-1', 'node-2'];
    for (const n of peers) await c.kubectl(['apply', '-f', '-'], { input: pod(`pinger-${n}`, n, c.images.busybox) });
    for (const n of peers) await running(`pinger-${n}`);

    const joined = await c.addNode({ name: 'node-3', network: 'kube-a' });
    let sawNotReady = false;
    const violations: string[] = [];
    // Until the conflist is there: Node Ready=True never without it, and the conflist never without the condition.
    const seen = await waitUntil(
      'the CNI configuration on node-3',
      async () => {
        const node = await c.getJson<{ status?: { conditions?: Cond[] } }>(['get', 'node', 'node-3']);
        const ready = node.status?.conditions?.find((x) => x.type === 'Ready')?.status === 'True';
        const present = (await joined.exec(['test', '-f', CONFLIST])).exitCode === 0;
        if (ready && !present) violations.push('node-3 Ready without a CNI configuration');
        if (!present) {
          sawNotReady ||= !ready;
          return undefined;
        }
        const ndp = await c.getJson<{ status?: { conditions?: Cond[] } }>(['get', 'nodedataplane', 'node-3']);
        return { ndp, ready };
      },
      { timeoutMs: 300_000, everyMs: 100 },
    );
    expect(violations).toEqual([]);
    expect(sawNotReady).toBe(true);
    log(`node-3: CNI configuration seen ${(seen.ms / 1000).toFixed(1)} s after its kubelet registered`);
    const gate = seen.value.ndp.status?.conditions?.find((x) => x.type === 'RoutesConverged');
    expect(gate?.status, 'RoutesConverged when the conflist appeared').toBe('True');
    expect(gate?.reason).toBe('PeersApplied');
    expect(gate?.message).toMatch(/^routes to this node applied by all 2 peer agent\(s\)/);
    log(`node-3 RoutesConverged: ${gate?.message}`);
    const { value: events } = await waitUntil(
      'the RoutesConverged Event of node-3',
      async () =>
        (await c.kubectl([
          'get',
          'events',
          '-A',
          '--field-selector',
          'reason=RoutesConverged,involvedObject.name=node-3',
          '-o',
          'jsonpath={.items[*].message}',
        ])) || undefined,
      { timeoutMs: 120_000, everyMs: 200 },
    );
    log(`Event: ${events}`);
    expect(events).toMatch(/^routes to node node-3 converged on 2 node\(s\) in \d+\.\d s$/);

    // An ordinary pod (no toleration): the scheduler places it once kubelet reports the node Ready.
    await c.kubectl(['apply', '-f', '-'], { input: pod('target', 'node-3', c.images.busybox) });
    const { value: target } = await running('target');
    expect(target.spec.nodeName).toBe('node-3');
    const ip = target.status.podIP!;
    const once = `ping -c 1 -W 5 ${ip}`;
    const results = await Promise.all([
      ...peers.map(async (n) => ({ from: n, r: await c.nodes.get(n)!.exec(['sh', '-c', once]) })),
      ...peers.map(async (n) => {
        const r = await c
          .kubectl(['exec', '-n', NS, `pinger-${n}`, '--', 'sh', '-c', once])
          .then((out) => ({ exitCode: 0, output: out }))
          .catch((e: Error) => ({ exitCode: 1, output: e.message }));
        return { from: `pinger-${n}`, r };
      }),
    ]);
    for (const { from, r } of results) log(`${from} → target ${ip}: ${r.exitCode === 0 ? 'answered' : r.output}`);
    expect(results.filter((x) => x.r.exitCode !== 0).map((x) => `${x.from}: ${x.r.output}`)).toEqual([]);
  });
});
