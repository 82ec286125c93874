// The BIRD keeper: a BIRD that dies is started again — by the next apply (every sync) and by the keep-alive — and
// never twice at once.
import { describe, expect, it, vi } from 'vitest';
import { createLogger } from '../log/logger.js';
import type { BirdControl } from './bird/bird-control.js';
import { withBirdDaemon } from './bird-daemon.js';

/** A BIRD that runs once started, until kill(); its config file as apply leaves it. */
function fakeBird() {
  const state = { running: false, starts: 0, concurrent: 0, maxConcurrent: 0, file: undefined as string | undefined };
  const control: BirdControl = {
    async apply(text) {
      if (state.file === text) return { changed: false, reloaded: false, message: 'unchanged' };
      state.file = text;
      return state.running
        ? { changed: true, reloaded: true, message: 'Reconfigured' }
        : { changed: true, reloaded: false, message: 'BIRD is not running; the config is in place for its start' };
    },
    showProtocols: async () => ({ running: state.running, text: '' }),
    sessions: async () => ({ running: state.running, sessions: [] }),
  };
  const run = async (command: string, args: string[]): Promise<void> => {
    expect([command, ...args]).toEqual(['bird', '-c', '/run/bird.conf', '-s', '/run/bird.ctl', '-P', '/run/bird.pid']);
    state.concurrent++;
    state.maxConcurrent = Math.max(state.maxConcurrent, state.concurrent);
    await new Promise((r) => setImmediate(r));
    state.running = true;
    state.starts++;
    state.concurrent--;
  };
  const daemon = withBirdDaemon({
    control,
    configPath: '/run/bird.conf',
    socketPath: '/run/bird.ctl',
    pidFile: '/run/bird.pid',
    logger: createLogger({ component: 'test', level: 'silent' }),
    run,
  });
  return { state, daemon, kill: () => (state.running = false) };
}

describe('withBirdDaemon', () => {
  it('starts BIRD after the first config, and again at the next apply after it died, the config unchanged', async () => {
    const { state, daemon, kill } = fakeBird();
    await daemon.apply('config 1');
    expect(state.starts).toBe(1);
    await daemon.apply('config 1');
    expect(state.starts).toBe(1);
    kill();
    // The periodic resync applies the same config: it must find BIRD gone and start it.
    await daemon.apply('config 1');
    expect(state.running).toBe(true);
    expect(state.starts).toBe(2);
  });

  it('keepAlive starts a BIRD that died without waiting for a sync, once a config is in place; never two at once', async () => {
    const { state, daemon, kill } = fakeBird();
    const abort = new AbortController();
    daemon.keepAlive(abort.signal, 5);
    await daemon.apply('config 1');
    kill();
    await Promise.all([
      daemon.apply('config 1'),
      vi.waitFor(() => expect(state.running).toBe(true), { timeout: 60_000 }),
    ]);
    kill();
    await vi.waitFor(() => expect(state.running).toBe(true), { timeout: 60_000 });
    abort.abort();
    expect(state.starts).toBeGreaterThanOrEqual(3);
    expect(state.maxConcurrent).toBe(1);
  });
});
