// The default IPPool from the operator's configuration (Calico's CALICO_IPV4POOL_* settings). Like calico/node, it is
// created only when the cluster has no IPPool at all — so it is reconciled like any other pool afterwards and a
// user's edit is never overwritten (calico: node/pkg/lifecycle/startup/startup.go configureIPPools).
import { IPPoolKind, validateAs, type IPPool } from '../api/index.js';
import { AlreadyExistsError, type KubeClient } from '../kube/index.js';
import type { Logger } from '../log/logger.js';
import type { ClusterCaches } from './caches.js';
import type { DefaultPoolConfig } from './config.js';
import { OPERATOR_FIELD_MANAGER } from './plan-sync.js';

export function defaultPoolObject(cfg: DefaultPoolConfig): IPPool {
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
  if (!r.ok) {
    throw new Error(
      `default pool from CALICO_IPV4POOL_* is invalid: ${r.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  }
  return r.object as IPPool;
}

/** Creates the default pool if the cluster has none; returns whether it did. */
export async function ensureDefaultPool(
  client: KubeClient,
  caches: ClusterCaches,
  cfg: DefaultPoolConfig,
  log: Logger,
): Promise<boolean> {
  if (!cfg.create || caches.ippools.store.list().length > 0 || caches.ippools.store.invalidCount > 0) return false;
  const pools = client.kind(IPPoolKind);
  try {
    await pools.create(defaultPoolObject(cfg), { fieldManager: OPERATOR_FIELD_MANAGER });
    log.info({ kind: 'IPPool', name: cfg.name, cidr: cfg.cidr }, 'created the default pool');
    return true;
  } catch (err) {
    if (err instanceof AlreadyExistsError) return false;
    throw err;
  }
}
