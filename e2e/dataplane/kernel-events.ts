// The kernel's own event stream in a node container, for claims about what did or did not change (and in which order)
// while something happened: `ip -o monitor route link neigh` and, if asked, `bridge monitor fdb`, each into a file.
//
// Neither monitor says when it is listening, and netlink delivers each socket's events in order; so a probe that every
// monitor reports — a throwaway VXLAN device `tprobe…` with one FDB entry, created and deleted — is a barrier: once
// each log shows the probe's deletion, it holds every event from before the probe. `watchKernelEvents` returns only
// after its first barrier (the monitors are listening), and `barrier()` returns the lines up to a new one. The probe
// touches nothing the agent owns (its kernel monitor ignores devices that are not its tunnels).
import type { ClusterNode } from './cluster.js';
import { stopProcessScript } from './node-processes.js';
import { waitUntil } from './wait-until.js';

export interface KernelEvents {
  /**
   * Probes, waits until every monitor has printed the probe, and returns all lines so far without the probes': the
   * `ip monitor` lines in the kernel's order, then the FDB monitor's.
   */
  barrier(): Promise<string[]>;
  /** Stops the monitors. */
  stop(): Promise<void>;
}

let counter = 0;

export async function watchKernelEvents(node: ClusterNode, opts: { fdb?: boolean } = {}): Promise<KernelEvents> {
  const id = ++counter;
  const base = `/tmp/kernel-events-${id}`;
  /** Each monitor, and how it prints the deletion of probe device `dev`. */
  const monitors = [
    {
      name: 'ip',
      argv: 'ip -o monitor route link neigh',
      probed: (dev: string) => new RegExp(`^Deleted \\d+: ${dev}[:@]`),
    },
  ];
  if (opts.fdb === true)
    monitors.push({ name: 'fdb', argv: 'bridge monitor fdb', probed: (dev) => new RegExp(`\\bdev ${dev}\\b`) });
  await node.sh(
    monitors
      .map((m) => `nohup ${m.argv} >${base}.${m.name}.log 2>&1 </dev/null & echo $! >${base}.${m.name}.pid`)
      .join('\n'),
  );
  const stop = async (): Promise<void> => {
    await node.sh(monitors.map((m) => stopProcessScript(`${base}.${m.name}.pid`, 'TERM')).join('; '));
  };
  const read = async (): Promise<string[][]> =>
    (await node.sh(monitors.map((m) => `cat ${base}.${m.name}.log; echo '--- end'`).join('\n')))
      .split('--- end\n')
      .slice(0, monitors.length)
      .map((s) => s.split('\n').filter((l) => l !== ''));
  let probes = 0;
  const barrier = async (): Promise<string[]> => {
    let probedAt = -Infinity;
    let dev: string | undefined;
    const { value } = await waitUntil(
      `kernel event monitors on ${node.name} to print a probe`,
      async () => {
        const logs = await read();
        if (dev !== undefined && monitors.every((m, i) => logs[i]!.some((l) => m.probed(dev!).test(l)))) return logs;
        // A new probe every second until one is seen: the events of a probe made before a monitor listened are lost.
        if (performance.now() - probedAt >= 1000) {
          probedAt = performance.now();
          dev = `tprobe${id}x${++probes}`;
          await node.sh(
            `ip link add ${dev} type vxlan id ${9000 + probes} dstport 4790 && ` +
              `bridge fdb append 00:00:00:00:00:00 dst 192.0.2.${probes % 250} dev ${dev} && ip link del ${dev}`,
          );
        }
        return undefined;
      },
      { timeoutMs: 120_000, everyMs: 50, describe: async () => (await read()).flat().slice(-20).join('\n') },
    );
    return value.flat().filter((l) => !/\btprobe\d+x\d+\b/.test(l));
  };
  try {
    await barrier();
  } catch (e) {
    await stop();
    throw e;
  }
  return { barrier, stop };
}
