// The FelixConfiguration fields Tabby keeps but does not act on, each with Calico's schema so the apiserver refuses
// what Calico's refuses (`calico: api/pkg/apis/projectcalico/v3/felixconfig.go` — the CRD's enums, patterns and
// ranges — and `libcalico-go/lib/validator/v3/validator.go` — the `validate:` tags and validateFelixConfigSpec).
// Every field here is marked not implemented, so the operator still reports it as kept but not acted on.
// Input: nothing; output: one zod schema per field, spread into the FelixConfiguration spec.
import { z } from 'zod';
import { parseCidrLoose, parseIP } from '../net/index.js';
import {
  felixDurationField,
  goDurationField,
  GO_DURATION,
  IFACE_FILTER,
  INTERFACE_NAME,
  regexpField,
} from './fields.js';
import { cel, field, rule, unsupported } from './meta.js';

const KEPT = 'Felix setting not implemented by Tabby';

const kept = <T extends z.ZodType>(schema: T, description: string): T => unsupported(schema, description, KEPT);

const bool = (d: string) => kept(field(z.boolean().optional(), d), d);

const str = (d: string) => kept(rule(field(z.string().optional(), d), { calico: 'none (string)' }), d);

const int = (d: string, calico = 'none (integer)') => kept(rule(field(z.number().int().optional(), d), { calico }), d);

function range(d: string, min: number, max: number, calico: string) {
  const msg = `must be ${min}..${max}`;
  return kept(
    rule(field(z.number().int().min(min, { error: msg }).max(max, { error: msg }).optional(), d), { calico }),
    d,
  );
}

function atLeast(d: string, min: number, calico: string) {
  return kept(
    rule(
      field(
        z
          .number()
          .int()
          .min(min, { error: `must be at least ${min}` })
          .optional(),
        d,
      ),
      { calico },
    ),
    d,
  );
}

function oneOf<const V extends readonly [string, ...string[]]>(values: V, d: string) {
  return kept(
    rule(field(z.enum(values, { error: `must be one of ${values.join(', ')}` }).optional(), d), {
      calico: `enum ${values.join(', ')} (CRD)`,
    }),
    d,
  );
}

/** Calico's case-insensitive patterns `^(?i)(A|B)?$`: one of the words in any letter case, or empty. */
function anyCase(values: readonly string[], d: string) {
  const alternatives = values.join('|');
  return kept(
    rule(
      field(
        z
          .string()
          .regex(new RegExp(`^(${alternatives})?$`, 'i'), { error: `must be one of ${values.join(', ')} (any case)` })
          .optional(),
        d,
        { 'x-tabby-crd-pattern': `^(?i)(${alternatives})?$` },
      ),
      { calico: `CRD pattern ^(?i)(${alternatives})?$` },
    ),
    d,
  );
}

/** A case-insensitive CRD pattern and an exact `oneof` in Go: the exact words, or empty. */
function exactOrEmpty(values: readonly string[], d: string) {
  const alternatives = values.join('|');
  return kept(
    rule(
      field(
        z
          .string()
          .regex(new RegExp(`^(${alternatives})?$`), { error: `must be one of ${values.join(', ')}` })
          .optional(),
        d,
      ),
      { calico: `CRD pattern ^(?i)(${alternatives})?$ and validator oneof=${values.join(' ')} (exact case)` },
    ),
    d,
  );
}

function pattern(re: RegExp, d: string, message: string, calico: string) {
  return kept(rule(field(z.string().regex(re, { error: message }).optional(), d), { calico }), d);
}

const felixDuration = (d: string, fractions = false) => kept(felixDurationField(d, { fractions }).optional(), d);
const goDuration = (d: string) => kept(goDurationField(d).optional(), d);
const regexp = (d: string) => kept(regexpField(d).optional(), d);

/** Calico's `cidrs` validator: each entry a CIDR or an address, host bits allowed (cnet.ParseCIDROrIP). */
function cidrList(d: string) {
  return kept(
    rule(
      field(
        z
          .array(
            z.string().superRefine((text, ctx) => {
              try {
                if (text.includes('/')) parseCidrLoose(text);
                else parseIP(text);
              } catch {
                ctx.addIssue({ code: 'custom', input: text, message: 'must be a CIDR or an IP address' });
              }
            }),
          )
          .optional(),
        d,
      ),
      { calico: 'each a CIDR or an IP address (validator `cidrs`)', webhook: 'CIDR or IP syntax' },
    ),
    d,
  );
}

