// Throwaway network namespaces plumbed like Calico nodes and pods: for the agent's integration tests, its benchmark
// and demos on one machine (needs root).
//
// A lab names everything `tl<pid>x<n>-<role>` so parallel runs never collide, remembers what it made, and
// `cleanup()` deletes it all (deleting a namespace deletes its interfaces); labs of processes that no longer exist
// are removed when a new lab starts, so a killed test run leaks nothing for long. Pods are plumbed the way the CNI
// plugin does it (calico-user-view.md §1.3): host veth `cali…` with MAC ee:ee:ee:ee:ee:ee, proxy_arp=1 and proxy_delay=0, pod eth0
// with a /32, `169.254.1.1 dev eth0 scope link`, `default via 169.254.1.1`, host route `<ip> dev cali… scope link`.
import { type CommandRunner, createProcessRunner } from './command-runner.js';

export interface Lab {
  readonly id: string;
  /** Creates a namespace `<lab>-<role>` with lo up; returns its name. */
  namespace(role: string): Promise<string>;
  /** One veth pair named `ifname` on both ends, with the given interface addresses (e.g. `192.168.1.11/24`). */
  linkNodes(a: { ns: string; address: string }, b: { ns: string; address: string }, ifname?: string): Promise<void>;
  /** A pod namespace attached to `nodeNs` through host veth `hostIf`, with address `ip` (/32). */
  addPod(nodeNs: string, podRole: string, ip: string, hostIf: string): Promise<string>;
  /** Runs a command inside a namespace; throws with its output unless `allowFail`. */
  exec(
    ns: string,
    argv: readonly string[],
    options?: { input?: string; allowFail?: boolean },
  ): Promise<{ code: number; stdout: string; stderr: string }>;
  cleanup(): Promise<void>;
}

const LAB_PREFIX = 'tl';
let labCounter = 0;

async function must(runner: CommandRunner, argv: readonly string[], input?: string) {
  const r = await runner.run(argv, input === undefined ? undefined : { input });
  if (r.code !== 0) throw new Error(`${argv.join(' ')} failed (${r.code}): ${r.stderr.trim()}`);
  return r;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Deletes namespaces left by labs whose process is gone. */
async function reapStale(runner: CommandRunner): Promise<void> {
  const r = await runner.run(['ip', 'netns', 'list']);
  for (const line of r.stdout.split('\n')) {
    const name = line.split(' ')[0] ?? '';
    const m = new RegExp(`^${LAB_PREFIX}(\\d+)x\\d+-`).exec(name);
    if (m && !alive(Number(m[1]))) await runner.run(['ip', 'netns', 'del', name]);
  }
}

export async function createLab(runner: CommandRunner = createProcessRunner()): Promise<Lab> {
  await reapStale(runner);
  const id = `${LAB_PREFIX}${process.pid}x${labCounter++}`;
  const namespaces: string[] = [];

  const lab: Lab = {
    id,
    async namespace(role) {
      const name = `${id}-${role}`;
      await must(runner, ['ip', 'netns', 'add', name]);
      namespaces.push(name);
      await must(runner, ['ip', '-n', name, 'link', 'set', 'lo', 'up']);
      return name;
    },
    async linkNodes(a, b, ifname = 'eth0') {
      await must(runner, [
        'ip',
        'link',
        'add',
        'name',
        ifname,
        'netns',
        a.ns,
        'type',
        'veth',
        'peer',
        'name',
        ifname,
        'netns',
        b.ns,
      ]);
      for (const side of [a, b]) {
        await must(runner, ['ip', '-n', side.ns, 'addr', 'add', side.address, 'dev', ifname]);
        await must(runner, ['ip', '-n', side.ns, 'link', 'set', ifname, 'up']);
      }
    },
    async addPod(nodeNs, podRole, ip, hostIf) {
      const pod = await lab.namespace(podRole);
      await must(runner, [
        'ip',
        'link',
        'add',
        'name',
        hostIf,
        'netns',
        nodeNs,
        'type',
        'veth',
        'peer',
        'name',
        'eth0',
        'netns',
        pod,
      ]);
      await must(runner, ['ip', '-n', nodeNs, 'link', 'set', hostIf, 'address', 'ee:ee:ee:ee:ee:ee', 'up']);
      // Felix answers the pod's first ARP at once: proxy_arp on, proxy_delay 0 (calico: felix/dataplane/linux/endpoint_mgr.go).
      await must(runner, [
        'ip',
        'netns',
        'exec',
        nodeNs,
        'sh',
        '-c',
        `echo 1 > /proc/sys/net/ipv4/conf/${hostIf}/proxy_arp && echo 0 > /proc/sys/net/ipv4/neigh/${hostIf}/proxy_delay`,
      ]);
      await must(runner, ['ip', '-n', pod, 'addr', 'add', `${ip}/32`, 'dev', 'eth0']);
      await must(runner, ['ip', '-n', pod, 'link', 'set', 'eth0', 'up']);
      await must(runner, ['ip', '-n', pod, 'route', 'add', '169.254.1.1', 'dev', 'eth0', 'scope', 'link']);
      await must(runner, ['ip', '-n', pod, 'route', 'add', 'default', 'via', '169.254.1.1', 'dev', 'eth0']);
      await must(runner, ['ip', '-n', nodeNs, 'route', 'add', `${ip}/32`, 'dev', hostIf, 'scope', 'link']);
      return pod;
    },
    async exec(ns, argv, options = {}) {
      const r = await runner.run(
        ['ip', 'netns', 'exec', ns, ...argv],
        options.input === undefined ? undefined : { input: options.input },
      );
      if (r.code !== 0 && options.allowFail !== true) {
        throw new Error(`in ${ns}: ${argv.join(' ')} failed (${r.code}): ${(r.stderr || r.stdout).trim()}`);
      }
      return r;
    },
    async cleanup() {
      for (const ns of namespaces.splice(0).reverse()) await runner.run(['ip', 'netns', 'del', ns]);
    },
  };
  return lab;
}
