// The path-MTU rule: which don't-fragment probes tell whether the MTU this node configured can cross the underlay
// to each peer, in the encapsulation the plan uses to reach it, and what their answers mean.
//
// The rule:
//   - a path is one (peer node, peer underlay address, encapsulation) that some RouteTable entry of this node's view
//     uses (entries of this node are skipped; a peer holding no block has no path yet);
//   - its size is the largest packet the underlay must carry: the tunnel device's MTU plus the outer headers for
//     VXLAN (vxlan.calico + 50, vxlan-v6.calico + 70) and IPIP (tunl0 + 20); the pod MTU for unencapsulated routes
//     (direct, CrossSubnet within the subnet), whose packets cross the underlay as the pod sent them;
//   - a probe is one ICMP echo with DF set (`ping -M do`) of exactly that many bytes on the wire (payload minus the
//     IPv4 28 / IPv6 48 header bytes) to the peer's underlay address — the outer packet itself, so a VXLAN path is
//     judged by what vxlan.calico will put on the wire, not by the inner packet;
//   - the path carries its MTU when that probe is answered. When it is not, the largest size that passes is searched
//     for: a size the kernel names in its refusal (`mtu=1400` from a local interface, `Frag needed … (mtu = 1400)`
//     from a router) is tried first and then one byte above it; otherwise the floor (IPv4 68 / IPv6 1280 bytes, the
//     minimum MTU every link carries) and then halving. A peer that answers nothing at the floor is unreachable, not
//     an MTU problem. At most MAX_PROBES_PER_PATH probes per path per round.
// Inputs: the node name, its view's RouteTable shards, the tunnel devices the kernel target gives (with the MTU the
// agent derived for them) and the pod MTU; probe outcomes. Outputs: the paths, each probe's argv, the verdicts and
// the PathMTU condition + status.pathMTU summary. Pure: no I/O, no clock.
// Why this exists: a wrong MTU is otherwise found when large packets vanish (calico issues #8953, cilium#14339).
import type { TunnelDeviceSpec } from './kernel-model.js';
import { ENCAP_OVERHEAD } from './mtu.js';
import type { RouteShard } from './shard-routes.js';

export type PathEncapsulation = 'vxlan' | 'vxlan-v6' | 'ipip' | 'none';

export interface PathCheck {
  peer: string;
  /** The peer's underlay address (the RouteTable entry's nodeIP): where the encapsulated packets go. */
  address: string;
  family: 4 | 6;
  encapsulation: PathEncapsulation;
  /** The MTU configured for what the path carries: the tunnel device's, or the pod MTU when unencapsulated. */
  mtu: number;
  /** Bytes of the packet the underlay must carry: `mtu` plus the encapsulation's overhead. */
  size: number;
  /** Pools whose routes take this path. Sorted. */
  pools: string[];
}

export interface PathInput {
  nodeName: string;
  shards: readonly RouteShard[];
  /** Tunnel devices as the kernel target plans them (with their derived MTU). */
  devices: readonly TunnelDeviceSpec[];
  podMtu: number;
}

/** Outer header bytes per encapsulation (calico: felix/dataplane/linux/int_dataplane.go ConfigureDefaultMTUs). */
export const PATH_OVERHEAD: Readonly<Record<PathEncapsulation, number>> = {
  vxlan: ENCAP_OVERHEAD['vxlan.calico'],
  'vxlan-v6': ENCAP_OVERHEAD['vxlan-v6.calico'],
  ipip: ENCAP_OVERHEAD.tunl0,
  none: 0,
};

const DEVICE_OF: Readonly<Record<Exclude<PathEncapsulation, 'none'>, TunnelDeviceSpec['name']>> = {
  vxlan: 'vxlan.calico',
  'vxlan-v6': 'vxlan-v6.calico',
  ipip: 'tunl0',
};

/** IPv4 + ICMP headers (20 + 8), IPv6 + ICMPv6 (40 + 8): what `ping -s` does not count. */
export const ECHO_HEADER: Readonly<Record<4 | 6, number>> = { 4: 28, 6: 48 };
/** The smallest MTU every link carries (RFC 791 68, RFC 8200 1280): where the search for a passing size starts. */
export const MIN_LINK_MTU: Readonly<Record<4 | 6, number>> = { 4: 68, 6: 1280 };
// A silent black hole costs one 1 s wait per probe: 16 settle any size up to 9000-byte jumbo frames (2 + log2 8932).
export const MAX_PROBES_PER_PATH = 16;

