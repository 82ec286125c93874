// Hostile input at the CNI plugin's doors, at the unit level: bounded, seeded (reproducible) fuzzing of runPlugin's
// stdin and CNI_* environment over recorded edges. Every input gets the spec's answer — exit 0, or exit 1 with one
// line of error JSON (cniVersion, a numeric code, msg) — and never an exception. Input that is invalid is refused
// before anything happens: no call to the agent (no address assigned), none to the kernel (no veth). A broken
// variable is error 4 naming it; a broken configuration field is error 1, 2 or 7 naming its path. The bad values
// come from the CNI spec's rules and the plugin's documented keys (env.ts, config.ts headers), not from the code.
// The counts of inputs tried are printed (grep "fuzz:").
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import type { AgentRequest } from '../api/agent-ipam-protocol.js';
import { workloadInterfaceName } from '../net/index.js';
import type { AgentClient } from './agent-client.js';
import { CniCode } from './errors.js';
import type { WorkloadDataplane } from './linux-dataplane.js';
import { runPlugin } from './plugin.js';
import { silentPluginLog } from './plugin-log.js';

const SEED = 19_004;
const tried = new Map<string, number>();
afterAll(() => {
  const total = [...tried.values()].reduce((a, b) => a + b, 0);
  console.log(`fuzz: CNI plugin stdin/env: ${total} inputs (${[...tried].map(([k, n]) => `${k} ${n}`).join(', ')})`);
});

async function fuzz<T>(name: string, arb: fc.Arbitrary<T>, numRuns: number, property: (v: T) => Promise<void>) {
  let n = 0;
  await fc.assert(
    fc.asyncProperty(arb, async (v) => {
      n++;
      await property(v);
    }),
    { seed: SEED, numRuns },
  );
  tried.set(name, n);
  expect(n).toBe(numRuns);
}

const CODES = new Set<number>(Object.values(CniCode));

const goodEnv = {
  CNI_COMMAND: 'ADD',
  CNI_CONTAINERID: 'c0ffee',
  CNI_NETNS: '/var/run/netns/pod-a',
  CNI_IFNAME: 'eth0',
  CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=pod-a',
  CNI_PATH: '/opt/cni/bin',
};
const goodConf = {
  cniVersion: '1.0.0',
  name: 'k8s-pod-network',
  type: 'tabby-cni',
  mtu: 0,
  nodename: 'node-a',
  ipam: { type: 'tabby-ipam', assign_ipv4: 'true', assign_ipv6: 'false', ipv4_pools: ['default-pool'] },
  agent_socket: '/var/run/tabby/ipam.sock',
  agent_timeout_ms: 2000,
  log_level: 'info',
  log_file_path: '/var/log/tabby-cni.log',
};

/** runPlugin over edges that record every call; the agent answers like a healthy one. */
async function run(env: Record<string, string | undefined>, stdin: string) {
  const agentCalls: AgentRequest[] = [];
  const kernelCalls: string[] = [];
  const answer = (req: AgentRequest): unknown => {
    switch (req.op) {
      case 'assign':
        return { ok: true, op: 'assign', addresses: [{ address: '10.244.1.5', family: 4 }], mtu: 1450, node: 'n' };
      case 'release':
        return { ok: true, op: 'release' };
      case 'addresses':
        return { ok: true, op: 'addresses', addresses: [] };
      case 'status':
        return { ok: true, op: 'status', node: 'n', mtu: 1450 };
    }
  };
  const agent = (): AgentClient => ({
    call: async (req) => {
      agentCalls.push(req);
      return answer(req) as never;
    },
  });
  const dataplane: WorkloadDataplane = {
    add: async () => {
      kernelCalls.push('add');
      return { containerMac: '0a:58:0a:f4:01:05' };
    },
    remove: async () => void kernelCalls.push('remove'),
    inspect: async () => {
      kernelCalls.push('inspect');
      throw new Error('not inspected in this test');
    },
    hostInterfaceExists: () => false,
    netnsExists: () => true,
  };
  const out = await runPlugin({ env, stdin, dataplane, agent, workloadInterfaceName, log: silentPluginLog() });
  expect([0, 1]).toContain(out.exitCode);
  let error: { cniVersion: string; code: number; msg: string; details?: string } | undefined;
  if (out.exitCode === 1) {
    expect(out.stdout.endsWith('\n')).toBe(true);
    expect(out.stdout.trimEnd()).not.toContain('\n');
    error = JSON.parse(out.stdout) as typeof error;
    expect(typeof error?.cniVersion).toBe('string');
    expect(CODES.has(error!.code)).toBe(true);
    expect(error!.msg.length).toBeGreaterThan(0);
  }
  return { out, error, agentCalls, kernelCalls };
}

