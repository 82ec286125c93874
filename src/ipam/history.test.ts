import { describe, expect, it } from 'vitest';
import {
  eventConcernsAddress,
  eventConcernsPod,
  ipamEvent,
  isIpamHistoryEvent,
  namedAddresses,
  type IpamDecision,
} from './history.js';

const pod = { namespace: 'shop', name: 'cart-1' };

describe('IPAM decisions as Events (each written out by hand)', () => {
  it.each<{ d: IpamDecision; event: unknown }>([
    {
      d: {
        kind: 'assigned',
        node: 'node-1',
        handleId: 'k8s-pod-network.abc',
        addresses: [{ address: '10.65.0.5', block: '10.65.0.0/26' }],
        pod,
      },
      event: {
        regarding: { apiVersion: 'v1', kind: 'Pod', namespace: 'shop', name: 'cart-1' },
        related: { apiVersion: 'projectcalico.org/v3', kind: 'IPAMBlock', name: '10-65-0-0-26' },
        type: 'Normal',
        reason: 'AddressAssigned',
        action: 'Allocate',
        note: 'assigned 10.65.0.5 (block 10.65.0.0/26) on node node-1, handle k8s-pod-network.abc',
      },
    },
    {
      d: { kind: 'released', node: 'node-1', handleId: 'k8s-pod-network.abc', addresses: [{ address: 'fd00::5' }] },
      event: {
        regarding: { apiVersion: 'v1', kind: 'Node', name: 'node-1' },
        type: 'Normal',
        reason: 'AddressReleased',
        action: 'Release',
        note: 'released fd00::5 on node node-1, handle k8s-pod-network.abc',
      },
    },
    {
      d: { kind: 'assignFailed', node: 'node-1', handleId: 'h', message: 'pool exhausted', pod },
      event: {
        regarding: { apiVersion: 'v1', kind: 'Pod', namespace: 'shop', name: 'cart-1' },
        related: { apiVersion: 'v1', kind: 'Node', name: 'node-1' },
        type: 'Warning',
        reason: 'AddressAssignFailed',
        action: 'Allocate',
        note: 'no address for handle h on node node-1: pool exhausted',
      },
    },
    {
      d: {
        kind: 'blockClaimed',
        node: 'node-2',
        block: '10.65.1.64/26',
        pool: 'default-ipv4-ippool',
        reason: 'noBlock',
      },
      event: {
        regarding: { apiVersion: 'v1', kind: 'Node', name: 'node-2' },
        related: { apiVersion: 'projectcalico.org/v3', kind: 'IPAMBlock', name: '10-65-1-64-26' },
        type: 'Normal',
        reason: 'BlockClaimed',
        action: 'Claim',
        note: 'claimed block 10.65.1.64/26 of pool default-ipv4-ippool for node node-2: it had no block with free addresses',
      },
    },
    {
      d: { kind: 'blockReleased', block: '10.65.2.0/26', reason: 'emptyUnaffine' },
      event: {
        regarding: { apiVersion: 'projectcalico.org/v3', kind: 'IPAMBlock', name: '10-65-2-0-26' },
        related: { apiVersion: 'projectcalico.org/v3', kind: 'IPAMBlock', name: '10-65-2-0-26' },
        type: 'Normal',
        reason: 'BlockReleased',
        action: 'Release',
        note: 'released block 10.65.2.0/26: the block has no node and no address in use',
      },
    },
    {
      d: {
        kind: 'gcReleased',
        reason: 'leaked',
        handleId: 'k8s-pod-network.abc',
        addresses: [{ address: '10.65.0.5', block: '10.65.0.0/26' }],
        node: 'node-1',
        pod,
      },
      event: {
        regarding: { apiVersion: 'v1', kind: 'Pod', namespace: 'shop', name: 'cart-1' },
        related: { apiVersion: 'projectcalico.org/v3', kind: 'IPAMBlock', name: '10-65-0-0-26' },
        type: 'Warning',
        reason: 'LeakedAddressReleased',
        action: 'GarbageCollect',
        note:
          'released 10.65.0.5 (block 10.65.0.0/26) (handle k8s-pod-network.abc, pod shop/cart-1, node node-1): ' +
          'its pod is gone and it stayed allocated for the leak grace period',
      },
    },
    {
      d: {
        kind: 'leakSuspected',
        address: { address: '10.65.0.5', block: '10.65.0.0/26' },
        handleId: 'k8s-pod-network.abc',
        node: 'node-1',
        releaseAfterMs: 15 * 60_000,
      },
      event: {
        regarding: { apiVersion: 'projectcalico.org/v3', kind: 'IPAMBlock', name: '10-65-0-0-26' },
        related: { apiVersion: 'projectcalico.org/v3', kind: 'IPAMBlock', name: '10-65-0-0-26' },
        type: 'Warning',
        reason: 'AddressLeakSuspected',
        action: 'GarbageCollect',
        note:
          '10.65.0.5 (block 10.65.0.0/26) (handle k8s-pod-network.abc, node node-1) is allocated but no running pod ' +
          'has it; released in 15m unless it is used again',
      },
    },
  ])('$d.kind', ({ d, event }) => {
    expect(ipamEvent(d)).toEqual(event);
  });
});

