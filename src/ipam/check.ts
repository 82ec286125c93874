// Consistency check of IPAM state (backs `tabby ipam check`, and asserts the invariants in tests).
//
// Inputs: every IPAMBlock, BlockAffinity and IPAMHandle; optionally the existing Nodes, Pods and IP pools.
// Output: findings as `Issue`s (src/api/errors.ts) naming the object and field, sorted, each with a severity, and
// a summary of counts. `errors` > 0 means something is wrong (exit code 1 for the CLI).
//
// Errors:
// - invalidBlock: a block's ordinals are not partitioned between `unallocated` and `allocations` (an address could
//   be handed out twice or be lost), or an allocation points at a missing attribute.
// - duplicateAllocation: one address allocated in two blocks (overlapping block CIDRs), or held by two pods.
// - affinityWithoutBlock: a confirmed affinity whose block is missing or affine to someone else.
// - blockWithoutAffinity: a block affine to `host:N` with no confirmed affinity for N.
// - blockOfDeletedNode / affinityOfDeletedNode: ownership by a Node that no longer exists (needs `nodes`).
// - handleMismatch: a handle's per-block count differs from the block's allocations under that handle;
//   allocationWithoutHandle: an allocation names a handle that has no IPAMHandle.
// - leakedAddress: an allocation whose pod no longer exists (or runs elsewhere / lists another address), or a
//   tunnel address of a deleted node (needs `nodes` and `pods`).
// Warnings: affinities in a transitional state (pending, pendingDeletion — a claim or release in flight, or
// interrupted), blocks outside every pool, allocations with no owner attributes.
import type { Issue } from '../api/errors.js';
import { cidrContainsCidr, compareCidr, parseCidr } from '../net/index.js';
import { type AllocationRecord, type PodInfo, allocationValidity, allocationsOf, podKey } from './allocations.js';
import { type Versioned, affinityKey, blockKey, handleKey } from './block-store.js';
import { blockShapeProblems } from './block.js';
import {
  ATTR_NAMESPACE,
  ATTR_POD,
  type BlockAffinityData,
  type IPAMBlockData,
  type IPAMHandleData,
  affinityIsConfirmed,
  affinityNode,
  hostAffinity,
} from './model.js';
import { type IpamPool, poolContaining } from './pools.js';

export type Severity = 'error' | 'warning';

export interface Finding extends Issue {
  severity: Severity;
}

export interface CheckInput {
  blocks: readonly (IPAMBlockData | Versioned<IPAMBlockData>)[];
  affinities: readonly (BlockAffinityData | Versioned<BlockAffinityData>)[];
  handles: readonly (IPAMHandleData | Versioned<IPAMHandleData>)[];
  /** Names of existing Nodes; without it node-related checks are skipped. */
  nodes?: ReadonlySet<string>;
  /** Existing pods by `namespace/name`; without it leak checks on pod addresses are skipped. */
  pods?: ReadonlyMap<string, PodInfo>;
  pools?: readonly IpamPool[];
}

export interface CheckSummary {
  blocks: number;
  affinities: number;
  handles: number;
  allocations: number;
  errors: number;
  warnings: number;
}

export interface CheckResult {
  findings: Finding[];
  summary: CheckSummary;
}

function unwrap<T>(x: T | Versioned<T>): T {
  return typeof x === 'object' && x !== null && 'version' in x && 'value' in x ? (x as Versioned<T>).value : (x as T);
}

const blockObj = (cidr: string) => ({ kind: 'IPAMBlock', name: safeName(() => blockKey(cidr), cidr) });
const affObj = (a: BlockAffinityData) => ({
  kind: 'BlockAffinity',
  name: safeName(() => affinityKey(a.node, a.cidr), `${a.node}-${a.cidr}`),
});
const handleObj = (id: string) => ({ kind: 'IPAMHandle', name: handleKey(id) });

function safeName(f: () => string, fallback: string): string {
  try {
    return f();
  } catch {
    return fallback;
  }
}

