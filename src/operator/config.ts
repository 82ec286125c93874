// The operator's configuration: command-line flags plus Calico's install-time environment variables for the default
// pool (CALICO_IPV4POOL_*, as calico/node reads them: calico: node/pkg/lifecycle/startup/startup.go), so a Calico
// user's manifest settings carry over, and the chart's bgp and mtu values (TABBY_BGP_*, TABBY_MTU; cluster-defaults.ts
// creates the objects they describe). Parsed once at start; a bad value stops start-up with the variable named.
import { z } from 'zod';
import { defaultPoolObject } from './cluster-defaults.js';

const bool = (name: string) =>
  z.string().transform((v, ctx) => {
    const t = v.trim().toLowerCase();
    if (['true', '1', 'yes'].includes(t)) return true;
    if (['false', '0', 'no', ''].includes(t)) return false;
    ctx.addIssue({ code: 'custom', message: `${name} must be true or false (got ${JSON.stringify(v)})` });
    return z.NEVER;
  });

const mode = (name: string) =>
  z.string().transform((v, ctx) => {
    const t = v.trim().toLowerCase();
    if (t === 'always') return 'Always' as const;
    if (t === 'crosssubnet' || t === 'cross-subnet') return 'CrossSubnet' as const;
    if (t === 'never' || t === 'off' || t === '') return 'Never' as const;
    ctx.addIssue({
      code: 'custom',
      message: `${name} must be Always, CrossSubnet or Never (got ${JSON.stringify(v)})`,
    });
    return z.NEVER;
  });

const int = (name: string, min: number, max: number) =>
  z.string().transform((v, ctx) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) {
      ctx.addIssue({ code: 'custom', message: `${name} must be an integer ${min}..${max} (got ${JSON.stringify(v)})` });
      return z.NEVER;
    }
    return n;
  });

export const DefaultPoolEnvSchema = z.object({
  CALICO_IPV4POOL_CREATE: bool('CALICO_IPV4POOL_CREATE').default(true),
  CALICO_IPV4POOL_NAME: z.string().min(1).default('default-ipv4-ippool'),
  CALICO_IPV4POOL_CIDR: z.string().min(1).default('192.168.0.0/16'),
  CALICO_IPV4POOL_BLOCK_SIZE: int('CALICO_IPV4POOL_BLOCK_SIZE', 20, 32).default(26),
  CALICO_IPV4POOL_IPIP: mode('CALICO_IPV4POOL_IPIP').default('Always'),
  CALICO_IPV4POOL_VXLAN: mode('CALICO_IPV4POOL_VXLAN').default('Never'),
  CALICO_IPV4POOL_NAT_OUTGOING: bool('CALICO_IPV4POOL_NAT_OUTGOING').default(true),
  CALICO_IPV4POOL_NODE_SELECTOR: z.string().default('all()'),
  TABBY_BGP_AS_NUMBER: int('TABBY_BGP_AS_NUMBER', 1, 4294967295).optional(),
  TABBY_BGP_NODE_TO_NODE_MESH: bool('TABBY_BGP_NODE_TO_NODE_MESH').optional(),
  TABBY_MTU: int('TABBY_MTU', 0, 65535).optional(),
});

export interface DefaultPoolConfig {
  create: boolean;
  name: string;
  cidr: string;
  blockSize: number;
  ipipMode: 'Always' | 'CrossSubnet' | 'Never';
  vxlanMode: 'Always' | 'CrossSubnet' | 'Never';
  natOutgoing: boolean;
  nodeSelector: string;
}

export interface OperatorSettings {
  defaultPool: DefaultPoolConfig;
  bgpASNumber?: number;
  bgpNodeToNodeMesh?: boolean;
  mtu?: number;
}

/** Reads the operator's environment; throws one Error listing every bad variable. */
export function settingsFromEnv(env: Readonly<Record<string, string | undefined>>): OperatorSettings {
  const picked: Record<string, string> = {};
  for (const key of Object.keys(DefaultPoolEnvSchema.shape)) {
    const v = env[key];
    if (v !== undefined) picked[key] = v;
  }
  const r = DefaultPoolEnvSchema.safeParse(picked);
  if (!r.success) {
    throw new Error(`operator configuration: ${r.error.issues.map((i) => i.message).join('; ')}`);
  }
  const e = r.data;
  if (e.CALICO_IPV4POOL_IPIP !== 'Never' && e.CALICO_IPV4POOL_VXLAN !== 'Never') {
    throw new Error('operator configuration: CALICO_IPV4POOL_IPIP and CALICO_IPV4POOL_VXLAN cannot both be enabled');
  }
  const pool: DefaultPoolConfig = {
    create: e.CALICO_IPV4POOL_CREATE,
    name: e.CALICO_IPV4POOL_NAME,
    cidr: e.CALICO_IPV4POOL_CIDR,
    blockSize: e.CALICO_IPV4POOL_BLOCK_SIZE,
    ipipMode: e.CALICO_IPV4POOL_IPIP,
    vxlanMode: e.CALICO_IPV4POOL_VXLAN,
    natOutgoing: e.CALICO_IPV4POOL_NAT_OUTGOING,
    nodeSelector: e.CALICO_IPV4POOL_NODE_SELECTOR,
  };
  // The pool is checked now, as the API will check it, so a bad CALICO_IPV4POOL_CIDR stops start-up naming the
  // variable instead of failing later, once per leadership term, naming spec.cidr.
  if (pool.create) {
    const checked = defaultPoolObject(pool);
    if ('problems' in checked) throw new Error(`operator configuration: ${checked.problems.join('; ')}`);
  }
  return {
    defaultPool: pool,
    ...(e.TABBY_BGP_AS_NUMBER !== undefined ? { bgpASNumber: e.TABBY_BGP_AS_NUMBER } : {}),
    ...(e.TABBY_BGP_NODE_TO_NODE_MESH !== undefined ? { bgpNodeToNodeMesh: e.TABBY_BGP_NODE_TO_NODE_MESH } : {}),
    ...(e.TABBY_MTU !== undefined ? { mtu: e.TABBY_MTU } : {}),
  };
}
