// Bad input against the real plugin, kernel and allocator: each case gets a CNI error with the spec's JSON, a code
// that says whether retrying helps, a message naming what is wrong — and leaves no interface, route or address.
import { describe, expect, it } from 'vitest';
import { allocationsOf } from '../../src/ipam/index.js';
import { workloadInterfaceName } from '../../src/net/index.js';
import {
  addNetns,
  cleanup,
  cnitool,
  hostLink,
  hostRoutes,
  installPlugin,
  makeCniDirs,
  nsLinks,
  pluginConfig,
  runPlugin,
  sh,
} from './cni-support.js';
import { useCniFixture } from './cni-fixture.js';

const cni = useCniFixture('e', {
  // Four addresses in all: the fifth pod finds the pool exhausted.
  pools: [{ name: 'tiny', cidr: '10.211.0.0/30', blockSize: 30 }],
});
const { prefix, hostIfs } = cni;

let n = 0;
async function freshPod(): Promise<{
  env: Record<string, string>;
  netns: string;
  ns: string;
  cali: string;
  name: string;
}> {
  n++;
  const ns = `${prefix}-${n}`;
  const netns = await addNetns(ns);
  const name = `pod-${n}`;
  const cali = workloadInterfaceName('errs', name);
  hostIfs.add(cali);
  return {
    ns,
    netns,
    cali,
    name,
    env: {
      CNI_COMMAND: 'ADD',
      CNI_CONTAINERID: `${prefix}c${n}`,
      CNI_NETNS: netns,
      CNI_IFNAME: 'eth0',
      CNI_ARGS: `K8S_POD_NAMESPACE=errs;K8S_POD_NAME=${name}`,
    },
  };
}

async function allocations() {
  return (await cni.agent.store.blocks.list()).flatMap((b) => allocationsOf(b.value));
}

async function nothingLeft(p: { cali: string; ns: string; env: Record<string, string> }) {
  expect(await hostLink(p.cali)).toBeUndefined();
  expect((await nsLinks(p.ns)).map((l) => l.ifname)).toEqual(['lo']);
  expect((await allocations()).filter((a) => a.handleId === `k8s-pod-network.${p.env.CNI_CONTAINERID}`)).toEqual([]);
}

