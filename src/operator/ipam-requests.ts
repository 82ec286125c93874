// Serves the IPAM requests node agents leave on their Nodes (src/api/ipam-request.ts): the operator is the only
// writer of blocks other than a node's own, so it claims, borrows and releases there on an agent's behalf.
//
// Invariants:
// - Each request id is served once per operator process; every kind is idempotent, so a new leader serving the same
//   requests again changes nothing more (a borrow counts what the handle already holds outside the node's blocks).
// - An agent acts only for its node: borrowed addresses carry `node: <that node>`, and releases touch only
//   allocations whose owner attribute names the requesting node (anything else is skipped and logged), so the
//   channel gives an agent no more power over other nodes' pods than its RBAC does.
// - A bad annotation is logged once per value and ignored, and a request that throws is answered as `error`:
//   neither fails the node's reconcile (its block claims and tunnel addresses go on).
// - Requests it cannot serve are answered on the Node (IPAM_REQUEST_RESULT_ANNOTATION) while they are open, so the
//   agent fails the pod's ADD at once instead of after its full wait; answers for withdrawn requests are removed.
// - What it decides for an agent (a block claimed on request, an address borrowed) goes into IPAM history
//   (src/ipam/history.ts); releases are the agent's own history (it knows the pod).
import {
  IPAM_REQUEST_ANNOTATION,
  IPAM_REQUEST_RESULT_ANNOTATION,
  type IpamRequest,
  formatIpamRequestFailures,
  parseIpamRequests,
} from '../api/ipam-request.js';
import {
  ATTR_NAMESPACE,
  ATTR_NODE,
  ATTR_POD,
  type BlockClaimer,
  type IpamDecision,
  poolContaining,
  type BlockStore,
  type IpamView,
  type ReleaseOptions,
  attributeOf,
  blockKey,
  handleKey,
  hostAffinity,
  lookupAddress,
  ordinalsOfHandle,
} from '../ipam/index.js';
import type { Logger } from '../log/logger.js';
import { cidrMasked, formatCidr, formatIP, parseCidr, parseCidrLoose } from '../net/index.js';

export interface IpamRequestServer {
  /** The node's open requests (empty when none or the annotation is bad). */
  requestsOf(node: string, annotations: Readonly<Record<string, string>> | undefined): IpamRequest[];
  /** Serves the requests not served yet. */
  serve(node: string, annotations: Readonly<Record<string, string>> | undefined): Promise<void>;
  /** The node is gone: forget what was served for it. */
  forget(node: string): void;
}

