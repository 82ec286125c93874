// Real CNI invocations on this machine's kernel: cnitool (libcni, as containerd and CRI-O run plugins) executes the
// installed tabby-cni launcher, which asks a real agent IPAM server (src/ipam allocator, in-memory store) for
// addresses. Asserts Calico's plumbing (calico-user-view.md 1.3) in the kernel, and that nothing is left after DEL.
// Needs root, cnitool (scripts/build-binaries.sh cnitool) and `npm run build`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { allocationsOf } from '../../src/ipam/index.js';
import { workloadInterfaceName } from '../../src/net/index.js';
import {
  type CniDirs,
  type TestAgent,
  addNetns,
  cleanup,
  cnitool,
  cnitoolContainerId,
  deleteNetns,
  hostLink,
  hostRoutes,
  installPlugin,
  makeCniDirs,
  nsLinks,
  nsRoutes,
  nsSysctl,
  parseJson,
  readSysctl,
  sh,
  startTestAgent,
} from './cni-support.js';
import { useCniFixture } from './cni-fixture.js';

interface Result {
  cniVersion: string;
  interfaces: { name: string; mac?: string; sandbox?: string }[];
  ips: { address: string; gateway?: string; interface?: number }[];
  routes?: { dst: string; gw?: string }[];
}

const cni = useCniFixture(
  'p',
  {
    pools: [
      { name: 'pool-v4', cidr: '10.201.0.0/16', blockSize: 26 },
      { name: 'pool-v6', cidr: 'fd00:201::/48', blockSize: 122 },
    ],
    mtu: 1440,
  },
  { nodeName: 'node-a' },
);
const { prefix, hostIfs } = cni;

async function podAllocations(): Promise<ReturnType<typeof allocationsOf>> {
  return (await cni.agent.store.blocks.list()).flatMap((b) => allocationsOf(b.value));
}

