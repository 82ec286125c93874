import { describe, expect, it } from 'vitest';
import { CniCode, CniError } from './errors.js';
import { interfaceNameProblem, parseCniArgs, podIdentity, readCniEnv } from './env.js';

const add = { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'abc123', CNI_NETNS: '/var/run/netns/x', CNI_IFNAME: 'eth0' };

function envError(env: Record<string, string | undefined>): CniError {
  try {
    readCniEnv(env);
  } catch (e) {
    if (e instanceof CniError) return e;
    throw e;
  }
  throw new Error('expected an error');
}

describe('readCniEnv', () => {
  it('reads an ADD', () => {
    const env = readCniEnv({
      ...add,
      CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-1;K8S_POD_INFRA_CONTAINER_ID=abc123',
      CNI_PATH: '/opt/cni/bin:/usr/libexec/cni',
    });
    expect(env).toMatchObject({ command: 'ADD', containerId: 'abc123', netns: '/var/run/netns/x', ifName: 'eth0' });
    expect(env.path).toEqual(['/opt/cni/bin', '/usr/libexec/cni']);
    expect(podIdentity(env.args)).toEqual({ namespace: 'default', name: 'web-1' });
  });

  it.each([
    { name: 'no command', env: { ...add, CNI_COMMAND: undefined }, variable: 'CNI_COMMAND' },
    { name: 'unknown command', env: { ...add, CNI_COMMAND: 'FROB' }, variable: 'CNI_COMMAND' },
    { name: 'no container ID', env: { ...add, CNI_CONTAINERID: '' }, variable: 'CNI_CONTAINERID' },
    { name: 'container ID starting with "-"', env: { ...add, CNI_CONTAINERID: '-x' }, variable: 'CNI_CONTAINERID' },
    { name: 'container ID with "/"', env: { ...add, CNI_CONTAINERID: 'a/b' }, variable: 'CNI_CONTAINERID' },
    { name: 'no interface name', env: { ...add, CNI_IFNAME: undefined }, variable: 'CNI_IFNAME' },
    { name: 'interface name too long', env: { ...add, CNI_IFNAME: 'eth0123456789abc' }, variable: 'CNI_IFNAME' },
    { name: 'ADD without CNI_NETNS', env: { ...add, CNI_NETNS: undefined }, variable: 'CNI_NETNS' },
    { name: 'CHECK without CNI_NETNS', env: { ...add, CNI_COMMAND: 'CHECK', CNI_NETNS: '' }, variable: 'CNI_NETNS' },
    { name: 'relative CNI_NETNS', env: { ...add, CNI_NETNS: 'netns/x' }, variable: 'CNI_NETNS' },
    { name: 'CNI_NETNS with a space', env: { ...add, CNI_NETNS: '/var/run/netns/a b' }, variable: 'CNI_NETNS' },
    { name: 'CNI_ARGS pair without "="', env: { ...add, CNI_ARGS: 'K8S_POD_NAME' }, variable: 'CNI_ARGS' },
  ])('$name → error 4 naming $variable', ({ env, variable }) => {
    const e = envError(env);
    expect(e.code).toBe(CniCode.InvalidEnvironment);
    expect(e.message).toContain(variable);
  });

  it('DEL may come without a namespace (the sandbox is gone)', () => {
    expect(readCniEnv({ ...add, CNI_COMMAND: 'DEL', CNI_NETNS: undefined }).netns).toBeUndefined();
  });

  it.each(['VERSION', 'STATUS', 'GC'])('%s needs no attachment variables', (cmd) => {
    expect(readCniEnv({ CNI_COMMAND: cmd }).command).toBe(cmd);
  });
});

describe('CNI_ARGS', () => {
  it.each([
    { text: '', out: [] },
    { text: 'A=1', out: [['A', '1']] },
    {
      text: 'A=1;B=x=y;',
      out: [
        ['A', '1'],
        ['B', 'x=y'],
      ],
    },
    {
      text: 'A=;B=2',
      out: [
        ['A', ''],
        ['B', '2'],
      ],
    },
  ])('"$text"', ({ text, out }) => {
    expect([...parseCniArgs(text)]).toEqual(out);
  });

  it('pod identity needs both namespace and name', () => {
    expect(podIdentity(parseCniArgs('IgnoreUnknown=1'))).toBeUndefined();
    expect(() => podIdentity(parseCniArgs('K8S_POD_NAME=web'))).toThrow(/K8S_POD_NAMESPACE and K8S_POD_NAME/);
  });
});

describe('interface names (SPEC.md + what iproute2 batch lines can carry)', () => {
  it.each(['eth0', 'net1', 'a', 'x'.repeat(15), 'eth0.100', 'e-1_b'])('accepts %s', (n) => {
    expect(interfaceNameProblem(n)).toBeUndefined();
  });
  it.each(['', '.', '..', 'x'.repeat(16), 'a/b', 'a:b', 'a b', 'a\tb', 'a"b', "a'b", 'a\\b', 'a#b'])(
    'refuses %j',
    (n) => {
      expect(interfaceNameProblem(n)).toBeDefined();
    },
  );
});
