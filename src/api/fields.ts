// Field types shared by the Calico kinds: CIDRs, IPs, selectors, AS numbers, durations, secret references.
// Each helper returns a zod schema whose client-side check (via src/net) and whose CRD-side CEL rule say the same
// thing, so `tabby` and `kubectl apply` refuse the same inputs. CEL rules are guarded (`!isCIDR(x) || ...`) so a
// malformed value produces one clear error, not a CEL evaluation failure. `name` is the field's own name, used in
// the messages because the apiserver's own prefix is not always the field (rules on a parent object).
import { z } from 'zod';
import {
  goRegexpError,
  NetParseError,
  parseCidr,
  parseCidrLoose,
  parseIP,
  parseSelector,
  SelectorParseError,
} from '../net/index.js';
import { cel, field, type CelRule, type FieldMeta } from './meta.js';

type Extra = Omit<FieldMeta, 'description'>;

function netReason(err: unknown): string {
  if (err instanceof NetParseError) return err.reason;
  if (err instanceof SelectorParseError)
    return `expected ${err.expected} at position ${err.position}, found ${err.found}`;
  return err instanceof Error ? err.message : String(err);
}

/** A strictly masked CIDR (`10.0.0.0/16`; `10.0.0.1/16` is refused with the network it should be). */
export function cidrField(name: string, description: string, extra: Extra = {}) {
  return field(
    z
      .string()
      .max(48)
      .superRefine((text, ctx) => {
        try {
          parseCidr(text);
        } catch (err) {
          const reason = netReason(err);
          ctx.addIssue({
            code: 'custom',
            input: text,
            message: reason.startsWith('host bits set')
              ? `must be strictly masked: ${reason}`
              : `must be a CIDR such as 10.0.0.0/16 or fd00::/48: ${reason}`,
          });
        }
      }),
    description,
    {
      ...extra,
      'x-kubernetes-validations': [
        cel('isCIDR(self)', `${name} must be a CIDR such as 10.0.0.0/16 or fd00::/48`),
        cel('!isCIDR(self) || cidr(self) == cidr(self).masked()', `${name} must be strictly masked (host bits zero)`),
        ...(extra['x-kubernetes-validations'] ?? []),
      ],
    },
  );
}

/** An IP or CIDR; host bits allowed (Calico's `net` validator: service ranges, prefix advertisements). */
export function netField(name: string, description: string) {
  return field(
    z
      .string()
      .max(48)
      .superRefine((text, ctx) => {
        if (text.includes('/')) {
          try {
            parseCidrLoose(text);
          } catch (err) {
            ctx.addIssue({ code: 'custom', input: text, message: `must be an IP or CIDR: ${netReason(err)}` });
          }
        } else {
          try {
            parseIP(text);
          } catch (err) {
            ctx.addIssue({ code: 'custom', input: text, message: `must be an IP or CIDR: ${netReason(err)}` });
          }
        }
      }),
    description,
    { 'x-kubernetes-validations': [cel('isCIDR(self) || isIP(self)', `${name} must be an IP address or a CIDR`)] },
  );
}

/** Family of an IP or CIDR (host bits allowed), or undefined when it is neither. */
export function ipOrCidrFamily(text: string): 4 | 6 | undefined {
  try {
    return text.includes('/') ? parseCidrLoose(text).family : parseIP(text).family;
  } catch {
    return undefined;
  }
}

/**
 * A plain IP address, optionally of one family. `allowEmpty`: `""` means unset, as Calico's FelixConfiguration CEL
 * rules say (`size(self.x) == 0 || isIP(self.x)`).
 */
export function ipField(name: string, description: string, family?: 4 | 6, opts: { allowEmpty?: boolean } = {}) {
  const what = family === undefined ? 'an IP address' : `an IPv${family} address`;
  const base = family === undefined ? 'isIP(self)' : `isIP(self) && ip(self).family() == ${family}`;
  const rule = opts.allowEmpty ? `size(self) == 0 || (${base})` : base;
  return field(
    z
      .string()
      .max(45)
      .superRefine((text, ctx) => {
        if (opts.allowEmpty && text === '') return;
        try {
          const ip = parseIP(text);
          if (family !== undefined && ip.family !== family) {
            ctx.addIssue({ code: 'custom', input: text, message: `must be ${what}` });
          }
        } catch (err) {
          ctx.addIssue({ code: 'custom', input: text, message: `must be ${what}: ${netReason(err)}` });
        }
      }),
    description,
    { 'x-kubernetes-validations': [cel(rule, `${name} must be ${what}`)] },
  );
}

