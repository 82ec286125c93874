// One CNI test file's setup: a test agent (in-memory IPAM) on its own socket, the plugin installed beside it the way
// the agent installs it, and everything removed afterwards (interfaces in `hostIfs`, namespaces under `prefix`).
// Kept apart from cni-support.ts because it registers vitest hooks, and the benchmarks import cni-support.
import { afterAll, beforeAll } from 'vitest';
import type { ConflistOptions } from '../../src/cni/conflist.js';
import {
  type CniDirs,
  type PoolSpec,
  type TestAgent,
  cleanup,
  installPlugin,
  makeCniDirs,
  prerequisitesMissing,
  startTestAgent,
  uniquePrefix,
} from './cni-support.js';

export interface CniFixture {
  /** Namespace and container names of this file start with it. */
  readonly prefix: string;
  /** Host interfaces the tests made, removed at the end. */
  readonly hostIfs: Set<string>;
  readonly dirs: CniDirs;
  readonly agent: TestAgent;
}

export function useCniFixture(
  letter: string,
  agentOptions: { pools: PoolSpec[]; mtu?: number },
  conflist: ConflistOptions = {},
): CniFixture {
  const prefix = uniquePrefix(letter);
  const hostIfs = new Set<string>();
  let dirs: CniDirs | undefined;
  let agent: TestAgent | undefined;
  beforeAll(async () => {
    const missing = prerequisitesMissing();
    if (missing !== undefined) throw new Error(`CNI integration tests: ${missing}`);
    dirs = makeCniDirs(prefix);
    agent = await startTestAgent({ socketPath: dirs.socketPath, node: 'node-a', ...agentOptions });
    installPlugin(dirs, conflist);
  });
  afterAll(async () => {
    if (dirs !== undefined && agent !== undefined) await cleanup({ hostIfs, netnsPrefix: prefix, dirs, agent });
  });
  const ready = <T>(v: T | undefined): T => {
    if (v === undefined) throw new Error('the CNI fixture is used before its beforeAll ran');
    return v;
  };
  return {
    prefix,
    hostIfs,
    get dirs() {
      return ready(dirs);
    },
    get agent() {
      return ready(agent);
    },
  };
}
