// Installs the plugin into a node's CNI directories, as Calico's install-cni does for its binaries: the launcher
// (bin/tabby-cni with the absolute paths of node and of dist/cni/main.js filled in) into the bin directory, and the
// conflist into the config directory. The agent calls it at start.
//
// Invariants:
// - Atomic: each file is written to a temporary name in the same directory, flushed, then renamed over the target,
//   so a runtime never executes or parses a half-written file.
// - Never removes: restarting the agent rewrites (only what changed) but deletes nothing, so pods keep being
//   served while the agent is down, and a runtime never sees the network configuration disappear.
// - Unchanged files are not rewritten, so the runtime's config watcher sees no churn on every agent restart.
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  fchmodSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
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
  /** The plugin's entry point; default dist/cni/main.js of this installation. */
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
}

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

/** Writes `content` to `path` atomically (temp file in the same directory + rename); skips identical content. */
export function writeFileAtomic(path: string, content: string, mode: number): InstalledFile {
  try {
    if (readFileSync(path, 'utf8') === content) return { path, changed: false };
  } catch {
    // absent or unreadable: write it
  }
  const slash = path.lastIndexOf('/');
  const tmp = `${path.slice(0, slash + 1)}.${path.slice(slash + 1)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  const fd = openSync(tmp, 'wx', mode);
  try {
    fchmodSync(fd, mode); // the umask must not decide whether the runtime may execute the plugin
    writeSync(fd, content);
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

export function installCni(o: InstallOptions): InstallResult {
  const template = readFileSync(
    o.launcherTemplate ?? fileURLToPath(new URL('../../bin/tabby-cni', import.meta.url)),
    'utf8',
  );
  const launcher = renderLauncher(
    template,
    o.nodePath ?? process.execPath,
    o.cniMain ?? fileURLToPath(new URL('./main.js', import.meta.url)),
  );
  mkdirSync(o.binDir, { recursive: true });
  mkdirSync(o.confDir, { recursive: true });
  // Binary first: a conflist naming a plugin that is not there yet would fail every pod start in between.
  const plugin = writeFileAtomic(`${o.binDir}/${o.pluginName ?? PLUGIN_TYPE}`, launcher, 0o755);
  const conflist = writeFileAtomic(`${o.confDir}/${o.conflistName ?? CONFLIST_FILE_NAME}`, o.conflist, 0o644);
  return { plugin, conflist };
}
