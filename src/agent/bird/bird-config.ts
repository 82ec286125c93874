// Renders a node's BIRD 2 configuration from its planned BGP section.
//
// Inputs: own node name, NodeDataplane status.desired (bgp, blocks, pool CIDRs, revision), the view's node records
// (mesh peers) and the BGP passwords, already read from their Secrets by the caller (keyed by secretRefKey).
// Output: the config text, the sessions it declares (for status), and issues.
// Shape: what Calico's confd writes (calico: node/filesystem/etc/calico/confd/templates/bird*.cfg.template with
// confd/pkg/backends/calico/bgp_processor.go; goldens under confd/tests/compiled_templates/), translated to BIRD 2 —
// one daemon for both families, so every function, filter and template of the IPv6 half carries a `6` suffix, and
// per-session import/export filters and next-hop options sit in the session's channel block. For each family:
// apply_communities(); a static protocol with this node's blocks, Service addresses, borrowed addresses and the
// routes to peers given reachableBy; calico_aggr(); reject_local_routes(); calico_export_to_bgp_peers(internal
// peer?); the kernel filter; BGPFilter functions; the BGP template; and the sessions — node-to-node mesh (the peering
// rule in src/plan/bgp-peers.ts, shared with `tabby render`), global and node-specific — sorted by name, each with
// confd's import filter (BGPFilter calls, priority preference, accept) and export filter (priority bookkeeping,
// BGPFilter calls, calico_export_to_bgp_peers(peer AS = local AS), reject).
// One deliberate difference (ARCHITECTURE.md "One writer per route"): the kernel protocol imports nothing and its
// filter rejects every pool route, because the agent programs all cluster routes; BIRD only speaks BGP. What this
// node announces comes from the static protocol (never from the kernel), and the kernel filter keeps it out of the
// kernel.
// Invariants: pure; equal inputs give byte-equal text (so "changed" is a string comparison); every value written
// into the file is validated (addresses parsed, names reduced to BIRD symbol characters, passwords checked) so no
// input can inject configuration.
import type {
  NodeDesired,
  PlannedBgp,
  PlannedBgpFilter,
  PlannedBgpPeer,
  SecretKeyRef,
} from '../../api/node-dataplane.js';
import type { ViewNode } from '../../api/route-table.js';
import { tryParseCidr, formatCidr } from '../../net/cidr.js';
import { tryParseIP, formatIP } from '../../net/ip.js';
import { meshPeers } from '../../plan/bgp-peers.js';
import type { AgentIssue } from '../kernel-target.js';
import { BIRD_INT_MAX, FILTER_NAME, filterCall, filterFunctions } from './bird-filters.js';

export type BgpSessionType = 'node-to-node mesh' | 'global' | 'node specific';

export interface RenderedSession {
  /** BIRD protocol name. */
  name: string;
  peerIP: string;
  port?: number;
  asNumber: number;
  type: BgpSessionType;
  family: 4 | 6;
}

export interface BirdConfigInput {
  nodeName: string;
  desired: NodeDesired;
  viewNodes: readonly ViewNode[];
  /** Secret values by secretRefKey(ref); the caller fills in the namespace it resolved an absent one to. */
  passwords?: ReadonlyMap<string, string>;
}

export interface BirdConfig {
  text: string;
  sessions: RenderedSession[];
  issues: AgentIssue[];
}

/** Key of a password in BirdConfigInput.passwords: `<namespace>/<name>/<key>` (namespace '' when absent). */
export function secretRefKey(ref: { name: string; key: string; namespace?: string | undefined }): string {
  return `${ref.namespace ?? ''}/${ref.name}/${ref.key}`;
}

/** A BIRD symbol: letters, digits and underscores, not starting with a digit. */
export function birdSymbol(name: string): string {
  const s = name.replace(/[^A-Za-z0-9_]/g, '_');
  return /^[A-Za-z_]/.test(s) ? s : `p_${s}`;
}

