// Installs the plugin into a node's CNI directories, as Calico's install-cni does for its binaries. The host runs
// the plugin, and a host has no Node.js of its own: so (by default) the agent copies the runtime next to the
// launcher — `<binDir>/tabby-cni.d/node` (the agent's own node binary) and the bundled plugin
// (`tabby-cni.d/plugin-<hash>/`, scripts/bundle-cni.mjs) — then the launcher (bin/tabby-cni, pointing at them by
// paths relative to itself, so it works whatever path the host mounts the folder at), then the conflist.
//
// Invariants:
// - Atomic: each file is written to a temporary name in the same directory, flushed, then renamed over the target
//   (a plugin folder is filled under a temporary name, then renamed), so a runtime never executes or parses a
//   half-written file, and a plugin process already running keeps the inodes it opened.
// - Never removes: restarting the agent rewrites (only what changed) but deletes nothing, so pods keep being
//   served while the agent is down, and a runtime never sees the network configuration disappear. A superseded
//   plugin folder (~100 KiB) stays too: a plugin started just before an upgrade may still load lazy chunks from it.
// - Unchanged files are not rewritten, so the runtime's config watcher sees no churn on every agent restart.
import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  copyFileSync,
  existsSync,
  fchmodSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CONFLIST_FILE_NAME, PLUGIN_TYPE } from './conflist.js';

export interface InstallOptions {
  /** e.g. /opt/cni/bin */
  binDir: string;
  /** e.g. /etc/cni/net.d */
  confDir: string;
  /** The conflist text (conflist.ts renderConflist). */
  conflist: string;
  conflistName?: string;
  /** File name of the plugin in binDir; must equal the conflist's plugin `type`. */
  pluginName?: string;
  /** Node binary the launcher runs; default the running one. */
  nodePath?: string;
  /** The bundled plugin (scripts/bundle-cni.mjs); default dist/cni-bundle of this installation. */
  bundleDir?: string;
  /**
   * Copy node and the bundle into `<binDir>/tabby-cni.d/` (default), for hosts without them; false: the launcher
   * runs them where they are (a checkout, tests).
   */
  copyRuntime?: boolean;
  /** With copyRuntime false: the entry point to run instead of the bundle's (tests). */
  cniMain?: string;
  /** The launcher template; default bin/tabby-cni of this installation. */
  launcherTemplate?: string;
}

export interface InstalledFile {
  path: string;
  /** False when the file already had exactly this content (nothing was written). */
  changed: boolean;
}

export interface InstallResult {
  plugin: InstalledFile;
  conflist: InstalledFile;
  /** node and the plugin folder in tabby-cni.d/, when copied. */
  runtime: InstalledFile[];
}

/** The folder next to the launcher that holds the copied runtime. */
export const RUNTIME_DIR_NAME = 'tabby-cni.d';
const ENTRY_FILE = 'tabby-cni.mjs';

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The launcher's text with node and the entry point filled in. */
export function renderLauncher(template: string, nodePath: string, cniMain: string): string {
  const node = template.replace(/^node='@TABBY_NODE@'$/m, `node=${shellQuote(nodePath)}`);
  const out = node.replace(/^main='@TABBY_CNI_MAIN@'$/m, `main=${shellQuote(cniMain)}`);
  if (out === node || node === template)
    throw new Error('launcher template lacks the @TABBY_NODE@ and @TABBY_CNI_MAIN@ placeholders');
  return out;
}

