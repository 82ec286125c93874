// `tabby cni install`: what the agent does at start for the CNI plugin (node runtime + bundle + launcher + conflist
// into the node's CNI folders), as a command of its own — Calico's install-cni — for an init container, a node
// image build, or checking what the agent would write.
import type { Command } from 'commander';
import { renderConflist } from '../cni/conflist.js';
import { installCni } from '../cni/install.js';
import { fromEnv, nodeNameValue } from './flag-values.js';

interface CniInstallFlags {
  binDir: string;
  confDir: string;
  node?: string;
  agentSocket: string;
  copyRuntime: boolean;
}

export function registerCni(program: Command): void {
  const cni = program.command('cni').description('the tabby-cni plugin');
  cni
    .command('install')
    .description(
      'install tabby-cni (with a copy of node and the bundled plugin beside it) and 10-tabby.conflist, atomically',
    )
    .requiredOption('--bin-dir <dir>', 'CNI plugin folder (e.g. /opt/cni/bin)')
    .requiredOption('--conf-dir <dir>', 'CNI config folder (e.g. /etc/cni/net.d)')
    .option(
      '--node <name>',
      'node name written into the conflist (default: $NODE_NAME; none: the agent decides)',
      nodeNameValue('--node'),
    )
    .option('--agent-socket <path>', "the agent's IPAM socket", '/var/run/tabby/ipam.sock')
    .option('--no-copy-runtime', 'run node and the plugin from this installation instead of copies (a checkout)')
    .action((flags: CniInstallFlags) => {
      const node = flags.node ?? fromEnv('NODE_NAME', nodeNameValue);
      const r = installCni({
        binDir: flags.binDir,
        confDir: flags.confDir,
        conflist: renderConflist({ ...(node ? { nodeName: node } : {}), agentSocket: flags.agentSocket }),
        copyRuntime: flags.copyRuntime,
      });
      for (const f of [...r.runtime, r.plugin, r.conflist])
        process.stdout.write(`${f.changed ? 'installed' : 'unchanged'} ${f.path}\n`);
    });
}
