// Kubernetes' own sig-network end-to-end tests against a cluster whose pod network is Tabby: the unmodified
// e2e.test binary (scripts/build-binaries.sh builds it from k8s.io/kubernetes/test/e2e), with the images it uses
// preloaded under their upstream names, so no flag or file overrides an image. What it selects: every [sig-network]
// spec except the groups this cluster cannot honestly run, each listed below with the reason. Results come from
// e2e.test's own JUnit report.
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { findBinary } from '../harness/index.js';
import type { Mode } from './tabby-kube.js';

export interface Exclusion {
  /** A regular expression over the spec's full text (e2e.test --ginkgo.skip syntax). */
  pattern: string;
  reason: string;
  /** Only in these modes (default: all). */
  modes?: Mode[];
}

export const FOCUS = '\\[sig-network\\]';

/**
 * What `npm test` runs (the CI budget): sig-network's [Conformance] specs, the Granular Checks (pods, and the
 * services kube-proxy serves) and HostPort, none [Slow]. `npm run conformance` runs the whole selection.
 */
export const CI_FOCUS = '\\[sig-network\\].*(\\[Conformance\\]|Networking Granular Checks|HostPort validates)';
export const ciSkipFor = (mode: Mode): string => `${skipFor(mode)}|\\[Slow\\]`;

/** What this cluster cannot run, and why. Everything else in [sig-network] runs. */
export const EXCLUDED: Exclusion[] = [
  { pattern: '\\[Feature:NetworkPolicy\\]', reason: 'Tabby does not enforce NetworkPolicy (routing and IPAM only)' },
  {
    pattern: '\\[Feature:IPv6DualStack\\]|\\[Feature:Networking-IPv6\\]',
    reason: 'the cluster is IPv4 only (no IPv6 pool, service range or node addresses)',
  },
  { pattern: '\\[Feature:LoadBalancer\\]', reason: 'no cloud load balancer: the cluster runs on one machine' },
  { pattern: '\\[Feature:Ingress\\]', reason: 'no ingress controller is installed' },
  { pattern: 'SCTP', reason: "this kernel has no sctp module (and Tabby's tests do not cover SCTP)" },
  {
    pattern: '\\[Feature:Networking-IPv4\\]|\\[Feature:Networking-DNS\\]|Forward PTR lookup',
    reason: 'needs the internet (test traffic stays on this machine): external hosts, public DNS names and PTR records',
  },
  {
    pattern: '\\[Feature:KubeProxyDaemonSet',
    reason: 'upgrades a GCE cluster from a kube-proxy static pod to a DaemonSet (GCE only)',
  },
  {
    pattern: '\\[Feature:PerformanceDNS\\]|\\[Feature:Networking-Performance\\]',
    reason: 'scale and throughput benchmarks (thousands of services, iperf at size), not conformance',
  },
  { pattern: '\\[Provider:GCE\\]', reason: 'GCE only' },
  {
    pattern: '\\[Disruptive\\]',
    reason: 'restarts kube-proxy, the apiserver or node daemons over SSH, which a local provider has not',
  },
  {
    pattern: '\\[Privileged\\]',
    reason:
      'a privileged pod needs every device and capability, which a node container cannot grant: --privileged is ' +
      "refused on this machine (its root lacks CAP_SYS_RESOURCE), so the node's own device cgroup is limited",
  },
  {
    pattern: 'should implement NodePort and HealthCheckNodePort correctly when ExternalTrafficPolicy changes',
    reason:
      "kube-proxy masquerades a node's own traffic to an ExternalTrafficPolicy=Local NodePort, and over a tunnel the " +
      "source becomes the tunnel device's address, not the node's: Calico with VXLAN or IPIP fails it the same way " +
      '(kops skips it on calico+GCE/Azure: kubernetes/kops#18517, #18540); it runs in BGP mode',
    modes: ['VXLANCrossSubnet', 'VXLAN'],
  },
];

/** The exclusions that apply in `mode`. */
export const excludedIn = (mode: Mode): Exclusion[] => EXCLUDED.filter((e) => !e.modes || e.modes.includes(mode));

