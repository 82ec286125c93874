// `tabby ipam release --ip ADDRESS | --handle ID [--force]` (calico: calicoctl ipam release --ip, ReleaseIPs; and
// ReleaseByHandle). What may be released is src/ipam/manual-release.ts's rule: an address GC would keep (its pod
// lives, its node exists) is refused unless --force. Each allocation is released with the block sequence number it
// was read at, so an address reassigned meanwhile is not taken from its new owner. Writes go straight to the
// apiserver with compare-and-swap, as calicoctl's do; agents and the operator see them as any other block change.
// Exit codes: 0 released, 1 refused or nothing to release (the reason on stderr), 2 bad flags.
import type { Command } from 'commander';
import { type ReleaseTarget, ipamPoolsFrom, planManualRelease, podInfos, releaseAddresses } from '../ipam/index.js';
import { blockFromSpec, handleFromSpec } from '../ipam/spec-mapping.js';
import { createKubeClient } from '../kube/index.js';
import { createKubeBlockStore } from '../kube/kube-block-store.js';
import { ipValue } from './flag-values.js';
import { listIpam } from './ipam-command.js';
import { addKubeFlags, kubeSource, type KubeFlags } from './kube-options.js';

export function registerIpamRelease(ipam: Command): void {
  addKubeFlags(
    ipam
      .command('release')
      .description(
        'release one address (--ip) or every address of a handle (--handle), as calicoctl ipam release; ' +
          'an address its pod or node still uses is refused unless --force',
      ),
  )
    .option('--ip <address>', 'the address to release', ipValue('--ip'))
    .option('--handle <id>', 'release every address this handle holds (e.g. k8s-pod-network.<container id>)')
    .option('--force', 'release even an address its pod, or its node, still uses', false)
    .action(async (opts: KubeFlags & { ip?: string; handle?: string; force: boolean }) => {
      if ((opts.ip === undefined) === (opts.handle === undefined)) {
        process.stderr.write('error: give exactly one of --ip or --handle\n');
        process.exitCode = 2;
        return;
      }
      const target: ReleaseTarget = opts.ip !== undefined ? { ip: opts.ip } : { handle: opts.handle! };
      const client = createKubeClient({ source: kubeSource(opts) });
      try {
        const lists = await listIpam(client);
        const plan = planManualRelease(
          target,
          {
            blocks: lists.blocks.items.map((b) => blockFromSpec(b.spec)),
            handles: lists.handles.items.map((h) => handleFromSpec(h.spec)),
            nodes: new Set(lists.nodes.map((n) => n.metadata.name)),
            pods: podInfos(lists.pods),
          },
          opts.force,
        );
        if (plan.kind !== 'release') {
          process.stderr.write(`error: ${plan.message}\n`);
          process.exitCode = 1;
          return;
        }
        const store = createKubeBlockStore(client, { fieldManager: 'tabby-cli' });
        let unallocated: string[];
        try {
          ({ unallocated } = await releaseAddresses(
            store,
            ipamPoolsFrom(lists.pools.items).pools,
            plan.allocations.map((a) => ({
              address: a.address,
              ...(a.handleId === undefined ? {} : { handleId: a.handleId }),
              ...(a.sequenceNumber === undefined ? {} : { sequenceNumber: a.sequenceNumber }),
            })),
          ));
        } catch (e) {
          process.stderr.write(
            `error: ${(e as Error).message} (the allocation changed since it was read; look again)\n`,
          );
          process.exitCode = 1;
          return;
        }
        const released = plan.allocations.map((a) => a.address).filter((a) => !unallocated.includes(a));
        for (const a of unallocated) process.stderr.write(`error: IP address ${a} is not assigned\n`);
        for (const a of released) process.stdout.write(`Successfully released IP address ${a}\n`);
        if (unallocated.length > 0) process.exitCode = 1;
      } finally {
        client.close();
      }
    });
}
