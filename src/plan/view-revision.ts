// The revision of a route view as one agent applied it: one digest over the (name, revision) of the view's RouteTable
// shards. An agent reports one short string per view instead of one entry per shard (32 at 300 nodes, 512 at 5,000):
// every agent of a view reports after each join, so the size of that report multiplied into every join's cost
// (issue 17). Whoever compares with a report computes the same digest over the shards it sees — the route readiness
// gate, `tabby explain`, the tests — and shard revisions are content hashes (route-views.ts), so equal digests mean
// equal routes.
// Pure.
import { hash } from 'node:crypto';

export interface ShardRevision {
  readonly name: string;
  readonly revision: string;
}

export interface ViewRevision {
  view: string;
  revision: string;
  /** How many shards the view had. */
  shards: number;
}

export function viewRevision(shards: Iterable<ShardRevision>): string {
  const lines: string[] = [];
  for (const s of shards) lines.push(`${s.name} ${s.revision}`);
  lines.sort();
  return `sha256:${hash('sha256', lines.join('\n'), 'hex').slice(0, 32)}`;
}

/**
 * The revision of each of `views` (duplicates and empty names dropped, sorted), from the shards applied; a shard
 * counts for the view its status names. A view without a shard has the revision of no shards.
 */
export function viewRevisions(
  views: Iterable<string>,
  shards: Iterable<{ name: string; status: { view: string; revision: string } }>,
): ViewRevision[] {
  const byView = new Map<string, ShardRevision[]>();
  for (const v of views) if (v !== '') byView.set(v, []);
  for (const s of shards) byView.get(s.status.view)?.push({ name: s.name, revision: s.status.revision });
  return [...byView]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([view, list]) => ({ view, revision: viewRevision(list), shards: list.length }));
}
