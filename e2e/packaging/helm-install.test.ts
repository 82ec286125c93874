// `helm install` of charts/tabby into the real apiserver. There is no kubelet, so the chart's Deployment never runs
// pods; the operator runs instead from the built image (testcontainers) with exactly the Deployment's arguments and
// environment and the chart's own ServiceAccount token — so the chart's RBAC, leader-election Role included, is
// what it has. Then: release deployed, CRDs Established, the default pool from the values listed by `kubectl get
// ippools` with its CIDR and modes, Ready and Allocatable; `helm upgrade` with new values changes the Deployment and
// a restarted operator keeps the pool a user edited; `helm uninstall` keeps the CRDs and every pool.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StartedTestContainer } from 'testcontainers';
import type { IPPool } from '../../src/api/index.js';
import { startControlPlane, type ControlPlane } from '../harness/index.js';
import {
  CHART,
  buildImage,
  containerLogs,
  createInternalNetwork,
  eventually,
  helmOk,
  kubectlJson,
  kubectlOk,
  logProblems,
  nodeManifest,
  plannedRoutes,
  poolReady,
  setJson,
  startOperatorContainer,
  stopGracefully,
  tokenKubeconfig,
  type BuiltImage,
  type InternalNetwork,
} from './support.js';

const NS = 'tabby-system';
const RELEASE = 'tabby';
const POOL = 'default-ipv4-ippool';
const DEFAULT_POOL = {
  cidr: '10.250.0.0/16',
  blockSize: 26,
  ipipMode: 'CrossSubnet',
  vxlanMode: 'Never',
  natOutgoing: true,
};
const CRD_NAMES = readdirSync(join(CHART, 'crds'))
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => f.replace(/\.yaml$/, '').split('_'))
  .map(([group, plural]) => `${plural}.${group}`)
  .sort();

