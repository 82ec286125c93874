// Hostile input at the CNI plugin's doors, end to end: the installed plugin (launcher, node, bundle) run as a runtime
// runs it, with seeded, bounded, reproducible bad stdin and CNI_* environments — one variable or configuration
// field broken (bad values from the CNI spec's rules and the plugin's documented keys), arbitrary and truncated
// stdin, a stdin of megabytes, and ten plugins at once. Counted: every run answers with the spec's error JSON
// (exit 1, a code, a message naming the variable or field), and leaves nothing behind: no host interface, nothing in
// the pod's namespace, no write to the agent's IPAM store. Each input uses one shared namespace and container ID,
// so a leak would be there to see.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CniCode } from '../../src/cni/errors.js';
import { addNetns, hostLinks, nsLinks, pluginConfig, runPlugin } from './cni-support.js';
import { useCniFixture } from './cni-fixture.js';

const SEED = 19_006;
const cni = useCniFixture('z', { pools: [{ name: 'fuzz', cidr: '10.212.0.0/24', blockSize: 28 }] });
const CODES = new Set<number>(Object.values(CniCode));

/** The CNI spec's rules for the variables (SPEC.md "Parameters") and Kubernetes' pod identity in CNI_ARGS. */
const BAD_ENV: Record<string, (string | undefined)[]> = {
  CNI_COMMAND: [undefined, '', 'add', 'DELETE'],
  CNI_CONTAINERID: [undefined, '', '-dash', 'has space', 'semi;colon'],
  CNI_IFNAME: [undefined, '', '..', 'abcdefghijklmnop', 'eth/0', 'eth 0'],
  CNI_NETNS: [undefined, 'relative/ns', '/with space', '/hash#x'],
  CNI_ARGS: ['novalue', 'K8S_POD_NAME=only-the-name'],
};
/** The plugin's documented configuration keys and their rules (src/cni/config.ts header). */
const BAD_CONF: Record<string, unknown[]> = {
  cniVersion: [5, '9.9.9'],
  name: ['', '-x', 'a b'],
  type: ['', 3],
  mtu: [-1, 65536, '1500'],
  nodename: ['', 5],
  ipam: ['tabby-ipam', []],
  agent_timeout_ms: [5, '1000'],
  log_level: ['loud'],
  log_file_path: ['relative.log'],
};

