// Sets sysctls through /proc/sys of the target network namespace, touching only values that differ.
//
// /proc/sys/net belongs to the namespace of the process that opens it, so for another namespace one short `sh`
// runs inside it (through the namespace prefix) and checks and writes every path in one go; in the agent's own
// namespace the files are read and written directly. Paths are /proc/sys-relative
// (`net/ipv4/conf/vxlan.calico/rp_filter`), which keeps dotted device names unambiguous where
// `sysctl net.ipv4.conf.vxlan.calico.rp_filter` would not be. Paths are checked, and passed as arguments, never
// spliced into the script.
import { readFile, writeFile } from 'node:fs/promises';
import type { CommandRunner, NetworkNamespace } from './command-runner.js';
import { inNamespace } from './command-runner.js';
import type { SysctlSetting } from '../kernel-target.js';

export interface SysctlResult {
  /** Paths whose value was changed. */
  written: string[];
  failed: { path: string; message: string }[];
}

export interface SysctlAccess {
  /** Makes every setting hold, writing only where the current value differs. */
  ensure(settings: readonly SysctlSetting[]): Promise<SysctlResult>;
}

const SAFE_PATH = /^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/;

export function checkSysctlPath(p: string): void {
  if (!SAFE_PATH.test(p) || p.split('/').some((x) => x === '..' || x === '.')) {
    throw new RangeError(`not a /proc/sys path: ${JSON.stringify(p)}`);
  }
}

// For each (path, value): compare, write when different; report "W <path>" for a write, "F <path>" for a failure.
const ENSURE_SCRIPT =
  'while [ $# -gt 1 ]; do f="/proc/sys/$1"; v=$(cat "$f" 2>/dev/null); ' +
  'if [ "$v" != "$2" ]; then if printf "%s" "$2" 2>/dev/null > "$f"; then echo "W $1"; else echo "F $1"; fi; fi; ' +
  'shift 2; done';

export function createSysctlAccess(runner: CommandRunner, ns: NetworkNamespace): SysctlAccess {
  if (ns.kind === 'host') {
    return {
      async ensure(settings) {
        const out: SysctlResult = { written: [], failed: [] };
        for (const s of settings) {
          checkSysctlPath(s.path);
          const file = `/proc/sys/${s.path}`;
          const current = await readFile(file, 'utf8').then(
            (v) => v.trim(),
            () => undefined,
          );
          if (current === s.value) continue;
          try {
            await writeFile(file, s.value);
            out.written.push(s.path);
          } catch (e) {
            out.failed.push({ path: s.path, message: (e as Error).message });
          }
        }
        return out;
      },
    };
  }
  return {
    async ensure(settings) {
      const out: SysctlResult = { written: [], failed: [] };
      if (settings.length === 0) return out;
      const args: string[] = [];
      for (const s of settings) {
        checkSysctlPath(s.path);
        args.push(s.path, s.value);
      }
      const r = await runner.run(inNamespace(ns, ['sh', '-c', ENSURE_SCRIPT, 'sh', ...args]));
      for (const line of r.stdout.split('\n')) {
        if (line.startsWith('W ')) out.written.push(line.slice(2));
        else if (line.startsWith('F '))
          out.failed.push({ path: line.slice(2), message: `cannot write /proc/sys/${line.slice(2)}` });
      }
      if (r.code !== 0 && out.failed.length === 0) {
        out.failed.push({ path: settings[0]?.path ?? '', message: r.stderr.trim() || `sh exited with ${r.code}` });
      }
      return out;
    },
  };
}
