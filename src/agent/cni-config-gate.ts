// The agent's half of the route readiness gate (issue 21; the rule is src/plan/route-readiness.ts). kubelet reports
// NetworkReady=false — so the Node stays NotReady and the scheduler's not-ready taint keeps ordinary pods off it,
// while DaemonSet pods tolerate it — until a CNI configuration exists in its conf dir. So the agent writes
// 10-tabby.conflist only once its own sync has programmed the node AND the operator has set RoutesConverged=True on
// its NodeDataplane (every other agent applied the routes to it). No kubelet setting is needed.
// A conflist already there at start is kept (rewritten only if its content changed): the node ran pods before this
// agent started, and taking the configuration away would make kubelet take the node out of service.
// The conflist is never removed; the gate opens once per node.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Gauge, type Registry } from 'prom-client';
import { CONFLIST_FILE_NAME } from '../cni/conflist.js';
import { installConflist } from '../cni/install.js';
import type { Logger } from '../log/logger.js';

export interface CniConfigGateOptions {
  confDir: string;
  conflist: string;
  logger: Logger;
  registry: Registry;
  now?: () => number;
}

export interface CniConfigGate {
  /** Whether the conflist is in place (present at start, or written since). */
  installed(): boolean;
  /** After each sync: writes the conflist the first time both hold. */
  update(state: { programmed: boolean; routesConverged: boolean }): void;
}

export function createCniConfigGate(o: CniConfigGateOptions): CniConfigGate {
  const now = o.now ?? Date.now;
  const started = now();
  const path = join(o.confDir, CONFLIST_FILE_NAME);
  const installedAt = new Gauge({
    name: 'tabby_agent_cni_config_installed_timestamp_seconds',
    help: 'When this agent wrote the CNI configuration (the route gate opened), or found it present at start; 0 before.',
    registers: [o.registry],
  });
  installedAt.set(0);
  let done = false;
  const install = (why: string): void => {
    const f = installConflist({ confDir: o.confDir, conflist: o.conflist });
    done = true;
    installedAt.set(now() / 1000);
    o.logger.info(
      { conflist: f.path, changed: f.changed, why, waitedMs: Math.round(now() - started) },
      'CNI configuration installed',
    );
  };
  if (existsSync(path)) install('present at start: the node already runs pods');
  else o.logger.info({ conflist: path }, 'CNI configuration held back until routes to this node converge');
  return {
    installed: () => done,
    update(state) {
      if (done || !state.programmed || !state.routesConverged) return;
      install('own dataplane programmed and RoutesConverged=True');
    },
  };
}
