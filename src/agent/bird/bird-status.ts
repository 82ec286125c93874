// BGP session status from BIRD, shown the way `calicoctl node status` shows it.
//
// Inputs: the text of `birdc show protocols` (BIRD 2, with `timeformat protocol iso long`), and optionally the
// sessions the rendered config declares (to give each protocol its peer address and type). Outputs: BgpSession rows
// (peer address, peer type, state, since, info) and the calicoctl-style table.
// Matches calico: calicoctl/calicoctl/commands/node/status.go (rows for Mesh_/Node_/Global_ protocols, peer address
// rebuilt from the protocol name, types "node-to-node mesh" / "node specific" / "global").
import type { BgpSessionType, RenderedSession } from './bird-config.js';

export interface BgpSession {
  name: string;
  peerAddress: string;
  peerType: BgpSessionType;
  family: 4 | 6;
  /** BIRD protocol state: up, start, down, ... */
  state: string;
  since: string;
  /** BGP state and details: Established, Active, Connect, Passive, ... */
  info: string;
}

const PREFIXES: readonly [string, BgpSessionType][] = [
  ['Mesh_', 'node-to-node mesh'],
  ['Node_', 'node specific'],
  ['Global_', 'global'],
];

const ROW =
  /^(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?:\.\d+)?|\d{2}:\d{2}:\d{2}(?:\.\d+)?|\S+)\s*(.*?)\s*$/;

/** Rebuilds the peer address from Calico's protocol name (`Mesh_10_0_0_1`, `Node_fd00__1_port_180`). */
export function peerFromProtocolName(name: string): { address: string; type: BgpSessionType } | undefined {
  for (const [prefix, type] of PREFIXES) {
    if (!name.startsWith(prefix)) continue;
    const id = name.slice(prefix.length).replace(/_port_\d+$/, '');
    const v4 = id.split('_');
    if (v4.length === 4 && v4.every((x) => /^\d{1,3}$/.test(x))) return { address: v4.join('.'), type };
    return { address: id.replace(/_/g, ':'), type };
  }
  return undefined;
}

/** Parses `birdc show protocols`; only BGP protocols become sessions. */
export function parseShowProtocols(text: string, declared: readonly RenderedSession[] = []): BgpSession[] {
  const byName = new Map(declared.map((s) => [s.name, s]));
  const out: BgpSession[] = [];
  for (const line of text.split('\n')) {
    const m = ROW.exec(line);
    if (!m) continue;
    const [, name = '', proto = '', , state = '', since = '', info = ''] = m;
    if (proto !== 'BGP') continue;
    const d = byName.get(name);
    const fromName = peerFromProtocolName(name);
    const peerAddress = d?.peerIP ?? fromName?.address ?? '';
    out.push({
      name,
      peerAddress,
      peerType: d?.type ?? fromName?.type ?? 'node specific',
      family: d?.family ?? (peerAddress.includes(':') ? 6 : 4),
      state,
      since,
      info: info.replace(/\s{2,}/g, ' '),
    });
  }
  return out;
}

function table(rows: readonly string[][]): string[] {
  const header = ['PEER ADDRESS', 'PEER TYPE', 'STATE', 'SINCE', 'INFO'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const rule = '+' + widths.map((w) => '-'.repeat(w + 2)).join('+') + '+';
  const center = (s: string, w: number) => {
    const left = Math.floor((w - s.length) / 2);
    return ' '.repeat(left) + s + ' '.repeat(w - s.length - left);
  };
  const out = [rule, '|' + header.map((h, i) => ` ${center(h, widths[i] ?? 0)} `).join('|') + '|', rule];
  for (const r of rows) out.push('|' + r.map((c, i) => ` ${c.padEnd(widths[i] ?? 0)} `).join('|') + '|');
  out.push(rule);
  return out;
}

/**
 * The `calicoctl node status` layout. `today` (YYYY-MM-DD, from the caller's clock) shortens a since of today to its
 * time, as BIRD's default format does.
 */
export function formatNodeStatus(
  sessions: readonly BgpSession[],
  options: { running: boolean; today?: string },
): string {
  if (!options.running) return 'BIRD is not running.\n';
  const lines = ['BIRD is running.'];
  for (const fam of [4, 6] as const) {
    lines.push('', `IPv${fam} BGP status`);
    const rows = sessions
      .filter((s) => s.family === fam)
      .map((s) => {
        const since =
          options.today !== undefined && s.since.startsWith(`${options.today} `) ? s.since.slice(11) : s.since;
        return [s.peerAddress, s.peerType, s.state, since, s.info];
      });
    if (rows.length === 0) lines.push(`No IPv${fam} peers found.`);
    else lines.push(...table(rows));
  }
  return lines.join('\n') + '\n';
}
