// natOutgoing as one nftables table the agent owns and replaces atomically.
//
// Inputs: NodeDataplane status.desired.natOutgoing (source CIDRs of natOutgoing pools, CIDRs of every pool, optional
// SNAT address and port range). Outputs: a validated NatOutgoingTarget and the `nft -f -` script that replaces table
// `inet tabby-nat` in one transaction (or deletes it when no pool masquerades).
// The rule is Felix's (calico: felix/rules/nat.go, NATOutgoingChain): traffic from a natOutgoing pool to a
// destination outside every pool is masqueraded (SNAT to natOutgoingAddress when set, within natPortRange when set),
// fully random like `--random-fully`. "Every pool" includes disabled ones (Felix's all-ipam-pools set); the plan
// lists both sets (plan/felix-effective.ts natOutgoing) and this file applies them.
// Invariant: the script mentions no table but ours, so it never touches other nftables state.
import type { NatOutgoing } from '../api/node-dataplane.js';
import { tryParseCidr, formatCidr } from '../net/cidr.js';
import { tryParseIP, formatIP } from '../net/ip.js';

export const NAT_TABLE_FAMILY = 'inet';
export const NAT_TABLE_NAME = 'tabby-nat';

export interface NatFamilyTarget {
  sources: string[];
  pools: string[];
}

export interface NatOutgoingTarget {
  v4?: NatFamilyTarget;
  v6?: NatFamilyTarget;
  outgoingAddress?: string;
  /** nft form `lo-hi`. */
  portRange?: string;
}

export interface NatProblem {
  path: (string | number)[];
  message: string;
}

/** Validates the desired natOutgoing section; bad entries are skipped and reported, never fatal. */
export function natOutgoingTarget(nat: NatOutgoing, problems: NatProblem[]): NatOutgoingTarget | undefined {
  const sources: Record<4 | 6, string[]> = { 4: [], 6: [] };
  const pools: Record<4 | 6, string[]> = { 4: [], 6: [] };
  const collect = (list: readonly string[], field: string, into: Record<4 | 6, string[]>) =>
    list.forEach((text, i) => {
      const c = tryParseCidr(text);
      if (c === undefined) {
        problems.push({ path: ['natOutgoing', field, i], message: `${JSON.stringify(text)} is not a valid CIDR` });
        return;
      }
      into[c.family].push(formatCidr(c));
    });
  collect(nat.sourceCidrs, 'sourceCidrs', sources);
  collect(nat.allPoolCidrs, 'allPoolCidrs', pools);
  if (sources[4].length === 0 && sources[6].length === 0) return undefined;

  const out: NatOutgoingTarget = {};
  for (const fam of [4, 6] as const) {
    if (sources[fam].length === 0) continue;
    // Every natOutgoing pool is a pool: never masquerade traffic between pools even if allPoolCidrs forgot one.
    const all = [...new Set([...pools[fam], ...sources[fam]])].sort();
    const t: NatFamilyTarget = { sources: [...new Set(sources[fam])].sort(), pools: all };
    if (fam === 4) out.v4 = t;
    else out.v6 = t;
  }
  if (nat.outgoingAddress !== undefined && nat.outgoingAddress !== '') {
    const ip = tryParseIP(nat.outgoingAddress);
    if (ip === undefined) {
      problems.push({
        path: ['natOutgoing', 'outgoingAddress'],
        message: `${JSON.stringify(nat.outgoingAddress)} is not a valid IP address; masquerading instead`,
      });
    } else out.outgoingAddress = formatIP(ip);
  }
  if (nat.portRange !== undefined && nat.portRange !== '') {
    const m = /^(\d{1,5})(?:[:-](\d{1,5}))?$/.exec(nat.portRange);
    const lo = m ? Number(m[1]) : NaN;
    const hi = m ? Number(m[2] ?? m[1]) : NaN;
    if (!m || lo < 1 || hi > 65535 || lo > hi) {
      problems.push({
        path: ['natOutgoing', 'portRange'],
        message: `${JSON.stringify(nat.portRange)} is not a port range like 32768:65535; using any port`,
      });
    } else out.portRange = lo === hi ? `${lo}` : `${lo}-${hi}`;
  }
  return out;
}

function setBlock(name: string, type: string, elements: readonly string[]): string[] {
  return [
    `\tset ${name} {`,
    `\t\ttype ${type}`,
    '\t\tflags interval',
    '\t\tauto-merge',
    ...(elements.length > 0 ? [`\t\telements = { ${elements.join(', ')} }`] : []),
    '\t}',
  ];
}

function action(fam: 4 | 6, t: NatOutgoingTarget): string {
  const ports = t.portRange !== undefined ? `:${t.portRange}` : '';
  if (t.outgoingAddress !== undefined && t.outgoingAddress.includes(':') === (fam === 6)) {
    const addr = fam === 6 ? `[${t.outgoingAddress}]` : t.outgoingAddress;
    return `snat ${fam === 4 ? 'ip' : 'ip6'} to ${addr}${ports} fully-random`;
  }
  return `masquerade${ports ? ` to ${ports}` : ''} fully-random`;
}

/**
 * The `nft -f -` input that makes table `inet tabby-nat` exactly `target` (absent: no table). The leading
 * `table` + `delete table` pair makes the replace atomic whether or not the table existed.
 */
export function renderNatScript(target: NatOutgoingTarget | undefined): string {
  const head = [`table ${NAT_TABLE_FAMILY} ${NAT_TABLE_NAME}`, `delete table ${NAT_TABLE_FAMILY} ${NAT_TABLE_NAME}`];
  if (target === undefined) return head.join('\n') + '\n';
  const body: string[] = [`table ${NAT_TABLE_FAMILY} ${NAT_TABLE_NAME} {`];
  const rules: string[] = [];
  for (const fam of [4, 6] as const) {
    const t = fam === 4 ? target.v4 : target.v6;
    if (t === undefined) continue;
    const type = fam === 4 ? 'ipv4_addr' : 'ipv6_addr';
    const proto = fam === 4 ? 'ip' : 'ip6';
    body.push(...setBlock(`nat${fam}-sources`, type, t.sources), ...setBlock(`nat${fam}-pools`, type, t.pools));
    rules.push(
      `\t\t${proto} saddr @nat${fam}-sources ${proto} daddr != @nat${fam}-pools counter ${action(fam, target)}`,
    );
  }
  body.push('\tchain postrouting {', '\t\ttype nat hook postrouting priority srcnat; policy accept;', ...rules, '\t}');
  body.push('}');
  return [...head, ...body].join('\n') + '\n';
}
