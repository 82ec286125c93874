// The node-local protocol between the CNI plugin (src/cni, one short-lived process per pod operation) and the node
// agent's IPAM server (src/agent/ipam-server.ts), over a unix stream socket (default /var/run/tabby/ipam.sock).
//
// Framing: newline-delimited JSON. The plugin opens a connection, writes one request line, reads one response line
// and closes; the server also accepts several requests in sequence on one connection. A line is at most
// MAX_MESSAGE_BYTES. Every request carries `v` (PROTOCOL_VERSION) so an agent can refuse a plugin it does not
// understand with a clear message instead of misreading it during a rolling upgrade.
//
// Requests (`op`):
// - assign: addresses for one pod network attachment. Idempotent by handle: when the handle already holds
//   addresses, the same addresses come back (a repeated ADD must not take a second address).
//   handleId `k8s-pod-network.<containerID>` (calico: cni-plugin/pkg/ipamplugin: network name + "." + container ID),
//   attrs namespace/pod/node (Calico's allocation attributes, calico-reference.md 3.9), families to assign (Calico's
//   `assign_ipv4`/`assign_ipv6`), pools to assign from (Calico's `ipv4_pools`/`ipv6_pools`: CIDRs or IPPool names) and
//   specific addresses (Calico's `cni.projectcalico.org/ipAddrs`). The agent may override pools/addresses from the
//   pod's and namespace's annotations (`applyPodAnnotations`), as Calico's plugin does after reading the pod.
// - release: every address of a handle (DEL). Releasing an unknown handle succeeds.
// - addresses: what a handle holds now (CHECK verifies the reservation still exists).
// - status: liveness and the node's planned MTU (STATUS).
// Responses: `{ok: true, op, ...}` or `{ok: false, error: {code, message}}`; `code` tells the plugin which CNI error
// to return: `unavailable` → 11 (try again later), `exhausted` → pool full, `invalid`/`badRequest` → the request
// cannot succeed as asked, `internal` → anything else.
//
// Pure module: schemas and the annotation rules; no I/O. Constants, framing and the plugin's zod-free response check
// live in agent-ipam-wire.ts (re-exported here), so that the plugin process need not load zod.
import { z } from 'zod';
import { type IPFamily, parseIP, tryParseIP } from '../net/ip.js';
import { tryParseCidr } from '../net/cidr.js';
import { formatPath } from './errors.js';
import { AGENT_ERROR_CODES, MAX_MESSAGE_BYTES, PROTOCOL_VERSION } from './agent-ipam-wire.js';

export {
  AGENT_ERROR_CODES,
  DEFAULT_AGENT_IPAM_SOCKET,
  DEFAULT_NETWORK_NAME,
  MAX_MESSAGE_BYTES,
  PROTOCOL_VERSION,
  encodeMessage,
  isResponseFor,
  podHandleId,
} from './agent-ipam-wire.js';

export const ANNOTATION_IPV4_POOLS = 'cni.projectcalico.org/ipv4pools';
export const ANNOTATION_IPV6_POOLS = 'cni.projectcalico.org/ipv6pools';
export const ANNOTATION_IP_FAMILIES = 'cni.projectcalico.org/ipFamilies';
export const ANNOTATION_IP_ADDRS = 'cni.projectcalico.org/ipAddrs';
export const ANNOTATION_IP_ADDRS_NO_IPAM = 'cni.projectcalico.org/ipAddrsNoIpam';

const FamilySchema = z.union([z.literal(4), z.literal(6)]);

/** An address in text form, any family; canonical output is the agent's job, not the schema's. */
const IPTextSchema = z
  .string()
  .max(64)
  .refine((s) => tryParseIP(s) !== undefined, { message: 'must be an IPv4 or IPv6 address' });

/** A pool reference as Calico accepts it in `ipv4_pools`: a CIDR or an IPPool name. */
const PoolRefSchema = z.string().min(1).max(253);

/** Handle IDs become IPAMHandle object names (lower-cased), so they follow the name rules loosely. */
const HandleIdSchema = z
  .string()
  .min(1)
  .max(253)
  .refine((s) => !/[\r\n]/.test(s), { message: 'must not contain line breaks' });

export const AllocationAttributesSchema = z.strictObject({
  namespace: z.string().min(1).max(253).optional(),
  pod: z.string().min(1).max(253).optional(),
  node: z.string().min(1).max(253).optional(),
});
export type AllocationAttributes = z.infer<typeof AllocationAttributesSchema>;

