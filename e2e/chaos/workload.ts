// The chaos run's workload: pods made and deleted the way a container runtime does it (a Pod object bound to the
// node, `cnitool add` of Tabby's CNI plugin into a fresh network namespace, `cnitool del` on deletion, retried until
// they succeed as kubelet retries them), a few pods deleted without a CNI DEL (a sandbox lost with its node's
// runtime state: IPAM GC must release their addresses after its grace), and long-lived pods pinging a pod on the
// next node continuously (the loss figures).
//
// Every address a pod holds in its namespace is checked against every other live pod's at each ADD: no address is
// held twice at any moment, as the kernel sees it.
import { createHash } from 'node:crypto';
import type { KubeClient } from '../../src/kube/index.js';
import { stopProcessScript } from '../dataplane/node-processes.js';
import type { ChaosCluster } from './chaos-cluster.js';

export const NAMESPACE = 'chaos';
const CNI_ENV = 'export CNI_PATH=/opt/cni/bin NETCONFPATH=/etc/cni/net.d';

/**
 * The container ID cnitool gives the plugin (it ignores CNI_CONTAINERID): `cnitool-` and the first 10 bytes of the
 * SHA-512 of the network namespace's path, in hex — so the pod's IPAM handle is `k8s-pod-network.<this>`.
 */
export function cnitoolContainerId(netnsPath: string): string {
  return `cnitool-${createHash('sha512').update(netnsPath).digest('hex').slice(0, 20)}`;
}

export type PodState = 'adding' | 'running' | 'deleting' | 'gone';

export interface ChaosPod {
  name: string;
  node: string;
  containerId: string;
  state: PodState;
  ip?: string;
  /** When its Pod object was deleted (the leak clock starts there). */
  deletedAt?: number;
  /** Deleted without a CNI DEL: its address is GC's to release. */
  leaked?: boolean;
  /** Its Pod object was deleted with its node while its sandbox still ran (torn down when the node returns). */
  orphaned?: boolean;
  /** A pinger or ping target: never churned. */
  fixed: boolean;
}

export interface Violation {
  at: number;
  what: string;
}

/**
 * The script a node runs for a pod's CNI ADD or DEL; its exit status is the plugin's. A DEL that failed leaves the
 * network namespace (the sandbox) in place, so the DEL is tried again, as kubelet does, until it succeeds — until
 * then IPAM rightly holds what the failed release left (a block released, its handle not yet deleted).
 */
export function cniScript(
  verb: 'add' | 'del',
  p: Pick<ChaosPod, 'name' | 'containerId'>,
  netnsDir = '/var/run/netns',
): string {
  const netns = `pod-${p.name}`;
  return [
    verb === 'add' ? `ip netns add ${netns} 2>/dev/null || true` : `[ -e ${netnsDir}/${netns} ] || exit 0`,
    CNI_ENV,
    `export CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=${NAMESPACE};K8S_POD_NAME=${p.name};K8S_POD_INFRA_CONTAINER_ID=${p.containerId}"`,
    // A ceiling, as a runtime has one: a plugin stuck behind a cut network must not hold the churn for ever.
    `timeout 120 cnitool ${verb} k8s-pod-network ${netnsDir}/${netns}` +
      (verb === 'del' ? ` && ip netns del ${netns}` : ''),
  ].join('\n');
}

export class Workload {
  readonly pods = new Map<string, ChaosPod>();
  readonly violations: Violation[] = [];
  readonly counts = { adds: 0, addFailures: 0, dels: 0, delFailures: 0, leaks: 0 };
  /** Nodes whose churn is held (a node being deleted). */
  private readonly held = new Set<string>();
  private readonly busy = new Map<string, Promise<void>>();
  private running = false;
  private loops: Promise<void>[] = [];
  private seq = 0;

  constructor(
    private readonly c: ChaosCluster,
    private readonly client: KubeClient,
    private readonly random: () => number,
    private readonly o: { perNode: number; paceMs: number; leakShare: number },
  ) {}

  private newPod(node: string, prefix: string, fixed: boolean): ChaosPod {
    const name = `${prefix}-${node}-${(++this.seq).toString(36)}`;
    const containerId = cnitoolContainerId(`/var/run/netns/pod-${name}`);
    const pod: ChaosPod = { name, node, containerId, state: 'adding', fixed };
    this.pods.set(name, pod);
    return pod;
  }

  private async createPodObject(p: ChaosPod): Promise<void> {
    await this.client.pods().create(
      {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: p.name, namespace: NAMESPACE },
        spec: { nodeName: p.node, containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.10' }] },
      },
      { namespace: NAMESPACE },
    );
  }

  private async deletePodObject(p: ChaosPod): Promise<void> {
    await this.client
      .pods()
      .delete(p.name, { namespace: NAMESPACE, gracePeriodSeconds: 0 })
      .catch((e: unknown) => {
        if (!/not ?found/i.test(String(e))) throw e;
      });
  }

