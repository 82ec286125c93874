// BGPFilter (projectcalico.org/v3): ordered import/export rules a BGPPeer applies to its sessions (`spec.filters`).
// Field names, enums and the rule checks are Calico's (`calico: api/pkg/apis/projectcalico/v3/bgpfilter.go`, its
// kubebuilder CEL rules, and `libcalico-go/lib/validator/v3/validator.go` bgpFilterInterface / prefix lengths).
// A rule matches on CIDR (with matchOperator and an optional prefix-length range), route source, interface, peer
// type, community, AS-path prefix and priority; its action is Accept or Reject, and an Accept may first modify the
// route (add a community, prepend AS numbers, set the priority). Rules run in order; the first that matches decides.
import { z } from 'zod';
import { parseCidr } from '../net/index.js';
import { isCommunityValue } from './bgp-configuration.js';
import { envelope } from './common.js';
import { AS_NUMBER_MAX } from './fields.js';
import { CALICO_API_VERSION, CALICO_GROUP, CALICO_VERSION, cel, defineKind, field, rule } from './meta.js';

const ATOMIC = { 'x-kubernetes-list-type': 'atomic' } as const;
/** Rules per list. */
export const MAX_RULES = 100;

const COMMUNITY_RULE = {
  calico: 'CRD pattern: aa:nn with 16-bit parts or aa:nn:mm with 32-bit parts, at most 32 characters',
};
const AS_RULE = {
  calico: 'numorstring.ASNumber, a uint32 (CRD integer, format int32)',
  differs: "AS numbers above 2147483647 are accepted although the int32 format of Calico's CRD refuses them",
};

const communityValue = field(
  z
    .string()
    .max(32)
    .regex(/^[0-9]{1,10}:[0-9]{1,10}(:[0-9]{1,10})?$/, { error: 'must be aa:nn or aa:nn:mm' })
    .refine(isCommunityValue, { error: 'must be aa:nn (each 0..65535) or aa:nn:mm (each 0..4294967295)' }),
  'BGP community: aa:nn (standard) or aa:nn:mm (large).',
);

const asNumber = z
  .number({ error: 'must be an AS number (integer 0..4294967295)' })
  .int({ error: 'must be an AS number (integer 0..4294967295)' })
  .min(0, { error: 'must be 0..4294967295' })
  .max(AS_NUMBER_MAX, { error: 'must be 0..4294967295' });

const priority = z
  .number()
  .int({ error: 'must be an integer 1..2147483646' })
  .min(1, { error: 'must be 1..2147483646' })
  .max(2147483646, { error: 'must be 1..2147483646' });

/** A strictly masked CIDR of one family, as Calico's netv4/netv6 rule fields take it. */
function familyCidr(family: 4 | 6, path: string) {
  const max = family === 4 ? 18 : 43;
  return field(
    z
      .string()
      .max(max)
      .superRefine((text, ctx) => {
        try {
          const c = parseCidr(text);
          if (c.family !== family)
            ctx.addIssue({ code: 'custom', input: text, message: `must be an IPv${family} CIDR` });
        } catch (err) {
          ctx.addIssue({
            code: 'custom',
            input: text,
            message: `must be a strictly masked IPv${family} CIDR: ${err instanceof Error ? err.message : String(err)}`,
          });
        }
      }),
    'Routes matched against this prefix (how: matchOperator, prefixLength).',
    {
      'x-tabby-calico':
        `CRD format cidr, at most ${max} characters; a strictly masked IPv${family} CIDR (validator \`netv${family}\`); ` +
        'set together with matchOperator (CRD CEL)',
      'x-kubernetes-validations': [
        cel(`isCIDR(self) && cidr(self).ip().family() == ${family}`, `${path}.cidr must be an IPv${family} CIDR`),
        cel(
          '!isCIDR(self) || cidr(self) == cidr(self).masked()',
          `${path}.cidr must be strictly masked (host bits zero)`,
        ),
      ],
    },
  );
}

function prefixLength(family: 4 | 6) {
  const bits = family === 4 ? 32 : 128;
  const len = z
    .number()
    .int({ error: `must be an integer 0..${bits}` })
    .min(0, { error: `must be 0..${bits}` })
    .max(bits, { error: `must be 0..${bits}` });
  return field(
    z
      .looseObject({
        min: rule(field(len.optional(), 'Shortest prefix length matched (default: the CIDR length).'), {
          calico: `0..${bits} (CRD; validator \`bgpFilterPrefixLengthV${family}\`)`,
        }),
        max: rule(field(len.optional(), `Longest prefix length matched (default ${bits}).`), {
          calico: `0..${bits} (CRD; validator \`bgpFilterPrefixLengthV${family}\`)`,
        }),
      })
      .optional(),
    'Restricts the CIDR match to routes whose prefix length is within min..max. Requires cidr.',
    { 'x-tabby-calico': 'only with cidr (CRD CEL)' },
  );
}

