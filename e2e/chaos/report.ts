// The chaos run's figures, pure: percentiles, the longest ping gap inside a fault's window, and the table.

/** Nearest-rank percentile of `xs` (p in 0..100); undefined for no values. */
export function percentile(xs: readonly number[], p: number): number | undefined {
  if (xs.length === 0) return undefined;
  const sorted = [...xs].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1];
}

/**
 * The longest stretch without a reply that overlaps [from, to] (ms, one clock): replies are the times echo replies
 * arrived, `start`/`stop` when the stream began and ended (a stream silent from its start counts from there). The
 * loss window is that stretch less one interval (a stream answering every interval has none).
 */
export function lossWindowMs(
  replies: readonly number[],
  stream: { start: number; stop: number; intervalMs: number },
  from: number,
  to: number,
): number {
  const times = [stream.start, ...replies, stream.stop];
  let longest = 0;
  for (let i = 1; i < times.length; i++) {
    const a = times[i - 1]!;
    const b = times[i]!;
    if (b < from || a > to) continue;
    longest = Math.max(longest, b - a);
  }
  return Math.max(0, longest - stream.intervalMs);
}

export interface FaultFigures {
  kind: string;
  count: number;
  recoveryMs: number[];
  lossMs: number[];
}

export interface InvariantResult {
  name: string;
  held: boolean;
  detail: string;
}

const fmt = (ms: number | undefined): string => (ms === undefined ? '-' : `${(ms / 1000).toFixed(1)} s`);

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

export function faultTable(figures: readonly FaultFigures[]): string {
  return table(
    ['fault', 'count', 'recovery p50', 'recovery max', 'ping loss p50', 'ping loss max'],
    figures.map((f) => [
      f.kind,
      String(f.count),
      fmt(percentile(f.recoveryMs, 50)),
      fmt(percentile(f.recoveryMs, 100)),
      fmt(percentile(f.lossMs, 50)),
      fmt(percentile(f.lossMs, 100)),
    ]),
  );
}

export function invariantTable(results: readonly InvariantResult[]): string {
  return table(
    ['invariant', 'result', 'detail'],
    results.map((r) => [r.name, r.held ? 'held' : 'VIOLATED', r.detail]),
  );
}
