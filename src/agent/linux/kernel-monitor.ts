// Watches the kernel for changes to what the agent owns: `ip -o monitor route link neigh` in the target namespace.
//
// Output: a `watch(onChange)` suited to runAgentLoop's `watchKernel`. A line counts when it is a route of the
// agent's protocol (added, changed or "Deleted" by someone), or mentions one of the tunnel devices (link or
// neighbour events). The agent's own applies show up too; the sync they trigger finds nothing to do, so no loop
// forms. If the monitor process dies it is restarted after a pause and a change is signalled (events may be lost).
import { spawn, type ChildProcess } from 'node:child_process';
import { TUNNEL_NAMES } from '../kernel-model.js';
import { type NetworkNamespace, HOST_NAMESPACE, inNamespace } from './command-runner.js';

/** Whether one `ip -o monitor` line concerns state the agent owns. Pure. */
export function isOwnedChange(line: string, routeProtocol: number, devices: readonly string[] = TUNNEL_NAMES): boolean {
  if (new RegExp(`\\bproto ${routeProtocol}\\b`).test(line)) return true;
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
        const [cmd, ...args] = inNamespace(ns, ['ip', '-o', 'monitor', 'route', 'link', 'neigh']);
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
