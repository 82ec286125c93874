// `tabby crds generate --out DIR` writes one CRD YAML per kind from the zod schemas in src/api (what `npm run crds`
// runs); `tabby crds check --dir DIR` exits 1 listing files that are stale, missing or left over (`npm run
// crds:check`, run in CI). Generation itself is pure (src/api/crd-gen.ts); this file only touches the disk.
//
// The Helm chart installs CRDs from its own `crds/` folder, which must hold exactly the generated files. Both
// commands therefore also write (check) the chart's copy: `--chart-crds DIR`, by default `charts/tabby/crds` when
// run where that chart exists (the repository root, as npm scripts are), `--no-chart-crds` to leave it alone.
// Likewise the validation table (src/api/validation-table.ts): `--docs FILE`, by default `docs/validation.md` where
// `docs/` exists, `--no-docs` to leave it alone.
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';

export interface CrdCheckResult {
  stale: string[];
  missing: string[];
  /** Generated-looking files no kind produces any more. */
  extra: string[];
}

/** The chart whose crds/ folder mirrors the generated CRDs, relative to the repository root. */
export const CHART_DIR = join('charts', 'tabby');
/** The generated validation table, relative to the repository root. */
export const VALIDATION_DOC = join('docs', 'validation.md');

const validationTable = () => import('../api/validation-table.js');

/** The validation table a command writes or checks: the one given, none for `false`, else docs/validation.md. */
export function validationDoc(docs: string | boolean | undefined, cwd: string): string | undefined {
  if (typeof docs === 'string') return docs;
  if (docs === false || !existsSync(join(cwd, 'docs'))) return undefined;
  return VALIDATION_DOC;
}

export async function writeValidationDoc(file: string): Promise<void> {
  await writeFile(file, (await validationTable()).validationTableMarkdown());
}

/** One line when the committed table differs from what the schemas generate (or is missing). */
export async function checkValidationDoc(file: string): Promise<string[]> {
  const expected = (await validationTable()).validationTableMarkdown();
  const actual = await readFile(file, 'utf8').catch(() => undefined);
  if (actual === undefined) return [`missing: ${file}`];
  return actual === expected ? [] : [`stale: ${file}`];
}

// Loaded on use so that other commands do not pay for zod schema construction at start-up.
const crdGen = () => import('../api/crd-gen.js');

export async function writeCrds(dir: string): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const files = (await crdGen()).generateCrdFiles();
  for (const f of files) await writeFile(join(dir, f.fileName), f.content);
  return files.map((f) => f.fileName);
}

export async function checkCrds(dir: string): Promise<CrdCheckResult> {
  const result: CrdCheckResult = { stale: [], missing: [], extra: [] };
  const { CRD_HEADER, generateCrdFiles } = await crdGen();
  const expected = generateCrdFiles();
  const present = new Set(await readdir(dir).catch(() => [] as string[]));
  for (const f of expected) {
    if (!present.has(f.fileName)) {
      result.missing.push(f.fileName);
      continue;
    }
    const actual = await readFile(join(dir, f.fileName), 'utf8');
    if (actual !== f.content) result.stale.push(f.fileName);
  }
  const names = new Set(expected.map((f) => f.fileName));
  for (const name of [...present].sort()) {
    if (!name.endsWith('.yaml') || names.has(name)) continue;
    const text = await readFile(join(dir, name), 'utf8');
    if (text.startsWith(CRD_HEADER)) result.extra.push(name);
  }
  return result;
}

/**
 * The folders a command writes or checks: `primary`, then the chart's crds/ folder — the one given, none for
 * `false`, else `<cwd>/charts/tabby/crds` when `<cwd>/charts/tabby/Chart.yaml` exists. A folder named twice is
 * listed once.
 */
export function crdDirs(primary: string, chartCrds: string | boolean | undefined, cwd: string): string[] {
  let chart: string | undefined;
  if (typeof chartCrds === 'string') chart = chartCrds;
  else if (chartCrds !== false && existsSync(join(cwd, CHART_DIR, 'Chart.yaml'))) chart = join(CHART_DIR, 'crds');
  const dirs = [primary];
  if (chart !== undefined && resolve(cwd, chart) !== resolve(cwd, primary)) dirs.push(chart);
  return dirs;
}

/** One line per difference, naming the file; empty when every folder is up to date. */
export function formatCheck(dir: string, r: CrdCheckResult): string[] {
  return [
    ...r.stale.map((f) => `stale: ${join(dir, f)}`),
    ...r.missing.map((f) => `missing: ${join(dir, f)}`),
    ...r.extra.map((f) => `no longer generated: ${join(dir, f)}`),
  ];
}

interface ChartFlag {
  chartCrds?: string | boolean;
  docs?: string | boolean;
}

export function registerCrds(program: Command): void {
  const crds = program.command('crds').description('CustomResourceDefinitions generated from the API schemas');
  crds
    .command('generate')
    .description("write one CRD YAML per kind into a folder (and into the Helm chart's crds/ folder)")
    .requiredOption('--out <dir>', 'output folder')
    .option(
      '--chart-crds <dir>',
      `also write the chart's copy here (default: ${join(CHART_DIR, 'crds')} when that chart exists)`,
    )
    .option('--no-chart-crds', "do not write the chart's copy")
    .option('--docs <file>', `also write the validation table here (default: ${VALIDATION_DOC} when docs/ exists)`)
    .option('--no-docs', 'do not write the validation table')
    .action(async (opts: { out: string } & ChartFlag) => {
      for (const dir of crdDirs(opts.out, opts.chartCrds, process.cwd())) {
        const written = await writeCrds(dir);
        process.stdout.write(`wrote ${written.length} CRDs to ${dir}\n`);
      }
      const doc = validationDoc(opts.docs, process.cwd());
      if (doc !== undefined) {
        await writeValidationDoc(doc);
        process.stdout.write(`wrote the validation table to ${doc}\n`);
      }
    });
  crds
    .command('check')
    .description("exit 1 when the CRD folder (or the chart's copy) differs from what the schemas generate")
    .requiredOption('--dir <dir>', 'CRD folder')
    .option(
      '--chart-crds <dir>',
      `also check the chart's copy here (default: ${join(CHART_DIR, 'crds')} when that chart exists)`,
    )
    .option('--no-chart-crds', "do not check the chart's copy")
    .option('--docs <file>', `also check the validation table here (default: ${VALIDATION_DOC} when docs/ exists)`)
    .option('--no-docs', 'do not check the validation table')
    .action(async (opts: { dir: string } & ChartFlag) => {
      const dirs = crdDirs(opts.dir, opts.chartCrds, process.cwd());
      const lines: string[] = [];
      for (const dir of dirs) lines.push(...formatCheck(dir, await checkCrds(dir)));
      const doc = validationDoc(opts.docs, process.cwd());
      if (doc !== undefined) {
        lines.push(...(await checkValidationDoc(doc)));
        dirs.push(doc);
      }
      if (lines.length > 0) {
        process.stderr.write(`${lines.join('\n')}\nrun \`npm run crds\` and commit the result\n`);
        process.exitCode = 1;
        return;
      }
      process.stdout.write(`${dirs.join(' and ')} ${dirs.length > 1 ? 'are' : 'is'} up to date\n`);
    });
}
