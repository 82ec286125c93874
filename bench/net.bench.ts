// src/net benchmarks: IPAM block arithmetic in our word-based representation against a bigint representation of
// the same operations (the representation choice documented in src/net/ip.ts), and compiled selector evaluation on
// 1,000 nodes x 50 selectors against a straightforward AST interpreter. Prints figures; asserts nothing.
import { performance } from 'node:perf_hooks';
import { seededRandom } from '../src/ipam/test-fixtures.js';
import {
  type Cidr,
  type IP,
  type SelectorNode,
  blockContaining,
  ipAtOffset,
  ipOffset,
  ipToBigInt,
  parseCidr,
  parseIP,
  parseSelector,
} from '../src/net/index.js';

// ---- bigint representation of the same block operations, with the same range checks ---------------------------

interface BigIP {
  readonly family: 4 | 6;
  readonly value: bigint;
}
interface BigCidr {
  readonly family: 4 | 6;
  readonly prefix: number;
  readonly network: bigint;
  readonly last: bigint;
}

function bigCidr(c: Cidr): BigCidr {
  const bits = c.family === 4 ? 32 : 128;
  const network = ipToBigInt(c.network);
  return { family: c.family, prefix: c.prefix, network, last: network + (1n << BigInt(bits - c.prefix)) - 1n };
}

function bigBlockContaining(pool: BigCidr, blockSize: number, ip: BigIP): BigCidr {
  if (ip.family !== pool.family || ip.value < pool.network || ip.value > pool.last) throw new RangeError('not in pool');
  const host = BigInt((pool.family === 4 ? 32 : 128) - blockSize);
  const network = (ip.value >> host) << host;
  return { family: pool.family, prefix: blockSize, network, last: network + (1n << host) - 1n };
}

function bigIpOffset(block: BigCidr, ip: BigIP): number {
  if (ip.family !== block.family || ip.value < block.network || ip.value > block.last)
    throw new RangeError('not in block');
  return Number(ip.value - block.network);
}

function bigIpAtOffset(block: BigCidr, n: number): BigIP {
  const v = block.network + BigInt(n);
  if (n < 0 || v > block.last) throw new RangeError('outside block');
  return { family: block.family, value: v };
}

// ---- timing -----------------------------------------------------------------------------------------------------

let sink = 0;

/** Runs `body` (which performs `opsPerCall` operations) repeatedly for about `ms` and returns operations/second. */
function opsPerSecond(body: () => void, opsPerCall: number, ms = 100): number {
  for (let i = 0; i < 3; i++) body(); // warm up the JIT
  (globalThis as { gc?: () => void }).gc?.();
  let calls = 0;
  const start = performance.now();
  let elapsed = 0;
  do {
    body();
    calls++;
    elapsed = performance.now() - start;
  } while (elapsed < ms);
  return (calls * opsPerCall) / (elapsed / 1000);
}

/**
 * Measures competing bodies in interleaved rounds and keeps each one's best round: on a shared machine other load
 * only ever slows a round down, so the best round is the most repeatable figure and the ratio stays fair.
 */
function bestOf(bodies: readonly (() => void)[], opsPerCall: number, rounds = 7): number[] {
  const best = bodies.map(() => 0);
  for (let r = 0; r < rounds; r++) {
    bodies.forEach((b, i) => {
      best[i] = Math.max(best[i] as number, opsPerSecond(b, opsPerCall));
    });
  }
  return best;
}

function fmt(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} M/s`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} k/s`;
  return `${n.toFixed(0)} /s`;
}

// ---- block arithmetic ---------------------------------------------------------------------------------------------

