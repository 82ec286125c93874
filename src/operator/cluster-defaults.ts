// The objects an install starts with, from the operator's configuration (the chart's `defaultPool`, `bgp` and `mtu`
// values; Calico's CALICO_IPV4POOL_* variables): the default IPPool, the `default` BGPConfiguration (AS number,
// node-to-node mesh) and the `default` FelixConfiguration (tunnel MTUs). Like calico/node, each is created only while
// the cluster has none of its kind (for the pool: no IPv4 pool), so a user's own object — or their edit of ours — is
// never overwritten (calico: node/pkg/lifecycle/startup/startup.go configureIPPools, ensureDefaultConfig).
// A failed create throws: the operator's defaults controller retries it with backoff for the whole term.
import {
  BGPConfigurationKind,
  FelixConfigurationKind,
  IPPoolKind,
  validateAs,
  type BGPConfiguration,
  type FelixConfiguration,
  type IPPool,
} from '../api/index.js';
import { AlreadyExistsError, type KubeClient } from '../kube/index.js';
import { tryParseCidr } from '../net/index.js';
import type { Logger } from '../log/logger.js';
import type { ClusterCaches } from './caches.js';
import type { DefaultPoolConfig, OperatorSettings } from './config.js';
import { OPERATOR_FIELD_MANAGER } from './plan-sync.js';

/** The variable each field of the default pool comes from, to name it in errors. */
export const DEFAULT_POOL_VARIABLES: Record<string, string> = {
  'metadata.name': 'CALICO_IPV4POOL_NAME',
  'spec.cidr': 'CALICO_IPV4POOL_CIDR',
  'spec.blockSize': 'CALICO_IPV4POOL_BLOCK_SIZE',
  'spec.ipipMode': 'CALICO_IPV4POOL_IPIP',
  'spec.vxlanMode': 'CALICO_IPV4POOL_VXLAN',
  'spec.natOutgoing': 'CALICO_IPV4POOL_NAT_OUTGOING',
  'spec.nodeSelector': 'CALICO_IPV4POOL_NODE_SELECTOR',
};

/**
 * The default pool as the API reads it, or the problems with it, each naming the variable it came from (the pool's
 * own field in brackets), e.g. `CALICO_IPV4POOL_CIDR (spec.cidr): …`.
 */
export function defaultPoolObject(cfg: DefaultPoolConfig): { pool: IPPool } | { problems: string[] } {
  const obj = {
    apiVersion: 'projectcalico.org/v3',
    kind: 'IPPool',
    metadata: { name: cfg.name },
    spec: {
      cidr: cfg.cidr,
      blockSize: cfg.blockSize,
      ipipMode: cfg.ipipMode,
      vxlanMode: cfg.vxlanMode,
      natOutgoing: cfg.natOutgoing,
      nodeSelector: cfg.nodeSelector,
    },
  };
  const r = validateAs(IPPoolKind, obj);
  if (r.ok) return { pool: r.object as IPPool };
  return {
    problems: r.issues.map((i) => {
      const field = i.path.join('.');
      const variable = Object.entries(DEFAULT_POOL_VARIABLES).find(([f]) => field === f || field.startsWith(`${f}.`));
      return `${variable ? `${variable[1]} (${field})` : field}: ${i.message}`;
    }),
  };
}

async function createOnce(create: () => Promise<unknown>): Promise<boolean> {
  try {
    await create();
    return true;
  } catch (err) {
    if (err instanceof AlreadyExistsError) return false;
    throw err;
  }
}

/** Creates whichever default object the cluster lacks; returns what it created (kind/name). */
export async function ensureClusterDefaults(
  client: KubeClient,
  caches: Pick<ClusterCaches, 'ippools' | 'bgpConfigurations' | 'felixConfigurations'>,
  settings: OperatorSettings,
  log: Logger,
): Promise<string[]> {
  const created: string[] = [];
  const failures: string[] = [];
  /** Each object is tried whatever happened to the others; any failure fails the pass (and it is retried). */
  const attempt = async (what: string, fn: () => Promise<void>): Promise<void> => {
    try {
      await fn();
    } catch (err) {
      failures.push(`${what}: ${(err as Error).message}`);
    }
  };
  const opts = { fieldManager: OPERATOR_FIELD_MANAGER };
  const pool = settings.defaultPool;
  // As calico/node's configureIPPools, per family: the IPv4 default is made while no IPv4 pool exists, whatever IPv6
  // pools there are (a dual-stack install that applies its IPv6 pool first still gets it). A pool that fails the
  // schema may be an IPv4 one: none is made then.
  const noIPv4Pool =
    caches.ippools.store.invalidCount === 0 &&
    !caches.ippools.store.list().some((p) => tryParseCidr(p.spec.cidr)?.family === 4);
  if (pool.create && noIPv4Pool) {
    await attempt(`IPPool ${pool.name}`, async () => {
      const p = defaultPoolObject(pool);
      // settingsFromEnv refuses these at start-up; this stays for settings made in code.
      if ('problems' in p) throw new Error(p.problems.join('; '));
      if (await createOnce(() => client.kind(IPPoolKind).create(p.pool, opts))) {
        log.info({ kind: 'IPPool', name: pool.name, cidr: pool.cidr }, 'created the default pool');
        created.push(`IPPool/${pool.name}`);
      }
    });
  }
  const bgp: Partial<BGPConfiguration['spec']> = {
    ...(settings.bgpASNumber !== undefined ? { asNumber: settings.bgpASNumber } : {}),
    ...(settings.bgpNodeToNodeMesh !== undefined ? { nodeToNodeMeshEnabled: settings.bgpNodeToNodeMesh } : {}),
  };
  if (Object.keys(bgp).length > 0 && !caches.bgpConfigurations.store.has('default')) {
    const obj = {
      apiVersion: 'projectcalico.org/v3',
      kind: 'BGPConfiguration',
      metadata: { name: 'default' },
      spec: bgp,
    };
    await attempt('BGPConfiguration default', async () => {
      if (await createOnce(() => client.kind(BGPConfigurationKind).create(obj as BGPConfiguration, opts))) {
        log.info({ kind: 'BGPConfiguration', name: 'default', ...bgp }, 'created the default BGP configuration');
        created.push('BGPConfiguration/default');
      }
    });
  }
  // Calico's installation MTU sets every tunnel device's MTU; the pod MTU follows from the enabled ones (agent/mtu.ts).
  if (settings.mtu !== undefined && settings.mtu > 0 && !caches.felixConfigurations.store.has('default')) {
    const spec = { vxlanMTU: settings.mtu, vxlanMTUV6: settings.mtu, ipipMTU: settings.mtu };
    const obj = { apiVersion: 'projectcalico.org/v3', kind: 'FelixConfiguration', metadata: { name: 'default' }, spec };
    await attempt('FelixConfiguration default', async () => {
      if (await createOnce(() => client.kind(FelixConfigurationKind).create(obj as FelixConfiguration, opts))) {
        log.info(
          { kind: 'FelixConfiguration', name: 'default', mtu: settings.mtu },
          'created the default Felix configuration',
        );
        created.push('FelixConfiguration/default');
      }
    });
  }
  if (failures.length > 0) throw new Error(`default objects not created: ${failures.join('; ')}`);
  return created;
}
