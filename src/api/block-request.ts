// The agent → operator request for a block, carried in an annotation on the agent's own Node: the one channel both
// already have (the agent may change annotations of its Node and nothing else; the operator watches Nodes).
//
// Why it exists: the operator pre-claims blocks for a node from the pools that select it, but a pod may ask for
// other pools (Calico's cni.projectcalico.org/ipv4pools on the pod or its namespace), and a burst may outrun the
// pre-claim. Calico's plugin would claim the block itself; here only the operator claims (ARCHITECTURE.md "One
// writer per IPAM block"), so the agent states what it lacks and waits for it.
//
// Value: a JSON array of outstanding requests, `[{"id": "...", "family": 4, "pools": ["pool-b"]}]`. The agent
// removes a request when it is served or given up; the operator serves each id once (claiming is idempotent: a node
// that already has room in those pools gets nothing new). Pure: parse and format only.
import { z } from 'zod';
import { formatPath } from './errors.js';

export const BLOCK_REQUEST_ANNOTATION = 'dataplane.tabby.dev/ipam-block-requests';

export const BlockRequestSchema = z.strictObject({
  id: z.string().min(1).max(64),
  family: z.union([z.literal(4), z.literal(6)]),
  /** IPPool names, in preference order. */
  pools: z.array(z.string().min(1).max(253)).min(1).max(32),
});
export type BlockRequest = z.infer<typeof BlockRequestSchema>;

const BlockRequestsSchema = z.array(BlockRequestSchema).max(64);

/** The requests in an annotation value; an error naming the field when it is not a valid list. */
export function parseBlockRequests(value: string | undefined): BlockRequest[] | Error {
  if (value === undefined || value === '') return [];
  let json: unknown;
  try {
    json = JSON.parse(value);
  } catch {
    return new Error(`annotation ${BLOCK_REQUEST_ANNOTATION}: not JSON`);
  }
  const r = BlockRequestsSchema.safeParse(json);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  return new Error(
    `annotation ${BLOCK_REQUEST_ANNOTATION}: ${formatPath(issue.path as (string | number)[])}: ${issue.message}`,
  );
}

/** The annotation value for `requests`; null (remove the annotation) when there are none. */
export function formatBlockRequests(requests: readonly BlockRequest[]): string | null {
  return requests.length === 0 ? null : JSON.stringify(requests);
}
