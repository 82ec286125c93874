// `tabby dev-cluster up|down|env`: the test harness's control plane for people. `up` runs in the foreground until
// Ctrl-C, or with --detach leaves it running and remembers it for `down` and `env`.
import type { Command } from 'commander';
import { startControlPlane, type ControlPlane } from '../devcluster/control-plane.js';
import { releaseProcesses } from '../devcluster/processes.js';
import { loadClusterState, saveClusterState, stopDetached } from '../devcluster/state.js';
import { clusterNameValue, ipValue } from './flag-values.js';

const progress = (line: string): void => {
  process.stderr.write(`[dev-cluster] ${line}\n`);
};

/** Starts a control plane and, when detaching, hands its processes over to the state file. */
export async function bringUp(name: string, detach: boolean, bindAddress?: string): Promise<ControlPlane> {
  const existing = await loadClusterState(name);
  if (existing) {
    throw new Error(
      `a dev cluster named '${name}' is already recorded (kubeconfig ${existing.kubeconfigPath}); run 'tabby dev-cluster down --name ${name}' first`,
    );
  }
  const cp = await startControlPlane({ name, progress, keepDir: detach, ...(bindAddress ? { bindAddress } : {}) });
  if (detach) {
    const pids = cp.processes.map((p) => p.pid);
    releaseProcesses(pids);
    await saveClusterState({
      name,
      dir: cp.dir,
      server: cp.server,
      kubeconfigPath: cp.kubeconfigPath,
      pids,
      startedAt: new Date().toISOString(),
    });
  }
  return cp;
}

export function registerDevCluster(program: Command): void {
  const dev = program
    .command('dev-cluster')
    .description('a local etcd + kube-apiserver + kube-controller-manager for development');
  dev
    .command('up')
    .description('start a control plane; stays in the foreground until Ctrl-C unless --detach')
    .option('--name <name>', 'cluster name', clusterNameValue('--name'), 'dev')
    .option('--detach', 'leave it running in the background (stop with `tabby dev-cluster down`)')
    .option('--bind-address <ip>', 'address kube-apiserver listens on', ipValue('--bind-address'), '127.0.0.1')
    .action(async (opts: { name: string; detach?: boolean; bindAddress: string }) => {
      const cp = await bringUp(opts.name, opts.detach === true, opts.bindAddress);
      process.stdout.write(`export KUBECONFIG=${cp.kubeconfigPath}\n`);
      if (opts.detach) {
        process.stderr.write(`[dev-cluster] detached; stop it with: tabby dev-cluster down --name ${opts.name}\n`);
        return;
      }
      process.stderr.write('[dev-cluster] running; Ctrl-C stops it\n');
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await cp.stop();
    });
  dev
    .command('down')
    .description('stop a detached control plane and delete its data')
    .option('--name <name>', 'cluster name', clusterNameValue('--name'), 'dev')
    .action(async (opts: { name: string }) => {
      const state = await loadClusterState(opts.name);
      if (!state) {
        process.stderr.write(`no dev cluster named '${opts.name}' is running\n`);
        return;
      }
      await stopDetached(state);
      process.stderr.write(`[dev-cluster] '${opts.name}' stopped\n`);
    });
  dev
    .command('env')
    .description('print the shell line that points kubectl at a detached control plane')
    .option('--name <name>', 'cluster name', clusterNameValue('--name'), 'dev')
    .action(async (opts: { name: string }) => {
      const state = await loadClusterState(opts.name);
      if (!state)
        throw new Error(
          `no dev cluster named '${opts.name}' is running; start one with 'tabby dev-cluster up --detach'`,
        );
      process.stdout.write(`export KUBECONFIG=${state.kubeconfigPath}\n`);
    });
}
