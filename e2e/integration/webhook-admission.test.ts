// The validating admission webhook end to end: charts/tabby installed by `helm install` into a real kube-apiserver,
// `tabby webhook` (the built dist) running as a process on this machine, and `kubectl` as a user types it.
// - The chart's TLS: its CA signs a serving certificate for the Service's names, the ValidatingWebhookConfiguration
//   trusts that CA, `helm upgrade` keeps all three (lookup), and `tabby webhook` serves with the Secret's files.
// - Failing closed for our kinds only: while the webhook is unreachable a pool cannot be written, a ConfigMap can.
// - The chart's configuration as it is, through its Service: the apiserver routes to the Service's endpoints (as the
//   kubelet tier's does: --enable-aggregator-routing), here this machine's address where `tabby webhook` serves
//   with the Secret's certificate, as a host-network pod would; it refuses a bad pool.
// - With the chart's ValidatingWebhookConfiguration pointed at the process by URL (a certificate made here for
//   127.0.0.1; no kubelet runs the chart's Deployment): `kubectl apply` of an object the CRD accepts and Calico's
//   validator refuses is refused naming the field — every such case of the shared matrix — and every one of Calico's
//   own validator vectors gets Calico's verdict from the apiserver (CRD and webhook together); a valid object is
//   accepted, an update that breaks it refused, a delete allowed.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VALIDATED_KIND_NAMES } from '../../src/api/kinds.js';
import { CALICO_CASES, type CalicoCase } from '../../src/api/testdata/calico-validator-cases.js';
import { INVALID } from '../../src/api/testdata/cases.js';
import { eventually, freePort, startControlPlane, type ControlPlane } from '../harness/index.js';
import { CHART, REPO, helmOk } from '../packaging/support.js';

const exec = promisify(execFile);
const TABBY_MAIN = join(REPO, 'dist/cli/main.js');
const NS = 'tabby-system';
const SERVICE_NAME = `tabby-webhook.${NS}.svc`;
const VWC = 'tabby-calico-validation';

/** This machine's first non-loopback IPv4 address: a Service endpoint may not be a loopback one. */
function hostAddress(): string {
  const a = Object.values(networkInterfaces())
    .flat()
    .find((i) => i !== undefined && i.family === 'IPv4' && !i.internal);
  if (a === undefined) throw new Error('no non-loopback IPv4 address on this machine for the Service endpoint');
  return a.address;
}
const HOST = hostAddress();

let cp: ControlPlane;
let dir: string;
/** `tabby webhook` serving with the chart's Secret on this machine's address. */
let chartWebhook: WebhookProcess;
const children: ChildProcess[] = [];

/** Why dist/ cannot be used: missing, or older than the webhook's sources (its command, server, and src/api). */
function distProblem(): string | undefined {
  if (!existsSync(TABBY_MAIN)) return `${TABBY_MAIN} missing: run npm run build`;
  const sources = ['cli/webhook-command.ts', 'webhook/admission-server.ts'];
  for (const f of readdirSync(join(REPO, 'src/api'))) {
    if (f.endsWith('.ts') && !f.endsWith('.test.ts')) sources.push(`api/${f}`);
  }
  for (const src of sources) {
    const built = join(REPO, 'dist', src.replace(/\.ts$/, '.js'));
    if (!existsSync(built) || statSync(built).mtimeMs < statSync(join(REPO, 'src', src)).mtimeMs) {
      return `${built} is older than src/${src}: run npm run build`;
    }
  }
  return undefined;
}

async function kubectl(args: string[], input?: string) {
  return cp.kubectl(args, input === undefined ? {} : { input });
}
const apply = (obj: unknown) => kubectl(['apply', '-f', '-'], JSON.stringify(obj));
/** A create the apiserver judges in full (schema, CEL, admission webhooks) and does not store. */
const tryCreate = (obj: unknown) => kubectl(['create', '--dry-run=server', '-f', '-'], JSON.stringify(obj));
const squash = (s: string) => s.replace(/\s+/g, ' ').trim();

