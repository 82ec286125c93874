// FelixConfiguration (projectcalico.org/v3): per-node dataplane settings, `default` for all nodes and
// `node.<name>` for one. Calico has ~190 fields (`calico: api/pkg/apis/projectcalico/v3/felixconfig.go`); every one
// is accepted and kept (the spec preserves unknown fields), and every one is validated as Calico validates it. The
// routing / encapsulation / MTU subset Tabby acts on is typed here; the fields it keeps but does not act on carry
// Calico's schema in felix-other-fields.ts, marked not implemented so `unsupportedFields()` reports them; fields of
// older Calico releases are listed by name in `FELIX_OTHER_FIELDS`. No defaults are filled by the parse: `default` and
// `node.<name>` are merged field by field, so absence must survive. `FELIX_DEFAULTS` holds Felix's own values
// (`calico: felix/config/config_params.go`), the one place they are written: the planner's effective subset
// (plan/felix-effective.ts) and the agent's host MTU (agent/mtu.ts, mtuIfacePattern) read them from here.
import { z } from 'zod';
import { envelope } from './common.js';
import { FELIX_KEPT_FIELDS, portField } from './felix-other-fields.js';
import { felixDurationField, ipField, ipOrCidrFamily, regexpField, selectorField, intIn } from './fields.js';
import { CALICO_API_VERSION, CALICO_GROUP, CALICO_VERSION, cel, defineKind, field, rule, unsupported } from './meta.js';

/** Felix's defaults for the typed subset (used when neither `default` nor `node.<name>` sets a field). */
export const FELIX_DEFAULTS = {
  vxlanPort: 4789,
  vxlanVNI: 4096,
  ipipMTU: 0,
  vxlanMTU: 0,
  vxlanMTUV6: 0,
  mtuIfacePattern: '^((en|wl|ww|sl|ib)[Pcopsvx].*|(eth|wlan|wwan).*)',
  deviceRouteProtocol: 3,
  removeExternalRoutes: true,
  routeRefreshInterval: '90s',
  routeSource: 'CalicoIPAM',
  routeTableRange: { min: 1, max: 250 },
  ipForwarding: 'Enabled',
  ipv6Support: true,
} as const;

const mtu = (name: string, what: string) =>
  rule(
    field(
      z
        .number()
        .int()
        .min(0, { error: 'must be 0 (auto) or 68..65535' })
        .max(65535, { error: 'must be 0 (auto) or 68..65535' })
        .refine((n) => n === 0 || n >= 68, { error: 'must be 0 (auto) or 68..65535' })
        .optional(),
      `${what} MTU; 0 or unset: host MTU minus the encapsulation overhead.`,
      {
        'x-kubernetes-validations': [
          cel('self == 0 || (self >= 68 && self <= 65535)', `${name} must be 0 (auto) or 68..65535`),
        ],
      },
    ),
    {
      calico: 'none (integer)',
      differs: '0 (auto) or 68..65535: any other MTU breaks the device it is set on',
    },
  );

const routePriority = (what: string) =>
  rule(field(intIn(1, 2147483646).optional(), what), { calico: '1..2147483646 (validator gte=1,lte=2147483646)' });

/** Linux's highest routing table index; Felix designates at most 65535 tables in all (validator.go). */
export const ROUTE_TABLE_MAX = 4294967295;
export const ROUTE_TABLES_DESIGNATED_MAX = 65535;

