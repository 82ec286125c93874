// Names Calico derives from other names; Tabby must produce the same ones so that it interoperates with objects and
// devices Calico created (and the other way round).
// - workloadInterfaceName: calico: libcalico-go/lib/backend/k8s/conversion/workload_endpoint_default.go
//   (VethNameForWorkload): prefix + first 11 hex chars of sha1("<namespace>.<pod>").
// - ipamBlockObjectName: calico: libcalico-go/lib/names/cidr.go (CIDRToName): the CIDR's text with ".", ":" and "/"
//   replaced by "-".
// - blockAffinityObjectName: calico: libcalico-go/lib/backend/k8s/resources/ipam_affinity*.go (parseKey):
//   "<host>-<cidr name>", shortened below 253 characters with an 11-hex-char sha256 suffix for long host names.
// - vxlanMacForNode: calico: felix/calc/vxlan_resolver.go (vtepMACForHost): 0x66 followed by the first 5 bytes of
//   sha1(node name), or of sha1("<node name>-v6") for the IPv6 VTEP.
// - ipamHandleObjectName, blockAffinityHostnameHash: see calico-reference.md 1.3.
// Pure computation: node:crypto hashing only.
import { createHash } from 'node:crypto';
import { type Cidr, cidrMasked, formatCidr, parseCidr } from './cidr.js';
import type { IPFamily } from './ip.js';

export function workloadInterfaceName(namespace: string, pod: string, prefix = 'cali'): string {
  const hex = createHash('sha1').update(`${namespace}.${pod}`, 'utf8').digest('hex');
  return prefix + hex.slice(0, 11);
}

/** Storage name of the IPAMBlock for `cidr` (a string must be a strict CIDR), e.g. 10.244.1.0/26 -> 10-244-1-0-26. */
export function ipamBlockObjectName(cidr: Cidr | string): string {
  const c = typeof cidr === 'string' ? parseCidr(cidr) : cidrMasked(cidr);
  return formatCidr(c).replace(/[.:/]/g, '-');
}

const MAX_NAME = 253;

/** Storage name of the BlockAffinity binding `node` to the block `cidr`. */
export function blockAffinityObjectName(node: string, cidr: Cidr | string): string {
  const cidrName = ipamBlockObjectName(cidr);
  const name = `${node}-${cidrName}`;
  if (name.length < MAX_NAME) return name;
  // Keep 252 characters: truncated host, "-", cidr name, "-", 11 hex chars of sha256("<host>+<cidr name>").
  const hash = createHash('sha256').update(`${node}+${cidrName}`, 'utf8').digest('hex').slice(0, 11);
  return `${node.slice(0, MAX_NAME - 1 - cidrName.length - 13)}-${cidrName}-${hash}`;
}

/** Storage name of an IPAMHandle: the handle ID lower-cased. */
export function ipamHandleObjectName(handleId: string): string {
  return handleId.toLowerCase();
}

/** Value of the `projectcalico.org/hostname-hash` label: base32 (RFC 4648, no padding) of sha3-256(hostname). */
export function blockAffinityHostnameHash(hostname: string): string {
  return base32NoPad(createHash('sha3-256').update(hostname, 'utf8').digest());
}

function base32NoPad(bytes: Uint8Array): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let out = '';
  let acc = 0;
  let bits = 0;
  for (const b of bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += alphabet[(acc >>> bits) & 31];
    }
    acc &= (1 << bits) - 1;
  }
  if (bits > 0) out += alphabet[(acc << (5 - bits)) & 31];
  return out;
}

/** The VXLAN tunnel device MAC Calico computes for a node that has none recorded. */
export function vxlanMacForNode(nodeName: string, family: IPFamily = 4): string {
  const input = family === 6 ? `${nodeName}-v6` : nodeName;
  const sha = createHash('sha1').update(input, 'utf8').digest();
  const bytes = [0x66, ...sha.subarray(0, 5)];
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}
