// IPAM history: the decisions IPAM takes (an address assigned, released, borrowed, garbage-collected or suspected
// leaked; a block claimed or released) as Kubernetes Events on the objects involved, and how `tabby ipam history`
// finds them again. Pure: the agent and the operator hand the event to their recorder (src/kube/events.ts), the CLI
// lists Events and filters them here.
//
// Each decision becomes one Event:
//   reason                  type     action          regarding           related     recorded by
//   AddressAssigned         Normal   Allocate        Pod (else Node)     IPAMBlock   agent, at a CNI ADD
//   AddressAssignFailed     Warning  Allocate        Pod (else Node)     Node        agent, at a CNI ADD
//   AddressReleased         Normal   Release         Pod (else Node)     IPAMBlock   agent, at a CNI DEL
//   AddressBorrowed         Normal   Borrow          Pod (else Node)     IPAMBlock   operator, on an agent's request
//   BlockClaimed            Normal   Claim           Node                IPAMBlock   operator
//   BlockReleased           Normal   Release         Node                IPAMBlock   operator (GC included)
//   AddressGarbageCollected Normal   GarbageCollect  Pod (else block)    IPAMBlock   operator GC: node deleted
//   AddressLeakSuspected    Warning  GarbageCollect  Pod (else block)    IPAMBlock   operator GC: first seen leaked
//   LeakedAddressReleased   Warning  GarbageCollect  Pod (else block)    IPAMBlock   operator GC: after the grace period
// Notes name every address and block in canonical text (the recorder folds equal notes into a series, and
// `--ip` finds an Event by the address its note names, or a block Event by the block), plus the handle and node.
import { formatCidr, formatIP, ipamBlockObjectName, tryParseCidr, tryParseIP, cidrContainsIP } from '../net/index.js';

export interface HistoryObjectRef {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
}

/** An Event as the recorder takes it (src/kube/events.ts EventInput has this shape). */
export interface HistoryEvent {
  regarding: HistoryObjectRef;
  related?: HistoryObjectRef;
  type: 'Normal' | 'Warning';
  reason: IpamEventReason;
  action: string;
  note: string;
}

export const IPAM_EVENT_REASONS = [
  'AddressAssigned',
  'AddressAssignFailed',
  'AddressReleased',
  'AddressBorrowed',
  'BlockClaimed',
  'BlockReleased',
  'AddressGarbageCollected',
  'AddressLeakSuspected',
  'LeakedAddressReleased',
] as const;
export type IpamEventReason = (typeof IPAM_EVENT_REASONS)[number];

/** Who records IPAM history (Event `reportingController`). */
export const AGENT_REPORTING_CONTROLLER = 'tabby.dev/agent';
export const OPERATOR_REPORTING_CONTROLLER = 'tabby.dev/operator';

export interface PodRef {
  namespace: string;
  name: string;
}

export interface AddressInBlock {
  address: string;
  /** The block holding it, when known. */
  block?: string;
}

export type BlockClaimReason = 'noBlock' | 'preclaim' | 'requested';
export type BlockReleaseReason =
  | 'poolNoLongerSelectsNode'
  | 'nodeDeleted'
  | 'emptyBlock'
  | 'emptyUnaffine'
  /** Empty, and claimed over a minute ago: another node with no block left took it over (Calico's reclaim). */
  | 'reclaimed';

export type IpamDecision =
  | { kind: 'assigned'; node: string; handleId: string; addresses: readonly AddressInBlock[]; pod?: PodRef }
  | { kind: 'assignFailed'; node: string; handleId: string; message: string; pod?: PodRef }
  | { kind: 'released'; node: string; handleId: string; addresses: readonly AddressInBlock[]; pod?: PodRef }
  | {
      kind: 'borrowed';
      node: string;
      handleId: string;
      addresses: readonly AddressInBlock[];
      pod?: PodRef;
    }
  | { kind: 'blockClaimed'; node: string; block: string; pool?: string; reason: BlockClaimReason }
  | { kind: 'blockReleased'; node?: string; block: string; reason: BlockReleaseReason }
  | {
      kind: 'gcReleased';
      reason: 'nodeDeleted' | 'leaked';
      handleId?: string;
      addresses: readonly AddressInBlock[];
      node?: string;
      pod?: PodRef;
    }
  | {
      kind: 'leakSuspected';
      handleId?: string;
      address: AddressInBlock;
      node?: string;
      pod?: PodRef;
      /** When GC will release it if it stays leaked (ms from now); undefined: never (leakGracePeriod 0). */
      releaseAfterMs: number | undefined;
    };

