// The agent's Linux dataplane on this machine's real kernel: two "node" network namespaces on one subnet, each with
// a "pod" namespace plumbed like Calico's CNI does it, agents applying VXLAN and direct targets, real pings.
// Needs root: without it the suite fails (in beforeAll) rather than skipping. Every namespace (and so every
// interface) is removed afterwards, also when a test fails.
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RouteEntry, ViewNode } from '../../src/api/route-table.js';
import {
  type AgentSyncer,
  type ApplyReport,
  type ReportInfo,
  type SyncInput,
  IPIP_UNAVAILABLE,
  createAgentSyncer,
  createKernelMonitor,
  createLinuxDataplane,
  runAgentLoop,
} from '../../src/agent/index.js';
import { buildNodeDesired, buildShard } from '../../src/agent/test-support/desired-builder.js';
import { type Lab, createLab } from '../../src/agent/linux/netns-lab.js';

const missing = process.getuid?.() === 0 ? undefined : 'needs root (network namespaces, veths, routes)';

interface NodeFacts {
  name: string;
  ip: string;
  block: string;
  vtep: string;
  mac: string;
  pod: string;
  cali: string;
}
const A: NodeFacts = {
  name: 'node-a',
  ip: '192.168.213.11',
  block: '10.213.1.0/26',
  vtep: '10.213.1.0',
  mac: '66:aa:00:00:00:0a',
  pod: '10.213.1.5',
  cali: 'cali0000000000a',
};
const B: NodeFacts = {
  name: 'node-b',
  ip: '192.168.213.12',
  block: '10.213.2.0/26',
  vtep: '10.213.2.0',
  mac: '66:aa:00:00:00:0b',
  pod: '10.213.2.5',
  cali: 'cali0000000000b',
};
const POOL = '10.213.0.0/16';

const viewNodes: ViewNode[] = [A, B].map((n) => ({ name: n.name, ipv4: n.ip, vtepIP: n.vtep, vtepMAC: n.mac }));

function entries(kind: 'vxlan' | 'direct' | 'ipip', extra: RouteEntry[] = []): RouteEntry[] {
  return [
    ...[A, B].map((n): RouteEntry =>
      kind === 'vxlan'
        ? {
            cidr: n.block,
            node: n.name,
            nodeIP: n.ip,
            via: n.vtep,
            kind,
            device: 'vxlan.calico',
            vtepIP: n.vtep,
            vtepMAC: n.mac,
            pool: 'p',
          }
        : kind === 'ipip'
          ? { cidr: n.block, node: n.name, nodeIP: n.ip, via: n.ip, kind, device: 'tunl0', pool: 'p' }
          : { cidr: n.block, node: n.name, nodeIP: n.ip, via: n.ip, kind, pool: 'p' },
    ),
    ...extra,
  ];
}

function input(self: NodeFacts, kind: 'vxlan' | 'direct' | 'ipip', extra: RouteEntry[] = []): SyncInput {
  const tunnels =
    kind === 'vxlan'
      ? [
          {
            name: 'vxlan.calico' as const,
            type: 'vxlan' as const,
            family: 4 as const,
            address: self.vtep,
            mac: self.mac,
            parentAddress: self.ip,
          },
        ]
      : kind === 'ipip'
        ? [{ name: 'tunl0' as const, type: 'ipip' as const, family: 4 as const, address: self.vtep }]
        : [];
  return {
    desired: buildNodeDesired({
      revision: `${kind}-${extra.length}`,
      nodeAddress: { ipv4: `${self.ip}/24` },
      blocks: [{ cidr: self.block, pool: 'p' }],
      tunnels,
      natOutgoing: { sourceCidrs: [POOL], allPoolCidrs: [POOL] },
      felix: { vxlanEnabled: kind === 'vxlan', ipipEnabled: kind === 'ipip' },
    }),
    shards: [buildShard('cluster-0', entries(kind, extra), viewNodes)],
  };
}