/** The CNI spec's rules for the variables (SPEC.md "Parameters") and Kubernetes' pod identity in CNI_ARGS. */
const BAD_ENV: Record<string, (string | undefined)[]> = {
  CNI_COMMAND: [undefined, '', 'add', 'ADDD', 'DELETE', ' ADD'],
  CNI_CONTAINERID: [undefined, '', '-leading-dash', 'has space', 'semi;colon', 'ünicode', '/slash'],
  CNI_IFNAME: [undefined, '', '.', '..', 'abcdefghijklmnop', 'eth/0', 'eth:0', 'eth 0', 'a"b'],
  CNI_NETNS: [undefined, '', 'relative/path', '/with space', '/quote"d', '/hash#'],
  CNI_ARGS: ['novalue', '=x', 'K8S_POD_NAME=only-the-name', 'K8S_POD_NAMESPACE=only-the-namespace'],
};

/** The plugin's documented keys and their rules (config.ts header, SPEC.md "Network configuration"). */
const BAD_CONF: Record<string, unknown[]> = {
  cniVersion: [5, null, '9.9.9', '0.1.0'],
  name: [null, '', '-starts-with-dash', 'has space', 7],
  type: [null, '', 3],
  mtu: [-1, 65536, '1500', 1.5],
  nodename: ['', 'n'.repeat(254), 1],
  ipam: ['tabby-ipam', [], 1],
  'ipam.type': ['host-local', 'dhcp', 5],
  'ipam.assign_ipv4': ['yes', 1, 'TRUE'],
  'ipam.assign_ipv6': ['no', 0],
  'ipam.ipv4_pools': ['default-pool', [''], [1], Array.from({ length: 65 }, (_, i) => `p${i}`)],
  agent_socket: ['relative.sock', '', 9],
  agent_timeout_ms: [5, 99, 600_001, '1000', 2.5],
  log_level: ['loud', '', 3],
  log_file_path: ['relative.log', ''],
  runtimeConfig: ['x', [], 4],
  args: ['x', 4],
};

function withField(conf: Record<string, unknown>, field: string, value: unknown): Record<string, unknown> {
  const [head, sub] = field.split('.') as [string, string | undefined];
  if (sub === undefined) return { ...conf, [head]: value };
  return { ...conf, [head]: { ...(conf[head] as Record<string, unknown>), [sub]: value } };
}