/** Splits Calico's peer address forms: `ip`, `ipv4:port`, `[ipv6]:port`. Returns undefined when malformed. */
export function splitIPPort(text: string): { ip: string; port?: number } | undefined {
  let host = text;
  let portText: string | undefined;
  const v6 = /^\[([^\]]+)\]:(\d+)$/.exec(text);
  const v4 = /^([0-9.]+):(\d+)$/.exec(text);
  if (v6) [, host = '', portText] = v6;
  else if (v4) [, host = '', portText] = v4;
  // Calico's processIPPort (validator.go) takes any address inside brackets, `[192.0.2.1]:179` included.
  try {
    parseIP(host);
  } catch {
    return undefined;
  }
  if (portText === undefined) return { ip: host };
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535) return undefined;
  return { ip: host, port };
}

/** BGPPeer `peerIP`: `<ipv4>`, `<ipv4>:<port>`, `<ipv6>` or `[<ipv6>]:<port>`. */
export function ipPortField(name: string, description: string) {
  const rule =
    "isIP(self) || (self.matches('^[0-9.]+:[0-9]{1,5}$') && isIP(self.split(':')[0]) && " +
    "int(self.split(':')[1]) >= 1 && int(self.split(':')[1]) <= 65535) || " +
    "(self.matches('^\\\\[[0-9a-fA-F:.]+\\\\]:[0-9]{1,5}$') && isIP(self.substring(1, self.lastIndexOf(']'))) && " +
    "int(self.substring(self.lastIndexOf(']') + 2)) >= 1 && int(self.substring(self.lastIndexOf(']') + 2)) <= 65535)";
  return field(
    z
      .string()
      .max(64)
      .refine((text) => splitIPPort(text) !== undefined, {
        error: 'must be <IPv4>, <IPv4>:<port>, <IPv6> or [<IPv6>]:<port> (port 1..65535)',
      }),
    description,
    { 'x-kubernetes-validations': [cel(rule, `${name} must be <IPv4>, <IPv4>:<port>, <IPv6> or [<IPv6>]:<port>`)] },
  );
}

/**
 * A Calico selector (`all()`, `has(a) && b == "c"`, ...), at most 1024 characters (Calico's CRD). It must parse
 * (Calico's validator `selector`); `global()` is refused where Calico's CRD refuses it (IPPool selectors) with a CEL
 * rule. The CRD cannot parse selectors: the admission webhook (our full validation) refuses unparsable ones at the
 * apiserver, and the operator reports any that reached the cluster without it (`selectorIssues` in cross-checks.ts).
 */
export function selectorField(name: string, description: string, opts: { allowGlobal?: boolean } = {}) {
  const rules: CelRule[] = opts.allowGlobal
    ? []
    : [cel("!self.contains('global(')", `${name}: global() is not valid in this selector`)];
  return field(
    z
      .string()
      .max(1024)
      .superRefine((text, ctx) => {
        try {
          parseSelector(text);
        } catch (err) {
          ctx.addIssue({ code: 'custom', input: text, message: `must be a valid selector: ${netReason(err)}` });
          return;
        }
        if (!opts.allowGlobal && text.includes('global(')) {
          ctx.addIssue({ code: 'custom', input: text, message: 'global() is not valid in this selector' });
        }
      }),
    description,
    {
      ...(rules.length > 0 ? { 'x-kubernetes-validations': rules } : {}),
      'x-tabby-calico':
        'Calico selector syntax (validator `selector`); at most 1024 characters' +
        (opts.allowGlobal ? '' : '; no global() (CRD CEL)'),
      'x-tabby-webhook': 'selector syntax (Calico selector parser)',
    },
  );
}

/**
 * A Go regular expression (Calico's validator `regexp`: `regexp.Compile` must accept it), checked with Go's
 * grammar (src/net/go-regexp.ts), not JavaScript's. At most 1024 characters, so Go's program-size limits, which
 * the check does not model, cannot be reached.
 */
export function regexpField(description: string) {
  return field(
    z
      .string()
      .max(1024)
      .superRefine((text, ctx) => {
        const problem = goRegexpError(text);
        if (problem !== undefined) {
          ctx.addIssue({ code: 'custom', input: text, message: `must be a Go regular expression: ${problem}` });
        }
      }),
    description,
    {
      'x-tabby-calico': 'Go regular expression (validator `regexp`: regexp.Compile)',
      'x-tabby-webhook': 'Go regular-expression syntax',
      'x-tabby-differs': 'at most 1024 characters (Calico sets no length)',
    },
  );
}

