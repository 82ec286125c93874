// Pods made through the CNI plugin on real nodes: the agent installs tabby-cni and serves IPAM for its node's
// blocks; `cnitool` drives ADD/DEL as a container runtime would. Pods on three nodes ping each other (VXLAN), the
// plumbing is Calico's, and add/delete churn leaves IPAM with no duplicate and no leak (`tabby ipam check`).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import type { NodeDataplane } from '../../src/api/index.js';
import { cidrContainsIP, parseCidr, parseIP } from '../../src/net/index.js';
import { cniDelete, cniPod, pingMatrix, type TestPod } from './pods.js';
import { buildNodeImage } from './images.js';
import { startTabbyCluster, type TabbyCluster } from './tabby-cluster.js';

type CniTestPod = TestPod & { containerId: string };

describe('CNI plugin on 3 nodes (VXLAN)', () => {
  let c: TabbyCluster;
  const pods: CniTestPod[] = [];

  beforeAll(async () => {
    const image = buildNodeImage();
    c = await startTabbyCluster({
      image,
      networks: [{ name: 'cni', subnet: '172.30.41.0/24' }],
      nodes: [
        { name: 'cni-1', network: 'cni' },
        { name: 'cni-2', network: 'cni' },
        { name: 'cni-3', network: 'cni' },
      ],
      poolEnv: {
        CALICO_IPV4POOL_CIDR: '10.245.0.0/16',
        CALICO_IPV4POOL_IPIP: 'Never',
        CALICO_IPV4POOL_VXLAN: 'Always',
      },
      agentArgs: ['--no-bird'],
    });
    await c.waitProgrammed();
    for (const node of c.nodes.values()) {
      for (const i of [1, 2]) pods.push(await cniPod(node, 'default', `${node.name}-web-${i}`));
    }
  });

  afterAll(async () => {
    await c?.stop();
  });

  it("gives each pod an address from its node's own block", async () => {
    const ndps = await c.getJson<{ items: NodeDataplane[] }>(['get', 'nodedataplanes']);
    for (const pod of pods) {
      const blocks = ndps.items.find((n) => n.metadata.name === pod.node.name)!.status!.desired!.blocks;
      expect(
        blocks.some((b) => cidrContainsIP(parseCidr(b.cidr), parseIP(pod.ip))),
        `${pod.name} ${pod.ip}`,
      ).toBe(true);
    }
    expect(new Set(pods.map((p) => p.ip)).size).toBe(pods.length);
  });

  it('plumbs the pod as Calico does', async () => {
    const pod = pods[0]!;
    const host = await pod.node.sh(
      `ip -j link show ${pod.hostIface}; cat /proc/sys/net/ipv4/conf/${pod.hostIface}/proxy_arp; ip route show ${pod.ip}`,
    );
    expect(host).toContain('"address":"ee:ee:ee:ee:ee:ee"');
    expect(host).toMatch(/\n1\n/);
    expect(host).toContain(`${pod.ip} dev ${pod.hostIface} scope link`);
    const inPod = await pod.node.sh(`ip -n ${pod.netns} -4 addr show eth0; ip -n ${pod.netns} route`);
    expect(inPod).toContain(`inet ${pod.ip}/32`);
    expect(inPod).toContain('default via 169.254.1.1 dev eth0');
    expect(inPod).toContain('169.254.1.1 dev eth0 scope link');
  });

  it('lets every pod ping every other pod', async () => {
    expect(await pingMatrix(pods)).toEqual([]);
  });

  it('leaves no duplicate and no leak after add/delete churn', async () => {
    const perNode = 10;
    const churn = await Promise.all(
      [...c.nodes.values()].map(async (node) => {
        const made: CniTestPod[] = [];
        for (let i = 0; i < perNode; i++) made.push(await cniPod(node, 'churn', `${node.name}-c${i}`));
        for (const p of made.filter((_, i) => i % 2 === 0)) await cniDelete(p);
        return made.filter((_, i) => i % 2 === 1);
      }),
    );
    const kept = churn.flat();
    const all = [...pods, ...kept];
    expect(new Set(all.map((p) => p.ip)).size).toBe(all.length);
    // The Pod objects a kubelet would have: IPAM check counts an address whose pod does not exist as leaked.
    await c.cp.kubectl(['create', 'namespace', 'churn']);
    for (const p of all) {
      const pod = {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: p.name, namespace: p.namespace },
        spec: { nodeName: p.node.name, containers: [{ name: 'app', image: 'none' }] },
      };
      expect((await c.cp.kubectl(['apply', '-f', '-'], { input: JSON.stringify(pod) })).code).toBe(0);
      const status = JSON.stringify({ status: { podIP: p.ip, podIPs: [{ ip: p.ip }] } });
      const patched = await c.cp.kubectl([
        'patch',
        'pod',
        p.name,
        '-n',
        p.namespace,
        '--subresource=status',
        '--type=merge',
        '-p',
        status,
      ]);
      expect(patched.code, patched.stderr).toBe(0);
    }
    execFileSync('npm', ['run', '-s', 'build'], { stdio: 'ignore' });
    const run = spawnSync('node', ['dist/cli/main.js', 'ipam', 'check', '--kubeconfig', c.cp.kubeconfigPath], {
      encoding: 'utf8',
    });
    const check = run.stdout;
    expect(run.status, `${run.stdout}${run.stderr}`).toBe(0);
    expect(check).toMatch(/: 0 errors, /);
    // Every kept pod's address and each node's tunnel address are allocated; the deleted pods' are free again.
    const allocations = Number(/(\d+) allocations/.exec(check)![1]);
    expect(allocations).toBe(all.length + c.nodes.size);
  });
});
