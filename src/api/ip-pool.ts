// IPPool (projectcalico.org/v3): a range pods (and tunnel devices) get addresses from, cut into blocks per node.
// Field names, enums and defaults are Calico's (`calico: api/pkg/apis/projectcalico/v3/ippool.go`); the defaults
// Calico's client fills on read (`calico: libcalico-go/lib/clientv3/ippool.go` convertIpPoolFromStorage) are filled
// by the parse: blockSize 26/122 by family, allowedUses [Workload, Tunnel], nodeSelector all(), modes Never,
// assignmentMode Automatic. Rules that need no other object are here twice — as zod checks and as the CRD's CEL —
// and say the same thing; pool overlap needs every pool and lives in cross-checks.ts.
import { z } from 'zod';
import { cidrFamily, cidrsOverlap, parseCidr, tryParseCidr } from '../net/index.js';
import { ConditionsSchema, envelope } from './common.js';
import { cidrField, selectorField } from './fields.js';
import { CALICO_API_VERSION, CALICO_GROUP, CALICO_VERSION, cel, crdDefault, defineKind, field, rule } from './meta.js';

export const EncapModeSchema = z.enum(['Never', 'Always', 'CrossSubnet'], {
  error: 'must be one of Never, Always, CrossSubnet (case-sensitive)',
});
export type EncapMode = z.infer<typeof EncapModeSchema>;

export const AllowedUseSchema = z.enum(['Workload', 'Tunnel', 'LoadBalancer'], {
  error: 'must be one of Workload, Tunnel, LoadBalancer (case-sensitive)',
});
export type AllowedUse = z.infer<typeof AllowedUseSchema>;

export const AssignmentModeSchema = z.enum(['Automatic', 'Manual'], { error: 'must be Automatic or Manual' });

export const BLOCK_SIZE_DEFAULT = { 4: 26, 6: 122 } as const;
export const BLOCK_SIZE_RANGE = { 4: [20, 32], 6: [116, 128] } as const;
const LINK_LOCAL = { 4: '169.254.0.0/16', 6: 'fe80::/10' } as const;

/** Reason values of the `Allocatable` condition (Calico v3.32 kube-controllers IPPool controller). */
export const ALLOCATABLE_REASONS = ['OK', 'CIDROverlap', 'Terminating', 'PoolDisabled'] as const;

// CEL helpers: the pool's family, and its block size with the family default, both safe on a malformed cidr.
const FAMILY = 'cidr(self.cidr).ip().family()';
const EFFECTIVE_BLOCK = (s: string) =>
  `(has(${s}.blockSize) && ${s}.blockSize != 0 ? ${s}.blockSize : (cidr(${s}.cidr).ip().family() == 4 ? 26 : 122))`;
const ENCAP_ON = (f: string) => `(has(self.${f}) && self.${f} != 'Never')`;
const HAS_USE = (u: string) => `(has(self.allowedUses) && self.allowedUses.exists(u, u == '${u}'))`;

const NODE_SELECTOR_DOC =
  'Calico selector over Node labels choosing the nodes that may take blocks from this pool. Default all().';