/** DNS-1123 subdomain, as Calico's `name` validator (BGPPeer node and filters, community names). */
export function dnsNameField(description: string) {
  return field(
    z
      .string()
      .max(253, { error: 'must be at most 253 characters' })
      .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, {
        error:
          'must be a DNS-1123 subdomain: lower-case letters, digits, "-" and ".", starting and ending alphanumeric',
      }),
    description,
    { 'x-tabby-calico': 'DNS-1123 subdomain, at most 253 characters (validator `name`)' },
  );
}

/** Calico's `interface` validator: `*` or a Linux interface name (letters, digits, `_.-`, 1..15). */
export const INTERFACE_NAME = /^(\*|[a-zA-Z0-9_.-]{1,15})$/;
/** Calico's `ifaceFilter`: an interface name or an iptables wildcard (`docker+`), `:` allowed. */
export const IFACE_FILTER = /^[a-zA-Z0-9:._+-]{1,15}$/;
/** Calico's `ignoredInterface` and `bgpFilterInterface`: a name or glob (`*` wildcards). */
export const INTERFACE_GLOB = /^[a-zA-Z0-9_.*-]{1,15}$/;

/** Calico's `ignoredInterface`: a name or glob, but not `*` alone (that would ignore every interface). */
export function ignoredInterfaceField(name: string, description: string) {
  return field(
    z
      .string()
      .max(15, { error: 'must be at most 15 characters' })
      .regex(INTERFACE_GLOB, { error: 'must be an interface name or glob (letters, digits, _.*-; at most 15)' })
      .refine((s) => s !== '*', { error: 'must not be * (that would ignore every interface)' }),
    description,
    {
      'x-kubernetes-validations': [cel("self != '*'", `${name} must not be * (that would ignore every interface)`)],
      'x-tabby-calico': 'interface name or glob ^[a-zA-Z0-9_.*-]{1,15}$, not * alone (validator `ignoredInterface`)',
    },
  );
}

const COMMUNITY_STANDARD = '^[0-9]+:[0-9]+$';
const COMMUNITY_LARGE = '^[0-9]+:[0-9]+:[0-9]+$';

/**
 * CEL for Calico's community value ranges (`validateCommunityValue`): each part of `aa:nn` fits 16 bits, of
 * `aa:nn:mm` 32 bits. `ifShaped`: only when the text looks like a value (a prefix advertisement may name a
 * community instead). Parts longer than 18 digits would overflow CEL's int and are refused outright.
 */
export function communityRangeCel(name: string, ifShaped: boolean): CelRule {
  const inRange =
    `(self.matches('${COMMUNITY_STANDARD}') && self.split(':').all(p, size(p) <= 18 && int(p) <= 65535)) || ` +
    `(self.matches('${COMMUNITY_LARGE}') && self.split(':').all(p, size(p) <= 18 && int(p) <= 4294967295))`;
  const rule = ifShaped
    ? `!(self.matches('${COMMUNITY_STANDARD}') || self.matches('${COMMUNITY_LARGE}')) || ${inRange}`
    : inRange;
  return cel(rule, `${name} must be aa:nn (each part 0..65535) or aa:nn:mm (each part 0..4294967295)`);
}

export const AS_NUMBER_MAX = 4294967295;

/** An integer in min..max, refused outside with the range in the message (as the CRD's minimum/maximum say it). */
export function intIn(min: number, max: number) {
  const error = `must be ${min}..${max}`;
  return z.number().int().min(min, { error }).max(max, { error });
}

/** A BGP AS number, 1..4294967295 (Calico's numorstring.ASNumber is a uint32; 0 means unset and is omitted). */
export function asNumberField(name: string, description: string) {
  return field(
    z
      .number({ error: 'must be an AS number (integer 1..4294967295)' })
      .int({ error: 'must be an AS number (integer 1..4294967295)' })
      .min(1, { error: 'must be 1..4294967295' })
      .max(AS_NUMBER_MAX, { error: 'must be 1..4294967295' }),
    description,
    {
      'x-kubernetes-validations': [cel('self >= 1 && self <= 4294967295', `${name} must be 1..4294967295`)],
      'x-tabby-calico': 'numorstring.ASNumber, a uint32 (CRD integer, format int32)',
      'x-tabby-differs':
        '1..4294967295: 0 is refused (omit the field instead); AS numbers above 2147483647 (4-byte private ASNs) ' +
        "are accepted although the int32 format of Calico's CRD refuses them",
    },
  );
}