export function createIpamRequestServer(deps: {
  claimer: BlockClaimer;
  store: BlockStore;
  view: IpamView;
  log: Logger;
  /** Sets (null: removes) the failures annotation on the Node. */
  writeFailures: (node: string, value: string | null) => Promise<void>;
  /** IPAM history: decisions taken for agents. */
  history?: (d: IpamDecision) => void;
}): IpamRequestServer {
  const { claimer, store, view, log } = deps;
  const history = deps.history ?? (() => undefined);
  const served = new Map<string, Set<string>>();
  const failures = new Map<string, Map<string, string>>();
  const badValues = new Map<string, string>();

  function requestsOf(node: string, annotations: Readonly<Record<string, string>> | undefined): IpamRequest[] {
    const value = annotations?.[IPAM_REQUEST_ANNOTATION];
    const parsed = parseIpamRequests(value);
    if (!(parsed instanceof Error)) return parsed;
    if (badValues.get(node) !== value) {
      badValues.set(node, value ?? '');
      log.warn({ kind: 'Node', name: node, err: parsed.message }, 'IPAM requests ignored');
    }
    return [];
  }

  /** Whether an allocation's owner attributes name `node`. */
  const ownedBy = (node: string, attrs: Record<string, string> | null | undefined) => attrs?.[ATTR_NODE] === node;

  async function serveOne(node: string, r: IpamRequest): Promise<Record<string, unknown>> {
    switch (r.kind) {
      case 'block': {
        const outcome = await claimer.ensureBlock({ node, family: r.family, pools: r.pools });
        if (outcome.kind !== 'block') return { outcome: outcome.kind, warn: true };
        const cidr = outcome.block.value.cidr;
        if (outcome.claimed === true) {
          const pool = poolContaining(view.pools(), parseCidr(cidr))?.name;
          history({ kind: 'blockClaimed', node, block: cidr, reason: 'requested', ...(pool ? { pool } : {}) });
        }
        return { outcome: 'block', block: cidr };
      }
      case 'borrow': {
        if (view.config().strictAffinity) return { outcome: 'strictAffinity', warn: true };
        // Idempotent: what the handle already holds outside the node's blocks counts.
        const handle = await store.handles.get(handleKey(r.handleId));
        let held = 0;
        for (const cidr of Object.keys(handle?.value.block ?? {})) {
          const b = await store.blocks.get(blockKey(cidr));
          if (b !== undefined && b.value.affinity !== hostAffinity(node))
            held += ordinalsOfHandle(b.value, r.handleId).length;
        }
        if (held >= r.num) return { outcome: 'alreadyBorrowed', held };
        const pools = view.pools().filter((p) => r.pools.includes(p.name));
        const out = await claimer.borrow({
          node,
          family: r.family,
          pools: r.pools.map((n) => pools.find((p) => p.name === n)).filter((p) => p !== undefined),
          num: r.num - held,
          handleId: r.handleId,
          attrs: { ...r.attrs, [ATTR_NODE]: node },
        });
        if (out.ips.length > 0) {
          const ns = r.attrs[ATTR_NAMESPACE];
          const pod = r.attrs[ATTR_POD];
          history({
            kind: 'borrowed',
            node,
            handleId: r.handleId,
            addresses: out.ips.map((ip) => {
              const c = parseCidrLoose(ip);
              return { address: formatIP(c.address), block: formatCidr(cidrMasked(c)) };
            }),
            ...(ns !== undefined && pod !== undefined ? { pod: { namespace: ns, name: pod } } : {}),
          });
        }
        return { outcome: out.ips.length > 0 ? 'borrowed' : 'exhausted', ips: out.ips, warn: out.ips.length === 0 };
      }
      case 'releaseHandle': {
        const allowed: string[] = [];
        for (const cidr of r.blocks) {
          const b = await store.blocks.get(blockKey(cidr));
          if (b === undefined) continue;
          const ordinals = ordinalsOfHandle(b.value, r.handleId);
          if (ordinals.every((o) => ownedBy(node, attributeOf(b.value, o)?.secondary))) allowed.push(cidr);
          else log.warn({ node, handle: r.handleId, block: cidr }, "IPAM request skipped: not this node's allocation");
        }
        if (allowed.length > 0) await claimer.releaseHandleIn(r.handleId, allowed);
        return { outcome: 'released', blocks: allowed };
      }
      case 'releaseIPs': {
        const pools = view.pools();
        const allowed: ReleaseOptions[] = [];
        for (const ip of r.ips) {
          const found = await lookupAddress(store, pools, ip.address);
          if (!found.allocated) continue;
          if (!ownedBy(node, found.attribute.secondary)) {
            log.warn({ node, address: ip.address }, "IPAM request skipped: not this node's allocation");
            continue;
          }
          allowed.push({
            address: ip.address,
            ...(ip.handleId === undefined ? {} : { handleId: ip.handleId }),
            ...(ip.sequenceNumber === undefined ? {} : { sequenceNumber: BigInt(ip.sequenceNumber) }),
          });
        }
        if (allowed.length > 0) await claimer.releaseIPs(allowed);
        return { outcome: 'released', addresses: allowed.map((o) => o.address) };
      }
    }
  }

  return {
    requestsOf,
    async serve(node, annotations) {
      const requests = requestsOf(node, annotations);
      const open = new Set(requests.map((r) => r.id));
      const done = served.get(node) ?? new Set<string>();
      const failed = failures.get(node) ?? new Map<string, string>();
      for (const id of done) if (!open.has(id)) done.delete(id);
      for (const id of failed.keys()) if (!open.has(id)) failed.delete(id);
      for (const r of requests) {
        if (done.has(r.id)) continue;
        let outcome: Record<string, unknown>;
        try {
          outcome = await serveOne(node, r);
        } catch (e) {
          // Answered, not retried here: one bad request must not hold up the node's other IPAM work, and the
          // agent's retry (the runtime's next ADD) comes as a new request.
          outcome = { outcome: 'error', err: (e as Error).message, warn: true };
        }
        const { warn, ...result } = outcome;
        done.add(r.id);
        const fields = { node, request: r.id, kind: r.kind, ...result };
        if (warn === true) {
          failed.set(r.id, String(result.outcome));
          log.warn(fields, 'IPAM request cannot be served');
        } else log.info(fields, 'IPAM request served');
      }
      if (done.size > 0) served.set(node, done);
      else served.delete(node);
      if (failed.size > 0) failures.set(node, failed);
      else failures.delete(node);
      const want = formatIpamRequestFailures(Object.fromEntries(failed));
      if (want !== (annotations?.[IPAM_REQUEST_RESULT_ANNOTATION] ?? null)) await deps.writeFailures(node, want);
    },
    forget(node) {
      served.delete(node);
      failures.delete(node);
      badValues.delete(node);
    },
  };
}
