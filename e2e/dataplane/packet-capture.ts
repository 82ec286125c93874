// Packets on the wire of a node container: tcpdump writes everything matching a capture filter on one interface to
// a file while the test sends traffic; afterwards the file is counted with read filters ("how many VXLAN packets",
// "how many plain ICMP packets between these two pods"). BPF filters like `icmp` match the outer header only, so an
// encapsulated ICMP packet counts as `udp port 4789`, never as `icmp`. Immediate mode: libpcap otherwise hands packets
// over in ring blocks retired after up to a second, and the last ones before stop() would be lost.
import type { ClusterNode } from './cluster.js';
import { stopProcessScript } from './node-processes.js';
import { waitUntil } from './wait-until.js';

export interface Capture {
  /** Stops capturing (after a short grace for packets in flight). */
  stop(): Promise<void>;
  /** Number of captured packets matching a pcap filter. */
  count(filter: string): Promise<number>;
  /** The captured packets matching a filter, one tcpdump line each (for failure messages). */
  print(filter: string): Promise<string>;
}

let counter = 0;

export async function startCapture(node: ClusterNode, iface: string, filter: string): Promise<Capture> {
  const base = `/tmp/capture-${iface}-${++counter}`;
  await node.sh(
    `nohup tcpdump -i ${iface} -nn --immediate-mode -U -w ${base}.pcap '${filter}' >${base}.log 2>&1 </dev/null & echo $! >${base}.pid`,
  );
  await waitUntil(
    `tcpdump on ${node.name} ${iface} to listen`,
    async () => ((await node.exec(['grep', '-q', 'listening on', `${base}.log`])).exitCode === 0 ? true : undefined),
    { timeoutMs: 10_000, everyMs: 50, describe: async () => (await node.exec(['cat', `${base}.log`])).output },
  );
  let stopped = false;
  return {
    async stop() {
      if (stopped) return;
      stopped = true;
      await new Promise((r) => setTimeout(r, 300));
      await node.sh(stopProcessScript(`${base}.pid`, 'TERM'));
    },
    async count(readFilter) {
      const out = await node.sh(`tcpdump -nn -r ${base}.pcap --count '${readFilter}' 2>/dev/null`);
      const m = /(\d+) packets?/.exec(out);
      if (!m) throw new Error(`tcpdump --count printed ${JSON.stringify(out)}`);
      return Number(m[1]);
    },
    async print(readFilter) {
      const packets = await node.sh(`tcpdump -nn -r ${base}.pcap '${readFilter}' 2>/dev/null | head -60`);
      return `${packets}--- tcpdump on ${node.name} ${iface} '${filter}':\n${await node.sh(`cat ${base}.log`)}`;
    },
  };
}
