// Public surface of src/net (names fixed by /work/contracts.md; pure, no I/O).
export { NetParseError, SelectorParseError } from './errors.js';
export {
  type IP,
  type IPFamily,
  compareIP,
  familyBits,
  formatIP,
  ipAdd,
  ipEquals,
  ipFamily,
  ipFromBigInt,
  ipToBigInt,
  ipv4FromNumber,
  parseIP,
  tryParseIP,
} from './ip.js';
export {
  type Cidr,
  broadcastAddress,
  cidrContainsCidr,
  cidrContainsIP,
  cidrEquals,
  cidrFamily,
  cidrMasked,
  cidrSize,
  cidrsOverlap,
  compareCidr,
  formatCidr,
  hostCidr,
  makeCidr,
  networkAddress,
  parseCidr,
  parseCidrLoose,
  tryParseCidr,
} from './cidr.js';
export {
  blockContaining,
  blockCount,
  blockIndex,
  ipAtOffset,
  ipOffset,
  iterateBlocks,
  iterateIPs,
  nthBlock,
} from './blocks.js';
export { aggregateCidrs } from './aggregate.js';
export { type Labels, type Selector, type SelectorNode, parseSelector, selectorFromAst } from './selector.js';
export { isValidSelectorLabel } from './selector-tokenizer.js';
export {
  blockAffinityHostnameHash,
  blockAffinityObjectName,
  ipamBlockObjectName,
  ipamHandleObjectName,
  vxlanMacForNode,
  workloadInterfaceName,
} from './naming.js';
export { goRegexpError } from './go-regexp.js';