interface DeploymentJson {
  metadata: { generation: number };
  spec: {
    replicas: number;
    template: {
      spec: {
        containers: {
          image: string;
          args: string[];
          env: { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[];
          resources: unknown;
        }[];
      };
    };
  };
}
interface HelmStatus {
  version: number;
  info: { status: string; notes?: string };
}

describe('helm install into the real apiserver, with the operator from the built image', () => {
  let image: BuiltImage;
  let network: InternalNetwork | undefined;
  let cp: ControlPlane;
  let operator: StartedTestContainer | undefined;
  const kube = (): { kubeconfig: string } => ({ kubeconfig: cp.kubeconfigPath });

  /** Starts the image with the installed Deployment's arguments and environment, as the chart's ServiceAccount. */
  const startFromDeployment = async (podName: string): Promise<StartedTestContainer> => {
    const d = await kubectlJson<DeploymentJson>(cp, ['get', 'deployment', 'tabby-operator', '-n', NS]);
    const c = d.spec.template.spec.containers[0]!;
    expect(c.image).toBe(image.tag);
    expect(c.args[0]).toBe('operator');
    const env: Record<string, string> = {};
    for (const e of c.env) {
      if (e.value !== undefined) env[e.name] = e.value;
      else if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.name') env[e.name] = podName;
      else throw new Error(`Deployment env ${e.name}: cannot stand in for ${JSON.stringify(e.valueFrom)}`);
    }
    const token = (await kubectlOk(cp, ['create', 'token', 'tabby-operator', '-n', NS, '--duration=2h'])).trim();
    return startOperatorContainer({
      image: c.image,
      network: network!,
      name: `${network!.name}-${podName}`,
      kubeconfig: tokenKubeconfig(cp, `https://${network!.gateway}:${cp.port}`, token, 'tabby-operator'),
      args: c.args.slice(1),
      env,
    });
  };

  beforeAll(async () => {
    image = await buildImage();
    network = await createInternalNetwork('helm');
    cp = await startControlPlane({ name: 'helm-install', bindAddress: '0.0.0.0', extraSans: [network.gateway] });
  });

  afterAll(async () => {
    if (operator) {
      console.log(
        `operator log (last lines):\n${(await containerLogs(operator).catch(() => '')).split('\n').slice(-20).join('\n')}`,
      );
      await operator.stop({ timeout: 1_000 }).catch(() => undefined);
    }
    await cp?.stop();
    await network?.remove();
  });

  it('installs: release deployed, CRDs Established, the Deployment runs the given image', async () => {
    const [repository, tag] = image.tag.split(':');
    const out = await helmOk(
      [
        'install',
        RELEASE,
        CHART,
        '--namespace',
        NS,
        '--create-namespace',
        // No kubelet runs the webhook's pods here, and it fails closed for the Calico kinds: the operator could not
        // create its pool. e2e/integration/webhook-admission.test.ts installs the chart with it and serves it.
        ...setJson({
          defaultPool: DEFAULT_POOL,
          image: { repository, tag, pullPolicy: 'Never' },
          webhook: { enabled: false },
        }),
      ],
      kube(),
    );
    expect(out).toContain('STATUS: deployed');
    expect(out).toContain(`kubectl -n ${NS} rollout status deployment/tabby-operator`);
    const status = JSON.parse(await helmOk(['status', RELEASE, '-n', NS, '-o', 'json'], kube())) as HelmStatus;
    expect(status.info.status).toBe('deployed');
    expect(status.version).toBe(1);

    await kubectlOk(cp, ['wait', '--for=condition=Established', '--timeout=60s', ...CRD_NAMES.map((n) => `crd/${n}`)]);
    const crds = await kubectlJson<{
      items: { metadata: { name: string }; status: { conditions: { type: string; status: string }[] } }[];
    }>(cp, ['get', 'crds']);
    const established = crds.items
      .filter((c) => c.status.conditions.some((x) => x.type === 'Established' && x.status === 'True'))
      .map((c) => c.metadata.name)
      .sort();
    expect(established).toEqual(CRD_NAMES);

    const d = await kubectlJson<DeploymentJson>(cp, ['get', 'deployment', 'tabby-operator', '-n', NS]);
    expect(d.spec.replicas).toBe(2);
    expect(d.spec.template.spec.containers[0]!.image).toBe(image.tag);
    for (const kind of [
      'daemonset/tabby-agent',
      'poddisruptionbudget/tabby-operator',
      'service/tabby-operator-metrics',
    ]) {
      await kubectlOk(cp, ['get', kind, '-n', NS]);
    }
    await kubectlOk(cp, [
      'get',
      'validatingadmissionpolicy/tabby-agent-own-node',
      'validatingadmissionpolicybinding/tabby-agent-own-node',
    ]);
  });

  it("reconciles with the chart's RBAC: the default pool from the values is listed Ready and Allocatable, Nodes are planned", async () => {
    operator = await startFromDeployment('tabby-operator-1');
    for (const [n, ip] of [
      ['node-a', '10.0.0.11/24'],
      ['node-b', '10.0.0.12/24'],
    ] as const) {
      await kubectlOk(cp, ['create', '-f', '-'], { input: nodeManifest(n, ip) });
    }

    const pool = await poolReady(cp, POOL);
    expect(pool.spec).toMatchObject(DEFAULT_POOL);
    await kubectlOk(cp, ['wait', '--for=condition=Ready', '--timeout=30s', 'ippool', '--all']);
    const table = (await kubectlOk(cp, ['get', 'ippools'])).trim().split('\n');
    expect(table).toHaveLength(2);
    const header = table[0]!.split(/\s{2,}/);
    const row = Object.fromEntries(table[1]!.split(/\s{2,}/).map((v, i) => [header[i], v]));
    expect(row).toMatchObject({
      NAME: POOL,
      CIDR: '10.250.0.0/16',
      BLOCKSIZE: '26',
      IPIP: 'CrossSubnet',
      VXLAN: 'Never',
      NAT: 'true',
      ALLOCATABLE: 'True',
    });

    // IPIP CrossSubnet, both nodes in 10.0.0.0/24: each reaches the other's block directly.
    await eventually(
      'both nodes planned',
      async (why) => {
        const a = await plannedRoutes(cp, 'node-a');
        const b = await plannedRoutes(cp, 'node-b');
        const blockA = a?.dataplane.status?.desired?.blocks[0]?.cidr;
        const blockB = b?.dataplane.status?.desired?.blocks[0]?.cidr;
        if (!blockA || !blockB) return void why('blocks not claimed yet');
        const wantA = [`blackhole ${blockA}`, `${blockB} via 10.0.0.12`].sort();
        const wantB = [`blackhole ${blockB}`, `${blockA} via 10.0.0.11`].sort();
        if (JSON.stringify([a!.routes, b!.routes]) !== JSON.stringify([wantA, wantB])) {
          return void why(`planned ${JSON.stringify([a!.routes, b!.routes])}, want ${JSON.stringify([wantA, wantB])}`);
        }
        return true;
      },
      90_000,
    );

    // Leader election through the chart's Role: the Lease it may use, held by this pod name.
    const lease = await kubectlJson<{ spec: { holderIdentity?: string } }>(cp, [
      'get',
      'lease',
      'tabby-operator',
      '-n',
      NS,
    ]);
    expect(lease.spec.holderIdentity).toBe('tabby-operator-1');
    expect(logProblems(await containerLogs(operator))).toEqual([]);
  });

  it('helm upgrade with new values changes the Deployment; a restarted operator keeps the pool the user edited', async () => {
    const before = await kubectlJson<DeploymentJson>(cp, ['get', 'deployment', 'tabby-operator', '-n', NS]);
    // A user edits the default pool; from now on it is theirs.
    await kubectlOk(cp, ['patch', 'ippool', POOL, '--type=merge', '-p', '{"spec":{"natOutgoing":false}}']);

    const resources = { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '256Mi' } };
    await helmOk(
      [
        'upgrade',
        RELEASE,
        CHART,
        '--namespace',
        NS,
        '--reuse-values',
        '--set',
        'operator.replicas=3',
        '--set',
        'operator.logLevel=debug',
        '--set',
        'defaultPool.cidr=10.251.0.0/16',
        ...setJson({ 'operator.resources': resources }),
      ],
      kube(),
    );
    const status = JSON.parse(await helmOk(['status', RELEASE, '-n', NS, '-o', 'json'], kube())) as HelmStatus;
    expect(status).toMatchObject({ version: 2, info: { status: 'deployed' } });

    const after = await kubectlJson<DeploymentJson>(cp, ['get', 'deployment', 'tabby-operator', '-n', NS]);
    const c = after.spec.template.spec.containers[0]!;
    expect(after.metadata.generation).toBeGreaterThan(before.metadata.generation);
    expect(after.spec.replicas).toBe(3);
    expect(c.args).toContain('--log-level=debug');
    expect(c.resources).toEqual(resources);
    expect(c.env.find((e) => e.name === 'CALICO_IPV4POOL_CIDR')?.value).toBe('10.251.0.0/16');
    // --reuse-values kept the rest of the install's values.
    expect(c.image).toBe(image.tag);
    expect(c.env.find((e) => e.name === 'CALICO_IPV4POOL_IPIP')?.value).toBe('CrossSubnet');

    // The rolled-out operator (new arguments and environment) takes over the lease and leaves the pool alone.
    expect(await stopGracefully(operator!)).toBe(0);
    operator = await startFromDeployment('tabby-operator-2');
    await eventually(
      'the new operator holds the lease',
      async (why) => {
        const lease = await kubectlJson<{ spec: { holderIdentity?: string } }>(cp, [
          'get',
          'lease',
          'tabby-operator',
          '-n',
          NS,
        ]);
        if (lease.spec.holderIdentity === 'tabby-operator-2') return true;
        why(`holder ${lease.spec.holderIdentity}`);
        return undefined;
      },
      60_000,
    );
    const log = await eventually(
      'the new operator logs at debug level and has reconciled',
      async (why) => {
        const l = await containerLogs(operator!);
        if (l.includes('"level":"debug"') && l.includes('leading: starting controllers')) return l;
        why('no debug lines or not leading yet');
        return undefined;
      },
      60_000,
    );
    expect(log).not.toContain('created the default pool');
    const pools = await kubectlJson<{ items: IPPool[] }>(cp, ['get', 'ippools']);
    expect(pools.items.map((p) => [p.metadata.name, p.spec.cidr, p.spec.natOutgoing])).toEqual([
      [POOL, '10.250.0.0/16', false],
    ]);
    expect(logProblems(log)).toEqual([]);
  });

  it('helm uninstall removes the release and keeps the CRDs and every pool', async () => {
    await kubectlOk(cp, ['apply', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'projectcalico.org/v3',
        kind: 'IPPool',
        metadata: { name: 'user-pool' },
        spec: { cidr: '10.99.0.0/16', vxlanMode: 'Always', ipipMode: 'Never', natOutgoing: true },
      }),
    });
    expect(await stopGracefully(operator!)).toBe(0);
    operator = undefined;

    const out = await helmOk(['uninstall', RELEASE, '-n', NS], kube());
    expect(out).toContain(`release "${RELEASE}" uninstalled`);
    expect(JSON.parse(await helmOk(['list', '-n', NS, '-o', 'json'], kube()))).toEqual([]);
    for (const gone of [
      ['deployment', 'tabby-operator', '-n', NS],
      ['daemonset', 'tabby-agent', '-n', NS],
      ['clusterrole', 'tabby-operator'],
      ['clusterrole', 'tabby-agent'],
      ['validatingadmissionpolicy', 'tabby-agent-own-node'],
    ]) {
      const r = await cp.kubectl(['get', ...gone]);
      expect(r.stderr, gone.join(' ')).toContain('NotFound');
    }

    const crds = await kubectlJson<{ items: { metadata: { name: string } }[] }>(cp, ['get', 'crds']);
    expect(crds.items.map((c) => c.metadata.name).sort()).toEqual(CRD_NAMES);
    const pools = await kubectlJson<{ items: IPPool[] }>(cp, ['get', 'ippools']);
    expect(pools.items.map((p) => [p.metadata.name, p.spec.cidr]).sort()).toEqual([
      [POOL, '10.250.0.0/16'],
      ['user-pool', '10.99.0.0/16'],
    ]);
    expect(pools.items.find((p) => p.metadata.name === POOL)?.spec.natOutgoing).toBe(false);
  });
});
