// Shared flags for commands that talk to a cluster: --kubeconfig (else $KUBECONFIG, else in-cluster when running in
// a pod, else ~/.kube/config), --context.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import type { KubeConfigSource } from '../kube/index.js';

export interface KubeFlags {
  kubeconfig?: string;
  context?: string;
}

export function addKubeFlags(cmd: Command): Command {
  return cmd
    .option('--kubeconfig <path>', 'kubeconfig file (default: $KUBECONFIG, in-cluster config, ~/.kube/config)')
    .option('--context <name>', 'kubeconfig context to use');
}

export function kubeSource(flags: KubeFlags, env: NodeJS.ProcessEnv = process.env): KubeConfigSource {
  const ctx = flags.context ? { context: flags.context } : {};
  if (flags.kubeconfig) return { kubeconfigPath: flags.kubeconfig, ...ctx };
  if (env.KUBECONFIG) return { kubeconfigPath: env.KUBECONFIG.split(':')[0]!, ...ctx };
  if (env.KUBERNETES_SERVICE_HOST) return { inCluster: true };
  const home = join(homedir(), '.kube', 'config');
  if (existsSync(home)) return { kubeconfigPath: home, ...ctx };
  throw new Error('no cluster configured: pass --kubeconfig, set KUBECONFIG, or run in a pod');
}
