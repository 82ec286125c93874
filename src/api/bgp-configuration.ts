// BGPConfiguration (projectcalico.org/v3): cluster BGP settings (`default`) and per-node overrides (`node.<name>`).
// Field names, enums and defaults are Calico's (`calico: api/pkg/apis/projectcalico/v3/bgpconfig.go`); the server
// defaults are those of Calico's v3 CRD (logSeverityScreen Info, serviceLoadBalancerAggregation Enabled). Values
// confd fills in when absent (mesh on, AS 64512) are NOT filled here: absence is meaningful for per-node objects, so
// the planner resolves them (`BGP_DEFAULTS`).
import { z } from 'zod';
import { envelope } from './common.js';
import {
  asNumberField,
  BGPPasswordSchema,
  cidrField,
  communityRangeCel,
  dnsNameField,
  durationField,
  ignoredInterfaceField,
  ipField,
  intIn,
} from './fields.js';
import {
  CALICO_API_VERSION,
  CALICO_GROUP,
  CALICO_VERSION,
  cel,
  crdDefault,
  defineKind,
  field,
  rule,
  unsupported,
} from './meta.js';

/** What confd assumes when the `default` object (or a field of it) is absent. */
export const BGP_DEFAULTS = { asNumber: 64512, nodeToNodeMeshEnabled: true, listenPort: 179 } as const;

const COMMUNITY = /^(\d+):(\d+)$|^(\d+):(\d+):(\d+)$/;

/** Standard `aa:nn` (16-bit parts) or large `aa:nn:mm` (32-bit parts) community. */
export function isCommunityValue(text: string): boolean {
  const m = COMMUNITY.exec(text);
  if (m === null) return false;
  const parts = text.split(':').map(Number);
  const max = parts.length === 2 ? 65535 : 4294967295;
  return parts.every((p) => Number.isSafeInteger(p) && p <= max);
}

const SERVICE_CIDR_RULE = {
  calico: 'CRD format cidr (a bare address is refused); strictly masked (validator `net`)',
};
const ServiceCidrBlock = (what: string) =>
  z.looseObject({
    cidr: rule(
      cidrField(`${what}[].cidr`, 'Address range, a CIDR such as 10.96.0.0/12.').optional(),
      SERVICE_CIDR_RULE,
    ),
  });
const SERVICE_LIST_RULE = {
  calico: 'none (list)',
  differs: "at most 500 entries, which keeps the items' CEL rules within the apiserver's cost budget",
};

export const CommunitySchema = z.looseObject({
  name: rule(
    dnsNameField('Name referenced from prefixAdvertisements[].communities.').min(1, { error: 'is required' }),
    {
      calico: 'required; DNS-1123 subdomain, at most 253 characters (validator `name`)',
    },
  ),
  value: rule(
    field(
      z
        .string()
        .max(40)
        .regex(COMMUNITY, { error: 'must be aa:nn or aa:nn:mm' })
        .refine(isCommunityValue, { error: 'must be aa:nn (each 0..65535) or aa:nn:mm (each 0..4294967295)' }),
      'Community value: aa:nn or aa:nn:mm.',
      { 'x-kubernetes-validations': [communityRangeCel('spec.communities[].value', false)] },
    ),
    {
      calico:
        'required; CRD pattern ^(\\d+):(\\d+)$|^(\\d+):(\\d+):(\\d+)$, at most 40 characters; parts of aa:nn fit 16 bits, ' +
        'of aa:nn:mm 32 bits (Go validator)',
    },
  ),
});

export const PrefixAdvertisementSchema = z.looseObject({
  cidr: rule(cidrField('spec.prefixAdvertisements[].cidr', 'Prefix the communities apply to.'), {
    calico: 'required; CRD format cidr; strictly masked (validator `net`)',
  }),
  communities: rule(
    field(
      z
        .array(field(z.string().max(253), 'A community value (aa:nn, aa:nn:mm) or a name defined in spec.communities.'))
        .max(50),
      'Community values or names defined in spec.communities.',
    ),
    {
      calico:
        'required, at most 50 (CRD); each a community value in range or the name of one in spec.communities (Go ' +
        'validator)',
      // Per entry, CEL over 500 advertisements x 50 entries of up to 253 characters is far over the apiserver's
      // cost budget (measured: 52x), so the range check of values waits for the webhook too.
      webhook:
        'each a community value in range (aa:nn 16-bit parts, aa:nn:mm 32-bit) or a name defined in spec.communities',
    },
  ),
});