export function pathKey(c: Pick<PathCheck, 'peer' | 'address' | 'encapsulation'>): string {
  return `${c.peer}|${c.address}|${c.encapsulation}`;
}

/** The paths this node's routes use, one per (peer, address, encapsulation), sorted by peer, address, encapsulation. */
export function pathChecks(input: PathInput): PathCheck[] {
  const deviceMtu = new Map(input.devices.map((d) => [d.name, d.mtu]));
  const out = new Map<string, PathCheck>();
  for (const shard of [...input.shards].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    for (const e of shard.status.entries) {
      if (e.node === input.nodeName) continue;
      const family: 4 | 6 = e.nodeIP.includes(':') ? 6 : 4;
      const encapsulation: PathEncapsulation =
        e.kind === 'direct'
          ? 'none'
          : e.kind === 'ipip'
            ? 'ipip'
            : e.device === 'vxlan-v6.calico'
              ? 'vxlan-v6'
              : 'vxlan';
      // A route whose device is not planned (IPIP without the module, a mode switch half seen) is not programmed:
      // no traffic takes it, so there is nothing to measure.
      const mtu = encapsulation === 'none' ? input.podMtu : deviceMtu.get(DEVICE_OF[encapsulation]);
      if (mtu === undefined || mtu <= 0) continue;
      const key = pathKey({ peer: e.node, address: e.nodeIP, encapsulation });
      const have = out.get(key);
      if (have) {
        if (!have.pools.includes(e.pool)) have.pools = [...have.pools, e.pool].sort();
        continue;
      }
      out.set(key, {
        peer: e.node,
        address: e.nodeIP,
        family,
        encapsulation,
        mtu,
        size: mtu + PATH_OVERHEAD[encapsulation],
        pools: [e.pool],
      });
    }
  }
  return [...out.values()].sort((a, b) => {
    const ka = pathKey(a);
    const kb = pathKey(b);
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  });
}

/** One DF echo of exactly `size` bytes on the wire to `check.address`, waiting at most 1 s for the answer. */
export function probeArgv(check: Pick<PathCheck, 'address' | 'family'>, size: number): string[] {
  const payload = size - ECHO_HEADER[check.family];
  if (!Number.isInteger(size) || payload < 0) throw new RangeError(`probe size ${size} is below the echo headers`);
  return ['ping', `-${check.family}`, '-n', '-M', 'do', '-s', String(payload), '-c', '1', '-W', '1', check.address];
}

export type ProbeOutcome =
  | { kind: 'reply' }
  /** Refused as too big, locally or by a router; `mtu` when the kernel named the size that fits. */
  | { kind: 'too-big'; mtu?: number }
  /** Sent, nothing came back within the wait. */
  | { kind: 'lost' }
  /** The probe could not be sent (no route, ping missing, …). */
  | { kind: 'error'; message: string };

/** What one `ping` run says (exit code 0: answered; 1: no answer; anything else: ping itself failed). */
export function parseProbe(code: number, stdout: string, stderr: string): ProbeOutcome {
  const text = `${stdout}\n${stderr}`;
  const mtu = /\bmtu ?= ?(\d+)/i.exec(text);
  if (code === 0) return { kind: 'reply' };
  if (mtu || /message too long|frag needed|packet too big/i.test(text)) {
    return mtu ? { kind: 'too-big', mtu: Number(mtu[1]) } : { kind: 'too-big' };
  }
  if (code === 1) return { kind: 'lost' };
  const first = stderr.split('\n').find((l) => l.trim() !== '') ?? `exit code ${code}`;
  return { kind: 'error', message: first.trim().slice(0, 256) };
}

/** What the probes of one path have found so far. */
export interface PathSearch {
  /** Largest size answered. */
  passed?: number;
  /** Smallest size refused or lost. */
  failed?: number;
  /** The size the kernel last named as fitting. */
  hint?: number;
  probes: number;
  error?: string;
}

export function startSearch(): PathSearch {
  return { probes: 0 };
}

