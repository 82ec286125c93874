// Parses the `prevResult` a runtime passes on chained ADD and on CHECK: another plugin's output, in any supported
// version's shape (0.3.x/0.4.0 ips carry `version`). Fields we understand are kept; unknown members are dropped on
// re-output, as libcni's typed conversion does too. Loaded lazily (zod) by the verbs that need it.
import { z } from 'zod';
import { formatPath, issuesFromZod } from '../api/errors.js';
import { CniCode, CniError } from './errors.js';
import { type CniResult, strip } from './result.js';

const PrevInterfaceSchema = z.looseObject({
  name: z.string(),
  mac: z.string().optional(),
  mtu: z.number().int().nonnegative().optional(),
  sandbox: z.string().optional(),
});
const PrevIPSchema = z.looseObject({
  version: z.enum(['4', '6']).optional(),
  address: z.string().min(1),
  gateway: z.string().optional(),
  interface: z.number().int().nonnegative().optional(),
});
const PrevRouteSchema = z.looseObject({ dst: z.string().min(1), gw: z.string().optional() });
const PrevDnsSchema = z.looseObject({
  nameservers: z.array(z.string()).optional(),
  domain: z.string().optional(),
  search: z.array(z.string()).optional(),
  options: z.array(z.string()).optional(),
});
const PrevResultSchema = z.looseObject({
  cniVersion: z.string().optional(),
  interfaces: z.array(PrevInterfaceSchema).optional(),
  ips: z.array(PrevIPSchema).optional(),
  routes: z.array(PrevRouteSchema).optional(),
  dns: PrevDnsSchema.optional(),
});

/** Parses `prevResult`; error 7 naming the field when it is not a result. */
export function parsePrevResult(raw: unknown): CniResult {
  const parsed = PrevResultSchema.safeParse(raw, { reportInput: true });
  if (!parsed.success) {
    const first = issuesFromZod(parsed.error, { kind: 'network config', name: '' })[0];
    const where = first === undefined ? '' : formatPath(['prevResult', ...first.path]);
    throw new CniError(CniCode.InvalidConfig, `invalid prevResult: ${where}: ${first?.message ?? 'not a CNI result'}`);
  }
  const p = parsed.data;
  const interfaces = (p.interfaces ?? []).map((i) =>
    strip({ name: i.name, mac: i.mac, mtu: i.mtu, sandbox: i.sandbox }),
  );
  const ips = (p.ips ?? []).map((ip) => strip({ address: ip.address, gateway: ip.gateway, interface: ip.interface }));
  for (const [n, ip] of ips.entries()) {
    if (ip.interface !== undefined && ip.interface >= interfaces.length) {
      throw new CniError(
        CniCode.InvalidConfig,
        `invalid prevResult: prevResult.ips[${n}].interface: ${ip.interface} is not an index into interfaces (${interfaces.length} listed)`,
      );
    }
  }
  return {
    interfaces,
    ips,
    routes: (p.routes ?? []).map((r) => strip({ dst: r.dst, gw: r.gw })),
    dns: strip({
      nameservers: p.dns?.nameservers,
      domain: p.dns?.domain,
      search: p.dns?.search,
      options: p.dns?.options,
    }),
  };
}
