import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { RouteEntry } from '../api/route-table.js';
import type { TunnelDeviceSpec } from './kernel-model.js';
import {
  MAX_PROBES_PER_PATH,
  MIN_LINK_MTU,
  nextProbeSize,
  parseProbe,
  pathChecks,
  pathMtuCondition,
  pathMtuSummary,
  pathVerdict,
  pickPaths,
  probeArgv,
  probeIdentity,
  recordProbe,
  startSearch,
  type PathCheck,
  type PathResult,
  type ProbeOutcome,
} from './path-mtu.js';
import { buildShard } from './test-support/desired-builder.js';

const entry = (
  e: Partial<RouteEntry> & Pick<RouteEntry, 'cidr' | 'node' | 'nodeIP' | 'kind' | 'pool'>,
): RouteEntry => ({
  via: e.nodeIP,
  ...e,
});

const DEVICES: TunnelDeviceSpec[] = [
  { kind: 'vxlan', name: 'vxlan.calico', family: 4, vni: 4096, port: 4789, mtu: 1450 },
  { kind: 'vxlan', name: 'vxlan-v6.calico', family: 6, vni: 4096, port: 4789, mtu: 1430 },
  { kind: 'ipip', name: 'tunl0', family: 4, mtu: 1480 },
];

describe('pathChecks', () => {
  const shards = [
    buildShard('cluster-1', [
      entry({
        cidr: '10.0.2.0/26',
        node: 'b',
        nodeIP: '172.18.0.3',
        kind: 'vxlan',
        device: 'vxlan.calico',
        pool: 'p1',
      }),
      entry({
        cidr: '10.9.2.0/26',
        node: 'b',
        nodeIP: '172.18.0.3',
        kind: 'vxlan',
        device: 'vxlan.calico',
        pool: 'p0',
      }),
      entry({ cidr: '10.1.3.0/26', node: 'c', nodeIP: '172.18.0.4', kind: 'direct', pool: 'p2' }),
      entry({
        cidr: '10.0.1.0/26',
        node: 'a',
        nodeIP: '172.18.0.2',
        kind: 'vxlan',
        device: 'vxlan.calico',
        pool: 'p1',
      }),
    ]),
    buildShard('cluster-0', [
      entry({
        cidr: '10.0.2.64/26',
        node: 'b',
        nodeIP: '172.18.0.3',
        kind: 'vxlan',
        device: 'vxlan.calico',
        pool: 'p1',
      }),
      entry({ cidr: '10.2.4.0/26', node: 'd', nodeIP: '172.18.0.5', kind: 'ipip', device: 'tunl0', pool: 'p3' }),
      entry({
        cidr: 'fd00:2::/122',
        node: 'b',
        nodeIP: 'fd00::3',
        kind: 'vxlan',
        device: 'vxlan-v6.calico',
        pool: 'p6',
      }),
    ]),
  ];

  it('gives one path per peer, address and encapsulation, sized by hand: device MTU + overhead, pod MTU bare', () => {
    const got = pathChecks({ nodeName: 'a', shards, devices: DEVICES, podMtu: 1430 });
    expect(got).toEqual<PathCheck[]>([
      {
        peer: 'b',
        address: '172.18.0.3',
        family: 4,
        encapsulation: 'vxlan',
        mtu: 1450,
        size: 1500,
        pools: ['p0', 'p1'],
      },
      { peer: 'b', address: 'fd00::3', family: 6, encapsulation: 'vxlan-v6', mtu: 1430, size: 1500, pools: ['p6'] },
      { peer: 'c', address: '172.18.0.4', family: 4, encapsulation: 'none', mtu: 1430, size: 1430, pools: ['p2'] },
      { peer: 'd', address: '172.18.0.5', family: 4, encapsulation: 'ipip', mtu: 1480, size: 1500, pools: ['p3'] },
    ]);
  });

  it('skips routes whose tunnel device is not planned (no ipip module): no traffic takes them', () => {
    const got = pathChecks({ nodeName: 'a', shards, devices: DEVICES.slice(0, 1), podMtu: 1450 });
    expect(got.map((c) => `${c.peer} ${c.encapsulation}`)).toEqual(['b vxlan', 'c none']);
  });
});