const IPPoolSpecObject = z.looseObject({
  cidr: rule(
    cidrField('spec.cidr', 'The pool CIDR, strictly masked (e.g. 10.244.0.0/16). Cannot be changed.', {
      'x-kubernetes-validations': [
        cel(
          'self == oldSelf',
          'spec.cidr cannot be changed; create a new pool and disable this one to migrate (Calico IP pool migration)',
        ),
      ],
    }),
    {
      calico:
        'required; CRD format cidr, at most 48 characters; strictly masked (validator `net`, CRD CEL); not within ' +
        '169.254.0.0/16 or fe80::/10 (CRD CEL); immutable (CRD CEL)',
      condition: 'must not overlap another pool: the later pool is Allocatable=False/CIDROverlap (Calico v3.32)',
    },
  ),
  vxlanMode: rule(
    crdDefault(
      EncapModeSchema.optional(),
      'Never',
      'VXLAN encapsulation for traffic to addresses in this pool: Never (default), Always, or CrossSubnet ' +
        '(only between nodes in different subnets). Cannot be enabled together with ipipMode.',
    ),
    {
      calico: 'enum Never, Always, CrossSubnet (CRD); not with ipipMode enabled, not on a LoadBalancer pool (CRD CEL)',
    },
  ),
  ipipMode: rule(
    crdDefault(
      EncapModeSchema.optional(),
      'Never',
      'IP-in-IP encapsulation for traffic to addresses in this pool: Never (default), Always, or CrossSubnet ' +
        '(only between nodes in different subnets). IPv4 pools only; cannot be enabled together with vxlanMode.',
    ),
    {
      calico:
        'enum Never, Always, CrossSubnet (CRD); not with vxlanMode enabled, not on IPv6 pools, not on a LoadBalancer ' +
        'pool (CRD CEL)',
    },
  ),
  natOutgoing: crdDefault(
    z.boolean().default(false),
    false,
    'Masquerade traffic from pods in this pool to destinations outside every pool. Default false.',
  ),
  disabled: crdDefault(
    z.boolean().default(false),
    false,
    'Stop assigning addresses from this pool; existing addresses and routes stay. Default false.',
  ),
  disableBGPExport: rule(
    field(z.boolean().default(false), "Do not advertise this pool's CIDR and blocks to BGP peers. Default false."),
    { calico: 'not true on a LoadBalancer pool (CRD CEL)' },
  ),
  blockSize: rule(
    field(
      z
        .number({ error: 'must be an integer' })
        .int({ error: 'must be an integer' })
        .min(0, { error: 'must be 0..128' })
        .max(128, { error: 'must be 0..128' })
        .optional(),
      'Prefix length of the blocks handed to nodes: 20..32 for IPv4 (default 26), 116..128 for IPv6 (default 122); ' +
        'at least the pool prefix length. Cannot be changed.',
    ),
    {
      calico:
        '0..128 (CRD); 20..32 for IPv4 and 116..128 for IPv6, and no shorter than the pool prefix unless the pool ' +
        'is disabled (CRD CEL); immutable (CRD CEL)',
    },
  ),
  nodeSelector: rule(
    crdDefault(selectorField('spec.nodeSelector', NODE_SELECTOR_DOC).default('all()'), 'all()', NODE_SELECTOR_DOC),
    {
      calico:
        'Calico selector syntax (validator `selector`), at most 1024 characters, default all(); no global(), and ' +
        'all() on a LoadBalancer pool (CRD CEL)',
      webhook: 'selector syntax (Calico selector parser)',
    },
  ),
  namespaceSelector: rule(
    selectorField(
      'spec.namespaceSelector',
      'Calico selector over Namespace labels; when set, both it and nodeSelector must match. Not with Tunnel use.',
    ).optional(),
    {
      calico:
        'Calico selector syntax (validator `selector`), at most 1024 characters; no global(), not on a pool with ' +
        'Tunnel use (CRD CEL)',
      webhook: 'selector syntax (Calico selector parser)',
    },
  ),
  allowedUses: rule(
    field(
      z.array(AllowedUseSchema).max(10, { error: 'must have at most 10 entries' }).optional(),
      'What addresses from this pool are for: Workload, Tunnel, LoadBalancer. Default [Workload, Tunnel]. ' +
        'LoadBalancer cannot be combined with the others.',
      { 'x-kubernetes-list-type': 'set' },
    ),
    {
      calico: 'set of at most 10, each Workload, Tunnel or LoadBalancer (CRD); LoadBalancer alone (CRD CEL)',
    },
  ),
  assignmentMode: rule(
    crdDefault(
      AssignmentModeSchema.default('Automatic'),
      'Automatic',
      'Automatic: IPAM picks this pool on its own; Manual: only when a pod or namespace asks for it by name.',
    ),
    { calico: 'enum Automatic, Manual; default Automatic (CRD)' },
  ),
});