const operationSchema = (path: string) =>
  field(
    z.looseObject({
      addCommunity: field(
        z.looseObject({ value: rule(communityValue, { calico: `required; ${COMMUNITY_RULE.calico}` }) }).optional(),
        'Adds this community to the route.',
      ),
      prependASPath: field(
        z
          .looseObject({
            prefix: rule(field(z.array(asNumber).min(1).max(10), 'AS numbers, first = leftmost.', ATOMIC), {
              calico: `required, 1..10 entries, each ${AS_RULE.calico}`,
              differs: AS_RULE.differs,
            }),
          })
          .optional(),
        'Prepends these AS numbers to the AS path.',
      ),
      setPriority: field(
        z
          .looseObject({
            value: rule(field(priority, 'Priority (FelixConfiguration route-priority units).'), {
              calico: 'required; 1..2147483646 (CRD)',
            }),
          })
          .optional(),
        "Sets the route's priority.",
      ),
    }),
    'One route modification; exactly one field set.',
    {
      'x-tabby-calico': 'exactly one field set (CRD minProperties/maxProperties 1)',
      'x-kubernetes-validations': [
        cel(
          '(has(self.addCommunity) ? 1 : 0) + (has(self.prependASPath) ? 1 : 0) + (has(self.setPriority) ? 1 : 0) == 1',
          `${path}.operations[] must set exactly one of addCommunity, prependASPath, setPriority`,
        ),
      ],
    },
  );

function ruleSchema(family: 4 | 6, path: string) {
  return z.looseObject({
    cidr: familyCidr(family, path).optional(),
    prefixLength: prefixLength(family),
    source: rule(
      field(
        z.enum(['RemotePeers'], { error: 'must be RemotePeers' }).optional(),
        'RemotePeers: only routes learned from BGP peers (not those this node originates).',
      ),
      { calico: 'enum RemotePeers (CRD; validator oneof)' },
    ),
    interface: rule(
      field(
        z
          .string()
          .regex(/^[a-zA-Z0-9_.*-]{1,15}$/, {
            error: 'must be an interface name or glob (letters, digits, _.*-; ≤15)',
          })
          .optional(),
        'Only routes whose outgoing interface matches this name or glob.',
      ),
      { calico: 'at most 15 characters (CRD); ^[a-zA-Z0-9_.*-]{1,15}$ (validator `bgpFilterInterface`)' },
    ),
    matchOperator: rule(
      field(
        z.enum(['Equal', 'NotEqual', 'In', 'NotIn'], { error: 'must be Equal, NotEqual, In or NotIn' }).optional(),
        'How the route prefix is compared with cidr. Required with cidr.',
      ),
      { calico: 'enum Equal, NotEqual, In, NotIn (CRD); set together with cidr (CRD CEL)' },
    ),
    peerType: rule(
      field(
        z.enum(['eBGP', 'iBGP'], { error: 'must be eBGP or iBGP' }).optional(),
        'Only sessions of this type (iBGP: the peer has the local AS).',
      ),
      { calico: 'enum eBGP, iBGP (CRD; validator oneof)' },
    ),
    communities: field(
      z
        .looseObject({
          values: rule(field(z.array(communityValue).min(1).max(1), 'Exactly one community.', ATOMIC), {
            calico: `required, exactly one (CRD); ${COMMUNITY_RULE.calico}`,
          }),
        })
        .optional(),
      'Only routes carrying this community.',
    ),
    asPathPrefix: rule(
      field(z.array(asNumber).optional(), 'Only routes whose AS path starts with these AS numbers.', ATOMIC),
      { calico: `each ${AS_RULE.calico}`, differs: AS_RULE.differs },
    ),
    priority: rule(
      field(priority.optional(), 'Only routes with this priority (FelixConfiguration route-priority units).'),
      { calico: '1..2147483646 (CRD)' },
    ),
    action: rule(
      field(z.enum(['Accept', 'Reject'], { error: 'must be Accept or Reject' }), 'What a matching rule does.'),
      { calico: 'required; enum Accept, Reject (CRD)' },
    ),
    operations: rule(
      field(
        z.array(operationSchema(path)).min(1).max(10).optional(),
        'Modifications applied before accepting (action Accept only).',
        ATOMIC,
      ),
      { calico: '1..10 entries (CRD); only with action Accept (CRD CEL)' },
    ),
  });
}