/** A CA and a serving certificate for 127.0.0.1 signed by it, made with openssl (as the harness makes its PKI). */
async function makeServingCert(into: string): Promise<{ ca: string; cert: string; key: string }> {
  const openssl = (args: string[]) => exec('openssl', args, { cwd: into });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  await openssl([
    'req',
    '-x509',
    ...ec,
    '-days',
    '1',
    '-subj',
    '/CN=webhook-test-ca',
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
  ]);
  await openssl(['req', ...ec, '-subj', '/CN=127.0.0.1', '-keyout', 'tls.key', '-out', 'tls.csr']);
  await writeFile(join(into, 'tls.ext'), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  await openssl([
    'x509',
    '-req',
    '-in',
    'tls.csr',
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-set_serial',
    `0x${randomBytes(16).toString('hex')}`,
    '-days',
    '1',
    '-extfile',
    'tls.ext',
    '-out',
    'tls.crt',
  ]);
  return { ca: join(into, 'ca.crt'), cert: join(into, 'tls.crt'), key: join(into, 'tls.key') };
}

/** GET over HTTPS, verifying the server's certificate against `ca` for `servername` (else for `host`). */
function httpsGet(host: string, port: number, path: string, ca: string, servername?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const sni = servername === undefined ? {} : { servername };
    const req = request({ host, port, path, ca, ...sni, timeout: 30_000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end();
  });
}

interface WebhookProcess {
  host: string;
  port: number;
  /** Names of the objects it refused so far (its "refused invalid object" log lines). */
  refused(): string[];
  /** Resolves once it has logged refusing `name`. */
  hasRefused(name: string): Promise<unknown>;
}

/** `node dist/cli/main.js webhook` on `host`, ready once /readyz answers 200 over TLS checked with `ca`. */
async function startWebhook(
  host: string,
  tls: { cert: string; key: string },
  ca: string,
  servername?: string,
): Promise<WebhookProcess> {
  const port = await freePort(host);
  const child = spawn(
    process.execPath,
    [
      TABBY_MAIN,
      'webhook',
      `--tls-cert-file=${tls.cert}`,
      `--tls-private-key-file=${tls.key}`,
      `--port=${port}`,
      `--bind-address=${host}`,
      '--log-level=debug',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.push(child);
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const caPem = await readFile(ca, 'utf8');
  await eventually('tabby webhook ready', async () => {
    if (child.exitCode !== null) throw new Error(`tabby webhook exited ${child.exitCode}:\n${output}`);
    return (await httpsGet(host, port, '/readyz', caPem, servername)) === 200 ? true : undefined;
  }).catch((err: unknown) => {
    throw new Error(`${String(err)}\n${output}`);
  });
  const refused = () =>
    output
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { msg?: string; name?: string })
      .filter((l) => l.msg === 'refused invalid object')
      .map((l) => l.name ?? '');
  // Its log lines are written asynchronously: one may arrive after kubectl has the answer.
  const hasRefused = (name: string) =>
    eventually(`tabby webhook logs refusing ${name}`, async () => (refused().includes(name) ? true : undefined));
  return { host, port, refused, hasRefused };
}

interface TlsSecret {
  data: { 'ca.crt': string; 'tls.crt': string; 'tls.key': string };
}
interface WebhookConfiguration {
  webhooks: {
    name: string;
    failurePolicy: string;
    clientConfig: { caBundle: string; url?: string; service?: { name: string; namespace: string } };
    rules: { apiGroups: string[]; resources: string[]; operations: string[] }[];
  }[];
}
const getJson = async <T>(args: string[]): Promise<T> => {
  const r = await kubectl([...args, '-o', 'json']);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
};
const secret = () => getJson<TlsSecret>(['-n', NS, 'get', 'secret', 'tabby-webhook-tls']);
const webhookConfig = () => getJson<WebhookConfiguration>(['get', 'validatingwebhookconfiguration', VWC]);
const pem = (b64: string) => Buffer.from(b64, 'base64').toString('utf8');

beforeAll(async () => {
  const problem = distProblem();
  if (problem !== undefined) throw new Error(problem);
  dir = mkdtempSync(join(tmpdir(), 'tabby-webhook-test-'));
  // As the kubelet tier's control plane: it routes to Services' endpoints, which is how it reaches the chart's webhook.
  cp = await startControlPlane({ name: 'webhook', kubelets: { advertiseAddress: HOST } });
  // The chart as users install it (its CRDs included); no kubelet runs its pods.
  await helmOk(['install', 'tabby', CHART, '-n', NS, '--create-namespace', '--set', 'defaultPool.enabled=false'], {
    kubeconfig: cp.kubeconfigPath,
  });
  const established = await kubectl(['wait', '--for=condition=Established', '--timeout=120s', 'crd', '--all']);
  if (established.code !== 0) throw new Error(`CRDs not Established:\n${established.stderr}`);
});

afterAll(async () => {
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null) {
      const exited = new Promise((r) => c.once('exit', r));
      c.kill('SIGTERM');
      await exited;
    }
  }
  await cp?.stop();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

describe("the chart's webhook TLS", () => {
  it('the CA signs a serving certificate for the Service names; the configuration trusts that CA', async () => {
    const s = await secret();
    const ca = new X509Certificate(pem(s.data['ca.crt']));
    const cert = new X509Certificate(pem(s.data['tls.crt']));
    expect(ca.ca).toBe(true);
    expect(cert.verify(ca.publicKey)).toBe(true);
    for (const name of ['tabby-webhook', `tabby-webhook.${NS}`, SERVICE_NAME, `${SERVICE_NAME}.cluster.local`]) {
      expect(cert.checkHost(name), name).toBe(name);
    }
    expect(cert.checkHost('elsewhere.example')).toBeUndefined();
    const hook = (await webhookConfig()).webhooks[0]!;
    expect(hook.clientConfig.service).toMatchObject({ name: 'tabby-webhook', namespace: NS });
    expect(hook.clientConfig.caBundle).toBe(s.data['ca.crt']);
  });

  it('helm upgrade keeps the CA, the certificate, its key and the caBundle', async () => {
    const before = await secret();
    await helmOk(['upgrade', 'tabby', CHART, '-n', NS, '--reuse-values', '--set', 'webhook.logLevel=debug'], {
      kubeconfig: cp.kubeconfigPath,
    });
    const after = await secret();
    expect(after.data).toEqual(before.data);
    expect((await webhookConfig()).webhooks[0]!.clientConfig.caBundle).toBe(before.data['ca.crt']);
    // The upgrade did render: the Deployment has the new value.
    const d = await getJson<{ spec: { template: { spec: { containers: { args: string[] }[] } } } }>([
      '-n',
      NS,
      'get',
      'deployment',
      'tabby-webhook',
    ]);
    expect(d.spec.template.spec.containers[0]!.args).toContain('--log-level=debug');
  });

  it('tabby webhook serves with the Secret: TLS checked against its CA for the Service name', async () => {
    const s = await secret();
    const files = { ca: join(dir, 'chart-ca.crt'), cert: join(dir, 'chart-tls.crt'), key: join(dir, 'chart-tls.key') };
    await writeFile(files.ca, pem(s.data['ca.crt']));
    await writeFile(files.cert, pem(s.data['tls.crt']));
    await writeFile(files.key, pem(s.data['tls.key']), { mode: 0o600 });
    chartWebhook = await startWebhook(HOST, files, files.ca, SERVICE_NAME);
    const ca = await readFile(files.ca, 'utf8');
    expect(await httpsGet(HOST, chartWebhook.port, '/healthz', ca, SERVICE_NAME)).toBe(200);
    await expect(httpsGet(HOST, chartWebhook.port, '/healthz', ca, 'elsewhere.example')).rejects.toThrow(
      /altnames|Hostname/i,
    );
  });
});

describe('failing closed for our kinds only', () => {
  // The chart's configuration points at its Service, which nothing serves here.
  it('a pool cannot be written while the webhook is unreachable', async () => {
    const pool = {
      apiVersion: 'projectcalico.org/v3',
      kind: 'IPPool',
      metadata: { name: 'while-down' },
      spec: { cidr: '10.50.0.0/16' },
    };
    // The apiserver learns of the configuration from its informer; until then nothing is sent (dry runs store nothing).
    await eventually('the apiserver calls the configured webhook', async () =>
      (await tryCreate(pool)).stderr.includes('failed calling webhook') ? true : undefined,
    );
    const r = await apply(pool);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('failed calling webhook "calico-v3.validation.tabby.dev"');
    expect((await kubectl(['get', 'ippools.projectcalico.org', 'while-down'])).code).not.toBe(0);
  });

  it('other kinds are not sent to it', async () => {
    const r = await kubectl(['-n', 'default', 'create', 'configmap', 'unaffected', '--from-literal=a=b']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });
});

describe("the chart's configuration, through its Service", () => {
  beforeAll(async () => {
    // What a host-network pod of the Deployment would be: an endpoint at a node address on the https port. The
    // selector goes, so the endpoint controllers leave the hand-made endpoints alone.
    const selectorless = [{ op: 'remove', path: '/spec/selector' }];
    const patched = await kubectl([
      '-n',
      NS,
      'patch',
      'service',
      'tabby-webhook',
      '--type=json',
      '-p',
      JSON.stringify(selectorless),
    ]);
    if (patched.code !== 0) throw new Error(`patching the Service: ${patched.stderr}`);
    const port = chartWebhook.port;
    const endpoints = [
      {
        apiVersion: 'v1',
        kind: 'Endpoints',
        metadata: { name: 'tabby-webhook', namespace: NS },
        subsets: [{ addresses: [{ ip: HOST }], ports: [{ name: 'https', port }] }],
      },
      {
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: {
          name: 'tabby-webhook-host',
          namespace: NS,
          labels: { 'kubernetes.io/service-name': 'tabby-webhook' },
        },
        addressType: 'IPv4',
        ports: [{ name: 'https', port, protocol: 'TCP' }],
        endpoints: [{ addresses: [HOST], conditions: { ready: true } }],
      },
    ];
    const made = await kubectl(
      ['apply', '-f', '-'],
      JSON.stringify({ apiVersion: 'v1', kind: 'List', items: endpoints }),
    );
    if (made.code !== 0) throw new Error(`endpoints: ${made.stderr}`);
  });

  it('refuses a pool whose nodeSelector does not parse, naming the field; takes a good one', async () => {
    const pool = (nodeSelector: string) => ({
      apiVersion: 'projectcalico.org/v3',
      kind: 'IPPool',
      metadata: { name: 'via-service' },
      spec: { cidr: '10.70.0.0/16', nodeSelector },
    });
    let last = '';
    await eventually(
      'the apiserver reaches the webhook through its Service',
      async () => {
        const r = await tryCreate(pool('rack =='));
        last = r.stderr;
        return chartWebhook.refused().includes('via-service') ? true : undefined;
      },
      { describe: () => `last answer: ${last}` },
    );
    const r = await apply(pool("rack == 'r1' &&"));
    expect(r.code).not.toBe(0);
    expect(squash(r.stderr)).toContain(
      'The IPPool "via-service" is invalid: spec.nodeSelector: must be a valid selector',
    );
    const good = await apply(pool("rack == 'r1'"));
    expect(good.stderr).toBe('');
    expect(good.stdout.trim()).toBe('ippool.projectcalico.org/via-service created');
    expect((await kubectl(['delete', 'ippools.projectcalico.org', 'via-service'])).code).toBe(0);
  });
});

describe('kubectl against the webhook', () => {
  let webhook: WebhookProcess;
  beforeAll(async () => {
    const tls = await makeServingCert(dir);
    webhook = await startWebhook('127.0.0.1', tls, tls.ca);
    const port = webhook.port;
    const caBundle = (await readFile(tls.ca)).toString('base64');
    // The chart's rules, failure policy and timeouts; only where the apiserver finds it changes.
    const patch = [
      {
        op: 'replace',
        path: '/webhooks/0/clientConfig',
        value: { url: `https://127.0.0.1:${port}/validate`, caBundle },
      },
    ];
    const r = await kubectl([
      'patch',
      'validatingwebhookconfiguration',
      VWC,
      '--type=json',
      '-p',
      JSON.stringify(patch),
    ]);
    if (r.code !== 0) throw new Error(`patching ${VWC}: ${r.stderr}`);
    // The apiserver picks the change up from its informer: wait until a refusal comes from the webhook.
    let last = '';
    await eventually(
      'the apiserver calls the webhook',
      async () => {
        const probe = await tryCreate({
          apiVersion: 'projectcalico.org/v3',
          kind: 'IPPool',
          metadata: { name: 'probe' },
          spec: { cidr: '10.51.0.0/16', nodeSelector: 'rack ==' },
        });
        last = probe.stderr;
        return webhook.refused().includes('probe') ? true : undefined;
      },
      { describe: () => `last answer: ${last}` },
    );
  });

  const badSelector = {
    apiVersion: 'projectcalico.org/v3',
    kind: 'IPPool',
    metadata: { name: 'rack-pool' },
    spec: { cidr: '10.60.0.0/16', nodeSelector: "rack == 'r1' &&" },
  };

  it('an IPPool whose nodeSelector does not parse: the CRD takes it, the webhook refuses it naming the field', async () => {
    const r = await apply(badSelector);
    expect(r.code).not.toBe(0);
    expect(squash(r.stderr)).toMatch(
      /^The IPPool "rack-pool" is invalid: spec.nodeSelector: must be a valid selector: .* \(got "rack == 'r1' &&"\)$/,
    );
    await webhook.hasRefused('rack-pool');
    expect((await kubectl(['get', 'ippools.projectcalico.org', 'rack-pool'])).code).not.toBe(0);
  });

  it('a FelixConfiguration with a pattern Go cannot compile is refused naming the field', async () => {
    const r = await apply({
      apiVersion: 'projectcalico.org/v3',
      kind: 'FelixConfiguration',
      metadata: { name: 'default' },
      spec: { mtuIfacePattern: '^(?!cali)eth.*' },
    });
    expect(r.code).not.toBe(0);
    expect(squash(r.stderr)).toContain('The FelixConfiguration "default" is invalid: spec.mtuIfacePattern: ');
    await webhook.hasRefused('default');
  });

  describe('every case of the matrix only the webhook can refuse, naming its field', () => {
    const validated = new Set<string>(VALIDATED_KIND_NAMES);
    const cases = INVALID.filter((c) => c.clientOnly !== undefined && validated.has(String(c.object.kind)));
    it('has cases of several kinds', () => {
      expect(new Set(cases.map((c) => c.object.kind)).size).toBeGreaterThanOrEqual(3);
      expect(cases.length).toBeGreaterThanOrEqual(8);
    });
    it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
      const r = await apply(c.object);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain(`${c.path}: `);
      await webhook.hasRefused((c.object.metadata as { name: string }).name);
    });
  });

  describe("Calico's validator vectors get Calico's verdict from the apiserver", () => {
    // Calico's apiserver: its Go validator's verdict, unless its CRD already refuses the object; where Tabby differs
    // on purpose (calico-validator-cases.ts says why), the opposite.
    const calicoApiserver = (c: CalicoCase): boolean => (c.crdRefuses !== undefined ? false : c.valid);
    const expected = (c: CalicoCase): boolean => (c.differs !== undefined ? !calicoApiserver(c) : calicoApiserver(c));
    it.each(CALICO_CASES.map((c, i) => [`${c.kind} #${i}: ${c.calico}`, c] as const))('%s', async (_l, c) => {
      const r = await tryCreate({
        apiVersion: 'projectcalico.org/v3',
        kind: c.kind,
        metadata: { name: c.name },
        spec: c.spec,
      });
      if (expected(c)) {
        expect(r.stderr).toBe('');
        expect(r.code).toBe(0);
      } else {
        expect(r.code, r.stdout).not.toBe(0);
        expect(r.stderr).toMatch(/\b(spec|metadata)[.[:]/);
      }
    });
  });

  it('a valid object is accepted; an update that breaks it is refused, the stored object unchanged', async () => {
    const pool = {
      apiVersion: 'projectcalico.org/v3',
      kind: 'IPPool',
      metadata: { name: 'rack-pool' },
      spec: { cidr: '10.60.0.0/16', nodeSelector: "rack == 'r1'" },
    };
    const created = await apply(pool);
    expect(created.stderr).toBe('');
    expect(created.stdout.trim()).toBe('ippool.projectcalico.org/rack-pool created');
    const r = await apply(badSelector);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('spec.nodeSelector:');
    const stored = await getJson<{ spec: { nodeSelector: string } }>(['get', 'ippools.projectcalico.org', 'rack-pool']);
    expect(stored.spec.nodeSelector).toBe("rack == 'r1'");
  });

  it('a delete is allowed', async () => {
    const r = await kubectl(['delete', 'ippools.projectcalico.org', 'rack-pool']);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('ippool.projectcalico.org "rack-pool" deleted');
  });
});