describe('agent on a real kernel (network namespaces)', () => {
  let lab: Lab;
  const ns = { a: '', b: '', podA: '', podB: '' };
  let agentA: AgentSyncer;
  let agentB: AgentSyncer;

  const ip = async (n: string, ...args: string[]) => (await lab.exec(n, ['ip', ...args])).stdout;
  const routes = async (n: string) =>
    (await ip(n, 'route', 'show'))
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '')
      .sort();
  const ping = async (from: string, to: string) =>
    (await lab.exec(from, ['ping', '-c', '3', '-i', '0.2', '-W', '2', to], { allowFail: true })).code;
  /** Polls `ok` until it holds; the ceiling only ends a test that would otherwise hang. */
  const waitFor = async (what: string, ok: () => Promise<boolean>, ceilingMs = 120_000) => {
    const deadline = Date.now() + ceilingMs;
    while (!(await ok())) {
      if (Date.now() > deadline) throw new Error(`${what}: not within ${ceilingMs / 1000} s`);
      await new Promise((r) => setTimeout(r, 25));
    }
  };
  /**
   * `ip -o monitor route link` in a namespace, listening before it returns: a route of protocol 81 (nobody's) is
   * added and deleted until the monitor prints the deletion. `until(re)` waits for a line matching `re` and returns the
   * lines after the probe.
   */
  const watchKernelEvents = async (n: string) => {
    const child = spawn('ip', ['-n', n, '-o', 'monitor', 'route', 'link'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => (out += d));
    const lines = () => out.split('\n').filter((l) => l !== '');
    const stop = () => void child.kill();
    try {
      let probes = 0;
      let probedAt = 0;
      await waitFor(`ip monitor in ${n} to listen`, async () => {
        if (lines().some((l) => /^Deleted 192\.0\.2\.\d+ dev lo proto 81/.test(l))) return true;
        if (Date.now() - probedAt >= 1000) {
          probedAt = Date.now();
          const probe = `192.0.2.${100 + ++probes}/32`;
          await ip(n, 'route', 'add', probe, 'dev', 'lo', 'proto', '81');
          await ip(n, 'route', 'del', probe, 'dev', 'lo', 'proto', '81');
        }
        return false;
      });
    } catch (e) {
      stop();
      throw e;
    }
    const start = lines().length;
    return {
      stop,
      async until(re: RegExp): Promise<string[]> {
        await waitFor(`an event matching ${re} in ${n}`, async () =>
          lines()
            .slice(start)
            .some((l) => re.test(l)),
        );
        return lines().slice(start);
      },
    };
  };
  const syncBoth = async (kind: 'vxlan' | 'direct') => {
    const ra = await agentA.syncOnce(input(A, kind));
    const rb = await agentB.syncOnce(input(B, kind));
    return [ra, rb] as const;
  };

  beforeAll(async () => {
    if (missing !== undefined) throw new Error(`agent kernel integration tests: ${missing}`);
    lab = await createLab();
    ns.a = await lab.namespace('node-a');
    ns.b = await lab.namespace('node-b');
    await lab.linkNodes({ ns: ns.a, address: `${A.ip}/24` }, { ns: ns.b, address: `${B.ip}/24` });
    // Like any host, a node has a default route; proxy ARP answers for 169.254.1.1 only when it is routable.
    // Each node's default points at the other, so nothing leaves the namespaces.
    await lab.exec(ns.a, ['ip', 'route', 'add', 'default', 'via', B.ip]);
    await lab.exec(ns.b, ['ip', 'route', 'add', 'default', 'via', A.ip]);
    ns.podA = await lab.addPod(ns.a, 'pod-a', A.pod, A.cali);
    ns.podB = await lab.addPod(ns.b, 'pod-b', B.pod, B.cali);
    agentA = createAgentSyncer({
      nodeName: A.name,
      dataplane: createLinuxDataplane({ namespace: { kind: 'netns', name: ns.a } }),
    });
    agentB = createAgentSyncer({
      nodeName: B.name,
      dataplane: createLinuxDataplane({ namespace: { kind: 'netns', name: ns.b } }),
    });
  });

  afterAll(async () => {
    await lab?.cleanup();
  });

  it('VXLAN: routes, device, ARP and FDB entries, sysctls, NAT; pods ping across nodes; the second sync is a no-op', async () => {
    const [ra, rb] = await syncBoth('vxlan');
    expect(ra.errors).toEqual([]);
    expect(rb.errors).toEqual([]);
    expect(ra).toMatchObject({ programmed: true, changed: true, reason: 'Programmed' });
    expect(ra.operations).toMatchObject({ ipLines: 6, bridgeLines: 1, processes: 2, natReplaced: true });

    expect(await routes(ns.a)).toEqual([
      `${A.pod} dev ${A.cali} scope link`,
      `${B.block} via ${B.vtep} dev vxlan.calico proto 80 onlink`,
      `192.168.213.0/24 dev eth0 proto kernel scope link src ${A.ip}`,
      `blackhole ${A.block} proto 80`,
      `default via ${B.ip} dev eth0`,
    ]);
    expect(await routes(ns.b)).toContain(`${A.block} via ${A.vtep} dev vxlan.calico proto 80 onlink`);

    const [link] = JSON.parse(await ip(ns.a, '-json', '-d', 'address', 'show', 'dev', 'vxlan.calico')) as {
      mtu: number;
      address: string;
      flags: string[];
      linkinfo: {
        info_kind: string;
        info_data: { id: number; port: number; local: string; link: string; learning: boolean };
      };
      addr_info: { family: string; local: string; prefixlen: number }[];
    }[];
    expect(link?.linkinfo).toMatchObject({
      info_kind: 'vxlan',
      info_data: { id: 4096, port: 4789, local: A.ip, link: 'eth0', learning: false },
    });
    expect(link?.mtu).toBe(1450);
    expect(link?.address).toBe(A.mac);
    expect(link?.flags).toContain('UP');
    expect(link?.addr_info.filter((x) => x.family === 'inet')).toMatchObject([{ local: A.vtep, prefixlen: 32 }]);

    expect((await ip(ns.a, 'neigh', 'show', 'dev', 'vxlan.calico')).trim()).toBe(`${B.vtep} lladdr ${B.mac} PERMANENT`);
    const fdb = (await lab.exec(ns.a, ['bridge', 'fdb', 'show', 'dev', 'vxlan.calico'])).stdout;
    expect(fdb).toContain(`${B.mac} dst ${B.ip} self permanent`);

    const sysctl = async (p: string) => (await lab.exec(ns.a, ['cat', `/proc/sys/${p}`])).stdout.trim();
    expect(await sysctl('net/ipv4/ip_forward')).toBe('1');
    expect(await sysctl('net/ipv4/conf/vxlan.calico/rp_filter')).toBe('0');

    expect(await ping(ns.podA, B.pod)).toBe(0);
    expect(await ping(ns.podB, A.pod)).toBe(0);

    // natOutgoing: pod → outside every pool is masqueraded; pod → pod is not.
    const masqueraded = async () => {
      const j = JSON.parse((await lab.exec(ns.a, ['nft', '-j', 'list', 'table', 'inet', 'tabby-nat'])).stdout) as {
        nftables: { rule?: { expr: { counter?: { packets: number } }[] } }[];
      };
      return j.nftables.flatMap((x) => x.rule?.expr ?? []).reduce((n, e) => n + (e.counter?.packets ?? 0), 0);
    };
    const before = await masqueraded();
    expect(await ping(ns.podA, B.pod)).toBe(0);
    expect(await masqueraded()).toBe(before);
    expect(await ping(ns.podA, B.ip)).toBe(0);
    expect(await masqueraded()).toBeGreaterThan(before);

    const again = await agentA.syncOnce(input(A, 'vxlan'));
    expect(again).toMatchObject({ changed: false, programmed: true });
    expect(again.operations).toMatchObject({
      ipLines: 0,
      bridgeLines: 0,
      processes: 0,
      sysctlWrites: 0,
      natReplaced: false,
    });
    const reread = await agentA.syncOnce(input(A, 'vxlan'), { reread: true });
    expect(reread).toMatchObject({ changed: false, reread: true });
  });

  it('a restarted agent reads the kernel and changes nothing', async () => {
    const restarted = createAgentSyncer({
      nodeName: A.name,
      dataplane: createLinuxDataplane({ namespace: { kind: 'netns', name: ns.a } }),
    });
    const r = await restarted.syncOnce(input(A, 'vxlan'));
    expect(r.operations.ipLines).toBe(0);
    expect(r.operations.bridgeLines).toBe(0);
  });

  it('drift repair: a route, a neighbour and the device removed by hand come back through syncs the kernel monitor started', async () => {
    expect((await agentB.syncOnce(input(B, 'vxlan'))).errors).toEqual([]);
    const ac = new AbortController();
    const reports: { report: ApplyReport; info: ReportInfo }[] = [];
    async function* snapshots() {
      yield input(A, 'vxlan');
      await new Promise((r) => ac.signal.addEventListener('abort', r, { once: true }));
    }
    // No periodic resync and one snapshot: after the first sync, only the kernel monitor (or the retry of a sync it
    // started) can make the agent look at the kernel again.
    const loop = runAgentLoop({
      syncer: agentA,
      snapshots: snapshots(),
      signal: ac.signal,
      resyncIntervalMs: 0,
      watchKernel: createKernelMonitor({ namespace: { kind: 'netns', name: ns.a }, routeProtocol: 80 }).watch,
      onReport: (report, info) => void reports.push({ report, info }),
    });
    const vxlanRoute = `${B.block} via ${B.vtep} dev vxlan.calico proto 80 onlink`;
    const lookedForKernel = (from: number) =>
      reports.slice(from).some((r) => r.info.triggers.includes('kernel') && r.report.changed);
    /**
     * Makes `change`, then waits until `repaired` holds and a sync the monitor started has reported changing the kernel
     * (a sync reports after it applied, so the state can be repaired before its report arrives).
     */
    const repairs = async (what: string, change: string[], repaired: () => Promise<boolean>) => {
      const from = reports.length;
      await ip(ns.a, ...change);
      await waitFor(
        `${what} restored by a sync the kernel monitor started`,
        async () => lookedForKernel(from) && (await repaired()),
      );
      const since = reports.slice(from);
      expect(
        since.every((r) => r.info.triggers.every((t) => t === 'kernel' || t === 'retry')),
        since.map((r) => `${r.info.triggers.join('+')} changed=${r.report.changed}`).join(', '),
      ).toBe(true);
    };
    try {
      await waitFor('first sync', async () => reports.length > 0);
      expect(reports[0]?.info.triggers).toEqual(['snapshot']);
      // The monitor is listening once it has made the agent remove a stray route of the agent's protocol. `ip monitor`
      // says nothing when it starts, so a new stray route is added every second until one is seen and removed.
      let probes = 0;
      let probedAt = 0;
      await waitFor('the kernel monitor to see a stray route of the agent', async () => {
        if (probes > 0 && lookedForKernel(1) && !(await routes(ns.a)).some((l) => l.includes('192.0.2.'))) return true;
        if (Date.now() - probedAt >= 1000) {
          probedAt = Date.now();
          await ip(ns.a, 'route', 'add', 'blackhole', `192.0.2.${++probes}/32`, 'proto', '80');
        }
        return false;
      });

      await repairs('route', ['route', 'del', B.block, 'proto', '80'], async () =>
        (await routes(ns.a)).includes(vxlanRoute),
      );
      await repairs('neighbour', ['neigh', 'del', B.vtep, 'dev', 'vxlan.calico'], async () =>
        (await ip(ns.a, 'neigh', 'show', 'dev', 'vxlan.calico')).includes(`${B.vtep} lladdr ${B.mac} PERMANENT`),
      );
      await repairs('device and its route', ['link', 'del', 'vxlan.calico'], async () =>
        (await routes(ns.a)).includes(vxlanRoute),
      );
      // A sync that reads the kernel while a hand-made change is half done can fail a line; the next one (after the
      // monitor's event, or the retry) repairs it. What counts is that the agent ends Programmed, and then pods talk.
      await waitFor('a programmed report', async () => reports.at(-1)?.report.programmed === true);
      expect(await ping(ns.podA, B.pod)).toBe(0);
    } finally {
      ac.abort();
      await loop;
    }
  });

  it('never touches routes of another protocol, not even at a destination it wants', async () => {
    await ip(ns.a, 'route', 'add', '10.99.0.0/24', 'via', B.ip, 'proto', '200');
    await ip(ns.a, 'route', 'add', '10.98.0.0/24', 'via', B.ip);
    await ip(ns.a, 'route', 'add', '10.213.3.0/26', 'via', B.ip, 'proto', '200');
    const wantsC: RouteEntry = {
      cidr: '10.213.3.0/26',
      node: 'node-c',
      nodeIP: B.ip,
      via: B.ip,
      kind: 'direct',
      pool: 'p',
    };
    try {
      const r = await agentA.syncOnce(input(A, 'vxlan', [wantsC]), { reread: true });
      expect(r).toMatchObject({ programmed: false, reason: 'ApplyFailed' });
      expect(r.errors).toEqual([{ object: 'route 10.213.3.0/26', message: expect.stringContaining('File exists') }]);
      const after = await agentA.syncOnce(input(A, 'vxlan'), { reread: true });
      expect(after.programmed).toBe(true);
      const all = await routes(ns.a);
      expect(all).toContain(`10.99.0.0/24 via ${B.ip} dev eth0 proto 200`);
      expect(all).toContain(`10.98.0.0/24 via ${B.ip} dev eth0`);
      expect(all).toContain(`10.213.3.0/26 via ${B.ip} dev eth0 proto 200`);
    } finally {
      for (const d of ['10.99.0.0/24', '10.98.0.0/24', '10.213.3.0/26'])
        await lab.exec(ns.a, ['ip', 'route', 'del', d], { allowFail: true });
    }
  });

  it('direct mode (switched from VXLAN): each route is replaced before vxlan.calico goes, never deleted; pods ping', async () => {
    // Make-before-break, checked on the kernel's own event stream: node-a's route to node-b's block changes form in
    // place (one RTM_NEWROUTE), and only then is the device deleted; at no moment is the block unrouted. The order is
    // what is checked: IPv4 routes that go with a deleted device are not announced. (The plan order itself:
    // kernel-diff.test.ts "a mode switch moves routes off a retired device before deleting it".)
    const monitor = await watchKernelEvents(ns.a);
    let events: string[];
    try {
      const [ra, rb] = await syncBoth('direct');
      expect(ra.errors).toEqual([]);
      expect(rb.errors).toEqual([]);
      events = await monitor.until(/^Deleted \d+: vxlan\.calico[:@]/);
    } finally {
      monitor.stop();
    }
    const replaced = events.findIndex((l) => l.startsWith(`${B.block} via ${B.ip} dev eth0 proto 80`));
    const deviceGone = events.findIndex((l) => /^Deleted \d+: vxlan\.calico[:@]/.test(l));
    expect(replaced, events.join('\n')).toBeGreaterThanOrEqual(0);
    expect(replaced, events.join('\n')).toBeLessThan(deviceGone);
    expect(
      events.filter((l) => l.startsWith(`Deleted ${B.block} `)),
      events.join('\n'),
    ).toEqual([]);
    expect(await routes(ns.a)).toEqual([
      `${A.pod} dev ${A.cali} scope link`,
      `${B.block} via ${B.ip} dev eth0 proto 80`,
      `192.168.213.0/24 dev eth0 proto kernel scope link src ${A.ip}`,
      `blackhole ${A.block} proto 80`,
      `default via ${B.ip} dev eth0`,
    ]);
    expect((await lab.exec(ns.a, ['ip', 'link', 'show', 'vxlan.calico'], { allowFail: true })).code).not.toBe(0);
    expect(await ping(ns.podA, B.pod)).toBe(0);
    expect(await ping(ns.podB, A.pod)).toBe(0);
    expect((await agentA.syncOnce(input(A, 'direct'), { reread: true })).changed).toBe(false);
  });

  it('IPIP: the condition names the missing module when the kernel lacks it; nothing loops', async () => {
    const dp = createLinuxDataplane({ namespace: { kind: 'netns', name: ns.a } });
    const agent = createAgentSyncer({ nodeName: A.name, dataplane: dp });
    const r = await agent.syncOnce(input(A, 'ipip'));
    if ((await dp.capabilities()).ipip) {
      // A kernel with the module: tunl0 and onlink routes are programmed.
      expect(r.errors).toEqual([]);
      expect(await routes(ns.a)).toContain(`${B.block} via ${B.ip} dev tunl0 proto 80 onlink`);
      return;
    }
    expect(r).toMatchObject({ programmed: false, fatal: false, retry: false, reason: 'IPIPUnavailable' });
    expect(r.message).toBe(`device tunl0: ${IPIP_UNAVAILABLE}; skipped tunl0 and 1 tunnel route(s)`);
    expect((await lab.exec(ns.a, ['ip', 'link', 'show', 'tunl0'], { allowFail: true })).code).not.toBe(0);
    expect(await routes(ns.a)).not.toContain(expect.stringContaining('tunl0'));
    expect((await agent.syncOnce(input(A, 'ipip'))).operations.ipLines).toBe(0);

    // Told the module is there, the agent learns otherwise from the kernel's answer and stops trying.
    const forced = createAgentSyncer({
      nodeName: A.name,
      dataplane: createLinuxDataplane({ namespace: { kind: 'netns', name: ns.a }, ipipAvailable: true }),
    });
    const first = await forced.syncOnce(input(A, 'ipip'));
    expect(first.errors).toContainEqual({
      object: 'device tunl0',
      message: expect.stringContaining('Unknown device type'),
    });
    const second = await forced.syncOnce(input(A, 'ipip'));
    expect(second).toMatchObject({ reason: 'IPIPUnavailable', retry: false });
    expect(second.operations.ipLines).toBe(0);
  });
});
