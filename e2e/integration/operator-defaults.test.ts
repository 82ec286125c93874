// The objects an install starts with (the chart's defaultPool, bgp and mtu values), against a real apiserver:
// - the default IPPool is created even when its first attempts fail (here an admission policy refuses IPPool creates
//   until the test removes it): the operator keeps retrying for the whole leadership term, not once;
// - the chart's bgp.asNumber / bgp.nodeToNodeMesh become the `default` BGPConfiguration and its mtu the tunnel MTUs of
//   the `default` FelixConfiguration — created only when absent, so a user's edit survives a restarted operator;
// - the default pool is an IPv4 one, made while no IPv4 pool exists whatever IPv6 pools there are, as calico/node's
//   configureIPPools decides per family (a dual-stack install may write its IPv6 pool first).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startControlPlane, type ControlPlane } from '../harness/index.js';
import { BGPConfigurationKind, FelixConfigurationKind, IPPoolKind } from '../../src/api/index.js';
import { createKubeClient, type KubeClient } from '../../src/kube/index.js';
import { settingsFromEnv } from '../../src/operator/config.js';
import { eventually, inProcessOperator, installCrds, logFile, metricValue } from './operator-support.js';

const POLICY = 'test-refuse-ippool-creates';
const ENV = {
  CALICO_IPV4POOL_CIDR: '10.77.0.0/16',
  CALICO_IPV4POOL_IPIP: 'Never',
  CALICO_IPV4POOL_VXLAN: 'Always',
  TABBY_BGP_AS_NUMBER: '65001',
  TABBY_BGP_NODE_TO_NODE_MESH: 'false',
  TABBY_MTU: '1400',
};

describe('cluster defaults from the operator configuration', () => {
  let cp: ControlPlane;
  let client: KubeClient;
  let op: ReturnType<typeof inProcessOperator> | undefined;
  const log = logFile('defaults');

  const apply = async (yaml: string) => {
    const r = await cp.kubectl(['apply', '-f', '-'], { input: yaml });
    if (r.code !== 0) throw new Error(r.stderr);
  };

  beforeAll(async () => {
    cp = await startControlPlane({ name: 'operator-defaults', controllerManager: false });
    await installCrds(cp);
    client = createKubeClient({ source: { kubeconfigPath: cp.kubeconfigPath } });
  });

  afterAll(async () => {
    console.log(`operator log: ${log}`);
    await op?.stop();
    client?.close();
    await cp?.stop();
  });

  it('creates the default pool once creates are allowed again, having failed before; BGP and Felix defaults at once', async () => {
    await apply(`
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: { name: ${POLICY} }
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
      - apiGroups: [projectcalico.org]
        apiVersions: ['*']
        operations: [CREATE]
        resources: [ippools]
  validations:
    - expression: 'false'
      message: refused by the test
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: { name: ${POLICY} }
spec:
  policyName: ${POLICY}
  validationActions: [Deny]
`);
    // The policy is in force once a create is refused by it (the apiserver loads policies asynchronously).
    const probe = {
      apiVersion: 'projectcalico.org/v3' as const,
      kind: 'IPPool' as const,
      metadata: { name: 'probe' },
      spec: { cidr: '10.99.0.0/24' },
    };
    await eventually('the policy refusing IPPool creates', async () => {
      try {
        await client.kind(IPPoolKind).create(probe);
        await client.kind(IPPoolKind).delete('probe');
        return undefined;
      } catch (err) {
        return String(err).includes('refused by the test') ? true : undefined;
      }
    });

    op = inProcessOperator(cp, log, { settings: settingsFromEnv(ENV) });
    await op.operator.start();
    // The BGP and Felix defaults are not held up by the pool's failures.
    const { value: bgp } = await eventually('the default BGPConfiguration', () =>
      client
        .kind(BGPConfigurationKind)
        .get('default')
        .catch(() => undefined),
    );
    expect(bgp.spec).toMatchObject({ asNumber: 65001, nodeToNodeMeshEnabled: false });
    const { value: felix } = await eventually('the default FelixConfiguration', () =>
      client
        .kind(FelixConfigurationKind)
        .get('default')
        .catch(() => undefined),
    );
    expect(felix.spec).toMatchObject({ vxlanMTU: 1400, vxlanMTUV6: 1400, ipipMTU: 1400 });
    // The pool's create was tried and refused (a failed reconcile of the defaults) ...
    await eventually('a refused default pool create', async () => {
      const m = await op!.operator.metrics.registry.metrics();
      return (metricValue(m, 'tabby_reconcile_total{controller="ippool",result="error"}') ?? 0) >= 2 ? true : undefined;
    });
    expect((await client.kind(IPPoolKind).list()).items).toEqual([]);

    // ... and once creates are allowed again, it is created without anything else happening.
    expect((await cp.kubectl(['delete', 'validatingadmissionpolicybinding', POLICY])).code).toBe(0);
    const { value: pool } = await eventually('the default pool', () =>
      client
        .kind(IPPoolKind)
        .get('default-ipv4-ippool')
        .catch(() => undefined),
    );
    expect(pool.spec).toMatchObject({
      cidr: '10.77.0.0/16',
      ipipMode: 'Never',
      vxlanMode: 'Always',
      natOutgoing: true,
    });
  });

  it("keeps a user's edit of a default object across an operator restart", async () => {
    await client.kind(BGPConfigurationKind).mergePatch('default', { spec: { asNumber: 65002 } });
    const edited = await client.kind(BGPConfigurationKind).get('default');
    await op!.stop();
    op = inProcessOperator(cp, log, { settings: settingsFromEnv(ENV) });
    await op.operator.start();
    await op.operator.settled();
    const after = await client.kind(BGPConfigurationKind).get('default');
    expect(after.metadata.resourceVersion).toBe(edited.metadata.resourceVersion);
    expect(after.spec.asNumber).toBe(65002);
  });

  it('creates the IPv4 default pool beside an IPv6 pool, and none beside an IPv4 pool', async () => {
    await op!.stop();
    op = undefined;
    await client.kind(IPPoolKind).delete('default-ipv4-ippool');
    await apply(`
apiVersion: projectcalico.org/v3
kind: IPPool
metadata: { name: user-ipv6 }
spec: { cidr: 'fd5f:77::/48' }
`);
    op = inProcessOperator(cp, log, { settings: settingsFromEnv(ENV) });
    await op.operator.start();
    const { value: pool } = await eventually('the default pool beside the IPv6 one', () =>
      client
        .kind(IPPoolKind)
        .get('default-ipv4-ippool')
        .catch(() => undefined),
    );
    expect(pool.spec.cidr).toBe('10.77.0.0/16');

    // An IPv4 pool of the user's own instead: the default is not made again.
    await op.stop();
    op = undefined;
    await client.kind(IPPoolKind).delete('default-ipv4-ippool');
    await apply(`
apiVersion: projectcalico.org/v3
kind: IPPool
metadata: { name: user-ipv4 }
spec: { cidr: '10.78.0.0/16' }
`);
    op = inProcessOperator(cp, log, { settings: settingsFromEnv(ENV) });
    await op.operator.start();
    await op.operator.settled();
    const names = (await client.kind(IPPoolKind).list()).items.map((p) => p.metadata.name).sort();
    expect(names).toEqual(['user-ipv4', 'user-ipv6']);
  });
});
