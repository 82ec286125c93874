// The pure parts of the dataplane probes: loss figures from ping's output, and `ip route` lines in the planned syntax.
// (No containers: these guard the measurements the dataplane tests assert on.)
import { describe, expect, it } from 'vitest';
import { analysePing } from './continuous-ping.js';
import { normaliseRouteLine } from './tabby-cluster.js';

function pingOutput(replies: [seq: number, t: number][], sent: number): string {
  const lines = ['PING 10.0.0.2 (10.0.0.2) 56(84) bytes of data.'];
  for (const [seq, t] of replies) {
    lines.push(`[${t.toFixed(6)}] 64 bytes from 10.0.0.2: icmp_seq=${seq} ttl=63 time=0.1 ms`);
  }
  lines.push('', '--- 10.0.0.2 ping statistics ---', `${sent} packets transmitted, ${replies.length} received`);
  return lines.join('\n');
}

const every = (from: number, to: number, skip: number[] = []): [number, number][] =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i)
    .filter((s) => !skip.includes(s))
    .map((s) => [s, 100 + s * 0.1]);

describe('analysePing', () => {
  it.each([
    { name: 'no loss', replies: every(1, 20), sent: 20, lossWindowMs: 0, runs: [] },
    { name: 'one lost packet', replies: every(1, 20, [7]), sent: 20, lossWindowMs: 100, runs: ['seq 7'] },
    {
      name: 'a run of eleven lost packets',
      replies: every(1, 30, [5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]),
      sent: 30,
      lossWindowMs: 1100,
      runs: ['seq 5..15'],
    },
    { name: 'losses at the end count', replies: every(1, 10), sent: 14, lossWindowMs: 400, runs: ['seq 11..14'] },
    { name: 'losses at the start count', replies: every(4, 10), sent: 10, lossWindowMs: 300, runs: ['seq 1..3'] },
    { name: 'nothing answered', replies: [], sent: 12, lossWindowMs: 1200, runs: ['seq 1..12'] },
  ])('$name', ({ replies, sent, lossWindowMs, runs }) => {
    const r = analysePing(pingOutput(replies, sent), 100, 100 + (sent + 1) * 0.1, 100, 't');
    expect(r.sent).toBe(sent);
    expect(r.received).toBe(replies.length);
    expect(r.lossWindowMs).toBe(lossWindowMs);
    expect(r.lossRuns).toEqual(runs);
  });

  it('measures the longest time without a reply, from the start to the stop', () => {
    const r = analysePing(
      pingOutput(
        [
          [1, 100.05],
          [2, 100.15],
          [3, 101.45],
        ],
        3,
      ),
      100,
      101.5,
      100,
      't',
    );
    expect(r.maxReplyGapMs).toBe(1300);
    expect(analysePing(pingOutput([[1, 100.05]], 1), 100, 102, 100, 't').maxReplyGapMs).toBe(1950);
  });

  it('counts a duplicate reply once', () => {
    const out = pingOutput(
      [
        [1, 100.1],
        [1, 100.2],
        [2, 100.3],
      ],
      2,
    ).replace('3 received', '2 received');
    expect(analysePing(out, 100, 100.4, 100, 't').received).toBe(2);
  });

  it('refuses output without a summary', () => {
    expect(() => analysePing('ping: connect: Network is unreachable', 0, 1, 100, 't')).toThrow(/no summary/);
  });
});

describe('normaliseRouteLine', () => {
  it.each([
    {
      name: 'direct route: the uplink goes',
      line: '10.0.1.0/26 via 172.30.1.3 dev eth0 proto 80 ',
      want: '10.0.1.0/26 via 172.30.1.3',
    },
    {
      name: 'VXLAN route keeps its device',
      line: '10.0.1.0/26 via 10.0.1.0 dev vxlan.calico proto 80 onlink',
      want: '10.0.1.0/26 via 10.0.1.0 dev vxlan.calico onlink',
    },
    {
      name: 'a direct route onto a tunnel device keeps it',
      line: '10.0.1.0/26 via 10.0.1.0 dev tunl0 proto 80',
      want: '10.0.1.0/26 via 10.0.1.0 dev tunl0',
    },
    { name: 'blackhole', line: 'blackhole 10.0.0.0/26 proto 80', want: 'blackhole 10.0.0.0/26' },
    {
      name: 'a route with more attributes keeps its device',
      line: '10.0.1.0/26 via 172.30.1.3 dev eth0 proto 80 metric 5',
      want: '10.0.1.0/26 via 172.30.1.3 dev eth0 metric 5',
    },
  ])('$name', ({ line, want }) => {
    expect(normaliseRouteLine(line)).toBe(want);
  });
});
