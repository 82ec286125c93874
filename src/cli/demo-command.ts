// `tabby demo`: Tabby's main job on a local cluster it brings up itself. Today: a real control plane with Tabby's
// CRDs installed; each later milestone (operator, agents, pods) extends this same command.
import { readdirSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { findBinary } from '../devcluster/binaries.js';
import { loadClusterState, stopDetached } from '../devcluster/state.js';
import { bringUp } from './dev-cluster-command.js';

const say = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('bring up a local control plane, install Tabby\'s CRDs and show the result')
    .option('--name <name>', 'dev cluster name', 'demo')
    .option('--crds <dir>', 'folder of CRD manifests to apply', 'crds')
    .option('--stop', 'stop the cluster at the end instead of leaving it running')
    .action(async (opts: { name: string; crds: string; stop?: boolean }) => {
      const previous = await loadClusterState(opts.name);
      if (previous) {
        say(`# stopping the previous '${opts.name}' cluster`);
        await stopDetached(previous);
      }
      const cp = await bringUp(opts.name, true);
      const crdDir = resolve(opts.crds);
      const manifests = existsSync(crdDir) ? readdirSync(crdDir).filter((f) => /\.ya?ml$/.test(f)) : [];
      if (manifests.length > 0) {
        say(`$ kubectl apply -f ${opts.crds}/`);
        const applied = await cp.kubectl(['apply', '-f', crdDir]);
        process.stdout.write(applied.stdout);
        if (applied.code !== 0) throw new Error(`kubectl apply -f ${opts.crds}/ failed:\n${applied.stderr}`);
        await cp.kubectl(['wait', '--for=condition=Established', '--timeout=60s', '-f', crdDir]);
      } else {
        say(`# no CRD manifests in ${opts.crds}/ yet`);
      }
      say('$ kubectl get crds');
      const crds = await cp.kubectl(['get', 'crds']);
      process.stdout.write(crds.stdout || crds.stderr);
      say('');
      say(`kubeconfig: ${cp.kubeconfigPath}`);
      say(`kubectl:    ${findBinary('kubectl')}`);
      if (opts.stop) {
        await stopDetached((await loadClusterState(opts.name))!);
        say(`# cluster '${opts.name}' stopped`);
      } else {
        say(`try:  export KUBECONFIG=${cp.kubeconfigPath} PATH=${join(findBinary('kubectl'), '..')}:$PATH; kubectl get ippools`);
        say(`stop: npx tabby dev-cluster down --name ${opts.name}`);
      }
    });
}
