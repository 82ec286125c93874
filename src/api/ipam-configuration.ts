// IPAMConfiguration (projectcalico.org/v3; Calico's v1 storage kind is `IPAMConfig`, plural `ipamconfigs`): the
// cluster's IPAM switches, a singleton named `default` (`calico: api/pkg/apis/projectcalico/v3/ipamconfig.go`).
// Defaults are those of Calico's CRD; the two cross-field rules are those `calicoctl ipam configure` enforces
// (`calico: libcalico-go/lib/ipam/ipam.go` SetIPAMConfig).
import { z } from 'zod';
import { intIn } from './fields.js';
import { envelope } from './common.js';
import { CALICO_API_VERSION, CALICO_GROUP, CALICO_VERSION, cel, crdDefault, defineKind, field, rule } from './meta.js';

/** The effective per-node block limit when maxBlocksPerHost is 0. */
export const DEFAULT_MAX_BLOCKS_PER_HOST = 20;

const IPAMConfigurationSpecObject = z.looseObject({
  strictAffinity: rule(
    crdDefault(
      z.boolean().default(false),
      false,
      'true: a node never borrows addresses from blocks of other nodes. Default false.',
    ),
    { calico: 'required, default false (CRD)' },
  ),
  autoAllocateBlocks: rule(
    crdDefault(z.boolean().default(true), true, 'false: nodes never claim new blocks. Default true.'),
    {
      calico:
        'required, default true (CRD); not false together with strictAffinity false (libcalico-go SetIPAMConfig, ' +
        'as `calicoctl ipam configure` runs it)',
      differs: 'refused at the apiserver (CEL), where Calico refuses it only in its IPAM library',
    },
  ),
  maxBlocksPerHost: rule(
    crdDefault(
      z
        .number()
        .int({ error: 'must be an integer 0..1000000' })
        .min(0, { error: 'must be 0..1000000' })
        .max(1000000, { error: 'must be 0..1000000' })
        .default(0),
      0,
      'Most blocks one node may hold; 0 means the default limit (20). Requires strictAffinity.',
    ),
    {
      calico:
        '0..1000000, default 0 (CRD; validator >= 0); above 0 only with strictAffinity (libcalico-go SetIPAMConfig, ' +
        'as `calicoctl ipam configure` runs it)',
      differs: 'refused at the apiserver (CEL), where Calico refuses it only in its IPAM library',
    },
  ),
  kubeVirtVMAddressPersistence: rule(
    field(
      z.enum(['Enabled', 'Disabled'], { error: 'must be Enabled or Disabled' }).optional(),
      'Keep KubeVirt VM addresses across restarts and migrations. Default Enabled.',
    ),
    { calico: 'enum Enabled, Disabled (CRD)' },
  ),
  ipCooldownSeconds: rule(
    field(intIn(0, 1200).optional(), 'Seconds a released address waits before reuse (Calico master). Default 0.'),
    { calico: '0..1200 (CRD)' },
  ),
});

export const IPAMConfigurationSpecShape = IPAMConfigurationSpecObject;

export const IPAMConfigurationSpecSchema = field(
  IPAMConfigurationSpecObject.superRefine((spec, ctx) => {
    if (!spec.strictAffinity && !spec.autoAllocateBlocks) {
      ctx.addIssue({
        code: 'custom',
        path: ['autoAllocateBlocks'],
        message: 'strictAffinity and autoAllocateBlocks cannot both be false',
      });
    }
    if (spec.maxBlocksPerHost > 0 && !spec.strictAffinity) {
      ctx.addIssue({ code: 'custom', path: ['maxBlocksPerHost'], message: 'requires strictAffinity: true' });
    }
  }),
  'IPAMConfiguration specification (Calico projectcalico.org/v3).',
  {
    'x-kubernetes-validations': [
      cel(
        '(has(self.strictAffinity) && self.strictAffinity) || !has(self.autoAllocateBlocks) || self.autoAllocateBlocks',
        'spec.strictAffinity and spec.autoAllocateBlocks cannot both be false',
        { fieldPath: '.autoAllocateBlocks' },
      ),
      cel(
        '!has(self.maxBlocksPerHost) || self.maxBlocksPerHost == 0 || (has(self.strictAffinity) && self.strictAffinity)',
        'spec.maxBlocksPerHost requires spec.strictAffinity: true',
        { fieldPath: '.maxBlocksPerHost' },
      ),
    ],
  },
);
export type IPAMConfigurationSpec = z.infer<typeof IPAMConfigurationSpecSchema>;

export const IPAMConfigurationSchema = z.looseObject({
  ...envelope(CALICO_API_VERSION, 'IPAMConfiguration'),
  spec: IPAMConfigurationSpecSchema.default(() => IPAMConfigurationSpecSchema.parse({})),
});
export type IPAMConfiguration = z.infer<typeof IPAMConfigurationSchema>;

export const IPAMConfigurationKind = defineKind({
  group: CALICO_GROUP,
  version: CALICO_VERSION,
  kind: 'IPAMConfiguration',
  aliases: ['IPAMConfig'],
  plural: 'ipamconfigurations',
  shortNames: ['ipamconfig', 'ipamconfigs'],
  description:
    'Cluster IPAM switches (strictAffinity, autoAllocateBlocks, maxBlocksPerHost); one object named default. ' +
    'Calico-compatible (projectcalico.org/v3; v1 storage kind IPAMConfig).',
  schema: IPAMConfigurationSchema,
  specRequired: false,
  nameRules: [cel("self.metadata.name == 'default'", 'metadata.name of an IPAMConfiguration must be default')],
  checkName: (name) => (name === 'default' ? undefined : `must be default (IPAMConfiguration is a singleton)`),
  printerColumns: [
    { name: 'StrictAffinity', type: 'boolean', jsonPath: '.spec.strictAffinity', description: 'No borrowing.' },
    { name: 'MaxBlocksPerHost', type: 'integer', jsonPath: '.spec.maxBlocksPerHost', description: 'Block limit.' },
    { name: 'AutoAllocateBlocks', type: 'boolean', jsonPath: '.spec.autoAllocateBlocks', description: 'Claim blocks.' },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  ],
});
