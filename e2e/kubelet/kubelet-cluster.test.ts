// Tabby as its users run it: a cluster of real kubelet nodes (containerd, kube-proxy) in two subnets behind a
// router, Tabby installed by `helm install` with the chart's defaults and a VXLAN CrossSubnet pool, CoreDNS. Then:
// the nodes turned Ready only once the agent's pod had installed tabby-cni, the agent set NetworkUnavailable=False
// and the node address Calico's way; Deployment pods got their addresses from the pool through kubelet →
// containerd → tabby-cni; Kubernetes' own sig-network e2e tests pass; and a pod whose pool is exhausted stays
// ContainerCreating with our CNI error in its kubelet event, leaking nothing once deleted.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cidrContainsIP, parseCidr, parseIP } from '../../src/net/index.js';
import { waitUntil } from '../dataplane/wait-until.js';
import { CI_FOCUS, ciSkipFor, runConformance } from './conformance.js';
import { condition, startTabbyKubeCluster, TABBY_NAMESPACE, type TabbyKubeCluster } from './tabby-kube.js';
import { connectivityMatrix, deployNetexec, type NetPod } from './workload.js';

const log = (l: string): void => console.log(`[kubelet-cluster] ${l}`);

/** The [Conformance] specs issue 16 names, and the Services granular checks kube-proxy serves. */
export const REQUIRED_SPECS = [
  '[sig-network] Networking Granular Checks: Pods should function for intra-pod communication: http [NodeConformance] [Conformance]',
  '[sig-network] Networking Granular Checks: Pods should function for intra-pod communication: udp [NodeConformance] [Conformance]',
  '[sig-network] Networking Granular Checks: Pods should function for node-pod communication: http [LinuxOnly] [NodeConformance] [Conformance]',
  '[sig-network] Networking Granular Checks: Pods should function for node-pod communication: udp [LinuxOnly] [NodeConformance] [Conformance]',
  '[sig-network] HostPort validates that there is no conflict between pods with same hostPort but different hostIP and protocol [LinuxOnly] [Conformance]',
  '[sig-network] Networking Granular Checks: Services should function for pod-Service: http',
  '[sig-network] Networking Granular Checks: Services should function for pod-Service: udp',
  '[sig-network] Networking Granular Checks: Services should function for node-Service: http',
  '[sig-network] Networking Granular Checks: Services should function for node-Service: udp',
  '[sig-network] Networking Granular Checks: Services should function for endpoint-Service: http',
  '[sig-network] Networking Granular Checks: Services should function for endpoint-Service: udp',
  '[sig-network] Networking Granular Checks: Services should function for multiple endpoint-Services with same selector',
  '[sig-network] Networking Granular Checks: Services should update endpoints: http',
  '[sig-network] Networking Granular Checks: Services should update endpoints: udp',
  '[sig-network] Networking Granular Checks: Services should support basic nodePort: udp functionality',
  '[sig-network] Networking Granular Checks: Services should function for client IP based session affinity: http [LinuxOnly]',
  '[sig-network] Networking Granular Checks: Services should function for client IP based session affinity: udp [LinuxOnly]',
  '[sig-network] Networking Granular Checks: Services should be able to handle large requests: http',
  '[sig-network] Networking Granular Checks: Services should be able to handle large requests: udp',
  '[sig-network] Networking Granular Checks: Services should function for service endpoints using hostNetwork',
];

interface NodeJson {
  metadata: { name: string; annotations?: Record<string, string> };
  status: {
    addresses: { type: string; address: string }[];
    conditions: { type: string; status: string; reason?: string; lastTransitionTime: string }[];
  };
}
interface PodJson {
  metadata: { name: string; annotations?: Record<string, string> };
  spec: { nodeName?: string };
  status: {
    phase: string;
    podIP?: string;
    podIPs?: { ip: string }[];
    containerStatuses?: {
      state?: { running?: { startedAt: string } };
      lastState?: { terminated?: { startedAt: string } };
    }[];
  };
}
interface BlockJson {
  spec: { cidr: string; affinity?: string };
}