describe('bad input', () => {
  it('malformed config JSON → 6', async () => {
    const p = await freshPod();
    const r = await runPlugin(cni.dirs, p.env, '{"cniVersion": "1.0.0", "name": ');
    expect(r.code).toBe(1);
    expect(r.json).toMatchObject({
      cniVersion: '1.1.0',
      code: 6,
      msg: 'failed to decode the network configuration on stdin',
    });
    await nothingLeft(p);
  });

  it('a bad field → 7 naming it (through cnitool, as a runtime reports it)', async () => {
    const p = await freshPod();
    const bad = makeCniDirs(`${prefix}b`);
    try {
      installPlugin(bad, { agentSocket: cni.dirs.socketPath, mtu: 70000 });
      const r = await cnitool(bad, 'add', p.netns, { namespace: 'errs', name: p.name });
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain(
        'network config "k8s-pod-network": mtu: Too big: expected number to be <=65535 (got 70000)',
      );
      const direct = await runPlugin(cni.dirs, p.env, pluginConfig(cni.dirs.socketPath, { mtu: 70000 }));
      expect(direct.json).toMatchObject({ code: 7 });
    } finally {
      await cleanup({ hostIfs: [], netnsPrefix: 'none', dirs: bad });
    }
    await nothingLeft(p);
  });

  it('missing CNI_NETNS → 4 naming the variable', async () => {
    const p = await freshPod();
    const r = await runPlugin(cni.dirs, { ...p.env, CNI_NETNS: undefined }, pluginConfig(cni.dirs.socketPath));
    expect(r.json).toMatchObject({ code: 4, msg: 'invalid CNI_NETNS', details: 'CNI_NETNS: not set' });
    await nothingLeft(p);
  });

  it('a namespace that does not exist → 3, no address taken', async () => {
    const p = await freshPod();
    const r = await runPlugin(
      cni.dirs,
      { ...p.env, CNI_NETNS: `/var/run/netns/${prefix}-missing` },
      pluginConfig(cni.dirs.socketPath),
    );
    expect(r.json).toMatchObject({ code: 3, msg: `network namespace /var/run/netns/${prefix}-missing does not exist` });
    await nothingLeft(p);
  });

  it('unreachable agent → 11 (try again later) with the socket and the reason', async () => {
    const p = await freshPod();
    const r = await runPlugin(cni.dirs, p.env, pluginConfig(`${cni.dirs.root}/no-agent.sock`));
    expect(r.json).toMatchObject({
      code: 11,
      msg: 'IPAM assignment failed: the tabby agent is not reachable, try again later',
      details: `cannot reach the tabby agent at ${cni.dirs.root}/no-agent.sock: the socket does not exist (is the tabby agent running on this node?)`,
    });
    await nothingLeft(p);
    const del = await runPlugin(
      cni.dirs,
      { ...p.env, CNI_COMMAND: 'DEL' },
      pluginConfig(`${cni.dirs.root}/no-agent.sock`),
    );
    expect(del.json).toMatchObject({ code: 11 });
  });

  it('the pod already has the interface → error, our veth undone and the address released', async () => {
    const p = await freshPod();
    await sh('ip', ['-n', p.ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'other0']);
    const r = await runPlugin(cni.dirs, p.env, pluginConfig(cni.dirs.socketPath));
    expect(r.json).toMatchObject({ code: 102, msg: `interface "eth0" already exists in ${p.netns}` });
    expect(await hostLink(p.cali)).toBeUndefined();
    expect((await allocations()).filter((a) => a.handleId === `k8s-pod-network.${p.env.CNI_CONTAINERID}`)).toEqual([]);
    await sh('ip', ['-n', p.ns, 'link', 'del', 'eth0']);
  });

  it('a host route conflict after the veth exists → veth undone, address released', async () => {
    const p = await freshPod();
    const dummy = `${prefix}d`.slice(0, 15);
    hostIfs.add(dummy);
    await sh('ip', ['link', 'add', dummy, 'type', 'veth', 'peer', 'name', `${prefix}p`.slice(0, 15)]);
    await sh('ip', ['link', 'set', dummy, 'up']);
    await sh('ip', ['route', 'add', '10.211.0.3/32', 'dev', dummy]);
    try {
      const r = await runPlugin(
        cni.dirs,
        { ...p.env, CNI_ARGS: `${p.env.CNI_ARGS};IP=10.211.0.3` },
        pluginConfig(cni.dirs.socketPath),
      );
      expect(r.json).toMatchObject({ code: 102, msg: 'failed to plumb the pod (host side)' });
      expect(r.json?.details).toContain('"ip route add 10.211.0.3/32 dev');
      expect(r.json?.details).toContain('File exists');
      await nothingLeft(p);
      expect((await hostRoutes(4)).filter((x) => x.dst === '10.211.0.3')).toEqual([
        expect.objectContaining({ dev: dummy }),
      ]);
    } finally {
      await sh('ip', ['link', 'del', dummy]);
    }
  });

  it("exhausted pool → 100 with Calico's message, the earlier pods untouched", async () => {
    const pods = [];
    for (let i = 0; i < 4; i++) {
      const p = await freshPod();
      const r = await runPlugin(cni.dirs, p.env, pluginConfig(cni.dirs.socketPath));
      expect(r.code, r.stdout).toBe(0);
      pods.push(p);
    }
    const last = await freshPod();
    const r = await runPlugin(cni.dirs, last.env, pluginConfig(cni.dirs.socketPath));
    expect(r.json).toMatchObject({ code: 100, msg: 'IPAM assignment failed: no free address' });
    expect(String(r.json?.details)).toMatch(
      /No IPs available in pools: \[10\.211\.0\.0\/30\]|Assigned 0 out of 1 requested IPv4 addresses/,
    );
    await nothingLeft(last);
    for (const p of pods) expect((await hostLink(p.cali))?.address).toBe('ee:ee:ee:ee:ee:ee');
    for (const p of pods)
      expect(
        (await runPlugin(cni.dirs, { ...p.env, CNI_COMMAND: 'DEL' }, pluginConfig(cni.dirs.socketPath))).code,
      ).toBe(0);
    for (const p of pods) await nothingLeft(p);
    expect(await allocations()).toEqual([]);
  });
});