  /** One ADD attempt: true when the pod runs. A failed ADD is cleaned up with a DEL, as a runtime does. */
  async add(p: ChaosPod): Promise<boolean> {
    if (p.state !== 'adding') return p.state === 'running';
    if (p.deletedAt === undefined && !(await this.ensurePodObject(p))) return false;
    const r = await this.c.node(p.node).exec(['bash', '-c', cniScript('add', p)]);
    const json = r.output.indexOf('{');
    if (r.exitCode !== 0 || json < 0) {
      this.counts.addFailures++;
      await this.c.node(p.node).exec(['bash', '-c', cniScript('del', p)]);
      return false;
    }
    const result = JSON.parse(r.output.slice(json)) as { ips: { address: string }[] };
    p.ip = result.ips[0]!.address.split('/')[0]!;
    p.state = 'running';
    this.counts.adds++;
    for (const other of this.pods.values()) {
      if (other !== p && other.ip === p.ip && (other.state === 'running' || other.state === 'deleting')) {
        this.violations.push({
          at: Date.now(),
          what: `${p.ip} held by ${p.name}@${p.node} and ${other.name}@${other.node} (${other.state})`,
        });
      }
    }
    return true;
  }

  private podObjects = new Set<string>();
  private async ensurePodObject(p: ChaosPod): Promise<boolean> {
    if (this.podObjects.has(p.name)) return true;
    try {
      await this.createPodObject(p);
      this.podObjects.add(p.name);
      return true;
    } catch (e) {
      if (/already ?exists/i.test(String(e))) {
        this.podObjects.add(p.name);
        return true;
      }
      return false;
    }
  }

  /** One DEL attempt (CNI DEL, namespace, then the Pod object): true when the pod is gone. */
  async del(p: ChaosPod): Promise<boolean> {
    p.state = 'deleting';
    const r = await this.c.node(p.node).exec(['bash', '-c', cniScript('del', p)]);
    if (r.exitCode !== 0) {
      this.counts.delFailures++;
      return false;
    }
    try {
      await this.deletePodObject(p);
    } catch {
      return false;
    }
    p.state = 'gone';
    p.deletedAt = Date.now();
    this.counts.dels++;
    return true;
  }

  /** The Pod object deleted and the sandbox gone without a CNI DEL: the address is leaked until GC releases it. */
  async leak(p: ChaosPod): Promise<boolean> {
    try {
      await this.deletePodObject(p);
    } catch {
      return false;
    }
    await this.c.node(p.node).exec(['bash', '-c', `ip netns del pod-${p.name}`]);
    p.state = 'gone';
    p.leaked = true;
    p.deletedAt = Date.now();
    this.counts.leaks++;
    return true;
  }

  /** A fixed pod on `node` (pinger or target), added with patience. */
  async fixedPod(node: string, prefix: string, ceilingMs: number): Promise<ChaosPod> {
    const p = this.newPod(node, prefix, true);
    const deadline = Date.now() + ceilingMs;
    while (!(await this.add(p))) {
      if (Date.now() > deadline) throw new Error(`pod ${p.name} could not be added within ${ceilingMs} ms`);
      await new Promise((r) => setTimeout(r, 1000));
    }
    return p;
  }

