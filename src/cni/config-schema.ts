// The network configuration's zod schema: the definition of what the plugin accepts on stdin, and the source of its
// error messages. Loaded only to explain a configuration that config.ts's fast check refused (the plugin process
// must not pay zod's start-up on every ADD); config.test.ts checks on generated inputs that the two agree.
// Keys and defaults: see config.ts.
import { z } from 'zod';
import { formatPath, issuesFromZod } from '../api/errors.js';
import { CniCode, CniError } from './errors.js';
import { LOG_LEVELS, NETWORK_NAME } from './config.js';

/** Calico writes these flags as strings ("true"); JSON booleans are accepted too. */
const FlagSchema = z
  .union([z.boolean(), z.enum(['true', 'false'])], { error: 'must be "true" or "false"' })
  .transform((v) => v === true || v === 'true');

const PoolListSchema = z.array(z.string().min(1, 'must not be empty').max(253)).max(64);

const IpamSchema = z.looseObject({
  type: z.string().optional(),
  assign_ipv4: FlagSchema.optional(),
  assign_ipv6: FlagSchema.optional(),
  ipv4_pools: PoolListSchema.optional(),
  ipv6_pools: PoolListSchema.optional(),
});

export const NetConfSchema = z.looseObject({
  cniVersion: z.string({ error: 'must be a string such as "1.0.0"' }),
  name: z
    .string()
    .regex(NETWORK_NAME, 'must start with a letter or digit and contain only letters, digits, "_", "." and "-"'),
  type: z.string().min(1),
  mtu: z.number().int().min(0).max(65535).optional(),
  nodename: z.string().min(1).max(253).optional(),
  ipam: IpamSchema.optional(),
  agent_socket: z.string().startsWith('/', 'must be an absolute path').optional(),
  agent_timeout_ms: z.number().int().min(100).max(600_000).optional(),
  log_level: z
    .string()
    .transform((s) => s.toLowerCase())
    .pipe(z.enum(LOG_LEVELS))
    .optional(),
  log_file_path: z.string().startsWith('/', 'must be an absolute path').optional(),
  prevResult: z.unknown().optional(),
  runtimeConfig: z.looseObject({}).optional(),
  args: z.looseObject({}).optional(),
});

/**
 * The error for a configuration the schema refuses: the first problem in `msg` (with the network's name and the
 * field path), the others in `details`. Undefined when the schema accepts it.
 */
export function explainNetConf(raw: unknown, label: string): CniError | undefined {
  const parsed = NetConfSchema.safeParse(raw, { reportInput: true });
  if (parsed.success) return undefined;
  const lines = issuesFromZod(parsed.error, { kind: 'network config', name: '' }).map((i) => {
    const where = formatPath(i.path);
    return where === '' ? i.message : `${where}: ${i.message}`;
  });
  return new CniError(CniCode.InvalidConfig, `${label}: ${lines[0] ?? 'invalid'}`, lines.slice(1).join('; '));
}