describe('a kubelet cluster with Tabby installed by its Helm chart (VXLAN CrossSubnet)', () => {
  let c: TabbyKubeCluster;

  beforeAll(async () => {
    c = await startTabbyKubeCluster({ mode: 'VXLANCrossSubnet', progress: log });
  }, 1_200_000);

  afterAll(async () => {
    await c?.stop();
  });

  it("turned each node Ready only after its agent pod started, and the agent set the node's network condition and address", async () => {
    const nodes = await c.getJson<{ items: NodeJson[] }>(['get', 'nodes']);
    const agents = await c.getJson<{ items: PodJson[] }>([
      'get',
      'pods',
      '-n',
      TABBY_NAMESPACE,
      '-l',
      'app.kubernetes.io/component=agent',
    ]);
    expect(nodes.items.map((n) => n.metadata.name).sort()).toEqual([...c.nodes.keys()].sort());
    for (const n of nodes.items) {
      const name = n.metadata.name;
      const node = c.nodes.get(name)!;
      const agent = agents.items.find((p) => p.spec.nodeName === name);
      // The agent container's first start (an earlier instance's, when it has been restarted).
      const status = agent?.status.containerStatuses?.[0];
      const agentStarted = status?.lastState?.terminated?.startedAt ?? status?.state?.running?.startedAt;
      expect(agentStarted, `agent pod on ${name}`).toBeDefined();
      const ready = n.status.conditions.find((x) => x.type === 'Ready')!;
      expect(ready.status).toBe('True');
      // kubelet's NetworkReady needs the CNI configuration the agent installs at its start (second resolution).
      expect(Date.parse(ready.lastTransitionTime)).toBeGreaterThanOrEqual(Date.parse(agentStarted!));
      const network = n.status.conditions.find((x) => x.type === 'NetworkUnavailable');
      expect(network).toMatchObject({ status: 'False', reason: 'TabbyIsUp' });
      // Calico's autodetection (first-found): the node container's eth0 address with its subnet's prefix.
      expect(n.metadata.annotations?.['projectcalico.org/IPv4Address']).toBe(`${node.ip}/24`);
      expect(n.status.addresses).toContainEqual({ type: 'InternalIP', address: node.ip });
      expect(condition(n, 'Ready')).toBe('True');
    }
  });

  it('admits each kubelet as its own node only (Node authorizer and NodeRestriction)', async () => {
    const [first, second] = [...c.nodes.keys()] as [string, string];
    const kubeconfig = join(c.cp.dir, 'nodes', first, 'kubelet.kubeconfig');
    const other = await c.cp.kubectl(['label', 'node', second, 'example.com/touched=yes'], { kubeconfig });
    expect(other.code).not.toBe(0);
    expect(other.stderr).toContain(`node '${first}' cannot read '${second}', only its own Node object`);
    const secrets = await c.cp.kubectl(['get', 'secrets', '-n', TABBY_NAMESPACE], { kubeconfig });
    expect(secrets.code).not.toBe(0);
    expect(secrets.stderr).toContain(`User "system:node:${first}" cannot list resource "secrets"`);
  });

  describe('a Deployment of agnhost pods', () => {
    let pods: NetPod[];
    let serviceIP: string;

    beforeAll(async () => {
      pods = await deployNetexec(c, 'netexec', 'default', 6);
      serviceIP = (await c.kubectl(['get', 'service', 'netexec', '-o', 'jsonpath={.spec.clusterIP}'])).trim();
    }, 300_000);

    it("got each pod's address from its node's block of the pool, through kubelet → containerd → tabby-cni", async () => {
      expect(new Set(pods.map((p) => p.node))).toEqual(new Set(c.nodes.keys()));
      const blocks = await c.getJson<{ items: BlockJson[] }>(['get', 'ipamblocks']);
      const podJson = await c.getJson<{ items: PodJson[] }>(['get', 'pods', '-n', 'default', '-l', 'app=netexec']);
      for (const p of podJson.items) {
        const ip = p.status.podIP!;
        expect(cidrContainsIP(parseCidr(c.podCidr), parseIP(ip)), `${p.metadata.name} ${ip}`).toBe(true);
        const block = blocks.items.find((b) => cidrContainsIP(parseCidr(b.spec.cidr), parseIP(ip)));
        expect(block?.spec.affinity, `${p.metadata.name} ${ip}`).toBe(`host:${p.spec.nodeName}`);
        // containerd reports the CNI result's address, and only it (the pool is IPv4 only).
        expect(p.status.podIPs).toEqual([{ ip }]);
      }
    });

    it('answers HTTP from every pod to every pod and to the Service ClusterIP', async () => {
      const m = await connectivityMatrix(c, 'default', pods, serviceIP);
      expect(m.failures).toEqual([]);
      expect(m.answers.size).toBe(pods.length);
    });
  });

  it('keeps a pod whose pool is exhausted ContainerCreating with the CNI error naming the pool, and leaks nothing once it is deleted', async () => {
    const NS = 'exhaust';
    const NODE = [...c.nodes.keys()][0]!;
    const node = c.nodes.get(NODE)!;
    const hostState = async (): Promise<{ links: string[]; netns: string[] }> => {
      const links = await node.sh("ip -o link show | awk -F': ' '{print $2}' | grep '^cali' | cut -d@ -f1 | sort");
      const netns = await node.sh('ls /var/run/netns 2>/dev/null | sort');
      return { links: links.split('\n').filter(Boolean), netns: netns.split('\n').filter(Boolean) };
    };
    const handles = async (): Promise<string[]> =>
      (await c.getJson<{ items: { metadata: { name: string } }[] }>(['get', 'ipamhandles'])).items
        .map((h) => h.metadata.name)
        .sort();
    const before = { host: await hostState(), handles: await handles() };

    // One /30 block (four addresses) that only annotated pods use, as in Calico's "manual pool" pattern.
    await c.kubectl(['apply', '-f', '-'], {
      input: `apiVersion: projectcalico.org/v3
kind: IPPool
metadata: { name: tiny }
spec: { cidr: 192.0.2.0/30, blockSize: 30, ipipMode: Never, vxlanMode: Never, natOutgoing: false, nodeSelector: "!all()" }
---
apiVersion: v1
kind: Namespace
metadata: { name: ${NS}, annotations: { cni.projectcalico.org/ipv4pools: '["tiny"]' } }
`,
    });
    const names = ['p1', 'p2', 'p3', 'p4', 'p5'];
    const pod = (name: string): string => `apiVersion: v1
kind: Pod
metadata: { name: ${name}, namespace: ${NS} }
spec:
  nodeName: ${NODE}
  terminationGracePeriodSeconds: 0
  containers: [{ name: pause, image: ${c.images.pause} }]
`;
    await c.kubectl(['apply', '-f', '-'], { input: names.map(pod).join('---\n') });

    const { value: stuck } = await waitUntil(
      'four pods Running in the tiny pool and one whose sandbox failed',
      async () => {
        const list = await c.getJson<{ items: PodJson[] }>(['get', 'pods', '-n', NS]);
        const running = list.items.filter((p) => p.status.phase === 'Running');
        const events = await c.getJson<{
          items: {
            involvedObject: { name: string };
            reason: string;
            message: string;
            lastTimestamp?: string;
            source?: { component?: string };
          }[];
        }>(['get', 'events', '-n', NS]);
        const failed = events.items.filter((e) => e.reason === 'FailedCreatePodSandBox');
        const pending = list.items.filter((p) => p.status.phase !== 'Running');
        if (running.length !== 4 || pending.length !== 1) return undefined;
        if (!failed.some((e) => e.involvedObject.name === pending[0]!.metadata.name)) return undefined;
        return { running, failed, pending };
      },
      { timeoutMs: 120_000, everyMs: 1000 },
    );
    for (const p of stuck.running) {
      expect(cidrContainsIP(parseCidr('192.0.2.0/30'), parseIP(p.status.podIP!)), p.metadata.name).toBe(true);
    }
    expect(stuck.pending.map((p) => p.status.phase)).toEqual(['Pending']);
    const waiting = stuck.pending[0]!.metadata.name;
    // Its latest failure: while the node's block in the pool was being claimed, an earlier one may have said so.
    const event = stuck.failed
      .filter((e) => e.involvedObject.name === waiting)
      .sort((a, b) => Date.parse(b.lastTimestamp ?? '') - Date.parse(a.lastTimestamp ?? ''))[0];
    expect(event, `a FailedCreatePodSandBox event for ${waiting}`).toBeDefined();
    const message = event!.message;
    log(`kubelet event for ${waiting}: ${message}`);
    expect(event!.source?.component).toBe('kubelet');
    // kubelet → containerd → tabby-cni: the plugin's error, naming the pool (by its CIDR, in Calico's words) and why.
    expect(message).toContain('plugin type="tabby-cni" failed (add): IPAM assignment failed: no free address');
    expect(message).toContain(
      'Assigned 0 out of 1 requested IPv4 addresses; No IPs available in pools: [192.0.2.0/30]',
    );
    const containerState = await c.kubectl([
      'get',
      'pod',
      waiting,
      '-n',
      NS,
      '-o',
      'jsonpath={.status.containerStatuses[0].state.waiting.reason}',
    ]);
    expect(containerState).toBe('ContainerCreating');

    await c.kubectl(['delete', 'pods', '--all', '-n', NS, '--wait=true', '--timeout=120s'], { timeoutMs: 150_000 });
    // Every failed attempt's DEL and every deleted pod's DEL took back what the ADD made: veths, network
    // namespaces, IPAM handles, and the block's addresses.
    await waitUntil(
      'the node and IPAM back to what they were before the five pods',
      async () => {
        const host = await hostState();
        const h = await handles();
        const block = await c.getJson<{ items: { spec: { cidr: string; allocations: (number | null)[] } }[] }>([
          'get',
          'ipamblocks',
        ]);
        const tiny = block.items.find((b) => b.spec.cidr === '192.0.2.0/30');
        const used = tiny?.spec.allocations.filter((a) => a !== null).length ?? 0;
        return JSON.stringify({ host, h, used }) === JSON.stringify({ host: before.host, h: before.handles, used: 0 })
          ? true
          : undefined;
      },
      {
        timeoutMs: 120_000,
        everyMs: 1000,
        describe: async () => JSON.stringify({ before, host: await hostState(), handles: await handles() }),
      },
    );
    await c.kubectl(['delete', 'namespace', NS, '--wait=false']);
    await c.kubectl(['delete', 'ippool', 'tiny']);
  });

  it("passes Kubernetes' sig-network e2e tests: the required specs ran and passed, none failed", async () => {
    const r = await runConformance({
      kubeconfig: c.cp.kubeconfigPath,
      reportDir: `${c.cp.dir}/conformance`,
      nodes: c.nodes.size,
      mode: c.mode,
      focus: CI_FOCUS,
      skip: ciSkipFor(c.mode),
      procs: 3,
      progress: log,
    });
    log(`${r.passed} passed, ${r.failed} failed, ${r.skipped} skipped in ${r.seconds.toFixed(0)} s`);
    const failed = r.specs.filter((s) => s.status === 'failed');
    expect(failed.map((s) => `${s.name}\n${(s.message ?? '').slice(0, 2000)}`)).toEqual([]);
    const passed = new Set(r.specs.filter((s) => s.status === 'passed').map((s) => s.name));
    expect(REQUIRED_SPECS.filter((name) => !passed.has(name))).toEqual([]);
    expect(r.exitCode).toBe(0);
  }, 5_400_000);
});
