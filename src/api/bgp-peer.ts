// BGPPeer (projectcalico.org/v3): an explicit BGP session — for all nodes (global), one node (`node`) or the nodes
// a selector matches (`nodeSelector`); towards an address (`peerIP`) or towards other Calico nodes (`peerSelector`).
// Field names, enums and the mutual-exclusion rules are Calico's (`calico: api/pkg/apis/projectcalico/v3/bgppeer.go`,
// `calico: libcalico-go/lib/validator/v3/validator.go` validateBGPPeerSpec).
import { z } from 'zod';
import { tryParseIP } from '../net/index.js';
import { envelope } from './common.js';
import {
  asNumberField,
  BGPPasswordSchema,
  dnsNameField,
  durationField,
  ipField,
  ipPortField,
  selectorField,
  splitIPPort,
  intIn,
} from './fields.js';
import { CALICO_API_VERSION, CALICO_GROUP, CALICO_VERSION, cel, defineKind, field, rule, unsupported } from './meta.js';

const set = (s: string) => `(has(self.${s}) && size(self.${s}) > 0)`;
// peerIP's address part, for its three forms: `ip`, `ipv4:port`, `[ip]:port`.
const PEER_ADDRESS =
  "(self.peerIP.startsWith('[') ? self.peerIP.substring(1, self.peerIP.lastIndexOf(']')) : " +
  "(self.peerIP.contains('.') && self.peerIP.contains(':') ? self.peerIP.split(':')[0] : self.peerIP))";

const BGPPeerSpecObject = z.looseObject({
  node: rule(
    field(
      z
        .string()
        .max(253)
        .regex(/^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)?$/, {
          error: 'must be a node name (DNS-1123 subdomain)',
        })
        .optional(),
      'The one node that has this peering. With neither node nor nodeSelector the peering is global (every node).',
    ),
    { calico: 'DNS-1123 subdomain, at most 253 characters (validator `name`); not with nodeSelector (CRD CEL)' },
  ),
  nodeSelector: rule(
    selectorField(
      'spec.nodeSelector',
      'Calico selector over Node labels choosing the nodes that have this peering. Not together with node.',
      { allowGlobal: true },
    ).optional(),
    {
      calico: 'Calico selector syntax (validator `selector`), at most 1024 characters; not with node (CRD CEL)',
      webhook: 'selector syntax (Calico selector parser)',
    },
  ),
  peerIP: rule(
    ipPortField(
      'spec.peerIP',
      'Remote address: <IPv4>, <IPv4>:<port>, <IPv6> or [<IPv6>]:<port>. Not together with peerSelector.',
    ).optional(),
    {
      calico:
        '<IP>, <IPv4>:<port> or [<IP>]:<port>, port 1..65535 (validator `IP:port`), at most 64 characters; not with ' +
        'peerSelector or localWorkloadSelector (CRD CEL)',
    },
  ),
  asNumber: rule(
    asNumberField('spec.asNumber', 'Remote AS number (with peerIP). Must be absent with peerSelector.').optional(),
    {
      calico:
        'numorstring.ASNumber (CRD integer, format int32); empty with peerSelector, required with ' +
        'localWorkloadSelector (CRD CEL)',
    },
  ),
  localASNumber: asNumberField(
    'spec.localASNumber',
    'Local AS number for this session instead of the node AS.',
  ).optional(),
  peerSelector: rule(
    selectorField(
      'spec.peerSelector',
      'Calico selector over Node labels: peer with every matching Calico node (their own AS). Not with peerIP.',
      { allowGlobal: true },
    ).optional(),
    {
      calico:
        'Calico selector syntax (validator `selector`), at most 1024 characters; not with peerIP or ' +
        'localWorkloadSelector (CRD CEL)',
      webhook: 'selector syntax (Calico selector parser)',
    },
  ),
  keepOriginalNextHop: rule(
    field(
      z.boolean().optional(),
      'Deprecated: use nextHopMode Keep. Keep the original next hop on routes sent to an eBGP peer.',
    ),
    { calico: 'not true together with nextHopMode (CRD CEL)' },
  ),
  nextHopMode: rule(
    field(
      z.enum(['Auto', 'Self', 'Keep'], { error: 'must be Auto, Self or Keep' }).optional(),
      'Next hop of routes sent to this peer: Auto (BIRD decides), Self, or Keep.',
    ),
    { calico: 'enum Auto, Self, Keep (CRD)' },
  ),
  password: rule(field(BGPPasswordSchema.optional(), 'Secret key holding the TCP MD5 password for this session.'), {
    calico: 'secretKeyRef.key required (CRD)',
  }),
  sourceAddress: rule(
    field(
      z.enum(['UseNodeIP', 'None'], { error: 'must be UseNodeIP or None' }).optional(),
      'UseNodeIP (default): bind the session to the node address; None: let the kernel choose.',
    ),
    { calico: 'enum UseNodeIP, None (CRD)' },
  ),
  maxRestartTime: durationField('Graceful restart time for this session (default 120s).').optional(),
  keepaliveTime: durationField('Keepalive time for this session.').optional(),
  numAllowedLocalASNumbers: rule(
    field(
      z.number().int().min(0).max(2147483647).optional(),
      'How many times the local AS may appear in received AS paths (allow local as N).',
    ),
    {
      calico: 'int32 (CRD format int32)',
      differs: 'negative counts refused (BIRD refuses them)',
    },
  ),
  ttlSecurity: rule(field(intIn(0, 255).optional(), 'GTSM: accept packets only from this many hops away (0 = off).'), {
    calico: 'uint8: 0..255 (decoding)',
  }),
  reachableBy: rule(
    ipField(
      'spec.reachableBy',
      'Gateway through which peerIP is reached (adds a static route); same address family as peerIP.',
    ).optional(),
    {
      calico:
        'an IP address (validator `reachableBy`), at most 64 characters; only with peerIP (CRD CEL); the family of ' +
        "peerIP's address (Go validator)",
    },
  ),
  filters: rule(
    field(z.array(dnsNameField('A BGPFilter name.')).optional(), 'BGPFilter names applied to this session, in order.'),
    { calico: 'each a DNS-1123 subdomain (validator `name`)' },
  ),
  localWorkloadSelector: rule(
    unsupported(
      selectorField('spec.localWorkloadSelector', 'Peer with local workloads matching this selector.', {
        allowGlobal: true,
      }).optional(),
      'Peer with local workloads matching this selector (requires asNumber; not with peerIP or peerSelector).',
    ),
    {
      calico:
        'Calico selector syntax (validator `selector`), at most 1024 characters; needs asNumber, not with peerIP ' +
        'or peerSelector (CRD CEL)',
      webhook: 'selector syntax (Calico selector parser)',
    },
  ),
  reversePeering: rule(
    field(
      z.enum(['Auto', 'Manual'], { error: 'must be Auto or Manual' }).optional(),
      'Auto (default): the matching reverse session between Calico nodes is created too; Manual: it is not.',
    ),
    {
      calico: 'enum Auto, Manual (Go type); the generated CRD lost the enum',
      differs: "enum enforced (Calico's CRD marker has a trailing ';' and its CRD accepts any string)",
    },
  ),
});