const Base = { v: z.literal(PROTOCOL_VERSION) };

export const AssignRequestSchema = z
  .strictObject({
    ...Base,
    op: z.literal('assign'),
    handleId: HandleIdSchema,
    containerId: z.string().min(1).max(253),
    attrs: AllocationAttributesSchema,
    /** Families to assign, each at most once; ignored for a family that `ipAddrs` names an address of. */
    families: z.array(FamilySchema).min(1).max(2),
    ipv4Pools: z.array(PoolRefSchema).max(64).optional(),
    ipv6Pools: z.array(PoolRefSchema).max(64).optional(),
    /** Specific addresses (at most one per family); when present, exactly these are assigned. */
    ipAddrs: z.array(IPTextSchema).min(1).max(2).optional(),
  })
  .superRefine((req, ctx) => {
    if (new Set(req.families).size !== req.families.length) {
      ctx.addIssue({ code: 'custom', path: ['families'], message: 'must not repeat a family' });
    }
    const seen = new Set<IPFamily>();
    for (const [i, text] of (req.ipAddrs ?? []).entries()) {
      const ip = tryParseIP(text);
      if (ip === undefined) continue;
      if (seen.has(ip.family)) {
        ctx.addIssue({ code: 'custom', path: ['ipAddrs', i], message: `more than one IPv${ip.family} address` });
      }
      seen.add(ip.family);
    }
  });
export type AssignRequest = z.infer<typeof AssignRequestSchema>;

export const ReleaseRequestSchema = z.strictObject({ ...Base, op: z.literal('release'), handleId: HandleIdSchema });
export type ReleaseRequest = z.infer<typeof ReleaseRequestSchema>;

export const AddressesRequestSchema = z.strictObject({ ...Base, op: z.literal('addresses'), handleId: HandleIdSchema });
export type AddressesRequest = z.infer<typeof AddressesRequestSchema>;

export const StatusRequestSchema = z.strictObject({ ...Base, op: z.literal('status') });
export type StatusRequest = z.infer<typeof StatusRequestSchema>;

export const AgentRequestSchema = z.discriminatedUnion('op', [
  AssignRequestSchema,
  ReleaseRequestSchema,
  AddressesRequestSchema,
  StatusRequestSchema,
]);
export type AgentRequest = z.infer<typeof AgentRequestSchema>;
export type AgentOp = AgentRequest['op'];

export const AssignedAddressSchema = z.strictObject({
  /** The address alone (`10.244.1.5`); the plugin configures it as /32 or /128 (Calico narrows the block mask). */
  address: IPTextSchema,
  family: FamilySchema,
  /** The IPAM block it came from, for logs and `tabby ipam` output. */
  block: z.string().max(64).optional(),
});
export type AssignedAddress = z.infer<typeof AssignedAddressSchema>;

const MtuSchema = z.number().int().min(68).max(65535);
/** Felix's `deviceRouteProtocol` (rtnetlink protocol number); absent = the kernel's default for `ip route add`. */
const RouteProtocolSchema = z.number().int().min(0).max(255);

export const AssignResponseSchema = z.strictObject({
  ok: z.literal(true),
  op: z.literal('assign'),
  addresses: z.array(AssignedAddressSchema).min(1).max(2),
  /** The node's planned pod MTU (NodeDataplane), which the veth pair gets unless the CNI config sets `mtu`. */
  mtu: MtuSchema,
  deviceRouteProtocol: RouteProtocolSchema.optional(),
  node: z.string().min(1),
});
export type AssignResponse = z.infer<typeof AssignResponseSchema>;

export const ReleaseResponseSchema = z.strictObject({ ok: z.literal(true), op: z.literal('release') });
export type ReleaseResponse = z.infer<typeof ReleaseResponseSchema>;

export const AddressesResponseSchema = z.strictObject({
  ok: z.literal(true),
  op: z.literal('addresses'),
  addresses: z.array(AssignedAddressSchema).max(16),
});
export type AddressesResponse = z.infer<typeof AddressesResponseSchema>;

export const StatusResponseSchema = z.strictObject({
  ok: z.literal(true),
  op: z.literal('status'),
  node: z.string().min(1),
  mtu: MtuSchema,
});
export type StatusResponse = z.infer<typeof StatusResponseSchema>;

export const AgentErrorCodeSchema = z.enum(AGENT_ERROR_CODES);
export type AgentErrorCode = z.infer<typeof AgentErrorCodeSchema>;

