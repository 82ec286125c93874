// Keeps a BIRD daemon running for the agent: the agent is the only thing on a node container (no init system), so
// after it writes the first config it starts `bird` itself, and again if BIRD is found not running later.
// Wraps a BirdControl; everything else (rendering, atomic writes, `birdc configure`) is bird-control.ts.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Logger } from '../log/logger.js';
import type { BirdControl } from './bird/bird-control.js';

const run = promisify(execFile);

export interface BirdDaemonOptions {
  control: BirdControl;
  configPath: string;
  socketPath: string;
  pidFile: string;
  bird?: string;
  logger: Logger;
}

export function withBirdDaemon(opts: BirdDaemonOptions): BirdControl {
  let knownRunning = false;
  async function ensureRunning(): Promise<void> {
    if (knownRunning) return;
    const { running } = await opts.control.showProtocols();
    if (running) {
      knownRunning = true;
      return;
    }
    // bird forks into the background once the config is loaded; a config error makes it exit non-zero here.
    await run(opts.bird ?? 'bird', ['-c', opts.configPath, '-s', opts.socketPath, '-P', opts.pidFile]);
    knownRunning = true;
    opts.logger.info({ config: opts.configPath, socket: opts.socketPath }, 'BIRD started');
  }
  return {
    async apply(text) {
      const r = await opts.control.apply(text);
      if (!r.reloaded) {
        if (r.changed) knownRunning = false;
        await ensureRunning();
      }
      return r;
    },
    async showProtocols() {
      const r = await opts.control.showProtocols();
      if (!r.running) knownRunning = false;
      return r;
    },
    sessions: (declared) => opts.control.sessions(declared),
  };
}
