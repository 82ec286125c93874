// Where the control-plane binaries come from: an explicit environment variable, else the cache that
// scripts/build-binaries.sh fills (~/.cache/tabby/bin/<name>-<version>/<name>), else PATH. The pinned versions
// live here and in the build script only.
import { accessSync, constants } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';

export const PINNED = {
  'kube-apiserver': 'v1.36.3',
  'kube-controller-manager': 'v1.36.3',
  kubectl: 'v1.36.3',
  etcd: 'v3.6.16',
  helm: 'v3.22.0',
  cnitool: 'v1.3.0',
  portmap: 'v1.7.1',
  // Kubelet nodes and the conformance suite (scripts/build-binaries.sh builds them the same way).
  'kube-scheduler': 'v1.36.3',
  kubelet: 'v1.36.3',
  'kube-proxy': 'v1.36.3',
  'e2e.test': 'v1.36.3',
  agnhost: 'v1.36.3',
  pause: '3.10.2',
  containerd: 'v2.3.7',
  'containerd-shim-runc-v2': 'v2.3.7',
  ctr: 'v2.3.7',
  runc: 'v1.5.3',
  loopback: 'v1.7.1',
  bandwidth: 'v1.7.1',
  coredns: 'v1.14.7',
  ginkgo: 'v2.28.1',
} as const;

export type BinaryName = keyof typeof PINNED;

/** Binaries one build puts into another's folder: containerd's module builds its shim and ctr with it. */
const FOLDER: Partial<Record<BinaryName, BinaryName>> = { 'containerd-shim-runc-v2': 'containerd', ctr: 'containerd' };

const envVar = (name: BinaryName): string => `TABBY_${name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;

export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.TABBY_CACHE ?? join(homedir(), '.cache', 'tabby');
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The path of a binary, or an error that says how to get it. PATH is consulted last and never for kubectl: a
 * machine's kubectl is often outside the supported version skew of the pinned apiserver.
 */
export function findBinary(name: BinaryName, env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env[envVar(name)];
  if (fromEnv) {
    if (!executable(fromEnv)) throw new Error(`${envVar(name)}=${fromEnv} is not an executable file`);
    return fromEnv;
  }
  const cached = join(cacheDir(env), 'bin', `${FOLDER[name] ?? name}-${PINNED[name]}`, name);
  if (executable(cached)) return cached;
  if (name !== 'kubectl') {
    for (const dir of (env.PATH ?? '').split(delimiter)) {
      const candidate = join(dir, name);
      if (dir && executable(candidate)) return candidate;
    }
  }
  throw new Error(
    `${name} ${PINNED[name]} not found: set ${envVar(name)}, or build it with 'scripts/build-binaries.sh ${name}' ` +
      `(writes ${cached})`,
  );
}