function benchBlocks(): void {
  const N = 10_000;
  const rnd = seededRandom(1);
  const cases = [
    { name: 'IPv4 10.244.0.0/16, /26 blocks', pool: parseCidr('10.244.0.0/16'), blockSize: 26 },
    { name: 'IPv4 192.168.0.0/16, /26 blocks', pool: parseCidr('192.168.0.0/16'), blockSize: 26 },
    { name: 'IPv6 fd00:10:244::/48, /122 blocks', pool: parseCidr('fd00:10:244::/48'), blockSize: 122 },
  ];
  const rows: string[][] = [];
  for (const { name, pool, blockSize } of cases) {
    const bits = pool.family === 4 ? 32 : 128;
    const base = ipToBigInt(pool.network);
    const span = 1n << BigInt(bits - pool.prefix);
    const ips: IP[] = [];
    for (let i = 0; i < N; i++) {
      const r = (BigInt(Math.floor(rnd() * 2 ** 32)) << 32n) | BigInt(Math.floor(rnd() * 2 ** 32));
      const v = base + (r % span);
      ips.push(parseIP(pool.family === 4 ? `${v >> 24n}.${(v >> 16n) & 255n}.${(v >> 8n) & 255n}.${v & 255n}` : v6(v)));
    }
    const bigPool = bigCidr(pool);
    const bigIps: BigIP[] = ips.map((ip) => ({ family: ip.family, value: ipToBigInt(ip) }));
    const blocks = ips.map((ip) => blockContaining(pool, blockSize, ip));
    const bigBlocks = bigIps.map((ip) => bigBlockContaining(bigPool, blockSize, ip));
    const offsets = ips.map((ip, i) => ipOffset(blocks[i] as Cidr, ip));
    // Results are stored, as IPAM keeps them; otherwise V8 may drop the allocation it is meant to measure.
    const out: unknown[] = new Array<unknown>(N);

    const [wContaining, bContaining] = bestOf(
      [
        () => {
          for (let i = 0; i < N; i++) out[i] = blockContaining(pool, blockSize, ips[i] as IP);
        },
        () => {
          for (let i = 0; i < N; i++) out[i] = bigBlockContaining(bigPool, blockSize, bigIps[i] as BigIP);
        },
      ],
      N,
    );
    const [wOffset, bOffset] = bestOf(
      [
        () => {
          for (let i = 0; i < N; i++) sink += ipOffset(blocks[i] as Cidr, ips[i] as IP);
        },
        () => {
          for (let i = 0; i < N; i++) sink += bigIpOffset(bigBlocks[i] as BigCidr, bigIps[i] as BigIP);
        },
      ],
      N,
    );
    const [wAt, bAt] = bestOf(
      [
        () => {
          for (let i = 0; i < N; i++) out[i] = ipAtOffset(blocks[i] as Cidr, offsets[i] as number);
        },
        () => {
          for (let i = 0; i < N; i++) out[i] = bigIpAtOffset(bigBlocks[i] as BigCidr, offsets[i] as number);
        },
      ],
      N,
    );
    const words = { containing: wContaining as number, offset: wOffset as number, atOffset: wAt as number };
    const big = { containing: bContaining as number, offset: bOffset as number, atOffset: bAt as number };
    for (const op of ['containing', 'offset', 'atOffset'] as const) {
      const label = { containing: 'blockContaining', offset: 'ipOffset', atOffset: 'ipAtOffset' }[op];
      rows.push([name, label, fmt(words[op]), fmt(big[op]), `${(words[op] / big[op]).toFixed(1)}x`]);
    }
  }
  printTable(['pool', 'operation', 'int32 words (ours)', 'bigint', 'words/bigint'], rows);
}

function v6(v: bigint): string {
  const groups: string[] = [];
  for (let i = 7; i >= 0; i--) groups.push(((v >> BigInt(i * 16)) & 0xffffn).toString(16));
  return groups.join(':');
}

// ---- selectors ----------------------------------------------------------------------------------------------------

function makeNodes(count: number, rnd: () => number): Record<string, string>[] {
  const zones = ['us-east-1a', 'us-east-1b', 'us-east-1c', 'eu-west-1a'];
  const nodes: Record<string, string>[] = [];
  for (let i = 0; i < count; i++) {
    const labels: Record<string, string> = {
      'kubernetes.io/hostname': `node-${i}`,
      'kubernetes.io/os': 'linux',
      'kubernetes.io/arch': rnd() < 0.8 ? 'amd64' : 'arm64',
      'topology.kubernetes.io/zone': zones[i % zones.length] as string,
      'node.kubernetes.io/instance-type': rnd() < 0.5 ? 'm5.large' : 'c5.xlarge',
      rack: `rack-${i % 40}`,
      'beta.kubernetes.io/os': 'linux',
      tier: rnd() < 0.3 ? 'edge' : 'core',
    };
    if (i % 10 === 0) labels['node-role.kubernetes.io/control-plane'] = '';
    if (rnd() < 0.2) labels['tabby.dev/route-reflector'] = 'true';
    if (rnd() < 0.5) labels.pool = rnd() < 0.5 ? 'blue' : 'green';
    nodes.push(labels);
  }
  return nodes;
}

