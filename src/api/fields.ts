// Field types shared by the Calico kinds: CIDRs, IPs, selectors, AS numbers, durations, secret references.
// Each helper returns a zod schema whose client-side check (via src/net) and whose CRD-side CEL rule say the same
// thing, so `tabby` and `kubectl apply` refuse the same inputs. CEL rules are guarded (`!isCIDR(x) || ...`) so a
// malformed value produces one clear error, not a CEL evaluation failure. `name` is the field's own name, used in
// the messages because the apiserver's own prefix is not always the field (rules on a parent object).
import { z } from 'zod';
import { NetParseError, parseCidr, parseCidrLoose, parseIP, parseSelector, SelectorParseError } from '../net/index.js';
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

/** A plain IP address, optionally of one family. */
export function ipField(name: string, description: string, family?: 4 | 6) {
  const what = family === undefined ? 'an IP address' : `an IPv${family} address`;
  const rule = family === undefined ? 'isIP(self)' : `isIP(self) && ip(self).family() == ${family}`;
  return field(
    z
      .string()
      .max(45)
      .superRefine((text, ctx) => {
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
  try {
    const ip = parseIP(host);
    if (v6 && ip.family !== 6) return undefined;
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
    "ip(self.substring(1, self.lastIndexOf(']'))).family() == 6 && " +
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
 * A Calico selector (`all()`, `has(a) && b == "c"`, ...). It must parse; `global()` is refused where Calico refuses
 * it (IPPool and BGPPeer selectors). The CRD cannot parse selectors, so the server only checks `global(`; the
 * operator reports unparsable ones (see `checkSelectors` in cross-checks.ts).
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
    { 'x-kubernetes-validations': rules },
  );
}

export const AS_NUMBER_MAX = 4294967295;

/** A BGP AS number, 1..4294967295 (Calico's numorstring.ASNumber is a uint32; 0 means unset and is omitted). */
export function asNumberField(name: string, description: string) {
  return field(
    z
      .number({ error: 'must be an AS number (integer 1..4294967295)' })
      .int({ error: 'must be an AS number (integer 1..4294967295)' })
      .min(1, { error: 'must be 1..4294967295' })
      .max(AS_NUMBER_MAX, { error: 'must be 1..4294967295' }),
    description,
    { 'x-kubernetes-validations': [cel('self >= 1 && self <= 4294967295', `${name} must be 1..4294967295`)] },
  );
}

/** Go `time.Duration` text as metav1.Duration serialises it (`90s`, `1m30s`, `1.5h`, `0s`). */
export const DURATION = /^(0|([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+)$/;

export function durationField(description: string) {
  return field(
    z.string().max(64).regex(DURATION, { error: 'must be a duration such as 90s, 1m30s or 2h' }),
    description,
  );
}

/** Parses a DURATION into seconds (fractions kept). */
export function durationSeconds(text: string): number {
  if (text === '0') return 0;
  const unit: Record<string, number> = { ns: 1e-9, us: 1e-6, µs: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };
  let total = 0;
  for (const m of text.matchAll(/([0-9]+(?:\.[0-9]+)?)(ns|us|µs|ms|s|m|h)/g)) {
    total += Number(m[1]) * (unit[m[2] ?? 's'] ?? 1);
  }
  return total;
}

/** Kubernetes `SecretKeySelector` as Calico embeds it (`password.secretKeyRef`). */
export const SecretKeySelectorSchema = z.looseObject({
  name: field(z.string().max(253).optional(), 'Secret name (in the namespace the agent runs in).'),
  key: field(z.string().min(1, { error: 'is required' }).max(253), 'Key within the Secret.'),
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
