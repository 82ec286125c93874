// The chaos run (issue 19): a cluster of node containers with pods pinging continuously and pods coming and going,
// hit by waves of overlapping faults in a seeded random order — the operator leader, an agent, BIRD, etcd and
// kube-apiserver killed (SIGKILL) and started again, a node cut from its network for 30 s, every watch expired by an
// etcd compaction, a node deleted while its pods run. After every wave the run waits (with a generous ceiling) for
// the cluster to recover and checks the invariants; the figures are what it measured on the way.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mulberry32 } from '../../src/ipam/block-search.js';
import { affinityNode } from '../../src/ipam/index.js';
import { buildNodeImage } from '../dataplane/images.js';
import { readCluster } from '../integration/operator-support.js';
import { startChaosCluster } from './chaos-cluster.js';
import { converged, handleNodes, ipamCheck, leaks, GC_INTERVAL_MS } from './checks.js';
import { DoubleAllocationMonitor, Supervisor } from './monitors.js';
import {
  faultTable,
  invariantTable,
  lossWindowMs,
  percentile,
  type FaultFigures,
  type InvariantResult,
} from './report.js';
import { tallyWrites } from './rewrites.js';
import { FAULT_KINDS, planWaves, type FaultKind, type PlannedFault } from './schedule.js';
import { PingStream, Workload, type ChaosPod, type PingRecord } from './workload.js';

export interface ChaosConfig {
  name: string;
  seed: number;
  nodes: number;
  /** The fault kinds injected (all of FAULT_KINDS in both sizes; fewer to reproduce one kind's trouble). */
  kinds: readonly FaultKind[];
  perKind: number;
  maxPerWave: number;
  /** How long a node stays cut from its network. */
  cutMs: number;
  /** IPAM GC's leak grace. */
  leakGraceS: number;
  /** Churned pods per node (besides the pinger and the ping target). */
  podsPerNode: number;
  /** Mean time between two churn steps on a node. */
  churnPaceMs: number;
  /** Share of deletions that skip the CNI DEL (GC must release the address). */
  leakShare: number;
  /** Ceiling of every wait for recovery: a wait ends as soon as its condition holds. */
  recoveryCeilingMs: number;
}

export const SHORT: ChaosConfig = {
  name: 'short',
  seed: 19,
  nodes: 3,
  kinds: FAULT_KINDS,
  perKind: 1,
  maxPerWave: 4,
  cutMs: 30_000,
  leakGraceS: 20,
  podsPerNode: 3,
  churnPaceMs: 2_000,
  leakShare: 0.2,
  recoveryCeilingMs: 300_000,
};

// Every wave costs its recovery wait and the checks after it, so the run's length goes with the number of waves, and
// that is set by the node faults (80): at most nodes − 2 of them per wave (schedule.ts). Four nodes made 40 waves at
// the least (66 as drawn then: 46 min); five make 27, of six faults each.
export const FULL: ChaosConfig = {
  ...SHORT,
  name: 'full',
  nodes: 5,
  perKind: 20,
  maxPerWave: 6,
  podsPerNode: 5,
};

export interface FaultRun {
  wave: number;
  kind: FaultKind;
  node?: string;
  start: number;
  end: number;
  recoveryMs?: number;
  lossMs?: number;
  /** watch-expiry: how many watches answered 410 Gone and relisted (by the end of its wave's recovery). */
  expired?: number;
  expiredBefore?: number;
}