/** The size to probe next, or undefined when the search is over. */
export function nextProbeSize(check: Pick<PathCheck, 'size' | 'family'>, s: PathSearch): number | undefined {
  if (s.error !== undefined || s.probes >= MAX_PROBES_PER_PATH) return undefined;
  if (s.probes === 0) return check.size;
  if (s.passed !== undefined && s.passed >= check.size) return undefined;
  const floor = Math.min(MIN_LINK_MTU[check.family], check.size);
  const lo = s.passed ?? floor - 1;
  const hi = s.failed ?? check.size + 1;
  if (hi - lo <= 1) return undefined;
  if (s.hint !== undefined) {
    if (s.hint > lo && s.hint < hi) return s.hint;
    // The named size passed: one byte more settles it.
    if (s.hint === lo) return lo + 1;
  }
  // Nothing passed yet: the floor first, so an unreachable peer costs two probes, not a whole search.
  if (s.passed === undefined) return floor;
  return Math.floor((lo + hi) / 2);
}

/** The search after probing `size` and seeing `outcome`. */
export function recordProbe(s: PathSearch, size: number, outcome: ProbeOutcome): PathSearch {
  const next: PathSearch = { ...s, probes: s.probes + 1 };
  switch (outcome.kind) {
    case 'reply':
      if (next.passed === undefined || size > next.passed) next.passed = size;
      // A failure recorded above an answered size stays; one at or below it was a fluke of the moment.
      if (next.failed !== undefined && next.failed <= size) delete next.failed;
      break;
    case 'too-big':
    case 'lost':
      if (next.failed === undefined || size < next.failed) next.failed = size;
      if (outcome.kind === 'too-big' && outcome.mtu !== undefined && outcome.mtu < size) next.hint = outcome.mtu;
      break;
    case 'error':
      next.error = outcome.message;
      break;
  }
  return next;
}

export type PathVerdict =
  { result: 'ok' } | { result: 'too-small'; largestPassed: number } | { result: 'unreachable'; message: string };

export function pathVerdict(check: Pick<PathCheck, 'size'>, s: PathSearch): PathVerdict {
  if (s.passed !== undefined && s.passed >= check.size) return { result: 'ok' };
  if (s.passed !== undefined) return { result: 'too-small', largestPassed: s.passed };
  return { result: 'unreachable', message: s.error ?? 'no answer even to the smallest probe' };
}

export interface PathResult {
  check: PathCheck;
  verdict: PathVerdict;
}

const ENCAP_TEXT: Readonly<Record<PathEncapsulation, string>> = {
  vxlan: 'VXLAN',
  'vxlan-v6': 'VXLAN (IPv6)',
  ipip: 'IPIP',
  none: 'no encapsulation',
};

/** What an operator would change: the FelixConfiguration field behind the MTU, or the host MTU for bare routes. */
const MTU_TEXT: Readonly<Record<PathEncapsulation, string>> = {
  vxlan: 'vxlan.calico MTU (vxlanMTU)',
  'vxlan-v6': 'vxlan-v6.calico MTU (vxlanMTUV6)',
  ipip: 'tunl0 MTU (ipipMTU)',
  none: 'pod MTU',
};

/** One failing path in words, e.g. `node-b 172.18.0.3 VXLAN: vxlan.calico MTU (vxlanMTU) 1450 needs 1500-byte …`. */
export function describeFailure(r: PathResult): string {
  const c = r.check;
  const head = `${c.peer} ${c.address} ${ENCAP_TEXT[c.encapsulation]}`;
  if (r.verdict.result === 'too-small') {
    const fits = r.verdict.largestPassed - PATH_OVERHEAD[c.encapsulation];
    return (
      `${head}: ${MTU_TEXT[c.encapsulation]} ${c.mtu} needs ${c.size}-byte packets, ` +
      `the largest that passed is ${r.verdict.largestPassed} (an MTU of at most ${fits} fits)`
    );
  }
  if (r.verdict.result === 'unreachable') return `${head}: probe failed: ${r.verdict.message}`;
  return `${head}: carries ${c.size}-byte packets`;
}

export interface PathMtuCondition {
  type: 'PathMTU';
  status: 'True' | 'False' | 'Unknown';
  reason: 'PathsCarryMTU' | 'NoPaths' | 'MTUTooLarge' | 'ProbeFailed';
  message: string;
}