/** Calico's numorstring.Port: a port 1..65535, a range `a:b` (a <= b), or (where allowed) a port name. */
export function isCalicoPort(v: unknown, names: boolean): boolean {
  if (typeof v === 'number') return Number.isInteger(v) && v >= 1 && v <= 65535;
  if (typeof v !== 'string') return false;
  if (/^[0-9]+$/.test(v)) return Number(v) >= 1 && Number(v) <= 65535;
  const r = /^([0-9]+):([0-9]+)$/.exec(v);
  if (r !== null) {
    const lo = Number(r[1]);
    const hi = Number(r[2]);
    return lo >= 1 && hi <= 65535 && lo <= hi;
  }
  return names && /^[a-zA-Z0-9_.-]{1,128}$/.test(v);
}

/** CEL for isCalicoPort on an int-or-string field. */
export function portCel(name: string, names: boolean): ReturnType<typeof cel> {
  const num = (s: string) => `int(${s})`;
  const lo = "self.split(':')[0]";
  const hi = "self.split(':')[1]";
  const rule =
    'type(self) == int ? (self >= 1 && self <= 65535) : ' +
    `(self.matches('^[0-9]{1,5}$') ? (${num('self')} >= 1 && ${num('self')} <= 65535) : ` +
    `(self.matches('^[0-9]{1,5}:[0-9]{1,5}$') ? (${num(lo)} >= 1 && ${num(hi)} <= 65535 && ${num(lo)} <= ${num(hi)}) : ` +
    (names ? "self.matches('^[a-zA-Z0-9_.-]{1,128}$')))" : 'false))');
  return cel(rule, `${name} must be a port 1..65535 or a range such as 32768:65535${names ? ' (or a port name)' : ''}`);
}

export function portField(name: string, description: string, names: boolean) {
  return rule(
    field(
      z.union([z.number(), z.string().max(128)]).refine((v) => isCalicoPort(v, names), {
        error: `must be a port 1..65535 or a range such as 32768:65535${names ? ' (or a port name)' : ''}`,
      }),
      description,
      {
        'x-tabby-crd-schema': { 'x-kubernetes-int-or-string': true, maxLength: 128 },
        'x-kubernetes-validations': [portCel(name, names)],
      },
    ),
    {
      calico:
        'numorstring.Port: a port 1..65535, a range a:b with a <= b' +
        (names ? ', or a port name ^[a-zA-Z0-9_.-]{1,128}$' : ', no port names (Go validator)') +
        ' (decoding, validatePort)',
    },
  );
}

const CONNTRACK_TIMEOUT = /^(([0-9]*(\.[0-9]*)?(ms|s|h|m|us)+)+|Auto)$/;
const conntrackTimeout = (d: string) =>
  rule(field(z.string().regex(CONNTRACK_TIMEOUT, { error: 'must be a duration such as 30s, or Auto' }).optional(), d), {
    calico: `CRD pattern ${CONNTRACK_TIMEOUT.source}`,
  });

const ProtoPortSchema = z.looseObject({
  protocol: rule(
    field(z.enum(['TCP', 'UDP', 'SCTP'], { error: 'must be TCP, UDP or SCTP' }), 'Protocol: TCP, UDP or SCTP.'),
    { calico: 'TCP, UDP or SCTP (validateProtoPort)' },
  ),
  port: rule(
    field(z.number().int().min(0, { error: 'must be 0..65535' }).max(65535, { error: 'must be 0..65535' }), 'Port.'),
    { calico: 'required; uint16 (decoding)' },
  ),
  net: rule(field(z.string().optional(), 'CIDR the port is open to.'), { calico: 'none (string)' }),
});

const failsafePorts = (d: string) =>
  kept(rule(field(z.array(ProtoPortSchema).optional(), d), { calico: 'none (list)' }), d);

