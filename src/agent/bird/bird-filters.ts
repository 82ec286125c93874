// A BGPFilter as BIRD functions — the statements Calico's confd writes (calico: confd/pkg/resource/template/
// template_funcs.go BGPFilterBIRDFuncs / filterStatement / BGPFilterFunctionName, and bgp_processor.go
// buildImportFilter / buildExportFilter for the calls), which BIRD 2 parses as they are:
//   function 'bgp_<name>_importFilterV4'() { if ((net ~ 10.0.0.0/8)&&(...)) then { accept; } ... }
// one function per filter, direction and family that has rules; a rule's conditions are ANDed (CIDR with its match
// operator and prefix-length range, source RemotePeers, interface, community, AS-path prefix, priority), its body is
// its operations then its action; a rule with a peerType runs only on iBGP (`is_same_as`) or eBGP sessions, and a
// function holding such a rule takes that flag. Rules run in order; a route no rule decides falls through to the
// session's own filter (import: accept; export: calico_export_to_bgp_peers).
// Names longer than BIRD's 64-character symbols are cut and suffixed with a hash of the whole name, as Calico does.
// Invariants: pure; every value written is validated here, so a rule that cannot be written faithfully makes its
// function reject everything (and is reported) instead of letting routes through.
import { createHash } from 'node:crypto';
import type { BgpFilterRule, PlannedBgpFilter } from '../../api/node-dataplane.js';
import { formatCidr, tryParseCidr } from '../../net/cidr.js';

/** 2^31-1: Calico converts route priority to and from bgp_local_pref as `BIRD_INT_MAX - x`. */
export const BIRD_INT_MAX = 2147483647;
const MAX_SYMBOL = 64;

export type Direction = 'import' | 'export';

/** Calico's TruncateAndHashName: names over `max` keep their start and end in `_` + 16 upper-case sha256 hex digits. */
export function truncateAndHash(name: string, max: number): string {
  if (name.length <= max) return name;
  const hash = createHash('sha256').update(name, 'utf8').digest('hex').toUpperCase().slice(0, 16);
  return `${name.slice(0, max - 17)}_${hash}`;
}

/** `'bgp_<name>_importFilterV4'` (quoted: Kubernetes names hold `-` and `.`). */
export function filterFunctionName(filter: string, direction: Direction, family: 4 | 6): string {
  const fixed = `bgp__${direction}FilterV${family}`;
  return `'bgp_${truncateAndHash(filter, MAX_SYMBOL - fixed.length)}_${direction}FilterV${family}'`;
}

export function rulesOf(f: PlannedBgpFilter, direction: Direction, family: 4 | 6): readonly BgpFilterRule[] {
  const key = `${direction}V${family}` as 'importV4' | 'exportV4' | 'importV6' | 'exportV6';
  return f[key] ?? [];
}

function takesPeerType(rules: readonly BgpFilterRule[]): boolean {
  return rules.some((r) => r.peerType !== undefined);
}

/** The call a session's filter makes, or undefined when the filter has no rules for that direction and family. */
export function filterCall(
  f: PlannedBgpFilter,
  direction: Direction,
  family: 4 | 6,
  sameAS: boolean,
): string | undefined {
  const rules = rulesOf(f, direction, family);
  if (rules.length === 0) return undefined;
  return `${filterFunctionName(f.name, direction, family)}(${takesPeerType(rules) ? String(sameAS) : ''});`;
}

const OPERATORS: Record<string, string> = { Equal: '=', NotEqual: '!=', In: '~', NotIn: '!~' };
const COMMUNITY = /^(\d{1,10}):(\d{1,10})(?::(\d{1,10}))?$/;
const INTERFACE = /^[a-zA-Z0-9_.*-]{1,15}$/;
/** What a Kubernetes object name may hold: nothing that ends the quoted BIRD symbol. */
export const FILTER_NAME = /^[a-zA-Z0-9._-]{1,253}$/;

function uint(n: unknown, max: number): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= max;
}

function communityTuple(value: string): string | undefined {
  const m = COMMUNITY.exec(value);
  if (!m) return undefined;
  const parts = [m[1], m[2], m[3]].filter((x): x is string => x !== undefined).map(Number);
  const max = parts.length === 2 ? 65535 : 4294967295;
  if (!parts.every((p) => p <= max)) return undefined;
  return `(${parts.join(', ')})`;
}

function communityAttr(value: string): 'bgp_community' | 'bgp_large_community' {
  return value.split(':').length === 2 ? 'bgp_community' : 'bgp_large_community';
}