/** One failing path as status.pathMTU lists it (the operator summarises these per pool). */
export interface PathMtuFailure {
  peer: string;
  address: string;
  encapsulation: PathEncapsulation;
  mtu: number;
  size: number;
  largestPassed: number;
  pools: string[];
}

export interface PathMtuSummary {
  /** Paths with a verdict. */
  paths: number;
  /** Paths whose configured MTU does not pass (first MAX_LISTED), sorted by peer, address, encapsulation. */
  failing: PathMtuFailure[];
  /** Paths whose probes got no answer at all. */
  unreachable: number;
}

const MAX_LISTED = 64;
const MAX_IN_MESSAGE = 8;

function listed(lines: string[]): string {
  const more = lines.length > MAX_IN_MESSAGE ? `; and ${lines.length - MAX_IN_MESSAGE} more` : '';
  return lines.slice(0, MAX_IN_MESSAGE).join('; ') + more;
}

/**
 * The PathMTU condition from every path's verdict: False when some path cannot carry its MTU (naming each), else
 * Unknown when some peer could not be probed at all, else True. Deterministic for equal inputs, so an unchanged
 * result writes nothing.
 */
export function pathMtuCondition(results: readonly PathResult[]): PathMtuCondition {
  const tooSmall = results.filter((r) => r.verdict.result === 'too-small');
  const unreachable = results.filter((r) => r.verdict.result === 'unreachable');
  if (tooSmall.length > 0) {
    return {
      type: 'PathMTU',
      status: 'False',
      reason: 'MTUTooLarge',
      message:
        `${tooSmall.length} of ${results.length} paths cannot carry the configured MTU: ` +
        listed(tooSmall.map(describeFailure)),
    };
  }
  if (unreachable.length > 0) {
    return {
      type: 'PathMTU',
      status: 'Unknown',
      reason: 'ProbeFailed',
      message: `${unreachable.length} of ${results.length} paths could not be probed: ${listed(unreachable.map(describeFailure))}`,
    };
  }
  if (results.length === 0) {
    return { type: 'PathMTU', status: 'True', reason: 'NoPaths', message: 'no route to another node to probe' };
  }
  const sizes = [...new Set(results.map((r) => `${ENCAP_TEXT[r.check.encapsulation]} ${r.check.size}`))].sort();
  const peers = new Set(results.map((r) => r.check.peer)).size;
  return {
    type: 'PathMTU',
    status: 'True',
    reason: 'PathsCarryMTU',
    message: `all ${results.length} paths to ${peers} peers carry the configured MTU (bytes on the wire: ${sizes.join(', ')})`,
  };
}

export function pathMtuSummary(results: readonly PathResult[]): PathMtuSummary {
  const failing: PathMtuFailure[] = [];
  for (const r of results) {
    if (r.verdict.result !== 'too-small') continue;
    const { peer, address, encapsulation, mtu, size, pools } = r.check;
    failing.push({ peer, address, encapsulation, mtu, size, largestPassed: r.verdict.largestPassed, pools });
  }
  failing.sort((a, b) => (pathKey(a) < pathKey(b) ? -1 : pathKey(a) > pathKey(b) ? 1 : 0));
  return {
    paths: results.length,
    failing: failing.slice(0, MAX_LISTED),
    unreachable: results.filter((r) => r.verdict.result === 'unreachable').length,
  };
}

/**
 * Which paths to probe this round, at most `limit`: paths never probed (new peers, a changed MTU) first, then the
 * ones probed longest ago — so each round's work is bounded and every path is looked at again in turn.
 */
export function pickPaths(
  checks: readonly PathCheck[],
  lastProbed: ReadonlyMap<string, number>,
  limit: number,
): PathCheck[] {
  const order = checks.map((c, i) => ({ c, i, at: lastProbed.get(probeIdentity(c)) ?? -Infinity }));
  order.sort((a, b) => a.at - b.at || a.i - b.i);
  return order.slice(0, Math.max(0, limit)).map((x) => x.c);
}

/** A path's identity for its results: the same peer and encapsulation at another MTU is a new path to probe. */
export function probeIdentity(c: Pick<PathCheck, 'peer' | 'address' | 'encapsulation' | 'size'>): string {
  return `${pathKey(c)}|${c.size}`;
}
