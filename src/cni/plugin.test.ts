// The verbs over recorded edges: what the plugin asks of the agent and the kernel, and what it prints. The same
// verbs against the real kernel, cnitool and the real allocator are in e2e/integration/cni-*.test.ts.
import { describe, expect, it } from 'vitest';
import type { AgentRequest } from '../api/agent-ipam-protocol.js';
import { workloadInterfaceName } from '../net/index.js';
import { type AgentClient, AgentRefusedError, AgentUnreachableError } from './agent-client.js';
import { CniCode, CniError } from './errors.js';
import type { WorkloadDataplane, WorkloadState } from './linux-dataplane.js';
import { type PluginDeps, runPlugin } from './plugin.js';
import { silentPluginLog } from './plugin-log.js';
import { hostSysctlsFor, type WorkloadSpec } from './workload-plumbing.js';

const NETNS = '/var/run/netns/pod-a';
const HOST_IF = 'cali7f94ce7c295'; // default/podA (Calico's own test pair)

const conf = { cniVersion: '1.0.0', name: 'k8s-pod-network', type: 'tabby-cni', ipam: { type: 'tabby-ipam' } };
const env = (cmd: string, extra: Record<string, string> = {}) => ({
  CNI_COMMAND: cmd,
  CNI_CONTAINERID: 'c0ffee',
  CNI_NETNS: NETNS,
  CNI_IFNAME: 'eth0',
  CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=podA',
  ...extra,
});

type AgentBehaviour = (req: AgentRequest) => unknown;

interface Harness {
  deps: PluginDeps;
  requests: AgentRequest[];
  added: WorkloadSpec[];
  removed: unknown[];
  sockets: string[];
}

function harness(
  opts: {
    agent?: AgentBehaviour;
    add?: (s: WorkloadSpec) => Promise<{ containerMac: string }>;
    remove?: () => Promise<void>;
    netnsExists?: boolean;
    state?: WorkloadState;
    stdin?: unknown;
    env?: Record<string, string | undefined>;
  } = {},
): Harness {
  const h: Harness = { requests: [], added: [], removed: [], sockets: [], deps: undefined as unknown as PluginDeps };
  const agentBehaviour: AgentBehaviour =
    opts.agent ??
    ((req) => {
      switch (req.op) {
        case 'assign':
          return {
            ok: true,
            op: 'assign',
            addresses: [{ address: '10.244.1.5', family: 4, block: '10.244.1.0/26' }],
            mtu: 1440,
            node: 'node-a',
          };
        case 'release':
          return { ok: true, op: 'release' };
        case 'addresses':
          return { ok: true, op: 'addresses', addresses: [{ address: '10.244.1.5', family: 4 }] };
        case 'status':
          return { ok: true, op: 'status', node: 'node-a', mtu: 1440 };
      }
    });
  const agent = (socket: string): AgentClient => {
    h.sockets.push(socket);
    return {
      call: async (req) => {
        h.requests.push(req);
        const r = agentBehaviour(req);
        if (r instanceof Error) throw r;
        return r as never;
      },
    };
  };
  const dataplane: WorkloadDataplane = {
    add: async (s) => {
      h.added.push(s);
      return opts.add ? opts.add(s) : { containerMac: '0a:58:0a:f4:01:05' };
    },
    remove: async (t) => {
      h.removed.push(t);
      if (opts.remove) await opts.remove();
    },
    inspect: async () => opts.state ?? healthyState(),
    hostInterfaceExists: () => false,
    netnsExists: () => opts.netnsExists ?? true,
  };
  h.deps = {
    env: opts.env ?? env('ADD'),
    stdin: typeof opts.stdin === 'string' ? opts.stdin : JSON.stringify(opts.stdin ?? conf),
    dataplane,
    agent,
    workloadInterfaceName,
    log: silentPluginLog(),
  };
  return h;
}

function healthyState(): WorkloadState {
  return {
    host: {
      exists: true,
      mac: 'ee:ee:ee:ee:ee:ee',
      up: true,
      sysctls: Object.fromEntries(hostSysctlsFor(HOST_IF, true, false).map((s) => [s.path, s.value])),
      routes: [{ dst: '10.244.1.5', scope: 'link' }],
    },
    container: {
      exists: true,
      mac: '0a:58:0a:f4:01:05',
      up: true,
      addresses: ['10.244.1.5/32'],
      routes: [
        { dst: 'default', gateway: '169.254.1.1' },
        { dst: '169.254.1.1', scope: 'link' },
      ],
    },
  };
}

async function run(h: Harness) {
  const out = await runPlugin(h.deps);
  return { ...out, json: out.stdout === '' ? undefined : (JSON.parse(out.stdout) as Record<string, unknown>) };
}

