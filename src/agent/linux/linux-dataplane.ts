// The Linux dataplane: iproute2 `-json` reads, one `ip -batch` (plus one `bridge -batch` for FDB entries) per
// apply, sysctls through /proc/sys, natOutgoing through `nft -f -`.
//
// Reads cost a fixed number of processes whatever the table size: one `ip -json -d -batch -` (links and addresses,
// IPv4 routes of our protocol, permanent neighbours), one `ip -6 -json route show proto N` in parallel, and one
// `bridge -json fdb show dev <dev>` per VXLAN device that exists. Applies cost at most one process per tool.
// `-force` keeps a batch going past a failed line; the failure is mapped back to its object (ip-batch.ts).
// IPIP capability: /sys/module/ipip present, or `modprobe -n` says the module can be loaded; otherwise none
// (this is what a kernel without the module looks like; `ip link add ... type ipip` would say "Unknown device type").
import { access } from 'node:fs/promises';
import type { ApplyFailure, ApplyOutcome, Dataplane } from '../dataplane.js';
import type { KernelPlan } from '../kernel-diff.js';
import type { Observation } from '../kernel-model.js';
import type { KernelCapabilities, SysctlSetting } from '../kernel-target.js';
import { NAT_TABLE_FAMILY, NAT_TABLE_NAME } from '../nat-outgoing.js';
import {
  type CommandRunner,
  type NetworkNamespace,
  HOST_NAMESPACE,
  createProcessRunner,
  describeNamespace,
  inNamespace,
} from './command-runner.js';
import { batchInput, parseBatchErrors, renderBatches } from './ip-batch.js';
import { buildObservation, parseJsonStream } from './ip-json.js';
import { createSysctlAccess } from './sysctl.js';

export interface LinuxDataplaneOptions {
  runner?: CommandRunner;
  namespace?: NetworkNamespace;
  /** Overrides the IPIP probe (tests of the "no module" path on kernels that have it). */
  ipipAvailable?: boolean;
}

export class CommandError extends Error {
  constructor(
    readonly argv: readonly string[],
    readonly code: number,
    readonly stderr: string,
  ) {
    super(`${argv.join(' ')} exited with ${code}: ${stderr.trim() || '(no output)'}`);
    this.name = 'CommandError';
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

export function createLinuxDataplane(options: LinuxDataplaneOptions = {}): Dataplane & {
  namespace: NetworkNamespace;
} {
  const runner = options.runner ?? createProcessRunner();
  const ns = options.namespace ?? HOST_NAMESPACE;
  const sysctl = createSysctlAccess(runner, ns);
  let caps: KernelCapabilities | undefined;

  const run = async (argv: string[], input?: string) => {
    const full = inNamespace(ns, argv);
    const r = await runner.run(full, input === undefined ? undefined : { input });
    return { ...r, argv: full };
  };
  const must = async (argv: string[], input?: string) => {
    const r = await run(argv, input);
    if (r.code !== 0) throw new CommandError(r.argv, r.code, r.stderr);
    return r.stdout;
  };

  return {
    namespace: ns,

    async capabilities() {
      if (caps !== undefined) return caps;
      let ipip = options.ipipAvailable;
      if (ipip === undefined) {
        ipip = await exists('/sys/module/ipip');
        if (!ipip) {
          try {
            ipip = (await runner.run(['modprobe', '-n', '-q', 'ipip'])).code === 0;
          } catch {
            ipip = false; // no modprobe: nothing can load the module either
          }
        }
      }
      caps = { ipip };
      return caps;
    },

    async read(routeProtocol: number): Promise<Observation> {
      const [main, v6] = await Promise.all([
        must(
          ['ip', '-json', '-d', '-batch', '-'],
          `address show\nroute show proto ${routeProtocol}\nneigh show nud permanent\n`,
        ),
        must(['ip', '-6', '-json', 'route', 'show', 'proto', String(routeProtocol)]),
      ]);
      const docs = parseJsonStream(main);
      if (docs.length !== 3) {
        throw new Error(`ip -batch printed ${docs.length} JSON documents, expected 3 (${describeNamespace(ns)})`);
      }
      const [addressShow, routes4, neighbours] = docs;
      const routes6 = parseJsonStream(v6)[0] ?? [];
      const partial = buildObservation({ addressShow, routes: [routes4, routes6], neighbours, fdb: new Map() });
      const vxlans = [...partial.state.links.values()].filter((l) => l.kind === 'vxlan').map((l) => l.name);
      if (vxlans.length === 0) return partial;
      const fdb = new Map<string, unknown>();
      await Promise.all(
        vxlans.map(async (dev) => {
          const out = await must(['bridge', '-json', 'fdb', 'show', 'dev', dev]);
          fdb.set(dev, parseJsonStream(out)[0] ?? []);
        }),
      );
      return buildObservation({ addressShow, routes: [routes4, routes6], neighbours, fdb });
    },

    async apply(plan: KernelPlan, routeProtocol: number): Promise<ApplyOutcome> {
      const batches = renderBatches(plan, routeProtocol);
      const runBatch = async (tool: 'ip' | 'bridge', lines: typeof batches.ip): Promise<ApplyFailure[]> => {
        if (lines.length === 0) return [];
        const r = await run([tool, '-force', '-batch', '-'], batchInput(lines));
        if (r.code === 0 && r.stderr.trim() === '') return [];
        const all = parseBatchErrors(r.stderr, lines);
        // tunl0 appearing with the ipip module is what was asked for (see ip-batch.ts deviceAdd).
        const fs = all
          .filter(
            (f) => !(lines[f.line - 1]?.text === 'link add name tunl0 type ipip' && /File exists/.test(f.message)),
          )
          .map((f) => ({ object: f.object, message: f.message }));
        if (all.length > 0 && fs.length === 0) return [];
        return fs.length > 0 ? fs : [{ object: `${tool} -batch`, message: `exited with ${r.code}` }];
      };
      // FDB entries need their VXLAN device: after the ip batch when it creates one, alongside it otherwise.
      const createsVxlan = plan.linkAdds.some((d) => d.kind === 'vxlan');
      const failures = createsVxlan
        ? [...(await runBatch('ip', batches.ip)), ...(await runBatch('bridge', batches.bridge))]
        : (await Promise.all([runBatch('ip', batches.ip), runBatch('bridge', batches.bridge)])).flat();
      return {
        failures,
        ipLines: batches.ip.length,
        bridgeLines: batches.bridge.length,
        processes: (batches.ip.length > 0 ? 1 : 0) + (batches.bridge.length > 0 ? 1 : 0),
      };
    },

    async ensureSysctls(settings: readonly SysctlSetting[]) {
      const r = await sysctl.ensure(settings);
      return {
        written: r.written,
        failures: r.failed.map((f) => ({ object: `sysctl ${f.path}`, message: f.message })),
      };
    },

    async readNat() {
      const r = await run(['nft', '-s', 'list', 'table', NAT_TABLE_FAMILY, NAT_TABLE_NAME]);
      if (r.code === 0) return r.stdout;
      if (/No such file or directory/.test(r.stderr)) return undefined;
      throw new CommandError(r.argv, r.code, r.stderr);
    },

    async applyNat(script: string) {
      const r = await run(['nft', '-f', '-'], script);
      if (r.code === 0) return undefined;
      return { object: `nftables table ${NAT_TABLE_FAMILY} ${NAT_TABLE_NAME}`, message: r.stderr.trim() };
    },
  };
}