const HealthTimeoutOverrideSchema = z.looseObject({
  name: rule(
    field(z.string().regex(/^[a-zA-Z0-9_ -]+$/, { error: 'must match ^[a-zA-Z0-9_ -]+$' }), 'Health reporter name.'),
    { calico: 'required; ^[a-zA-Z0-9_ -]+$ (validateHealthTimeoutOverride)' },
  ),
  timeout: rule(
    field(
      z
        .string()
        .regex(GO_DURATION, { error: 'must be a Go duration such as 30s' })
        .refine((s) => !s.startsWith('-'), { error: 'must not be negative' }),
      'Timeout.',
    ),
    { calico: 'required; metav1.Duration, not negative (validateHealthTimeoutOverride)' },
  ),
});

const KEY_VALUE = /^\s*(\w+)=(.*)$/;
/** Calico's `keyValueList` validator: comma-separated `key=value` items (empty items allowed). */
function keyValueList(re: RegExp, d: string) {
  return kept(
    rule(
      field(
        z
          .string()
          .regex(re, { error: 'must be comma-separated key=value items' })
          .refine((s) => s.trim() === '' || s.split(',').every((item) => item === '' || KEY_VALUE.test(item)), {
            error: 'each item must be key=value with a word key (validator keyValueList)',
          })
          .optional(),
        d,
      ),
      {
        calico: `CRD pattern ${re.source}; each item ^\\s*(\\w+)=(.*)$ (validator \`keyValueList\`)`,
        webhook: 'keys of word characters (keyValueList)',
      },
    ),
    d,
  );
}

const WIREGUARD_IFACE = (d: string) =>
  kept(
    rule(
      field(
        z
          .string()
          .regex(INTERFACE_NAME, { error: 'must be an interface name (letters, digits, _.-; at most 15)' })
          .optional(),
        d,
      ),
      { calico: '* or ^[a-zA-Z0-9_.-]{1,15}$ (validator `interface`)' },
    ),
    d,
  );

