// The registry of subcommands. Each entry module exports `register(program)`; keeping the list here means a new
// command is one line, and main.ts never grows.
import type { Command } from 'commander';
import { registerDevCluster } from './dev-cluster-command.js';
import { registerDemo } from './demo-command.js';

export function registerCommands(program: Command): void {
  registerDevCluster(program);
  registerDemo(program);
}
