// Least privilege, proven against the real apiserver: the chart is installed (RBAC + the ValidatingAdmissionPolicy),
// two agent Pods are bound to nodes (spec.nodeName; no kubelet needed) and real tokens are minted for them with
// `kubectl create token tabby-agent --bound-object-kind Pod`, so the apiserver itself puts each Pod's node into
// the user's extra. Each agent may write only its own node's NodeDataplane status, annotate only its own Node (and
// set its NetworkUnavailable condition),
// change only IPAM blocks affine to its node and only its own node's pod handles (a handle records its node in an
// annotation), and create no pools, blocks or affinities — what calico-node's
// identity, which can write every IPAM object in the cluster, cannot be kept from doing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HANDLE_NODE_ANNOTATION } from '../../src/ipam/model.js';
import { createKubeClient } from '../../src/kube/index.js';
import { startControlPlane, type ControlPlane, type ExecResult } from '../harness/index.js';
import { CHART, helmOk, kubectlJson, kubectlOk, nodeManifest } from './support.js';

const NS = 'tabby-system';
const AGENT = `system:serviceaccount:${NS}:tabby-agent`;
const VAP = "ValidatingAdmissionPolicy 'tabby-agent-own-node' with binding 'tabby-agent-own-node' denied request";

// /30 blocks keep the objects small; the CRD checks only the CIDR.
const blockOf = (cidr: string, affinity?: string) => ({
  apiVersion: 'projectcalico.org/v3',
  kind: 'IPAMBlock',
  metadata: { name: cidr.replace(/[./]/g, '-') },
  spec: {
    cidr,
    ...(affinity ? { affinity } : {}),
    allocations: [null, null, null, null],
    unallocated: [0, 1, 2, 3],
    attributes: [],
    strictAffinity: false,
    deleted: false,
  },
});
const BLOCK_A = blockOf('10.9.0.0/30', 'host:node-a');
const BLOCK_B = blockOf('10.9.0.4/30', 'host:node-b');
const BLOCK_FREE = blockOf('10.9.0.8/30');

/** A Pod of the agent's ServiceAccount bound to `node`, as the DaemonSet would make it. */
const agentPod = (name: string, node: string) =>
  JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: NS },
    spec: {
      nodeName: node,
      serviceAccountName: 'tabby-agent',
      automountServiceAccountToken: false,
      containers: [{ name: 'agent', image: 'tabby:dev' }],
    },
  });

const appliedStatus = (node: string, revision: string) =>
  JSON.stringify({
    apiVersion: 'dataplane.tabby.dev/v1alpha1',
    kind: 'NodeDataplane',
    metadata: { name: node },
    status: { applied: { revision, viewRevisions: [], time: '2026-01-01T00:00:00Z' } },
  });

