// The agent's CNI install as a host sees it: the Tabby image runs `tabby cni install` into bind-mounted host folders,
// then a bare Debian container — no Node.js, nothing of Tabby — stands in for the host (its kubelet and runtime)
// and executes /opt/cni/bin/tabby-cni. It must answer in CNI's JSON from the runtime copied next to it: VERSION, a
// clear error when the agent is not there, and a config error that needs the plugin's lazily loaded chunks.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage, type BuiltImage } from './support.js';

const exec = promisify(execFile);
const DOCKER = '/usr/bin/docker';
const BARE = process.env.TABBY_BASE_IMAGE ?? 'tabby/debian:bookworm';
/** An ADD as a runtime makes it; the netns is the bare container's own (the plugin fails before plumbing anyway). */
const ADD_ENV = {
  CNI_COMMAND: 'ADD',
  CNI_CONTAINERID: 'c1',
  CNI_NETNS: '/proc/1/ns/net',
  CNI_IFNAME: 'eth0',
  CNI_PATH: '/opt/cni/bin',
};

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function docker(args: string[]): Promise<Run> {
  try {
    const r = await exec(DOCKER, args, { maxBuffer: 16 << 20 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: err.code ?? -1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

describe('tabby cni install from the image onto a host without Node.js', () => {
  let image: BuiltImage;
  let host: string;

  /** Runs the installed plugin in the bare "host" container with `env` and `stdin`. */
  function onHost(env: Record<string, string>, stdin = ''): Promise<Run> {
    const envArgs = Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`]);
    return docker([
      'run',
      '--rm',
      '--network',
      'none',
      '-v',
      `${host}/opt/cni/bin:/opt/cni/bin:ro`,
      ...envArgs,
      BARE,
      'sh',
      '-c',
      `printf '%s' '${stdin.replace(/'/g, `'\\''`)}' | /opt/cni/bin/tabby-cni`,
    ]);
  }

  beforeAll(async () => {
    image = await buildImage();
    host = mkdtempSync(join(tmpdir(), 'tabby-cni-host-'));
    // As the DaemonSet mounts them: the host's folders under /host in the agent's container.
    const install = await docker([
      'run',
      '--rm',
      '--network',
      'none',
      '--user',
      '0',
      '-v',
      `${host}:/host`,
      image.tag,
      'cni',
      'install',
      '--bin-dir=/host/opt/cni/bin',
      '--conf-dir=/host/etc/cni/net.d',
      '--node=node-a',
    ]);
    expect(install.code, install.stderr).toBe(0);
  }, 1_500_000);

  afterAll(async () => {
    // Written by root inside the container: remove with root there too, not relying on this process's rights.
    if (host) {
      await docker([
        'run',
        '--rm',
        '--network',
        'none',
        '-v',
        `${host}:/host`,
        BARE,
        'rm',
        '-rf',
        '/host/opt',
        '/host/etc',
      ]);
      rmSync(host, { recursive: true, force: true });
    }
  });

  it('the bare host really has no node, and the install put the runtime beside the launcher', async () => {
    const which = await docker(['run', '--rm', '--network', 'none', BARE, 'sh', '-c', 'command -v node || echo none']);
    expect(which.stdout.trim()).toBe('none');
    expect(readdirSync(join(host, 'opt/cni/bin')).sort()).toEqual(['tabby-cni', 'tabby-cni.d']);
    const runtime = readdirSync(join(host, 'opt/cni/bin/tabby-cni.d')).sort();
    expect(runtime).toHaveLength(2);
    expect(runtime[0]).toBe('node');
    expect(runtime[1]).toMatch(/^plugin-[0-9a-f]{12}$/);
    const conflist = JSON.parse(readFileSync(join(host, 'etc/cni/net.d/10-tabby.conflist'), 'utf8'));
    expect(conflist.plugins[0]).toMatchObject({ type: 'tabby-cni', nodename: 'node-a' });
  });

  it('answers VERSION from the copied runtime', async () => {
    const r = await onHost({ CNI_COMMAND: 'VERSION' });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      cniVersion: '1.1.0',
      supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'],
    });
  });

  it('ADD without a running agent: error 11 naming the socket, exit 1', async () => {
    const conf = readFileSync(join(host, 'etc/cni/net.d/10-tabby.conflist'), 'utf8');
    const net = { ...JSON.parse(conf).plugins[0], name: 'k8s-pod-network', cniVersion: '1.0.0' };
    const r = await onHost(ADD_ENV, JSON.stringify(net));
    expect(r.code).toBe(1);
    const err = JSON.parse(r.stdout);
    expect(err.code).toBe(11);
    expect(err.details).toContain('/var/run/tabby/ipam.sock');
  });

  it('a malformed config gets the field named (the lazily loaded part of the plugin runs too)', async () => {
    const r = await onHost(
      ADD_ENV,
      JSON.stringify({ cniVersion: '1.0.0', name: 'k8s-pod-network', type: 'tabby-cni', mtu: 'big' }),
    );
    expect(r.code).toBe(1);
    const err = JSON.parse(r.stdout);
    expect(err.code).toBe(7); // invalid network config
    expect(`${err.msg} ${err.details}`).toMatch(/mtu/);
  });
});
