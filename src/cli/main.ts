// `tabby`: thin wiring only. Each subcommand lazily imports its module so `tabby version` stays instant and a
// command never loads what it does not use.
import { Command } from 'commander';
import { tabbyVersion } from './version.js';
import { registerCommands } from './commands.js';

export async function main(argv: string[]): Promise<number> {
  const program = new Command('tabby')
    .description('Calico-compatible pod networking for Kubernetes: operator, node agent, CNI plugin and tools')
    .version(tabbyVersion(), '-V, --version', 'print the version')
    .showHelpAfterError()
    .exitOverride();
  program
    .command('version')
    .description('print the version of tabby')
    .action(() => {
      process.stdout.write(`tabby ${tabbyVersion()} (node ${process.version})\n`);
    });
  registerCommands(program);
  try {
    await program.parseAsync(argv, { from: 'node' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    const e = err as { code?: string; exitCode?: number };
    if (typeof e.code === 'string' && e.code.startsWith('commander.')) {
      return e.code === 'commander.helpDisplayed' || e.code === 'commander.version' ? 0 : (e.exitCode ?? 2);
    }
    process.stderr.write(`tabby: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}

const code = await main(process.argv);
process.exitCode = code;