describe('one pod: ADD, CHECK, ADD again, DEL, DEL again', () => {
  const pod = { namespace: 'default', name: `web-${prefix}` };
  const ns = `${prefix}-web`;
  const cali = workloadInterfaceName(pod.namespace, pod.name);
  let netns: string;
  let result: Result;
  let ip: string;

  beforeAll(async () => {
    hostIfs.add(cali);
    netns = await addNetns(ns);
  });

  it('ADD returns a spec result naming the cali veth and the pod eth0', async () => {
    const r = await cnitool(cni.dirs, 'add', netns, pod);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    result = parseJson<Result>(r.stdout);
    expect(result.cniVersion).toBe('1.0.0');
    expect(result.interfaces).toEqual([
      { name: cali, mac: 'ee:ee:ee:ee:ee:ee' },
      { name: 'eth0', mac: expect.stringMatching(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/), sandbox: netns },
    ]);
    expect(result.ips).toHaveLength(1);
    expect(result.ips[0]).toMatchObject({
      address: expect.stringMatching(/^10\.201\.\d+\.\d+\/32$/),
      gateway: '169.254.1.1',
      interface: 1,
    });
    expect(result.routes).toEqual([{ dst: '0.0.0.0/0', gw: '169.254.1.1' }]);
    ip = result.ips[0]!.address.split('/')[0]!;
  });

  it('host side: cali veth with MAC ee:ee:ee:ee:ee:ee, up, planned MTU, no IPv4 address, Calico sysctls', async () => {
    const link = await hostLink(cali);
    expect(link).toBeDefined();
    expect(link?.address).toBe('ee:ee:ee:ee:ee:ee');
    expect(link?.flags).toContain('UP');
    expect(link?.flags).toContain('LOWER_UP');
    expect(link?.mtu).toBe(1440);
    expect(link?.link_netnsid).toBeDefined();
    expect((link?.addr_info ?? []).filter((a) => a.family === 'inet')).toEqual([]);
    const sys = (p: string) => readSysctl(p.replace('IF', cali));
    expect(await sys('/proc/sys/net/ipv4/conf/IF/proxy_arp')).toBe('1');
    expect(await sys('/proc/sys/net/ipv4/conf/IF/forwarding')).toBe('1');
    expect(await sys('/proc/sys/net/ipv4/conf/IF/route_localnet')).toBe('1');
    expect(await sys('/proc/sys/net/ipv4/neigh/IF/proxy_delay')).toBe('0');
    expect(await sys('/proc/sys/net/ipv6/conf/IF/accept_ra')).toBe('0');
  });

  it('host route: <ip> dev cali… scope link', async () => {
    const routes = (await hostRoutes(4)).filter((r) => r.dst === ip);
    expect(routes).toEqual([expect.objectContaining({ dst: ip, dev: cali, scope: 'link' })]);
    expect(routes[0]?.flags ?? []).not.toContain('linkdown');
  });

  it('pod side: eth0 up with <ip>/32, 169.254.1.1 scope link, default via 169.254.1.1, ip_forward=0', async () => {
    const eth0 = (await nsLinks(ns)).find((l) => l.ifname === 'eth0');
    expect(eth0?.flags).toContain('UP');
    expect(eth0?.mtu).toBe(1440);
    expect(eth0?.address).toBe(result.interfaces[1]?.mac);
    expect((eth0?.addr_info ?? []).filter((a) => a.family === 'inet')).toEqual([
      expect.objectContaining({ local: ip, prefixlen: 32, scope: 'global' }),
    ]);
    const routes = await nsRoutes(ns, 4);
    expect(routes).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ dst: 'default', gateway: '169.254.1.1', dev: 'eth0' }),
        expect.objectContaining({ dst: '169.254.1.1', dev: 'eth0', scope: 'link' }),
      ]),
    );
    expect(routes).toHaveLength(2);
    expect(await nsSysctl(ns, '/proc/sys/net/ipv4/ip_forward')).toBe('0');
  });

  it('IPAM: one allocation with handle k8s-pod-network.<containerID> and Calico attributes', async () => {
    const cid = await cnitoolContainerId(netns);
    const allocs = (await podAllocations()).filter((a) => a.handleId === `k8s-pod-network.${cid}`);
    expect(allocs).toEqual([
      expect.objectContaining({
        address: ip,
        attrs: expect.objectContaining({ namespace: 'default', pod: pod.name, node: 'node-a' }),
      }),
    ]);
  });

  it('CHECK passes, and fails naming what broke when proxy_arp is turned off', async () => {
    expect(await cnitool(cni.dirs, 'check', netns, pod)).toMatchObject({ code: 0, stderr: '' });
    await sh('sysctl', ['-qw', `net.ipv4.conf.${cali}.proxy_arp=0`]);
    const broken = await cnitool(cni.dirs, 'check', netns, pod);
    await sh('sysctl', ['-qw', `net.ipv4.conf.${cali}.proxy_arp=1`]);
    expect(broken.code).not.toBe(0);
    expect(broken.stderr).toContain(`/proc/sys/net/ipv4/conf/${cali}/proxy_arp is 0, expected 1`);
    expect(await cnitool(cni.dirs, 'check', netns, pod)).toMatchObject({ code: 0 });
  });

  it('a second ADD for the same container returns the same address, with one veth and one route', async () => {
    const r = await cnitool(cni.dirs, 'add', netns, pod);
    expect(r.code).toBe(0);
    expect(parseJson<Result>(r.stdout).ips[0]?.address).toBe(`${ip}/32`);
    expect((await hostRoutes(4)).filter((x) => x.dst === ip)).toHaveLength(1);
    expect((await nsLinks(ns)).filter((l) => l.ifname === 'eth0')).toHaveLength(1);
    expect((await podAllocations()).filter((a) => a.address === ip)).toHaveLength(1);
  });

  it('DEL removes the veth pair, the route and the address', async () => {
    const r = await cnitool(cni.dirs, 'del', netns, pod);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(await hostLink(cali)).toBeUndefined();
    expect((await hostRoutes(4)).filter((x) => x.dst === ip)).toEqual([]);
    expect((await nsLinks(ns)).map((l) => l.ifname)).toEqual(['lo']);
    expect((await podAllocations()).filter((a) => a.address === ip)).toEqual([]);
  });

  it('DEL again succeeds (idempotent)', async () => {
    expect(await cnitool(cni.dirs, 'del', netns, pod)).toMatchObject({ code: 0, stderr: '' });
  });

  it('DEL after the namespace is gone still releases the address', async () => {
    const r = await cnitool(cni.dirs, 'add', netns, pod);
    expect(r.code).toBe(0);
    const again = parseJson<Result>(r.stdout).ips[0]!.address.split('/')[0]!;
    // The kernel destroys the pair with the namespace, in the background: DEL must work before and after that.
    await deleteNetns(ns);
    expect(await cnitool(cni.dirs, 'del', netns, pod)).toMatchObject({ code: 0 });
    expect(await hostLink(cali)).toBeUndefined();
    expect((await podAllocations()).filter((a) => a.address === again)).toEqual([]);
  });
});

