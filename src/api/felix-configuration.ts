// FelixConfiguration (projectcalico.org/v3): per-node dataplane settings, `default` for all nodes and
// `node.<name>` for one. Calico has ~190 fields (`calico: api/pkg/apis/projectcalico/v3/felixconfig.go`); every one
// is accepted and kept (the spec preserves unknown fields). The routing / encapsulation / MTU subset Tabby acts on is
// typed precisely here; the rest is listed by name in `FELIX_OTHER_FIELDS` so `unsupportedFields()` can tell "Calico
// field Tabby does not implement" from "unknown field". No defaults are filled by the parse: `default` and
// `node.<name>` are merged field by field, so absence must survive. `FELIX_DEFAULTS` holds Felix's own values
// (`calico: felix/config/config_params.go`), the one place they are written: the planner's effective subset
// (plan/felix-effective.ts) and the agent's host MTU (agent/mtu.ts, mtuIfacePattern) read them from here.
import { z } from 'zod';
import { envelope } from './common.js';
import { durationField, ipField, ipOrCidrFamily, selectorField } from './fields.js';
import { CALICO_API_VERSION, CALICO_GROUP, CALICO_VERSION, cel, defineKind, field, unsupported } from './meta.js';

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
  );

const routePriority = (what: string) =>
  field(
    z
      .number()
      .int()
      .min(1, { error: 'must be 1..2147483646' })
      .max(2147483646, { error: 'must be 1..2147483646' })
      .optional(),
    what,
  );