export interface ChaosReport {
  config: ChaosConfig;
  faults: FaultRun[];
  figures: FaultFigures[];
  invariants: InvariantResult[];
  /** Per wave: last fault lifted → kernel routes equal to the plan on every node. */
  routeConvergenceMs: number[];
  setupMs: number;
  runMs: number;
  /**
   * Where the run's time went, summed over the waves: faults in place and lifted, recovery waits, and the checks
   * (with a deleted node's pinger and target made again).
   */
  phasesMs: { faults: number; recovery: number; checks: number };
  totalMs: number;
  counts: Record<string, number>;
  text: string;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Calls `fn` until it does not throw (an API call while etcd or the apiserver is down), within `ceilingMs`. */
async function retry<T>(what: string, fn: () => Promise<T>, ceilingMs: number): Promise<T> {
  const deadline = Date.now() + ceilingMs;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (Date.now() > deadline)
        throw new Error(`${what}: still failing after ${ceilingMs} ms: ${(e as Error).message}`);
      await sleep(1000);
    }
  }
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, ceilingMs: number): Promise<T> {
  const deadline = Date.now() + ceilingMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ceilingMs} ms`);
    await sleep(500);
  }
}

/**
 * `onCluster` receives a way to stop the cluster early (the CLI's SIGINT); with `logDir`, every agent's and
 * operator's log is written there before the cluster goes.
 */
export async function runChaos(
  cfg: ChaosConfig,
  log: (line: string) => void,
  onCluster?: (stop: () => Promise<void>) => void,
  logDir?: string,
): Promise<ChaosReport> {
  const t0 = Date.now();
  const next32 = mulberry32(cfg.seed);
  const random = (): number => next32() / 0x100000000;
  const nodeNames = Array.from({ length: cfg.nodes }, (_, i) => `chaos-${i + 1}`);
  const image = buildNodeImage();
  const c = await startChaosCluster({ image, nodes: nodeNames, leakGraceS: cfg.leakGraceS, progress: log });
  onCluster?.(() => c.stop());
  const monitor = new DoubleAllocationMonitor(c.client);
  const supervisor = new Supervisor(c, 2000);
  const workload = new Workload(c, c.client, random, {
    perNode: cfg.podsPerNode,
    paceMs: cfg.churnPaceMs,
    leakShare: cfg.leakShare,
  });
  const streams: PingStream[] = [];
  const records: PingRecord[] = [];
  const fixed = new Map<string, { pinger: ChaosPod; target: ChaosPod }>();
  const faults: FaultRun[] = [];
  const routeConvergenceMs: number[] = [];
  const failures: string[] = [];
  const ipamCheckFailures: string[] = [];
  const leakFailures: string[] = [];
  const handleFailures: string[] = [];
  /** ipam check errors a second check no longer reported (a release or an allocation in flight). */
  let transientCheckErrors = 0;
  let handlesChecked = 0;
  let setupMs = 0;
  let runStart = 0;
  const phasesMs = { faults: 0, recovery: 0, checks: 0 };
  let lastRewrites = 0;
  /** Leaks `tabby ipam check` reported while GC's grace for them ran (summed over the checks). */
  let pendingLeaks = 0;
  /** Waves after which kernel routes never equalled the plan within the ceiling. */
  const routeFailures: string[] = [];
  const rewriteLog: string[] = [];

  // Each node's pinger pings the target on each of the next `reach` nodes: with an odd number of nodes every pair of
  // nodes has a stream, so every fault has one between nodes no other fault of its wave hit (its loss figure). With
  // one stream to the next node only, 5 nodes and 3 node faults a wave left most etcd, apiserver, operator and
  // watch faults without one.
  const reach = Math.max(1, Math.floor((nodeNames.length - 1) / 2));
  const ahead = (n: string, k: number) => nodeNames[(nodeNames.indexOf(n) + k + nodeNames.length) % nodeNames.length]!;
  const startStream = async (from: ChaosPod, to: ChaosPod): Promise<void> => {
    const s = new PingStream(c, from, to, 200);
    await s.start();
    streams.push(s);
  };
  const stopStreams = async (node: string): Promise<void> => {
    for (const s of [...streams]) {
      if (s.from.node !== node && s.to.node !== node) continue;
      records.push(await s.stop());
      streams.splice(streams.indexOf(s), 1);
    }
  };
  const makeFixed = async (n: string): Promise<void> => {
    const pinger = await workload.fixedPod(n, 'pinger', cfg.recoveryCeilingMs);
    const target = await workload.fixedPod(n, 'target', cfg.recoveryCeilingMs);
    fixed.set(n, { pinger, target });
  };

  const waitConverged = async (since: number): Promise<{ recoveredAt: number; routesAt: number }> => {
    const deadline = Date.now() + cfg.recoveryCeilingMs;
    let routesAt: number | undefined;
    let last: string[] = [];
    let logged = '';
    for (;;) {
      const r = await converged(c, streams, since);
      if (r.routesEqual) routesAt ??= Date.now();
      if (r.pending.length === 0) return { recoveredAt: Date.now(), routesAt: routesAt ?? Date.now() };
      last = r.pending;
      // What is still pending, when it changes: where a slow recovery spent its time.
      if (last.join('\n') !== logged) {
        logged = last.join('\n');
        log(`[chaos ${cfg.name}]   +${((Date.now() - since) / 1000).toFixed(1)} s pending: ${last.join('; ')}`);
      }
      if (Date.now() > deadline)
        throw new Error(`not recovered within ${cfg.recoveryCeilingMs} ms:\n  ${last.join('\n  ')}`);
      await sleep(1000);
    }
  };

  /** IPAM holds nothing for `node` any more: its blocks released, its affinities gone. */
  const releasedFor = async (node: string): Promise<true | undefined> => {
    const s = await readCluster(c.client);
    const blocks = s.blocks.filter((b) => !b.spec.deleted && affinityNode(b.spec.affinity ?? null) === node);
    const affs = s.affinities.filter((a) => a.spec.node === node);
    return blocks.length === 0 && affs.length === 0 ? true : undefined;
  };

  const inject = async (wave: number, f: PlannedFault): Promise<FaultRun> => {
    await sleep(f.offsetMs);
    const n = f.node;
    const run: FaultRun = { wave, kind: f.kind, ...(n ? { node: n } : {}), start: Date.now(), end: 0 };
    const ceiling = cfg.recoveryCeilingMs;
    switch (f.kind) {
      case 'operator-leader': {
        const id = await waitFor('an operator leads', () => c.leader(), ceiling);
        run.start = Date.now();
        supervisor.expectDown(`operator/${id}`);
        await c.killOperator(id);
        await c.startOperator(id);
        supervisor.expectUp(`operator/${id}`);
        break;
      }
      case 'agent':
        supervisor.expectDown(`agent/${n}`);
        await c.agents.stopAgent(n!, 'KILL');
        await c.agents.startAgent(n!);
        supervisor.expectUp(`agent/${n}`);
        break;
      case 'bird':
        supervisor.expectDown(`bird/${n}`);
        await c.killBird(n!);
        break;
      case 'etcd':
        await c.dc.cp.restartEtcd('kill');
        break;
      case 'apiserver':
        await c.dc.cp.restartApiserver('kill');
        break;
      case 'network-cut':
        await c.disconnect(n!);
        await sleep(cfg.cutMs); // the fault's length, not a synchronisation
        await c.reconnect(n!);
        break;
      case 'watch-expiry':
        run.expiredBefore = await c.watchExpiries();
        await retry('etcd compaction', () => c.compactEtcd(), ceiling);
        await c.cutApiConnections();
        // The watches cut resume from their version, which the compaction removed: each answers 410 and relists.
        await waitFor(
          'a watch answered 410 Gone after the compaction',
          async () => ((await c.watchExpiries()) > run.expiredBefore! ? true : undefined),
          ceiling,
        ).catch(() => undefined);
        break;
      case 'node-delete':
        await workload.hold(n!);
        await stopStreams(n!);
        await retry(`deleting Node ${n}`, () => c.deleteNode(n!), ceiling);
        // Kubernetes' PodGC deletes the Pods bound to a Node that no longer exists; they still run on the machine.
        await retry(`deleting the Pods of ${n}`, () => workload.orphanNode(n!), ceiling);
        await waitFor(`IPAM of the deleted node ${n} released`, () => releasedFor(n!), ceiling);
        supervisor.expectDown(`agent/${n}`);
        await c.agents.stopAgent(n!, 'TERM');
        await workload.dropNode(n!);
        fixed.delete(n!);
        await retry(`creating Node ${n}`, () => c.createNode(n!), ceiling);
        await c.agents.startAgent(n!);
        supervisor.expectUp(`agent/${n}`);
        workload.release(n!);
        break;
    }
    run.end = Date.now();
    return run;
  };

  const checkInvariants = async (label: string): Promise<void> => {
    const resume = await workload.quiesce(cfg.recoveryCeilingMs);
    try {
      const check = await ipamCheck(c, workload, cfg.leakGraceS * 1000);
      pendingLeaks += check.pendingLeaks;
      transientCheckErrors += check.passing.length;
      for (const e of check.passing) log(`[chaos ${cfg.name}] ${label}: ipam check, gone at the second look: ${e}`);
      for (const e of check.errors) ipamCheckFailures.push(`${label}: ${e}`);
      const state = await retry('reading the cluster', () => readCluster(c.client), cfg.recoveryCeilingMs);
      for (const l of leaks(state, workload, Date.now(), cfg.leakGraceS * 1000)) leakFailures.push(`${label}: ${l}`);
      const handles = handleNodes(state, workload);
      handlesChecked += handles.checked;
      for (const h of handles.problems) handleFailures.push(`${label}: ${h}`);
    } finally {
      resume();
    }
    const tally = tallyWrites(await c.auditLines());
    const rewrites = [...tally.byResource.values()].flatMap((t) => t.rewrites);
    if (rewrites.length > lastRewrites) rewriteLog.push(...rewrites.slice(lastRewrites).map((r) => `${label}: ${r}`));
    lastRewrites = rewrites.length;
  };

  let report: ChaosReport | undefined;
  try {
    await waitFor('an operator leads', () => c.leader(), cfg.recoveryCeilingMs);
    await monitor.start();
    for (const n of nodeNames) await makeFixed(n);
    for (const n of nodeNames) {
      for (let k = 1; k <= reach; k++) await startStream(fixed.get(n)!.pinger, fixed.get(ahead(n, k))!.target);
    }
    await waitConverged(Date.now());
    supervisor.start();
    workload.start();
    setupMs = Date.now() - t0;
    log(`[chaos ${cfg.name}] cluster ready in ${(setupMs / 1000).toFixed(1)} s: ${nodeNames.join(', ')}`);
    await checkInvariants('start');

    runStart = Date.now();
    const waves = planWaves({
      kinds: cfg.kinds,
      perKind: cfg.perKind,
      nodes: nodeNames,
      maxPerWave: cfg.maxPerWave,
      windowMs: 5_000,
      cutWindowMs: cfg.cutMs - 5_000,
      random,
    });
    log(`[chaos ${cfg.name}] ${waves.length} waves, ${waves.reduce((n, w) => n + w.faults.length, 0)} faults`);
    for (const wave of waves) {
      const label = `wave ${wave.index + 1}/${waves.length}`;
      log(
        `[chaos ${cfg.name}] ${label}: ${wave.faults.map((f) => `${f.kind}${f.node ? `@${f.node}` : ''}+${f.offsetMs}ms`).join(', ')}`,
      );
      const waveStart = Date.now();
      const runs = await Promise.all(wave.faults.map((f) => inject(wave.index, f)));
      const lifted = Math.max(...runs.map((r) => r.end));
      phasesMs.faults += lifted - waveStart;
      let recovered;
      try {
        recovered = await waitConverged(lifted);
      } catch (e) {
        failures.push(`${label}: ${(e as Error).message}`);
        if (/kernel routes differ|plan differs/.test((e as Error).message)) routeFailures.push(label);
        faults.push(...runs);
        throw e;
      }
      for (const r of runs) {
        if (r.expiredBefore !== undefined) r.expired = (await c.watchExpiries()) - r.expiredBefore;
        r.recoveryMs = recovered.recoveredAt - r.end;
        if (r.kind === 'bird') supervisor.expectUp(`bird/${r.node}`);
      }
      routeConvergenceMs.push(Math.max(0, recovered.routesAt - lifted));
      phasesMs.recovery += recovered.recoveredAt - lifted;
      const checksStart = Date.now();
      faults.push(...runs);
      for (const r of runs.filter((x) => x.kind === 'node-delete')) {
        const n = r.node!;
        await makeFixed(n);
        for (let k = 1; k <= reach; k++) {
          await startStream(fixed.get(n)!.pinger, fixed.get(ahead(n, k))!.target);
          await startStream(fixed.get(ahead(n, -k))!.pinger, fixed.get(n)!.target);
        }
      }
      await checkInvariants(label);
      const checksMs = Date.now() - checksStart;
      phasesMs.checks += checksMs;
      log(
        `[chaos ${cfg.name}] ${label} recovered in ${((recovered.recoveredAt - lifted) / 1000).toFixed(1)} s ` +
          `(routes ${((recovered.routesAt - lifted) / 1000).toFixed(1)} s; faults took ${fmtS(lifted - waveStart)}, ` +
          `checks ${fmtS(checksMs)}); pods ${JSON.stringify(workload.counts)}`,
      );
    }

    // The end: churn stops, the cluster settles, and GC gets its grace to release every leaked address.
    await workload.stop();
    const settled = await waitConverged(Date.now());
    const graceMs = cfg.leakGraceS * 1000 + 2 * GC_INTERVAL_MS + 30_000;
    const leakWait = Date.now();
    await waitFor(
      'every leaked address released',
      async () => {
        const s = await readCluster(c.client);
        return leaks(s, workload, Number.MAX_SAFE_INTEGER, 0).length === 0 ? true : undefined;
      },
      graceMs,
    ).catch((e: Error) => leakFailures.push(`end: ${e.message}`));
    log(
      `[chaos ${cfg.name}] settled ${((settled.recoveredAt - settled.routesAt) / 1000).toFixed(1)} s; leaks released after ${((Date.now() - leakWait) / 1000).toFixed(1)} s`,
    );
    await checkInvariants('end');
  } catch (e) {
    failures.push((e as Error).message);
  } finally {
    await supervisor.stop();
    await workload.stop();
    for (const s of streams)
      records.push(
        await s
          .stop()
          .catch(() => ({ from: s.from.name, to: s.to.name, intervalMs: 200, start: 0, stop: 0, replies: [] })),
      );
    await monitor.stop();
    const tally = tallyWrites(await c.auditLines().catch(() => []));
    const expiries = faults.filter((f) => f.kind === 'watch-expiry').map((f) => f.expired ?? 0);
    // A fault's loss window comes from the streams no other fault of its wave cut (a stream to a node another fault
    // cut from the network would charge that cut to every fault beside it); none such, no figure.
    const nodeOf = (endpoint: string): string => endpoint.slice(endpoint.lastIndexOf('@') + 1);
    for (const f of faults) {
      if (f.recoveryMs === undefined) continue;
      const to = f.end + f.recoveryMs;
      const others = new Set(
        faults.filter((g) => g !== f && g.wave === f.wave && g.node !== undefined).map((g) => g.node!),
      );
      const gaps = records
        .filter((r) => r.start <= f.start && r.stop >= to)
        .filter((r) => !others.has(nodeOf(r.from)) && !others.has(nodeOf(r.to)))
        .map((r) => lossWindowMs(r.replies, r, f.start, to));
      if (gaps.length > 0) f.lossMs = Math.max(...gaps);
    }
    const figures: FaultFigures[] = cfg.kinds.map((kind) => {
      const of = faults.filter((f) => f.kind === kind && f.recoveryMs !== undefined);
      return {
        kind,
        count: of.length,
        recoveryMs: of.map((f) => f.recoveryMs!),
        lossMs: of.flatMap((f) => (f.lossMs === undefined ? [] : [f.lossMs])),
      };
    });
    const ndp = tally.byResource.get('nodedataplanes') ?? { writes: 0, changes: 0, failed: 0, rewrites: [] };
    const rt = tally.byResource.get('routetables') ?? { writes: 0, changes: 0, failed: 0, rewrites: [] };
    const loops = supervisor.crashLoops(300_000, 2);
    const invariants: InvariantResult[] = [
      {
        name: 'recovered after every wave',
        held: failures.length === 0,
        detail: failures.join(' / ') || `${faults.length} faults`,
      },
      {
        name: 'tabby ipam check: no error',
        held: ipamCheckFailures.length === 0,
        detail:
          ipamCheckFailures.join(' / ') ||
          `after every wave and at the end, churn held (${pendingLeaks} leaks reported within GC's grace, released after it; ${transientCheckErrors} errors gone at a second check: IPAM GC in flight)`,
      },
      {
        name: 'no address held twice',
        held: monitor.violations.length === 0 && workload.violations.length === 0,
        detail:
          [...monitor.violations, ...workload.violations].map((v) => v.what).join(' / ') ||
          `${monitor.events} IPAMBlock states watched, ${workload.counts.adds} pod ADDs compared`,
      },
      {
        name: 'no address leaked after GC grace',
        held: leakFailures.length === 0,
        detail: leakFailures.join(' / ') || `${workload.counts.leaks} pods deleted without CNI DEL, all released`,
      },
      {
        name: 'pod handles record their node',
        held: handleFailures.length === 0 && handlesChecked > 0,
        detail: handleFailures.join(' / ') || `${handlesChecked} handles of this run's pods looked at, over all checks`,
      },
      {
        name: 'kernel routes equal the plan',
        held: routeFailures.length === 0 && routeConvergenceMs.length > 0,
        detail: `${routeFailures.length > 0 ? `not after ${routeFailures.join(', ')}; ` : ''}after every wave, within p50 ${fmtS(percentile(routeConvergenceMs, 50))} / max ${fmtS(percentile(routeConvergenceMs, 100))} of the last fault`,
      },
      {
        name: 'no NodeDataplane/RouteTable rewrite',
        held: ndp.rewrites.length === 0 && rt.rewrites.length === 0,
        detail:
          `NodeDataplane ${ndp.writes} writes/${ndp.changes} changes, RouteTable ${rt.writes} writes/${rt.changes} changes` +
          (ndp.rewrites.length + rt.rewrites.length > 0
            ? `; rewrites: ${[...ndp.rewrites, ...rt.rewrites].slice(0, 5).join(' / ')}`
            : '') +
          (tally.unreadable > 0 ? `; ${tally.unreadable} audit lines cut by a crash` : ''),
      },
      {
        name: 'no unexpected exit, no crash loop',
        held: loops.length === 0 && supervisor.crashes.length === 0,
        detail:
          supervisor.crashes.map((x) => `${x.process} at +${Math.round((x.at - t0) / 1000)} s`).join(', ') ||
          'no unexpected exit',
      },
      {
        name: 'watches expired (410) on compaction',
        held: expiries.every((n) => n > 0),
        detail: `relists per compaction: ${expiries.join(', ') || 'none run'}`,
      },
    ];
    const runMs = runStart > 0 ? Date.now() - runStart : 0;
    const totalMs = Date.now() - t0;
    const text = [
      `chaos ${cfg.name} (seed ${cfg.seed}, ${cfg.nodes} nodes, ${faults.length} faults in ${new Set(faults.map((f) => f.wave)).size} waves): setup ${fmtS(setupMs)}, faults and checks ${fmtS(runMs)} (faults in place and lifted ${fmtS(phasesMs.faults)}, recovery ${fmtS(phasesMs.recovery)}, checks ${fmtS(phasesMs.checks)}), total ${fmtS(totalMs)}`,
      faultTable(figures),
      'recovery: from the fault lifted to every check passing (operator leads, every node programmed at its revision,\n' +
        'kernel routes equal to the plan, BIRD mesh Established, every ping stream answering); the faults of a wave\n' +
        'overlap, so a figure includes what the others of its wave took. ping loss: the longest gap of a ping stream\n' +
        '(every 200 ms) within the fault, over the streams to and from nodes no other fault of its wave hit.',
      invariantTable(invariants),
      `pods: ${JSON.stringify(workload.counts)}; rewrites: ${rewriteLog.length}`,
    ].join('\n\n');
    report = {
      config: cfg,
      faults,
      figures,
      invariants,
      routeConvergenceMs,
      setupMs,
      runMs,
      phasesMs,
      totalMs,
      counts: { ...workload.counts },
      text,
    };
    if (logDir !== undefined) {
      mkdirSync(logDir, { recursive: true });
      for (const [file, text] of await c.logs().catch(() => new Map<string, string>())) {
        writeFileSync(join(logDir, file), text);
      }
    }
    await c.stop();
  }
  return report;
}

function fmtS(ms: number | undefined): string {
  return ms === undefined ? '-' : `${(ms / 1000).toFixed(1)} s`;
}