/** One rule as confd's filterStatement writes it; throws with the field when a value cannot be written. */
export function ruleStatement(r: BgpFilterRule, family: 4 | 6): string {
  if (r.action !== 'Accept' && r.action !== 'Reject') throw new Error(`action: ${JSON.stringify(r.action)}`);
  const conditions: string[] = [];
  if (r.cidr !== undefined && r.cidr !== '') {
    const op = r.matchOperator === undefined ? undefined : OPERATORS[r.matchOperator];
    if (op === undefined) throw new Error(`matchOperator: ${JSON.stringify(r.matchOperator)} with cidr`);
    const c = tryParseCidr(r.cidr);
    if (c === undefined || c.family !== family)
      throw new Error(`cidr: ${JSON.stringify(r.cidr)} is not an IPv${family} CIDR`);
    // Written as given (confd writes `9000::0/64` as it is): the parse above vouches for it.
    let match = /^[0-9a-fA-F.:]+\/\d{1,3}$/.test(r.cidr) ? r.cidr : formatCidr(c);
    if (r.prefixLength !== undefined) {
      const bits = family === 4 ? 32 : 128;
      const min = Math.max(c.prefix, r.prefixLength.min ?? 0);
      const max = Math.min(bits, r.prefixLength.max ?? bits);
      if (!uint(min, bits) || !uint(max, bits)) throw new Error('prefixLength: out of range');
      match = `[ ${match}{${min},${max}} ]`;
    }
    conditions.push(`(net ${op} ${match})`);
  }
  if (r.source !== undefined) {
    if (r.source !== 'RemotePeers') throw new Error(`source: ${JSON.stringify(r.source)}`);
    conditions.push('((defined(source))&&(source ~ [ RTS_BGP ]))');
  }
  if (r.interface !== undefined && r.interface !== '') {
    if (!INTERFACE.test(r.interface)) throw new Error(`interface: ${JSON.stringify(r.interface)}`);
    conditions.push(`((defined(ifname))&&(ifname ~ "${r.interface}"))`);
  }
  if (r.communities !== undefined) {
    const value = r.communities.values[0] ?? '';
    const tuple = communityTuple(value);
    if (tuple === undefined) throw new Error(`communities.values[0]: ${JSON.stringify(value)}`);
    conditions.push(`(${tuple} ~ ${communityAttr(value)})`);
  }
  if (r.asPathPrefix !== undefined && r.asPathPrefix.length > 0) {
    if (!r.asPathPrefix.every((a) => uint(a, 4294967295))) throw new Error('asPathPrefix: not AS numbers');
    conditions.push(`(bgp_path ~ [= ${r.asPathPrefix.join(' ')} * =])`);
  }
  if (r.priority !== undefined) {
    if (!uint(r.priority, BIRD_INT_MAX - 1)) throw new Error(`priority: ${JSON.stringify(r.priority)}`);
    conditions.push(`(defined(bgp_local_pref)&&(bgp_local_pref = ${BIRD_INT_MAX - r.priority}))`);
  }
  const body: string[] = [];
  for (const op of r.operations ?? []) {
    if (op.addCommunity !== undefined) {
      const tuple = communityTuple(op.addCommunity.value);
      if (tuple === undefined) throw new Error(`operations: addCommunity ${JSON.stringify(op.addCommunity.value)}`);
      body.push(`${communityAttr(op.addCommunity.value)}.add(${tuple});`);
    } else if (op.prependASPath !== undefined) {
      const prefix = op.prependASPath.prefix;
      if (!prefix.every((a) => uint(a, 4294967295))) throw new Error('operations: prependASPath not AS numbers');
      // BIRD prepends one AS at a time: the last prepended ends up first, so walk the list backwards.
      for (let i = prefix.length - 1; i >= 0; i--) body.push(`bgp_path.prepend(${prefix[i]});`);
    } else if (op.setPriority !== undefined) {
      if (!uint(op.setPriority.value, BIRD_INT_MAX - 1)) throw new Error('operations: setPriority out of range');
      body.push(`bgp_local_pref = ${BIRD_INT_MAX - op.setPriority.value};`);
    } else {
      throw new Error('operations: an operation sets nothing');
    }
  }
  body.push(`${r.action.toLowerCase()};`);
  const text = conditions.length > 0 ? `if (${conditions.join('&&')}) then { ${body.join(' ')} }` : body.join(' ');
  if (r.peerType === 'iBGP') return `if (is_same_as) then { ${text} }`;
  if (r.peerType === 'eBGP') return `if (!is_same_as) then { ${text} }`;
  if (r.peerType !== undefined) throw new Error(`peerType: ${JSON.stringify(r.peerType)}`);
  return text;
}

export interface FilterFunctions {
  lines: string[];
  /** `rule <direction><V4|V6>[i]: what is wrong`, for each rule that could not be written. */
  problems: string[];
}

/** The functions of the given filters for one family, as confd's template lists them. */
export function filterFunctions(filters: readonly PlannedBgpFilter[], family: 4 | 6): FilterFunctions {
  const lines: string[] = [];
  const problems: string[] = [];
  for (const f of filters) {
    const directions = (['import', 'export'] as const).filter((d) => rulesOf(f, d, family).length > 0);
    if (directions.length === 0) continue;
    if (!FILTER_NAME.test(f.name)) {
      problems.push(`name: ${JSON.stringify(f.name)} is not a Kubernetes object name`);
      continue;
    }
    lines.push(`# v${family} BGPFilter ${f.name}`);
    for (const d of directions) {
      const rules = rulesOf(f, d, family);
      const body: string[] = [];
      rules.forEach((r, i) => {
        try {
          body.push(`  ${ruleStatement(r, family)}`);
        } catch (err) {
          problems.push(`${d}V${family}[${i}].${(err as Error).message}`);
        }
      });
      const args = takesPeerType(rules) ? 'bool is_same_as' : '';
      lines.push(`function ${filterFunctionName(f.name, d, family)}(${args}) {`);
      // A rule left out could let through what it was written to stop: reject everything instead.
      if (body.length < rules.length) lines.push('  reject;');
      else lines.push(...body);
      lines.push('}');
    }
  }
  if (lines.length === 0) lines.push(`# No v${family} BGPFilters configured`);
  return { lines, problems };
}