type IPPoolSpecInput = z.output<typeof IPPoolSpecObject>;

/** Calico's cross-field rules on one pool, with the field each is reported on. */
function checkPoolRules(spec: IPPoolSpecInput, ctx: z.RefinementCtx): void {
  const add = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
  // zod runs object refinements after continuable field issues too; a bad cidr is already reported.
  const pool = tryParseCidr(spec.cidr);
  if (pool === undefined) return;
  const family = cidrFamily(pool);
  const prefix = pool.prefix;
  const ipipOn = spec.ipipMode !== undefined && spec.ipipMode !== 'Never';
  const vxlanOn = spec.vxlanMode !== undefined && spec.vxlanMode !== 'Never';
  if (ipipOn && vxlanOn) add('vxlanMode', 'ipipMode and vxlanMode cannot both be enabled');
  if (family === 6 && ipipOn) add('ipipMode', 'IPIP is not supported on IPv6 pools');
  const [lo, hi] = BLOCK_SIZE_RANGE[family];
  const blockSize = spec.blockSize === undefined || spec.blockSize === 0 ? BLOCK_SIZE_DEFAULT[family] : spec.blockSize;
  if (spec.blockSize !== undefined && spec.blockSize !== 0 && (spec.blockSize < lo || spec.blockSize > hi)) {
    add('blockSize', `must be ${lo}..${hi} for an IPv${family} pool (got ${spec.blockSize})`);
  } else if (!spec.disabled && prefix > blockSize) {
    add('blockSize', `pool /${prefix} is smaller than one /${blockSize} block: blockSize must be >= the pool prefix`);
  }
  const linkLocal = LINK_LOCAL[family];
  if (cidrsOverlap(pool, parseCidr(linkLocal))) add('cidr', `must not overlap the link-local range ${linkLocal}`);
  const uses = spec.allowedUses ?? [];
  if (uses.includes('LoadBalancer')) {
    if (uses.includes('Workload') || uses.includes('Tunnel')) {
      add('allowedUses', 'LoadBalancer cannot be combined with Workload or Tunnel');
    }
    if (ipipOn || vxlanOn) add('allowedUses', 'a LoadBalancer pool cannot have ipipMode or vxlanMode enabled');
    if (spec.disableBGPExport) add('disableBGPExport', 'a LoadBalancer pool cannot disable BGP export');
    if (spec.nodeSelector !== 'all()') add('nodeSelector', 'a LoadBalancer pool must have nodeSelector all()');
  }
  if (uses.includes('Tunnel') && spec.namespaceSelector !== undefined && spec.namespaceSelector !== '') {
    add('namespaceSelector', 'a pool with Tunnel use cannot have a namespaceSelector');
  }
}

/** Calico's read defaults: what every consumer may rely on after a parse. */
function applyPoolDefaults(spec: IPPoolSpecInput) {
  const family = tryParseCidr(spec.cidr)?.family ?? 4;
  return {
    ...spec,
    vxlanMode: spec.vxlanMode ?? 'Never',
    ipipMode: spec.ipipMode ?? 'Never',
    blockSize: spec.blockSize === undefined || spec.blockSize === 0 ? BLOCK_SIZE_DEFAULT[family] : spec.blockSize,
    nodeSelector: spec.nodeSelector === '' ? 'all()' : spec.nodeSelector,
    allowedUses:
      spec.allowedUses === undefined || spec.allowedUses.length === 0 ? ['Workload', 'Tunnel'] : spec.allowedUses,
  } as const satisfies IPPoolSpecInput;
}

/** The spec fields as written (no cross-field rules, no defaults): for tooling that walks the shape. */
export const IPPoolSpecShape = IPPoolSpecObject;

