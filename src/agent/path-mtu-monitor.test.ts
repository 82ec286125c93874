import { describe, expect, it } from 'vitest';
import type { RouteEntry } from '../api/route-table.js';
import type { TunnelDeviceSpec } from './kernel-model.js';
import type { CommandRunner } from './linux/command-runner.js';
import { createPathMtuMonitor, type PathMtuCounts } from './path-mtu-monitor.js';
import type { PathInput, PathMtuCondition, PathMtuSummary } from './path-mtu.js';
import { buildShard } from './test-support/desired-builder.js';

/** `ping` against underlays that carry `limits[address]` bytes, answering as iputils does (local refusal). */
function fakePing(limits: Record<string, number>, calls: string[][] = []): CommandRunner {
  return {
    run(argv) {
      calls.push([...argv]);
      const address = argv[argv.length - 1]!;
      const size = Number(argv[argv.indexOf('-s') + 1]) + 28;
      const limit = limits[address];
      if (limit === undefined) return Promise.reject(new Error('spawn ping ENOENT'));
      if (size <= limit) return Promise.resolve({ code: 0, stdout: `${size - 20} bytes from ${address}`, stderr: '' });
      return Promise.resolve({ code: 1, stdout: '', stderr: `ping: local error: message too long, mtu=${limit}\n` });
    },
  };
}

const never = { setTimeout: () => 0, clearTimeout: () => undefined };

function input(vxlanMtu: number): PathInput {
  const e = (node: string, nodeIP: string, cidr: string): RouteEntry => ({
    cidr,
    node,
    nodeIP,
    kind: 'vxlan',
    via: '10.0.0.1',
    device: 'vxlan.calico',
    pool: 'default-ipv4-ippool',
  });
  const devices: TunnelDeviceSpec[] = [
    { kind: 'vxlan', name: 'vxlan.calico', family: 4, vni: 4096, port: 4789, mtu: vxlanMtu },
  ];
  return {
    nodeName: 'a',
    shards: [buildShard('cluster-0', [e('b', '172.18.0.3', '10.0.1.0/26'), e('c', '172.18.0.4', '10.0.2.0/26')])],
    devices,
    podMtu: vxlanMtu,
  };
}

describe('path MTU monitor', () => {
  it('reports once per change: False naming the peer whose underlay is smaller, True once the MTU fits', async () => {
    const reports: [PathMtuCondition, PathMtuSummary][] = [];
    const counts: PathMtuCounts[] = [];
    const calls: string[][] = [];
    const m = createPathMtuMonitor({
      runner: fakePing({ '172.18.0.3': 1500, '172.18.0.4': 1400 }, calls),
      report: (c, s) => {
        reports.push([c, s]);
        return Promise.resolve();
      },
      onCounts: (c) => counts.push(c),
      timers: never,
    });
    m.update(input(1450));
    await m.idle();
    expect(reports).toHaveLength(1);
    expect(reports[0]![0]).toMatchObject({ status: 'False', reason: 'MTUTooLarge' });
    expect(reports[0]![0].message).toContain(
      'c 172.18.0.4 VXLAN: vxlan.calico MTU (vxlanMTU) 1450 needs 1500-byte packets, the largest that passed is 1400',
    );
    expect(reports[0]![1].failing.map((f) => [f.peer, f.largestPassed])).toEqual([['c', 1400]]);
    expect(counts.at(-1)).toEqual({ ok: 1, tooSmall: 1, unreachable: 0 });
    // b: one probe; c: 1500, then the size the kernel named, then one byte more.
    expect(calls.map((a) => `${a.at(-1)} ${a[6]}`)).toEqual([
      '172.18.0.3 1472',
      '172.18.0.4 1472',
      '172.18.0.4 1372',
      '172.18.0.4 1373',
    ]);

    // The same paths again: nothing new to probe, nothing written.
    m.update(input(1450));
    await m.idle();
    expect(reports).toHaveLength(1);

    // vxlanMTU lowered to fit: the paths are new (another size) and probed at once.
    m.update(input(1350));
    await m.idle();
    expect(reports).toHaveLength(2);
    expect(reports[1]![0]).toMatchObject({ status: 'True', reason: 'PathsCarryMTU' });
    expect(reports[1]![1]).toEqual({ paths: 2, unreachable: 0, failing: [] });
    await m.stop();
  });

  it('never waits in update(), and a probe that cannot start or a failing report never ends it', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const base = fakePing({ '172.18.0.3': 1500 });
    let failReport = true;
    const reports: PathMtuCondition[] = [];
    const m = createPathMtuMonitor({
      runner: { run: async (argv) => (await gate, base.run(argv)) },
      report: (c) => {
        if (failReport) return Promise.reject(new Error('apiserver down'));
        reports.push(c);
        return Promise.resolve();
      },
      timers: never,
    });
    m.update(input(1450));
    // update() returned while the probe is still held.
    expect(reports).toEqual([]);
    release();
    await m.idle();
    expect(reports).toEqual([]);
    // The next round (a new path) writes: the failed report was not remembered as written.
    failReport = false;
    m.update(input(1440));
    await m.idle();
    expect(reports).toHaveLength(1);
    // c has no ping answer at all (spawn failed): Unknown, not a crash.
    expect(reports[0]).toMatchObject({ status: 'Unknown', reason: 'ProbeFailed' });
    expect(reports[0]!.message).toContain('c 172.18.0.4 VXLAN: probe failed: spawn ping ENOENT');
    await m.stop();
  });

  it('stop() ends a round after the probes in flight, however many are left', async () => {
    const calls: string[][] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const lost = { code: 1, stdout: '1 packets transmitted, 0 received, 100% packet loss', stderr: '' };
    const m = createPathMtuMonitor({
      // A silent black hole: every probe is lost, each search would take 2 probes; the first one is held.
      runner: { run: async (argv) => (calls.push([...argv]), await gate, lost) },
      report: () => Promise.resolve(),
      timers: never,
      concurrency: 1,
    });
    m.update(input(1450));
    const stopped = m.stop();
    release();
    await stopped;
    expect(calls).toHaveLength(1);
  });

  it('probes at most maxPathsPerRound paths a round and comes back for the rest', async () => {
    const calls: string[][] = [];
    const reports: PathMtuCondition[] = [];
    const m = createPathMtuMonitor({
      runner: fakePing({ '172.18.0.3': 1500, '172.18.0.4': 1500 }, calls),
      report: (c) => (reports.push(c), Promise.resolve()),
      timers: never,
      maxPathsPerRound: 1,
      concurrency: 1,
    });
    m.update(input(1450));
    await m.idle();
    expect(calls.map((a) => a.at(-1))).toEqual(['172.18.0.3', '172.18.0.4']);
    expect(reports.map((r) => r.status)).toEqual(['True']);
    await m.stop();
  });
});