describe('finding history again', () => {
  it('reads the addresses and CIDRs a note names, canonically, past punctuation', () => {
    expect(namedAddresses('released 10.65.0.5 (block 10.65.0.0/26), fd00:0::1: done; 2001:db8::')).toEqual([
      '10.65.0.5',
      '10.65.0.0/26',
      'fd00::1',
      '2001:db8::',
    ]);
    expect(namedAddresses('node node-1, handle k8s-pod-network.abc')).toEqual([]);
  });

  it("an address matches its own Events and those of the block holding it, never a neighbour's", () => {
    const e = (note: string, reason = 'AddressAssigned') => ({ note, reason });
    expect(eventConcernsAddress(e('assigned 10.65.0.5 (block 10.65.0.0/26) on node n'), '10.65.0.5')).toBe(true);
    // Another address of the same block: its note names the block, but it is not this address's history.
    expect(eventConcernsAddress(e('assigned 10.65.0.6 (block 10.65.0.0/26) on node n'), '10.65.0.5')).toBe(false);
    const claim = e('claimed block 10.65.0.0/26 of pool p for node n', 'BlockClaimed');
    expect(eventConcernsAddress(claim, '10.65.0.63')).toBe(true);
    expect(eventConcernsAddress(claim, '10.65.0.64')).toBe(false);
    expect(eventConcernsAddress(e('released block 10.65.0.0/26 of node n', 'BlockReleased'), '10.65.0.1')).toBe(true);
    expect(eventConcernsAddress(e('assigned 10.65.0.50 on node n'), '10.65.0.5')).toBe(false);
    expect(eventConcernsAddress(e('released fd00::5 on node n'), 'fd00:0:0::5')).toBe(true);
    expect(eventConcernsAddress(e('released fd00::5 on node n'), 'not-an-ip')).toBe(false);
  });

  it('a pod matches Events regarding it or related to it, in its namespace only', () => {
    const about = { regarding: { kind: 'Pod', namespace: 'shop', name: 'cart-1' } };
    expect(eventConcernsPod(about, pod)).toBe(true);
    expect(eventConcernsPod({ related: { kind: 'Pod', namespace: 'shop', name: 'cart-1' } }, pod)).toBe(true);
    expect(eventConcernsPod({ regarding: { kind: 'Pod', namespace: 'other', name: 'cart-1' } }, pod)).toBe(false);
    expect(eventConcernsPod({ regarding: { kind: 'Node', name: 'cart-1' } }, pod)).toBe(false);
  });

  it('only our reasons from our controllers are IPAM history', () => {
    expect(isIpamHistoryEvent({ reason: 'AddressAssigned', reportingController: 'tabby.dev/agent' })).toBe(true);
    expect(isIpamHistoryEvent({ reason: 'BlockClaimed', reportingController: 'tabby.dev/operator' })).toBe(true);
    expect(isIpamHistoryEvent({ reason: 'AddressAssigned', reportingController: 'kubelet' })).toBe(false);
    expect(isIpamHistoryEvent({ reason: 'PoolOverlap', reportingController: 'tabby.dev/operator' })).toBe(false);
  });
});
