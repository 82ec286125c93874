import { execFileSync } from 'node:child_process';
import { createConnection } from 'node:net';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { AssignRequest, AssignedAddress } from '../api/agent-ipam-protocol.js';
import { IpamError } from '../ipam/index.js';
import { FakeClock, flushPromises } from '../kube/test-support/fake-clock.js';
import {
  type IpamServer,
  type IpamServerOptions,
  type PlannedMtu,
  type PodAddressAllocator,
  PodAllocationError,
  createIpamServer,
} from './ipam-server.js';

const dirs: string[] = [];
const servers: IpamServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function socketPath(): string {
  const d = mkdtempSync(join(tmpdir(), 'tabby-ipam-'));
  dirs.push(d);
  return join(d, 'run', 'ipam.sock');
}

interface Recorded {
  assigns: (AssignRequest & { attrs: { node: string } })[];
  releases: string[];
}

function recordingAllocator(
  behaviour: (req: AssignRequest) => Promise<AssignedAddress[]> = async () => [
    { address: '10.0.0.5', family: 4, block: '10.0.0.0/26' },
  ],
): PodAddressAllocator & { rec: Recorded } {
  const rec: Recorded = { assigns: [], releases: [] };
  return {
    rec,
    assign: async (req) => {
      rec.assigns.push(req);
      return behaviour(req);
    },
    releaseByHandle: async (h) => {
      rec.releases.push(h);
    },
    // What a real allocator answers: the handle holds addresses once an assign for it has been recorded.
    addressesByHandle: async (h) =>
      rec.assigns.some((a) => a.handleId === h) ? [{ address: '10.0.0.5', family: 4 }] : [],
  };
}

async function start(opts: Partial<IpamServerOptions> & { allocator: PodAddressAllocator }): Promise<IpamServer> {
  const s = createIpamServer({ socketPath: socketPath(), node: 'node-a', mtu: () => 1440, ...opts });
  await s.listen();
  servers.push(s);
  return s;
}

/** Sends lines on one connection and collects one answer per line. */
function exchange(path: string, lines: string[]): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const c = createConnection(path);
    let buf = '';
    const out: unknown[] = [];
    c.setEncoding('utf8');
    c.on('connect', () => c.write(lines.map((l) => `${l}\n`).join('')));
    c.on('data', (d: string) => {
      buf += d;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        out.push(JSON.parse(buf.slice(0, nl)));
        buf = buf.slice(nl + 1);
        if (out.length === lines.length) {
          c.destroy();
          resolve(out);
        }
      }
    });
    c.on('error', reject);
  });
}

/**
 * Lets the server take requests in, up to a generous number of event-loop turns, until `cond` holds. A count of turns,
 * not a time: a unix socket's data is ready in the kernel as soon as it is written, so how many turns the server needs
 * does not depend on how loaded the machine is.
 */
async function until(what: string, cond: () => boolean): Promise<void> {
  for (let i = 0; i < 10_000 && !cond(); i++) await flushPromises();
  if (!cond()) throw new Error(`${what}: not after 10000 turns`);
}

const assign = {
  v: 1,
  op: 'assign',
  handleId: 'k8s-pod-network.c0ffee',
  containerId: 'c0ffee',
  attrs: { namespace: 'default', pod: 'web-1' },
  families: [4],
};

