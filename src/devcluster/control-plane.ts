// A real, throwaway Kubernetes control plane — etcd, kube-apiserver and kube-controller-manager built from the
// official Go modules — the way controller-runtime's envtest brings one up, plus kubectl bound to it. With
// `kubelets`, it is the control plane of a cluster with real kubelet nodes: kube-scheduler too, every controller,
// the Node authorizer and NodeRestriction, and the apiserver calling kubelets with a client certificate.
// Several can run at once: every one has its own free ports, temp directory, PKI and process groups.
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile, readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { request } from 'node:https';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { findBinary, PINNED } from './binaries.js';
import { createClientCert, createPki, type Pki } from './pki.js';
import { startManaged, type Managed } from './processes.js';

const execFileAsync = promisify(execFile);

export interface ControlPlaneOptions {
  /** A label for directories and logs. */
  name?: string;
  /** Address the apiserver listens on; 127.0.0.1 unless containers must reach it (then e.g. 0.0.0.0). */
  bindAddress?: string;
  /** Extra IP addresses for the serving certificate, e.g. the host's address on a Docker network. */
  extraSans?: string[];
  /** Start kube-controller-manager (garbage collector, namespaces, service accounts and their tokens). Default true. */
  controllerManager?: boolean;
  /** Progress lines for long steps; silent when absent. */
  progress?: (line: string) => void;
  /** Where the temp directory goes (default: the OS temp dir). */
  baseDir?: string;
  /** Keep the directory (logs, certs) after stop, for debugging. */
  keepDir?: boolean;
  /**
   * Serve kubelet nodes. The apiserver publishes itself as the `kubernetes` Service's endpoint at
   * `advertiseAddress` (an address the nodes reach; kube-proxy sends in-cluster clients there) and its serving
   * certificate also names the Service's ClusterIP.
   */
  kubelets?: { advertiseAddress: string };
  /** An audit policy (YAML): the apiserver writes the events it selects, as JSON lines, to `auditLogPath`. */
  auditPolicy?: string;
  /**
   * false: kube-apiserver runs without its watch cache, so every watch is served by etcd and one resuming from a
   * compacted revision is answered 410 Gone (as it is by a cache that no longer holds it). Default true.
   */
  watchCache?: boolean;
}

/** How a component is stopped before it starts again: SIGTERM with a grace period, or SIGKILL (a crash). */
export type StopMode = 'term' | 'kill';

/** Service ClusterIPs come from here; the first is the `kubernetes` Service's. */
export const SERVICE_CIDR = '10.96.0.0/16';
export const KUBERNETES_SERVICE_IP = '10.96.0.1';

/** An x509 identity: the certificate's CN is the user name, its O entries the groups. */
export interface Identity {
  user: string;
  groups?: string[];
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface ControlPlane {
  name: string;
  dir: string;
  /** https://127.0.0.1:<port> */
  server: string;
  port: number;
  kubeconfigPath: string;
  caCertPath: string;
  etcdEndpoint: string;
  /** Where the audit events go, when `auditPolicy` was given. */
  auditLogPath?: string;
  processes: Managed[];
  kubectl(args: string[], opts?: { input?: string; kubeconfig?: string; timeoutMs?: number }): Promise<ExecResult>;
  /** Writes a kubeconfig for an x509 identity (user in groups) and returns its path. */
  kubeconfigForUser(user: string, groups?: string[]): Promise<string>;
  /** Writes a kubeconfig that authenticates with a bearer token (e.g. a service-account token) and returns its path. */
  kubeconfigForToken(name: string, token: string): Promise<string>;
  /**
   * A self-contained kubeconfig (certificates inline) for the admin identity, or `identity` (a new client
   * certificate), pointing at `server` — e.g. the host's address on a Docker network, for processes inside
   * containers that cannot read this machine's files.
   */
  inlineKubeconfig(server: string, identity?: Identity): Promise<string>;
  /** Stops kube-apiserver alone (and starts it again, ready) to test reconnects; etcd keeps the data. */
  restartApiserver(mode?: StopMode): Promise<void>;
  /** Stops etcd alone and starts it again on the same data and ports (the apiserver reconnects by itself). */
  restartEtcd(mode?: StopMode): Promise<void>;
  stop(): Promise<void>;
}

export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number, proc?: Managed): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let died = false;
  void proc?.exited.then(() => (died = true));
  while (Date.now() < deadline) {
    if (died && proc) {
      const tail = (await readFile(proc.logFile, 'utf8').catch(() => '')).split('\n').slice(-15).join('\n');
      throw new Error(`${what}: ${proc.name} exited during start; last log lines:\n${tail}`);
    }
    if (await check().catch(() => false)) return;
    await sleep(100);
  }
  throw new Error(`${what}: not ready within ${timeoutMs} ms${proc ? ` (log: ${proc.logFile})` : ''}`);
}