/** The deprecated single `routeTableRange`: Calico's RouteTableRange, within 1..250. */
export const RouteTableRangeSchema = rule(
  field(
    z
      .looseObject({
        min: field(z.number().int(), 'First routing table index.', { 'x-tabby-calico': 'required; >= 1 (CRD CEL)' }),
        max: field(z.number().int(), 'Last routing table index.', {
          'x-tabby-calico': 'required; min..250 (CRD CEL)',
        }),
      })
      .superRefine((r, ctx) => {
        if (r.min < 1) ctx.addIssue({ code: 'custom', path: ['min'], message: 'must be >= 1' });
        if (r.max < r.min) ctx.addIssue({ code: 'custom', path: ['max'], message: 'must not be less than min' });
        if (r.max > 250) ctx.addIssue({ code: 'custom', path: ['max'], message: 'must be at most 250' });
      }),
    'An inclusive range of routing table indices within 1..250.',
    {
      'x-kubernetes-validations': [
        cel(
          'self.min >= 1 && self.max >= self.min && self.max <= 250',
          'spec.routeTableRange must be a range of route table indices within 1..250',
        ),
      ],
    },
  ),
  { calico: 'min and max required; 1 <= min <= max <= 250 (CRD CEL)' },
);

/** An entry of `routeTableRanges`: Calico's RouteTableIDRange. */
export const RouteTableIDRangeSchema = field(
  z
    .looseObject({
      min: field(z.number().int(), 'First routing table index.', { 'x-tabby-calico': 'required; >= 1 (CRD CEL)' }),
      max: field(
        z
          .number()
          .int()
          .max(ROUTE_TABLE_MAX, { error: `must be at most ${ROUTE_TABLE_MAX}` }),
        'Last routing table index.',
        { 'x-tabby-calico': `required; min..${ROUTE_TABLE_MAX} (CRD CEL; validator)` },
      ),
    })
    .superRefine((r, ctx) => {
      if (r.min < 1) ctx.addIssue({ code: 'custom', path: ['min'], message: 'must be >= 1' });
      if (r.max < r.min) ctx.addIssue({ code: 'custom', path: ['max'], message: 'must not be less than min' });
    }),
  'An inclusive range of routing table indices.',
  {
    'x-kubernetes-validations': [
      cel('self.min >= 1', 'min must be >= 1', { fieldPath: '.min' }),
      cel('self.min <= self.max', 'max must not be less than min', { fieldPath: '.max' }),
    ],
  },
);

