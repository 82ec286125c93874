import { describe, expect, it } from 'vitest';
import { faultTable, invariantTable, lossWindowMs, percentile } from './report.js';
import { parseReplies } from './workload.js';

describe('percentile (nearest rank)', () => {
  it('is the value at rank ceil(p/100·n)', () => {
    const xs = [15, 20, 35, 40, 50];
    expect(percentile(xs, 5)).toBe(15);
    expect(percentile(xs, 30)).toBe(20);
    expect(percentile(xs, 40)).toBe(20);
    expect(percentile(xs, 50)).toBe(35);
    expect(percentile(xs, 100)).toBe(50);
    expect(percentile([3, 1, 2], 50)).toBe(2);
    expect(percentile([], 50)).toBeUndefined();
  });
});

describe('lossWindowMs', () => {
  const stream = { start: 0, stop: 10_000, intervalMs: 200 };
  it('is the longest gap overlapping the window, less one interval', () => {
    const replies = [200, 400, 600, 3_600, 3_800, 4_000];
    expect(lossWindowMs(replies, stream, 1_000, 2_000)).toBe(2_800);
    // A gap outside the window does not count; the end of the stream does.
    expect(lossWindowMs(replies, stream, 5_000, 6_000)).toBe(5_800);
    expect(lossWindowMs(replies, stream, 100, 300)).toBe(0);
  });
  it('counts a stream that never answered from its start', () => {
    expect(lossWindowMs([], stream, 1_000, 2_000)).toBe(9_800);
  });
});

describe('parseReplies', () => {
  it('reads ping -D reply times in ms, one per sequence number', () => {
    const out = [
      'PING 10.244.1.2 (10.244.1.2) 56(84) bytes of data.',
      '[1765105200.123456] 64 bytes from 10.244.1.2: icmp_seq=1 ttl=63 time=0.1 ms',
      '[1765105200.323456] 64 bytes from 10.244.1.2: icmp_seq=2 ttl=63 time=0.1 ms',
      '[1765105200.324000] 64 bytes from 10.244.1.2: icmp_seq=2 ttl=63 time=0.1 ms (DUP!)',
      '[1765105201.000000] From 10.244.0.1 icmp_seq=3 Destination Host Unreachable',
    ].join('\n');
    expect(parseReplies(out)).toEqual([1765105200123, 1765105200323]);
  });
});

describe('tables', () => {
  it('prints one row per fault kind and per invariant', () => {
    expect(faultTable([{ kind: 'etcd', count: 2, recoveryMs: [1000, 3000], lossMs: [0, 400] }])).toBe(
      [
        '| fault | count | recovery p50 | recovery max | ping loss p50 | ping loss max |',
        '|-------|-------|--------------|--------------|---------------|---------------|',
        '| etcd  | 2     | 1.0 s        | 3.0 s        | 0.0 s         | 0.4 s         |',
      ].join('\n'),
    );
    expect(invariantTable([{ name: 'x', held: false, detail: 'why' }])).toBe(
      [
        '| invariant | result   | detail |',
        '|-----------|----------|--------|',
        '| x         | VIOLATED | why    |',
      ].join('\n'),
    );
  });
});
