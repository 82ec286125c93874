// The agent → operator IPAM requests, carried in an annotation on the agent's own Node: the one channel both already
// have (the agent may change annotations of its Node and nothing else; the operator watches Nodes).
//
// Why it exists: only the operator writes blocks other than a node's own (ARCHITECTURE.md "One writer per IPAM
// block"), where Calico's plugin would write them itself. So the agent states what it needs and waits for the result
// to appear in the datastore:
// - `block`: a block of this node in one of `pools` with room — a pod asked for pools that do not select the node
//   (cni.projectcalico.org/ipv4pools), or a burst outran the operator's pre-claim;
// - `borrow`: `num` addresses for `handleId` from other nodes' blocks (strictAffinity false, no block left to
//   claim — Calico's borrowing); the agent reads them back through the handle;
// - `releaseHandle`: the handle's addresses in `blocks` (other nodes' blocks it borrowed from), on the pod's DEL;
// - `releaseIPs`: addresses outside the node's blocks, by address.
// Value: a JSON array of the outstanding requests. The agent removes a request when it is served or given up; the
// operator serves each id once, and every kind is idempotent (served twice, it changes nothing more). The operator
// only acts on allocations whose owner attribute names the requesting node. A request the operator cannot serve
// (no free block, strict affinity, …) is answered in IPAM_REQUEST_RESULT_ANNOTATION, `{"<id>": "<outcome>"}`, so the
// agent stops waiting at once; a served one needs no answer (the agent sees the result in the datastore).
// Pure: parse and format only.
import { z } from 'zod';
import { tryParseCidr } from '../net/cidr.js';
import { tryParseIP } from '../net/ip.js';
import { formatPath } from './errors.js';

export const IPAM_REQUEST_ANNOTATION = 'dataplane.tabby.dev/ipam-requests';
export const IPAM_REQUEST_RESULT_ANNOTATION = 'dataplane.tabby.dev/ipam-request-failures';

const Id = z.string().min(1).max(64);
const Family = z.union([z.literal(4), z.literal(6)]);
/** IPPool names, in preference order. */
const Pools = z.array(z.string().min(1).max(253)).min(1).max(32);
const HandleId = z.string().min(1).max(253);
const Cidr = z.string().refine((s) => tryParseCidr(s) !== undefined, { message: 'must be a CIDR' });
const Address = z.string().refine((s) => tryParseIP(s) !== undefined, { message: 'must be an IP address' });

export const IpamRequestSchema = z.discriminatedUnion('kind', [
  z.strictObject({ id: Id, kind: z.literal('block'), family: Family, pools: Pools }),
  z.strictObject({
    id: Id,
    kind: z.literal('borrow'),
    family: Family,
    pools: Pools,
    num: z.number().int().min(1).max(16),
    handleId: HandleId,
    attrs: z.record(z.string().max(253), z.string().max(1024)),
  }),
  z.strictObject({
    id: Id,
    kind: z.literal('releaseHandle'),
    handleId: HandleId,
    blocks: z.array(Cidr).min(1).max(64),
  }),
  z.strictObject({
    id: Id,
    kind: z.literal('releaseIPs'),
    ips: z
      .array(
        z.strictObject({
          address: Address,
          handleId: HandleId.optional(),
          /** A block sequence number, in decimal (it is a 64-bit counter). */
          sequenceNumber: z
            .string()
            .regex(/^\d{1,20}$/)
            .optional(),
        }),
      )
      .min(1)
      .max(64),
  }),
]);
export type IpamRequest = z.infer<typeof IpamRequestSchema>;
/** A request as the agent opens it; the id is given by whoever keeps the list. */
export type IpamRequestBody = IpamRequest extends infer R ? (R extends IpamRequest ? Omit<R, 'id'> : never) : never;

const IpamRequestsSchema = z.array(IpamRequestSchema).max(64);

/** The requests in an annotation value; an error naming the field when it is not a valid list. */
export function parseIpamRequests(value: string | undefined): IpamRequest[] | Error {
  if (value === undefined || value === '') return [];
  let json: unknown;
  try {
    json = JSON.parse(value);
  } catch {
    return new Error(`annotation ${IPAM_REQUEST_ANNOTATION}: not JSON`);
  }
  const r = IpamRequestsSchema.safeParse(json);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  return new Error(
    `annotation ${IPAM_REQUEST_ANNOTATION}: ${formatPath(issue.path as (string | number)[])}: ${issue.message}`,
  );
}

/** The annotation value for `requests`; null (remove the annotation) when there are none. */
export function formatIpamRequests(requests: readonly IpamRequest[]): string | null {
  return requests.length === 0 ? null : JSON.stringify(requests);
}

/** Pool names a node's agent is waiting on (its empty blocks in them must not be released meanwhile). */
export function requestedPools(requests: readonly IpamRequest[]): string[] {
  return [...new Set(requests.flatMap((r) => (r.kind === 'block' || r.kind === 'borrow' ? r.pools : [])))];
}

const ResultsSchema = z.record(Id, z.string().max(64));

/** Outcomes of requests the operator could not serve, by id; empty when absent or malformed (they only shorten waits). */
export function parseIpamRequestFailures(value: string | undefined): Record<string, string> {
  if (value === undefined || value === '') return {};
  try {
    const r = ResultsSchema.safeParse(JSON.parse(value));
    return r.success ? r.data : {};
  } catch {
    return {};
  }
}

/** The failures annotation value; null (remove it) when there are none. Keys sorted, so equal maps compare equal. */
export function formatIpamRequestFailures(failures: Readonly<Record<string, string>>): string | null {
  const keys = Object.keys(failures).sort();
  return keys.length === 0 ? null : JSON.stringify(Object.fromEntries(keys.map((k) => [k, failures[k]])));
}