export const IPPoolSpecSchema = field(
  IPPoolSpecObject.superRefine(checkPoolRules).transform(applyPoolDefaults),
  'IPPool specification (Calico projectcalico.org/v3).',
  {
    'x-kubernetes-validations': [
      cel(
        `!${ENCAP_ON('ipipMode')} || !${ENCAP_ON('vxlanMode')}`,
        'spec.ipipMode and spec.vxlanMode cannot both be enabled',
        {
          fieldPath: '.vxlanMode',
          reason: 'FieldValueForbidden',
        },
      ),
      cel(
        `!isCIDR(self.cidr) || ${FAMILY} != 6 || !${ENCAP_ON('ipipMode')}`,
        'spec.ipipMode: IPIP is not supported on IPv6 pools',
        {
          fieldPath: '.ipipMode',
          reason: 'FieldValueForbidden',
        },
      ),
      cel(
        `!isCIDR(self.cidr) || !has(self.blockSize) || self.blockSize == 0 || ` +
          `(${FAMILY} == 4 ? self.blockSize >= 20 && self.blockSize <= 32 : self.blockSize >= 116 && self.blockSize <= 128)`,
        'spec.blockSize must be 20..32 for an IPv4 pool and 116..128 for an IPv6 pool',
        { fieldPath: '.blockSize' },
      ),
      cel(
        `!isCIDR(self.cidr) || (has(self.disabled) && self.disabled) || cidr(self.cidr).prefixLength() <= ${EFFECTIVE_BLOCK('self')}`,
        'spec.blockSize must not be shorter than the pool prefix: the pool must hold at least one block',
        { fieldPath: '.blockSize' },
      ),
      cel(
        "!isCIDR(self.cidr) || (!cidr('169.254.0.0/16').containsIP(cidr(self.cidr).ip()) && " +
          "!cidr(self.cidr).containsIP('169.254.0.0') && !cidr('fe80::/10').containsIP(cidr(self.cidr).ip()) && " +
          "!cidr(self.cidr).containsIP('fe80::'))",
        'spec.cidr must not overlap the link-local ranges 169.254.0.0/16 and fe80::/10',
        { fieldPath: '.cidr' },
      ),
      cel(
        `!${HAS_USE('LoadBalancer')} || !self.allowedUses.exists(u, u == 'Workload' || u == 'Tunnel')`,
        'spec.allowedUses: LoadBalancer cannot be combined with Workload or Tunnel',
        { fieldPath: '.allowedUses', reason: 'FieldValueForbidden' },
      ),
      cel(
        `!${HAS_USE('LoadBalancer')} || (!${ENCAP_ON('ipipMode')} && !${ENCAP_ON('vxlanMode')})`,
        'spec.allowedUses: a LoadBalancer pool cannot have ipipMode or vxlanMode enabled',
        { fieldPath: '.allowedUses', reason: 'FieldValueForbidden' },
      ),
      cel(
        `!${HAS_USE('LoadBalancer')} || !has(self.disableBGPExport) || !self.disableBGPExport`,
        'spec.disableBGPExport: a LoadBalancer pool cannot disable BGP export',
        { fieldPath: '.disableBGPExport', reason: 'FieldValueForbidden' },
      ),
      cel(
        `!${HAS_USE('LoadBalancer')} || !has(self.nodeSelector) || self.nodeSelector == 'all()'`,
        'spec.nodeSelector: a LoadBalancer pool must have nodeSelector all()',
        { fieldPath: '.nodeSelector' },
      ),
      cel(
        `!${HAS_USE('Tunnel')} || !has(self.namespaceSelector) || size(self.namespaceSelector) == 0`,
        'spec.namespaceSelector: a pool with Tunnel use cannot have a namespaceSelector',
        { fieldPath: '.namespaceSelector', reason: 'FieldValueForbidden' },
      ),
      cel(
        `!isCIDR(self.cidr) || !isCIDR(oldSelf.cidr) || ${EFFECTIVE_BLOCK('self')} == ${EFFECTIVE_BLOCK('oldSelf')}`,
        'spec.blockSize cannot be changed; create a new pool and disable this one to migrate (Calico IP pool migration)',
        { fieldPath: '.blockSize' },
      ),
    ],
  },
);
export type IPPoolSpec = z.infer<typeof IPPoolSpecSchema>;

