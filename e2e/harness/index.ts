// The test harness: a real control plane (etcd + kube-apiserver + kube-controller-manager + kubectl) per test file.
// The implementation lives in src/devcluster so that `tabby dev-cluster` and `npm run demo` use the same code.
export {
  startControlPlane,
  freePort,
  runCommand,
  apiserverBinaryVersion,
  type ControlPlane,
  type ControlPlaneOptions,
  type ExecResult,
} from '../../src/devcluster/control-plane.js';
export { findBinary, PINNED, cacheDir, type BinaryName } from '../../src/devcluster/binaries.js';
export { liveProcesses, processExists } from '../../src/devcluster/processes.js';
export { DEFAULT_CEILING_MS, eventually } from './eventually.js';