function tempName(path: string): string {
  const slash = path.lastIndexOf('/');
  return `${path.slice(0, slash + 1)}.${path.slice(slash + 1)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
}

/** Writes `content` to `path` atomically (temp file in the same directory + rename); skips identical content. */
export function writeFileAtomic(path: string, content: string | Buffer, mode: number): InstalledFile {
  try {
    if (readFileSync(path).equals(Buffer.from(content))) return { path, changed: false };
  } catch {
    // absent or unreadable: write it
  }
  const tmp = tempName(path);
  const fd = openSync(tmp, 'wx', mode);
  try {
    fchmodSync(fd, mode); // the umask must not decide whether the runtime may execute the plugin
    writeSync(fd, typeof content === 'string' ? Buffer.from(content) : content);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw e;
  }
  closeSync(fd);
  try {
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
  return { path, changed: true };
}

function sameFileContent(a: string, b: string): boolean {
  let sa, sb;
  try {
    sa = statSync(a);
    sb = statSync(b);
  } catch {
    return false;
  }
  if (sa.size !== sb.size) return false;
  const digest = (p: string) => {
    const h = createHash('sha256');
    const fd = openSync(p, 'r');
    try {
      const buf = Buffer.allocUnsafe(1 << 20);
      for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0;) h.update(buf.subarray(0, n));
    } finally {
      closeSync(fd);
    }
    return h.digest('hex');
  };
  return digest(a) === digest(b);
}

/** Copies `from` to `to` atomically (mode 0755); skips an identical target. */
export function copyFileAtomic(from: string, to: string): InstalledFile {
  if (sameFileContent(from, to)) return { path: to, changed: false };
  const tmp = tempName(to);
  try {
    copyFileSync(from, tmp);
    const fd = openSync(tmp, 'r+');
    try {
      fchmodSync(fd, 0o755);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, to);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
  return { path: to, changed: true };
}

/** The bundle's files, and a name that changes whenever any of them does. */
function readBundle(dir: string): { name: string; files: { name: string; content: Buffer }[] } {
  if (!existsSync(`${dir}/${ENTRY_FILE}`))
    throw new Error(`the CNI plugin bundle ${dir}/${ENTRY_FILE} is missing (npm run build makes it)`);
  const files = readdirSync(dir)
    .filter((n) => n.endsWith('.mjs'))
    .sort()
    .map((name) => ({ name, content: readFileSync(`${dir}/${name}`) }));
  const h = createHash('sha256');
  for (const f of files) h.update(f.name).update('\0').update(f.content).update('\0');
  return { name: `plugin-${h.digest('hex').slice(0, 12)}`, files };
}

/** Fills `<runtimeDir>/<bundle name>/` under a temporary name, then renames it into place; skips an existing one. */
function installBundle(runtimeDir: string, bundleDir: string): InstalledFile & { name: string } {
  const bundle = readBundle(bundleDir);
  const target = `${runtimeDir}/${bundle.name}`;
  // The name is the content's hash, and a folder appears only by rename: present files are the right ones.
  if (bundle.files.every((f) => existsSync(`${target}/${f.name}`)))
    return { path: target, changed: false, name: bundle.name };
  const tmp = tempName(target);
  try {
    mkdirSync(tmp);
    for (const f of bundle.files) writeFileAtomic(`${tmp}/${f.name}`, f.content, 0o644);
    rmSync(target, { recursive: true, force: true }); // a folder someone emptied by hand
    renameSync(tmp, target);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  return { path: target, changed: true, name: bundle.name };
}

/** The plugin and its runtime, without the conflist: what the agent installs at start (see `installConflist`). */
export function installPlugin(
  o: Omit<InstallOptions, 'conflist' | 'conflistName' | 'confDir'>,
): Omit<InstallResult, 'conflist'> {
  const template = readFileSync(
    o.launcherTemplate ?? fileURLToPath(new URL('../../bin/tabby-cni', import.meta.url)),
    'utf8',
  );
  const nodePath = o.nodePath ?? process.execPath;
  const bundleDir = o.bundleDir ?? fileURLToPath(new URL('../cni-bundle', import.meta.url));
  mkdirSync(o.binDir, { recursive: true });
  const runtime: InstalledFile[] = [];
  let launcher: string;
  if (o.copyRuntime ?? true) {
    const dir = `${o.binDir}/${RUNTIME_DIR_NAME}`;
    mkdirSync(dir, { recursive: true });
    runtime.push(copyFileAtomic(nodePath, `${dir}/node`));
    const bundle = installBundle(dir, bundleDir);
    runtime.push({ path: bundle.path, changed: bundle.changed });
    launcher = renderLauncher(template, `${RUNTIME_DIR_NAME}/node`, `${RUNTIME_DIR_NAME}/${bundle.name}/${ENTRY_FILE}`);
  } else {
    launcher = renderLauncher(template, nodePath, o.cniMain ?? `${bundleDir}/${ENTRY_FILE}`);
  }
  const plugin = writeFileAtomic(`${o.binDir}/${o.pluginName ?? PLUGIN_TYPE}`, launcher, 0o755);
  return { plugin, runtime };
}

/**
 * The conflist alone. Its presence is what makes kubelet report the node's network ready (NetworkReady, hence the
 * Node Ready): the agent writes it once the route readiness gate opens (agent/cni-config-gate.ts).
 */
export function installConflist(o: Pick<InstallOptions, 'confDir' | 'conflist' | 'conflistName'>): InstalledFile {
  mkdirSync(o.confDir, { recursive: true });
  return writeFileAtomic(`${o.confDir}/${o.conflistName ?? CONFLIST_FILE_NAME}`, o.conflist, 0o644);
}

export function installCni(o: InstallOptions): InstallResult {
  // Runtime, then launcher, then conflist: each step only refers to what is already in place, so a pod starting
  // meanwhile never finds a conflist naming a plugin that cannot run.
  const { plugin, runtime } = installPlugin(o);
  return { plugin, conflist: installConflist(o), runtime };
}
