import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { installCni, renderLauncher, writeFileAtomic } from './install.js';
import { renderConflist } from './conflist.js';

const TEMPLATE = join(import.meta.dirname, '../../bin/tabby-cni');
const dirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'tabby-install-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('renderLauncher', () => {
  it('fills in absolute paths, shell-quoted', () => {
    const out = renderLauncher(readFileSync(TEMPLATE, 'utf8'), "/opt/node's/bin/node", '/opt/tabby/dist/cni/main.js');
    expect(out).toContain(`node='/opt/node'\\''s/bin/node'`);
    expect(out).toContain(`main='/opt/tabby/dist/cni/main.js'`);
    expect(out).not.toContain('@TABBY_');
  });

  it('refuses a template without the placeholders', () => {
    expect(() => renderLauncher('#!/bin/sh\nexec node x\n', '/n', '/m')).toThrow(/placeholders/);
  });
});

describe('installCni', () => {
  it('installs an executable launcher and the conflist', () => {
    const root = tmp();
    const main = join(root, 'main.js');
    writeFileSync(
      main,
      'process.stdout.write(JSON.stringify({ argv: process.argv.length, cmd: process.env.CNI_COMMAND }))\n',
    );
    const r = installCni({
      binDir: join(root, 'bin'),
      confDir: join(root, 'net.d'),
      conflist: renderConflist(),
      cniMain: main,
      launcherTemplate: TEMPLATE,
    });
    expect(r.plugin).toEqual({ path: join(root, 'bin', 'tabby-cni'), changed: true });
    expect(r.conflist).toEqual({ path: join(root, 'net.d', '10-tabby.conflist'), changed: true });
    expect(statSync(r.plugin.path).mode & 0o777).toBe(0o755);
    expect(statSync(r.conflist.path).mode & 0o777).toBe(0o644);
    // Runs with no PATH at all, as a runtime may start it.
    const out = execFileSync(r.plugin.path, [], { env: { CNI_COMMAND: 'VERSION' } }).toString();
    expect(JSON.parse(out)).toEqual({ argv: 2, cmd: 'VERSION' });
  });

  it('rewrites only what changed, never removes, and leaves no temporary files', () => {
    const root = tmp();
    const o = {
      binDir: join(root, 'bin'),
      confDir: join(root, 'net.d'),
      cniMain: '/x/main.js',
      launcherTemplate: TEMPLATE,
    };
    installCni({ ...o, conflist: renderConflist() });
    writeFileSync(join(root, 'net.d', '05-other.conf'), '{}');
    const again = installCni({ ...o, conflist: renderConflist() });
    expect(again.plugin.changed).toBe(false);
    expect(again.conflist.changed).toBe(false);
    const changed = installCni({ ...o, conflist: renderConflist({ mtu: 1400 }) });
    expect(changed.conflist.changed).toBe(true);
    expect(readdirSync(join(root, 'net.d')).sort()).toEqual(['05-other.conf', '10-tabby.conflist']);
    expect(readdirSync(join(root, 'bin'))).toEqual(['tabby-cni']);
    expect(JSON.parse(readFileSync(join(root, 'net.d', '10-tabby.conflist'), 'utf8')).plugins[0].mtu).toBe(1400);
  });

  it('writeFileAtomic replaces the file in one rename', () => {
    const root = tmp();
    const p = join(root, 'f');
    writeFileAtomic(p, 'one', 0o600);
    const ino = statSync(p).ino;
    writeFileAtomic(p, 'two', 0o600);
    expect(readFileSync(p, 'utf8')).toBe('two');
    expect(statSync(p).ino).not.toBe(ino);
    expect(readdirSync(root)).toEqual(['f']);
  });
});
