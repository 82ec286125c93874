// `tabby ipam history --ip ADDRESS | --pod NAMESPACE/NAME [-o text|json]`: what IPAM decided about an address or a
// pod, from the Events the agents and the operator recorded (src/ipam/history.ts says which). One LIST of Events
// (all namespaces for --ip, the pod's namespace for --pod), filtered and sorted here. Events last as long as the
// apiserver keeps them (kube-apiserver --event-ttl, one hour by default): this is recent history, not an audit log.
import type { Command } from 'commander';
import {
  type PodRef,
  type RecordedEvent,
  eventConcernsAddress,
  eventConcernsPod,
  isIpamHistoryEvent,
} from '../ipam/index.js';
import { createKubeClient, type Event } from '../kube/index.js';
import { choiceValue, ipValue, podRefValue } from './flag-values.js';
import { addKubeFlags, kubeSource, type KubeFlags } from './kube-options.js';
import { table } from './table.js';

export type HistoryQuery = { ip: string } | { pod: PodRef };

export interface HistoryEntry {
  /** When it first happened (RFC 3339). */
  time: string;
  /** When it last happened, for a repeated decision. */
  lastTime?: string;
  count: number;
  type: string;
  action: string;
  reason: string;
  /** `Kind/name` or `Kind/namespace/name`. */
  object: string;
  related?: string;
  note: string;
  reportedBy: string;
}

function refText(r: { kind?: string; namespace?: string; name?: string } | null | undefined): string | undefined {
  if (!r?.kind || !r.name) return undefined;
  return r.namespace ? `${r.kind}/${r.namespace}/${r.name}` : `${r.kind}/${r.name}`;
}

/** The IPAM history Events matching the query, oldest first. */
export function ipamHistory(events: readonly Event[], q: HistoryQuery): HistoryEntry[] {
  const out: HistoryEntry[] = [];
  for (const e of events) {
    const rec = e as RecordedEvent;
    if (!isIpamHistoryEvent(rec)) continue;
    if ('ip' in q ? !eventConcernsAddress(rec, q.ip) : !eventConcernsPod(rec, q.pod)) continue;
    const time = e.eventTime ?? e.metadata.creationTimestamp ?? '';
    const count = e.series?.count ?? 1;
    const related = refText(e.related);
    out.push({
      time,
      ...(e.series ? { lastTime: e.series.lastObservedTime } : {}),
      count,
      type: e.type ?? '',
      action: e.action ?? '',
      reason: e.reason ?? '',
      object: refText(e.regarding) ?? '',
      ...(related ? { related } : {}),
      note: e.note ?? '',
      reportedBy: `${e.reportingController ?? ''}/${e.reportingInstance ?? ''}`,
    });
  }
  return out.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : a.note < b.note ? -1 : 1));
}

/** The table `tabby ipam history` prints. */
export function formatHistory(entries: readonly HistoryEntry[], q: HistoryQuery): string {
  if (entries.length === 0) {
    const what = 'ip' in q ? q.ip : `pod ${q.pod.namespace}/${q.pod.name}`;
    return `no IPAM history for ${what} (Events are kept for the apiserver's --event-ttl, 1h by default)\n`;
  }
  const rows = [['TIME', 'ACTION', 'REASON', 'OBJECT', 'NOTE']];
  for (const e of entries) {
    const repeat = e.count > 1 ? ` (${e.count} times, last ${e.lastTime ?? '?'})` : '';
    rows.push([e.time, e.action, e.reason, e.object, e.note + repeat]);
  }
  return table(rows);
}

const FORMATS = ['text', 'json'] as const;

export function registerIpamHistory(ipam: Command): void {
  addKubeFlags(
    ipam
      .command('history')
      .description(
        'what IPAM decided about an address or a pod (assigned, released, borrowed, blocks claimed and released, ' +
          'garbage collected, leaks suspected), from the Events tabby recorded; kept as long as the apiserver keeps Events',
      ),
  )
    .option('--ip <address>', "an address: its own Events and its block's (claimed, released)", ipValue('--ip'))
    .option('--pod <namespace/name>', "a pod's Events (NAME alone: namespace default)", podRefValue('--pod'))
    .option('-o, --output <format>', 'text | json', choiceValue('--output', FORMATS), 'text')
    .action(async (opts: KubeFlags & { ip?: string; pod?: PodRef; output: (typeof FORMATS)[number] }) => {
      if ((opts.ip === undefined) === (opts.pod === undefined)) {
        process.stderr.write('error: give exactly one of --ip or --pod\n');
        process.exitCode = 2;
        return;
      }
      const q: HistoryQuery = opts.ip !== undefined ? { ip: opts.ip } : { pod: opts.pod! };
      const client = createKubeClient({ source: kubeSource(opts) });
      try {
        const list = await client.events().list('pod' in q ? { namespace: q.pod.namespace } : {});
        const entries = ipamHistory(list.items, q);
        process.stdout.write(
          opts.output === 'json' ? `${JSON.stringify(entries, null, 2)}\n` : formatHistory(entries, q),
        );
      } finally {
        client.close();
      }
    });
}
