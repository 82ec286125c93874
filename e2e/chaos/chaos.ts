// `npm run chaos [-- --short] [-- --seed N] [-- --kinds etcd,network-cut]`: the chaos run (e2e/chaos/run-chaos.ts),
// full size unless --short (the size CI runs in the e2e tier); --kinds injects only the kinds named (to reproduce
// one kind's trouble). Prints the fault and invariant tables, writes the whole report as JSON beside every agent's
// and operator's log, and exits 1 when an invariant was violated.
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FULL, SHORT, runChaos } from './run-chaos.js';
import { FAULT_KINDS, type FaultKind } from './schedule.js';

const args = process.argv.slice(2);
const valueOf = (flag: string): string | undefined => {
  const at = args.indexOf(flag);
  return at >= 0 ? (args[at + 1] ?? '') : undefined;
};
const base = args.includes('--short') ? SHORT : FULL;
const seedArg = valueOf('--seed');
const seed = seedArg === undefined ? base.seed : Number(seedArg);
if (!Number.isInteger(seed) || seedArg === '') {
  console.error(`--seed must be an integer (got ${JSON.stringify(seedArg)})`);
  process.exit(2);
}
const kindsArg = valueOf('--kinds');
const kinds = kindsArg === undefined ? base.kinds : kindsArg.split(',');
const unknown = kinds.filter((k) => !(FAULT_KINDS as readonly string[]).includes(k));
if (kinds.length === 0 || unknown.length > 0) {
  console.error(`--kinds: unknown fault kind ${JSON.stringify(unknown[0] ?? '')} (kinds: ${FAULT_KINDS.join(', ')})`);
  process.exit(2);
}
let stopCluster: (() => Promise<void>) | undefined;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    console.error(`${sig}: stopping the chaos cluster`);
    void (stopCluster?.() ?? Promise.resolve()).finally(() => process.exit(130));
  });
}
const dir = join(tmpdir(), `tabby-chaos-${base.name}-${Date.now()}`);
const report = await runChaos(
  { ...base, seed, kinds: kinds as FaultKind[] },
  (line) => console.log(line),
  (stop) => (stopCluster = stop),
  dir,
);
const file = join(dir, 'report.json');
writeFileSync(file, JSON.stringify(report, null, 1));
console.log(`\n${report.text}\n\nreport: ${file} (and the agents' and operators' logs)`);
process.exit(report.invariants.every((i) => i.held) ? 0 : 1);
