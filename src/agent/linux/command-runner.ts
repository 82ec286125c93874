// Runs the agent's external commands (iproute2, nft, sh) in the right network namespace.
//
// Inputs: argv and optional stdin. Outputs: exit code, stdout, stderr (never throws for a non-zero exit; a command
// that cannot start at all rejects). `NetworkNamespace` says where: the agent's own namespace, a named one
// (`ip netns exec <name>`; iproute2 tools take `-n <name>` for the same switch without an extra exec), or a namespace
// file (`nsenter --net=<path>`), so tests and node containers drive namespaces the same way.
import { spawn } from 'node:child_process';

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CommandRunner {
  run(argv: readonly string[], options?: { input?: string }): Promise<CommandResult>;
}

export type NetworkNamespace = { kind: 'host' } | { kind: 'netns'; name: string } | { kind: 'nsenter'; path: string };

export const HOST_NAMESPACE: NetworkNamespace = { kind: 'host' };

const IPROUTE2 = new Set(['ip', 'bridge']);

/** The argv that runs `argv` inside `ns`. Pure. */
export function inNamespace(ns: NetworkNamespace, argv: readonly string[]): string[] {
  const [tool, ...rest] = argv;
  if (tool === undefined) throw new RangeError('empty command');
  switch (ns.kind) {
    case 'host':
      return [...argv];
    case 'netns':
      return IPROUTE2.has(tool) ? [tool, '-n', ns.name, ...rest] : ['ip', 'netns', 'exec', ns.name, ...argv];
    case 'nsenter':
      return ['nsenter', `--net=${ns.path}`, '--', ...argv];
  }
}

export function describeNamespace(ns: NetworkNamespace): string {
  return ns.kind === 'host' ? 'host' : ns.kind === 'netns' ? `netns ${ns.name}` : `netns file ${ns.path}`;
}

/** Spawns processes directly (no shell). */
export function createProcessRunner(): CommandRunner {
  return {
    run(argv, options) {
      return new Promise((resolve, reject) => {
        const [cmd, ...args] = argv;
        if (cmd === undefined) {
          reject(new RangeError('empty command'));
          return;
        }
        const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
        const out: Buffer[] = [];
        const err: Buffer[] = [];
        child.stdout.on('data', (d: Buffer) => out.push(d));
        child.stderr.on('data', (d: Buffer) => err.push(d));
        child.on('error', reject);
        child.on('close', (code, signal) => {
          resolve({
            code: code ?? (signal !== null ? 128 : 1),
            stdout: Buffer.concat(out).toString('utf8'),
            stderr: Buffer.concat(err).toString('utf8'),
          });
        });
        // A command that exits before reading its input closes the pipe; that is reported by its exit code.
        child.stdin.on('error', () => undefined);
        child.stdin.end(options?.input ?? '');
      });
    },
  };
}

/** A runner that prefixes every command with the namespace switch. */
export function namespacedRunner(base: CommandRunner, ns: NetworkNamespace): CommandRunner {
  if (ns.kind === 'host') return base;
  return { run: (argv, options) => base.run(inNamespace(ns, argv), options) };
}