export function checkIpam(input: CheckInput): CheckResult {
  const findings: Finding[] = [];
  const err = (f: Omit<Finding, 'severity'>) => findings.push({ ...f, severity: 'error' });
  const warn = (f: Omit<Finding, 'severity'>) => findings.push({ ...f, severity: 'warning' });
  const blocks = input.blocks.map(unwrap);
  const affinities = input.affinities.map(unwrap);
  const handles = input.handles.map(unwrap);

  // Blocks: shape, then allocations.
  const records: AllocationRecord[] = [];
  const parsed: { b: IPAMBlockData; cidr: ReturnType<typeof parseCidr> }[] = [];
  for (const b of blocks) {
    let cidr;
    try {
      cidr = parseCidr(b.cidr);
    } catch (e) {
      err({ code: 'invalidBlock', object: blockObj(b.cidr), path: ['spec', 'cidr'], message: (e as Error).message });
      continue;
    }
    const size = 2 ** ((cidr.family === 4 ? 32 : 128) - cidr.prefix);
    const problems = blockShapeProblems(b, size);
    for (const p of problems)
      err({ code: 'invalidBlock', object: blockObj(b.cidr), path: ['spec', 'allocations'], message: p });
    // A malformed block's allocations still count for handles and leaks; its length must fit its CIDR, though.
    if (b.allocations.length === size) records.push(...allocationsOf(b));
    if (problems.length > 0) continue;
    parsed.push({ b, cidr });
    if (input.pools !== undefined && poolContaining(input.pools, cidr) === undefined) {
      warn({
        code: 'blockOutsidePools',
        object: blockObj(b.cidr),
        path: ['spec', 'cidr'],
        message: 'block lies in no IP pool',
      });
    }
  }

  // Duplicates across overlapping blocks (the only way one address can sit in two blocks). Prefixes overlap only by
  // containment, so a sweep in (network, prefix) order with a stack of enclosing blocks finds every pair.
  const sorted = [...parsed].sort((x, y) => compareCidr(x.cidr, y.cidr));
  const stack: typeof parsed = [];
  for (const cur of sorted) {
    while (stack.length > 0 && !cidrContainsCidr(stack[stack.length - 1]!.cidr, cur.cidr)) stack.pop();
    if (stack.length > 0) {
      const mine = allocationsOf(cur.b);
      for (const outer of stack) {
        const inOuter = new Set(allocationsOf(outer.b).map((r) => r.address));
        for (const r of mine) {
          if (!inOuter.has(r.address)) continue;
          err({
            code: 'duplicateAllocation',
            object: blockObj(cur.b.cidr),
            path: ['spec', 'allocations', r.ordinal],
            message: `${r.address} is also allocated in overlapping block ${outer.b.cidr}`,
          });
        }
      }
    }
    stack.push(cur);
  }

  // Affinities vs blocks.
  const byCidr = new Map(blocks.map((b) => [b.cidr, b]));
  const confirmedFor = new Set<string>();
  for (const a of affinities) {
    if (a.type !== 'host') continue;
    if (!affinityIsConfirmed(a)) {
      warn({
        code: 'affinityInTransition',
        object: affObj(a),
        path: ['spec', 'state'],
        message: `state ${a.state}: a claim or release is in flight or was interrupted (GC finishes it)`,
      });
      continue;
    }
    confirmedFor.add(`${a.node}\u0000${a.cidr}`);
    const b = byCidr.get(a.cidr);
    if (b === undefined) {
      err({
        code: 'affinityWithoutBlock',
        object: affObj(a),
        path: ['spec', 'cidr'],
        message: `block ${a.cidr} does not exist`,
      });
    } else if (b.affinity !== hostAffinity(a.node)) {
      err({
        code: 'affinityWithoutBlock',
        object: affObj(a),
        path: ['spec', 'node'],
        message: `block ${a.cidr} is affine to ${b.affinity ?? 'no node'}, not host:${a.node}`,
      });
    }
    if (input.nodes !== undefined && !input.nodes.has(a.node)) {
      err({
        code: 'affinityOfDeletedNode',
        object: affObj(a),
        path: ['spec', 'node'],
        message: `node ${a.node} no longer exists`,
      });
    }
  }
  for (const b of blocks) {
    const node = affinityNode(b.affinity);
    if (node === undefined) continue;
    if (!confirmedFor.has(`${node}\u0000${b.cidr}`)) {
      err({
        code: 'blockWithoutAffinity',
        object: blockObj(b.cidr),
        path: ['spec', 'affinity'],
        message: `affine to host:${node} but there is no confirmed BlockAffinity for it`,
      });
    }
    if (input.nodes !== undefined && !input.nodes.has(node)) {
      err({
        code: 'blockOfDeletedNode',
        object: blockObj(b.cidr),
        path: ['spec', 'affinity'],
        message: `node ${node} no longer exists`,
      });
    }
  }

  // Handles vs blocks.
  const actual = new Map<string, Map<string, number>>();
  for (const r of records) {
    if (r.handleId === undefined) continue;
    const m = actual.get(r.handleId) ?? new Map<string, number>();
    m.set(r.block, (m.get(r.block) ?? 0) + 1);
    actual.set(r.handleId, m);
  }
  const handleIds = new Set(handles.map((h) => handleKey(h.handleID)));
  for (const h of handles) {
    const got = actual.get(h.handleID) ?? new Map<string, number>();
    const cidrs = new Set([...Object.keys(h.block), ...got.keys()]);
    for (const cidr of [...cidrs].sort()) {
      const recorded = h.block[cidr] ?? 0;
      const held = got.get(cidr) ?? 0;
      if (recorded !== held) {
        err({
          code: 'handleMismatch',
          object: handleObj(h.handleID),
          path: ['spec', 'block', cidr],
          message: `records ${recorded} address(es) in block ${cidr}, the block holds ${held} under this handle`,
        });
      }
    }
  }
  for (const [id, m] of actual) {
    if (handleIds.has(handleKey(id))) continue;
    for (const cidr of m.keys()) {
      err({
        code: 'allocationWithoutHandle',
        object: blockObj(cidr),
        path: ['spec', 'attributes'],
        message: `allocations under handle ${id} have no IPAMHandle ${handleKey(id)}`,
      });
    }
  }

  // Leaks and duplicate pod addresses.
  if (input.nodes !== undefined && input.pods !== undefined) {
    for (const r of records) {
      if (r.kind === 'other') {
        warn({
          code: 'unknownOwner',
          object: blockObj(r.block),
          path: ['spec', 'allocations', r.ordinal],
          message: `${r.address} has no pod or tunnel attributes; it is never released automatically`,
        });
        continue;
      }
      if (allocationValidity(r, input.nodes, input.pods) === 'invalid') {
        const owner =
          r.kind === 'pod'
            ? `pod ${r.attrs[ATTR_NAMESPACE]}/${r.attrs[ATTR_POD]}`
            : `tunnel of node ${r.node ?? '(none)'}`;
        err({
          code: 'leakedAddress',
          object: blockObj(r.block),
          path: ['spec', 'allocations', r.ordinal],
          message: `${r.address} is held for ${owner}, which no longer uses it`,
        });
      }
    }
  }
  if (input.pods !== undefined) {
    const holders = new Map<string, string>();
    for (const p of [...input.pods.values()].sort((a, b) =>
      podKey(a.namespace, a.name) < podKey(b.namespace, b.name) ? -1 : 1,
    )) {
      for (const ip of p.ips) {
        const other = holders.get(ip);
        if (other !== undefined) {
          err({
            code: 'duplicateAllocation',
            object: { kind: 'Pod', name: podKey(p.namespace, p.name) },
            path: ['status', 'podIPs'],
            message: `${ip} is also the address of pod ${other}`,
          });
        } else holders.set(ip, podKey(p.namespace, p.name));
      }
    }
  }

  findings.sort(compareFindings);
  const errors = findings.filter((f) => f.severity === 'error').length;
  return {
    findings,
    summary: {
      blocks: blocks.length,
      affinities: affinities.length,
      handles: handles.length,
      allocations: records.length,
      errors,
      warnings: findings.length - errors,
    },
  };
}

function compareFindings(a: Finding, b: Finding): number {
  const ka = `${a.severity}\u0000${a.object.kind}\u0000${a.object.name}\u0000${a.path.join('.')}\u0000${a.code}\u0000${a.message}`;
  const kb = `${b.severity}\u0000${b.object.kind}\u0000${b.object.name}\u0000${b.path.join('.')}\u0000${b.code}\u0000${b.message}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}