export const IPPoolStatusSchema = z.looseObject({
  conditions: field(
    ConditionsSchema.optional(),
    'Allocatable (True/False with reason OK, CIDROverlap, Terminating or PoolDisabled), as Calico v3.32 reports it.',
  ),
  allocatedIPs: field(
    z.number().int().min(0).optional(),
    'Addresses handed out from this pool as of usageTime: counted when a block is claimed or released, when the ' +
      "pool changes and at the operator's periodic drift check (pods starting inside a claimed block cause no write).",
  ),
  totalIPs: field(z.string().max(40).optional(), 'Addresses in the pool (decimal text: IPv6 pools exceed int64).'),
  allocatedBlocks: field(z.number().int().min(0).optional(), 'Blocks of this pool claimed by nodes (always current).'),
  totalBlocks: field(z.string().max(40).optional(), 'Blocks the pool can be cut into (decimal text).'),
  blocks: field(z.string().max(96).optional(), 'Claimed/total blocks, e.g. "3/1024" (always current).'),
  used: field(z.string().max(96).optional(), 'Allocated/total addresses as of usageTime, e.g. "12/65536".'),
  usageTime: field(z.string().max(40).optional(), 'When allocatedIPs and used were counted.'),
  observedGeneration: field(z.number().int().min(0).optional(), 'metadata.generation this status describes.'),
});
export type IPPoolStatus = z.infer<typeof IPPoolStatusSchema>;

export const IPPoolSchema = z.looseObject({
  ...envelope(CALICO_API_VERSION, 'IPPool'),
  spec: IPPoolSpecSchema,
  status: IPPoolStatusSchema.optional(),
});
export type IPPool = z.infer<typeof IPPoolSchema>;

export const IPPoolKind = defineKind({
  group: CALICO_GROUP,
  version: CALICO_VERSION,
  kind: 'IPPool',
  plural: 'ippools',
  // Calico's v3 CRD emits no short name for IPPool; `ippool` (singular) already works, `ipp` is ours.
  shortNames: ['ipp'],
  description:
    'A range of addresses pods (and tunnel devices) are assigned from, handed to nodes in blocks of blockSize. ' +
    'Calico-compatible (projectcalico.org/v3).',
  schema: IPPoolSchema,
  hasStatus: true,
  printerColumns: [
    { name: 'CIDR', type: 'string', jsonPath: '.spec.cidr', description: 'The pool CIDR.' },
    { name: 'BlockSize', type: 'integer', jsonPath: '.spec.blockSize', description: 'Block prefix length.' },
    { name: 'IPIP', type: 'string', jsonPath: '.spec.ipipMode', description: 'IP-in-IP mode.' },
    { name: 'VXLAN', type: 'string', jsonPath: '.spec.vxlanMode', description: 'VXLAN mode.' },
    { name: 'NAT', type: 'boolean', jsonPath: '.spec.natOutgoing', description: 'Outgoing NAT.' },
    { name: 'Disabled', type: 'boolean', jsonPath: '.spec.disabled', description: 'No new allocations.' },
    { name: 'Blocks', type: 'string', jsonPath: '.status.blocks', description: 'Claimed/total blocks.' },
    {
      name: 'Used',
      type: 'string',
      jsonPath: '.status.used',
      priority: 1,
      description: 'Allocated/total addresses as of status.usageTime.',
    },
    {
      name: 'Allocatable',
      type: 'string',
      jsonPath: ".status.conditions[?(@.type=='Allocatable')].status",
      description: 'Whether IPAM may allocate from the pool (see the Allocatable condition reason).',
    },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
    { name: 'Selector', type: 'string', jsonPath: '.spec.nodeSelector', priority: 1, description: 'Node selector.' },
  ],
});