/** Calico's protocol-name form of an address: `10.0.0.1` → `10_0_0_1`, `fd00::1` → `fd00__1`. */
export function addressId(ip: string): string {
  return ip.replace(/[.:]/g, '_');
}

/** Felix's and BIRD's default route priority (BGPConfiguration ipv4/ipv6NormalRoutePriority). */
export const DEFAULT_NORMAL_ROUTE_PRIORITY = 1024;

/** Interfaces whose routes iBGP peers never get: Felix's tunnels (calico: bgp_processor.go processIPPools). */
const FELIX_TUNNEL_INTERFACES = ['*.cali', '*.calico', 'tunl0'];

interface FamilyContext {
  fam: 4 | 6;
  /** '' for IPv4, '6' for IPv6: suffix of every function, filter and template name of the family. */
  sfx: string;
  ch: 'ipv4' | 'ipv6';
  nodeIP: string;
  /** Own blocks, every length (calico_aggr), and those that get a blackhole (not /32, /128). */
  blocks: string[];
  staticRoutes: string[];
  borrowed: string[];
  pools: string[];
  rejected: string[];
  serviceRejects: string[];
  reflectLB: string[];
  reflectExternal: string[];
  communities: { cidr: string; statements: string[] }[];
  reachable: { type: 'global' | 'node'; peerIP: string; via: string }[];
  priority: number;
}

function ipOnly(text: string | undefined): string | undefined {
  if (text === undefined || text === '') return undefined;
  const slash = text.indexOf('/');
  const ip = tryParseIP(slash < 0 ? text : text.slice(0, slash));
  return ip === undefined ? undefined : formatIP(ip);
}

/** An IP or CIDR (host bits allowed) as the canonical prefix of its network; undefined when it is neither. */
function prefixOf(text: string): { cidr: string; family: 4 | 6 } | undefined {
  const c = tryParseCidr(text.includes('/') ? text : `${text}/${text.includes(':') ? 128 : 32}`);
  if (c !== undefined) return { cidr: formatCidr(c), family: c.family };
  const ip = ipOnly(text.split('/')[0]);
  const len = Number(text.split('/')[1]);
  if (ip === undefined || !Number.isInteger(len)) return undefined;
  const masked = tryParseCidr(`${ip}/${len}`);
  return masked ? { cidr: formatCidr(masked), family: masked.family } : undefined;
}

/** confd's key order for /staticroutes and block affinities: the CIDR with `/` written as `-`, as text. */
function byKey(a: string, b: string): number {
  const x = a.replace('/', '-');
  const y = b.replace('/', '-');
  return x < y ? -1 : x > y ? 1 : 0;
}

function debugMode(severity: string | undefined): { device?: string; peer?: string } {
  const s = (severity ?? 'info').toLowerCase();
  if (s === 'none') return {};
  if (s === 'debug') return { device: 'debug all;', peer: 'debug all;' };
  return { device: 'debug { states };', peer: 'debug { states, routes, filters, events };' };
}

const SESSION_TYPES: Record<PlannedBgpPeer['type'], BgpSessionType> = {
  mesh: 'node-to-node mesh',
  global: 'global',
  node: 'node specific',
  routeReflector: 'node specific',
  routeReflectorClient: 'node specific',
};

