// Drives a running BIRD 2: writes its config atomically, reloads it, reads its sessions.
//
// Inputs: the config path BIRD was started with (`bird -c`), its control socket (`bird -s`), a command runner.
// apply(text): no-op when the file already holds `text`; otherwise the text is checked with `bird -p` (parse only),
// written to a temporary file in the same directory and renamed over the config (readers never see half a file),
// then `birdc configure` makes BIRD reload it (BIRD keeps sessions whose configuration did not change).
// A BIRD that is not running is not an error: the file is in place for its start, and the result says so.
import { readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { CommandRunner } from '../linux/command-runner.js';
import { createProcessRunner } from '../linux/command-runner.js';
import type { RenderedSession } from './bird-config.js';
import { type BgpSession, parseShowProtocols } from './bird-status.js';

export interface BirdControlOptions {
  configPath: string;
  socketPath: string;
  runner?: CommandRunner;
  birdc?: string;
  bird?: string;
  /** Check the config with `bird -p` before installing it (default true). */
  validate?: boolean;
}

export interface BirdApplyResult {
  changed: boolean;
  /** BIRD accepted `configure` (false when it is not running). */
  reloaded: boolean;
  message: string;
}

export class BirdError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BirdError';
  }
}

export interface BirdControl {
  apply(text: string): Promise<BirdApplyResult>;
  /** `birdc show protocols`; running false when BIRD's socket does not answer. */
  showProtocols(): Promise<{ running: boolean; text: string }>;
  sessions(declared?: readonly RenderedSession[]): Promise<{ running: boolean; sessions: BgpSession[] }>;
}

const NOT_RUNNING = /Unable to connect to server control socket|No such file or directory|Connection refused/;

export function createBirdControl(options: BirdControlOptions): BirdControl {
  const runner = options.runner ?? createProcessRunner();
  const birdc = options.birdc ?? 'birdc';
  const bird = options.bird ?? 'bird';
  let seq = 0;

  async function current(): Promise<string | undefined> {
    try {
      return await readFile(options.configPath, 'utf8');
    } catch {
      return undefined;
    }
  }

  async function configure(): Promise<{ reloaded: boolean; message: string }> {
    const r = await runner.run([birdc, '-s', options.socketPath, 'configure']);
    const text = (r.stdout + r.stderr).trim();
    if (NOT_RUNNING.test(text))
      return { reloaded: false, message: 'BIRD is not running; the config is in place for its start' };
    if (r.code !== 0 || !/Reconfigur(ed|ation in progress|ation ignored)/.test(text)) {
      throw new BirdError(`birdc configure failed: ${text.split('\n').slice(1).join('; ') || `exit ${r.code}`}`);
    }
    return { reloaded: true, message: text.split('\n').slice(-1)[0] ?? '' };
  }

  return {
    async apply(text) {
      if ((await current()) === text) return { changed: false, reloaded: false, message: 'unchanged' };
      const tmp = join(dirname(options.configPath), `.${basename(options.configPath)}.${process.pid}.${seq++}.tmp`);
      await writeFile(tmp, text, { mode: 0o600 });
      try {
        if (options.validate !== false) {
          const p = await runner.run([bird, '-p', '-c', tmp]);
          if (p.code !== 0) throw new BirdError(`rendered BIRD config is invalid: ${(p.stdout + p.stderr).trim()}`);
        }
        await rename(tmp, options.configPath);
      } catch (e) {
        await unlink(tmp).catch(() => undefined);
        throw e;
      }
      return { changed: true, ...(await configure()) };
    },

    async showProtocols() {
      const r = await runner.run([birdc, '-s', options.socketPath, 'show', 'protocols']);
      const text = r.stdout + r.stderr;
      if (NOT_RUNNING.test(text)) return { running: false, text };
      if (r.code !== 0) throw new BirdError(`birdc show protocols failed: ${text.trim()}`);
      return { running: true, text: r.stdout };
    },

    async sessions(declared = []) {
      const { running, text } = await this.showProtocols();
      return { running, sessions: running ? parseShowProtocols(text, declared) : [] };
    },
  };
}