/** --ginkgo.skip for `mode`. */
export const skipFor = (mode: Mode): string =>
  excludedIn(mode)
    .map((e) => e.pattern)
    .join('|');

export interface SpecResult {
  name: string;
  status: 'passed' | 'failed' | 'skipped';
  seconds: number;
  /** Failure or skip text, when e2e.test gave one. */
  message?: string;
}

export interface ConformanceResult {
  specs: SpecResult[];
  passed: number;
  failed: number;
  skipped: number;
  exitCode: number;
  seconds: number;
  logFile: string;
  reportDir: string;
}

const unescape = (s: string): string =>
  s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&#xA;/g, '\n')
    .replace(/&#x9;/g, '\t')
    .replace(/&#(\d+);/g, (_, d: string) => String.fromCharCode(Number(d)))
    .replace(/&amp;/g, '&');

/**
 * The specs e2e.test ran, from its JUnit report (ginkgo's reporter: one <testcase name status time> per spec, a
 * <failure> or <skipped message> child when it did not pass). Specs the focus left out are reported skipped with
 * no run time; they are not part of the result. Suite nodes ([SynchronizedBeforeSuite], [ReportAfterSuite], ...)
 * count only when they failed.
 */
export function parseJunit(xml: string): SpecResult[] {
  const out: SpecResult[] = [];
  const re = /<testcase\s([^>]*?)(\/>|>([\s\S]*?)<\/testcase>)/g;
  for (const m of xml.matchAll(re)) {
    const attrs = new Map([...m[1]!.matchAll(/(\w+)="([^"]*)"/g)].map((a) => [a[1]!, unescape(a[2]!)]));
    // Ginkgo names the spec's leaf node kind inside the text ("[sig-network] Services [It] should ...") and the
    // report puts it first ("[It] [sig-network] ..."): the spec's own text is without it.
    const name = (attrs.get('name') ?? '').replace(/^\[It\] /, '').replace(/ \[It\] /, ' ');
    const status = attrs.get('status') ?? '';
    const seconds = Number(attrs.get('time') ?? '0');
    const body = m[3] ?? '';
    const suiteNode = /^\[(Synchronized)?(Before|After|ReportBefore|ReportAfter)Suite\]/.test(name);
    if (status === 'passed') {
      if (!suiteNode) out.push({ name, status: 'passed', seconds });
    } else if (status === 'skipped') {
      const message = /<skipped message="([^"]*)"/.exec(body)?.[1];
      // A spec left out by --ginkgo.focus/skip never started: skipped, no time, plain "skipped" message.
      if (suiteNode || (seconds === 0 && (message === undefined || unescape(message) === 'skipped'))) continue;
      out.push({ name, status: 'skipped', seconds, ...(message ? { message: unescape(message) } : {}) });
    } else {
      const failure = /<(failure|error)[^>]*>([\s\S]*?)<\/\1>/.exec(body)?.[2];
      out.push({ name, status: 'failed', seconds, ...(failure ? { message: unescape(failure).trim() } : {}) });
    }
  }
  return out;
}

export interface RunOptions {
  kubeconfig: string;
  mode: Mode;
  reportDir: string;
  focus?: string;
  skip?: string;
  /** Progress lines (one per finished spec, a heartbeat while one runs). */
  progress?: (line: string) => void;
  /** Number of nodes e2e.test may count on. */
  nodes: number;
  /** Parallel e2e.test processes (ginkgo --procs); default 1. */
  procs?: number;
}

/**
 * Runs e2e.test once and returns its JUnit results. The full output goes to <reportDir>/e2e.log; a line is printed
 * per finished spec.
 */
export async function runConformance(opts: RunOptions): Promise<ConformanceResult> {
  const progress = opts.progress ?? ((): void => undefined);
  await mkdir(opts.reportDir, { recursive: true });
  const logFile = join(opts.reportDir, 'e2e.log');
  // As hack/ginkgo-e2e.sh runs it: the ginkgo CLI starts e2e.test in `procs` processes ([Serial] specs run alone
  // at the end) and passes the suite's own flags after `--`.
  const procs = opts.procs ?? 1;
  const args = [
    `--procs=${procs}`,
    `--focus=${opts.focus ?? FOCUS}`,
    `--skip=${opts.skip ?? skipFor(opts.mode)}`,
    '-v',
    '--no-color',
    '--silence-skips',
    '--timeout=3h',
    findBinary('e2e.test'),
    '--',
    `--kubeconfig=${opts.kubeconfig}`,
    '--provider=local',
    `--num-nodes=${opts.nodes}`,
    `--report-dir=${opts.reportDir}`,
    `--e2e-output-dir=${opts.reportDir}`,
    // e2e.test waits for kube-system's pods (CoreDNS) before the first spec, as on any cluster.
    '--minStartupPods=1',
    '--dump-logs-on-failure=false',
    '--disable-log-dump',
  ];
  const started = Date.now();
  const log = createWriteStream(logFile);
  const child = spawn(findBinary('ginkgo'), args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: opts.reportDir });
  let total = 0;
  let done = 0;
  let current = '';
  let currentSince = Date.now();
  let marker: { state: string; seconds: number } | undefined;
  let buffered = '';
  const onLine = (line: string): void => {
    const will = /^Will run (\d+) of (\d+) specs/.exec(line.trim());
    if (will) {
      total = Number(will[1]);
      progress(`e2e.test: running ${total} of ${will[2]} specs`);
    }
    // Verbose ginkgo closes each spec with "• [12.3 seconds]", "• [FAILED] [12.3 seconds]" or "S [SKIPPED] [...]".
    // One process streams: the spec's full text comes first, the marker last. Several processes: ginkgo prints
    // each finished spec as a block, the marker first and the full text on the next line.
    const end = /^(?:•|S) (?:\[(FAILED|SKIPPED|PANICKED|TIMEDOUT|INTERRUPTED)\] )?\[([\d.]+) seconds\]$/.exec(line);
    if (end) {
      marker = { state: end[1] ?? 'PASSED', seconds: Number(end[2]) };
      if (procs === 1 && current) finish(current);
      return;
    }
    if (/^\[sig-[a-z-]+\] /.test(line)) {
      const name = line.replace(/ \[sig-[a-z-]+(, [^\]]*)?\]$/, '').replace(' [It] ', ' ');
      if (procs > 1 && marker) finish(name);
      else if (procs === 1) {
        current = name;
        currentSince = Date.now();
      }
    }
  };
  const finish = (name: string): void => {
    done++;
    progress(`  [${done}/${total}] ${marker!.state.padEnd(7)} ${marker!.seconds.toFixed(1).padStart(6)} s  ${name}`);
    marker = undefined;
    current = '';
  };
  const feed = (chunk: Buffer): void => {
    log.write(chunk);
    buffered += chunk.toString('utf8');
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      onLine(buffered.slice(0, nl).trimEnd());
      buffered = buffered.slice(nl + 1);
    }
  };
  child.stdout.on('data', feed);
  child.stderr.on('data', (c: Buffer) => log.write(c));
  const heartbeat = setInterval(() => {
    const s = Math.round((Date.now() - started) / 1000);
    const what = current ? `; running for ${Math.round((Date.now() - currentSince) / 1000)} s: ${current}` : '';
    progress(`  ... ${s} s, ${done}/${total || '?'} specs done${what}`);
  }, 60_000);
  const exitCode = await new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? 1)));
  clearInterval(heartbeat);
  await new Promise<void>((r) => log.end(r));

  const reports = (await readdir(opts.reportDir)).filter((f) => /^junit_.*\.xml$/.test(f));
  if (reports.length === 0) throw new Error(`e2e.test (exit ${exitCode}) wrote no JUnit report; see ${logFile}`);
  const specs = (await Promise.all(reports.map((f) => readFile(join(opts.reportDir, f), 'utf8')))).flatMap(parseJunit);
  const count = (s: SpecResult['status']): number => specs.filter((x) => x.status === s).length;
  return {
    specs,
    passed: count('passed'),
    failed: count('failed'),
    skipped: count('skipped'),
    exitCode,
    seconds: (Date.now() - started) / 1000,
    logFile,
    reportDir: opts.reportDir,
  };
}
