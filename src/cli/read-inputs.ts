// The file-system half of the input reader: turns `-f` paths (files, or folders read one level deep for *.yaml /
// *.yml / *.json, sorted by name) into file contents for the pure reader in src/api/reader.ts.
// Every path or folder entry that cannot be read becomes one error naming it and the system's reason with its code
// (`x.yaml: permission denied (EACCES)`); reading goes on, so one run reports them all, and nothing throws.
import * as nodeFs from 'node:fs';
import { join } from 'node:path';
import { getSystemErrorMap } from 'node:util';
import type { InputFile } from '../api/reader.js';

const INPUT_EXTENSIONS = /\.(ya?ml|json)$/;

/** The calls the reader makes (node:fs; tests may substitute failures the machine cannot produce, e.g. as root). */
export interface InputFs {
  statSync(path: string): { isDirectory(): boolean };
  readdirSync(path: string): string[];
  readFileSync(path: string, encoding: 'utf8'): string;
}

/** `permission denied (EACCES)`: the system's own words for an fs error, else its message. */
export function describeFsError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  const known = typeof e.errno === 'number' ? getSystemErrorMap().get(e.errno) : undefined;
  if (known !== undefined) return `${known[1]} (${known[0]})`;
  return err instanceof Error ? err.message : String(err);
}

export function readInputFiles(
  paths: readonly string[],
  fs: InputFs = nodeFs,
): { files: InputFile[]; errors: string[] } {
  const files: InputFile[] = [];
  const errors: string[] = [];
  const attempt = <T>(path: string, fn: () => T): T | undefined => {
    try {
      return fn();
    } catch (err) {
      errors.push(`${path}: ${describeFsError(err)}`);
      return undefined;
    }
  };
  for (const p of paths) {
    const st = attempt(p, () => fs.statSync(p));
    if (st === undefined) continue;
    let names = [p];
    if (st.isDirectory()) {
      const entries = attempt(p, () => fs.readdirSync(p));
      if (entries === undefined) continue;
      names = entries
        .filter((f) => INPUT_EXTENSIONS.test(f))
        .sort()
        .map((f) => join(p, f));
    }
    for (const name of names) {
      const content = attempt(name, () => fs.readFileSync(name, 'utf8'));
      if (content !== undefined) files.push({ name, content });
    }
  }
  return { files, errors };
}