describe('fuzz: the CNI plugin, installed and run as a runtime runs it', () => {
  let netns = '';
  let ns = '';
  let hostBefore: string[] = [];
  const podVeths = async () =>
    (await hostLinks())
      .map((l) => l.ifname)
      .filter((n) => n.startsWith('cali'))
      .sort();
  const counts = new Map<string, number>();
  const count = (cls: string, n = 1) => counts.set(cls, (counts.get(cls) ?? 0) + n);
  let env: Record<string, string | undefined> = {};
  let conf: Record<string, unknown> = {};

  beforeAll(async () => {
    ns = `${cni.prefix}-fuzz`;
    netns = await addNetns(ns);
    hostBefore = await podVeths();
    env = {
      CNI_COMMAND: 'ADD',
      CNI_CONTAINERID: `${cni.prefix}fuzz`,
      CNI_NETNS: netns,
      CNI_IFNAME: 'eth0',
      CNI_ARGS: 'K8S_POD_NAMESPACE=fuzz;K8S_POD_NAME=pod',
    };
    conf = JSON.parse(pluginConfig(cni.dirs.socketPath)) as Record<string, unknown>;
    cni.agent.store.resetStats();
  });

  afterAll(() => {
    const total = [...counts.values()].reduce((a, b) => a + b, 0);
    console.log(`fuzz: CNI plugin runs: ${total} inputs (${[...counts].map(([k, n]) => `${k} ${n}`).join(', ')})`);
  });

  /** One run that must be refused: exit 1, the spec's error JSON with a known code, naming `names` when given. */
  async function refusedRun(e: Record<string, string | undefined>, stdin: string, names?: string | RegExp) {
    const r = await runPlugin(cni.dirs, e, stdin);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stdout.trimEnd()).not.toContain('\n');
    const err = r.json as { cniVersion: string; code: number; msg: string; details?: string };
    expect(typeof err.cniVersion).toBe('string');
    expect(CODES.has(err.code)).toBe(true);
    expect(err.msg.length).toBeGreaterThan(0);
    if (names !== undefined) expect(`${err.msg} ${err.details ?? ''}`).toMatch(names);
    return err;
  }

  it('one variable broken: error 4 naming the variable', async () => {
    const cases = fc.sample(
      fc
        .tuple(fc.constantFrom('ADD', 'CHECK'), fc.constantFrom(...Object.keys(BAD_ENV)))
        .chain(([command, variable]) =>
          fc.constantFrom(...BAD_ENV[variable]!).map((value) => ({ command, variable, value })),
        ),
      { seed: SEED, numRuns: 30 },
    );
    for (const { command, variable, value } of cases) {
      const err = await refusedRun({ ...env, CNI_COMMAND: command, [variable]: value }, JSON.stringify(conf), variable);
      expect(err.code).toBe(CniCode.InvalidEnvironment);
      count('variable broken');
    }
  });

  it('one configuration field broken: error 1, 2 or 7 naming the field', async () => {
    const cases = fc.sample(
      fc
        .constantFrom(...Object.keys(BAD_CONF))
        .chain((field) => fc.constantFrom(...BAD_CONF[field]!).map((value) => ({ field, value }))),
      { seed: SEED + 1, numRuns: 25 },
    );
    for (const { field, value } of cases) {
      const named = field === 'cniVersion' ? /cniVersion|incompatible CNI versions/ : field;
      const err = await refusedRun(env, JSON.stringify({ ...conf, [field]: value }), named);
      expect([CniCode.IncompatibleVersion, CniCode.UnsupportedField, CniCode.InvalidConfig]).toContain(err.code);
      count('field broken');
    }
  });

  it('arbitrary, truncated and huge stdin: error 6 or 7', async () => {
    const good = JSON.stringify(conf);
    const inputs = fc.sample(
      fc.oneof(
        fc.string({ unit: 'binary', maxLength: 300 }),
        fc.integer({ min: 0, max: good.length - 1 }).map((cut) => good.slice(0, cut)),
        fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v)),
      ),
      { seed: SEED + 2, numRuns: 25 },
    );
    // Megabytes of JSON that is not a configuration, and a configuration cut off after megabytes of padding.
    inputs.push(JSON.stringify({ junk: 'x'.repeat(4 << 20) }), `${good.slice(0, -1)}${' '.repeat(4 << 20)}`);
    for (const stdin of inputs) {
      const err = await refusedRun(env, stdin);
      expect([CniCode.DecodeFailure, CniCode.InvalidConfig, CniCode.IncompatibleVersion]).toContain(err.code);
      count('stdin');
    }
  });

  it('ten plugins at once with bad input: each answered', async () => {
    const runs = Array.from({ length: 10 }, (_, i) =>
      refusedRun({ ...env, CNI_IFNAME: `bad/${i}` }, JSON.stringify(conf), 'CNI_IFNAME'),
    );
    const errs = await Promise.all(runs);
    expect(errs.map((e) => e.code)).toEqual(Array(10).fill(CniCode.InvalidEnvironment));
    count('concurrent', errs.length);
  });

  it('nothing is left behind: no host interface, nothing in the namespace, nothing written to IPAM', async () => {
    // The host side of a pod veth is cali*; other work on this machine may add its own interfaces meanwhile.
    expect(await podVeths()).toEqual(hostBefore);
    expect((await nsLinks(ns)).map((l) => l.ifname)).toEqual(['lo']);
    const s = cni.agent.store.stats;
    expect({ creates: s.creates, updates: s.updates, deletes: s.deletes }).toEqual({
      creates: 0,
      updates: 0,
      deletes: 0,
    });
    expect(cni.agent.store.snapshot().handles).toEqual([]);
  });

  it('a valid ADD afterwards is seen by the same checks (they could fail), and its DEL undoes it', async () => {
    const added = await runPlugin(cni.dirs, env, JSON.stringify(conf));
    expect(added.code, added.stdout).toBe(0);
    const veths = await podVeths();
    expect(veths.length).toBe(hostBefore.length + 1);
    cni.hostIfs.add(veths.find((v) => !hostBefore.includes(v))!);
    expect((await nsLinks(ns)).map((l) => l.ifname).sort()).toEqual(['eth0', 'lo']);
    expect(cni.agent.store.stats.updates).toBeGreaterThan(0);
    const deleted = await runPlugin(cni.dirs, { ...env, CNI_COMMAND: 'DEL' }, JSON.stringify(conf));
    expect(deleted.code, deleted.stdout).toBe(0);
    expect(await podVeths()).toEqual(hostBefore);
    expect(cni.agent.store.snapshot().handles).toEqual([]);
  });
});