describe('probeArgv', () => {
  it('sends exactly `size` bytes on the wire with DF set: payload = size - 28 (IPv4) / - 48 (IPv6)', () => {
    expect(probeArgv({ address: '172.18.0.3', family: 4 }, 1500)).toEqual([
      'ping',
      '-4',
      '-n',
      '-M',
      'do',
      '-s',
      '1472',
      '-c',
      '1',
      '-W',
      '1',
      '172.18.0.3',
    ]);
    expect(probeArgv({ address: 'fd00::3', family: 6 }, 1500)).toContain('1452');
    expect(() => probeArgv({ address: '172.18.0.3', family: 4 }, 20)).toThrow(RangeError);
  });
});

describe('parseProbe (iputils ping output, as printed on this machine)', () => {
  it.each<{ name: string; code: number; stdout: string; stderr: string; want: ProbeOutcome }>([
    {
      name: 'answered',
      code: 0,
      stdout: '1380 bytes from 10.99.0.2: icmp_seq=1 ttl=64 time=0.151 ms\n1 packets transmitted, 1 received',
      stderr: '',
      want: { kind: 'reply' },
    },
    {
      name: 'refused by the local interface',
      code: 1,
      stdout: '1 packets transmitted, 0 received, +1 errors, 100% packet loss, time 0ms',
      stderr: 'ping: local error: message too long, mtu=1400\n',
      want: { kind: 'too-big', mtu: 1400 },
    },
    {
      name: 'refused by a router',
      code: 1,
      stdout: 'From 172.30.1.254 icmp_seq=1 Frag needed and DF set (mtu = 1380)\n',
      stderr: '',
      want: { kind: 'too-big', mtu: 1380 },
    },
    {
      name: 'silently dropped',
      code: 1,
      stdout: '1 packets transmitted, 0 received, 100% packet loss, time 1000ms',
      stderr: '',
      want: { kind: 'lost' },
    },
    {
      name: 'no route',
      code: 2,
      stdout: '',
      stderr: 'ping: connect: Network is unreachable\n',
      want: { kind: 'error', message: 'ping: connect: Network is unreachable' },
    },
  ])('$name', ({ code, stdout, stderr, want }) => {
    expect(parseProbe(code, stdout, stderr)).toEqual(want);
  });
});

/** Runs the search against a path that carries `limit` bytes; `hint`: the kernel names the limit when refusing. */
function search(check: Pick<PathCheck, 'size' | 'family'>, limit: number, hint: boolean, reachable = true) {
  let s = startSearch();
  const sizes: number[] = [];
  for (let size = nextProbeSize(check, s); size !== undefined; size = nextProbeSize(check, s)) {
    sizes.push(size);
    const outcome: ProbeOutcome = !reachable
      ? { kind: 'lost' }
      : size <= limit
        ? { kind: 'reply' }
        : hint
          ? { kind: 'too-big', mtu: limit }
          : { kind: 'lost' };
    s = recordProbe(s, size, outcome);
  }
  return { sizes, verdict: pathVerdict(check, s) };
}

describe('the search for the largest size that passes', () => {
  it('one probe when the configured size passes', () => {
    expect(search({ size: 1500, family: 4 }, 1500, true)).toEqual({ sizes: [1500], verdict: { result: 'ok' } });
  });

  it('the size the kernel names, then one byte more: 1500 → 1400 → 1401 on a 1400-byte underlay', () => {
    expect(search({ size: 1500, family: 4 }, 1400, true)).toEqual({
      sizes: [1500, 1400, 1401],
      verdict: { result: 'too-small', largestPassed: 1400 },
    });
  });

  it('a silent black hole: the floor, then halving (68..1500)', () => {
    const r = search({ size: 1500, family: 4 }, 1400, false);
    expect(r.sizes.slice(0, 4)).toEqual([1500, 68, 784, 1142]);
    expect(r.verdict).toEqual({ result: 'too-small', largestPassed: 1400 });
  });

  it('a peer that answers nothing costs two probes and is unreachable, not an MTU problem', () => {
    expect(search({ size: 1500, family: 4 }, 0, false, false)).toEqual({
      sizes: [1500, 68],
      verdict: { result: 'unreachable', message: 'no answer even to the smallest probe' },
    });
  });

  it('a probe that cannot be sent ends the search with its message', () => {
    const s = recordProbe(startSearch(), 1500, { kind: 'error', message: 'ping: connect: Network is unreachable' });
    expect(nextProbeSize({ size: 1500, family: 4 }, s)).toBeUndefined();
    expect(pathVerdict({ size: 1500 }, s)).toEqual({
      result: 'unreachable',
      message: 'ping: connect: Network is unreachable',
    });
  });

  it('finds exactly the limit of any path, within the probe budget (property)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<4 | 6>(4, 6),
        fc.integer({ min: 1280, max: 9050 }),
        fc.integer({ min: 0, max: 9100 }),
        fc.boolean(),
        (family, size, limit, hint) => {
          const r = search({ size, family }, limit, hint);
          expect(r.sizes.length).toBeLessThanOrEqual(MAX_PROBES_PER_PATH);
          if (hint) expect(r.sizes.length).toBeLessThanOrEqual(3);
          const floor = MIN_LINK_MTU[family];
          if (limit >= size) expect(r.verdict).toEqual({ result: 'ok' });
          else if (limit >= floor) expect(r.verdict).toEqual({ result: 'too-small', largestPassed: limit });
          else expect(r.verdict.result).toBe('unreachable');
        },
      ),
    );
  });
});