  start(): void {
    this.running = true;
    this.loops = this.c.nodeNames.map((n) => this.loop(n));
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  /** Holds the churn on `node` and waits for its operation in flight. */
  async hold(node: string): Promise<void> {
    this.held.add(node);
    await this.busy.get(node);
  }

  release(node: string): void {
    this.held.delete(node);
  }

  /**
   * Holds the churn on every node, waits for the operations in flight and retries every pending CNI DEL until it
   * succeeds (as kubelet retries a failed DEL: until then IPAM legitimately holds the half-released address) — the
   * counterpart of calicoctl's datastore lock before `ipam check`. The function returned lets the churn go on; nodes
   * held before stay held.
   */
  async quiesce(ceilingMs: number): Promise<() => void> {
    const mine = this.c.nodeNames.filter((n) => !this.held.has(n));
    await Promise.all(mine.map((n) => this.hold(n)));
    const resume = (): void => mine.forEach((n) => this.release(n));
    const deadline = Date.now() + ceilingMs;
    for (;;) {
      const pending = [...this.pods.values()].filter((p) => p.state === 'deleting' && mine.includes(p.node));
      if (pending.length === 0) return resume;
      for (const p of pending) await this.del(p);
      if (Date.now() > deadline) {
        resume();
        throw new Error(`CNI DEL still failing after ${ceilingMs} ms for ${pending.map((p) => p.name).join(', ')}`);
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  }

  /**
   * The Pod objects of a deleted node deleted (as Kubernetes' PodGC does), their sandboxes still running on the
   * machine: from now on they are gone to the cluster, and IPAM may give their addresses to others.
   */
  async orphanNode(node: string): Promise<void> {
    for (const p of this.pods.values()) {
      if (p.node !== node || p.state === 'gone') continue;
      await this.deletePodObject(p);
      p.state = 'gone';
      p.orphaned = true;
      p.deletedAt = Date.now();
    }
  }

  /** The runtime's teardown of a deleted node's pods when the machine comes back (nothing left to release). */
  async dropNode(node: string): Promise<void> {
    for (const p of this.pods.values()) {
      if (p.node !== node || !p.orphaned) continue;
      await this.c.node(node).exec(['bash', '-c', cniScript('del', p)]);
      await this.c.node(node).exec(['bash', '-c', `ip netns del pod-${p.name} 2>/dev/null; true`]);
      p.orphaned = false;
    }
  }

  private async loop(node: string): Promise<void> {
    while (this.running) {
      await new Promise((r) => setTimeout(r, this.o.paceMs * (0.5 + this.random())));
      if (!this.running || this.held.has(node)) continue;
      const step = this.step(node);
      this.busy.set(node, step);
      await step;
    }
  }

  /** One churn step on `node`: finish what is pending, else add or delete a pod. */
  private async step(node: string): Promise<void> {
    const mine = [...this.pods.values()].filter((p) => p.node === node && !p.fixed && p.state !== 'gone');
    const pending = mine.find((p) => p.state === 'adding' || p.state === 'deleting');
    if (pending) {
      if (pending.state === 'adding') await this.add(pending);
      else await this.del(pending);
      return;
    }
    if (mine.length < this.o.perNode && (mine.length === 0 || this.random() < 0.5)) {
      await this.add(this.newPod(node, 'p', false));
      return;
    }
    const victim = mine[Math.floor(this.random() * mine.length)];
    if (!victim) return;
    if (this.random() < this.o.leakShare) await this.leak(victim);
    else await this.del(victim);
  }

  /** Deletes every pod still there (the end of the run), with patience. */
  async drain(ceilingMs: number): Promise<void> {
    const deadline = Date.now() + ceilingMs;
    for (;;) {
      const left = [...this.pods.values()].filter((p) => p.state !== 'gone');
      if (left.length === 0) return;
      for (const p of left) await this.del(p);
      if (Date.now() > deadline) throw new Error(`pods not deleted within ${ceilingMs} ms: ${left.map((p) => p.name)}`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

export interface PingRecord {
  from: string;
  to: string;
  intervalMs: number;
  start: number;
  stop: number;
  replies: number[];
}

/** `ping -D` from `from` to `to`, until stop(); replies in ms since the epoch (the kernel's clock, shared). */
export class PingStream {
  private static count = 0;
  private readonly base: string;
  readonly startedAt = Date.now();
  record: PingRecord | undefined;

  constructor(
    private readonly c: ChaosCluster,
    readonly from: ChaosPod,
    readonly to: ChaosPod,
    readonly intervalMs: number,
  ) {
    this.base = `/tmp/chaos-ping-${++PingStream.count}`;
  }

  async start(): Promise<void> {
    const interval = (this.intervalMs / 1000).toFixed(3);
    await this.c
      .node(this.from.node)
      .sh(
        `nohup ip netns exec pod-${this.from.name} ping -D -n -i ${interval} -W 1 ${this.to.ip} ` +
          `>${this.base}.log 2>&1 </dev/null & echo $! >${this.base}.pid`,
      );
  }

  /** Reply times so far. */
  async replies(): Promise<number[]> {
    const r = await this.c.node(this.from.node).exec(['cat', `${this.base}.log`]);
    return parseReplies(r.output);
  }

  async stop(): Promise<PingRecord> {
    if (this.record) return this.record;
    await this.c.node(this.from.node).exec(['bash', '-c', stopProcessScript(`${this.base}.pid`, 'INT')]);
    const stop = Date.now();
    this.record = {
      from: `${this.from.name}@${this.from.node}`,
      to: `${this.to.name}@${this.to.node}`,
      intervalMs: this.intervalMs,
      start: this.startedAt,
      stop,
      replies: await this.replies(),
    };
    return this.record;
  }
}

/** Reply times (ms since the epoch) from `ping -D` output, one per sequence number. */
export function parseReplies(output: string): number[] {
  const seen = new Set<number>();
  const out: number[] = [];
  for (const m of output.matchAll(/^\[(\d+\.\d+)\] \d+ bytes from \S+ icmp_seq=(\d+) /gm)) {
    const seq = Number(m[2]);
    if (seen.has(seq)) continue;
    seen.add(seq);
    out.push(Math.round(Number(m[1]) * 1000));
  }
  return out.sort((a, b) => a - b);
}
