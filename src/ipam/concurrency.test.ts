// Property tests: concurrent clients against the in-memory store, every store operation's timing chosen by
// fast-check's scheduler (random interleavings of reads, CAS writes and conflicts), in both allocation modes.
// Properties (invariants I1, I3, I5 of index.ts):
// - no address is ever handed to two holders at once;
// - every release returns the address: at the end, the store holds exactly the addresses no one released;
// - counts add up: allocated + free = block size for every block, handles match the blocks (check.ts is clean).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allocationsOf } from './allocations.js';
import { checkIpam } from './check.js';
import { InMemoryBlockStore } from './in-memory-block-store.js';
import { type AllocatorMode, harness, nodes, testPool } from './test-fixtures.js';

type Step =
  | { kind: 'assign'; num: number }
  | { kind: 'releaseHandle'; pick: number }
  | { kind: 'releaseAddress'; pick: number }
  | { kind: 'operatorPass' };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('assign' as const), num: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('releaseHandle' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('releaseAddress' as const), pick: fc.nat() }) },
  // The operator's reconcile (pre-claims, repairs, releases) running between and during the agents' work.
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('operatorPass' as const) }) },
);

const clientArb = fc.record({
  node: fc.integer({ min: 0, max: 2 }),
  steps: fc.array(stepArb, { minLength: 1, maxLength: 8 }),
});

async function runScenario(
  s: fc.Scheduler,
  mode: AllocatorMode,
  clients: { node: number; steps: Step[] }[],
  strictAffinity: boolean,
): Promise<void> {
  const store = new InMemoryBlockStore({ hooks: { before: () => s.schedule(Promise.resolve(), 'store') } });
  const names = ['n0', 'n1', 'n2'];
  const h = harness(mode, {
    pools: [testPool('p', '10.0.0.0/27', { blockSize: 29 })],
    nodes: nodes(...names),
    store,
    config: { strictAffinity },
  });
  // address → handle, for every address handed out and not yet given back (removed before the release is issued,
  // so an address seen here when an assignment returns it was never released: a true double allocation).
  const held = new Map<string, string>();
  const violations: string[] = [];
  let handleSeq = 0;
  const run = async (clientIndex: number, c: { node: number; steps: Step[] }) => {
    const node = names[c.node]!;
    const alloc = h.allocator(node);
    const mine: { handle: string; ips: string[] }[] = [];
    for (const step of c.steps) {
      if (step.kind === 'operatorPass') {
        const results = await h.claimer.reconcile(names);
        for (const r of results) if (r.outcome === 'failed') violations.push(`operator: ${r.error.message}`);
        continue;
      }
      if (step.kind === 'assign') {
        const handle = `c${clientIndex}-${handleSeq++}`;
        const r = await alloc.autoAssign({
          num4: step.num,
          num6: 0,
          handleId: handle,
          attrs: { node, namespace: 'ns', pod: handle },
          node,
          use: 'Workload',
        });
        const ips = (r.v4?.ips ?? []).map((x) => x.split('/')[0]!);
        for (const ip of ips) {
          const other = held.get(ip);
          if (other !== undefined) violations.push(`${ip} handed to ${handle} while held by ${other}`);
          held.set(ip, handle);
        }
        if (ips.length > 0) mine.push({ handle, ips });
        continue;
      }
      if (mine.length === 0) continue;
      const target = mine[step.pick % mine.length]!;
      if (step.kind === 'releaseHandle') {
        mine.splice(mine.indexOf(target), 1);
        for (const ip of target.ips) held.delete(ip);
        await alloc.releaseByHandle(target.handle);
      } else {
        const ip = target.ips.shift()!;
        if (target.ips.length === 0) mine.splice(mine.indexOf(target), 1);
        held.delete(ip);
        const r = await alloc.releaseIPs([{ address: ip, handleId: target.handle }]);
        if (r.unallocated.length > 0) violations.push(`release of ${ip} found it unallocated`);
      }
    }
  };
  await s.waitFor(Promise.all(clients.map((c, i) => run(i, c))));
  await s.waitIdle();

  expect(violations).toEqual([]);
  const snap = store.snapshot();
  const inStore = new Map<string, string | undefined>();
  for (const b of snap.blocks) {
    for (const r of allocationsOf(b.value)) {
      expect(inStore.has(r.address)).toBe(false);
      inStore.set(r.address, r.handleId);
    }
    expect(b.value.unallocated.length + allocationsOf(b.value).length).toBe(b.value.allocations.length);
  }
  expect(new Map([...inStore].sort())).toEqual(new Map([...held].sort()));
  const check = checkIpam({ blocks: snap.blocks, affinities: snap.affinities, handles: snap.handles });
  expect(check.findings.filter((f) => f.severity === 'error')).toEqual([]);
}

describe('concurrent allocation under random schedules', () => {
  // Split mode races only where the operator writes an agent's block (borrowing), so it needs more runs to meet
  // one: with compare-and-swap switched off in the store, 200 runs find a double allocation there.
  it.each([
    { mode: 'calico' as const, strict: false, runs: 60 },
    { mode: 'split' as const, strict: false, runs: 200 },
    { mode: 'calico' as const, strict: true, runs: 60 },
    { mode: 'split' as const, strict: true, runs: 60 },
  ])(
    '$mode mode, strictAffinity=$strict: no double allocation, releases return, counts add up',
    async ({ mode, strict, runs }) => {
      await fc.assert(
        fc.asyncProperty(fc.scheduler(), fc.array(clientArb, { minLength: 2, maxLength: 5 }), (s, clients) =>
          runScenario(s, mode, clients, strict),
        ),
        { numRuns: runs },
      );
    },
  );
});