describe('agent identity: least privilege with RBAC + ValidatingAdmissionPolicy', () => {
  let cp: ControlPlane;
  /** kubeconfig paths by identity */
  const as: Record<'a' | 'b' | 'unbound' | 'operator', string> = { a: '', b: '', unbound: '', operator: '' };

  const run = (who: keyof typeof as, args: string[], input?: string): Promise<ExecResult> =>
    cp.kubectl(args, { kubeconfig: as[who], ...(input !== undefined ? { input } : {}) });

  const expectOk = (r: ExecResult): void => {
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  };
  const expectDenied = (r: ExecResult, ...messages: string[]): void => {
    expect(r.code, r.stdout).not.toBe(0);
    expect(r.stderr).toContain('(Forbidden)');
    for (const m of messages) expect(r.stderr).toContain(m);
  };
  const rbacDenied = (verb: string, resource: string) => `User "${AGENT}" cannot ${verb} resource "${resource}"`;

  beforeAll(async () => {
    cp = await startControlPlane({ name: 'agent-rbac' });
    // No kubelet runs the webhook's pods here and it fails closed for the Calico kinds: the pool writes this test
    // makes as the admin would fail at the webhook, not at the rules under test (webhook-admission.test.ts serves it).
    await helmOk(
      [
        'install',
        'tabby',
        CHART,
        '--namespace',
        NS,
        '--create-namespace',
        '--wait=false',
        '--set',
        'webhook.enabled=false',
      ],
      { kubeconfig: cp.kubeconfigPath },
    );
    for (const n of ['node-a', 'node-b']) {
      await kubectlOk(cp, ['create', '-f', '-'], {
        input: nodeManifest(n, n === 'node-a' ? '10.0.0.11/24' : '10.0.0.12/24'),
      });
      await kubectlOk(cp, ['create', '-f', '-'], {
        input: JSON.stringify({
          apiVersion: 'dataplane.tabby.dev/v1alpha1',
          kind: 'NodeDataplane',
          metadata: { name: n },
          spec: { nodeName: n },
        }),
      });
    }
    await kubectlOk(cp, ['create', '-f', '-'], { input: agentPod('tabby-agent-a', 'node-a') });
    await kubectlOk(cp, ['create', '-f', '-'], { input: agentPod('tabby-agent-b', 'node-b') });
    for (const b of [BLOCK_A, BLOCK_B, BLOCK_FREE])
      await kubectlOk(cp, ['create', '-f', '-'], { input: JSON.stringify(b) });
    const token = async (sa: string, pod?: string): Promise<string> =>
      (
        await kubectlOk(cp, [
          'create',
          'token',
          sa,
          '-n',
          NS,
          ...(pod ? ['--bound-object-kind', 'Pod', '--bound-object-name', pod] : []),
        ])
      ).trim();
    as.a = await cp.kubeconfigForToken('agent-a', await token('tabby-agent', 'tabby-agent-a'));
    as.b = await cp.kubeconfigForToken('agent-b', await token('tabby-agent', 'tabby-agent-b'));
    as.unbound = await cp.kubeconfigForToken('agent-unbound', await token('tabby-agent'));
    as.operator = await cp.kubeconfigForToken('operator', await token('tabby-operator'));
  });

  afterAll(async () => {
    await cp?.stop();
  });

  it("the apiserver binds each token to its Pod's node (authentication.kubernetes.io/node-name)", async () => {
    interface Review {
      status: { userInfo: { username: string; extra?: Record<string, string[]> } };
    }
    const a = await kubectlJson<Review>(cp, ['auth', 'whoami'], { kubeconfig: as.a });
    expect(a.status.userInfo.username).toBe(AGENT);
    expect(a.status.userInfo.extra?.['authentication.kubernetes.io/node-name']).toEqual(['node-a']);
    expect(a.status.userInfo.extra?.['authentication.kubernetes.io/pod-name']).toEqual(['tabby-agent-a']);
    const b = await kubectlJson<Review>(cp, ['auth', 'whoami'], { kubeconfig: as.b });
    expect(b.status.userInfo.extra?.['authentication.kubernetes.io/node-name']).toEqual(['node-b']);
    const unbound = await kubectlJson<Review>(cp, ['auth', 'whoami'], { kubeconfig: as.unbound });
    expect(unbound.status.userInfo.username).toBe(AGENT);
    expect(unbound.status.userInfo.extra?.['authentication.kubernetes.io/node-name']).toBeUndefined();
  });

  describe('NodeDataplane status', () => {
    it("node A's agent patching node B's status is denied, naming both nodes", async () => {
      const merge = await run('a', [
        'patch',
        'nodedataplane',
        'node-b',
        '--subresource=status',
        '--type=merge',
        '-p',
        '{"status":{"applied":{"revision":"sha256:evil","viewRevisions":[],"time":"2026-01-01T00:00:00Z"}}}',
      ]);
      expectDenied(merge, VAP, 'tabby-agent on node node-a may only write NodeDataplane node-a, not node-b');
      // Server-side apply on /status, forcing ownership, as the agent's status writer does it.
      const apply = await run(
        'a',
        [
          'apply',
          '--server-side',
          '--force-conflicts',
          '--subresource=status',
          '--field-manager=tabby-agent',
          '-f',
          '-',
        ],
        appliedStatus('node-b', 'sha256:evil'),
      );
      expectDenied(apply, 'tabby-agent on node node-a may only write NodeDataplane node-a, not node-b');
      const stored = await kubectlJson<{ status?: { applied?: unknown } }>(cp, ['get', 'nodedataplane', 'node-b']);
      expect(stored.status?.applied).toBeUndefined();
    });

    it('its own status succeeds, by merge patch and by server-side apply', async () => {
      expectOk(
        await run(
          'a',
          [
            'apply',
            '--server-side',
            '--force-conflicts',
            '--subresource=status',
            '--field-manager=tabby-agent',
            '-f',
            '-',
          ],
          appliedStatus('node-a', 'sha256:aaa'),
        ),
      );
      expectOk(
        await run(
          'b',
          [
            'apply',
            '--server-side',
            '--force-conflicts',
            '--subresource=status',
            '--field-manager=tabby-agent',
            '-f',
            '-',
          ],
          appliedStatus('node-b', 'sha256:bbb'),
        ),
      );
      const merge = await run('a', [
        'patch',
        'nodedataplane',
        'node-a',
        '--subresource=status',
        '--type=merge',
        '-p',
        '{"status":{"applied":{"revision":"sha256:aa2"}}}',
      ]);
      expectOk(merge);
      const a = await kubectlJson<{ status: { applied: { revision: string } } }>(cp, [
        'get',
        'nodedataplane',
        'node-a',
      ]);
      expect(a.status.applied.revision).toBe('sha256:aa2');
      const b = await kubectlJson<{ status: { applied: { revision: string } } }>(cp, [
        'get',
        'nodedataplane',
        'node-b',
      ]);
      expect(b.status.applied.revision).toBe('sha256:bbb');
    });

    it("node B's agent is held to node B the same way", async () => {
      expectDenied(
        await run('b', [
          'patch',
          'nodedataplane',
          'node-a',
          '--subresource=status',
          '--type=merge',
          '-p',
          '{"status":{"applied":{"revision":"sha256:evil"}}}',
        ]),
        'tabby-agent on node node-b may only write NodeDataplane node-b, not node-a',
      );
    });

    it('a token not bound to a Pod on a node can write no status at all', async () => {
      expectDenied(
        await run(
          'unbound',
          [
            'apply',
            '--server-side',
            '--force-conflicts',
            '--subresource=status',
            '--field-manager=tabby-agent',
            '-f',
            '-',
          ],
          appliedStatus('node-a', 'sha256:x'),
        ),
        VAP,
        'the token is not bound to a Pod on a node',
      );
    });

    it('the spec, creation and deletion are out of reach (RBAC)', async () => {
      expectDenied(
        await run('a', ['patch', 'nodedataplane', 'node-a', '--type=merge', '-p', '{"spec":{"nodeName":"node-a"}}']),
        rbacDenied('patch', 'nodedataplanes'),
      );
      expectDenied(await run('a', ['delete', 'nodedataplane', 'node-a']), rbacDenied('delete', 'nodedataplanes'));
      const rt = {
        apiVersion: 'dataplane.tabby.dev/v1alpha1',
        kind: 'RouteTable',
        metadata: { name: 'cluster-0' },
        spec: {},
      };
      expectDenied(await run('a', ['create', '-f', '-'], JSON.stringify(rt)), rbacDenied('create', 'routetables'));
    });

    it("reading is allowed: its NodeDataplane and the cluster's pools", async () => {
      expectOk(await run('a', ['get', 'nodedataplane', 'node-a', '-o', 'name']));
      expectOk(await run('a', ['get', 'ippools', '-o', 'name']));
      expectOk(await run('a', ['get', 'routetables', '-o', 'name']));
    });
  });

  describe('Nodes', () => {
    it('annotates its own Node', async () => {
      expectOk(
        await run('a', ['annotate', '--overwrite', 'node', 'node-a', 'projectcalico.org/IPv4Address=10.0.0.21/24']),
      );
      const n = await kubectlJson<{ metadata: { annotations: Record<string, string> } }>(cp, ['get', 'node', 'node-a']);
      expect(n.metadata.annotations['projectcalico.org/IPv4Address']).toBe('10.0.0.21/24');
    });

    it("may not annotate another node's Node", async () => {
      expectDenied(
        await run('a', ['annotate', '--overwrite', 'node', 'node-b', 'projectcalico.org/IPv4Address=10.0.0.21/24']),
        VAP,
        'tabby-agent on node node-a may only annotate its own Node, not node-b',
      );
    });

    it('may not change labels, taints or spec even of its own Node', async () => {
      expectDenied(
        await run('a', ['label', 'node', 'node-a', 'node-role.kubernetes.io/control-plane=']),
        'may only change annotations of Node node-a, not its labels or spec',
      );
      expectDenied(
        await run('a', ['taint', 'node', 'node-a', 'x=y:NoSchedule']),
        'may only change annotations of Node node-a, not its labels or spec',
      );
      expectDenied(await run('a', ['delete', 'node', 'node-a']), rbacDenied('delete', 'nodes'));
    });

    // As the agent does once its node is programmed (calico-node's CalicoIsUp): server-side apply of one condition.
    const networkCondition = (node: string, type = 'NetworkUnavailable', status = 'False', reason = 'TabbyIsUp') =>
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Node',
        metadata: { name: node },
        status: {
          conditions: [
            {
              type,
              status,
              reason,
              message: 'Tabby is running on this node',
              lastHeartbeatTime: '2026-01-01T00:00:00Z',
              lastTransitionTime: '2026-01-01T00:00:00Z',
            },
          ],
        },
      });
    const applyStatus = ['apply', '--server-side', '--force-conflicts', '--subresource=status'];
    const applyAsAgent = [...applyStatus, '--field-manager=tabby-agent', '-f', '-'];

    it("sets its own Node's NetworkUnavailable condition, leaving the other conditions as they were", async () => {
      await kubectlOk(cp, [...applyStatus, '--field-manager=kubelet', '-f', '-'], {
        input: networkCondition('node-a', 'Ready', 'True', 'KubeletReady'),
      });
      expectOk(await run('a', applyAsAgent, networkCondition('node-a')));
      const n = await kubectlJson<{ status: { conditions: { type: string; status: string; reason: string }[] } }>(cp, [
        'get',
        'node',
        'node-a',
      ]);
      expect(n.status.conditions.map((c) => [c.type, c.status, c.reason]).sort()).toEqual([
        ['NetworkUnavailable', 'False', 'TabbyIsUp'],
        ['Ready', 'True', 'KubeletReady'],
      ]);
    });

    it("may not set another node's conditions, nor any other condition of its own Node", async () => {
      expectDenied(
        await run('b', applyAsAgent, networkCondition('node-a')),
        VAP,
        'tabby-agent on node node-b may only annotate its own Node, not node-a',
      );
      expectDenied(
        await run('a', applyAsAgent, networkCondition('node-a', 'Ready')),
        VAP,
        'tabby-agent on node node-a may only set the NetworkUnavailable condition of Node node-a, not its other conditions',
      );
    });
  });

  describe('IPAM', () => {
    const claimFirst = JSON.stringify({
      spec: {
        allocations: [0, null, null, null],
        unallocated: [1, 2, 3],
        attributes: [
          { handle_id: 'k8s-pod-network.0123456789ab', secondary: { namespace: 'default', node: 'node-a', pod: 'p' } },
        ],
      },
    });

    it('cannot create, update or delete IPPools', async () => {
      const pool = JSON.stringify({
        apiVersion: 'projectcalico.org/v3',
        kind: 'IPPool',
        metadata: { name: 'agent-pool' },
        spec: { cidr: '10.77.0.0/16' },
      });
      expectDenied(await run('a', ['create', '-f', '-'], pool), rbacDenied('create', 'ippools'));
      await kubectlOk(cp, ['create', '-f', '-'], { input: pool });
      expectDenied(
        await run('a', ['patch', 'ippool', 'agent-pool', '--type=merge', '-p', '{"spec":{"disabled":true}}']),
        rbacDenied('patch', 'ippools'),
      );
      expectDenied(await run('a', ['delete', 'ippool', 'agent-pool']), rbacDenied('delete', 'ippools'));
    });

    it('assigns an address in a block affine to its own node', async () => {
      expectOk(await run('a', ['patch', 'ipamblock', BLOCK_A.metadata.name, '--type=merge', '-p', claimFirst]));
      const b = await kubectlJson<{ spec: { allocations: (number | null)[] } }>(cp, [
        'get',
        'ipamblock',
        BLOCK_A.metadata.name,
      ]);
      expect(b.spec.allocations).toEqual([0, null, null, null]);
    });

    it('cannot touch a block affine to another node, or one no node owns', async () => {
      expectDenied(
        await run('a', ['patch', 'ipamblock', BLOCK_B.metadata.name, '--type=merge', '-p', claimFirst]),
        VAP,
        `tabby-agent on node node-a may only change IPAM blocks affine to host:node-a, not IPAMBlock ${BLOCK_B.metadata.name} (affinity host:node-b)`,
      );
      expectDenied(
        await run('a', ['patch', 'ipamblock', BLOCK_FREE.metadata.name, '--type=merge', '-p', claimFirst]),
        `not IPAMBlock ${BLOCK_FREE.metadata.name} (no affinity)`,
      );
      const b = await kubectlJson<{ spec: { allocations: (number | null)[] } }>(cp, [
        'get',
        'ipamblock',
        BLOCK_B.metadata.name,
      ]);
      expect(b.spec.allocations).toEqual([null, null, null, null]);
    });

    it('cannot move its own block to another node, nor take one over', async () => {
      expectDenied(
        await run('a', [
          'patch',
          'ipamblock',
          BLOCK_A.metadata.name,
          '--type=merge',
          '-p',
          '{"spec":{"affinity":"host:node-b"}}',
        ]),
        'may only change IPAM blocks affine to host:node-a',
      );
      expectDenied(
        await run('a', [
          'patch',
          'ipamblock',
          BLOCK_B.metadata.name,
          '--type=merge',
          '-p',
          '{"spec":{"affinity":"host:node-a"}}',
        ]),
        'may only change IPAM blocks affine to host:node-a',
      );
    });

    it('cannot create or delete blocks, nor write affinities (the operator claims and releases)', async () => {
      expectDenied(
        await run('a', ['create', '-f', '-'], JSON.stringify(blockOf('10.9.0.12/30', 'host:node-a'))),
        rbacDenied('create', 'ipamblocks'),
      );
      expectDenied(await run('a', ['delete', 'ipamblock', BLOCK_A.metadata.name]), rbacDenied('delete', 'ipamblocks'));
      const affinity = JSON.stringify({
        apiVersion: 'projectcalico.org/v3',
        kind: 'BlockAffinity',
        metadata: { name: 'node-a-10-9-0-12-30' },
        spec: { node: 'node-a', cidr: '10.9.0.12/30', state: 'confirmed', deleted: 'false' },
      });
      expectDenied(await run('a', ['create', '-f', '-'], affinity), rbacDenied('create', 'blockaffinities'));
    });

    // A handle as the agent writes it: its node in the ipam.tabby.dev/node annotation (HANDLE_NODE_ANNOTATION).
    const handle = (id: string, node?: string) =>
      JSON.stringify({
        apiVersion: 'projectcalico.org/v3',
        kind: 'IPAMHandle',
        metadata: {
          name: id.toLowerCase(),
          ...(node === undefined ? {} : { annotations: { [HANDLE_NODE_ANNOTATION]: node } }),
        },
        spec: { handleID: id, block: { '10.9.0.0/30': 1 } },
      });
    const handleDenied = (id: string, node: string | undefined) =>
      `tabby-agent on node node-a may only manage IPAM handles of its node (${HANDLE_NODE_ANNOTATION}: node-a), ` +
      `not IPAMHandle ${id} (${node === undefined ? 'no node' : `node ${node}`})`;

    it('manages pod handles, and only pod handles', async () => {
      expectOk(await run('a', ['create', '-f', '-'], handle('k8s-pod-network.0123456789ab', 'node-a')));
      expectDenied(
        await run('a', ['create', '-f', '-'], handle('vxlan-tunnel-addr-node-b', 'node-a')),
        VAP,
        'may only manage pod handles (k8s-pod-network.*)',
      );
      expectOk(await run('a', ['delete', 'ipamhandle', 'k8s-pod-network.0123456789ab']));
    });

    it("cannot delete, change or create another node's pod handles, nor one without a node", async () => {
      // Node B's pod, written by node B's agent; and a handle as Calico's own tools write it (no node).
      expectOk(await run('b', ['create', '-f', '-'], handle('k8s-pod-network.bbbbbbbbbbbb', 'node-b')));
      await kubectlOk(cp, ['create', '-f', '-'], { input: handle('k8s-pod-network.cccccccccccc') });

      const del = await run('a', ['delete', 'ipamhandle', 'k8s-pod-network.bbbbbbbbbbbb']);
      expectDenied(del, VAP, handleDenied('k8s-pod-network.bbbbbbbbbbbb', 'node-b'));
      console.log(`agent of node-a deleting node-b's IPAMHandle:\n${del.stderr.trim()}`);
      expectDenied(
        await run('a', [
          'patch',
          'ipamhandle',
          'k8s-pod-network.bbbbbbbbbbbb',
          '--type=merge',
          '-p',
          JSON.stringify({ metadata: { annotations: { [HANDLE_NODE_ANNOTATION]: 'node-a' } } }),
        ]),
        handleDenied('k8s-pod-network.bbbbbbbbbbbb', 'node-b'),
      );
      expectDenied(
        await run('a', [
          'patch',
          'ipamhandle',
          'k8s-pod-network.bbbbbbbbbbbb',
          '--type=merge',
          '-p',
          '{"spec":{"block":{}}}',
        ]),
        handleDenied('k8s-pod-network.bbbbbbbbbbbb', 'node-b'),
      );
      expectDenied(
        await run('a', ['create', '-f', '-'], handle('k8s-pod-network.dddddddddddd', 'node-b')),
        handleDenied('k8s-pod-network.dddddddddddd', 'node-b'),
      );
      expectDenied(
        await run('a', ['create', '-f', '-'], handle('k8s-pod-network.dddddddddddd')),
        handleDenied('k8s-pod-network.dddddddddddd', undefined),
      );
      expectDenied(
        await run('a', ['delete', 'ipamhandle', 'k8s-pod-network.cccccccccccc']),
        handleDenied('k8s-pod-network.cccccccccccc', undefined),
      );
      // Its own handle cannot be handed to another node either.
      expectOk(await run('a', ['create', '-f', '-'], handle('k8s-pod-network.aaaaaaaaaaaa', 'node-a')));
      expectDenied(
        await run('a', [
          'patch',
          'ipamhandle',
          'k8s-pod-network.aaaaaaaaaaaa',
          '--type=merge',
          '-p',
          JSON.stringify({ metadata: { annotations: { [HANDLE_NODE_ANNOTATION]: 'node-b' } } }),
        ]),
        handleDenied('k8s-pod-network.aaaaaaaaaaaa', 'node-b'),
      );

      // Both stay as they were, and the Calico-written one is read like any other (by the agent too).
      const stored = await kubectlJson<{
        items: { metadata: { name: string; annotations?: Record<string, string> }; spec: unknown }[];
      }>(cp, ['get', 'ipamhandles'], { kubeconfig: as.a });
      const byName = new Map(stored.items.map((h) => [h.metadata.name, h]));
      expect(byName.get('k8s-pod-network.bbbbbbbbbbbb')?.metadata.annotations?.[HANDLE_NODE_ANNOTATION]).toBe('node-b');
      expect(byName.get('k8s-pod-network.bbbbbbbbbbbb')?.spec).toEqual({
        handleID: 'k8s-pod-network.bbbbbbbbbbbb',
        block: { '10.9.0.0/30': 1 },
      });
      expect(byName.get('k8s-pod-network.cccccccccccc')?.spec).toEqual({
        handleID: 'k8s-pod-network.cccccccccccc',
        block: { '10.9.0.0/30': 1 },
      });
      expect(byName.has('k8s-pod-network.dddddddddddd')).toBe(false);
      // The operator (GC) may write any handle: here it adopts the Calico-written one for node B.
      expectOk(
        await run('operator', [
          'annotate',
          'ipamhandle',
          'k8s-pod-network.cccccccccccc',
          `${HANDLE_NODE_ANNOTATION}=node-b`,
        ]),
      );
      expectOk(await run('b', ['delete', 'ipamhandle', 'k8s-pod-network.cccccccccccc']));
      expectOk(await run('b', ['delete', 'ipamhandle', 'k8s-pod-network.bbbbbbbbbbbb']));
      expectOk(await run('a', ['delete', 'ipamhandle', 'k8s-pod-network.aaaaaaaaaaaa']));
    });
  });

  it('records IPAM history: creates an Event about a pod and folds a repeat into its series, nothing more', async () => {
    const event = JSON.stringify({
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: { name: 'p.17d0000000000000', namespace: 'default' },
      eventTime: '2026-01-01T00:00:00.000000Z',
      reportingController: 'tabby.dev/agent',
      reportingInstance: 'node-a',
      action: 'Allocate',
      reason: 'AddressAssigned',
      type: 'Normal',
      note: 'assigned 10.9.0.0 (block 10.9.0.0/30) on node node-a, handle k8s-pod-network.0123456789ab',
      regarding: { apiVersion: 'v1', kind: 'Pod', namespace: 'default', name: 'p' },
    });
    expectOk(await run('a', ['create', '-f', '-'], event));
    // The series update as the recorder sends it: a merge patch with no read before it (kubectl patch would GET).
    const agent = createKubeClient({ source: { kubeconfigPath: as.a } });
    try {
      const patched = await agent
        .events()
        .mergePatch(
          'p.17d0000000000000',
          { series: { count: 2, lastObservedTime: '2026-01-01T00:00:30.000000Z' } },
          { namespace: 'default' },
        );
      expect(patched.series?.count).toBe(2);
    } finally {
      agent.close();
    }
    expectDenied(
      await run('a', ['delete', 'events.v1.events.k8s.io', 'p.17d0000000000000', '-n', 'default']),
      rbacDenied('delete', 'events'),
    );
    expectDenied(await run('a', ['get', 'events.v1.events.k8s.io', '-A']), rbacDenied('list', 'events'));
  });

  it('the policy holds the agent only: the operator still writes every node', async () => {
    expectOk(
      await run(
        'operator',
        [
          'apply',
          '--server-side',
          '--force-conflicts',
          '--subresource=status',
          '--field-manager=tabby-operator',
          '-f',
          '-',
        ],
        appliedStatus('node-b', 'sha256:op'),
      ),
    );
    expectOk(
      await run('operator', [
        'patch',
        'ipamblock',
        BLOCK_B.metadata.name,
        '--type=merge',
        '-p',
        '{"spec":{"strictAffinity":false}}',
      ]),
    );
    expectOk(
      await run('operator', [
        'annotate',
        '--overwrite',
        'node',
        'node-b',
        'projectcalico.org/IPv4VXLANTunnelAddr=10.9.0.5',
      ]),
    );
  });

  it('kubectl auth can-i agrees, for the bound agent', async () => {
    const can = async (args: string[]): Promise<string> => (await run('a', ['auth', 'can-i', ...args])).stdout.trim();
    expect(await can(['patch', 'nodedataplanes.dataplane.tabby.dev', '--subresource=status'])).toBe('yes');
    expect(await can(['create', 'ippools.projectcalico.org'])).toBe('no');
    expect(await can(['create', 'ipamblocks.projectcalico.org'])).toBe('no');
    expect(await can(['get', 'namespaces'])).toBe('yes');
    expect(await can(['list', 'namespaces'])).toBe('no');
    // BGP password Secrets: watched by name in the agent's own namespace, nothing else.
    expect(await can(['list', 'secrets', '-n', NS])).toBe('yes');
    expect(await can(['watch', 'secrets', '-n', NS])).toBe('yes');
    expect(await can(['get', 'secrets', '-n', NS])).toBe('no');
    expect(await can(['watch', 'secrets', '-n', 'default'])).toBe('no');
    expect(await can(['list', 'secrets', '--all-namespaces'])).toBe('no');
    // The list the agent's Secret watch starts with, with its token.
    expectOk(
      await run('a', ['get', 'secrets', '-n', NS, '--field-selector', 'metadata.name=bgp-secrets', '-o', 'name']),
    );
  });
});