describe('fuzz: the CNI plugin refuses bad stdin and environment before touching anything', () => {
  it('one variable broken: error 4 naming the variable, no agent call, no kernel call', async () => {
    const cases = fc
      .tuple(fc.constantFrom('ADD', 'DEL', 'CHECK'), fc.constantFrom(...Object.keys(BAD_ENV)))
      .chain(([command, variable]) =>
        fc.constantFrom(...BAD_ENV[variable]!).map((value) => ({ command, variable, value })),
      )
      // DEL may come without a namespace (SPEC.md): that is not an error.
      .filter((c) => !(c.command === 'DEL' && c.variable === 'CNI_NETNS' && (c.value === undefined || c.value === '')));
    await fuzz('one variable broken', cases, 1500, async ({ command, variable, value }) => {
      const env = { ...goodEnv, CNI_COMMAND: command, [variable]: value };
      const r = await run(env, JSON.stringify(goodConf));
      expect(r.error?.code, `${variable}=${JSON.stringify(value)}`).toBe(CniCode.InvalidEnvironment);
      expect(`${r.error?.msg} ${r.error?.details ?? ''}`).toContain(variable);
      expect(r.agentCalls).toEqual([]);
      expect(r.kernelCalls).toEqual([]);
    });
  });

  it('one configuration field broken: error 1, 2 or 7 naming the field, no agent call, no kernel call', async () => {
    const cases = fc
      .tuple(fc.constantFrom('ADD', 'DEL', 'CHECK', 'STATUS'), fc.constantFrom(...Object.keys(BAD_CONF)))
      .chain(([command, field]) => fc.constantFrom(...BAD_CONF[field]!).map((value) => ({ command, field, value })));
    await fuzz('one field broken', cases, 1500, async ({ command, field, value }) => {
      const r = await run({ ...goodEnv, CNI_COMMAND: command }, JSON.stringify(withField(goodConf, field, value)));
      expect(r.error, `${field}=${JSON.stringify(value)}`).toBeDefined();
      expect([CniCode.IncompatibleVersion, CniCode.UnsupportedField, CniCode.InvalidConfig]).toContain(r.error?.code);
      // The version's error says what the plugin speaks instead of naming the key.
      const named = field === 'cniVersion' ? /cniVersion|incompatible CNI versions/ : field;
      expect(`${r.error?.msg} ${r.error?.details ?? ''}`).toMatch(named);
      expect(r.agentCalls).toEqual([]);
      expect(r.kernelCalls).toEqual([]);
    });
  });

  it('arbitrary stdin (text, JSON, truncated configurations): the spec answer, and no address or veth on a refusal', async () => {
    const good = JSON.stringify(goodConf);
    const stdin = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 400 }),
      fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
      fc.integer({ min: 0, max: good.length - 1 }).map((cut) => good.slice(0, cut)),
      fc
        .dictionary(fc.constantFrom(...Object.keys(goodConf), 'prevResult', 'x'), fc.jsonValue({ maxDepth: 2 }))
        .map((patch) => JSON.stringify({ ...goodConf, ...patch })),
    );
    const command = fc.constantFrom('ADD', 'DEL', 'CHECK', 'STATUS', 'VERSION', 'GC');
    await fuzz('arbitrary stdin', fc.tuple(command, stdin), 3000, async ([cmd, text]) => {
      const r = await run({ ...goodEnv, CNI_COMMAND: cmd }, text);
      if (r.error !== undefined && r.error.code !== CniCode.IncompatibleVersion) {
        // Refused before the verb ran: nothing assigned, nothing plumbed. (A refused ADD that got as far as the
        // agent would show its undo: a release after the assign.)
        const assigned = r.agentCalls.filter((c) => c.op === 'assign').length;
        const released = r.agentCalls.filter((c) => c.op === 'release').length;
        expect(assigned).toBeLessThanOrEqual(released);
        expect(r.kernelCalls.filter((k) => k === 'add')).toEqual([]);
      }
    });
  });

  it('arbitrary environments: the spec answer, never an exception', async () => {
    const value = fc.oneof(
      fc.constant(undefined),
      fc.string({ unit: 'binary', maxLength: 40 }),
      fc.constantFrom('ADD', 'DEL', 'CHECK', 'VERSION', 'eth0', '/var/run/netns/x', 'c0ffee'),
    );
    const env = fc.record({
      CNI_COMMAND: value,
      CNI_CONTAINERID: value,
      CNI_NETNS: value,
      CNI_IFNAME: value,
      CNI_ARGS: value,
      CNI_PATH: value,
    });
    await fuzz('arbitrary environment', env, 3000, async (e) => {
      const r = await run(e, JSON.stringify(goodConf));
      if (r.error?.code === CniCode.InvalidEnvironment) {
        expect(r.agentCalls).toEqual([]);
        expect(r.kernelCalls).toEqual([]);
      }
    });
  });
});
