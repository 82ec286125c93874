// A detached dev cluster is remembered in a small JSON file so that `tabby dev-cluster down|env` can find it from
// another process: ~/.cache/tabby/clusters/<name>.json.
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cacheDir } from './binaries.js';

export interface ClusterState {
  name: string;
  dir: string;
  server: string;
  kubeconfigPath: string;
  pids: number[];
  startedAt: string;
}

const stateFile = (name: string): string => join(cacheDir(), 'clusters', `${name}.json`);

export async function saveClusterState(state: ClusterState): Promise<string> {
  const file = stateFile(state.name);
  await mkdir(join(cacheDir(), 'clusters'), { recursive: true });
  await writeFile(file, JSON.stringify(state, null, 2) + '\n');
  return file;
}

export async function loadClusterState(name: string): Promise<ClusterState | undefined> {
  try {
    return JSON.parse(await readFile(stateFile(name), 'utf8')) as ClusterState;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

export async function removeClusterState(name: string): Promise<void> {
  await rm(stateFile(name), { force: true });
}

/** Stops the process groups of a detached cluster (SIGTERM, then SIGKILL) and removes its directory. */
export async function stopDetached(state: ClusterState): Promise<void> {
  const alive = (pid: number): boolean => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  for (const pid of [...state.pids].reverse()) {
    try {
      process.kill(-pid, 'SIGTERM');
    } catch {
      continue;
    }
    for (let i = 0; i < 50 && alive(pid); i++) await new Promise((r) => setTimeout(r, 100));
    if (alive(pid)) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  }
  await rm(state.dir, { recursive: true, force: true });
  await removeClusterState(state.name);
}