const BGPConfigurationSpecObject = z.looseObject({
  logSeverityScreen: rule(
    field(
      z
        .string()
        .regex(/^(Trace|Debug|Info|Warning|Error|Fatal)?$/i, {
          error: 'must be one of Trace, Debug, Info, Warning, Error, Fatal',
        })
        .default('Info'),
      'BIRD log detail: Trace, Debug, Info (default), Warning, Error, Fatal; any letter case.',
      { 'x-tabby-crd-default': 'Info', 'x-tabby-crd-pattern': '^(?i)(Trace|Debug|Info|Warning|Error|Fatal)?$' },
    ),
    { calico: 'CRD pattern ^(?i)(Trace|Debug|Info|Warning|Error|Fatal)?$, default Info' },
  ),
  nodeToNodeMeshEnabled: field(
    z.boolean().optional(),
    'Full BGP mesh between all nodes. Default true; only read from the default object.',
  ),
  asNumber: asNumberField(
    'spec.asNumber',
    'Default AS number for nodes without their own. Default 64512; only read from the default object.',
  ).optional(),
  serviceLoadBalancerIPs: rule(
    field(
      z.array(ServiceCidrBlock('spec.serviceLoadBalancerIPs')).max(500).optional(),
      'LoadBalancer ingress IPs inside these ranges are advertised over BGP (ranges from every node while ' +
        'serviceLoadBalancerAggregation is Enabled; single addresses per Service).',
    ),
    SERVICE_LIST_RULE,
  ),
  serviceExternalIPs: rule(
    field(
      z.array(ServiceCidrBlock('spec.serviceExternalIPs')).max(500).optional(),
      'Service external IPs inside these ranges are advertised over BGP (ranges from every node; single addresses ' +
        'per Service).',
    ),
    SERVICE_LIST_RULE,
  ),
  serviceClusterIPs: rule(
    field(
      z.array(ServiceCidrBlock('spec.serviceClusterIPs')).max(500).optional(),
      'Service cluster IP ranges advertised over BGP from every node (and /32s of externalTrafficPolicy: Local ' +
        'Services from nodes with a local endpoint).',
    ),
    SERVICE_LIST_RULE,
  ),
  serviceLoadBalancerAggregation: rule(
    crdDefault(
      z.enum(['Enabled', 'Disabled'], { error: 'must be Enabled or Disabled' }).default('Enabled'),
      'Enabled',
      'Enabled: advertise LoadBalancer ranges as configured; Disabled: per-service /32 routes.',
    ),
    { calico: 'enum Enabled, Disabled; default Enabled (CRD)' },
  ),
  communities: rule(
    field(z.array(CommunitySchema).max(500).optional(), 'Named BGP community values for prefixAdvertisements.'),
    { calico: 'at most 500 (CRD); only with prefixAdvertisements (CRD CEL)' },
  ),
  prefixAdvertisements: rule(
    field(z.array(PrefixAdvertisementSchema).max(500).optional(), 'Communities attached to advertised prefixes.'),
    { calico: 'at most 500 (CRD)' },
  ),
  listenPort: rule(
    field(intIn(1, 65535).optional(), 'TCP port BIRD listens on (default 179); per-node override allowed.'),
    { calico: '1..65535 (CRD; validator gt=0)' },
  ),
  nodeMeshPassword: rule(field(BGPPasswordSchema.optional(), 'Secret key holding the password for mesh sessions.'), {
    calico: 'secretKeyRef.key required (CRD); not with nodeToNodeMeshEnabled false (CRD CEL)',
  }),
  nodeMeshMaxRestartTime: rule(durationField('Graceful restart time for mesh sessions (default 120s).').optional(), {
    calico: 'metav1.Duration (a Go duration); not with nodeToNodeMeshEnabled false (CRD CEL)',
    differs: 'negative durations refused (BIRD refuses them)',
  }),
  bindMode: rule(
    field(
      z.enum(['None', 'NodeIP'], { error: 'must be None or NodeIP' }).optional(),
      'NodeIP: BIRD listens only on the node address. Default None.',
    ),
    { calico: 'enum None, NodeIP (CRD)' },
  ),
  ignoredInterfaces: rule(
    field(
      z.array(ignoredInterfaceField('spec.ignoredInterfaces[]', 'An interface name or glob.')).optional(),
      'Interface globs whose addresses BIRD does not export.',
      { 'x-kubernetes-list-type': 'set' },
    ),
    { calico: 'each an interface name or glob ^[a-zA-Z0-9_.*-]{1,15}$, not * alone (validator `ignoredInterface`)' },
  ),
  localWorkloadPeeringIPV4: rule(
    unsupported(
      ipField('spec.localWorkloadPeeringIPV4', 'Virtual IPv4 peering address for local workloads.', 4).optional(),
      'Virtual IPv4 peering address for local-workload BGP peers.',
    ),
    { calico: 'an IPv4 address (validator `ipv4`)' },
  ),
  localWorkloadPeeringIPV6: rule(
    unsupported(
      ipField('spec.localWorkloadPeeringIPV6', 'Virtual IPv6 peering address for local workloads.', 6).optional(),
      'Virtual IPv6 peering address for local-workload BGP peers.',
    ),
    { calico: 'an IPv6 address (validator `ipv6`)' },
  ),
  programClusterRoutes: rule(
    field(
      z
        .enum(['Enabled', 'Disabled', 'EnabledIPIPOnly', 'EnabledNoEncapOnly'], {
          error: 'must be Enabled, Disabled, EnabledIPIPOnly or EnabledNoEncapOnly',
        })
        .optional(),
      'Which pools BIRD programs kernel routes for. Tabby: the agent programs every cluster route itself.',
    ),
    { calico: 'enum Enabled, Disabled, EnabledIPIPOnly, EnabledNoEncapOnly (CRD)' },
  ),
  ipv4NormalRoutePriority: rule(
    field(intIn(1, 2147483646).optional(), 'Metric of BGP-learned IPv4 routes; must match Felix.'),
    { calico: '1..2147483646 (CRD)' },
  ),
  ipv6NormalRoutePriority: rule(
    field(intIn(1, 2147483646).optional(), 'Metric of BGP-learned IPv6 routes; must match Felix.'),
    { calico: '1..2147483646 (CRD)' },
  ),
});

