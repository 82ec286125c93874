// What the chaos run watches while faults happen:
// - every IPAMBlock change, as a watch delivers it: an address allocated in two live blocks, or an ordinal both
//   allocated and free, is a double allocation at that moment;
// - every process the run expects to be running (agents, operators, BIRD): one that exits when no fault stopped it
//   crashed; the supervisor starts an agent or operator again as kubelet would, and counts it.
import { IPAMBlockKind, IPAMBlockSchema, type IPAMBlock } from '../../src/api/index.js';
import { createInformer, type Informer, type KubeClient } from '../../src/kube/index.js';
import { cidrContainsCidr, parseCidr } from '../../src/net/index.js';
import type { ChaosCluster } from './chaos-cluster.js';
import type { Violation } from './workload.js';

/** Problems of one block alone and of it against the others (pure). */
export function blockProblems(b: IPAMBlock, others: Iterable<IPAMBlock>): string[] {
  const out: string[] = [];
  if (b.spec.deleted) return out;
  const allocated = new Set<number>();
  b.spec.allocations.forEach((a, ordinal) => {
    if (a !== null) allocated.add(ordinal);
  });
  const free = new Set<number>();
  for (const u of b.spec.unallocated) {
    if (allocated.has(u)) out.push(`${b.spec.cidr}: ordinal ${u} both allocated and free`);
    if (free.has(u)) out.push(`${b.spec.cidr}: ordinal ${u} free twice`);
    free.add(u);
  }
  if (allocated.size === 0) return out;
  const mine = parseCidr(b.spec.cidr);
  for (const o of others) {
    if (o === b || o.spec.deleted || o.spec.cidr === b.spec.cidr) continue;
    const theirs = parseCidr(o.spec.cidr);
    if (!cidrContainsCidr(mine, theirs) && !cidrContainsCidr(theirs, mine)) continue;
    if (o.spec.allocations.some((a) => a !== null))
      out.push(`blocks ${b.spec.cidr} and ${o.spec.cidr} overlap and both allocate addresses`);
  }
  return out;
}

export class DoubleAllocationMonitor {
  readonly violations: Violation[] = [];
  events = 0;
  private readonly informer: Informer<IPAMBlock>;

  constructor(client: KubeClient) {
    this.informer = createInformer({
      name: 'chaos-ipamblocks',
      source: client.kind(IPAMBlockKind).listWatch(),
      schema: IPAMBlockSchema,
      kind: 'IPAMBlock',
      handlers: {
        onAdd: (b) => this.check(b),
        onUpdate: (_old, b) => this.check(b),
      },
    });
  }

  private check(b: IPAMBlock): void {
    this.events++;
    for (const what of blockProblems(b, this.informer.store.list())) this.violations.push({ at: Date.now(), what });
  }

  async start(): Promise<void> {
    this.informer.start();
    if (!(await this.informer.waitForSync())) throw new Error('IPAMBlock monitor stopped before it synced');
  }

  stop(): Promise<void> {
    return this.informer.stop();
  }
}

export interface Crash {
  at: number;
  process: string;
}

/**
 * Looks every `everyMs` at the agents, the operators and BIRD. `expectDown(process)` marks a process a fault is
 * stopping (its exit is no crash) until `expectUp(process)`. BIRD is the agent's to restart: a BIRD that changes
 * pid without a fault is a crash, one missing is left to the agent (and to the convergence check).
 */
export class Supervisor {
  readonly crashes: Crash[] = [];
  private readonly down = new Set<string>();
  private readonly birdPids = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private pass: Promise<void> = Promise.resolve();

  constructor(
    private readonly c: ChaosCluster,
    private readonly everyMs: number,
  ) {}

  expectDown(process: string): void {
    this.down.add(process);
  }

  expectUp(process: string): void {
    this.down.delete(process);
    if (process.startsWith('bird/')) this.birdPids.delete(process.slice(5));
  }

  start(): void {
    const tick = (): void => {
      this.pass = this.look().catch(() => undefined);
      void this.pass.finally(() => {
        if (this.timer !== undefined) this.timer = setTimeout(tick, this.everyMs);
      });
    };
    this.timer = setTimeout(tick, this.everyMs);
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.pass;
  }

  /** Crashes in a row of one process within `windowMs`: more than `max` is a crash loop. */
  crashLoops(windowMs: number, max: number): string[] {
    const by = new Map<string, number[]>();
    for (const c of this.crashes) by.set(c.process, [...(by.get(c.process) ?? []), c.at]);
    const loops: string[] = [];
    for (const [p, times] of by) {
      for (let i = 0; i + max < times.length; i++) {
        if (times[i + max]! - times[i]! <= windowMs) {
          loops.push(`${p}: ${max + 1} crashes within ${windowMs / 1000} s`);
          break;
        }
      }
    }
    return loops;
  }

  private async look(): Promise<void> {
    for (const name of this.c.nodeNames) {
      const agent = `agent/${name}`;
      if (!this.down.has(agent) && (await this.c.agents.agentPid(name)) === undefined && !this.down.has(agent)) {
        this.crashes.push({ at: Date.now(), process: agent });
        await this.c.agents.startAgent(name);
      }
      const bird = `bird/${name}`;
      const pid = await this.c.birdPid(name);
      if (pid === undefined || this.down.has(bird)) continue;
      const known = this.birdPids.get(name);
      if (known !== undefined && known !== pid) this.crashes.push({ at: Date.now(), process: bird });
      this.birdPids.set(name, pid);
    }
    for (const [id, p] of this.c.operators) {
      const process = `operator/${id}`;
      if (this.down.has(process) || (p.child.exitCode === null && p.child.signalCode === null)) continue;
      this.crashes.push({ at: Date.now(), process });
      await this.c.startOperator(id);
    }
  }
}