function httpOk(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = httpRequest(url, { timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

async function httpsGet(
  url: string,
  tls: { ca: Buffer; cert: Buffer; key: Buffer },
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ...tls, timeout: 2000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end();
  });
}

function kubeconfigYaml(opts: {
  server: string;
  ca: string;
  user: string;
  cert?: string;
  key?: string;
  token?: string;
}): string {
  const userLines = opts.token
    ? `    token: ${opts.token}`
    : `    client-certificate: ${opts.cert}\n    client-key: ${opts.key}`;
  return `apiVersion: v1
kind: Config
clusters:
- name: tabby-dev
  cluster:
    server: ${opts.server}
    certificate-authority: ${opts.ca}
users:
- name: ${opts.user}
  user:
${userLines}
contexts:
- name: ${opts.user}@tabby-dev
  context:
    cluster: tabby-dev
    user: ${opts.user}
current-context: ${opts.user}@tabby-dev
`;
}

export function runCommand(
  command: string,
  args: string[],
  opts: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
    // A command may exit without reading its stdin: the EPIPE that follows is not the command's failure.
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}

export async function startControlPlane(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const name = options.name ?? 'tabby';
  const progress = options.progress ?? ((): void => undefined);
  const bins = {
    etcd: findBinary('etcd'),
    apiserver: findBinary('kube-apiserver'),
    kcm: options.controllerManager === false ? undefined : findBinary('kube-controller-manager'),
    scheduler: options.kubelets ? findBinary('kube-scheduler') : undefined,
    kubectl: findBinary('kubectl'),
  };
  const kubelets = options.kubelets;
  const dir = await mkdtemp(join(options.baseDir ?? tmpdir(), `tabby-cp-${name}-`));
  const processes: Managed[] = [];
  const stopAll = async (): Promise<void> => {
    for (const p of [...processes].reverse()) await p.stop();
    if (!options.keepDir) await rm(dir, { recursive: true, force: true });
  };
  try {
    const started = Date.now();
    const bindAddress = options.bindAddress ?? '127.0.0.1';
    const pki: Pki = await createPki(dir, {
      ips: ['127.0.0.1', ...(options.extraSans ?? []), ...(kubelets ? [KUBERNETES_SERVICE_IP] : [])],
      dns: ['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc'],
    });

    const [clientPort, peerPort, apiPort] = [
      await freePort(),
      await freePort(),
      await freePort(bindAddress === '0.0.0.0' ? '0.0.0.0' : bindAddress),
    ];
    const etcdEndpoint = `http://127.0.0.1:${clientPort}`;
    const startEtcd = async (): Promise<Managed> => {
      progress(`etcd ${PINNED.etcd}: starting on ${etcdEndpoint}`);
      const proc = startManaged(
        'etcd',
        bins.etcd,
        [
          '--name=default',
          `--data-dir=${join(dir, 'etcd')}`,
          `--listen-client-urls=${etcdEndpoint}`,
          `--advertise-client-urls=${etcdEndpoint}`,
          `--listen-peer-urls=http://127.0.0.1:${peerPort}`,
          `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
          `--initial-cluster=default=http://127.0.0.1:${peerPort}`,
          // Test data only: a lost write on power failure costs nothing here, and fsync dominates etcd latency.
          '--unsafe-no-fsync',
          '--log-level=warn',
        ],
        join(dir, 'etcd.log'),
      );
      processes.push(proc);
      await waitFor('etcd', () => httpOk(`${etcdEndpoint}/health`), 60_000, proc);
      return proc;
    };
    let etcd = await startEtcd();

    const admin = await createClientCert(pki, 'admin', 'tabby-admin', ['system:masters']);
    const kubeconfigPath = join(dir, 'admin.kubeconfig');
    const server = `https://127.0.0.1:${apiPort}`;
    await writeFile(kubeconfigPath, kubeconfigYaml({ server, ca: pki.caCert, user: 'tabby-admin', ...admin }));
    const tls = {
      ca: await readFile(pki.caCert),
      cert: await readFile(admin.cert),
      key: await readFile(admin.key),
    };

    // kubeadm's identity for the apiserver's calls to kubelets (exec, logs, port-forward).
    const kubeletClient = kubelets
      ? await createClientCert(pki, 'apiserver-kubelet-client', 'kube-apiserver-kubelet-client', ['system:masters'])
      : undefined;
    const apiserverArgs = [
      `--etcd-servers=${etcdEndpoint}`,
      `--bind-address=${bindAddress}`,
      `--secure-port=${apiPort}`,
      `--advertise-address=${kubelets?.advertiseAddress ?? '127.0.0.1'}`,
      `--tls-cert-file=${pki.serverCert}`,
      `--tls-private-key-file=${pki.serverKey}`,
      `--client-ca-file=${pki.caCert}`,
      `--service-account-key-file=${pki.saPub}`,
      `--service-account-signing-key-file=${pki.saKey}`,
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-cluster-ip-range=${SERVICE_CIDR}`,
      ...(kubeletClient
        ? [
            '--authorization-mode=Node,RBAC',
            '--enable-admission-plugins=NodeRestriction',
            `--kubelet-client-certificate=${kubeletClient.cert}`,
            `--kubelet-client-key=${kubeletClient.key}`,
            '--kubelet-preferred-address-types=InternalIP,Hostname',
            // This apiserver runs on the host, which has no kube-proxy: it reaches admission webhooks (Tabby's uses
            // the host network) at their Service's endpoints rather than its ClusterIP.
            '--enable-aggregator-routing=true',
          ]
        : [
            '--authorization-mode=RBAC',
            // The advertise address is loopback; the default reconciler would log an error for it every 10 s.
            '--endpoint-reconciler-type=none',
          ]),
      ...(options.watchCache === false ? ['--watch-cache=false'] : []),
      '--allow-privileged=true',
      `--cert-dir=${join(dir, 'apiserver-certs')}`,
      '--profiling=false',
      '--v=0',
    ];
    const auditLogPath = options.auditPolicy !== undefined ? join(dir, 'audit.log') : undefined;
    if (options.auditPolicy !== undefined) {
      const policy = join(dir, 'audit-policy.yaml');
      await writeFile(policy, options.auditPolicy);
      apiserverArgs.push(`--audit-policy-file=${policy}`, `--audit-log-path=${auditLogPath}`);
    }
    const startApiserver = async (): Promise<Managed> => {
      progress(`kube-apiserver ${PINNED['kube-apiserver']}: starting on ${server}`);
      const proc = startManaged('kube-apiserver', bins.apiserver, apiserverArgs, join(dir, 'kube-apiserver.log'));
      processes.push(proc);
      await waitFor(
        'kube-apiserver',
        async () => (await httpsGet(`${server}/readyz`, tls)).status === 200,
        90_000,
        proc,
      );
      return proc;
    };
    let apiserver = await startApiserver();

    if (bins.kcm) {
      progress(`kube-controller-manager ${PINNED['kube-controller-manager']}: starting`);
      const kcm = startManaged(
        'kube-controller-manager',
        bins.kcm,
        [
          `--kubeconfig=${kubeconfigPath}`,
          // Without kubelets only what API objects need; with them everything a cluster runs (Deployments,
          // EndpointSlices, node lifecycle, ...). Pod addresses are the CNI's: no node CIDRs are allocated.
          kubelets ? '--controllers=*' : '--controllers=garbagecollector,namespace,serviceaccount,serviceaccount-token',
          ...(kubelets
            ? [
                `--service-cluster-ip-range=${SERVICE_CIDR}`,
                `--cluster-signing-cert-file=${pki.caCert}`,
                `--cluster-signing-key-file=${pki.caKey}`,
              ]
            : []),
          `--service-account-private-key-file=${pki.saKey}`,
          `--root-ca-file=${pki.caCert}`,
          '--leader-elect=false',
          '--secure-port=0',
          '--v=0',
        ],
        join(dir, 'kube-controller-manager.log'),
      );
      processes.push(kcm);
    }
    if (bins.scheduler) {
      progress(`kube-scheduler ${PINNED['kube-scheduler']}: starting`);
      const cred = await createClientCert(pki, 'kube-scheduler', 'system:kube-scheduler', []);
      const path = join(dir, 'kube-scheduler.kubeconfig');
      await writeFile(path, kubeconfigYaml({ server, ca: pki.caCert, user: 'system:kube-scheduler', ...cred }));
      processes.push(
        startManaged(
          'kube-scheduler',
          bins.scheduler,
          [`--kubeconfig=${path}`, '--leader-elect=false', '--secure-port=0', '--v=0'],
          join(dir, 'kube-scheduler.log'),
        ),
      );
    }
    progress(
      `control plane '${name}' ready in ${((Date.now() - started) / 1000).toFixed(1)} s (kubeconfig ${kubeconfigPath})`,
    );

    const kubectl: ControlPlane['kubectl'] = (args, opts = {}) =>
      runCommand(bins.kubectl, [`--kubeconfig=${opts.kubeconfig ?? kubeconfigPath}`, ...args], {
        ...(opts.input !== undefined ? { input: opts.input } : {}),
        timeoutMs: opts.timeoutMs ?? 60_000,
      });

    /** Stops `proc` and starts its successor in its place (stop() ends the processes in reverse start order). */
    const restart = async (proc: Managed, mode: StopMode, start: () => Promise<Managed>): Promise<Managed> => {
      await (mode === 'kill' ? proc.kill() : proc.stop());
      const at = processes.indexOf(proc);
      processes.splice(at, 1);
      const next = await start();
      processes.splice(processes.indexOf(next), 1);
      processes.splice(at, 0, next);
      return next;
    };

    let userCount = 0;
    return {
      name,
      dir,
      server,
      port: apiPort,
      kubeconfigPath,
      caCertPath: pki.caCert,
      etcdEndpoint,
      ...(auditLogPath !== undefined ? { auditLogPath } : {}),
      processes,
      kubectl,
      async kubeconfigForUser(user, groups = []) {
        const file = `user-${++userCount}`;
        const cred = await createClientCert(pki, file, user, groups);
        const path = join(dir, `${file}.kubeconfig`);
        await writeFile(path, kubeconfigYaml({ server, ca: pki.caCert, user, ...cred }));
        return path;
      },
      async kubeconfigForToken(user, token) {
        const path = join(dir, `token-${++userCount}.kubeconfig`);
        await writeFile(path, kubeconfigYaml({ server, ca: pki.caCert, user, token }));
        return path;
      },
      async inlineKubeconfig(serverUrl, identity) {
        const b64 = async (f: string): Promise<string> => (await readFile(f)).toString('base64');
        const cred = identity
          ? await createClientCert(pki, `user-${++userCount}`, identity.user, identity.groups ?? [])
          : admin;
        const user = identity?.user ?? 'tabby-admin';
        return `apiVersion: v1
kind: Config
clusters:
- name: tabby-dev
  cluster:
    server: ${serverUrl}
    certificate-authority-data: ${await b64(pki.caCert)}
users:
- name: ${user}
  user:
    client-certificate-data: ${await b64(cred.cert)}
    client-key-data: ${await b64(cred.key)}
contexts:
- name: ${user}@tabby-dev
  context: { cluster: tabby-dev, user: ${JSON.stringify(user)} }
current-context: ${user}@tabby-dev
`;
      },
      async restartApiserver(mode = 'term') {
        apiserver = await restart(apiserver, mode, startApiserver);
      },
      async restartEtcd(mode = 'term') {
        etcd = await restart(etcd, mode, startEtcd);
      },
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/** `kube-apiserver --version` of the binary the harness would use. */
export async function apiserverBinaryVersion(): Promise<string> {
  const { stdout } = await execFileAsync(findBinary('kube-apiserver'), ['--version']);
  return stdout.trim();
}
