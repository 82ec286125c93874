// A continuous ping from a test pod, for "no loss window of 1 s or more" while the dataplane changes underneath.
//
// `ping -D -i <interval>` runs in the pod's namespace in the background until stop(), which interrupts it (SIGINT: it
// prints its summary) and reads back every reply. Figures:
// - lossWindowMs: the longest run of consecutive unanswered echo requests, times the interval (the trailing run, after
//   the last reply, counts too) — packets that were sent and lost;
// - maxReplyGapMs: the longest time without a reply (start → first reply, between replies, last reply → stop), from
//   the container's clock; it also counts time in which the node was too starved to send.
import { stopProcessScript } from './node-processes.js';
import type { TestPod } from './pods.js';

export interface PingReport {
  target: string;
  sent: number;
  received: number;
  intervalMs: number;
  durationMs: number;
  lossWindowMs: number;
  /** Unanswered runs as `seq a..b`. */
  lossRuns: string[];
  maxReplyGapMs: number;
}

export interface ContinuousPing {
  stop(): Promise<PingReport>;
}

let counter = 0;

/** Pure: the figures from ping's output and the start/stop times (seconds, container clock). */
export function analysePing(
  output: string,
  startS: number,
  stopS: number,
  intervalMs: number,
  target: string,
): PingReport {
  const replies = new Map<number, number>();
  for (const m of output.matchAll(/^\[(\d+\.\d+)\] \d+ bytes from \S+ icmp_seq=(\d+) /gm)) {
    const seq = Number(m[2]);
    if (!replies.has(seq)) replies.set(seq, Number(m[1]));
  }
  const summary = /(\d+) packets transmitted, (\d+) received/.exec(output);
  if (!summary) throw new Error(`ping to ${target} printed no summary:\n${output.slice(-2000)}`);
  const sent = Number(summary[1]);
  let lossRun = 0;
  let longest = 0;
  const lossRuns: string[] = [];
  for (let seq = 1; seq <= sent + 1; seq++) {
    if (seq <= sent && !replies.has(seq)) {
      lossRun++;
      continue;
    }
    if (lossRun > 0) lossRuns.push(lossRun === 1 ? `seq ${seq - 1}` : `seq ${seq - lossRun}..${seq - 1}`);
    longest = Math.max(longest, lossRun);
    lossRun = 0;
  }
  const times = [startS, ...[...replies.values()].sort((a, b) => a - b), stopS];
  let maxGap = 0;
  for (let i = 1; i < times.length; i++) maxGap = Math.max(maxGap, times[i]! - times[i - 1]!);
  return {
    target,
    sent,
    received: replies.size,
    intervalMs,
    durationMs: Math.round((stopS - startS) * 1000),
    lossWindowMs: longest * intervalMs,
    lossRuns,
    maxReplyGapMs: Math.round(maxGap * 1000),
  };
}

export async function startContinuousPing(from: TestPod, toIp: string, intervalMs = 100): Promise<ContinuousPing> {
  const base = `/tmp/cping-${from.name}-${++counter}`;
  const interval = (intervalMs / 1000).toFixed(3);
  // `ip netns exec` execs ping, so $! is ping itself.
  await from.node.sh(
    `date +%s.%N >${base}.start; ` +
      `nohup ip netns exec ${from.netns} ping -D -n -i ${interval} -W 1 ${toIp} >${base}.log 2>&1 </dev/null & ` +
      `echo $! >${base}.pid`,
  );
  return {
    async stop() {
      const out = await from.node.sh(
        `${stopProcessScript(`${base}.pid`, 'INT')}\n` +
          `date +%s.%N >${base}.stop; cat ${base}.start ${base}.stop; echo ---; cat ${base}.log`,
      );
      const [times = '', log = ''] = out.split('\n---\n');
      const [startS, stopS] = times.trim().split('\n').map(Number);
      return analysePing(log, startS!, stopS!, intervalMs, `${from.name}@${from.node.name} -> ${toIp}`);
    },
  };
}