export const ErrorResponseSchema = z.strictObject({
  ok: z.literal(false),
  error: z.strictObject({ code: AgentErrorCodeSchema, message: z.string().max(MAX_MESSAGE_BYTES) }),
});
export type ErrorResponse = z.infer<typeof ErrorResponseSchema>;

const SUCCESS_SCHEMAS = {
  assign: AssignResponseSchema,
  release: ReleaseResponseSchema,
  addresses: AddressesResponseSchema,
  status: StatusResponseSchema,
} as const;

export type SuccessResponse<Op extends AgentOp> = z.infer<(typeof SUCCESS_SCHEMAS)[Op]>;
export type AgentResponse<Op extends AgentOp = AgentOp> = SuccessResponse<Op> | ErrorResponse;

/** The schema a response to a request of `op` must match: that op's success, or an error. */
export function responseSchemaFor<Op extends AgentOp>(op: Op) {
  return z.union([SUCCESS_SCHEMAS[op], ErrorResponseSchema]) as unknown as z.ZodType<AgentResponse<Op>>;
}

/** One request line as the agent reads it: the request, or the `badRequest` text saying what is wrong with it. */
export type ParsedRequestLine = { ok: true; request: AgentRequest } | { ok: false; message: string };

/**
 * Parses one protocol line. Never throws: a line that is not JSON says so (with the parser's reason), another
 * protocol version says which, and a request the schema refuses names its first problems by field path
 * (`families[0]: ...`, `(request): Unrecognized key: "x"`).
 */
export function parseRequestLine(line: string): ParsedRequestLine {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch (e) {
    return { ok: false, message: `request is not JSON (${(e as Error).message})` };
  }
  const parsed = AgentRequestSchema.safeParse(json);
  if (parsed.success) return { ok: true, request: parsed.data };
  const v = json !== null && typeof json === 'object' ? (json as { v?: unknown }).v : undefined;
  if (v !== PROTOCOL_VERSION) {
    return {
      ok: false,
      message: `protocol version ${JSON.stringify(v) ?? 'undefined'} is not supported (this agent speaks ${PROTOCOL_VERSION}); upgrade the CNI plugin and the agent together`,
    };
  }
  const message = parsed.error.issues
    .slice(0, 3)
    .map(
      (i) => `${formatPath(i.path.map((p) => (typeof p === 'symbol' ? String(p) : p))) || '(request)'}: ${i.message}`,
    )
    .join('; ');
  return { ok: false, message: message.slice(0, MAX_MESSAGE_BYTES - 200) };
}

// --- Calico's pod and namespace annotations ---------------------------------------------------------------------

/** A problem with an annotation's value; `annotation` names the key, `message` says what is wrong. */
export class AnnotationError extends Error {
  constructor(
    readonly annotation: string,
    message: string,
  ) {
    super(message);
    this.name = 'AnnotationError';
  }
}

function parseJsonStringArray(key: string, value: string): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (e) {
    throw new AnnotationError(key, `annotation "${key}": failed to parse ${value} as JSON: ${(e as Error).message}`);
  }
  if (!Array.isArray(parsed) || parsed.some((x) => typeof x !== 'string')) {
    throw new AnnotationError(key, `annotation "${key}": must be a JSON list of strings (got ${value})`);
  }
  return parsed as string[];
}

/**
 * `cni.projectcalico.org/ipv4pools` / `ipv6pools`: a JSON list of pool CIDRs or names. Each CIDR must be of the
 * annotation's family (calico: cni-plugin/pkg/ipamplugin resolves names and CIDRs against the pools of that family).
 */
export function parsePoolsAnnotation(key: string, value: string, family: IPFamily): string[] {
  const pools = parseJsonStringArray(key, value);
  for (const p of pools) {
    if (p === '') throw new AnnotationError(key, `annotation "${key}": empty pool reference`);
    const cidr = tryParseCidr(p);
    if (cidr !== undefined && cidr.family !== family) {
      throw new AnnotationError(key, `annotation "${key}": ${p} is not an IPv${family} pool`);
    }
  }
  return pools;
}

