// The path-MTU check on real nodes: three nodes in two subnets joined by a router, the second subnet's network (and
// so the router's link into it) carrying only 1400 bytes. VXLAN Always with vxlanMTU unset: each node derives its
// vxlan.calico MTU from its own uplink (1500 - 50 = 1450 in the first subnet, 1400 - 50 = 1350 in the second), so
// every node programs without error — and the first subnet's 1500-byte VXLAN packets cannot reach the second.
// Expected by hand: the two nodes of the first subnet report PathMTU False naming the peer in the second subnet,
// 1450 needing 1500 bytes, the largest that passed 1400 (the router's refusal names it); the node of the second
// subnet reports True; the pool lists both failing paths. With vxlanMTU 1350 in FelixConfiguration default every
// path carries 1400 bytes and everything turns True.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Condition } from '../../src/api/common.js';
import type { IPPool, NodeDataplane } from '../../src/api/index.js';
import { buildNodeImage } from './images.js';
import { startTabbyCluster, type TabbyCluster } from './tabby-cluster.js';
import { waitUntil } from './wait-until.js';

const POOL = 'default-ipv4-ippool';
const condition = (o: { status?: { conditions?: unknown } } | undefined): Condition | undefined =>
  (o?.status?.conditions as Condition[] | undefined)?.find((c) => c.type === 'PathMTU');

