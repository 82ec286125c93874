// The Tabby image, built here from our Dockerfile (e2e/images/build-image.sh, no registry), started by
// testcontainers as `tabby operator` on an `--internal` Docker network with a kubeconfig whose server is the host's
// address on that network (where the harness apiserver listens): it creates the default pool from its
// CALICO_IPV4POOL_* environment and brings it to Ready/Allocatable, plans every Node — one created while it runs
// included — down to the routes its agent would program, serves /metrics, /healthz and /readyz on its container
// address, runs as a non-root user, and exits 0 on SIGTERM.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StartedTestContainer } from 'testcontainers';
import type { IPPool } from '../../src/api/index.js';
import { DEFAULT_CEILING_MS, startControlPlane, type ControlPlane } from '../harness/index.js';
import {
  REPO,
  buildImage,
  containerLogs,
  createInternalNetwork,
  eventually,
  formatBytes,
  httpGet,
  kubectlJson,
  kubectlOk,
  logProblems,
  nodeManifest,
  plannedRoutes,
  poolReady,
  startOperatorContainer,
  stopGracefully,
  type BuiltImage,
  type InternalNetwork,
} from './support.js';

const POOL = 'default-ipv4-ippool';
const POOL_ENV = {
  CALICO_IPV4POOL_NAME: POOL,
  CALICO_IPV4POOL_CIDR: '10.244.0.0/16',
  CALICO_IPV4POOL_BLOCK_SIZE: '26',
  CALICO_IPV4POOL_IPIP: 'Never',
  CALICO_IPV4POOL_VXLAN: 'Always',
  CALICO_IPV4POOL_NAT_OUTGOING: 'true',
};
const METRICS_PORT = 9091;
const VXLAN_ADDRESS = 'projectcalico.org/IPv4VXLANTunnelAddr';