describe('IPv6 (dual stack) and route protocol', () => {
  let v6dirs: CniDirs;
  let v6agent: TestAgent;
  const pod = { namespace: 'dual', name: `db-${prefix}` };
  const ns = `${prefix}-dual`;
  const cali = workloadInterfaceName(pod.namespace, pod.name);

  beforeAll(async () => {
    hostIfs.add(cali);
    v6dirs = makeCniDirs(`${prefix}6`);
    v6agent = await startTestAgent({
      socketPath: v6dirs.socketPath,
      node: 'node-a',
      pools: [
        { name: 'pool-v4', cidr: '10.202.0.0/16', blockSize: 26 },
        { name: 'pool-v6', cidr: 'fd00:202::/48', blockSize: 122 },
      ],
      mtu: 1450,
      deviceRouteProtocol: 80,
    });
    installPlugin(v6dirs, { assignIPv6: true });
  });

  afterAll(async () => {
    await cleanup({ hostIfs: [cali], netnsPrefix: ns, dirs: v6dirs, agent: v6agent });
  });

  it('plumbs IPv4 and IPv6 as Calico does', async () => {
    const netns = await addNetns(ns);
    const r = await cnitool(v6dirs, 'add', netns, pod);
    expect(r.stderr).toBe('');
    const res = parseJson<Result>(r.stdout);
    const v4 = res.ips.find((x) => !x.address.includes(':'))!.address.split('/')[0]!;
    const v6 = res.ips.find((x) => x.address.includes(':'))!;
    expect(v6).toMatchObject({
      address: expect.stringMatching(/^fd00:202:.*\/128$/),
      gateway: 'fe80::ecee:eeff:feee:eeee',
    });
    const v6addr = v6.address.split('/')[0]!;

    // Host: EUI-64 link-local from the ee:… MAC (the pod's IPv6 gateway), proxy NDP, no DAD, v4 and v6 routes with
    // Felix's route protocol.
    const link = await hostLink(cali);
    expect(link?.mtu).toBe(1450);
    expect(link?.addr_info).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ family: 'inet6', local: 'fe80::ecee:eeff:feee:eeee', prefixlen: 64 }),
      ]),
    );
    expect(await readSysctl(`/proc/sys/net/ipv6/conf/${cali}/proxy_ndp`)).toBe('1');
    expect(await readSysctl(`/proc/sys/net/ipv6/conf/${cali}/accept_dad`)).toBe('0');
    expect(await readSysctl(`/proc/sys/net/ipv6/conf/${cali}/forwarding`)).toBe('1');
    expect((await hostRoutes(4)).find((x) => x.dst === v4)).toMatchObject({ dev: cali, scope: 'link', protocol: '80' });
    expect((await hostRoutes(6)).find((x) => x.dst === v6addr)).toMatchObject({ dev: cali, protocol: '80' });

    // Pod: /128 without DAD, default via the host's link-local address.
    const eth0 = (await nsLinks(ns)).find((l) => l.ifname === 'eth0');
    expect(eth0?.addr_info).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ family: 'inet6', local: v6addr, prefixlen: 128, scope: 'global' }),
      ]),
    );
    expect(await nsRoutes(ns, 6)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ dst: 'default', gateway: 'fe80::ecee:eeff:feee:eeee', dev: 'eth0' }),
      ]),
    );
    expect(await cnitool(v6dirs, 'check', netns, pod)).toMatchObject({ code: 0 });
    expect(await cnitool(v6dirs, 'del', netns, pod)).toMatchObject({ code: 0 });
    expect(await hostLink(cali)).toBeUndefined();
    expect((await hostRoutes(6)).filter((x) => x.dst === v6addr)).toEqual([]);
  });
});