export const FELIX_KEPT_FIELDS = {
  awsSrcDstCheck: oneOf(['DoNothing', 'Enable', 'Disable'], 'AWS source/destination check setting.'),
  bpfAttachType: oneOf(['TC', 'TCX', 'Netkit'], 'How BPF programs are attached.'),
  bpfCTLBLogFilter: str('Connect-time load balancer log filter.'),
  bpfConnectTimeLoadBalancing: oneOf(['TCP', 'Enabled', 'Disabled'], 'Connect-time load balancing.'),
  bpfConnectTimeLoadBalancingEnabled: bool('Connect-time load balancing (deprecated switch).'),
  bpfConntrackLogLevel: oneOf(['Off', 'Debug'], 'BPF conntrack cleaner log level.'),
  bpfConntrackMode: oneOf(['Auto', 'Userspace', 'BPFProgram'], 'BPF conntrack cleanup mode.'),
  bpfConntrackTimeouts: kept(
    rule(
      field(
        z
          .looseObject({
            creationGracePeriod: conntrackTimeout('Grace period for new connections.'),
            genericTimeout: conntrackTimeout('Generic protocol timeout.'),
            icmpTimeout: conntrackTimeout('ICMP timeout.'),
            tcpEstablished: conntrackTimeout('Established TCP timeout.'),
            tcpFinsSeen: conntrackTimeout('TCP timeout after FINs.'),
            tcpResetSeen: conntrackTimeout('TCP timeout after RST.'),
            tcpSynSent: conntrackTimeout('TCP SYN-sent timeout.'),
            udpTimeout: conntrackTimeout('UDP timeout.'),
          })
          .optional(),
        'BPF conntrack timeouts.',
      ),
      { calico: 'none (object)' },
    ),
    'BPF conntrack timeouts.',
  ),
  bpfDSROptoutCIDRs: cidrList('CIDRs excluded from DSR.'),
  bpfDataIfacePattern: regexp('Interfaces BPF programs attach to.'),
  bpfDisableGROForIfaces: regexp('Interfaces on which GRO is disabled.'),
  bpfDisableUnprivileged: bool('Disable unprivileged BPF.'),
  bpfEnforceRPF: anyCase(['Disabled', 'Strict', 'Loose'], 'BPF reverse-path filtering.'),
  bpfExcludeCIDRsFromNAT: cidrList('CIDRs excluded from BPF NAT.'),
  bpfExportBufferSizeMB: int('BPF event export buffer size.'),
  bpfExtToServiceConnmark: range(
    'Connmark for external traffic to services.',
    0,
    4294967295,
    '0..4294967295 (validator)',
  ),
  bpfExternalServiceMode: anyCase(['Tunnel', 'DSR'], 'How external service traffic is handled.'),
  bpfForceTrackPacketsFromIfaces: kept(
    rule(
      field(
        z
          .array(z.string().regex(IFACE_FILTER, { error: 'must be an interface name or wildcard such as docker+' }))
          .optional(),
        'Interfaces whose packets are always conntracked.',
      ),
      { calico: 'each ^[a-zA-Z0-9:._+-]{1,15}$ (validator `ifaceFilterSlice`)' },
    ),
    'Interfaces whose packets are always conntracked.',
  ),
  bpfHostConntrackBypass: bool('Bypass conntrack for host traffic.'),
  bpfHostNetworkedNATWithoutCTLB: oneOf(['Enabled', 'Disabled'], 'Host-networked NAT without CTLB.'),
  bpfIPFragTimeout: felixDuration('BPF IP fragment timeout.'),
  bpfIPFragmentReassemblyEnabled: bool('BPF IP fragment reassembly.'),
  bpfJITHardening: oneOf(['Auto', 'Strict'], 'BPF JIT hardening.'),
  bpfKubeProxyHealthzPort: range('BPF kube-proxy health port.', 0, 65535, '0..65535 (validator)'),
  bpfKubeProxyIptablesCleanupEnabled: bool('Clean up kube-proxy iptables rules.'),
  bpfKubeProxyMinSyncPeriod: felixDuration('BPF kube-proxy minimum sync period.'),
  bpfL3IfacePattern: regexp('L3 interfaces BPF programs attach to.'),
  bpfLogFilters: kept(
    rule(
      field(
        z
          .record(z.string().regex(/^[a-zA-Z0-9_.-]{1,15}$/, { error: 'keys must be interface names' }), z.string())
          .optional(),
        'Per-interface BPF log filters.',
        {
          'x-kubernetes-validations': [
            cel(
              "self.all(k, k.matches('^[a-zA-Z0-9_.-]{1,15}$'))",
              'spec.bpfLogFilters keys must be interface names (letters, digits, _.-; at most 15)',
            ),
          ],
        },
      ),
      { calico: 'keys ^[a-zA-Z0-9_.-]{1,15}$ (validator `bpfLogFilters`)' },
    ),
    'Per-interface BPF log filters.',
  ),
  bpfLogLevel: anyCase(['Off', 'Info', 'Debug'], 'BPF log level.'),
  bpfMaglevMaxEndpointsPerService: range('Maglev endpoints per service.', 1, 3000, '1..3000 (validator gt=0,lte=3000)'),
  bpfMaglevMaxServices: range('Maglev services.', 1, 3000, '1..3000 (validator gt=0,lte=3000)'),
  bpfMapSizeConntrack: int('BPF conntrack map size.'),
  bpfMapSizeConntrackCleanupQueue: atLeast('BPF conntrack cleanup queue size.', 1, 'at least 1 (CRD; validator)'),
  bpfMapSizeConntrackScaling: anyCase(['Disabled', 'DoubleIfFull'], 'BPF conntrack map scaling.'),
  bpfMapSizeIPSets: int('BPF IP set map size.'),
  bpfMapSizeIfState: int('BPF interface state map size.'),
  bpfMapSizeNATAffinity: int('BPF NAT affinity map size.'),
  bpfMapSizeNATBackend: int('BPF NAT backend map size.'),
  bpfMapSizeNATFrontend: int('BPF NAT frontend map size.'),
  bpfMapSizePerCpuConntrack: int('BPF per-CPU conntrack map size.'),
  bpfMapSizeRoute: int('BPF route map size.'),
  bpfOverlayHostSourceIP: oneOf(['TunnelAddress', 'HostAddress'], 'Source address of host traffic into the overlay.'),
  bpfPSNATPorts: kept(
    portField('spec.bpfPSNATPorts', 'Ports for BPF source NAT.', true).optional(),
    'Ports for BPF source NAT.',
  ),
  bpfPolicyDebugEnabled: bool('BPF policy debug information.'),
  bpfProfiling: oneOf(['Enabled', 'Disabled'], 'BPF profiling.'),
  bpfRedirectToPeer: oneOf(['Enabled', 'Disabled'], 'Redirect to the peer interface.'),
  cgroupV2Path: str('cgroup v2 mount path.'),
  chainInsertMode: anyCase(['Insert', 'Append'], 'Where Felix inserts its iptables chains.'),
  dataplaneDriver: str('External dataplane driver.'),
  dataplaneWatchdogTimeout: goDuration('Dataplane watchdog timeout.'),
  debugDisableLogDropping: bool('Do not drop logs under load.'),
  debugHost: str('Debug server address.'),
  debugMemoryProfilePath: str('Memory profile path.'),
  debugPort: range('Debug server port.', 0, 65535, '0..65535 (validator)'),
  debugSimulateCalcGraphHangAfter: felixDuration('Debug: hang the calculation graph.'),
  debugSimulateDataplaneApplyDelay: felixDuration('Debug: delay dataplane applies.'),
  debugSimulateDataplaneHangAfter: felixDuration('Debug: hang the dataplane.'),
  defaultEndpointToHostAction: anyCase(['Drop', 'Accept', 'Return'], 'Action for workload-to-host traffic.'),
  disableConntrackInvalidCheck: bool('Do not drop conntrack-invalid packets.'),
  endpointReportingDelay: felixDuration('Endpoint status reporting delay.'),
  endpointReportingEnabled: bool('Endpoint status reporting.'),
  endpointStatusPathPrefix: str('Endpoint status file path.'),
  failsafeInboundHostPorts: failsafePorts('Inbound host ports always open.'),
  failsafeOutboundHostPorts: failsafePorts('Outbound host ports always open.'),
  featureDetectOverride: keyValueList(
    /^([a-zA-Z0-9-_]+=(true|false|),)*([a-zA-Z0-9-_]+=(true|false|))?$/,
    'Overrides of detected kernel features.',
  ),
  featureGates: keyValueList(/^([a-zA-Z0-9-_]+=([^=]+),)*([a-zA-Z0-9-_]+=([^=]+))?$/, 'Felix feature gates.'),
  floatingIPs: oneOf(['Enabled', 'Disabled'], 'OpenStack floating IPs.'),
  flowLogsCollectorDebugTrace: bool('Flow log collector debug trace.'),
  flowLogsFlushInterval: felixDuration('Flow log flush interval.'),
  flowLogsGoldmaneServer: str('Flow log server (Goldmane).'),
  flowLogsLocalReporter: oneOf(['Disabled', 'Enabled'], 'Local flow log reporter.'),
  flowLogsPolicyEvaluationMode: oneOf(['None', 'Continuous'], 'Flow log policy evaluation.'),
  genericXDPEnabled: bool('Generic XDP.'),
  goGCThreshold: atLeast('Go GC threshold.', -1, 'at least -1 (validator gte=-1)'),
  goMaxProcs: atLeast('Go GOMAXPROCS.', -1, 'at least -1 (validator gte=-1)'),
  goMemoryLimitMB: atLeast('Go memory limit.', -1, 'at least -1 (validator gte=-1)'),
  healthEnabled: bool('Health endpoint.'),
  healthHost: str('Health endpoint address.'),
  healthPort: int('Health endpoint port.'),
  healthTimeoutOverrides: kept(
    rule(
      field(z.array(HealthTimeoutOverrideSchema).optional(), 'Health timeouts per reporter.', {
        'x-kubernetes-list-type': 'atomic',
      }),
      { calico: 'none (list)' },
    ),
    'Health timeouts per reporter.',
  ),
  interfaceExclude: str('Interfaces Felix ignores.'),
  interfacePrefix: str('Workload interface name prefixes.'),
  interfaceRefreshInterval: felixDuration('Interface refresh interval.'),
  ipsetsRefreshInterval: felixDuration('IP set refresh interval.'),
  iptablesBackend: kept(
    rule(
      field(
        z.enum(['Legacy', 'NFT', 'Auto'], { error: 'must be Legacy, NFT or Auto' }).optional(),
        'iptables backend.',
        { 'x-tabby-crd-pattern': '^(?i)(Auto|Legacy|NFT)?$' },
      ),
      { calico: 'enum Legacy, NFT, Auto and pattern ^(?i)(Auto|Legacy|NFT)?$ (CRD)' },
    ),
    'iptables backend.',
  ),
  iptablesFilterAllowAction: anyCase(['Accept', 'Return'], 'iptables filter allow action.'),
  iptablesFilterDenyAction: anyCase(['Drop', 'Reject'], 'iptables filter deny action.'),
  iptablesLockProbeInterval: felixDuration('iptables lock probe interval.'),
  iptablesMangleAllowAction: anyCase(['Accept', 'Return'], 'iptables mangle allow action.'),
  iptablesMarkMask: range('iptables mark bits Felix may use.', 0, 4294967295, '0..4294967295 (CRD)'),
  iptablesNATOutgoingInterfaceFilter: pattern(
    IFACE_FILTER,
    'Interfaces NAT outgoing applies to.',
    'must be an interface name or wildcard such as eth+',
    '^[a-zA-Z0-9:._+-]{1,15}$ (validator `ifaceFilter`)',
  ),
  iptablesPostWriteCheckInterval: felixDuration('iptables post-write check interval.'),
  iptablesRefreshInterval: felixDuration('iptables refresh interval.'),
  istioAmbientMode: oneOf(['Enabled', 'Disabled'], 'Istio ambient mode.'),
  istioDSCPMark: kept(
    rule(
      field(z.union([z.number().int().min(0).max(255), z.string()]).optional(), 'DSCP mark for Istio traffic.', {
        'x-tabby-crd-schema': { 'x-kubernetes-int-or-string': true },
      }),
      { calico: 'numorstring.DSCP: a uint8 or a string (decoding)' },
    ),
    'DSCP mark for Istio traffic.',
  ),
  kubeNodePortRanges: kept(
    rule(
      field(
        z
          .array(portField('spec.kubeNodePortRanges[]', 'A port or range.', false))
          .max(7, {
            error: 'must have at most 7 entries',
          })
          .optional(),
        'Kubernetes node port ranges.',
      ),
      { calico: 'at most 7 (CRD; validateFelixConfigSpec); ports or ranges, no names (validateFelixConfigSpec)' },
    ),
    'Kubernetes node port ranges.',
  ),
  liveMigrationRouteConvergenceTime: felixDuration('KubeVirt live migration route convergence time.', true),
  localSubnetL2Reachability: oneOf(['Disabled', 'PodsAndLoadBalancers'], 'Local subnet L2 reachability.'),
  localSubnetL2ReachabilityRefreshInterval: goDuration('Local subnet L2 reachability refresh interval.'),
  logActionRateLimit: pattern(
    /^[1-9]\d{0,3}\/(?:second|minute|hour|day)$/,
    'Rate limit of the Log policy action.',
    'must be N/second, N/minute, N/hour or N/day with N 1..9999',
    'CRD pattern ^[1-9]\\d{0,3}/(?:second|minute|hour|day)$',
  ),
  logActionRateLimitBurst: range('Burst of the Log policy action.', 0, 9999, '0..9999 (CRD)'),
  logDebugFilenameRegex: regexp('Files whose debug logs are kept.'),
  logFilePath: str('Log file path.'),
  logPrefix: pattern(
    /^([a-zA-Z0-9%: /_-])*$/,
    'Prefix of iptables log rules.',
    'must contain only letters, digits and %: /_-',
    'CRD pattern ^([a-zA-Z0-9%: /_-])*$',
  ),
  logSeverityFile: anyCase(['Trace', 'Debug', 'Info', 'Warning', 'Error', 'Fatal'], 'Log file severity.'),
  logSeverityScreen: anyCase(['Trace', 'Debug', 'Info', 'Warning', 'Error', 'Fatal'], 'Log severity on stderr.'),
  logSeveritySys: anyCase(['Trace', 'Debug', 'Info', 'Warning', 'Error', 'Fatal'], 'Syslog severity.'),
  maxIpsetSize: int('Maximum IP set size.'),
  metadataAddr: str('OpenStack metadata address.'),
  metadataPort: int('OpenStack metadata port.'),
  netlinkTimeout: felixDuration('Netlink timeout.'),
  nftablesFilterAllowAction: anyCase(['Accept', 'Return'], 'nftables filter allow action.'),
  nftablesFilterDenyAction: anyCase(['Drop', 'Reject'], 'nftables filter deny action.'),
  nftablesFlowTableDataIfacePattern: regexp('Interfaces in the nftables flow table.'),
  nftablesFlowTableOffload: oneOf(['All', 'Disabled'], 'nftables flow table offload.'),
  nftablesMangleAllowAction: anyCase(['Accept', 'Return'], 'nftables mangle allow action.'),
  nftablesMarkMask: range('nftables mark bits Felix may use.', 0, 4294967295, '0..4294967295 (CRD)'),
  nftablesMode: oneOf(['Disabled', 'Enabled', 'Auto'], 'nftables mode.'),
  nftablesRefreshInterval: goDuration('nftables refresh interval.'),
  openstackRegion: pattern(
    /^([a-z0-9]([-a-z0-9]{0,44}[a-z0-9])?)?$/,
    'OpenStack region.',
    'must be a DNS label of at most 46 characters',
    'a DNS-1123 label of at most 46 characters, so openstack-region-<region> is a namespace name (validateFelixConfigSpec)',
  ),
  policySyncPathPrefix: str('Policy sync API path.'),
  prometheusGoMetricsEnabled: bool('Go runtime metrics.'),
  prometheusMetricsCAFile: str('Metrics TLS CA file.'),
  prometheusMetricsCertFile: str('Metrics TLS certificate file.'),
  prometheusMetricsClientAuth: oneOf(
    ['RequireAndVerifyClientCert', 'RequireAnyClientCert', 'VerifyClientCertIfGiven', 'NoClientCert'],
    'Metrics TLS client authentication.',
  ),
  prometheusMetricsEnabled: bool('Prometheus metrics.'),
  prometheusMetricsHost: pattern(
    /^[a-zA-Z0-9:._+-]{1,64}$/,
    'Metrics address.',
    'must be a host name or address (letters, digits, :._+-; at most 64)',
    '^[a-zA-Z0-9:._+-]{1,64}$ (validator `prometheusHost`)',
  ),
  prometheusMetricsKeyFile: str('Metrics TLS key file.'),
  prometheusMetricsPort: int('Metrics port.'),
  prometheusProcessMetricsEnabled: bool('Process metrics.'),
  prometheusWireGuardMetricsEnabled: bool('WireGuard metrics.'),
  reportingInterval: felixDuration('Status reporting interval.'),
  reportingTTL: felixDuration('Status reporting TTL.'),
  requireMTUFile: bool('Wait for the MTU file.'),
  serviceLoopPrevention: exactOrEmpty(['Drop', 'Reject', 'Disabled'], 'Service loop prevention.'),
  sidecarAccelerationEnabled: bool('Sidecar acceleration.'),
  usageReportingEnabled: bool('Usage reporting.'),
  usageReportingInitialDelay: felixDuration('Usage reporting initial delay.'),
  usageReportingInterval: felixDuration('Usage reporting interval.'),
  useInternalDataplaneDriver: bool('Use the internal dataplane driver.'),
  windowsManageFirewallRules: oneOf(['Enabled', 'Disabled'], 'Windows firewall rules.'),
  wireguardHostEncryptionEnabled: bool('WireGuard host encryption.'),
  wireguardInterfaceName: WIREGUARD_IFACE('WireGuard IPv4 interface name.'),
  wireguardInterfaceNameV6: WIREGUARD_IFACE('WireGuard IPv6 interface name.'),
  wireguardKeepAlive: felixDuration('WireGuard keepalive.'),
  wireguardListeningPort: range('WireGuard IPv4 port.', 1, 65535, '1..65535 (validator gt=0,lte=65535)'),
  wireguardListeningPortV6: range('WireGuard IPv6 port.', 1, 65535, '1..65535 (validator gt=0,lte=65535)'),
  wireguardRoutingRulePriority: range(
    'WireGuard routing rule priority.',
    1,
    32765,
    '1..32765 (validator gt=0,lt=32766)',
  ),
  wireguardThreadingEnabled: bool('WireGuard threading.'),
  workloadSourceSpoofing: exactOrEmpty(['Disabled', 'Any'], 'Workload source spoofing.'),
  xdpEnabled: bool('XDP.'),
  xdpRefreshInterval: felixDuration('XDP refresh interval.'),
};