export const BGPPeerSpecShape = BGPPeerSpecObject;

type PeerSpec = z.output<typeof BGPPeerSpecObject>;
const nonEmpty = (s: string | undefined): s is string => s !== undefined && s !== '';

function checkPeerRules(spec: PeerSpec, ctx: z.RefinementCtx): void {
  const add = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
  if (nonEmpty(spec.node) && nonEmpty(spec.nodeSelector))
    add('nodeSelector', 'node and nodeSelector cannot both be set');
  if (nonEmpty(spec.peerIP) && nonEmpty(spec.peerSelector))
    add('peerSelector', 'peerIP and peerSelector cannot both be set');
  if (nonEmpty(spec.peerSelector) && spec.asNumber !== undefined) {
    add('asNumber', 'must be empty when peerSelector is set (the peers use their own AS)');
  }
  if (nonEmpty(spec.localWorkloadSelector)) {
    if (nonEmpty(spec.peerIP)) add('peerIP', 'must be empty when localWorkloadSelector is set');
    if (nonEmpty(spec.peerSelector)) add('peerSelector', 'must be empty when localWorkloadSelector is set');
    if (spec.asNumber === undefined) add('asNumber', 'is required when localWorkloadSelector is set');
  }
  if (nonEmpty(spec.reachableBy)) {
    if (!nonEmpty(spec.peerIP)) add('reachableBy', 'must be empty when peerIP is empty');
    else {
      const peerFamily = tryParseIP(splitIPPort(spec.peerIP)?.ip ?? '')?.family;
      const viaFamily = tryParseIP(spec.reachableBy)?.family;
      if (peerFamily !== undefined && viaFamily !== undefined && peerFamily !== viaFamily) {
        add('reachableBy', 'must be the same address family as peerIP');
      }
    }
  }
  if (spec.keepOriginalNextHop === true && spec.nextHopMode !== undefined) {
    add('nextHopMode', 'keepOriginalNextHop and nextHopMode cannot both be set; use nextHopMode only');
  }
}