describe('ipam server', () => {
  it('assigns with the node filled in, the planned MTU and the route protocol', async () => {
    const allocator = recordingAllocator();
    const s = await start({ allocator, deviceRouteProtocol: () => 80 });
    expect(await exchange(s.socketPath, [JSON.stringify(assign)])).toEqual([
      {
        ok: true,
        op: 'assign',
        addresses: [{ address: '10.0.0.5', family: 4, block: '10.0.0.0/26' }],
        mtu: 1440,
        deviceRouteProtocol: 80,
        node: 'node-a',
      },
    ]);
    expect(allocator.rec.assigns[0]?.attrs).toEqual({ namespace: 'default', pod: 'web-1', node: 'node-a' });
    expect(statSync(s.socketPath).mode & 0o777).toBe(0o600);
  });

  it('serves release, addresses and status, several on one connection', async () => {
    const allocator = recordingAllocator();
    const s = await start({ allocator });
    await exchange(s.socketPath, [JSON.stringify(assign)]);
    const out = await exchange(s.socketPath, [
      JSON.stringify({ v: 1, op: 'addresses', handleId: assign.handleId }),
      JSON.stringify({ v: 1, op: 'addresses', handleId: 'k8s-pod-network.x' }),
      JSON.stringify({ v: 1, op: 'release', handleId: 'k8s-pod-network.x' }),
      JSON.stringify({ v: 1, op: 'status' }),
    ]);
    expect(out).toEqual([
      { ok: true, op: 'addresses', addresses: [{ address: '10.0.0.5', family: 4 }] },
      { ok: true, op: 'addresses', addresses: [] },
      { ok: true, op: 'release' },
      { ok: true, op: 'status', node: 'node-a', mtu: 1440 },
    ]);
    expect(allocator.rec.releases).toEqual(['k8s-pod-network.x']);
  });

  it('answers a repeated ADD from what the handle holds, without assigning again', async () => {
    const allocator = recordingAllocator();
    const s = await start({
      allocator,
      annotations: async () => ({ pod: { 'cni.projectcalico.org/ipv4pools': '["p"]' } }),
    });
    const [first] = await exchange(s.socketPath, [JSON.stringify(assign)]);
    const [again] = await exchange(s.socketPath, [JSON.stringify(assign)]);
    expect(allocator.rec.assigns).toHaveLength(1);
    expect((again as { addresses: unknown }).addresses).toEqual([{ address: '10.0.0.5', family: 4 }]);
    expect((first as { ok: boolean }).ok).toBe(true);
  });

  it('refuses a plugin configured for another node', async () => {
    const s = await start({ allocator: recordingAllocator() });
    const [r] = await exchange(s.socketPath, [
      JSON.stringify({ ...assign, attrs: { ...assign.attrs, node: 'node-b' } }),
    ]);
    expect(r).toEqual({
      ok: false,
      error: {
        code: 'invalid',
        message:
          'the CNI config names node "node-b" but this agent serves node "node-a" (fix "nodename" in the conflist)',
      },
    });
  });

  it("applies the pod's annotations (Calico precedence) before assigning", async () => {
    const allocator = recordingAllocator();
    const s = await start({
      allocator,
      annotations: async (ns, pod) =>
        ns === 'default' && pod === 'web-1'
          ? {
              pod: { 'cni.projectcalico.org/ipv4pools': '["pod-pool"]' },
              namespace: { 'cni.projectcalico.org/ipv4pools': '["ns-pool"]' },
            }
          : undefined,
    });
    await exchange(s.socketPath, [JSON.stringify({ ...assign, ipv4Pools: ['config-pool'] })]);
    expect(allocator.rec.assigns[0]?.ipv4Pools).toEqual(['pod-pool']);
    const [bad] = await exchange(s.socketPath, [
      JSON.stringify({ ...assign, attrs: { namespace: 'default', pod: 'web-1' }, handleId: 'k8s-pod-network.other' }),
    ]);
    expect(bad).toMatchObject({ ok: true });
  });

  it.each([
    { name: 'not JSON', line: '{nope', message: 'request is not JSON' },
    {
      name: 'another protocol version',
      line: JSON.stringify({ ...assign, v: 2 }),
      message: 'protocol version 2 is not supported (this agent speaks 1)',
    },
    { name: 'a bad field', line: JSON.stringify({ ...assign, families: [5] }), message: 'families[0]' },
    { name: 'an unknown op', line: JSON.stringify({ v: 1, op: 'steal' }), message: 'op' },
  ])('answers $name with badRequest naming it', async ({ line, message }) => {
    const s = await start({ allocator: recordingAllocator() });
    const [r] = (await exchange(s.socketPath, [line])) as { ok: boolean; error: { code: string; message: string } }[];
    expect(r?.ok).toBe(false);
    expect(r?.error.code).toBe('badRequest');
    expect(r?.error.message).toContain(message);
  });

  it.each([
    {
      name: 'PodAllocationError',
      err: new PodAllocationError('exhausted', 'Assigned 0 out of 1 requested IPv4 addresses'),
      code: 'exhausted',
    },
    {
      name: 'IpamError noFreeBlocks',
      err: new IpamError('noFreeBlocks', { kind: 'Node', name: 'node-a' }, 'failed to find or claim a block'),
      code: 'exhausted',
    },
    {
      name: 'IpamError blockLimit',
      err: new IpamError('blockLimit', { kind: 'Node', name: 'node-a' }, 'limit of 20 blocks reached'),
      code: 'exhausted',
    },
    {
      name: 'IpamError invalid',
      err: new IpamError('poolNotEnabled', { kind: 'IPPool', name: 'x' }, 'the given pool (x) does not exist'),
      code: 'invalid',
    },
    {
      name: 'IpamError transient',
      err: new IpamError('retriesExhausted', { kind: 'Node', name: 'node-a' }, 'Max retries hit'),
      code: 'unavailable',
    },
    { name: 'anything else', err: new Error('disk on fire'), code: 'internal' },
  ])('maps $name to $code', async ({ err, code }) => {
    const s = await start({ allocator: recordingAllocator(() => Promise.reject(err)) });
    const [r] = await exchange(s.socketPath, [JSON.stringify(assign)]);
    expect(r).toEqual({ ok: false, error: { code, message: err.message } });
  });

  it('runs requests for one handle one at a time, other handles concurrently', async () => {
    // Each assign stays in the allocator until the test releases it, so "at the same time" is a state, not a race. A
    // handle holds its address only once its assign has returned, as with a real allocator.
    const inside: string[] = [];
    const gates: (() => void)[] = [];
    const held = new Map<string, AssignedAddress[]>();
    const assigned: string[] = [];
    const allocator: PodAddressAllocator = {
      assign: async (req) => {
        inside.push(req.handleId);
        await new Promise<void>((r) => gates.push(r));
        inside.splice(inside.indexOf(req.handleId), 1);
        const addrs = [{ address: req.handleId.endsWith('a') ? '10.0.0.5' : '10.0.0.6', family: 4 as const }];
        held.set(req.handleId, addrs);
        assigned.push(req.handleId);
        return addrs;
      },
      releaseByHandle: async () => undefined,
      addressesByHandle: async (h) => held.get(h) ?? [],
    };
    // Called right before a request takes its turn in the handle's queue (synchronously with it): counts arrivals.
    let queued = 0;
    const s = await start({
      allocator,
      deviceRouteProtocol: () => {
        queued++;
        return undefined;
      },
    });
    const lines = (h: string) => [JSON.stringify({ ...assign, handleId: h })];
    const answers = Promise.all([
      exchange(s.socketPath, lines('k8s-pod-network.a')),
      exchange(s.socketPath, lines('k8s-pod-network.a')),
      exchange(s.socketPath, lines('k8s-pod-network.a')),
      exchange(s.socketPath, lines('k8s-pod-network.b')),
    ]);
    await until('all four requests queued and two allocations running', () => queued === 4 && inside.length >= 2);
    // Whatever else the server would start needs no I/O (the fakes answer from memory): let it run, then look.
    await flushPromises();
    expect([...inside].sort()).toEqual(['k8s-pod-network.a', 'k8s-pod-network.b']);
    for (const release of gates.splice(0)) release();
    const [a1, a2, a3, b] = await answers;
    // The two later ADDs of handle a ran after the first had assigned, so they got its address back (idempotent).
    for (const r of [a1, a2, a3])
      expect(r).toEqual([expect.objectContaining({ ok: true, addresses: [{ address: '10.0.0.5', family: 4 }] })]);
    expect(b).toEqual([expect.objectContaining({ ok: true, addresses: [{ address: '10.0.0.6', family: 4 }] })]);
    expect(assigned.sort()).toEqual(['k8s-pod-network.a', 'k8s-pod-network.b']);
  });

  it("says so when the allocator cannot list a handle's addresses, and refuses to hand out an impossible MTU", async () => {
    const allocator = recordingAllocator();
    const { addressesByHandle: _unused, ...noList } = allocator;
    const s = await start({ allocator: noList, mtu: () => 0 });
    const [addrs, assigned] = await exchange(s.socketPath, [
      JSON.stringify({ v: 1, op: 'addresses', handleId: 'k8s-pod-network.x' }),
      JSON.stringify(assign),
    ]);
    expect(addrs).toEqual({
      ok: false,
      error: { code: 'internal', message: "this agent's allocator cannot list a handle's addresses" },
    });
    expect(assigned).toEqual({
      ok: false,
      error: { code: 'unavailable', message: "the node's planned MTU is not known yet (got 0)" },
    });
    expect(allocator.rec.assigns).toEqual([]);
  });

  it('answers an over-long line with badRequest instead of buffering it', async () => {
    const s = await start({ allocator: recordingAllocator() });
    const [r] = await exchange(s.socketPath, ['x'.repeat(70_000)]);
    expect(r).toMatchObject({ ok: false, error: { code: 'badRequest' } });
  });

  it('replaces a stale socket, refuses a live one, removes its socket on close', async () => {
    const path = socketPath();
    const first = createIpamServer({ socketPath: path, node: 'n', mtu: () => 1500, allocator: recordingAllocator() });
    await first.listen();
    const second = createIpamServer({ socketPath: path, node: 'n', mtu: () => 1500, allocator: recordingAllocator() });
    await expect(second.listen()).rejects.toThrow(/already serving/);
    await first.close();
    expect(existsSync(path)).toBe(false);
    writeFileSync(path, 'not a socket');
    await expect(second.listen()).rejects.toThrow(/not a socket/);
    rmSync(path);
    // A socket file nobody listens on, as a killed agent leaves it.
    execFileSync('python3', ['-c', 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])', path]);
    expect(statSync(path).isSocket()).toBe(true);
    await second.listen();
    servers.push(second);
    expect((await exchange(path, [JSON.stringify({ v: 1, op: 'status' })]))[0]).toMatchObject({ ok: true, mtu: 1500 });
  });
});

