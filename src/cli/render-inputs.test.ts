// `tabby render -f`: every file or folder that cannot be read is reported with its path and the real reason
// (ENOENT, EISDIR, ENOTDIR, ELOOP, EACCES, ...), all of them at once, with exit code 1 and no stack trace.
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { type InputFs, readInputFiles } from './read-inputs.js';
import { registerRender } from './render-command.js';

const EXAMPLE = join(import.meta.dirname, '..', '..', 'examples', 'vxlan-cross-subnet');
const root = mkdtempSync(join(tmpdir(), 'tabby-render-inputs-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
afterEach(() => {
  vi.restoreAllMocks();
  process.exitCode = undefined;
});

/** Runs `tabby render ARGS` in this process: what it printed, its exit code, or what it threw. */
async function render(args: string[]): Promise<{ code: number; stdout: string; stderr: string; threw?: unknown }> {
  let stdout = '';
  let stderr = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((stdout += String(chunk)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((stderr += String(chunk)), true));
  const program = new Command('tabby').exitOverride();
  registerRender(program);
  let threw: unknown;
  try {
    await program.parseAsync(['render', ...args], { from: 'user' });
  } catch (e) {
    threw = e;
  }
  vi.restoreAllMocks();
  const code = typeof process.exitCode === 'number' ? process.exitCode : 0;
  return { code, stdout, stderr, ...(threw === undefined ? {} : { threw }) };
}

describe('tabby render: input files that cannot be read', () => {
  it('a folder holding a directory named like a manifest: the entry is named with EISDIR, nothing crashes', async () => {
    const dir = join(root, 'with-subdir');
    cpSync(EXAMPLE, dir, { recursive: true });
    mkdirSync(join(dir, 'nested.yaml'));
    const r = await render(['-f', dir]);
    expect(r.threw).toBeUndefined();
    expect(r).toEqual({
      code: 1,
      stdout: '',
      stderr: `error: ${join(dir, 'nested.yaml')}: illegal operation on a directory (EISDIR)\n`,
    });
  });

  it('each path gets its own reason, all reported in one run', async () => {
    const file = join(root, 'pool.yaml');
    writeFileSync(
      file,
      'apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: p}\nspec: {cidr: 10.0.0.0/16}\n',
    );
    const loop = join(root, 'loop.yaml');
    symlinkSync(loop, loop);
    const missing = join(root, 'missing.yaml');
    const underFile = join(file, 'x.yaml');
    const r = await render(['-f', missing, loop, underFile, file]);
    expect(r.threw).toBeUndefined();
    expect(r).toEqual({
      code: 1,
      stdout: '',
      stderr:
        `error: ${missing}: no such file or directory (ENOENT)\n` +
        `error: ${loop}: too many symbolic links encountered (ELOOP)\n` +
        `error: ${underFile}: not a directory (ENOTDIR)\n`,
    });
  });

  it('unreadable files and folders (EACCES, which root cannot meet on disk) are named with the reason', () => {
    const denied = (syscall: string, path: string) =>
      Object.assign(new Error(`EACCES: permission denied, ${syscall} '${path}'`), {
        errno: -13,
        code: 'EACCES',
        syscall,
        path,
      });
    const fs: InputFs = {
      statSync: (p) => ({ isDirectory: () => p.startsWith('/dir') }),
      readdirSync: (p) => {
        if (p === '/dir-locked') throw denied('scandir', p);
        return ['a.yaml', 'b.yaml', 'notes.txt'];
      },
      readFileSync: (p) => {
        if (p === '/dir/b.yaml' || p === '/secret.yaml') throw denied('open', p);
        return `# ${p}\n`;
      },
    };
    expect(readInputFiles(['/dir', '/dir-locked', '/secret.yaml', '/ok.yaml'], fs)).toEqual({
      files: [
        { name: '/dir/a.yaml', content: '# /dir/a.yaml\n' },
        { name: '/ok.yaml', content: '# /ok.yaml\n' },
      ],
      errors: [
        '/dir/b.yaml: permission denied (EACCES)',
        '/dir-locked: permission denied (EACCES)',
        '/secret.yaml: permission denied (EACCES)',
      ],
    });
  });
});
