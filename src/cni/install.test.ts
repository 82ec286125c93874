import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { copyFileAtomic, installCni, renderLauncher, writeFileAtomic } from './install.js';
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
      copyRuntime: false,
      launcherTemplate: TEMPLATE,
    });
    expect(r.runtime).toEqual([]);
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
      copyRuntime: false,
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

  /** A stand-in for node (prints what it was asked to run) and a bundle folder, in `root`. */
  function fakeRuntime(root: string, chunk = 'lazy-1') {
    const node = join(root, 'fake-node');
    writeFileSync(node, '#!/bin/sh\necho "ran $1 with $CNI_COMMAND"\n', { mode: 0o755 });
    const bundleDir = join(root, 'bundle');
    mkdirSync(bundleDir);
    writeFileSync(join(bundleDir, 'tabby-cni.mjs'), 'entry');
    writeFileSync(join(bundleDir, `${chunk}.mjs`), 'chunk');
    return { nodePath: node, bundleDir };
  }

  it('copies node and the bundle next to the launcher, which finds them wherever the folder is mounted', () => {
    const root = tmp();
    const rt = fakeRuntime(root);
    const o = { binDir: join(root, 'bin'), confDir: join(root, 'net.d'), launcherTemplate: TEMPLATE, ...rt };
    const r = installCni({ ...o, conflist: renderConflist() });
    expect(r.runtime.map((f) => f.changed)).toEqual([true, true]);
    const [node, plugin] = r.runtime.map((f) => f.path);
    expect(node).toBe(join(root, 'bin', 'tabby-cni.d', 'node'));
    expect(plugin).toMatch(/\/bin\/tabby-cni\.d\/plugin-[0-9a-f]{12}$/);
    expect(readdirSync(plugin!).sort()).toEqual(['lazy-1.mjs', 'tabby-cni.mjs']);
    expect(statSync(node!).mode & 0o777).toBe(0o755);
    // The sources go away and the folder appears elsewhere (the host's /opt/cni/bin vs the agent's mount of it).
    rmSync(rt.nodePath);
    rmSync(rt.bundleDir, { recursive: true });
    renameSync(join(root, 'bin'), join(root, 'host-bin'));
    const out = execFileSync(join(root, 'host-bin', 'tabby-cni'), [], { env: { CNI_COMMAND: 'ADD' } }).toString();
    expect(out.trim()).toBe(
      `ran ${join(root, 'host-bin', 'tabby-cni.d', basename(plugin!), 'tabby-cni.mjs')} with ADD`,
    );
  });

  it('re-installs nothing unchanged, and a new bundle goes to a new folder beside the old one', () => {
    const root = tmp();
    const rt = fakeRuntime(root);
    const o = { binDir: join(root, 'bin'), confDir: join(root, 'net.d'), launcherTemplate: TEMPLATE, ...rt };
    const first = installCni({ ...o, conflist: renderConflist() });
    const again = installCni({ ...o, conflist: renderConflist() });
    expect([again.plugin.changed, again.conflist.changed, ...again.runtime.map((f) => f.changed)]).toEqual([
      false,
      false,
      false,
      false,
    ]);
    writeFileSync(join(rt.bundleDir, 'lazy-1.mjs'), 'chunk v2');
    const upgraded = installCni({ ...o, conflist: renderConflist() });
    expect(upgraded.runtime.map((f) => f.changed)).toEqual([false, true]);
    expect(upgraded.plugin.changed).toBe(true);
    expect(upgraded.runtime[1]!.path).not.toBe(first.runtime[1]!.path);
    // The old folder stays for plugin processes started before the upgrade; no temporary names are left.
    expect(readdirSync(join(root, 'bin', 'tabby-cni.d')).sort()).toEqual(
      ['node', basename(first.runtime[1]!.path), basename(upgraded.runtime[1]!.path)].sort(),
    );
    expect(readFileSync(join(root, 'bin', 'tabby-cni'), 'utf8')).toContain(basename(upgraded.runtime[1]!.path));
  });

  it('names the missing bundle instead of installing a launcher that cannot start', () => {
    const root = tmp();
    expect(() =>
      installCni({
        binDir: join(root, 'bin'),
        confDir: join(root, 'net.d'),
        conflist: renderConflist(),
        launcherTemplate: TEMPLATE,
        bundleDir: join(root, 'nothing'),
      }),
    ).toThrow(/nothing\/tabby-cni\.mjs is missing \(npm run build makes it\)/);
    expect(existsSync(join(root, 'bin', 'tabby-cni'))).toBe(false);
    expect(existsSync(join(root, 'net.d', '10-tabby.conflist'))).toBe(false);
  });

  it('copyFileAtomic copies once and then sees the same content', () => {
    const root = tmp();
    writeFileSync(join(root, 'a'), 'x'.repeat(3 << 20));
    expect(copyFileAtomic(join(root, 'a'), join(root, 'b')).changed).toBe(true);
    expect(copyFileAtomic(join(root, 'a'), join(root, 'b')).changed).toBe(false);
    writeFileSync(join(root, 'a'), `${'x'.repeat((3 << 20) - 1)}y`);
    expect(copyFileAtomic(join(root, 'a'), join(root, 'b')).changed).toBe(true);
    expect(readFileSync(join(root, 'b'), 'utf8').endsWith('xy')).toBe(true);
    expect(readdirSync(root).sort()).toEqual(['a', 'b']);
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