describe('VERSION', () => {
  it('answers in the asked version with every supported version', async () => {
    const h = harness({ env: { CNI_COMMAND: 'VERSION' }, stdin: { cniVersion: '0.4.0' } });
    expect((await run(h)).json).toEqual({
      cniVersion: '0.4.0',
      supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'],
    });
  });
  it('works without stdin', async () => {
    const h = harness({ env: { CNI_COMMAND: 'VERSION' }, stdin: '' });
    expect((await run(h)).json?.cniVersion).toBe('1.1.0');
  });
});

describe('ADD', () => {
  it('assigns through the agent, plumbs, and prints the result', async () => {
    const h = harness();
    const out = await run(h);
    expect(out.exitCode).toBe(0);
    expect(h.requests).toEqual([
      {
        v: 1,
        op: 'assign',
        handleId: 'k8s-pod-network.c0ffee',
        containerId: 'c0ffee',
        attrs: { namespace: 'default', pod: 'podA' },
        families: [4],
      },
    ]);
    expect(h.sockets).toEqual(['/var/run/tabby/ipam.sock']);
    expect(h.added).toEqual([
      { hostIf: HOST_IF, containerIf: 'eth0', netns: NETNS, mtu: 1440, ipv4: '10.244.1.5', replaceHostIf: false },
    ]);
    expect(out.json).toEqual({
      cniVersion: '1.0.0',
      interfaces: [
        { name: HOST_IF, mac: 'ee:ee:ee:ee:ee:ee' },
        { name: 'eth0', mac: '0a:58:0a:f4:01:05', sandbox: NETNS },
      ],
      ips: [{ address: '10.244.1.5/32', gateway: '169.254.1.1', interface: 1 }],
      routes: [{ dst: '0.0.0.0/0', gw: '169.254.1.1' }],
      dns: {},
    });
  });

  it('passes pools, families, node name and CNI_ARGS IP to the agent; config MTU wins', async () => {
    const h = harness({
      stdin: {
        ...conf,
        cniVersion: '0.3.1',
        mtu: 1400,
        nodename: 'node-a',
        agent_socket: '/run/x.sock',
        ipam: { type: 'calico-ipam', assign_ipv6: 'true', ipv4_pools: ['10.244.0.0/16'], ipv6_pools: ['v6-pool'] },
      },
      env: env('ADD', { CNI_ARGS: 'K8S_POD_NAMESPACE=default;K8S_POD_NAME=podA;IP=10.244.1.9,fd00::9' }),
      agent: () => ({
        ok: true,
        op: 'assign',
        addresses: [
          { address: '10.244.1.9', family: 4 },
          { address: 'fd00::9', family: 6 },
        ],
        mtu: 1440,
        deviceRouteProtocol: 80,
        node: 'node-a',
      }),
    });
    const out = await run(h);
    expect(out.exitCode).toBe(0);
    expect(h.requests[0]).toMatchObject({
      attrs: { namespace: 'default', pod: 'podA', node: 'node-a' },
      families: [4, 6],
      ipv4Pools: ['10.244.0.0/16'],
      ipv6Pools: ['v6-pool'],
      ipAddrs: ['10.244.1.9', 'fd00::9'],
    });
    expect(h.sockets).toEqual(['/run/x.sock']);
    expect(h.added[0]).toMatchObject({ mtu: 1400, ipv4: '10.244.1.9', ipv6: 'fd00::9', routeProtocol: 80 });
    expect(out.json?.ips).toEqual([
      { version: '4', address: '10.244.1.9/32', gateway: '169.254.1.1', interface: 1 },
      { version: '6', address: 'fd00::9/128', gateway: 'fe80::ecee:eeff:feee:eeee', interface: 1 },
    ]);
  });

  it('outputs prevResult with its additions when chained after another plugin', async () => {
    const prevResult = {
      cniVersion: '1.0.0',
      interfaces: [{ name: 'dummy0', mac: '02:00:00:00:00:01' }],
      ips: [{ address: '192.0.2.1/24', interface: 0 }],
      dns: { nameservers: ['10.96.0.10'] },
    };
    const h = harness({ stdin: { ...conf, prevResult } });
    const out = await run(h);
    expect(out.json?.interfaces).toEqual([
      { name: 'dummy0', mac: '02:00:00:00:00:01' },
      { name: HOST_IF, mac: 'ee:ee:ee:ee:ee:ee' },
      { name: 'eth0', mac: '0a:58:0a:f4:01:05', sandbox: NETNS },
    ]);
    expect(out.json?.ips).toEqual([
      { address: '192.0.2.1/24', interface: 0 },
      { address: '10.244.1.5/32', gateway: '169.254.1.1', interface: 2 },
    ]);
    expect(out.json?.dns).toEqual({ nameservers: ['10.96.0.10'] });
  });

  it.each([
    {
      name: 'unreachable agent',
      agent: () => new AgentUnreachableError('/var/run/tabby/ipam.sock', 'connection refused'),
      code: CniCode.TryAgainLater,
      says: 'not reachable',
    },
    {
      name: 'exhausted pool',
      agent: () =>
        new AgentRefusedError(
          'exhausted',
          'Assigned 0 out of 1 requested IPv4 addresses; No IPs available in pools: [10.0.0.0/30]',
        ),
      code: CniCode.AddressesExhausted,
      says: 'No IPs available in pools',
    },
    {
      name: 'unknown pool',
      agent: () => new AgentRefusedError('invalid', 'the given pool (10.9.0.0/16) does not exist, or is not enabled'),
      code: CniCode.IpamRequestRefused,
      says: 'does not exist',
    },
    {
      name: 'agent busy',
      agent: () => new AgentRefusedError('unavailable', 'Max retries hit'),
      code: CniCode.TryAgainLater,
      says: 'Max retries',
    },
  ])('$name → code $code, nothing plumbed', async ({ agent, code, says }) => {
    const h = harness({ agent });
    const out = await run(h);
    expect(out.exitCode).toBe(1);
    expect(out.json).toMatchObject({ cniVersion: '1.0.0', code });
    expect(`${out.json?.msg as string} ${out.json?.details as string}`).toContain(says);
    expect(h.added).toEqual([]);
  });

  it('missing namespace → code 3 before any address is taken', async () => {
    const h = harness({ netnsExists: false });
    const out = await run(h);
    expect(out.json).toMatchObject({ code: CniCode.UnknownContainer });
    expect(h.requests).toEqual([]);
  });

  it('a plumbing failure releases the address (the dataplane has undone its part)', async () => {
    const h = harness({
      add: () =>
        Promise.reject(
          new CniError(
            CniCode.DataplaneFailure,
            'failed to plumb the pod (pod side)',
            'RTNETLINK answers: File exists',
          ),
        ),
    });
    const out = await run(h);
    expect(out.json).toMatchObject({ code: CniCode.DataplaneFailure, msg: 'failed to plumb the pod (pod side)' });
    expect(h.requests.map((r) => r.op)).toEqual(['assign', 'release']);
  });

  it('says so when the release after a failure fails too', async () => {
    const h = harness({
      add: () => Promise.reject(new CniError(CniCode.DataplaneFailure, 'failed to plumb the pod (host side)', 'boom')),
      agent: (req) =>
        req.op === 'assign'
          ? { ok: true, op: 'assign', addresses: [{ address: '10.244.1.5', family: 4 }], mtu: 1440, node: 'n' }
          : new AgentUnreachableError('/s', 'connection refused'),
    });
    const out = await run(h);
    expect(out.json?.details).toContain('releasing the address also failed');
  });

  it.each([
    { name: 'malformed JSON', stdin: '{"cniVersion":', code: CniCode.DecodeFailure },
    { name: 'bad field', stdin: JSON.stringify({ ...conf, mtu: 'big' }), code: CniCode.InvalidConfig },
    { name: 'old version', stdin: JSON.stringify({ ...conf, cniVersion: '0.2.0' }), code: CniCode.IncompatibleVersion },
  ])('$name → code $code and no agent call', async ({ stdin, code }) => {
    const h = harness({ stdin });
    const out = await run(h);
    expect(out.json?.code).toBe(code);
    expect(h.requests).toEqual([]);
  });

  it.each([
    { ip: 'IP=10.0.0.300', says: '"10.0.0.300" is not an IP address' },
    { ip: 'IP=10.0.0.1,10.0.0.2', says: 'more than one IPv4 address' },
  ])('CNI_ARGS $ip → code 4, no agent call', async ({ ip, says }) => {
    const h = harness({ env: env('ADD', { CNI_ARGS: `K8S_POD_NAMESPACE=default;K8S_POD_NAME=podA;${ip}` }) });
    const out = await run(h);
    expect(out.json).toMatchObject({ code: CniCode.InvalidEnvironment });
    expect(out.json?.details).toContain(says);
    expect(h.requests).toEqual([]);
  });

  it('missing CNI_NETNS → code 4', async () => {
    const h = harness({ env: { ...env('ADD'), CNI_NETNS: undefined } });
    expect((await run(h)).json).toMatchObject({ code: CniCode.InvalidEnvironment, details: 'CNI_NETNS: not set' });
  });
});

