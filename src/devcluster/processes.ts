// Child processes that must never outlive their owner: each runs in its own process group (so its children die with
// it), its output goes to a log file, and every group still alive when Node exits is killed — also when a test run
// is interrupted. Stopping is SIGTERM, then SIGKILL after a grace period.
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';

export interface Managed {
  name: string;
  pid: number;
  logFile: string;
  exited: Promise<number | null>;
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL to the whole group, no grace (a crash); resolves when it has exited. */
  kill(): Promise<void>;
}

const live = new Map<number, string>();

function killAllSync(): void {
  for (const pid of live.keys()) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  live.clear();
}

let hooked = false;
function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', killAllSync);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      killAllSync();
      process.kill(process.pid, sig);
    });
  }
}

/**
 * Lets these process groups outlive this Node process (for `tabby dev-cluster up --detach`): they are no longer
 * killed on exit, and stopping them is up to whoever holds their pids.
 */
export function releaseProcesses(pids: number[]): void {
  for (const pid of pids) live.delete(pid);
}

/** Process ids of every group this module started and has not seen exit. */
export function liveProcesses(): ReadonlyMap<number, string> {
  return live;
}

export function startManaged(name: string, command: string, args: string[], logFile: string): Managed {
  hookExit();
  const fd = openSync(logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(command, args, { detached: true, stdio: ['ignore', fd, fd] });
  } finally {
    closeSync(fd);
  }
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${name}: could not start ${command}`);
  live.set(pid, name);
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      live.delete(pid);
      resolve(code);
    });
    child.once('error', () => {
      live.delete(pid);
      resolve(null);
    });
  });
  return {
    name,
    pid,
    logFile,
    exited,
    async stop(graceMs = 5000) {
      if (!live.has(pid)) return;
      try {
        process.kill(-pid, 'SIGTERM');
      } catch {
        return;
      }
      const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), graceMs).unref());
      if ((await Promise.race([exited, timer])) === 'timeout') {
        try {
          process.kill(-pid, 'SIGKILL');
        } catch {
          // exited in between
        }
        await exited;
      }
    },
    async kill() {
      if (!live.has(pid)) return;
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        return;
      }
      await exited;
    },
  };
}

/** True when a process with this pid exists (any state but reaped). */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
