// Every numeric, enumerated, address or name flag of every `tabby` subcommand is checked when the command line is
// parsed — before anything starts — and a bad value is refused naming the flag and what it accepts. Values taken
// from the environment ($NODE_NAME, $TABBY_LOG_LEVEL, $POD_NAMESPACE) are held to the same rules, naming the variable.
// Commands that talk to a cluster get --kubeconfig pointing nowhere and `cni install` scratch folders, so one that
// wrongly got past its flags fails at once (and the test with it) without touching the host; the dev-cluster cases
// are `env`/`down` (which only read) or a bind address kube-apiserver refuses.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { registerCommands } from './commands.js';
import { LOG_LEVELS, logLevelValue, nodeNameValue, portValue } from './flag-values.js';

const NOWHERE = ['--kubeconfig', '/nonexistent/tabby-test-kubeconfig'];
const scratch = mkdtempSync(join(tmpdir(), 'tabby-flags-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
/** CNI folders a wrongly accepted `cni install` would write into: a scratch folder, never the host's. */
const scratchCniDirs = () => ['--bin-dir', join(scratch, 'bin'), '--conf-dir', join(scratch, 'conf')];
const savedEnv = { ...process.env };
afterEach(() => {
  process.env = { ...savedEnv };
  process.exitCode = undefined;
});

/** Parses `tabby ARGS` in this process; returns how it was refused (commander's error, or what the action threw). */
async function refusal(args: string[]): Promise<{ parseTime: boolean; message: string } | undefined> {
  let errText = '';
  const program = new Command('tabby')
    .exitOverride()
    .configureOutput({ writeErr: (s) => void (errText += s), writeOut: () => undefined });
  registerCommands(program);
  try {
    await program.parseAsync(args, { from: 'user' });
    return undefined;
  } catch (e) {
    if (e instanceof CommanderError) return { parseTime: e.code === 'commander.invalidArgument', message: errText };
    return { parseTime: false, message: (e as Error).message };
  }
}

describe('flags are checked when the command line is parsed', () => {
  const portRange = /--metrics-port must be a port number from 1 to 65535 \(got "(abc|0|65536|80\.5|-1|)"\)/;
  const levels = /--log-level must be one of debug, info, warn, error \(got "(verbose|INFO|)"\)/;
  const nodeName = /--node must be a Kubernetes node name \(a DNS-1123 subdomain/;
  it.each([
    { args: ['agent', '--node', 'n1', '--metrics-port', 'abc'], want: portRange },
    { args: ['agent', '--node', 'n1', '--metrics-port', ''], want: portRange },
    { args: ['agent', '--node', 'n1', '--metrics-port', '0'], want: portRange },
    { args: ['agent', '--node', 'n1', '--metrics-port', '65536'], want: portRange },
    { args: ['agent', '--node', 'n1', '--metrics-port', '80.5'], want: portRange },
    { args: ['agent', '--node', 'n1', '--metrics-port=-1'], want: portRange },
    { args: ['agent', '--node', 'n1', '--log-level', 'verbose'], want: levels },
    { args: ['agent', '--node', 'n1', '--log-level', 'INFO'], want: levels },
    { args: ['agent', '--node', 'n1', '--log-level', ''], want: levels },
    { args: ['agent', '--node', 'Node_1'], want: nodeName },
    { args: ['agent', '--node', ''], want: nodeName },
    { args: ['agent', '--node', 'a'.repeat(254)], want: nodeName },
    { args: ['agent', '--node', 'n1', '--metrics-host', 'not-an-ip'], want: /--metrics-host must be an IP address/ },
    { args: ['agent', '--node', 'n1', '--namespace', 'Kube_System'], want: /--namespace must be a namespace name/ },
    { args: ['operator', '--metrics-port', 'abc'], want: portRange },
    { args: ['operator', '--log-level', 'verbose'], want: levels },
    { args: ['operator', '--metrics-host', '0.0.0'], want: /--metrics-host must be an IP address/ },
    {
      args: ['operator', '--leader-elect-lease-duration', '15'],
      want: /--leader-elect-lease-duration must be a duration such as 8s or 1500ms/,
    },
    {
      args: ['operator', '--leader-election-namespace', 'a.b'],
      want: /--leader-election-namespace must be a namespace name/,
    },
    { args: ['operator', '--leader-election-name', 'Lease!'], want: /--leader-election-name must be an object name/ },
    { args: ['render', '-f', 'x.yaml', '--format', 'xml'], want: /--format must be one of routes, json, yaml, bird/ },
    { args: ['render', '-f', 'x.yaml', '--node', 'Node_1'], want: nodeName },
    {
      args: ['render', '-f', 'x.yaml', '--secrets-namespace', '-'],
      want: /--secrets-namespace must be a namespace name/,
    },
    { args: ['cni', 'install', ...scratchCniDirs(), '--node', 'Node_1'], want: nodeName },
    { args: ['ipam', 'show', '--node', 'Node_1'], want: nodeName },
    { args: ['ipam', 'show', '--pool', 'Pool 1'], want: /--pool must be an object name/ },
    { args: ['ipam', 'history', '--ip', '10.0.0'], want: /--ip must be an IP address/ },
    {
      args: ['ipam', 'history', '--pod', 'Shop/cart'],
      want: /--pod must be a pod as NAMESPACE\/NAME \(or NAME, in namespace default\) \(got "Shop\/cart"\)/,
    },
    { args: ['ipam', 'history', '--ip', '10.0.0.1', '-o', 'yaml'], want: /--output must be one of text, json/ },
    { args: ['diff', '-f', 'x.yaml', '--delete', 'service/web'], want: /--delete "service\/web": the kind must be/ },
    {
      args: ['diff', '-f', 'x.yaml', '--delete', 'pod/web'],
      want: /--delete "pod\/web": must be pod\/NAMESPACE\/NAME/,
    },
    { args: ['diff', '-f', 'x.yaml', '--node', 'Node_1'], want: nodeName },
    { args: ['explain', '10.0.0.0/33'], want: /<ip\|cidr> must be an IP address or a CIDR/ },
    { args: ['explain', 'web-1'], want: /<ip\|cidr> must be an IP address or a CIDR/ },
    { args: ['explain', '10.0.0.1', '--node', 'Node_1'], want: nodeName },
    { args: ['dev-cluster', 'up', '--bind-address', 'localhost'], want: /--bind-address must be an IP address/ },
    { args: ['dev-cluster', 'env', '--name', '../x'], want: /--name must be a cluster name/ },
    { args: ['dev-cluster', 'down', '--name', ''], want: /--name must be a cluster name/ },
  ])('tabby $args.0 $args.1 … $args.-1: refused naming the flag', async ({ args, want }) => {
    const cluster = ['agent', 'operator', 'ipam', 'diff', 'explain'].includes(args[0]!) ? NOWHERE : [];
    const r = await refusal([...args, ...cluster]);
    expect(r?.message).toMatch(want);
    expect(r?.parseTime).toBe(true);
  });

  it.each([
    { env: { NODE_NAME: 'Bad_Name' }, args: ['agent'], want: /NODE_NAME must be a Kubernetes node name/ },
    { env: { NODE_NAME: 'n1', TABBY_LOG_LEVEL: 'loud' }, args: ['agent'], want: /TABBY_LOG_LEVEL must be one of/ },
    { env: { TABBY_LOG_LEVEL: 'loud' }, args: ['operator'], want: /TABBY_LOG_LEVEL must be one of/ },
    { env: { NODE_NAME: 'n1', POD_NAMESPACE: 'A' }, args: ['agent'], want: /POD_NAMESPACE must be a namespace name/ },
    {
      env: { NODE_NAME: 'Bad_Name' },
      args: ['cni', 'install', ...scratchCniDirs()],
      want: /NODE_NAME must be a Kubernetes node name/,
    },
  ])(
    '$args.0 with $env: the variable is checked like the flag, before anything starts',
    async ({ env, args, want }) => {
      Object.assign(process.env, env);
      const cluster = args[0] === 'cni' ? [] : NOWHERE;
      const r = await refusal([...args, ...cluster]);
      expect(r?.message).toMatch(want);
    },
  );
});

describe('flag values that are accepted', () => {
  it('ports 1-65535, as numbers', () => {
    const p = portValue('--metrics-port');
    expect([p('1'), p('9092'), p('65535'), p(' 8080 ')]).toEqual([1, 9092, 65535, 8080]);
  });
  it('the documented log levels', () => {
    expect(LOG_LEVELS.map(logLevelValue('--log-level'))).toEqual(['debug', 'info', 'warn', 'error']);
  });
  it('node names as Kubernetes accepts them (DNS-1123 subdomains, up to 253 characters)', () => {
    const n = nodeNameValue('--node');
    for (const ok of ['n1', 'node-a', 'ip-10-0-0-1.ec2.internal', 'a'.repeat(253), '0']) expect(n(ok)).toBe(ok);
  });
});
