// What an informer event is news to: which of the operator's controllers a change concerns. Each controller's own
// writes come back as events, and most events (status heartbeats, addresses assigned inside a block, the planner's
// own outputs) concern none of them — sending those on would make work, and writes, that follow nothing that changed.
import type { ChangeEvent } from './caches.js';

/** A block claimed or released (or soft-deleted), as opposed to an address assigned or freed inside it. */
export function blockClaimedOrReleased(e: ChangeEvent): boolean {
  if (e.type !== 'update') return e.type !== 'invalid';
  const spec = (o: unknown) => (o as { spec?: { affinity?: string; deleted?: boolean } } | undefined)?.spec;
  return spec(e.old)?.affinity !== spec(e.obj)?.affinity || spec(e.old)?.deleted !== spec(e.obj)?.deleted;
}

/**
 * An agent's status.pathMTU appeared, changed or went (a node deleted): the pools' PathMTU may change. A NodeDataplane
 * created without findings (every join: the planner creates it before the agent probes) changes no pool's condition,
 * so it sends no pool pass — that pass would also stamp the addresses pods took since the last one.
 */
export function pathMtuChanged(e: ChangeEvent): boolean {
  const of = (o: unknown) => JSON.stringify((o as { status?: { pathMTU?: unknown } } | undefined)?.status?.pathMTU);
  return e.type === 'invalid' || of(e.old) !== of(e.obj);
}

/** Labels or annotations changed (what IPAM reads of a Node), as opposed to its status. */
export function nodeMetaChanged(old: unknown, obj: unknown): boolean {
  const meta = (o: unknown) =>
    (o as { metadata?: { labels?: unknown; annotations?: unknown } } | undefined)?.metadata ?? {};
  return (
    JSON.stringify(meta(old).labels ?? {}) !== JSON.stringify(meta(obj).labels ?? {}) ||
    JSON.stringify(meta(old).annotations ?? {}) !== JSON.stringify(meta(obj).annotations ?? {})
  );
}

/** metadata.generation: bumped by the apiserver on spec changes only (status has its own subresource). */
export function generationOf(o: unknown): unknown {
  return (o as { metadata?: { generation?: unknown } } | undefined)?.metadata?.generation;
}
