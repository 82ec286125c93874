// The file-system half of the input reader: turns paths (files or folders, `-` for stdin) into file contents for
// the pure reader in src/api/reader.ts. Folders are read one level deep, *.yaml / *.yml / *.json, sorted by name.
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { readInputs, type InputFile, type ReadResult } from '../api/reader.js';

const INPUT_EXTENSIONS = /\.(ya?ml|json)$/i;

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function loadInputFiles(paths: readonly string[]): Promise<InputFile[]> {
  const files: InputFile[] = [];
  for (const p of paths) {
    if (p === '-') {
      files.push({ name: '(stdin)', content: await readStdin() });
      continue;
    }
    const s = await stat(p);
    if (s.isDirectory()) {
      const names = (await readdir(p)).filter((n) => INPUT_EXTENSIONS.test(n)).sort();
      for (const n of names) files.push({ name: join(p, n), content: await readFile(join(p, n), 'utf8') });
    } else {
      files.push({ name: p, content: await readFile(p, 'utf8') });
    }
  }
  return files;
}

/** Reads and validates every object in the given files and folders. */
export async function readInputPaths(paths: readonly string[]): Promise<ReadResult> {
  return readInputs(await loadInputFiles(paths));
}