export const RouteTableRangeSchema = field(
  z
    .looseObject({
      min: field(z.number().int(), 'First routing table index.'),
      max: field(z.number().int(), 'Last routing table index.'),
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
  ipipEnabled: field(z.boolean().optional(), 'Force tunl0 on or off; unset: on when any pool has ipipMode != Never.'),
  ipipMTU: mtu('spec.ipipMTU', 'tunl0'),
  vxlanEnabled: field(z.boolean().optional(), 'Force vxlan.calico on or off; unset: on when any pool uses VXLAN.'),
  vxlanMTU: mtu('spec.vxlanMTU', 'vxlan.calico'),
  vxlanMTUV6: mtu('spec.vxlanMTUV6', 'vxlan-v6.calico'),
  vxlanPort: field(
    z.number().int().min(1, { error: 'must be 1..65535' }).max(65535, { error: 'must be 1..65535' }).optional(),
    'UDP port of VXLAN traffic. Default 4789.',
  ),
  vxlanVNI: field(
    z
      .number()
      .int()
      .min(1, { error: 'must be 1..16777215' })
      .max(16777215, { error: 'must be 1..16777215' })
      .optional(),
    'VXLAN network identifier. Default 4096.',
  ),
  mtuIfacePattern: field(
    z
      .string()
      .max(1024)
      .refine(
        (s) => {
          try {
            new RegExp(s);
            return true;
          } catch {
            return false;
          }
        },
        { error: 'must be a valid regular expression' },
      )
      .optional(),
    'Regular expression selecting the host interfaces whose smallest MTU is the host MTU.',
  ),
  deviceRouteProtocol: field(
    z.number().int().min(0, { error: 'must be 0..255' }).max(255, { error: 'must be 0..255' }).optional(),
    'Route protocol number on workload routes. Default 3 (boot); cluster routes then use 80.',
  ),
  deviceRouteSourceAddress: ipField(
    'spec.deviceRouteSourceAddress',
    'Source address hint on IPv4 workload routes.',
    4,
  ).optional(),
  deviceRouteSourceAddressIPv6: ipField(
    'spec.deviceRouteSourceAddressIPv6',
    'Source address hint on IPv6 workload routes.',
    6,
  ).optional(),
  removeExternalRoutes: field(
    z.boolean().optional(),
    'Remove routes to workload interfaces nobody planned. Default true.',
  ),
  routeRefreshInterval: durationField('Period of the full kernel route resync. Default 90s; 0 disables.').optional(),
  routeSource: field(
    z
      .string()
      .regex(/^(WorkloadIPs|CalicoIPAM)?$/i, { error: 'must be CalicoIPAM or WorkloadIPs' })
      .optional(),
    'Where routes to remote pods come from: CalicoIPAM blocks (default) or individual WorkloadIPs.',
    { 'x-tabby-crd-pattern': '^(?i)(WorkloadIPs|CalicoIPAM)?$' },
  ),
  routeTableRange: field(RouteTableRangeSchema.optional(), 'Deprecated single range of routing tables Felix may use.'),
  routeTableRanges: field(
    z.array(RouteTableRangeSchema).max(250).optional(),
    'Ranges of routing tables Felix may use.',
  ),
  routeSyncDisabled: unsupported(z.boolean().optional(), 'Do not program routes at all (policy-only mode).'),
  programClusterRoutes: field(
    z
      .enum(['Enabled', 'Disabled', 'EnabledIPIPOnly', 'EnabledNoEncapOnly'], {
        error: 'must be Enabled, Disabled, EnabledIPIPOnly or EnabledNoEncapOnly',
      })
      .optional(),
    'Which pools Felix programs cluster routes for. Tabby: the agent programs every cluster route itself.',
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
  natOutgoingAddress: ipField(
    'spec.natOutgoingAddress',
    'Source address for outgoing NAT instead of the interface address.',
    4,
  ).optional(),
  natOutgoingExclusions: unsupported(
    z.enum(['IPPoolsOnly', 'IPPoolsAndHostIPs'], { error: 'must be IPPoolsOnly or IPPoolsAndHostIPs' }).optional(),
    'Destinations exempt from outgoing NAT: pools only, or pools and host IPs.',
  ),
  natPortRange: field(
    z
      .union([
        z.number().int().min(0).max(65535),
        z.string().regex(/^[0-9]{1,5}(:[0-9]{1,5})?$/, { error: 'must be a port or a range such as 32768:65535' }),
      ])
      .optional(),
    'Port range for outgoing NAT, e.g. 32768:65535.',
    { 'x-tabby-crd-schema': { 'x-kubernetes-int-or-string': true } },
  ),
  ipForwarding: field(
    z.enum(['Enabled', 'Disabled'], { error: 'must be Enabled or Disabled' }).optional(),
    'Whether the agent turns on IP forwarding. Default Enabled.',
  ),
  externalNodesList: field(
    z.array(z.string().max(48)).max(1000).optional(),
    'CIDRs of non-cluster hosts allowed to send VXLAN/IPIP traffic to pods.',
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
  nodeSelector: unsupported(
    selectorField('spec.nodeSelector', 'Nodes this configuration applies to.', { allowGlobal: true }).optional(),
    'Nodes this configuration applies to (Calico master).',
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

/** Every other FelixConfiguration field Calico has had (v3.24 .. master): accepted, kept, not acted on. */
export const FELIX_OTHER_FIELDS: ReadonlySet<string> = new Set([
  'awsSrcDstCheck',
  'bpfAttachType',
  'bpfCTLBLogFilter',
  'bpfConnectTimeLoadBalancing',
  'bpfConnectTimeLoadBalancingEnabled',
  'bpfConntrackLogLevel',
  'bpfConntrackMode',
  'bpfConntrackTimeouts',
  'bpfDSROptoutCIDRs',
  'bpfDataIfacePattern',
  'bpfDisableGROForIfaces',
  'bpfDisableUnprivileged',
  'bpfEnforceRPF',
  'bpfExcludeCIDRsFromNAT',
  'bpfExportBufferSizeMB',
  'bpfExtToServiceConnmark',
  'bpfExternalServiceMode',
  'bpfForceTrackPacketsFromIfaces',
  'bpfHostConntrackBypass',
  'bpfHostNetworkedNATWithoutCTLB',
  'bpfIPFragTimeout',
  'bpfIPFragmentReassemblyEnabled',
  'bpfJITHardening',
  'bpfKubeProxyEndpointSlicesEnabled',
  'bpfKubeProxyHealthzPort',
  'bpfKubeProxyIptablesCleanupEnabled',
  'bpfKubeProxyMinSyncPeriod',
  'bpfL3IfacePattern',
  'bpfLogFilters',
  'bpfLogLevel',
  'bpfMaglevMaxEndpointsPerService',
  'bpfMaglevMaxServices',
  'bpfMapSizeConntrack',
  'bpfMapSizeConntrackCleanupQueue',
  'bpfMapSizeConntrackScaling',
  'bpfMapSizeIPSets',
  'bpfMapSizeIfState',
  'bpfMapSizeNATAffinity',
  'bpfMapSizeNATBackend',
  'bpfMapSizeNATFrontend',
  'bpfMapSizePerCpuConntrack',
  'bpfMapSizeRoute',
  'bpfOverlayHostSourceIP',
  'bpfPSNATPorts',
  'bpfPolicyDebugEnabled',
  'bpfProfiling',
  'bpfRedirectToPeer',
  'cgroupV2Path',
  'chainInsertMode',
  'dataplaneDriver',
  'dataplaneWatchdogTimeout',
  'debugDisableLogDropping',
  'debugHost',
  'debugMemoryProfilePath',
  'debugPort',
  'debugSimulateCalcGraphHangAfter',
  'debugSimulateDataplaneApplyDelay',
  'debugSimulateDataplaneHangAfter',
  'defaultEndpointToHostAction',
  'disableConntrackInvalidCheck',
  'endpointReportingDelay',
  'endpointReportingEnabled',
  'endpointStatusPathPrefix',
  'failsafeInboundHostPorts',
  'failsafeOutboundHostPorts',
  'featureDetectOverride',
  'featureGates',
  'floatingIPs',
  'flowLogsCollectorDebugTrace',
  'flowLogsFlushInterval',
  'flowLogsGoldmaneServer',
  'flowLogsLocalReporter',
  'flowLogsPolicyEvaluationMode',
  'genericXDPEnabled',
  'goGCThreshold',
  'goMaxProcs',
  'goMemoryLimitMB',
  'healthEnabled',
  'healthHost',
  'healthPort',
  'healthTimeoutOverrides',
  'interfaceExclude',
  'interfacePrefix',
  'interfaceRefreshInterval',
  'ipsetsRefreshInterval',
  'iptablesBackend',
  'iptablesFilterAllowAction',
  'iptablesFilterDenyAction',
  'iptablesLockFilePath',
  'iptablesLockProbeInterval',
  'iptablesLockTimeout',
  'iptablesMangleAllowAction',
  'iptablesMarkMask',
  'iptablesNATOutgoingInterfaceFilter',
  'iptablesPostWriteCheckInterval',
  'iptablesRefreshInterval',
  'istioAmbientMode',
  'istioDSCPMark',
  'kubeNodePortRanges',
  'liveMigrationRouteConvergenceTime',
  'localSubnetL2Reachability',
  'localSubnetL2ReachabilityRefreshInterval',
  'logActionRateLimit',
  'logActionRateLimitBurst',
  'logDebugFilenameRegex',
  'logFilePath',
  'logPrefix',
  'logSeverityFile',
  'logSeverityScreen',
  'logSeveritySys',
  'maxIpsetSize',
  'metadataAddr',
  'metadataPort',
  'netlinkTimeout',
  'nftablesFilterAllowAction',
  'nftablesFilterDenyAction',
  'nftablesFlowTableDataIfacePattern',
  'nftablesFlowTableOffload',
  'nftablesMangleAllowAction',
  'nftablesMarkMask',
  'nftablesMode',
  'nftablesRefreshInterval',
  'openstackRegion',
  'policySyncPathPrefix',
  'prometheusGoMetricsEnabled',
  'prometheusMetricsCAFile',
  'prometheusMetricsCertFile',
  'prometheusMetricsClientAuth',
  'prometheusMetricsEnabled',
  'prometheusMetricsHost',
  'prometheusMetricsKeyFile',
  'prometheusMetricsPort',
  'prometheusProcessMetricsEnabled',
  'prometheusWireGuardMetricsEnabled',
  'reportingInterval',
  'reportingTTL',
  'requireMTUFile',
  'serviceLoopPrevention',
  'sidecarAccelerationEnabled',
  'usageReportingEnabled',
  'usageReportingInitialDelay',
  'usageReportingInterval',
  'useInternalDataplaneDriver',
  'windowsManageFirewallRules',
  'wireguardHostEncryptionEnabled',
  'wireguardInterfaceName',
  'wireguardInterfaceNameV6',
  'wireguardKeepAlive',
  'wireguardListeningPort',
  'wireguardListeningPortV6',
  'wireguardRoutingRulePriority',
  'wireguardThreadingEnabled',
  'workloadSourceSpoofing',
  'xdpEnabled',
  'xdpRefreshInterval',
]);

export const FelixConfigurationSchema = z.looseObject({
  ...envelope(CALICO_API_VERSION, 'FelixConfiguration'),
  spec: FelixConfigurationSpecSchema.default(() => FelixConfigurationSpecSchema.parse({})),
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
  printerColumns: [
    { name: 'IPIP', type: 'boolean', jsonPath: '.spec.ipipEnabled', description: 'tunl0 forced on/off.' },
    { name: 'VXLAN', type: 'boolean', jsonPath: '.spec.vxlanEnabled', description: 'vxlan.calico forced on/off.' },
    { name: 'VXLANPort', type: 'integer', jsonPath: '.spec.vxlanPort', description: 'VXLAN UDP port.' },
    { name: 'VNI', type: 'integer', jsonPath: '.spec.vxlanVNI', description: 'VXLAN VNI.' },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  ],
});
