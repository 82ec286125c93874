// The registry of subcommands. Each entry module exports `register(program)`; keeping the list here means a new
// command is one line, and main.ts never grows.
import type { Command } from 'commander';
import { registerDevCluster } from './dev-cluster-command.js';
import { registerCrds } from './crds-command.js';
import { registerRender } from './render-command.js';
import { registerOperator } from './operator-command.js';
import { registerAgent } from './agent-command.js';
import { registerIpam } from './ipam-command.js';
import { registerCni } from './cni-command.js';
import { registerDiff } from './diff-command.js';
import { registerExplain } from './explain-command.js';
import { registerWebhook } from './webhook-command.js';

export function registerCommands(program: Command): void {
  registerRender(program);
  registerDevCluster(program);
  registerCrds(program);
  registerOperator(program);
  registerAgent(program);
  registerIpam(program);
  registerCni(program);
  registerDiff(program);
  registerExplain(program);
  registerWebhook(program);
}