type Rule = z.output<ReturnType<typeof ruleSchema>>;

function checkRule(rule: Rule, ctx: z.RefinementCtx): void {
  const add = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
  const hasCidr = rule.cidr !== undefined && rule.cidr !== '';
  const hasOp = rule.matchOperator !== undefined;
  if (hasCidr && !hasOp) add('matchOperator', 'is required when cidr is set');
  if (!hasCidr && hasOp) add('cidr', 'is required when matchOperator is set');
  if (rule.prefixLength !== undefined && !hasCidr) add('prefixLength', 'requires cidr');
  if ((rule.operations ?? []).length > 0 && rule.action !== 'Accept') {
    add('operations', 'may only be used with action Accept');
  }
  (rule.operations ?? []).forEach((op, i) => {
    const set = [op.addCommunity, op.prependASPath, op.setPriority].filter((x) => x !== undefined).length;
    if (set !== 1) {
      ctx.addIssue({
        code: 'custom',
        path: ['operations', i],
        message: 'exactly one of addCommunity, prependASPath, setPriority must be set',
      });
    }
  });
}

const ruleCel = (path: string) => [
  cel(
    '(has(self.cidr) && size(self.cidr) > 0) == (has(self.matchOperator) && size(self.matchOperator) > 0)',
    `${path}.cidr and ${path}.matchOperator must both be set or both be empty`,
    { reason: 'FieldValueInvalid' },
  ),
  cel(
    '!has(self.prefixLength) || (has(self.cidr) && size(self.cidr) > 0)',
    `${path}.cidr is required when ${path}.prefixLength is set`,
    { reason: 'FieldValueInvalid' },
  ),
  cel(
    "!has(self.operations) || size(self.operations) == 0 || self.action == 'Accept'",
    `${path}.operations may only be used with action Accept`,
  ),
];

function rules(family: 4 | 6, list: string, what: string) {
  const path = `spec.${list}[]`;
  return field(
    z
      .array(
        field(ruleSchema(family, path).superRefine(checkRule), `One IPv${family} rule.`, {
          'x-kubernetes-validations': ruleCel(path),
          'x-tabby-calico':
            'cidr and matchOperator set together; prefixLength only with cidr; operations only with action Accept ' +
            '(CRD CEL)',
        }),
      )
      // A bound keeps the CEL rules within the apiserver's cost budget; Calico sets none, but no filter needs more.
      .max(MAX_RULES, { error: `must have at most ${MAX_RULES} rules` })
      .optional(),
    what,
    {
      ...ATOMIC,
      'x-tabby-calico': 'none (list)',
      'x-tabby-differs': `at most ${MAX_RULES} rules, which keeps the rules' CEL within the apiserver's cost budget`,
    },
  );
}

const BGPFilterSpecObject = z.looseObject({
  exportV4: rules(4, 'exportV4', 'Ordered IPv4 rules for routes sent to the peer.'),
  importV4: rules(4, 'importV4', 'Ordered IPv4 rules for routes received from the peer.'),
  exportV6: rules(6, 'exportV6', 'Ordered IPv6 rules for routes sent to the peer.'),
  importV6: rules(6, 'importV6', 'Ordered IPv6 rules for routes received from the peer.'),
});

export const BGPFilterSpecSchema = field(BGPFilterSpecObject, 'BGPFilter specification (Calico projectcalico.org/v3).');
export type BGPFilterSpec = z.infer<typeof BGPFilterSpecSchema>;
export type BGPFilterRule = Rule;

export const BGPFilterSchema = z.looseObject({
  ...envelope(CALICO_API_VERSION, 'BGPFilter'),
  spec: BGPFilterSpecSchema.default(() => BGPFilterSpecSchema.parse({})),
});
export type BGPFilter = z.infer<typeof BGPFilterSchema>;

export const BGPFilterKind = defineKind({
  group: CALICO_GROUP,
  version: CALICO_VERSION,
  kind: 'BGPFilter',
  plural: 'bgpfilters',
  description:
    'Ordered import/export rules for BGP sessions, applied by BGPPeers that name the filter in spec.filters. ' +
    'Calico-compatible (projectcalico.org/v3).',
  schema: BGPFilterSchema,
  specRequired: false,
  printerColumns: [{ name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' }],
});