export function renderBirdConfig(input: BirdConfigInput): BirdConfig {
  const { desired, nodeName } = input;
  const issues: AgentIssue[] = [];
  const sessions: RenderedSession[] = [];
  const bgp = desired.bgp;
  if (bgp === undefined) {
    return { text: `# BGP is off for node ${nodeName}.\n`, sessions, issues };
  }
  const bad = (path: string, message: string, object?: string) =>
    issues.push({ code: 'bgp', severity: 'error', message: `NodeDataplane ${nodeName}: ${path}: ${message}`, object });

  const routerID = ipOnly(bgp.routerID);
  const lines: string[] = [
    `# Generated by tabby-agent for node ${birdSymbol(nodeName)} (NodeDataplane revision ${desired.revision.replace(/[^A-Za-z0-9:._-]/g, '_')}).`,
    '# Do not edit: the agent rewrites this file and reloads BIRD (birdc configure) when the plan changes.',
    '',
  ];
  if (routerID === undefined || routerID.includes(':')) {
    bad('status.desired.bgp.routerID', `${JSON.stringify(bgp.routerID)} is not an IPv4 address`);
  } else lines.push(`router id ${routerID};`);
  lines.push('timeformat protocol iso long;', '');

  const contexts = familyContexts(input, bad);
  const password = (ref: SecretKeyRef | undefined, where: string, object: string): string | undefined => {
    if (ref === undefined) return undefined;
    const v = input.passwords?.get(secretRefKey(ref));
    if (v === undefined) {
      bad(
        where,
        `Secret ${ref.namespace ?? '(agent namespace)'}/${ref.name} key ${ref.key} is not available; session has no password`,
        object,
      );
      return undefined;
    }
    if (/["\n\r]/.test(v)) {
      bad(
        where,
        `the password in Secret ${ref.name} key ${ref.key} contains a quote or a line break, which BIRD cannot express`,
        object,
      );
      return undefined;
    }
    return v;
  };

  // Every session of the node — mesh from the view's records (the plan's rule), explicit ones from the plan — each
  // validated once, sorted by name as confd sorts them.
  interface Session {
    p: PlannedBgpPeer;
    ip: string;
    fam: 4 | 6;
    where: string;
  }
  const all: Session[] = [];
  for (const p of meshPeers(nodeName, bgp, input.viewNodes))
    all.push({ p, ip: p.peerIP, fam: famOf(p.peerIP), where: 'mesh' });
  bgp.peers.forEach((p, index) => {
    const ip = ipOnly(p.peerIP);
    const where = `status.desired.bgp.peers[${index}]`;
    if (ip === undefined || p.peerIP.includes('/')) {
      bad(`${where}.peerIP`, `${JSON.stringify(p.peerIP)} is not an IP address`, `peer ${p.name}`);
      return;
    }
    if (!contexts.some((c) => c.fam === famOf(ip))) {
      bad(
        `${where}.peerIP`,
        `this node has no IPv${famOf(ip)} BGP address, so peer ${ip} is skipped`,
        `peer ${p.name}`,
      );
      return;
    }
    all.push({ p, ip, fam: famOf(ip), where });
  });
  all.sort((a, b) => (a.p.name < b.p.name ? -1 : a.p.name > b.p.name ? 1 : 0));
  for (const ctx of contexts) {
    for (const { p, ip, fam } of all) {
      if (fam !== ctx.fam || p.reachableBy === undefined || p.type === 'mesh') continue;
      const via = ipOnly(p.reachableBy);
      if (via !== undefined && famOf(via) === fam)
        ctx.reachable.push({ type: p.type === 'global' ? 'global' : 'node', peerIP: ip, via });
    }
  }

  const filters = new Map<string, PlannedBgpFilter>();
  for (const f of bgp.filters ?? []) if (FILTER_NAME.test(f.name)) filters.set(f.name, f);
  const debug = debugMode(bgp.logSeverityScreen);
  const rrCluster = bgp.routeReflectorClusterID === undefined ? undefined : ipOnly(bgp.routeReflectorClusterID);
  if (bgp.routeReflectorClusterID !== undefined && (rrCluster === undefined || rrCluster.includes(':'))) {
    bad(
      'status.desired.bgp.routeReflectorClusterID',
      `${JSON.stringify(bgp.routeReflectorClusterID)} is not an IPv4 address`,
    );
  }

  for (const ctx of contexts) {
    lines.push(`# ================ IPv${ctx.fam} ================`, '');
    lines.push(...communitiesFunction(ctx), ...aggregationPart(ctx), ...ipamPart(ctx, rrCluster !== undefined));
  }
  lines.push(...kernelPart(contexts, bgp, debug.device, bad));

  const listen: string[] = [];
  if (bgp.bindMode === 'NodeIP') listen.push('%NODEIP%');
  if (bgp.listenPort !== undefined) listen.push(`port ${bgp.listenPort}`);
  if (!contexts.some((c) => c.fam === 4)) lines.push('# IPv4 disabled on this node.', '');
  if (!contexts.some((c) => c.fam === 6)) lines.push('# IPv6 disabled on this node.', '');

  for (const ctx of contexts) {
    const tmpl = `bgp_template${ctx.sfx}`;
    lines.push('# Template for all BGP clients', `template bgp ${tmpl} {`);
    if (debug.peer !== undefined) lines.push(`  ${debug.peer}`);
    lines.push('  description "Connection to BGP peer";');
    const local = listen.map((x) => (x === '%NODEIP%' ? ctx.nodeIP : x));
    lines.push(`  local ${[...local, `as ${bgp.asNumber}`].join(' ')};`);
    lines.push('  graceful restart;  # See comment in kernel section about graceful restart.');
    lines.push('  connect delay time 2;', '  connect retry time 5;', '  error wait time 5,30;');
    lines.push(
      `  ${ctx.ch} {`,
      '    gateway recursive; # This should be the default, but just in case.',
      '    add paths on;',
    );
    lines.push('  };', '}', '');

    lines.push('# -------------- BGP Filters ------------------');
    const fns = filterFunctions([...filters.values()], ctx.fam);
    for (const problem of fns.problems)
      bad('status.desired.bgp.filters', `BGPFilter ${problem}; its function rejects every route`);
    lines.push(...fns.lines);

    const mine = all.filter((s) => s.fam === ctx.fam && s.ip !== ctx.nodeIP);
    if (mine.length === 0) {
      lines.push('# No BGP peers configured for this node', '');
      continue;
    }
    lines.push('# BGP Protocol Configurations');
    for (const { p, ip, where } of mine) {
      const name = birdSymbol(p.name);
      const localAS = p.localASNumber ?? bgp.asNumber;
      const sameAS = p.asNumber === localAS;
      lines.push(`protocol bgp ${name} from ${tmpl} {`);
      if (p.localASNumber !== undefined) lines.push(`  local as ${p.localASNumber};`);
      lines.push(`  neighbor ${ip}${p.port !== undefined ? ` port ${p.port}` : ''} as ${p.asNumber};`);
      const src = ipOnly(p.sourceAddress);
      if (src !== undefined) lines.push(`  source address ${src};  # The local address we use for the TCP connection`);
      if (p.ttlSecurity !== undefined && p.ttlSecurity > 0)
        lines.push('  ttl security on;', `  multihop ${p.ttlSecurity};`);
      else lines.push('  ttl security off;', '  multihop;');
      const calls = (dir: 'import' | 'export') =>
        (p.filters ?? [])
          .map((n) => filters.get(n))
          .filter((f): f is PlannedBgpFilter => f !== undefined)
          .map((f) => filterCall(f, dir, ctx.fam, sameAS))
          .filter((c): c is string => c !== undefined);
      lines.push(`  ${ctx.ch} {`, '    import filter {');
      for (const c of calls('import')) lines.push(`      ${c}`);
      lines.push(
        `      if (defined(bgp_local_pref)&&(bgp_local_pref > ${BIRD_INT_MAX - ctx.priority})) then`,
        '        preference = 200;',
        '      accept;',
        '    };',
        '    export filter {',
        '      if (defined(source) && source = RTS_BGP && defined(bgp_local_pref)) then {',
        `        krt_metric = ${BIRD_INT_MAX} - bgp_local_pref;`,
        '      } else {',
        `        if (!defined(krt_metric)) then { krt_metric = ${ctx.priority}; }`,
        `        bgp_local_pref = ${BIRD_INT_MAX} - krt_metric;`,
        '      }',
      );
      for (const c of calls('export')) lines.push(`      ${c}`);
      lines.push(
        `      calico_export_to_bgp_peers${ctx.sfx}(${String(sameAS)});`,
        '      reject;',
        '    };  # Only want to export routes for workloads.',
      );
      if (p.nextHopMode === 'Keep') lines.push('    next hop keep;');
      else if (p.nextHopMode === 'Self') lines.push('    next hop self;');
      lines.push('  };');
      if (p.passive) lines.push('  passive on;');
      if (p.maxRestartTimeSeconds !== undefined) lines.push(`  graceful restart time ${p.maxRestartTimeSeconds};`);
      if (p.keepaliveTimeSeconds !== undefined) lines.push(`  keepalive time ${p.keepaliveTimeSeconds};`);
      if (p.routeReflectorClient && rrCluster !== undefined) {
        if (sameAS) lines.push('  rr client;', `  rr cluster id ${rrCluster};`);
        else
          bad(
            `${where}.routeReflectorClient`,
            `peer AS ${p.asNumber} differs from ${localAS}: only iBGP peers can be route reflector clients`,
            `peer ${p.name}`,
          );
      }
      const pw = password(
        p.passwordSecretRef,
        p.type === 'mesh' ? 'status.desired.bgp.meshPasswordSecretRef' : `${where}.passwordSecretRef`,
        p.type === 'mesh' ? 'mesh' : `peer ${p.name}`,
      );
      if (pw !== undefined) lines.push(`  password "${pw}";`);
      if (p.numAllowedLocalASNumbers !== undefined && p.numAllowedLocalASNumbers > 0) {
        lines.push(`  allow local as ${p.numAllowedLocalASNumbers};`);
      }
      lines.push('}', '');
      const s: RenderedSession = {
        name,
        peerIP: ip,
        asNumber: p.asNumber,
        type: SESSION_TYPES[p.type],
        family: ctx.fam,
      };
      if (p.port !== undefined) s.port = p.port;
      sessions.push(s);
    }
  }
  return { text: lines.join('\n') + '\n', sessions, issues };
}

function famOf(ip: string): 4 | 6 {
  return ip.includes(':') ? 6 : 4;
}

type Bad = (path: string, message: string, object?: string) => void;

function familyContexts(input: BirdConfigInput, bad: Bad): FamilyContext[] {
  const { desired } = input;
  const bgp = desired.bgp as PlannedBgp;
  const contexts: FamilyContext[] = [];
  const v4IP = ipOnly(bgp.ipv4Address) ?? ipOnly(desired.nodeAddress?.ipv4);
  const v6IP = ipOnly(bgp.ipv6Address) ?? ipOnly(desired.nodeAddress?.ipv6);
  for (const [fam, nodeIP] of [
    [4, v4IP],
    [6, v6IP],
  ] as const) {
    if (nodeIP === undefined) continue;
    const ctx: FamilyContext = {
      fam,
      sfx: fam === 4 ? '' : '6',
      ch: fam === 4 ? 'ipv4' : 'ipv6',
      nodeIP,
      blocks: [],
      staticRoutes: [],
      borrowed: [],
      pools: [],
      rejected: [],
      serviceRejects: [],
      reflectLB: [],
      reflectExternal: [],
      communities: [],
      reachable: [],
      priority:
        (fam === 4 ? bgp.normalRoutePriority?.ipv4 : bgp.normalRoutePriority?.ipv6) ?? DEFAULT_NORMAL_ROUTE_PRIORITY,
    };
    const collect = (list: readonly string[] | undefined, into: string[], path: string) =>
      (list ?? []).forEach((text, i) => {
        const p = prefixOf(text);
        if (p === undefined) {
          if (fam === 4) bad(`${path}[${i}]`, `${JSON.stringify(text)} is not an IP address or CIDR`);
          return;
        }
        if (p.family === fam && !into.includes(p.cidr)) into.push(p.cidr);
      });
    collect(
      desired.blocks.map((b) => b.cidr),
      ctx.blocks,
      'status.desired.blocks',
    );
    bgp.exportPrefixes.forEach((p, i) => {
      const c = tryParseCidr(p.cidr);
      if (c === undefined) {
        if (fam === 4)
          bad(`status.desired.bgp.exportPrefixes[${i}].cidr`, `${JSON.stringify(p.cidr)} is not a valid CIDR`);
        return;
      }
      if (c.family !== fam) return;
      const cidr = formatCidr(c);
      if (p.origin === 'block') {
        if (!ctx.blocks.includes(cidr)) ctx.blocks.push(cidr);
      } else if (p.origin === 'borrowed') {
        if (!ctx.borrowed.includes(cidr)) ctx.borrowed.push(cidr);
      } else if (!ctx.staticRoutes.includes(cidr)) ctx.staticRoutes.push(cidr);
    });
    collect(desired.natOutgoing.allPoolCidrs, ctx.pools, 'status.desired.natOutgoing.allPoolCidrs');
    collect(bgp.rejectPrefixes, ctx.rejected, 'status.desired.bgp.rejectPrefixes');
    collect(bgp.serviceRejectPrefixes, ctx.serviceRejects, 'status.desired.bgp.serviceRejectPrefixes');
    collect(
      bgp.reflectedServiceRanges?.loadBalancerIPs,
      ctx.reflectLB,
      'status.desired.bgp.reflectedServiceRanges.loadBalancerIPs',
    );
    collect(
      bgp.reflectedServiceRanges?.externalIPs,
      ctx.reflectExternal,
      'status.desired.bgp.reflectedServiceRanges.externalIPs',
    );
    (bgp.communities ?? []).forEach((rule, i) => {
      const p = prefixOf(rule.cidr);
      if (p === undefined || p.family !== fam) return;
      const statements: string[] = [];
      rule.communities.forEach((v, j) => {
        const m = /^(\d{1,10}):(\d{1,10})(?::(\d{1,10}))?$/.exec(v);
        if (!m) {
          bad(
            `status.desired.bgp.communities[${i}].communities[${j}]`,
            `${JSON.stringify(v)} is not aa:nn or aa:nn:mm`,
          );
          return;
        }
        statements.push(
          m[3] === undefined
            ? `bgp_community.add((${m[1]}, ${m[2]}));`
            : `bgp_large_community.add((${m[1]}, ${m[2]}, ${m[3]}));`,
        );
      });
      if (statements.length > 0) ctx.communities.push({ cidr: p.cidr, statements });
    });
    ctx.blocks.sort(byKey);
    ctx.staticRoutes.sort(byKey);
    ctx.borrowed.sort(byKey);
    ctx.pools.sort();
    ctx.rejected.sort();
    ctx.serviceRejects.sort(byKey);
    contexts.push(ctx);
  }
  return contexts;
}

/** calico: bird.cfg.template apply_communities. */
function communitiesFunction(ctx: FamilyContext): string[] {
  const out = [`function apply_communities${ctx.sfx} ()`, '{'];
  for (const c of ctx.communities) {
    out.push(`  if ( net ~ ${c.cidr} ) then {`, ...c.statements.map((s) => `    ${s}`), '  }');
  }
  out.push('}', '');
  return out;
}

/** calico: bird_aggr.cfg.template — this node's announcements as static routes, and calico_aggr(). */
function aggregationPart(ctx: FamilyContext): string[] {
  const hostLength = ctx.fam === 4 ? '/32' : '/128';
  const blackholed = ctx.blocks.filter((b) => !b.endsWith(hostLength));
  const out: string[] = [];
  const global = ctx.reachable.filter((r) => r.type === 'global');
  const node = ctx.reachable.filter((r) => r.type === 'node');
  if (blackholed.length + ctx.staticRoutes.length + ctx.borrowed.length + ctx.reachable.length === 0) {
    out.push(`# No IP blocks or static routes for this host (IPv${ctx.fam}).`, '');
  } else {
    out.push(`protocol static static${ctx.fam} {`, `  ${ctx.ch};`);
    if (blackholed.length > 0)
      out.push('  # IP blocks for this host.', ...blackholed.map((b) => `  route ${b} blackhole;`));
    if (ctx.staticRoutes.length > 0)
      out.push('  # Static routes.', ...ctx.staticRoutes.map((b) => `  route ${b} blackhole;`));
    // Tabby: BIRD learns nothing from the kernel, so an address this node borrowed is announced from here.
    if (ctx.borrowed.length > 0) {
      out.push(
        '  # Addresses borrowed from blocks of other nodes.',
        ...ctx.borrowed.map((b) => `  route ${b} blackhole;`),
      );
    }
    const bits = ctx.fam === 4 ? 32 : 128;
    if (global.length > 0) {
      out.push(
        '  # Static routes needed for global BGP peers.',
        ...global.map((r) => `  route ${r.peerIP}/${bits} via ${r.via};`),
      );
    }
    if (node.length > 0) {
      out.push(
        '  # Static routes needed for node specific BGP peers.',
        ...node.map((r) => `  route ${r.peerIP}/${bits} via ${r.via};`),
      );
    }
    out.push('}', '');
  }
  out.push('# Aggregation of routes on this host; export the block, nothing beneath it.');
  out.push(`function calico_aggr${ctx.sfx} ()`, '{');
  for (const b of ctx.blocks) {
    out.push(
      `  # Block ${b} is confirmed`,
      `  if ( net = ${b} ) then { accept; }`,
      `  if ( net ~ ${b} && krt_metric < ${ctx.priority} ) then { accept; }`,
      `  if ( net ~ ${b} ) then { reject; }`,
    );
  }
  out.push('}', '');
  return out;
}

/** calico: bird_ipam.cfg.template — what may be exported to peers, and what BIRD may program into the kernel. */
function ipamPart(ctx: FamilyContext, reflector: boolean): string[] {
  const out: string[] = [];
  out.push(`function reject_local_routes${ctx.sfx} () {`);
  out.push("  # Don't export local routes learned via BPF as they should never leave the node.");
  out.push(
    '  if (defined(ifname)) then {',
    '     if (ifname ~ "bpf*.cali") then {',
    '        reject;',
    '     }',
    '  }',
    '}',
    '',
  );
  out.push(`function calico_export_to_bgp_peers${ctx.sfx}(bool internal_peer) {`);
  out.push('  # filter code terminates when it calls `accept;` or `reject;`,');
  for (const p of ctx.rejected) out.push(`  if (net ~ ${p}) then { reject; } # BGP export is disabled.`);
  out.push('  if (internal_peer) then {', '    if (defined(ifname)) then {');
  out.push(`      if (${FELIX_TUNNEL_INTERFACES.map((i) => `(ifname ~ "${i}")`).join(' || ')}) then {`);
  out.push('        reject;', '      }', '    }', '  }');
  out.push(`  reject_local_routes${ctx.sfx}();`, `  apply_communities${ctx.sfx}();`, `  calico_aggr${ctx.sfx}();`);
  if (ctx.staticRoutes.length > 0) {
    out.push('', '  # Export static routes.', ...ctx.staticRoutes.map((c) => `  if ( net ~ ${c} ) then { accept; }`));
  }
  if (ctx.borrowed.length > 0) {
    out.push('', '  # Export borrowed addresses.', ...ctx.borrowed.map((c) => `  if ( net = ${c} ) then { accept; }`));
  }
  if (reflector && ctx.reflectLB.length > 0) {
    out.push('', '  # Configured as a RR - accept any routes within configured LB service IP ranges');
    out.push(...ctx.reflectLB.map((c) => `  if ( net ~ ${c} ) then { accept; }`));
  }
  if (reflector && ctx.reflectExternal.length > 0) {
    out.push('', '  # Configured as a RR - accept any routes within configured external service IP ranges');
    out.push(...ctx.reflectExternal.map((c) => `  if ( net ~ ${c} ) then { accept; }`));
  }
  for (const p of ctx.pools) if (!ctx.rejected.includes(p)) out.push(`  if (net ~ ${p}) then { accept; }`);
  out.push('}', '');
  return out;
}

/** Tabby's kernel side: what BIRD learned from outside peers may reach the kernel, never a cluster route. */
function kernelPart(
  contexts: readonly FamilyContext[],
  bgp: PlannedBgp,
  deviceDebug: string | undefined,
  bad: Bad,
): string[] {
  const out: string[] = [];
  for (const ctx of contexts) {
    out.push(`filter calico_kernel_programming${ctx.sfx}`, '{');
    if (ctx.serviceRejects.length > 0) {
      out.push(
        "  # Don't program static routes into kernel.",
        ...ctx.serviceRejects.map((c) => `  if ( net ~ ${c} ) then { reject; }`),
      );
    }
    out.push(
      '  if (defined(source) && (source = RTS_BGP) && !defined(krt_metric)) then {',
      `      krt_metric = ${ctx.priority};`,
      '      if (defined(bgp_local_pref)) then {',
      `          krt_metric = ${BIRD_INT_MAX} - bgp_local_pref;`,
      '      }',
      `      if (krt_metric < ${ctx.priority}) then {`,
      '          preference = 200;',
      '      }',
      '  }',
    );
    out.push("  # Cluster routes are tabby-agent's; BIRD programs none of them.");
    for (const p of ctx.pools) out.push(`  if ( net ~ ${p} ) then { reject; }`);
    out.push('  # What this host announces stays out of the kernel.');
    out.push('  if ( dest = RTD_BLACKHOLE ) then { reject; }', '  if ( source = RTS_DEVICE ) then { reject; }');
    out.push('  accept;', '}', '');
  }
  for (const ctx of contexts) {
    out.push('# Routes learned from peers outside the pools go to the kernel; nothing is learned from it.');
    out.push(`protocol kernel kernel${ctx.fam} {`, `  ${ctx.ch} {`);
    out.push('    import none;       # The agent owns cluster routes: never learn (and re-announce) them.');
    out.push(`    export filter calico_kernel_programming${ctx.sfx};`, '  };');
    out.push("  persist;           # Don't remove routes on bird shutdown", '  scan time 2;');
    out.push('  graceful restart;', '  merge paths on;    # Allow export multipath routes (ECMP)', '}', '');
  }
  out.push('# Watch interface up/down events.', 'protocol device {');
  if (deviceDebug !== undefined) out.push(`  ${deviceDebug}`);
  out.push('  scan time 2;    # Scan interfaces every 2 seconds', '}', '');
  const ignored = (bgp.ignoredInterfaces ?? []).filter((g, i) => {
    const ok = /^[A-Za-z0-9_.*?@:-]+$/.test(g);
    if (!ok) bad(`status.desired.bgp.ignoredInterfaces[${i}]`, `${JSON.stringify(g)} is not an interface glob`);
    return ok;
  });
  out.push('protocol direct {');
  if (deviceDebug !== undefined) out.push(`  ${deviceDebug}`);
  for (const ctx of contexts) out.push(`  ${ctx.ch};`);
  const exclude = [...ignored.map((g) => `-"${g}"`), '-"cali*"', '-"kube-ipvs*"', '"*"'];
  out.push(`  interface ${exclude.join(', ')}; # Exclude cali* and kube-ipvs* but include everything else.`, '}', '');
  return out;
}
