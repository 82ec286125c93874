// What a BIRD configuration says, per address family, in a form two configurations can be compared in: Calico's
// confd output (BIRD 1: bird.cfg + bird_aggr.cfg + bird_ipam.cfg per family, files of its golden tests) and the
// agent's (BIRD 2: one file, IPv6 names suffixed `6`, session filters in a channel block). Comments, blank lines and
// layout are dropped; every session's import and export filter must be confd's fixed frame around the BGPFilter calls
// (anything else throws), so the model keeps only what varies: the calls, the route priority and the iBGP flag.
// Test support only.

export interface FilterFrame {
  /** BGPFilter function calls, in order. */
  calls: string[];
  /** The normal route priority the frame's arithmetic was written for. */
  priority: number;
}

export interface SessionModel {
  /** Every other statement of the session, sorted. */
  statements: string[];
  import: FilterFrame;
  export: FilterFrame & { internal: boolean };
}

export interface FamilyModel {
  disabled: boolean;
  routerId?: string;
  /** `address X port P` as far as given (confd `listen bgp`; ours the template's `local`). */
  listen: string;
  localAS?: string;
  peerDebug?: string;
  deviceDebug?: string;
  directInterfaces?: string;
  communities: string[];
  sessions: Record<string, SessionModel>;
  /** BGPFilter function name → body lines. */
  filterFunctions: Record<string, string[]>;
  staticRoutes: string[];
  aggregation: string[];
  exportFunction: string[];
  kernelRejects: string[];
}

const BIRD_INT_MAX = 2147483647;

interface Item {
  header: string;
  body: string[];
}

function clean(line: string): string {
  let inQuote = false;
  let out = '';
  for (const ch of line) {
    if (ch === '"') inQuote = !inQuote;
    if (ch === '#' && !inQuote) break;
    out += ch;
  }
  return out.replace(/\s+/g, ' ').trim();
}

function depthChange(line: string): number {
  let d = 0;
  let inQuote = false;
  for (const ch of line) {
    if (ch === '"') inQuote = !inQuote;
    else if (!inQuote && ch === '{') d++;
    else if (!inQuote && ch === '}') d--;
  }
  return d;
}

/** Top-level items: a statement line, or a header and its braced body (nested braces kept as lines). */
function items(text: string): Item[] {
  const out: Item[] = [];
  const lines = text.split('\n').map(clean).filter((l) => l !== '');
  let cur: Item | undefined;
  let depth = 0;
  let opened = false;
  for (const line of lines) {
    if (cur === undefined) {
      cur = { header: line, body: [] };
      depth = depthChange(line);
      opened = line.includes('{');
      if (opened && depth === 0) {
        out.push(cur);
        cur = undefined;
      } else if (!opened && !/^(function|filter|template|protocol)\b/.test(line)) {
        out.push(cur);
        cur = undefined;
      }
      continue;
    }
    const d = depthChange(line);
    if (!opened && line === '{') {
      opened = true;
      depth += d;
      continue;
    }
    depth += d;
    if (depth <= 0) {
      const rest = line.replace(/^}\s*;?/, '').trim();
      if (rest !== '') cur.body.push(rest);
      out.push(cur);
      cur = undefined;
      continue;
    }
    cur.body.push(line);
  }
  if (cur !== undefined) out.push(cur);
  return out;
}

function importFrame(lines: string[], where: string): FilterFrame {
  const calls = lines.filter((l) => /^'bgp_[^']+'\((true|false)?\);$/.test(l));
  const rest = lines.filter((l) => !calls.includes(l));
  const m = /^if \(defined\(bgp_local_pref\)&&\(bgp_local_pref > (\d+)\)\) then$/.exec(rest[0] ?? '');
  if (!m || rest[1] !== 'preference = 200;' || rest[2] !== 'accept;' || rest.length !== 3) {
    throw new Error(`${where}: import filter is not confd's frame: ${JSON.stringify(lines)}`);
  }
  return { calls, priority: BIRD_INT_MAX - Number(m[1]) };
}