describe('ipam server: the pod MTU before the node is planned', () => {
  const noPlan = { unknown: 'no NodeDataplane node-a with status.desired yet' };

  it('an ADD that arrives before the plan waits for it and answers with the planned MTU', async () => {
    const clock = new FakeClock();
    let mtu: PlannedMtu = noPlan;
    const allocator = recordingAllocator();
    const s = await start({ allocator, mtu: () => mtu, clock });
    const answer = exchange(s.socketPath, [JSON.stringify(assign)]);
    await until('the ADD waits for the MTU', () => clock.pendingTimers() === 1);
    expect(allocator.rec.assigns).toEqual([]);
    await clock.advance(4000);
    mtu = 1430;
    s.planChanged();
    expect(await answer).toEqual([expect.objectContaining({ ok: true, op: 'assign', mtu: 1430 })]);
    expect(allocator.rec.assigns).toHaveLength(1);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('an ADD whose plan never arrives gets unavailable naming the NodeDataplane, with nothing assigned', async () => {
    const clock = new FakeClock();
    const allocator = recordingAllocator();
    const s = await start({ allocator, mtu: () => noPlan, clock, mtuWaitMs: 5000 });
    const answer = exchange(s.socketPath, [JSON.stringify(assign)]);
    await until('the ADD waits for the MTU', () => clock.pendingTimers() === 1);
    s.planChanged(); // something else changed: still no plan, so it keeps waiting
    await until('the ADD waits again', () => clock.pendingTimers() === 1);
    await clock.advance(4999);
    expect(allocator.rec.assigns).toEqual([]);
    await clock.advance(1);
    expect(await answer).toEqual([
      {
        ok: false,
        error: {
          code: 'unavailable',
          message: "the pod's MTU is not known: no NodeDataplane node-a with status.desired yet (waited 5000 ms)",
        },
      },
    ]);
    expect(allocator.rec.assigns).toEqual([]);
  });

  it('STATUS does not wait: it says at once why the MTU is not known', async () => {
    const clock = new FakeClock();
    const s = await start({ allocator: recordingAllocator(), mtu: () => noPlan, clock });
    expect(await exchange(s.socketPath, [JSON.stringify({ v: 1, op: 'status' })])).toEqual([
      {
        ok: false,
        error: {
          code: 'unavailable',
          message: "the pod's MTU is not known: no NodeDataplane node-a with status.desired yet",
        },
      },
    ]);
    expect(clock.pendingTimers()).toBe(0);
  });
});

describe('ipam server: framing of hostile input', () => {
  /** Writes `bytes` on one connection (then half-closes when `end`), and collects every answer until the close. */
  function raw(path: string, bytes: string, end: boolean): Promise<unknown[]> {
    return new Promise((resolve, reject) => {
      const c = createConnection(path);
      let buf = '';
      c.setEncoding('utf8');
      c.on('connect', () => (end ? c.end(bytes) : c.write(bytes)));
      c.on('data', (d: string) => (buf += d));
      c.on('close', () =>
        resolve(
          buf
            .split('\n')
            .filter((l) => l !== '')
            .map((l) => JSON.parse(l) as unknown),
        ),
      );
      c.on('error', reject);
    });
  }
  const tooLong = { ok: false, error: { code: 'badRequest', message: 'request longer than 65536 bytes' } };

  it('a line over the limit is refused even when it is valid JSON that arrives whole, and is not served', async () => {
    const allocator = recordingAllocator();
    const s = await start({ allocator });
    const padded = `{"v":1,"op":"release","handleId":"k8s-pod-network.x"${' '.repeat(100_000)}}\n`;
    expect(await raw(s.socketPath, padded, false)).toEqual([tooLong]);
    expect(allocator.rec.releases).toEqual([]);
  });

  it('after an over-long line nothing more on that connection is served', async () => {
    const allocator = recordingAllocator();
    const s = await start({ allocator });
    const answers = await raw(s.socketPath, `${'x'.repeat(70_000)}\n${JSON.stringify(assign)}\n`, false);
    expect(answers).toEqual([tooLong]);
    expect(allocator.rec.assigns).toEqual([]);
  });

  it('requests before an over-long line are answered first, in order', async () => {
    const s = await start({ allocator: recordingAllocator() });
    const status = JSON.stringify({ v: 1, op: 'status' });
    expect(await raw(s.socketPath, `${status}\n${status}\n${'y'.repeat(70_000)}`, false)).toEqual([
      { ok: true, op: 'status', node: 'node-a', mtu: 1440 },
      { ok: true, op: 'status', node: 'node-a', mtu: 1440 },
      tooLong,
    ]);
  });

  it('a last line without its newline, before the client half-closes, is answered (truncated JSON: badRequest)', async () => {
    const s = await start({ allocator: recordingAllocator() });
    expect(await raw(s.socketPath, JSON.stringify({ v: 1, op: 'status' }), true)).toEqual([
      { ok: true, op: 'status', node: 'node-a', mtu: 1440 },
    ]);
    const [cut] = await raw(s.socketPath, '{"v":1,"op":"sta', true);
    expect(cut).toMatchObject({ ok: false, error: { code: 'badRequest', message: /^request is not JSON/ } });
  });
});
