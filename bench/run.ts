// Runs the benchmarks in bench/*.bench.ts (or only those whose name contains an argument) one after another.
// Each file's default export prints its own table of figures; benchmarks are never tests and assert nothing.
import { readdirSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

const here = dirname(fileURLToPath(import.meta.url));
const filters = process.argv.slice(2);
const files = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();
if (files.length === 0) {
  console.error(`no benchmark matches ${filters.join(', ') || '(any)'}`);
  process.exitCode = 2;
}
for (const f of files) {
  console.log(`\n== ${f.replace(/\.bench\.ts$/, '')} ==`);
  const mod = (await import(pathToFileURL(join(here, f)).href)) as { default: () => Promise<void> };
  await mod.default();
}