const FelixConfigurationSpecObject = z.looseObject({
  ...FELIX_KEPT_FIELDS,
  ipipEnabled: field(z.boolean().optional(), 'Force tunl0 on or off; unset: on when any pool has ipipMode != Never.'),
  ipipMTU: mtu('spec.ipipMTU', 'tunl0'),
  vxlanEnabled: field(z.boolean().optional(), 'Force vxlan.calico on or off; unset: on when any pool uses VXLAN.'),
  vxlanMTU: mtu('spec.vxlanMTU', 'vxlan.calico'),
  vxlanMTUV6: mtu('spec.vxlanMTUV6', 'vxlan-v6.calico'),
  vxlanPort: rule(field(intIn(1, 65535).optional(), 'UDP port of VXLAN traffic. Default 4789.'), {
    calico: 'none (integer)',
    differs: '1..65535, a UDP port',
  }),
  vxlanVNI: rule(field(intIn(1, 16777215).optional(), 'VXLAN network identifier. Default 4096.'), {
    calico: 'none (integer)',
    differs: '1..16777215, a 24-bit VNI',
  }),
  mtuIfacePattern: regexpField(
    'Regular expression (Go syntax) selecting the host interfaces whose smallest MTU is the host MTU.',
  ).optional(),
  deviceRouteProtocol: rule(
    field(
      intIn(0, 255).optional(),
      'Route protocol number on workload routes. Default 3 (boot); cluster routes then use 80.',
    ),
    { calico: 'none (integer)', differs: '0..255, a kernel route protocol' },
  ),
  deviceRouteSourceAddress: rule(
    ipField('spec.deviceRouteSourceAddress', 'Source address hint on IPv4 workload routes.', 4, {
      allowEmpty: true,
    }).optional(),
    { calico: 'at most 45 characters (CRD); empty or an IPv4 address (CRD CEL)' },
  ),
  deviceRouteSourceAddressIPv6: rule(
    ipField('spec.deviceRouteSourceAddressIPv6', 'Source address hint on IPv6 workload routes.', 6, {
      allowEmpty: true,
    }).optional(),
    { calico: 'at most 45 characters (CRD); empty or an IPv6 address (CRD CEL)' },
  ),
  removeExternalRoutes: field(
    z.boolean().optional(),
    'Remove routes to workload interfaces nobody planned. Default true.',
  ),
  routeRefreshInterval: felixDurationField('Period of the full kernel route resync. Default 90s.').optional(),
  routeSource: rule(
    field(
      z
        .string()
        .regex(/^(WorkloadIPs|CalicoIPAM)?$/i, { error: 'must be CalicoIPAM or WorkloadIPs' })
        .optional(),
      'Where routes to remote pods come from: CalicoIPAM blocks (default) or individual WorkloadIPs.',
      { 'x-tabby-crd-pattern': '^(?i)(WorkloadIPs|CalicoIPAM)?$' },
    ),
    { calico: 'CRD pattern ^(?i)(WorkloadIPs|CalicoIPAM)?$' },
  ),
  routeTableRange: field(RouteTableRangeSchema.optional(), 'Deprecated single range of routing tables Felix may use.'),
  routeTableRanges: rule(
    field(
      z
        .array(RouteTableIDRangeSchema)
        .max(250)
        .superRefine((ranges, ctx) => {
          const tables = ranges.reduce((n, r) => n + (r.max - r.min + 1), 0);
          if (tables > ROUTE_TABLES_DESIGNATED_MAX) {
            ctx.addIssue({
              code: 'custom',
              message: `targets ${tables} tables; at most ${ROUTE_TABLES_DESIGNATED_MAX} in all`,
            });
          }
        })
        .optional(),
      'Ranges of routing tables Felix may use.',
      {
        'x-kubernetes-validations': [
          cel(
            `self.map(r, r.max - r.min + 1).sum() <= ${ROUTE_TABLES_DESIGNATED_MAX}`,
            `spec.routeTableRanges must target at most ${ROUTE_TABLES_DESIGNATED_MAX} tables in all`,
          ),
        ],
      },
    ),
    {
      calico:
        'each 1 <= min <= max (CRD CEL), max <= 4294967295 (validator); at most 65535 tables in all ' +
        '(validateFelixConfigSpec); not with routeTableRange (CRD CEL)',
      differs: "at most 250 ranges, which keeps the CEL within the apiserver's cost budget",
    },
  ),
  routeSyncDisabled: unsupported(z.boolean().optional(), 'Do not program routes at all (policy-only mode).'),
  programClusterRoutes: rule(
    field(
      z
        .enum(['Enabled', 'Disabled', 'EnabledIPIPOnly', 'EnabledNoEncapOnly'], {
          error: 'must be Enabled, Disabled, EnabledIPIPOnly or EnabledNoEncapOnly',
        })
        .optional(),
      'Which pools Felix programs cluster routes for. Tabby: the agent programs every cluster route itself.',
    ),
    { calico: 'enum Enabled, Disabled, EnabledIPIPOnly, EnabledNoEncapOnly (CRD)' },
  ),
  ipv4NormalRoutePriority: routePriority('Metric on IPv4 workload routes (Calico v3.32+: 1024).'),
  ipv6NormalRoutePriority: routePriority('Metric on IPv6 workload routes (Calico v3.32+: 1024).'),
  ipv4ElevatedRoutePriority: unsupported(
    routePriority('Metric on IPv4 routes during KubeVirt live migration.'),
    'Metric on IPv4 routes during KubeVirt live migration.',
  ),
  ipv6ElevatedRoutePriority: unsupported(
    routePriority('Metric on IPv6 routes during KubeVirt live migration.'),
    'Metric on IPv6 routes during KubeVirt live migration.',
  ),
  natOutgoingAddress: rule(
    ipField('spec.natOutgoingAddress', 'Source address for outgoing NAT instead of the interface address.', 4, {
      allowEmpty: true,
    }).optional(),
    { calico: 'at most 45 characters (CRD); empty or an IPv4 address (CRD CEL)' },
  ),
  natOutgoingExclusions: rule(
    unsupported(
      z.enum(['IPPoolsOnly', 'IPPoolsAndHostIPs'], { error: 'must be IPPoolsOnly or IPPoolsAndHostIPs' }).optional(),
      'Destinations exempt from outgoing NAT: pools only, or pools and host IPs.',
    ),
    { calico: 'enum IPPoolsOnly, IPPoolsAndHostIPs (CRD; validator oneof)' },
  ),
  natPortRange: portField('spec.natPortRange', 'Port range for outgoing NAT, e.g. 32768:65535.', true).optional(),
  ipForwarding: rule(
    field(
      z.enum(['Enabled', 'Disabled'], { error: 'must be Enabled or Disabled' }).optional(),
      'Whether the agent turns on IP forwarding. Default Enabled.',
    ),
    { calico: 'enum Enabled, Disabled (CRD)' },
  ),
  externalNodesList: rule(
    field(
      z
        .array(
          field(z.string().max(48), 'An IPv4 address or CIDR.', {
            'x-kubernetes-validations': [
              cel(
                '(isCIDR(self) && cidr(self).ip().family() == 4) || (isIP(self) && ip(self).family() == 4)',
                'spec.externalNodesList[] must be an IPv4 address or CIDR',
              ),
            ],
          }),
        )
        .max(1000)
        .optional(),
      'CIDRs of non-cluster hosts allowed to send VXLAN/IPIP traffic to pods.',
    ),
    {
      calico: 'each an IPv4 CIDR or address, host bits allowed (validateFelixConfigSpec)',
      differs: "at most 1000 entries, which keeps the entries' CEL within the apiserver's cost budget",
    },
  ),
  allowVXLANPacketsFromWorkloads: unsupported(z.boolean().optional(), 'Let pods send VXLAN packets.'),
  allowIPIPPacketsFromWorkloads: unsupported(z.boolean().optional(), 'Let pods send IPIP packets.'),
  ipv6Support: field(z.boolean().optional(), 'IPv6 dataplane on (default true).'),
  wireguardEnabled: unsupported(
    z.boolean().optional(),
    'WireGuard encryption for IPv4.',
    'WireGuard is not implemented by Tabby',
  ),
  wireguardEnabledV6: unsupported(
    z.boolean().optional(),
    'WireGuard encryption for IPv6.',
    'WireGuard is not implemented by Tabby',
  ),
  wireguardMTU: unsupported(
    mtu('spec.wireguardMTU', 'wireguard.cali'),
    'wireguard.cali MTU.',
    'WireGuard is not implemented by Tabby',
  ),
  wireguardMTUV6: unsupported(
    mtu('spec.wireguardMTUV6', 'wg-v6.cali'),
    'wg-v6.cali MTU.',
    'WireGuard is not implemented by Tabby',
  ),
  bpfEnabled: unsupported(z.boolean().optional(), 'eBPF dataplane.', 'the eBPF dataplane is not implemented by Tabby'),
  nodeSelector: rule(
    unsupported(
      selectorField('spec.nodeSelector', 'Nodes this configuration applies to.', { allowGlobal: true }).optional(),
      'Nodes this configuration applies to (Calico master).',
    ),
    {
      calico: "at most 1024 characters (CRD); not on the 'default' or 'node.*' objects (CRD CEL on the object)",
      webhook: 'selector syntax (Calico selector parser)',
      differs: "the selector must parse (Calico's CRD does not check it)",
    },
  ),
});