/**
 * A non-negative Go duration as `time.ParseDuration` reads it (`90s`, `1m30s`, `1.5h`, `.5s`, `0`): what a
 * metav1.Duration field accepts, without the sign.
 */
export const DURATION = /^\+?(0|(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+)$/;
/** Any Go duration, negative ones included. */
export const GO_DURATION = /^[-+]?(0|(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+)$/;

/**
 * A BGP time (metav1.Duration in Calico: any Go duration decodes). Negative times are refused: confd would write
 * them into BIRD's configuration, which BIRD refuses, taking every session of the node down.
 */
export function durationField(description: string) {
  return field(
    z.string().max(64).regex(DURATION, { error: 'must be a duration such as 90s, 1m30s or 2h' }),
    description,
    {
      'x-tabby-calico': 'metav1.Duration: a Go duration (decoding refuses anything else)',
      'x-tabby-differs': 'negative durations refused (BIRD refuses them)',
    },
  );
}

/** A Felix duration without a pattern in Calico's CRD: any Go duration, as metav1.Duration decodes it. */
export function goDurationField(description: string) {
  return field(
    z.string().max(64).regex(GO_DURATION, { error: 'must be a Go duration such as 90s, 1m30s or -1s' }),
    description,
    { 'x-tabby-calico': 'metav1.Duration: a Go duration' },
  );
}

/**
 * A Felix duration whose CRD carries Calico's pattern `^([0-9]+(\\.[0-9]+)?(ms|s|m|h))*$`. Its doubled backslash
 * makes the fraction branch need a literal backslash, so Calico's apiserver refuses `1.5s`, `0` and `us`/`ns`, and
 * metav1.Duration decoding refuses the empty string: what passes both is whole numbers with ms, s, m or h units.
 */
export function felixDurationField(description: string, opts: { fractions?: boolean } = {}) {
  const re = opts.fractions ? /^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$/ : /^([0-9]+(ms|s|m|h))+$/;
  return field(
    z
      .string()
      .max(64)
      .regex(re, {
        error: opts.fractions
          ? 'must be a duration such as 90s, 1m30s or 1.5s (units ms, s, m, h)'
          : 'must be a duration such as 90s or 1m30s (whole numbers; units ms, s, m, h)',
      }),
    description,
    {
      'x-tabby-calico': opts.fractions
        ? 'CRD pattern ^([0-9]+(\\.[0-9]+)?(ms|s|m|h))*$ and metav1.Duration decoding'
        : 'CRD pattern ^([0-9]+(\\\\.[0-9]+)?(ms|s|m|h))*$ (no fractions: the doubled backslash) and metav1.Duration decoding',
    },
  );
}

/** Parses a DURATION (or any Go duration) into seconds (fractions kept, sign applied). */
export function durationSeconds(text: string): number {
  if (/^[-+]?0$/.test(text)) return 0;
  const unit: Record<string, number> = { ns: 1e-9, us: 1e-6, µs: 1e-6, μs: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };
  let total = 0;
  for (const m of text.matchAll(/([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h)/g)) {
    total += Number(m[1]) * (unit[m[2] ?? 's'] ?? 1);
  }
  return text.startsWith('-') ? -total : total;
}

/** Kubernetes `SecretKeySelector` as Calico embeds it (`password.secretKeyRef`). */
export const SecretKeySelectorSchema = z.looseObject({
  name: field(z.string().max(253).optional(), 'Secret name (in the namespace the agent runs in).', {
    'x-tabby-calico': 'none (string; CRD default "")',
  }),
  key: field(z.string().min(1, { error: 'is required' }).max(253), 'Key within the Secret.', {
    'x-tabby-calico': 'required (CRD)',
  }),
  optional: field(z.boolean().optional(), 'Tolerate a missing Secret or key.'),
});

export const BGPPasswordSchema = z.looseObject({
  secretKeyRef: field(SecretKeySelectorSchema.optional(), 'Secret key holding the BGP password.'),
});

export const MAC = /^([0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}$/;

/** Convenience: a field with CEL rules and nothing else. */
export function withRules<T extends z.ZodType>(schema: T, description: string, rules: CelRule[], extra: Extra = {}) {
  return field(schema, description, { ...extra, 'x-kubernetes-validations': rules });
}