const check = (peer: string, encapsulation: PathCheck['encapsulation'], mtu: number, size: number): PathCheck => ({
  peer,
  address: `172.18.0.${peer.charCodeAt(0) - 96}`,
  family: 4,
  encapsulation,
  mtu,
  size,
  pools: ['default-ipv4-ippool'],
});

describe('pathMtuCondition and pathMtuSummary', () => {
  const ok: PathResult = { check: check('b', 'vxlan', 1350, 1400), verdict: { result: 'ok' } };
  const small: PathResult = {
    check: check('c', 'vxlan', 1450, 1500),
    verdict: { result: 'too-small', largestPassed: 1400 },
  };
  const lost: PathResult = {
    check: check('d', 'none', 1500, 1500),
    verdict: { result: 'unreachable', message: 'no answer even to the smallest probe' },
  };

  it('True naming what was checked when every path carries its MTU', () => {
    expect(pathMtuCondition([ok])).toEqual({
      type: 'PathMTU',
      status: 'True',
      reason: 'PathsCarryMTU',
      message: 'all 1 paths to 1 peers carry the configured MTU (bytes on the wire: VXLAN 1400)',
    });
  });

  it('False naming the peer, the configured MTU, the encapsulation and the largest size that passed', () => {
    expect(pathMtuCondition([ok, small, lost])).toEqual({
      type: 'PathMTU',
      status: 'False',
      reason: 'MTUTooLarge',
      message:
        '1 of 3 paths cannot carry the configured MTU: c 172.18.0.3 VXLAN: vxlan.calico MTU (vxlanMTU) 1450 needs ' +
        '1500-byte packets, the largest that passed is 1400 (an MTU of at most 1350 fits)',
    });
    expect(pathMtuSummary([ok, small, lost])).toEqual({
      paths: 3,
      unreachable: 1,
      failing: [
        {
          peer: 'c',
          address: '172.18.0.3',
          encapsulation: 'vxlan',
          mtu: 1450,
          size: 1500,
          largestPassed: 1400,
          pools: ['default-ipv4-ippool'],
        },
      ],
    });
  });

  it('Unknown when a peer could not be probed at all; True with NoPaths when there is no peer', () => {
    expect(pathMtuCondition([ok, lost])).toMatchObject({ status: 'Unknown', reason: 'ProbeFailed' });
    expect(pathMtuCondition([])).toMatchObject({ status: 'True', reason: 'NoPaths' });
  });
});

describe('pickPaths', () => {
  it('never-probed paths first, then the longest ago, at most `limit`', () => {
    const [b, c, d] = [
      check('b', 'vxlan', 1450, 1500),
      check('c', 'vxlan', 1450, 1500),
      check('d', 'none', 1500, 1500),
    ];
    const last = new Map([
      [probeIdentity(b!), 200],
      [probeIdentity(c!), 100],
    ]);
    expect(pickPaths([b!, c!, d!], last, 2)).toEqual([d, c]);
    // The same peer at another MTU is a new path.
    const b2 = { ...b!, mtu: 1350, size: 1400 };
    expect(pickPaths([b2, c!], last, 1)).toEqual([b2]);
  });
});