export const FelixConfigurationSpecShape = FelixConfigurationSpecObject;

export const FelixConfigurationSpecSchema = field(
  FelixConfigurationSpecObject.superRefine((spec, ctx) => {
    if (spec.routeTableRange !== undefined && spec.routeTableRanges !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['routeTableRanges'],
        message: 'routeTableRange and routeTableRanges cannot both be set',
      });
    }
    (spec.externalNodesList ?? []).forEach((text, i) => {
      if (ipOrCidrFamily(text) !== 4) {
        ctx.addIssue({
          code: 'custom',
          path: ['externalNodesList', i],
          message: `must be an IPv4 address or CIDR (got ${JSON.stringify(text)})`,
        });
      }
    });
  }),
  'FelixConfiguration specification (Calico projectcalico.org/v3). Fields Tabby does not act on are kept and ' +
    'reported in the operator condition.',
  {
    'x-kubernetes-preserve-unknown-fields': true,
    'x-kubernetes-validations': [
      cel(
        '!has(self.routeTableRange) || !has(self.routeTableRanges)',
        'spec.routeTableRange and spec.routeTableRanges cannot both be set',
        {
          fieldPath: '.routeTableRanges',
          reason: 'FieldValueForbidden',
        },
      ),
    ],
  },
);
export type FelixConfigurationSpec = z.infer<typeof FelixConfigurationSpecSchema>;

