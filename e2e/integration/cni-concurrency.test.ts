// Many plugin executions at once, as a node starting and stopping pods sees them: the runtime runs ADD and DEL for
// different containers in parallel (SPEC.md section 3). Ends by checking the invariants: every live pod has its own
// address, IPAM holds exactly the live pods' addresses, and nothing is left after the last DEL.
import { describe, expect, it } from 'vitest';
import { allocationsOf } from '../../src/ipam/index.js';
import { workloadInterfaceName } from '../../src/net/index.js';
import { addNetns, hostLinks, hostRoutes, pluginConfig, runPlugin } from './cni-support.js';
import { useCniFixture } from './cni-fixture.js';

const cni = useCniFixture('k', {
  // Small blocks so that the run claims several of them while pods come and go.
  pools: [{ name: 'pool', cidr: '10.221.0.0/24', blockSize: 28 }],
});
const { prefix, hostIfs } = cni;

interface Pod {
  i: number;
  env: Record<string, string>;
  cali: string;
}

async function makePod(i: number): Promise<Pod> {
  const netns = await addNetns(`${prefix}-${i}`);
  const cali = workloadInterfaceName('churn', `pod-${i}`);
  hostIfs.add(cali);
  return {
    i,
    cali,
    env: {
      CNI_CONTAINERID: `${prefix}c${i}`,
      CNI_NETNS: netns,
      CNI_IFNAME: 'eth0',
      CNI_ARGS: `K8S_POD_NAMESPACE=churn;K8S_POD_NAME=pod-${i}`,
    },
  };
}

async function add(p: Pod): Promise<string> {
  const r = await runPlugin(cni.dirs, { ...p.env, CNI_COMMAND: 'ADD' }, pluginConfig(cni.dirs.socketPath));
  expect(r.code, r.stdout).toBe(0);
  return (r.json?.ips as { address: string }[])[0]!.address.split('/')[0]!;
}

async function del(p: Pod): Promise<void> {
  const r = await runPlugin(cni.dirs, { ...p.env, CNI_COMMAND: 'DEL' }, pluginConfig(cni.dirs.socketPath));
  expect(r.code, r.stdout).toBe(0);
}

async function expectLive(live: Map<number, string>, pods: Pod[]): Promise<void> {
  const addresses = [...live.values()];
  expect(new Set(addresses).size).toBe(addresses.length);
  const allocs = (await cni.agent.store.blocks.list()).flatMap((b) => allocationsOf(b.value));
  expect(allocs.map((a) => a.address).sort()).toEqual([...addresses].sort());
  const links = new Map((await hostLinks()).map((l) => [l.ifname, l]));
  const routes = new Map((await hostRoutes(4)).map((r) => [r.dst, r.dev]));
  for (const p of pods) {
    const ip = live.get(p.i);
    if (ip === undefined) {
      expect(links.has(p.cali)).toBe(false);
    } else {
      expect(links.get(p.cali)?.address).toBe('ee:ee:ee:ee:ee:ee');
      expect(routes.get(ip)).toBe(p.cali);
    }
  }
}

describe('parallel ADD and DEL', () => {
  it('gives every pod its own address and leaves nothing behind', async () => {
    const pods = await Promise.all([...Array(64).keys()].map(makePod));
    const first = pods.slice(0, 40);
    const later = pods.slice(40);
    const live = new Map<number, string>();

    (await Promise.all(first.map(add))).forEach((ip, k) => live.set(first[k]!.i, ip));
    await expectLive(live, pods);

    // Churn: half of the running pods stop while new ones start.
    const stopping = first.filter((p) => p.i % 2 === 0);
    const started = await Promise.all([...stopping.map(del), ...later.map(add)]);
    for (const p of stopping) live.delete(p.i);
    started.slice(stopping.length).forEach((ip, k) => live.set(later[k]!.i, ip as string));
    await expectLive(live, pods);

    await Promise.all([...live.keys()].map((i) => del(pods[i]!)));
    live.clear();
    await expectLive(live, pods);
  });
});
