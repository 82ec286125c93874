// Bundles the CNI plugin (dist/cni/main.js, tsc's output) into dist/cni-bundle/: the runtime starts one plugin
// process per pod operation and Node's ESM loader pays ~1 ms per module file, so the hot path becomes one file,
// tabby-cni.mjs. What only error and CHECK paths import lazily (zod, for messages naming the field) stays in
// separate chunks, loaded only when such a path runs. This folder is what the agent copies onto the host
// (src/cni/install.ts). The check below keeps npm packages out of the start-up path.
import { build } from 'esbuild';
import { rmSync, statSync } from 'node:fs';

const outdir = 'dist/cni-bundle';
rmSync(outdir, { recursive: true, force: true });
const result = await build({
  entryPoints: { 'tabby-cni': 'dist/cni/main.js' },
  outdir,
  outExtension: { '.js': '.mjs' },
  chunkNames: 'lazy-[hash]',
  bundle: true,
  splitting: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  legalComments: 'none',
  metafile: true,
  logLevel: 'warning',
});
const entry = `${outdir}/tabby-cni.mjs`;
// Everything the entry loads before running: itself and the chunks it imports statically (shared code).
const eager = new Set();
const visit = (file) => {
  if (eager.has(file)) return;
  eager.add(file);
  for (const i of result.metafile.outputs[file].imports)
    if (i.kind === 'import-statement' && !i.external) visit(i.path);
};
visit(entry);
const packages = [...eager].flatMap((f) =>
  Object.keys(result.metafile.outputs[f].inputs).filter((p) => p.includes('node_modules/')),
);
if (packages.length > 0) {
  console.error(`bundle-cni: npm packages on the plugin's start-up path: ${[...new Set(packages)].join(', ')}`);
  process.exit(1);
}
const files = Object.keys(result.metafile.outputs).length;
const kib = [...eager].reduce((n, f) => n + statSync(f).size, 0) / 1024;
console.error(
  `bundle-cni: ${entry}: start-up loads ${eager.size} files (${Math.round(kib)} KiB); ${files - eager.size} lazy`,
);