export const BGPPeerSpecSchema = field(
  BGPPeerSpecObject.superRefine(checkPeerRules),
  'BGPPeer specification (Calico projectcalico.org/v3).',
  {
    'x-kubernetes-validations': [
      cel(`!${set('node')} || !${set('nodeSelector')}`, 'spec.node and spec.nodeSelector cannot both be set', {
        fieldPath: '.nodeSelector',
        reason: 'FieldValueForbidden',
      }),
      cel(`!${set('peerIP')} || !${set('peerSelector')}`, 'spec.peerIP and spec.peerSelector cannot both be set', {
        fieldPath: '.peerSelector',
        reason: 'FieldValueForbidden',
      }),
      cel(
        `!${set('peerSelector')} || !has(self.asNumber) || self.asNumber == 0`,
        'spec.asNumber must be empty when spec.peerSelector is set',
        { fieldPath: '.asNumber', reason: 'FieldValueForbidden' },
      ),
      cel(
        `!${set('localWorkloadSelector')} || !${set('peerIP')}`,
        'spec.peerIP must be empty when spec.localWorkloadSelector is set',
        {
          fieldPath: '.peerIP',
          reason: 'FieldValueForbidden',
        },
      ),
      cel(
        `!${set('localWorkloadSelector')} || !${set('peerSelector')}`,
        'spec.peerSelector must be empty when spec.localWorkloadSelector is set',
        { fieldPath: '.peerSelector', reason: 'FieldValueForbidden' },
      ),
      cel(
        `!${set('localWorkloadSelector')} || (has(self.asNumber) && self.asNumber != 0)`,
        'spec.asNumber is required when spec.localWorkloadSelector is set',
        { fieldPath: '.asNumber', reason: 'FieldValueRequired' },
      ),
      cel(`!${set('reachableBy')} || ${set('peerIP')}`, 'spec.reachableBy must be empty when spec.peerIP is empty', {
        fieldPath: '.reachableBy',
        reason: 'FieldValueForbidden',
      }),
      // Calico checks this in Go ("cannot be expressed in CEL without ip()"); the apiservers Tabby supports have ip().
      cel(
        `!${set('reachableBy')} || !${set('peerIP')} || !isIP(self.reachableBy) || !isIP(${PEER_ADDRESS}) || ` +
          `ip(self.reachableBy).family() == ip(${PEER_ADDRESS}).family()`,
        'spec.reachableBy must be the same address family as spec.peerIP',
        { fieldPath: '.reachableBy' },
      ),
      cel(
        '!has(self.keepOriginalNextHop) || !self.keepOriginalNextHop || !has(self.nextHopMode)',
        'spec.keepOriginalNextHop and spec.nextHopMode cannot both be set; use spec.nextHopMode',
        { fieldPath: '.nextHopMode', reason: 'FieldValueForbidden' },
      ),
    ],
  },
);
export type BGPPeerSpec = z.infer<typeof BGPPeerSpecSchema>;

export const BGPPeerSchema = z.looseObject({
  ...envelope(CALICO_API_VERSION, 'BGPPeer'),
  spec: BGPPeerSpecSchema,
});
export type BGPPeer = z.infer<typeof BGPPeerSchema>;

export const BGPPeerKind = defineKind({
  group: CALICO_GROUP,
  version: CALICO_VERSION,
  kind: 'BGPPeer',
  plural: 'bgppeers',
  shortNames: ['bgppeer'],
  description:
    'An explicit BGP peering: for every node, one node, or selected nodes; to an address or to selected Calico ' +
    'nodes (e.g. route reflectors). Calico-compatible (projectcalico.org/v3).',
  schema: BGPPeerSchema,
  printerColumns: [
    { name: 'Node Selector', type: 'string', jsonPath: '.spec.nodeSelector', description: 'Nodes with this peering.' },
    { name: 'Node', type: 'string', jsonPath: '.spec.node', description: 'The one node with this peering.' },
    { name: 'Local ASN', type: 'string', jsonPath: '.spec.localASNumber', description: 'Local AS override.' },
    { name: 'Peer Selector', type: 'string', jsonPath: '.spec.peerSelector', description: 'Remote Calico nodes.' },
    { name: 'Peer IP', type: 'string', jsonPath: '.spec.peerIP', description: 'Remote address.' },
    { name: 'Peer ASN', type: 'string', jsonPath: '.spec.asNumber', description: 'Remote AS.' },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  ],
});