/**
 * FelixConfiguration fields of earlier Calico releases (v3.24 on) that Calico master no longer has: accepted and kept
 * without a schema, and reported as not implemented. Every field Calico master has is typed above (the ones Tabby
 * does not act on with Calico's schema, in felix-other-fields.ts).
 */
export const FELIX_OTHER_FIELDS: ReadonlySet<string> = new Set([
  'bpfKubeProxyEndpointSlicesEnabled',
  'iptablesLockFilePath',
  'iptablesLockTimeout',
]);

/** `default` and `node.<name>` say by their name which nodes they are for; only other objects take a nodeSelector. */
const namesItsNodes = (name: string) => name === 'default' || name.startsWith('node.');

export const FelixConfigurationSchema = z
  .looseObject({
    ...envelope(CALICO_API_VERSION, 'FelixConfiguration'),
    spec: FelixConfigurationSpecSchema.default(() => FelixConfigurationSpecSchema.parse({})),
  })
  .superRefine((o, ctx) => {
    if (namesItsNodes(o.metadata.name) && o.spec.nodeSelector !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['spec', 'nodeSelector'],
        message: "must not be set on the 'default' or per-node ('node.*') FelixConfiguration",
      });
    }
  });
export type FelixConfiguration = z.infer<typeof FelixConfigurationSchema>;

export const FelixConfigurationKind = defineKind({
  group: CALICO_GROUP,
  version: CALICO_VERSION,
  kind: 'FelixConfiguration',
  plural: 'felixconfigurations',
  shortNames: ['felixconfig', 'felixconfigs'],
  description:
    'Node dataplane settings: `default` for every node, `node.<name>` for one. Tabby acts on the routing, ' +
    'encapsulation and MTU fields and reports the others. Calico-compatible (projectcalico.org/v3).',
  schema: FelixConfigurationSchema,
  specRequired: false,
  otherKnownFields: FELIX_OTHER_FIELDS,
  nameRules: [
    cel(
      "!has(self.spec) || !(self.metadata.name == 'default' || self.metadata.name.startsWith('node.')) || !has(self.spec.nodeSelector)",
      "spec.nodeSelector must not be set on the 'default' or per-node ('node.*') FelixConfiguration",
      { fieldPath: '.spec.nodeSelector', reason: 'FieldValueForbidden' },
    ),
  ],
  printerColumns: [
    { name: 'IPIP', type: 'boolean', jsonPath: '.spec.ipipEnabled', description: 'tunl0 forced on/off.' },
    { name: 'VXLAN', type: 'boolean', jsonPath: '.spec.vxlanEnabled', description: 'vxlan.calico forced on/off.' },
    { name: 'VXLANPort', type: 'integer', jsonPath: '.spec.vxlanPort', description: 'VXLAN UDP port.' },
    { name: 'VNI', type: 'integer', jsonPath: '.spec.vxlanVNI', description: 'VXLAN VNI.' },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  ],
});