const podRef = (p: PodRef): HistoryObjectRef => ({
  apiVersion: 'v1',
  kind: 'Pod',
  namespace: p.namespace,
  name: p.name,
});
const nodeRef = (name: string): HistoryObjectRef => ({ apiVersion: 'v1', kind: 'Node', name });
const blockRef = (cidr: string): HistoryObjectRef => ({
  apiVersion: 'projectcalico.org/v3',
  kind: 'IPAMBlock',
  name: ipamBlockObjectName(cidr),
});

function addressList(addresses: readonly AddressInBlock[]): string {
  return addresses.map((a) => (a.block === undefined ? a.address : `${a.address} (block ${a.block})`)).join(', ');
}

function firstBlock(addresses: readonly AddressInBlock[]): HistoryObjectRef | undefined {
  const b = addresses.find((a) => a.block !== undefined)?.block;
  return b === undefined ? undefined : blockRef(b);
}

function withRelated(e: Omit<HistoryEvent, 'related'>, related: HistoryObjectRef | undefined): HistoryEvent {
  return related === undefined ? e : { ...e, related };
}

function minutes(ms: number): string {
  return ms % 60_000 === 0 ? `${ms / 60_000}m` : `${Math.round(ms / 1000)}s`;
}

const CLAIM_WHY: Readonly<Record<BlockClaimReason, string>> = {
  noBlock: 'it had no block with free addresses',
  preclaim: 'its free addresses fell below a quarter block (pre-claim)',
  requested: "its agent asked for a block of this pool (a pod's pool annotation, or its blocks were full)",
};
const RELEASE_WHY: Readonly<Record<BlockReleaseReason, string>> = {
  poolNoLongerSelectsNode: "the block's pool no longer selects the node, and the block is empty",
  nodeDeleted: 'the node was deleted',
  emptyBlock: 'the block stayed empty for the grace period and the node has free addresses elsewhere',
  emptyUnaffine: 'the block has no node and no address in use',
  reclaimed: 'the block was empty and another node, with no block of the pool left to claim, took it over',
};

