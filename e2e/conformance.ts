// `npm run conformance [-- --mode VXLANCrossSubnet|VXLAN|BGP] [--ci] [--procs N] [--focus RE] [--keep]`: brings up a
// kubelet cluster whose pod network is Tabby (installed by its Helm chart) and runs Kubernetes' own sig-network
// end-to-end tests against it — the unmodified e2e.test. Prints every spec with its result and duration, the groups
// left out and why, and passed/failed/skipped from e2e.test's JUnit report; exits 1 on any failure. --ci runs what
// `npm test` runs (CI_FOCUS: [Conformance], Granular Checks, HostPort; no [Slow]).
// Reports go to .tabby/conformance/<mode>/ (JUnit XML, e2e.log).
import { resolve } from 'node:path';
import { rm } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { CI_FOCUS, ciSkipFor, excludedIn, FOCUS, runConformance } from './kubelet/conformance.js';
import { MODES, startTabbyKubeCluster, type Mode } from './kubelet/tabby-kube.js';

const { values } = parseArgs({
  options: {
    mode: { type: 'string', default: 'VXLANCrossSubnet' },
    procs: { type: 'string', default: '3' },
    focus: { type: 'string' },
    keep: { type: 'boolean', default: false },
    ci: { type: 'boolean', default: false },
  },
});
const mode = values.mode as Mode;
if (!MODES.includes(mode)) {
  console.error(`--mode ${mode}: expected one of ${MODES.join(', ')}`);
  process.exit(2);
}
const procs = Number(values.procs);
if (!Number.isInteger(procs) || procs < 1 || procs > 8) {
  console.error(`--procs ${values.procs}: expected a whole number from 1 to 8`);
  process.exit(2);
}

const started = Date.now();
const at = (): string => `${((Date.now() - started) / 1000).toFixed(0)} s`;
const log = (l: string): void => console.log(`[conformance ${at()}] ${l}`);
const reportDir = resolve('.tabby', 'conformance', mode);
await rm(reportDir, { recursive: true, force: true });

log(`mode ${mode}: bringing up the cluster`);
const c = await startTabbyKubeCluster({ mode, progress: log });
const bringUp = at();
let exit = 1;
try {
  log(`cluster up in ${bringUp}; running e2e.test (${procs} processes), reports in ${reportDir}`);
  const r = await runConformance({
    kubeconfig: c.cp.kubeconfigPath,
    reportDir,
    nodes: c.nodes.size,
    mode,
    procs,
    ...(values.ci ? { focus: CI_FOCUS, skip: ciSkipFor(mode) } : {}),
    ...(values.focus ? { focus: values.focus } : {}),
    progress: log,
  });
  console.log(`\nSpecs run (${mode}), from ${reportDir}/junit_01.xml:`);
  for (const s of [...r.specs].sort((a, b) => a.name.localeCompare(b.name))) {
    console.log(`  ${s.status.toUpperCase().padEnd(7)} ${s.seconds.toFixed(1).padStart(7)} s  ${s.name}`);
  }
  for (const s of r.specs.filter((x) => x.status !== 'passed')) {
    console.log(`\n${s.status.toUpperCase()}: ${s.name}\n${(s.message ?? '').split('\n').slice(0, 30).join('\n')}`);
  }
  console.log(`\nFocus ${values.focus ?? (values.ci ? CI_FOCUS : FOCUS)}; left out, with the reason:`);
  for (const e of excludedIn(mode)) console.log(`  ${e.pattern.replace(/\\/g, '')}: ${e.reason}`);
  console.log(
    `\n${mode}: ${r.passed} passed, ${r.failed} failed, ${r.skipped} skipped in ${r.seconds.toFixed(0)} s ` +
      `(cluster bring-up ${bringUp}, total ${at()}; e2e.test exit ${r.exitCode})`,
  );
  exit = r.failed === 0 && r.exitCode === 0 ? 0 : 1;
  if (values.keep) {
    console.log(`\nexport KUBECONFIG=${c.cp.kubeconfigPath}   (Ctrl-C stops the cluster)`);
    await new Promise<void>((r2) => process.once('SIGINT', r2));
  }
} finally {
  await c.stop();
}
process.exit(exit);