export const BGPConfigurationSpecShape = BGPConfigurationSpecObject;

export const BGPConfigurationSpecSchema = field(
  BGPConfigurationSpecObject.superRefine((spec, ctx) => {
    const meshOff = spec.nodeToNodeMeshEnabled === false;
    if (meshOff && spec.nodeMeshPassword !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['nodeMeshPassword'],
        message: 'cannot be set when nodeToNodeMeshEnabled is false',
      });
    }
    if (meshOff && spec.nodeMeshMaxRestartTime !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['nodeMeshMaxRestartTime'],
        message: 'cannot be set when nodeToNodeMeshEnabled is false',
      });
    }
    const defined = new Set((spec.communities ?? []).map((c) => c.name));
    if ((spec.communities ?? []).length > 0 && (spec.prefixAdvertisements ?? []).length === 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['communities'],
        message: 'are defined but not used in prefixAdvertisements',
      });
    }
    (spec.prefixAdvertisements ?? []).forEach((pa, i) => {
      pa.communities.forEach((c, j) => {
        if (!isCommunityValue(c) && !defined.has(c)) {
          ctx.addIssue({
            code: 'custom',
            path: ['prefixAdvertisements', i, 'communities', j],
            message: `"${c}" is neither a community value (aa:nn, aa:nn:mm) nor a name defined in spec.communities`,
          });
        }
      });
    });
  }),
  'BGPConfiguration specification (Calico projectcalico.org/v3).',
  {
    'x-kubernetes-validations': [
      cel(
        '!has(self.nodeMeshPassword) || !has(self.nodeToNodeMeshEnabled) || self.nodeToNodeMeshEnabled',
        'spec.nodeMeshPassword cannot be set when spec.nodeToNodeMeshEnabled is false',
        { fieldPath: '.nodeMeshPassword', reason: 'FieldValueForbidden' },
      ),
      cel(
        '!has(self.nodeMeshMaxRestartTime) || !has(self.nodeToNodeMeshEnabled) || self.nodeToNodeMeshEnabled',
        'spec.nodeMeshMaxRestartTime cannot be set when spec.nodeToNodeMeshEnabled is false',
        { fieldPath: '.nodeMeshMaxRestartTime', reason: 'FieldValueForbidden' },
      ),
      cel(
        '!has(self.communities) || size(self.communities) == 0 || (has(self.prefixAdvertisements) && size(self.prefixAdvertisements) > 0)',
        'spec.communities are defined but not used in spec.prefixAdvertisements',
        { fieldPath: '.communities' },
      ),
    ],
  },
);
export type BGPConfigurationSpec = z.infer<typeof BGPConfigurationSpecSchema>;

export const BGPConfigurationSchema = z.looseObject({
  ...envelope(CALICO_API_VERSION, 'BGPConfiguration'),
  spec: BGPConfigurationSpecSchema.default(() => BGPConfigurationSpecSchema.parse({})),
});
export type BGPConfiguration = z.infer<typeof BGPConfigurationSchema>;

export const BGPConfigurationKind = defineKind({
  group: CALICO_GROUP,
  version: CALICO_VERSION,
  kind: 'BGPConfiguration',
  plural: 'bgpconfigurations',
  shortNames: ['bgpconfig', 'bgpconfigs'],
  description:
    'BGP settings: `default` for the cluster (AS number, node-to-node mesh, ...), `node.<name>` for one node. ' +
    'Calico-compatible (projectcalico.org/v3).',
  schema: BGPConfigurationSchema,
  specRequired: false,
  printerColumns: [
    { name: 'ASN', type: 'integer', jsonPath: '.spec.asNumber', description: 'Default AS number.' },
    { name: 'Mesh', type: 'boolean', jsonPath: '.spec.nodeToNodeMeshEnabled', description: 'Node-to-node mesh.' },
    { name: 'ListenPort', type: 'integer', jsonPath: '.spec.listenPort', description: 'BGP listen port.' },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  ],
});