describe('outside Kubernetes (no CNI_ARGS)', () => {
  it('names the host veth cali + the first 11 characters of the container ID, as Calico does', async () => {
    const netns = await addNetns(`${prefix}-plain`);
    const cali = `cali${(await cnitoolContainerId(netns)).slice(0, 11)}`;
    hostIfs.add(cali);
    const r = await cnitool(cni.dirs, 'add', netns);
    expect(r.stderr).toBe('');
    expect(parseJson<Result>(r.stdout).interfaces[0]?.name).toBe(cali);
    expect((await hostLink(cali))?.address).toBe('ee:ee:ee:ee:ee:ee');
    expect(await cnitool(cni.dirs, 'del', netns)).toMatchObject({ code: 0 });
    expect(await hostLink(cali)).toBeUndefined();
  });
});

// Built by scripts/build-binaries.sh (setup runs it), so the chain test always runs: a missing binary fails it.
const PORTMAP_DIR = join(homedir(), '.cache/tabby/bin/portmap-v1.7.1');

describe('chaining: portmap after tabby (Calico-like 10-tabby.conflist)', () => {
  it('runs portmap on our result and tears down in reverse', async () => {
    expect(existsSync(join(PORTMAP_DIR, 'portmap')), `${PORTMAP_DIR}/portmap (run scripts/build-binaries.sh)`).toBe(
      true,
    );
    const chained = makeCniDirs(`${prefix}c`);
    const chainedAgent = await startTestAgent({
      socketPath: chained.socketPath,
      node: 'node-a',
      pools: [{ name: 'pool-v4', cidr: '10.203.0.0/16', blockSize: 26 }],
    });
    const pod = { namespace: 'default', name: `pm-${prefix}` };
    const cali = workloadInterfaceName(pod.namespace, pod.name);
    hostIfs.add(cali);
    try {
      installPlugin(chained, { portmap: true });
      const netns = await addNetns(`${prefix}-pm`);
      const r = await cnitool(chained, 'add', netns, pod, [PORTMAP_DIR]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const res = parseJson<Result>(r.stdout);
      // portmap passes our result through: both interfaces and the pod address survive the chain.
      expect(res.interfaces.map((i) => i.name)).toEqual([cali, 'eth0']);
      expect(res.ips[0]?.address).toMatch(/^10\.203\./);
      expect(await cnitool(chained, 'check', netns, pod, [PORTMAP_DIR])).toMatchObject({ code: 0 });
      expect(await cnitool(chained, 'del', netns, pod, [PORTMAP_DIR])).toMatchObject({ code: 0 });
      expect(await hostLink(cali)).toBeUndefined();
    } finally {
      await cleanup({ hostIfs: [cali], netnsPrefix: `${prefix}-pm`, dirs: chained, agent: chainedAgent });
    }
  });
});