/** The Event one decision is recorded as. */
export function ipamEvent(d: IpamDecision): HistoryEvent {
  switch (d.kind) {
    case 'assigned':
      return withRelated(
        {
          regarding: d.pod ? podRef(d.pod) : nodeRef(d.node),
          type: 'Normal',
          reason: 'AddressAssigned',
          action: 'Allocate',
          note: `assigned ${addressList(d.addresses)} on node ${d.node}, handle ${d.handleId}`,
        },
        firstBlock(d.addresses),
      );
    case 'assignFailed':
      return {
        regarding: d.pod ? podRef(d.pod) : nodeRef(d.node),
        related: nodeRef(d.node),
        type: 'Warning',
        reason: 'AddressAssignFailed',
        action: 'Allocate',
        note: `no address for handle ${d.handleId} on node ${d.node}: ${d.message}`,
      };
    case 'released':
      return withRelated(
        {
          regarding: d.pod ? podRef(d.pod) : nodeRef(d.node),
          type: 'Normal',
          reason: 'AddressReleased',
          action: 'Release',
          note: `released ${addressList(d.addresses)} on node ${d.node}, handle ${d.handleId}`,
        },
        firstBlock(d.addresses),
      );
    case 'borrowed':
      return withRelated(
        {
          regarding: d.pod ? podRef(d.pod) : nodeRef(d.node),
          type: 'Normal',
          reason: 'AddressBorrowed',
          action: 'Borrow',
          note: `borrowed ${addressList(d.addresses)} for node ${d.node}, handle ${d.handleId}: no block of its own had room`,
        },
        firstBlock(d.addresses),
      );
    case 'blockClaimed':
      return {
        regarding: nodeRef(d.node),
        related: blockRef(d.block),
        type: 'Normal',
        reason: 'BlockClaimed',
        action: 'Claim',
        note: `claimed block ${d.block}${d.pool === undefined ? '' : ` of pool ${d.pool}`} for node ${d.node}: ${CLAIM_WHY[d.reason]}`,
      };
    case 'blockReleased':
      return {
        regarding: d.node === undefined ? blockRef(d.block) : nodeRef(d.node),
        related: blockRef(d.block),
        type: 'Normal',
        reason: 'BlockReleased',
        action: 'Release',
        note: `released block ${d.block}${d.node === undefined ? '' : ` of node ${d.node}`}: ${RELEASE_WHY[d.reason]}`,
      };
    case 'gcReleased': {
      const block = firstBlock(d.addresses);
      const who = `${d.handleId === undefined ? 'no handle' : `handle ${d.handleId}`}${d.pod ? `, pod ${d.pod.namespace}/${d.pod.name}` : ''}${d.node === undefined ? '' : `, node ${d.node}`}`;
      const leaked = d.reason === 'leaked';
      return withRelated(
        {
          regarding: d.pod ? podRef(d.pod) : (block ?? nodeRef(d.node ?? '')),
          type: leaked ? 'Warning' : 'Normal',
          reason: leaked ? 'LeakedAddressReleased' : 'AddressGarbageCollected',
          action: 'GarbageCollect',
          note: `released ${addressList(d.addresses)} (${who}): ${leaked ? 'its pod is gone and it stayed allocated for the leak grace period' : 'its node was deleted'}`,
        },
        block,
      );
    }
    case 'leakSuspected': {
      const block = d.address.block === undefined ? undefined : blockRef(d.address.block);
      const who = `${d.handleId === undefined ? 'no handle' : `handle ${d.handleId}`}${d.pod ? `, pod ${d.pod.namespace}/${d.pod.name}` : ''}${d.node === undefined ? '' : `, node ${d.node}`}`;
      return withRelated(
        {
          regarding: d.pod ? podRef(d.pod) : (block ?? nodeRef(d.node ?? '')),
          type: 'Warning',
          reason: 'AddressLeakSuspected',
          action: 'GarbageCollect',
          note: `${addressList([d.address])} (${who}) is allocated but no running pod has it; ${d.releaseAfterMs === undefined ? 'not released: leak release is off (leakGracePeriod 0)' : `released in ${minutes(d.releaseAfterMs)} unless it is used again`}`,
        },
        block,
      );
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Finding history again

/** What `tabby ipam history` reads of an Event. */
export interface RecordedEvent {
  reason?: string;
  note?: string;
  reportingController?: string;
  regarding?: { kind?: string; namespace?: string; name?: string };
  related?: { kind?: string; namespace?: string; name?: string };
}

const REASONS = new Set<string>(IPAM_EVENT_REASONS);
const CONTROLLERS = new Set([AGENT_REPORTING_CONTROLLER, OPERATOR_REPORTING_CONTROLLER]);

export function isIpamHistoryEvent(e: RecordedEvent): boolean {
  return REASONS.has(e.reason ?? '') && CONTROLLERS.has(e.reportingController ?? '');
}

/** Addresses and CIDRs a note names, canonical (`10.0.0.5`, `10.0.0.0/26`). */
export function namedAddresses(note: string): string[] {
  const out: string[] = [];
  const read = (token: string): string | undefined => {
    if (token.includes('/')) {
      const c = tryParseCidr(token);
      return c === undefined ? undefined : formatCidr(c);
    }
    const ip = tryParseIP(token);
    return ip === undefined ? undefined : formatIP(ip);
  };
  for (const raw of note.split(/[\s,()]+/)) {
    if (raw === '') continue;
    // Sentence punctuation after an address (`10.0.0.5:`), but an IPv6 address may itself end in `::`.
    const text = read(raw) ?? read(raw.replace(/[:;.]+$/, ''));
    if (text !== undefined) out.push(text);
  }
  return out;
}

const BLOCK_REASONS = new Set<string>(['BlockClaimed', 'BlockReleased']);

/**
 * The Event names the address itself, or is about the block holding it (claimed, released). An Event about another
 * address of the same block names that block too, but is not this address's history.
 */
export function eventConcernsAddress(e: RecordedEvent, address: string): boolean {
  const ip = tryParseIP(address);
  if (ip === undefined) return false;
  const aboutBlock = BLOCK_REASONS.has(e.reason ?? '');
  for (const text of namedAddresses(e.note ?? '')) {
    if (text.includes('/')) {
      const c = tryParseCidr(text);
      if (aboutBlock && c !== undefined && cidrContainsIP(c, ip)) return true;
    } else if (text === formatIP(ip)) return true;
  }
  return false;
}

/** The Event is about the pod (its regarding or related object). */
export function eventConcernsPod(e: RecordedEvent, pod: PodRef): boolean {
  return [e.regarding, e.related].some(
    (r) => r?.kind === 'Pod' && r.name === pod.name && (r.namespace ?? 'default') === pod.namespace,
  );
}
