// Packets on the wire of a node container: tcpdump writes everything matching a capture filter on one interface to
// a file while the test sends traffic; afterwards the file is counted with read filters ("how many VXLAN packets",
// "how many plain ICMP packets between these two pods"). BPF filters like `icmp` match the outer header only, so an
// encapsulated ICMP packet counts as `udp port 4789`, never as `icmp`. Immediate mode and -U: libpcap otherwise hands
// packets over in ring blocks retired after up to a second, and each packet is in the file as soon as tcpdump has it,
// so `waitFor` can count while capturing. A packet the kernel has not yet handed to tcpdump when stop() ends it is
// lost: a test that counts packets waits (`waitFor`) until the ones it expects are in the file, then stops.
import type { ClusterNode } from './cluster.js';
import { stopProcessScript } from './node-processes.js';
import { waitUntil } from './wait-until.js';

export interface Capture {
  /** Waits until at least `n` captured packets match `filter` (while capturing); returns that count. */
  waitFor(filter: string, n: number): Promise<number>;
  /** Stops capturing. */
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
    { timeoutMs: 120_000, everyMs: 50, describe: async () => (await node.exec(['cat', `${base}.log`])).output },
  );
  let stopped = false;
  const count = async (readFilter: string): Promise<number> => {
    const out = await node.sh(`tcpdump -nn -r ${base}.pcap --count '${readFilter}' 2>/dev/null`);
    const m = /(\d+) packets?/.exec(out);
    if (!m) throw new Error(`tcpdump --count printed ${JSON.stringify(out)}`);
    return Number(m[1]);
  };
  const print = async (readFilter: string): Promise<string> => {
    const packets = await node.sh(`tcpdump -nn -r ${base}.pcap '${readFilter}' 2>/dev/null | head -60`);
    return `${packets}--- tcpdump on ${node.name} ${iface} '${filter}':\n${await node.sh(`cat ${base}.log`)}`;
  };
  return {
    async waitFor(readFilter, n) {
      // Reading the file while tcpdump appends to it can meet a half-written last packet: that read counts as not yet.
      const { value } = await waitUntil(
        `${n} packets matching '${readFilter}' on ${node.name} ${iface}`,
        async () => {
          const k = await count(readFilter);
          return k >= n ? k : undefined;
        },
        { timeoutMs: 120_000, everyMs: 100, describe: () => print('') },
      );
      return value;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await node.sh(stopProcessScript(`${base}.pid`, 'TERM'));
    },
    count,
    print,
  };
}