describe('path-MTU check, VXLAN across a 1400-byte link', () => {
  let c: TabbyCluster;
  let b1 = '';

  beforeAll(async () => {
    c = await startTabbyCluster({
      image: buildNodeImage(),
      networks: [
        { name: 'pma', subnet: '172.30.51.0/24' },
        { name: 'pmb', subnet: '172.30.52.0/24', mtu: 1400 },
      ],
      nodes: [
        { name: 'pm-a1', network: 'pma' },
        { name: 'pm-a2', network: 'pma' },
        { name: 'pm-b1', network: 'pmb' },
      ],
      poolEnv: {
        CALICO_IPV4POOL_CIDR: '10.244.0.0/16',
        CALICO_IPV4POOL_IPIP: 'Never',
        CALICO_IPV4POOL_VXLAN: 'Always',
      },
      agentArgs: ['--no-bird'],
    });
    await c.waitProgrammed();
    b1 = c.nodes.get('pm-b1')!.ip;
  });

  afterAll(async () => {
    await c?.stop();
  });

  const dataplanes = async () => (await c.getJson<{ items: NodeDataplane[] }>(['get', 'nodedataplanes'])).items;
  const byName = (items: NodeDataplane[], n: string) => items.find((i) => i.metadata.name === n);

  it('each node reports whether its configured VXLAN MTU crosses the underlay to each peer', async () => {
    const { value: items } = await waitUntil(
      'PathMTU on every NodeDataplane',
      async () => {
        // Every node has probed both its peers (a node reports as soon as its first paths are probed, which may be
        // before the other nodes' blocks reach its routes).
        const items = await dataplanes();
        return items.length === 3 && items.every((i) => i.status?.pathMTU?.paths === 2) ? items : undefined;
      },
      { timeoutMs: 180_000, everyMs: 500 },
    );
    for (const a of ['pm-a1', 'pm-a2']) {
      const ndp = byName(items, a);
      expect(condition(ndp), a).toMatchObject({ status: 'False', reason: 'MTUTooLarge' });
      expect(condition(ndp)!.message, a).toBe(
        `1 of 2 paths cannot carry the configured MTU: pm-b1 ${b1} VXLAN: vxlan.calico MTU (vxlanMTU) 1450 needs ` +
          '1500-byte packets, the largest that passed is 1400 (an MTU of at most 1350 fits)',
      );
      expect(ndp!.status!.pathMTU).toEqual({
        paths: 2,
        unreachable: 0,
        failing: [
          {
            peer: 'pm-b1',
            address: b1,
            encapsulation: 'vxlan',
            mtu: 1450,
            size: 1500,
            largestPassed: 1400,
            pools: [POOL],
          },
        ],
      });
    }
    const b = condition(byName(items, 'pm-b1'));
    expect(b).toMatchObject({ status: 'True', reason: 'PathsCarryMTU' });
    expect(b!.message).toBe('all 2 paths to 2 peers carry the configured MTU (bytes on the wire: VXLAN 1400)');

    const metrics = await c.nodes
      .get('pm-a1')!
      .sh(`node -e "fetch('http://127.0.0.1:9092/metrics').then(r => r.text()).then(t => console.log(t))"`);
    expect(metrics).toContain('tabby_agent_path_mtu_paths{result="too_small"} 1');
    expect(metrics).toContain('tabby_agent_path_mtu_paths{result="ok"} 1');

    const table = await c.cp.kubectl(['get', 'nodedataplanes']);
    process.stdout.write(`--- kubectl get nodedataplanes\n${table.stdout}`);
    const yaml = await c.cp.kubectl(['get', 'nodedataplane', 'pm-a1', '-o', 'yaml']);
    process.stdout.write(`--- kubectl get nodedataplane pm-a1 -o yaml\n${yaml.stdout}`);
  });

  it('the pool lists every node whose path cannot carry the MTU', async () => {
    const want =
      "2 node-to-node paths cannot carry the configured MTU (see each NodeDataplane's PathMTU): " +
      'pm-a1 → pm-b1 (VXLAN): MTU 1450 needs 1500-byte packets, the largest that passed is 1400; ' +
      'pm-a2 → pm-b1 (VXLAN): MTU 1450 needs 1500-byte packets, the largest that passed is 1400';
    let last: Condition | undefined;
    await waitUntil(
      'PathMTU False on the pool, naming both paths',
      async () => {
        last = condition(await c.getJson<IPPool>(['get', 'ippool', POOL]));
        return last?.message === want ? true : undefined;
      },
      { timeoutMs: 120_000, everyMs: 500, describe: () => JSON.stringify(last) },
    );
    expect(last).toMatchObject({ status: 'False', reason: 'MTUTooLarge' });
    const described = await c.cp.kubectl(['describe', 'ippool', POOL]);
    process.stdout.write(`--- kubectl describe ippool ${POOL}\n${described.stdout}`);
  });

  it('turns True everywhere once vxlanMTU fits the smallest link', async () => {
    const felix = {
      apiVersion: 'projectcalico.org/v3',
      kind: 'FelixConfiguration',
      metadata: { name: 'default' },
      spec: { vxlanMTU: 1350 },
    };
    const r = await c.cp.kubectl(['apply', '-f', '-'], { input: JSON.stringify(felix) });
    expect(r.code, r.stderr).toBe(0);
    const { ms } = await waitUntil(
      'PathMTU True on every node and on the pool',
      async () => {
        const items = await dataplanes();
        const pool = await c.getJson<IPPool>(['get', 'ippool', POOL]);
        const all = [...items.map(condition), condition(pool)];
        return all.length === 4 && all.every((x) => x?.status === 'True') ? true : undefined;
      },
      { timeoutMs: 180_000, everyMs: 500 },
    );
    for (const ndp of await dataplanes()) {
      expect(condition(ndp)!.message, ndp.metadata.name).toBe(
        'all 2 paths to 2 peers carry the configured MTU (bytes on the wire: VXLAN 1400)',
      );
      expect(ndp.status!.pathMTU).toEqual({ paths: 2, unreachable: 0, failing: [] });
    }
    process.stdout.write(`PathMTU True everywhere ${Math.round(ms)} ms after vxlanMTU 1350 was applied\n`);
    const table = await c.cp.kubectl(['get', 'nodedataplanes']);
    process.stdout.write(`--- kubectl get nodedataplanes\n${table.stdout}`);
  });
});