function exportFrame(lines: string[], where: string): FilterFrame & { internal: boolean } {
  const fail = () => {
    throw new Error(`${where}: export filter is not confd's frame: ${JSON.stringify(lines)}`);
  };
  const head = [
    'if (defined(source) && source = RTS_BGP && defined(bgp_local_pref)) then {',
    `krt_metric = ${BIRD_INT_MAX} - bgp_local_pref;`,
    '} else {',
  ];
  if (head.some((h, i) => lines[i] !== h)) fail();
  const p = /^if \(!defined\(krt_metric\)\) then \{ krt_metric = (\d+); \}$/.exec(lines[3] ?? '');
  if (!p || lines[4] !== `bgp_local_pref = ${BIRD_INT_MAX} - krt_metric;` || lines[5] !== '}') fail();
  const tail = lines.slice(6);
  const last = tail.slice(-2);
  const m = /^calico_export_to_bgp_peers6?\((true|false)\);$/.exec(last[0] ?? '');
  if (!m || last[1] !== 'reject;') fail();
  const calls = tail.slice(0, -2);
  if (!calls.every((l) => /^'bgp_[^']+'\((true|false)?\);$/.test(l))) fail();
  return { calls, priority: Number(p?.[1]), internal: m?.[1] === 'true' };
}

/** A session block's body (confd: flat; ours: filters and next hop in the channel block). */
function session(name: string, body: string[]): SessionModel {
  const statements: string[] = [];
  let imp: string[] | undefined;
  let exp: string[] | undefined;
  let into: string[] | undefined;
  let depth = 0;
  for (const line of body) {
    if (into !== undefined) {
      depth += depthChange(line);
      if (depth === 0) {
        into = undefined;
        continue;
      }
      into.push(line);
      continue;
    }
    if (line === 'import filter {') {
      imp = into = [];
      depth = 1;
      continue;
    }
    if (line === 'export filter {') {
      exp = into = [];
      depth = 1;
      continue;
    }
    if (line === 'ipv4 {' || line === 'ipv6 {' || line === '};') continue;
    statements.push(line);
  }
  if (imp === undefined || exp === undefined) throw new Error(`session ${name}: no import or export filter`);
  return {
    statements: statements.sort(),
    import: importFrame(imp, `session ${name}`),
    export: exportFrame(exp, `session ${name}`),
  };
}

function emptyFamily(): FamilyModel {
  return {
    disabled: false,
    listen: '',
    communities: [],
    sessions: {},
    filterFunctions: {},
    staticRoutes: [],
    aggregation: [],
    exportFunction: [],
    kernelRejects: [],
  };
}

function kernelRejects(body: string[]): string[] {
  const out: string[] = [];
  for (const l of body) {
    if (!/^if \( net ~ \S+ \) then \{ reject; \}$/.test(l)) break;
    out.push(l);
  }
  return out;
}

/** The template's debug and local AS; BIRD 2 also says where it listens there (BIRD 1 in `listen bgp`). */
function templateLocal(body: string[], m: FamilyModel, listens: boolean): void {
  for (const l of body) {
    if (l.startsWith('debug')) m.peerDebug = l;
    const local = /^local (?:(\S+) )?(?:port (\d+) )?as (\d+);$/.exec(l);
    if (!local) continue;
    m.localAS = local[3];
    if (listens) {
      m.listen = [local[1] ? `address ${local[1]}` : '', local[2] ? `port ${local[2]}` : ''].filter(Boolean).join(' ');
    }
  }
}

function functionName(header: string): string | undefined {
  return /^function (\S+?)\s*\(/.exec(header)?.[1];
}

/** confd's files of one family (bird.cfg or bird6.cfg with its _aggr and _ipam files). */
export function modelFromConfd(main: string, aggr: string, ipam: string): FamilyModel {
  const m = emptyFamily();
  for (const it of items(main)) {
    const h = it.header;
    if (/^# IPv[46] disabled on this node\./.test(h) || h === '') continue;
    if (h.startsWith('router id ')) m.routerId = h.slice('router id '.length, -1);
    else if (h.startsWith('listen bgp')) {
      const addr = / address (\S+?)[ ;]/.exec(h)?.[1];
      const port = / port (\d+)/.exec(h)?.[1];
      m.listen = [addr ? `address ${addr}` : '', port ? `port ${port}` : ''].filter(Boolean).join(' ');
    } else if (h.startsWith('function apply_communities')) m.communities = it.body;
    else if (h.startsWith('template direct')) {
      m.deviceDebug ??= it.body.find((l) => l.startsWith('debug'));
      m.directInterfaces = it.body.find((l) => l.startsWith('interface '));
    } else if (h.startsWith('protocol device')) m.deviceDebug = it.body.find((l) => l.startsWith('debug'));
    else if (h.startsWith('template bgp ')) templateLocal(it.body, m, false);
    else if (h.startsWith('protocol bgp ')) {
      const name = h.split(' ')[2] ?? '';
      m.sessions[name] = session(name, it.body);
    } else if (h.startsWith("function 'bgp_")) m.filterFunctions[functionName(h) ?? h] = it.body;
  }
  m.disabled = /^# IPv[46] disabled on this node\./m.test(main);
  for (const it of items(aggr)) {
    if (it.header.startsWith('template static')) m.staticRoutes = it.body.filter((l) => l.startsWith('route '));
    if (it.header.startsWith('function calico_aggr')) m.aggregation = it.body;
  }
  for (const it of items(ipam)) {
    if (it.header.startsWith('function calico_export_to_bgp_peers')) m.exportFunction = it.body;
    if (it.header.startsWith('filter calico_kernel_programming')) m.kernelRejects = kernelRejects(it.body);
  }
  return m;
}

/** The agent's single BIRD 2 file, one family of it. */
export function modelFromTabby(text: string, family: 4 | 6): FamilyModel {
  const m = emptyFamily();
  const sfx = family === 4 ? '' : '6';
  const ch = family === 4 ? 'ipv4;' : 'ipv6;';
  const own = (name: string | undefined, base: string) => name === `${base}${sfx}`;
  m.disabled = new RegExp(`^# IPv${family} disabled on this node\\.`, 'm').test(text);
  for (const it of items(text)) {
    const h = it.header;
    if (h.startsWith('router id ')) m.routerId = h.slice('router id '.length, -1);
    else if (h.startsWith('function ') && own(functionName(h), 'apply_communities')) m.communities = it.body;
    else if (h.startsWith('protocol device')) m.deviceDebug = it.body.find((l) => l.startsWith('debug'));
    else if (h.startsWith('protocol direct')) m.directInterfaces = it.body.find((l) => l.startsWith('interface '));
    else if (h === `template bgp bgp_template${sfx} {`) templateLocal(it.body, m, true);
    else if (h.startsWith('protocol bgp ') && h.endsWith(` from bgp_template${sfx} {`)) {
      const name = h.split(' ')[2] ?? '';
      m.sessions[name] = session(name, it.body);
    } else if (h.startsWith("function 'bgp_") && (functionName(h) ?? '').endsWith(`V${family}'`)) {
      m.filterFunctions[functionName(h) ?? h] = it.body;
    } else if (h === `protocol static static${family} {`) {
      m.staticRoutes = it.body.filter((l) => l.startsWith('route ') && l !== ch);
    } else if (h.startsWith('function ') && own(functionName(h), 'calico_aggr')) m.aggregation = it.body;
    else if (h.startsWith('function ') && own(functionName(h), 'calico_export_to_bgp_peers')) {
      m.exportFunction = it.body.map((l) => l.replace(new RegExp(`^(reject_local_routes|apply_communities|calico_aggr)${sfx}\\(\\);$`), '$1();'));
    } else if (h === `filter calico_kernel_programming${sfx}`) m.kernelRejects = kernelRejects(it.body);
  }
  return m;
}
