import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseCidr, parseCidrLoose } from './cidr.js';
import { NetParseError } from './errors.js';
import {
  blockAffinityHostnameHash,
  blockAffinityObjectName,
  ipamBlockObjectName,
  ipamHandleObjectName,
  vxlanMacForNode,
  workloadInterfaceName,
} from './naming.js';

describe('workloadInterfaceName', () => {
  // Expected names from Calico's own tests (libcalico-go/lib/backend/k8s/conversion/conversion_test.go and
  // resources/workloadendpoint_test.go), which Calico computes with VethNameForWorkload.
  it.each([
    { namespace: 'default', pod: 'podA', name: 'cali7f94ce7c295' },
    { namespace: 'default', pod: 'podB', name: 'cali92cf1f5e9f6' },
    { namespace: 'testNamespace', pod: 'simplePod', name: 'caliedff4356bd6' },
  ])('$namespace/$pod -> $name', ({ namespace, pod, name }) => {
    expect(workloadInterfaceName(namespace, pod)).toBe(name);
  });

  it('is cali + 11 hex chars, 15 chars in all (Linux IFNAMSIZ-1)', () => {
    const n = workloadInterfaceName('kube-system', 'coredns-5d78c9869d-abcde');
    expect(n).toMatch(/^cali[0-9a-f]{11}$/);
    expect(n).toBe(
      `cali${createHash('sha1').update('kube-system.coredns-5d78c9869d-abcde').digest('hex').slice(0, 11)}`,
    );
  });

  it('honours a custom prefix (FELIX_INTERFACEPREFIX first entry)', () => {
    expect(workloadInterfaceName('default', 'podA', 'tap')).toBe('tap7f94ce7c295');
  });
});

describe('ipamBlockObjectName', () => {
  it.each([
    { name: 'reference example', cidr: '10.244.1.0/26', object: '10-244-1-0-26' },
    { name: 'default pool block', cidr: '192.168.0.64/26', object: '192-168-0-64-26' },
    { name: 'v6 block', cidr: 'fd00:10:244::40/122', object: 'fd00-10-244--40-122' },
    { name: 'v6 full', cidr: '2001:db8:1:2:3:4:5:0/125', object: '2001-db8-1-2-3-4-5-0-125' },
    { name: 'v6 non-canonical input', cidr: 'FD00:0:0:0:0:0:0:0/122', object: 'fd00---122' },
  ])('$name: $cidr -> $object', ({ cidr, object }) => {
    expect(ipamBlockObjectName(cidr)).toBe(object);
    expect(ipamBlockObjectName(parseCidr(cidr))).toBe(object);
  });

  it('names the network of a CIDR that has host bits', () => {
    expect(ipamBlockObjectName(parseCidrLoose('10.244.1.7/26'))).toBe('10-244-1-0-26');
  });

  it('rejects text that is not a strict CIDR', () => {
    expect(() => ipamBlockObjectName('10.244.1.7/26')).toThrow(NetParseError);
    expect(() => ipamBlockObjectName('nope')).toThrow('"nope" is not a valid CIDR');
  });
});

describe('blockAffinityObjectName', () => {
  it.each([
    { node: 'k8s-master-1', cidr: '10.244.1.0/26', object: 'k8s-master-1-10-244-1-0-26' },
    { node: 'node-2.example.com', cidr: 'fd00:10:244::40/122', object: 'node-2.example.com-fd00-10-244--40-122' },
  ])('$node + $cidr', ({ node, cidr, object }) => {
    expect(blockAffinityObjectName(node, cidr)).toBe(object);
  });

  it('keeps names of 252 characters as they are', () => {
    const cidrName = '10-244-1-0-26';
    const node = 'n'.repeat(252 - cidrName.length - 1);
    expect(blockAffinityObjectName(node, '10.244.1.0/26')).toBe(`${node}-${cidrName}`);
  });

  it('shortens long host names to 252 characters with a sha256 suffix', () => {
    const cidrName = '10-244-1-0-26';
    const node = 'n'.repeat(253 - cidrName.length - 1);
    const name = blockAffinityObjectName(node, '10.244.1.0/26');
    const hash = createHash('sha256').update(`${node}+${cidrName}`).digest('hex').slice(0, 11);
    expect(name).toBe(`${node.slice(0, 252 - cidrName.length - 13)}-${cidrName}-${hash}`);
    expect(name).toHaveLength(252);
    const other = blockAffinityObjectName(`${node}x`, '10.244.1.0/26');
    expect(other).toHaveLength(252);
    expect(other).not.toBe(name);
  });
});

describe('vxlanMacForNode', () => {
  // calico-reference.md 6.7 (values verified against Felix's vtepMACForHost).
  it.each([
    { node: 'remotehostname', mac: '66:3e:ca:a4:db:65' },
    { node: 'remotehostname2', mac: '66:40:18:59:1f:16' },
    { node: 'localhostname', mac: '66:48:f6:56:dc:f1' },
  ])('$node -> $mac', ({ node, mac }) => {
    expect(vxlanMacForNode(node)).toBe(mac);
    expect(vxlanMacForNode(node, 4)).toBe(mac);
  });

  it('hashes "<node>-v6" for the IPv6 VTEP', () => {
    const sha = createHash('sha1').update('remotehostname-v6').digest();
    const want = ['66', ...[...sha.subarray(0, 5)].map((b) => b.toString(16).padStart(2, '0'))].join(':');
    expect(vxlanMacForNode('remotehostname', 6)).toBe(want);
    expect(vxlanMacForNode('remotehostname', 6)).not.toBe(vxlanMacForNode('remotehostname', 4));
  });
});

describe('other names', () => {
  it('IPAMHandle names are the lower-cased handle ID', () => {
    expect(ipamHandleObjectName('k8s-pod-network.ABCdef0123')).toBe('k8s-pod-network.abcdef0123');
  });

  it('hostname-hash label is unpadded RFC 4648 base32 of sha3-256 (52 chars, fits a label value)', () => {
    const h = blockAffinityHostnameHash('node-1');
    expect(h).toMatch(/^[A-Z2-7]{52}$/);
    // Independent base32 of the same digest, via its bit string.
    const digest = createHash('sha3-256').update('node-1').digest();
    const bitsText = [...digest]
      .map((b) => b.toString(2).padStart(8, '0'))
      .join('')
      .padEnd(260, '0');
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
    const want = (bitsText.match(/.{5}/g) ?? []).map((c) => alphabet[parseInt(c, 2)]).join('');
    expect(h).toBe(want);
  });
});