describe('DEL', () => {
  it('removes the interfaces, then releases the handle', async () => {
    const h = harness({ env: env('DEL') });
    const out = await run(h);
    expect(out).toMatchObject({ exitCode: 0, stdout: '' });
    expect(h.removed).toEqual([{ hostIf: HOST_IF, containerIf: 'eth0', netns: NETNS }]);
    expect(h.requests).toEqual([{ v: 1, op: 'release', handleId: 'k8s-pod-network.c0ffee' }]);
  });

  it('works without CNI_NETNS (the sandbox is gone)', async () => {
    const h = harness({ env: { ...env('DEL'), CNI_NETNS: undefined } });
    expect((await run(h)).exitCode).toBe(0);
    expect(h.removed).toEqual([{ hostIf: HOST_IF, containerIf: 'eth0', netns: undefined }]);
  });

  it('unreachable agent → 11 so the runtime retries (releasing prevents a leak)', async () => {
    const h = harness({ env: env('DEL'), agent: () => new AgentUnreachableError('/s', 'connection refused') });
    expect((await run(h)).json).toMatchObject({ code: CniCode.TryAgainLater });
  });

  it('does not release while the interface could not be removed', async () => {
    const h = harness({
      env: env('DEL'),
      remove: () => Promise.reject(new CniError(CniCode.DataplaneFailure, 'failed to delete interface')),
    });
    expect((await run(h)).json).toMatchObject({ code: CniCode.DataplaneFailure });
    expect(h.requests).toEqual([]);
  });
});

