import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cniScript } from './workload.js';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

/** Runs a pod's CNI script with `cnitool` exiting `pluginExit` and `ip` recorded, not run. */
function run(verb: 'add' | 'del', pluginExit: number): { status: number | null; ip: string } {
  const dir = mkdtempSync(join(tmpdir(), 'chaos-cni-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'pod-p1'), '');
  const stubs = [
    `cnitool() { echo "cnitool $*" >>${dir}/calls; return ${pluginExit}; }`,
    `ip() { echo "ip $*" >>${dir}/calls; }`,
    `timeout() { shift; "$@"; }`,
  ].join('\n');
  const r = spawnSync('bash', ['-c', `${stubs}\n${cniScript(verb, { name: 'p1', containerId: 'c1' }, dir)}`]);
  return { status: r.status, ip: readFileSync(join(dir, 'calls'), 'utf8') };
}

describe('cniScript', () => {
  it("a failed DEL exits with the plugin's status and leaves the network namespace for the retry", () => {
    const r = run('del', 1);
    expect(r.status).toBe(1);
    expect(r.ip).not.toContain('ip netns del');
  });

  it('a DEL that succeeded removes the network namespace', () => {
    const r = run('del', 0);
    expect(r.status).toBe(0);
    expect(r.ip).toContain('ip netns del pod-p1');
  });

  it("a failed ADD exits with the plugin's status", () => {
    expect(run('add', 1).status).toBe(1);
  });
});