function makeSelectors(count: number, rnd: () => number): string[] {
  const templates = [
    (i: number) => `kubernetes.io/hostname == "node-${i * 17}"`,
    (i: number) => `rack in {"rack-${i % 40}", "rack-${(i + 1) % 40}", "rack-${(i + 2) % 40}"}`,
    () => `has(node-role.kubernetes.io/control-plane)`,
    () => `!has(node-role.kubernetes.io/control-plane) && kubernetes.io/os == "linux"`,
    (i: number) => `topology.kubernetes.io/zone == "us-east-1${'abc'[i % 3]}" && tier != "edge"`,
    () => `pool not in {"blue"} || tabby.dev/route-reflector == "true"`,
    () => `kubernetes.io/hostname starts with "node-1" && kubernetes.io/arch == "arm64"`,
    () => `node.kubernetes.io/instance-type contains "xlarge" || (rack ends with "7" && has(pool))`,
    () => `all()`,
    (i: number) =>
      `kubernetes.io/hostname in {${Array.from({ length: 10 }, (_, j) => `"node-${i * 10 + j}"`).join(', ')}}`,
  ];
  return Array.from({ length: count }, (_, i) =>
    (templates[Math.floor(rnd() * templates.length)] as (i: number) => string)(i),
  );
}

/** A straightforward AST-walking evaluator, the baseline the compiled closures are measured against. */
function interpret(n: SelectorNode, l: Readonly<Record<string, string>>): boolean {
  const get = (k: string): string | undefined => (Object.prototype.hasOwnProperty.call(l, k) ? l[k] : undefined);
  switch (n.kind) {
    case 'all':
    case 'global':
      return true;
    case 'has':
      return get(n.label) !== undefined;
    case '==':
      return get(n.label) === n.value;
    case '!=':
      return get(n.label) !== n.value;
    case 'contains':
      return get(n.label)?.includes(n.value) ?? false;
    case 'starts with':
      return get(n.label)?.startsWith(n.value) ?? false;
    case 'ends with':
      return get(n.label)?.endsWith(n.value) ?? false;
    case 'in': {
      const v = get(n.label);
      return v !== undefined && n.values.includes(v);
    }
    case 'not in': {
      const v = get(n.label);
      return v === undefined || !n.values.includes(v);
    }
    case 'not':
      return !interpret(n.operand, l);
    case 'and':
      return n.operands.every((o) => interpret(o, l));
    case 'or':
      return n.operands.some((o) => interpret(o, l));
  }
}

function benchSelectors(): void {
  const rnd = seededRandom(2);
  const nodes = makeNodes(1000, rnd);
  const texts = makeSelectors(50, rnd);
  const selectors = texts.map(parseSelector);
  const evals = nodes.length * selectors.length;

  let matched = 0;
  for (const s of selectors) for (const n of nodes) if (s.matches(n)) matched++;
  const [compiled = 0, interpreted = 0] = bestOf(
    [
      () => {
        for (const s of selectors) for (const n of nodes) if (s.matches(n)) sink++;
      },
      () => {
        for (const s of selectors) for (const n of nodes) if (interpret(s.root, n)) sink++;
      },
    ],
    evals,
  );
  const [parses = 0] = bestOf(
    [
      () => {
        for (const t of texts) sink += parseSelector(t).source.length;
      },
    ],
    texts.length,
  );

  printTable(
    ['selector workload', 'figure'],
    [
      ['nodes x selectors', `${nodes.length} x ${selectors.length} (${matched} matches)`],
      ['compiled matcher evaluations', fmt(compiled)],
      ['AST interpreter evaluations', fmt(interpreted)],
      ['compiled / interpreter', `${(compiled / interpreted).toFixed(1)}x`],
      ['full pass (1,000 x 50)', `${((evals / compiled) * 1000).toFixed(2)} ms`],
      ['parseSelector (parse + compile)', fmt(parses)],
    ],
  );
}

function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ');
  console.log(line(header));
  console.log(line(widths.map((w) => '-'.repeat(w))));
  for (const r of rows) console.log(line(r));
  console.log('');
}

export default async function run(): Promise<void> {
  benchBlocks();
  benchSelectors();
  if (sink === 0.5) console.log(sink); // keep results observable so the JIT cannot drop the loops
}
