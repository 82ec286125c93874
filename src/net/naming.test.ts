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
  // Expected names from Calico's own tests, which Calico computes with VethNameForWorkload:
  // libcalico-go/lib/backend/k8s/conversion/conversion_test.go (podA, podB) and
  // libcalico-go/lib/backend/k8s/resources/workloadendpoint_test.go (simplePod, simplePod2, termPod, termPod2).
  it.each([
    { namespace: 'default', pod: 'podA', name: 'cali7f94ce7c295' },
    { namespace: 'default', pod: 'podB', name: 'cali92cf1f5e9f6' },
    { namespace: 'testNamespace', pod: 'simplePod', name: 'caliedff4356bd6' },
    { namespace: 'testNamespace', pod: 'simplePod2', name: 'cali4274eb44391' },
    { namespace: 'testNamespace', pod: 'termPod', name: 'calidfce31fd9be' },
    { namespace: 'testNamespace', pod: 'termPod2', name: 'cali9591578421e' },
  ])('$namespace/$pod -> $name', ({ namespace, pod, name }) => {
    expect(workloadInterfaceName(namespace, pod)).toBe(name);
  });

  it('is cali + 11 hex chars, 15 chars in all (Linux IFNAMSIZ-1)', () => {
    // `printf 'kube-system.coredns-5d78c9869d-abcde' | sha1sum` → 4d5f75c480cc7f4e...
    expect(workloadInterfaceName('kube-system', 'coredns-5d78c9869d-abcde')).toBe('cali4d5f75c480c');
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
    // A 239-character host makes "<host>-10-244-1-0-26" 253 long. Calico (ipam_affinity_v1.go parseKey) keeps
    // 252 - 13 - 13 = 226 characters of the host and appends 11 hex chars of sha256("<host>+10-244-1-0-26"):
    // `printf '%s+10-244-1-0-26' "$(printf 'n%.0s' $(seq 239))" | sha256sum` → 62826fd7a47197b3...,
    // and with one more "x" on the host → a0627b1020c5014e...
    const node = 'n'.repeat(239);
    const name = blockAffinityObjectName(node, '10.244.1.0/26');
    expect(name).toBe(`${'n'.repeat(226)}-10-244-1-0-26-62826fd7a47`);
    expect(name).toHaveLength(252);
    expect(blockAffinityObjectName(`${node}x`, '10.244.1.0/26')).toBe(`${'n'.repeat(226)}-10-244-1-0-26-a0627b1020c`);
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
    // Felix's calculation-graph tests (felix/calc/states_for_test.go, "VXLAN IPv6"): MacV6 of remotehostname.
    expect(vxlanMacForNode('remotehostname', 6)).toBe('66:a0:68:c9:4c:79');
  });
});

describe('other names', () => {
  it('IPAMHandle names are the lower-cased handle ID', () => {
    expect(ipamHandleObjectName('k8s-pod-network.ABCdef0123')).toBe('k8s-pod-network.abcdef0123');
  });

  // Calico: libcalico-go/lib/backend/model/block_affinity.go hashHostnameForLabel. Calico's tests only check that
  // the label is set; these were derived with `printf '<host>' | openssl dgst -sha3-256 -binary | base32 | tr -d =`
  // (and agree with Python's base64.b32encode(hashlib.sha3_256(...).digest())).
  it.each([
    { host: 'node-1', hash: 'A3XPYDATRKB7Q4SM2O5FN4RXIHBFIL2PITFX26BAIP5XAB2X74CA' },
    { host: 'k8s-master-1', hash: 'DR6B4QISHIEG4JH5CBKPV5VZ5VQM4AO5NCXEK643K4MDPFL23AWA' },
  ])('hostname-hash label of $host is unpadded RFC 4648 base32 of sha3-256 (52 chars)', ({ host, hash }) => {
    expect(blockAffinityHostnameHash(host)).toBe(hash);
  });
});
