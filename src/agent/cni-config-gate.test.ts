import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../log/logger.js';
import { createCniConfigGate } from './cni-config-gate.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function setup(present?: string) {
  const confDir = mkdtempSync(join(tmpdir(), 'tabby-cni-gate-'));
  dirs.push(confDir);
  const path = join(confDir, '10-tabby.conflist');
  if (present !== undefined) writeFileSync(path, present);
  const registry = new Registry();
  let t = 1_000_000;
  const gate = createCniConfigGate({
    confDir,
    conflist: '{"new":true}',
    logger: silentLogger(),
    registry,
    now: () => t,
  });
  const installedAt = async () =>
    (await registry.getSingleMetric('tabby_agent_cni_config_installed_timestamp_seconds')!.get()).values[0]!.value;
  return { gate, path, installedAt, tick: (ms: number) => (t += ms) };
}

describe("the agent's CNI configuration gate", () => {
  it('writes the conflist only once its own sync programmed the node and RoutesConverged is True', async () => {
    const { gate, path, installedAt, tick } = setup();
    expect(existsSync(path)).toBe(false);
    expect(await installedAt()).toBe(0);
    gate.update({ programmed: true, routesConverged: false });
    gate.update({ programmed: false, routesConverged: true });
    expect(existsSync(path)).toBe(false);
    expect(gate.installed()).toBe(false);
    tick(2500);
    gate.update({ programmed: true, routesConverged: true });
    expect(readFileSync(path, 'utf8')).toBe('{"new":true}');
    expect(gate.installed()).toBe(true);
    expect(await installedAt()).toBe(1002.5);
    // Never taken back, and not written again.
    writeFileSync(path, 'edited');
    gate.update({ programmed: false, routesConverged: false });
    gate.update({ programmed: true, routesConverged: true });
    expect(readFileSync(path, 'utf8')).toBe('edited');
  });

  it('keeps a conflist present at start (the node runs pods), bringing its content up to date', async () => {
    const { gate, path, installedAt } = setup('{"old":true}');
    expect(gate.installed()).toBe(true);
    expect(readFileSync(path, 'utf8')).toBe('{"new":true}');
    expect(await installedAt()).toBe(1000);
  });
});