describe('the Tabby image runs as `tabby operator` against the harness apiserver', () => {
  let image: BuiltImage;
  let network: InternalNetwork | undefined;
  let cp: ControlPlane | undefined;
  let operator: StartedTestContainer | undefined;
  let operatorIp: string;

  beforeAll(async () => {
    image = await buildImage();
    network = await createInternalNetwork('opimg');
    cp = await startControlPlane({ name: 'operator-image', bindAddress: '0.0.0.0', extraSans: [network.gateway] });
    await kubectlOk(cp, ['apply', '-f', `${REPO}/crds/`]);
    await kubectlOk(cp, ['wait', '--for=condition=Established', '--timeout=60s', '-f', `${REPO}/crds/`]);
    await kubectlOk(cp, ['create', '-f', '-'], { input: nodeManifest('node-a', '10.0.0.11/24') });
    operator = await startOperatorContainer({
      image: image.tag,
      network,
      name: `${network.name}-operator`,
      kubeconfig: await cp.inlineKubeconfig(`https://${network.gateway}:${cp.port}`),
      args: [`--metrics-port=${METRICS_PORT}`, '--log-level=info'],
      env: POOL_ENV,
    });
    operatorIp = operator.getIpAddress(network.name);
  });

  afterAll(async () => {
    console.log(
      `tabby image ${image?.tag}: ${image ? formatBytes(image.sizeBytes) : '?'}, build-image.sh took ${image?.seconds.toFixed(1)} s ` +
        `(cached layers; a no-op when the tag exists)`,
    );
    if (operator) await operator.stop({ timeout: 1_000 }).catch(() => undefined);
    await cp?.stop();
    await network?.remove();
  });

  it('creates the default pool from CALICO_IPV4POOL_* and reports it Ready and Allocatable', async () => {
    const pool = await poolReady(cp!, POOL);
    expect(pool.spec).toMatchObject({
      cidr: '10.244.0.0/16',
      blockSize: 26,
      ipipMode: 'Never',
      vxlanMode: 'Always',
      natOutgoing: true,
    });
    const table = await kubectlOk(cp!, ['get', 'ippools']);
    const [header, row] = table.trim().split('\n');
    const cells = Object.fromEntries(header!.split(/\s{2,}/).map((h, i) => [h, row!.split(/\s{2,}/)[i]]));
    expect(cells).toMatchObject({
      NAME: POOL,
      CIDR: '10.244.0.0/16',
      IPIP: 'Never',
      VXLAN: 'Always',
      ALLOCATABLE: 'True',
    });
  });

  it('plans a Node created while it runs: NodeDataplanes with blocks, VXLAN tunnels and routes to each other', async () => {
    await kubectlOk(cp!, ['create', '-f', '-'], { input: nodeManifest('node-b', '10.0.0.12/24') });
    const expected = async (): Promise<Record<string, string[]> | undefined> => {
      const nodes = await kubectlJson<{
        items: { metadata: { name: string; annotations?: Record<string, string> } }[];
      }>(cp!, ['get', 'nodes']);
      const vtep = Object.fromEntries(
        nodes.items.map((n) => [n.metadata.name, n.metadata.annotations?.[VXLAN_ADDRESS]]),
      );
      const blocks: Record<string, string> = {};
      for (const n of ['node-a', 'node-b']) {
        const p = await plannedRoutes(cp!, n);
        const own = p?.dataplane.status?.desired?.blocks ?? [];
        if (own.length !== 1 || !vtep[n]) return undefined;
        blocks[n] = own[0]!.cidr;
      }
      return {
        'node-a': [
          `blackhole ${blocks['node-a']}`,
          `${blocks['node-b']} via ${vtep['node-b']} dev vxlan.calico onlink`,
        ].sort(),
        'node-b': [
          `blackhole ${blocks['node-b']}`,
          `${blocks['node-a']} via ${vtep['node-a']} dev vxlan.calico onlink`,
        ].sort(),
      };
    };
    const planned = await eventually(
      'both nodes planned with routes to each other',
      async (why) => {
        const want = await expected();
        if (!want) return void why('blocks or VXLAN tunnel addresses not allocated yet');
        const got: Record<string, string[]> = {};
        for (const n of ['node-a', 'node-b']) got[n] = (await plannedRoutes(cp!, n))?.routes ?? [];
        if (JSON.stringify(got) !== JSON.stringify(want))
          return void why(`planned ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
        return got;
      },
      90_000,
    );
    for (const n of ['node-a', 'node-b']) {
      const p = (await plannedRoutes(cp!, n))!;
      const desired = p.dataplane.status!.desired!;
      expect(desired.blocks[0]!.cidr, n).toMatch(/^10\.244\.\d+\.\d+\/26$/);
      expect(desired.blocks[0]!.pool).toBe(POOL);
      expect(desired.tunnels.map((t) => t.name)).toEqual(['vxlan.calico']);
      expect(p.dataplane.status?.conditions?.find((c) => c.type === 'Planned')?.status).toBe('True');
      expect(planned[n]).toHaveLength(2);
    }
  });

  it('serves /metrics, /healthz and /readyz on its container address', async () => {
    const base = `http://${operatorIp}:${METRICS_PORT}`;
    const health = await httpGet(`${base}/healthz`);
    expect(health).toEqual({ status: 200, body: 'ok\n' });
    const ready = await httpGet(`${base}/readyz`);
    expect(ready).toEqual({ status: 200, body: 'ok\n' });
    const metrics = await eventually(
      'metrics reflect the plan',
      async (why) => {
        const m = await httpGet(`${base}/metrics`);
        if (m.status === 200 && /^tabby_plan_nodes 2$/m.test(m.body)) return m.body;
        why(
          `status ${m.status}; ${m.body
            .split('\n')
            .filter((l) => l.startsWith('tabby_plan_nodes'))
            .join(' ')}`,
        );
        return undefined;
      },
      DEFAULT_CEILING_MS,
    );
    expect(metrics).toMatch(new RegExp(`^tabby_ipam_pool_total_ips\\{pool="${POOL}"\\} 65536$`, 'm'));
    expect(metrics).toMatch(/^# TYPE tabby_plan_convergence_seconds histogram$/m);
    // Node's process metrics under the operator's prefix (today doubled: tabby_operator_process_process_...).
    expect(metrics).toMatch(/^tabby_operator_\w*resident_memory_bytes \d+$/m);
    expect((await httpGet(`${base}/nothing-here`)).status).toBe(404);
  });

  it("runs as the image's non-root user, with nothing at error level or forbidden in its log", async () => {
    const id = await operator!.exec(['id', '-u']);
    expect(id.output.trim()).toBe('65532');
    const version = await operator!.exec(['tabby', 'version']);
    expect(version.output).toMatch(/^tabby \d+\.\d+\.\d+.*\(node v20\./);
    const log = await containerLogs(operator!);
    expect(log).toContain('"msg":"created the default pool"');
    expect(logProblems(log)).toEqual([]);
  });

  it('stops on SIGTERM with exit code 0, leaving the pool it made', async () => {
    const c = operator!;
    operator = undefined;
    expect(await stopGracefully(c)).toBe(0);
    const pool = await kubectlJson<IPPool>(cp!, ['get', 'ippool', POOL]);
    expect(pool.spec.cidr).toBe('10.244.0.0/16');
  });
});
