// Keeps a BIRD daemon running for the agent: the agent is the only thing on a node container (no init system), so
// after it writes the first config it starts `bird` itself, and again whenever BIRD is found not running — at every
// apply (each sync, including the periodic resync) and every `everyMs` of keepAlive(), as calico-node's runit
// restarts a BIRD that died. It never trusts an earlier "running": a BIRD killed since would stay dead, its
// sessions down, while every sync reported the node programmed.
// Wraps a BirdControl; everything else (rendering, atomic writes, `birdc configure`) is bird-control.ts.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Logger } from '../log/logger.js';
import type { BirdControl } from './bird/bird-control.js';

const execFileAsync = promisify(execFile);

export interface BirdDaemonOptions {
  control: BirdControl;
  configPath: string;
  socketPath: string;
  pidFile: string;
  bird?: string;
  logger: Logger;
  /** Runs a command to its end (default: execFile); `bird` forks into the background once its config is loaded. */
  run?: (command: string, args: string[]) => Promise<void>;
}

export interface BirdDaemon extends BirdControl {
  /** Looks every `everyMs` until `signal` aborts, and starts BIRD again when it is not running. */
  keepAlive(signal: AbortSignal, everyMs?: number): void;
}

export function withBirdDaemon(opts: BirdDaemonOptions): BirdDaemon {
  const run = opts.run ?? (async (command, args) => void (await execFileAsync(command, args)));
  /** A config is in place (the first apply wrote it): before that there is nothing to start BIRD with. */
  let configured = false;
  /** One start at a time: the keep-alive and a sync never both start a BIRD. */
  let queue: Promise<unknown> = Promise.resolve();

  function ensureRunning(why: 'apply' | 'keepAlive'): Promise<void> {
    const next = queue.then(async () => {
      if ((await opts.control.showProtocols()).running) return;
      // A config error makes `bird` exit non-zero here.
      await run(opts.bird ?? 'bird', ['-c', opts.configPath, '-s', opts.socketPath, '-P', opts.pidFile]);
      if (why === 'apply') opts.logger.info({ config: opts.configPath, socket: opts.socketPath }, 'BIRD started');
      else
        opts.logger.warn({ config: opts.configPath, socket: opts.socketPath }, 'BIRD was not running; started again');
    });
    queue = next.catch(() => undefined);
    return next;
  }

  return {
    async apply(text) {
      const r = await opts.control.apply(text);
      configured = true;
      if (!r.reloaded) await ensureRunning('apply');
      return r;
    },
    showProtocols: () => opts.control.showProtocols(),
    sessions: (declared) => opts.control.sessions(declared),
    keepAlive(signal, everyMs = 2000) {
      const tick = (): void => {
        if (signal.aborted) return;
        const look = configured ? ensureRunning('keepAlive') : Promise.resolve();
        void look
          .catch((err: Error) => opts.logger.warn({ err: err.message }, 'starting BIRD failed; trying again'))
          .finally(() => {
            if (!signal.aborted) setTimeout(tick, everyMs).unref();
          });
      };
      setTimeout(tick, everyMs).unref();
    },
  };
}
