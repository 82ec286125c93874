// Watches the kernel for changes to what the agent owns: `ip -o monitor route link neigh address` in the target
// namespace.
//
// Output: a `watch(onChange)` suited to runAgentLoop's `watchKernel`. A line counts when it is a route of the
// agent's protocol (added, changed or "Deleted" by someone), mentions one of the tunnel devices (link or
// neighbour events), or is a link or address event of a host interface (not a pod's veth): the kernel drops the
// IPv4 routes through a device that goes down, goes away or loses its address without any route notification, so
// only these events say that our routes went (a node's uplink unplugged) and can be programmed again (plugged back)
// — as Felix resyncs an interface's routes when its state or addresses change. The agent's own applies show up
// too; the sync they trigger finds nothing to do, so no loop forms. If the monitor process dies it is restarted
// after a pause and a change is signalled (events may be lost).
import { spawn, type ChildProcess } from 'node:child_process';
import { TUNNEL_NAMES } from '../kernel-model.js';
import { type NetworkNamespace, HOST_NAMESPACE, inNamespace } from './command-runner.js';

/** Pods' host-side veths (Calico's default FelixConfiguration interfacePrefix): their events are pod churn. */
const WORKLOAD_PREFIX = 'cali';

/** The device of a link or address event line (`[Deleted ]<ifindex>: <name>[@<peer>]…`), else undefined. */
function linkOrAddressDevice(line: string): string | undefined {
  return /^(?:Deleted )?\d+: ([^\s:@]+)/.exec(line)?.[1];
}

/** Whether one `ip -o monitor` line concerns state the agent owns. Pure. */
export function isOwnedChange(line: string, routeProtocol: number, devices: readonly string[] = TUNNEL_NAMES): boolean {
  if (new RegExp(`\\bproto ${routeProtocol}\\b`).test(line)) return true;
  const device = linkOrAddressDevice(line);
  if (device !== undefined && !device.startsWith(WORKLOAD_PREFIX)) return true;
  for (const d of devices) {
    if (
      line.includes(` dev ${d} `) ||
      line.endsWith(` dev ${d}`) ||
      line.includes(`: ${d}:`) ||
      line.includes(`: ${d}@`)
    ) {
      return true;
    }
  }
  return false;
}

export interface KernelMonitorOptions {
  namespace?: NetworkNamespace;
  routeProtocol: number;
  restartDelayMs?: number;
}

export function createKernelMonitor(options: KernelMonitorOptions): {
  watch(onChange: () => void): () => void;
} {
  const ns = options.namespace ?? HOST_NAMESPACE;
  return {
    watch(onChange) {
      let child: ChildProcess | undefined;
      let stopped = false;
      let restart: ReturnType<typeof setTimeout> | undefined;
      const start = () => {
        const [cmd, ...args] = inNamespace(ns, ['ip', '-o', 'monitor', 'route', 'link', 'neigh', 'address']);
        const c = spawn(cmd ?? 'ip', args, { stdio: ['ignore', 'pipe', 'ignore'] });
        child = c;
        let buf = '';
        c.stdout?.setEncoding('utf8');
        c.stdout?.on('data', (d: string) => {
          buf += d;
          let nl: number;
          let hit = false;
          while ((nl = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, nl);
            buf = buf.slice(nl + 1);
            if (isOwnedChange(line, options.routeProtocol)) hit = true;
          }
          if (hit) onChange();
        });
        c.on('error', () => undefined);
        c.on('close', () => {
          if (stopped) return;
          restart = setTimeout(() => {
            if (stopped) return;
            onChange();
            start();
          }, options.restartDelayMs ?? 1000);
        });
      };
      start();
      return () => {
        stopped = true;
        if (restart !== undefined) clearTimeout(restart);
        child?.kill();
      };
    },
  };
}