describe('CHECK', () => {
  const prevResult = {
    cniVersion: '1.0.0',
    interfaces: [
      { name: HOST_IF, mac: 'ee:ee:ee:ee:ee:ee' },
      { name: 'eth0', mac: '0a:58:0a:f4:01:05', sandbox: NETNS },
    ],
    ips: [{ address: '10.244.1.5/32', gateway: '169.254.1.1', interface: 1 }],
    routes: [{ dst: '0.0.0.0/0', gw: '169.254.1.1' }],
  };

  it('passes when everything is as ADD left it', async () => {
    const h = harness({ env: env('CHECK'), stdin: { ...conf, prevResult } });
    expect(await run(h)).toMatchObject({ exitCode: 0, stdout: '' });
    expect(h.requests).toEqual([{ v: 1, op: 'addresses', handleId: 'k8s-pod-network.c0ffee' }]);
  });

  it('reports what is wrong with code 103', async () => {
    const state = healthyState();
    state.host.sysctls[`/proc/sys/net/ipv4/conf/${HOST_IF}/proxy_arp`] = '0';
    const h = harness({ env: env('CHECK'), stdin: { ...conf, prevResult }, state });
    const out = await run(h);
    expect(out.json).toMatchObject({ code: CniCode.CheckFailed });
    expect(out.json?.msg).toContain('proxy_arp is 0, expected 1');
  });

  it.each([
    { name: 'config 0.3.1', stdin: { ...conf, cniVersion: '0.3.1', prevResult }, code: CniCode.IncompatibleVersion },
    { name: 'no prevResult', stdin: conf, code: CniCode.InvalidConfig },
    {
      name: 'prevResult without our interface',
      stdin: { ...conf, prevResult: { ...prevResult, interfaces: [], ips: [] } },
      code: CniCode.CheckFailed,
    },
  ])('$name → code $code', async ({ stdin, code }) => {
    const h = harness({ env: env('CHECK'), stdin });
    expect((await run(h)).json?.code).toBe(code);
  });
});

describe('STATUS and GC', () => {
  it('STATUS is ready when the agent answers', async () => {
    const h = harness({ env: { CNI_COMMAND: 'STATUS' }, stdin: { ...conf, cniVersion: '1.1.0' } });
    expect(await run(h)).toMatchObject({ exitCode: 0, stdout: '' });
  });
  it('STATUS → 50 when the agent does not answer', async () => {
    const h = harness({
      env: { CNI_COMMAND: 'STATUS' },
      stdin: { ...conf, cniVersion: '1.1.0' },
      agent: () => new AgentUnreachableError('/s', 'refused'),
    });
    expect((await run(h)).json).toMatchObject({ cniVersion: '1.1.0', code: CniCode.NotAvailable });
  });
  it('STATUS and GC need 1.1.0', async () => {
    for (const cmd of ['STATUS', 'GC']) {
      const h = harness({ env: { CNI_COMMAND: cmd }, stdin: conf });
      expect((await run(h)).json?.code).toBe(CniCode.IncompatibleVersion);
    }
  });
  it('GC succeeds without touching anything', async () => {
    const h = harness({
      env: { CNI_COMMAND: 'GC' },
      stdin: { ...conf, cniVersion: '1.1.0', 'cni.dev/valid-attachments': [] },
    });
    expect(await run(h)).toMatchObject({ exitCode: 0, stdout: '' });
    expect(h.requests).toEqual([]);
  });
});