/** `cni.projectcalico.org/ipFamilies`: `["IPv4"]`, `["IPv6"]` or both (calico: cni-plugin/pkg/k8s/k8s.go). */
export function parseIpFamiliesAnnotation(value: string): IPFamily[] {
  const out: IPFamily[] = [];
  for (const f of parseJsonStringArray(ANNOTATION_IP_FAMILIES, value)) {
    if (f === 'IPv4') out.push(4);
    else if (f === 'IPv6') out.push(6);
    else throw new AnnotationError(ANNOTATION_IP_FAMILIES, `error parsing ipFamilies: ${value}`);
  }
  const unique = [...new Set(out)];
  if (unique.length === 0) {
    throw new AnnotationError(ANNOTATION_IP_FAMILIES, `annotation "${ANNOTATION_IP_FAMILIES}" specified but empty`);
  }
  return unique;
}

/**
 * `cni.projectcalico.org/ipAddrs`: a JSON list of at most one IPv4 and one IPv6 address, in Calico's wording
 * (calico: cni-plugin/pkg/k8s/k8s.go validateAndExtractIPs). Returns canonical text.
 */
export function parseIpAddrsAnnotation(value: string, key = ANNOTATION_IP_ADDRS): string[] {
  let ips: string[];
  try {
    ips = parseJsonStringArray(key, value);
  } catch (e) {
    throw new AnnotationError(key, `failed to parse IPs ${value} for annotation "${key}": ${(e as Error).message}`);
  }
  if (ips.length === 0) throw new AnnotationError(key, `annotation "${key}" specified but empty`);
  const seen = new Set<IPFamily>();
  const out: string[] = [];
  for (const text of ips) {
    const ip = tryParseIP(text);
    if (ip === undefined) throw new AnnotationError(key, `invalid IP format: ${text}`);
    if (seen.has(ip.family)) {
      throw new AnnotationError(key, `cannot have more than one IPv${ip.family} address for "${key}" annotation`);
    }
    seen.add(ip.family);
    out.push(text);
  }
  return out;
}

export type Annotations = Readonly<Record<string, string>>;

/**
 * Calico's annotation precedence applied to an assign request (calico: cni-plugin/pkg/k8s/k8s.go CmdAddK8s):
 * - pools and families: the namespace's annotations, overridden per key by the pod's, override the CNI config;
 * - `ipAddrs` on the pod: exactly those addresses (families follow the addresses);
 * - `ipAddrsNoIpam`: refused — it bypasses IPAM, which Tabby never does (Calico also refuses it unless the
 *   `ip_addrs_no_ipam` feature is switched on), and together with `ipAddrs` it is Calico's own error.
 * Throws AnnotationError naming the annotation.
 */
export function applyPodAnnotations(
  req: AssignRequest,
  pod: Annotations | undefined,
  namespace: Annotations | undefined,
): AssignRequest {
  const p = pod ?? {};
  const ns = namespace ?? {};
  const pick = (key: string): string | undefined => {
    const v = p[key];
    if (v !== undefined && v !== '') return v;
    const n = ns[key];
    return n !== undefined && n !== '' ? n : undefined;
  };
  const out: AssignRequest = { ...req };
  const v4 = pick(ANNOTATION_IPV4_POOLS);
  if (v4 !== undefined) out.ipv4Pools = parsePoolsAnnotation(ANNOTATION_IPV4_POOLS, v4, 4);
  const v6 = pick(ANNOTATION_IPV6_POOLS);
  if (v6 !== undefined) out.ipv6Pools = parsePoolsAnnotation(ANNOTATION_IPV6_POOLS, v6, 6);
  const fam = pick(ANNOTATION_IP_FAMILIES);
  if (fam !== undefined) out.families = parseIpFamiliesAnnotation(fam);

  const addrs = p[ANNOTATION_IP_ADDRS];
  const noIpam = p[ANNOTATION_IP_ADDRS_NO_IPAM];
  const hasAddrs = addrs !== undefined && addrs !== '';
  const hasNoIpam = noIpam !== undefined && noIpam !== '';
  if (hasAddrs && hasNoIpam) {
    throw new AnnotationError(
      ANNOTATION_IP_ADDRS_NO_IPAM,
      "can't have both annotations: 'ipAddrs' and 'ipAddrsNoIpam' in use at the same time",
    );
  }
  if (hasNoIpam) {
    throw new AnnotationError(ANNOTATION_IP_ADDRS_NO_IPAM, 'requested feature is not enabled: ip_addrs_no_ipam');
  }
  if (hasAddrs) {
    out.ipAddrs = parseIpAddrsAnnotation(addrs);
    out.families = [...new Set(out.ipAddrs.map((a) => parseIP(a).family))];
  }
  return out;
}
