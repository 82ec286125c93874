// `tabby crds generate --out DIR` writes one CRD YAML per kind from the zod schemas in src/api (what `npm run crds`
// runs); `tabby crds check --dir DIR` exits 1 listing files that are stale, missing or left over (`npm run
// crds:check`, run in CI). Generation itself is pure (src/api/crd-gen.ts); this file only touches the disk.
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';

export interface CrdCheckResult {
  stale: string[];
  missing: string[];
  /** Generated-looking files no kind produces any more. */
  extra: string[];
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

export function registerCrds(program: Command): void {
  const crds = program.command('crds').description('CustomResourceDefinitions generated from the API schemas');
  crds
    .command('generate')
    .description('write one CRD YAML per kind into a folder')
    .requiredOption('--out <dir>', 'output folder')
    .action(async (opts: { out: string }) => {
      const written = await writeCrds(opts.out);
      process.stdout.write(`wrote ${written.length} CRDs to ${opts.out}\n`);
    });
  crds
    .command('check')
    .description('exit 1 when the CRD folder differs from what the schemas generate')
    .requiredOption('--dir <dir>', 'CRD folder')
    .action(async (opts: { dir: string }) => {
      const r = await checkCrds(opts.dir);
      const lines = [
        ...r.stale.map((f) => `stale: ${join(opts.dir, f)}`),
        ...r.missing.map((f) => `missing: ${join(opts.dir, f)}`),
        ...r.extra.map((f) => `no longer generated: ${join(opts.dir, f)}`),
      ];
      if (lines.length > 0) {
        process.stderr.write(`${lines.join('\n')}\nrun \`npm run crds\` and commit the result\n`);
        process.exitCode = 1;
        return;
      }
      process.stdout.write(`${opts.dir} is up to date\n`);
    });
}
