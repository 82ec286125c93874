// Proof that the harness brings up a real control plane: the pinned release answers /version, CRDs are served,
// RBAC denies an unprivileged identity, kube-controller-manager's controllers act, and nothing outlives stop().
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import * as k8s from '@kubernetes/client-node';
import { PINNED, processExists, startControlPlane, type ControlPlane, eventually } from '../harness/index.js';

const crd = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.harness.tabby.dev
spec:
  group: harness.tabby.dev
  scope: Cluster
  names: { plural: widgets, singular: widget, kind: Widget }
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: { type: integer, minimum: 1 }
`;

describe('control plane harness', () => {
  let cp: ControlPlane;
  let pids: number[] = [];

  beforeAll(async () => {
    cp = await startControlPlane({ name: 'proof' });
    pids = cp.processes.map((p) => p.pid);
  });

  afterAll(async () => {
    await cp?.stop();
    // Nothing this suite started may still run: etcd, kube-apiserver, kube-controller-manager.
    expect(pids.filter(processExists)).toEqual([]);
  });

  it('serves the pinned Kubernetes release', async () => {
    const raw = await cp.kubectl(['get', '--raw', '/version']);
    expect(raw.code).toBe(0);
    expect(JSON.parse(raw.stdout).gitVersion).toBe(PINNED['kube-apiserver']);
    const client = await cp.kubectl(['version', '--client', '-o', 'json']);
    expect(JSON.parse(client.stdout).clientVersion.gitVersion).toBe(PINNED.kubectl);

    const kc = new k8s.KubeConfig();
    kc.loadFromFile(cp.kubeconfigPath);
    const info = await kc.makeApiClient(k8s.VersionApi).getCode();
    expect(info.gitVersion).toBe(PINNED['kube-apiserver']);
    expect(info.minor).toBe(PINNED['kube-apiserver'].split('.')[1]);
  });

  it('round-trips a custom resource: kubectl apply → client-node read → delete', async () => {
    const applied = await cp.kubectl(['apply', '-f', '-'], { input: crd });
    expect(applied.stderr).toBe('');
    expect(applied.stdout).toContain('customresourcedefinition.apiextensions.k8s.io/widgets.harness.tabby.dev created');
    const est = await cp.kubectl([
      'wait',
      '--for=condition=Established',
      '--timeout=30s',
      'crd/widgets.harness.tabby.dev',
    ]);
    expect(est.stdout).toContain('condition met');

    const created = await cp.kubectl(['create', '-f', '-'], {
      input: 'apiVersion: harness.tabby.dev/v1\nkind: Widget\nmetadata: { name: w1 }\nspec: { size: 3 }\n',
    });
    expect(created.code).toBe(0);
    expect(created.stdout.trim()).toBe('widget.harness.tabby.dev/w1 created');

    // The apiserver validates against the CRD's schema: a real server refuses size 0.
    const bad = await cp.kubectl(['create', '-f', '-'], {
      input: 'apiVersion: harness.tabby.dev/v1\nkind: Widget\nmetadata: { name: w2 }\nspec: { size: 0 }\n',
    });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/spec\.size: Invalid value: 0: spec\.size in body should be greater than or equal to 1/);

    const kc = new k8s.KubeConfig();
    kc.loadFromFile(cp.kubeconfigPath);
    const api = kc.makeApiClient(k8s.CustomObjectsApi);
    const obj = (await api.getClusterCustomObject({
      group: 'harness.tabby.dev',
      version: 'v1',
      plural: 'widgets',
      name: 'w1',
    })) as {
      spec: { size: number };
      metadata: { uid: string; resourceVersion: string };
    };
    expect(obj.spec.size).toBe(3);
    expect(obj.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(Number(obj.metadata.resourceVersion)).toBeGreaterThan(0);

    const del = await cp.kubectl(['delete', 'widget', 'w1']);
    expect(del.stdout.trim()).toBe('widget.harness.tabby.dev "w1" deleted');
    const gone = await cp.kubectl(['get', 'widget', 'w1']);
    expect(gone.code).not.toBe(0);
    expect(gone.stderr).toContain('NotFound');
  });

  it('authorizes with RBAC: an unprivileged identity is denied, a bound one allowed', async () => {
    expect((await cp.kubectl(['create', 'configmap', 'visible', '-n', 'default'])).code).toBe(0);
    const kubeconfig = await cp.kubeconfigForUser('jane', ['developers']);
    const who = await cp.kubectl(['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}'], { kubeconfig });
    expect(who.stdout).toBe('jane');
    const denied = await cp.kubectl(['get', 'configmaps', '-n', 'default'], { kubeconfig });
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toContain(
      'configmaps is forbidden: User "jane" cannot list resource "configmaps" in API group "" in the namespace "default"',
    );
    expect(
      (await cp.kubectl(['create', 'role', 'cm-reader', '--verb=list', '--resource=configmaps', '-n', 'default'])).code,
    ).toBe(0);
    expect(
      (
        await cp.kubectl([
          'create',
          'rolebinding',
          'jane-cm',
          '--role=cm-reader',
          '--group=developers',
          '-n',
          'default',
        ])
      ).code,
    ).toBe(0);
    const { value: allowed } = await eventually('jane may list configmaps', async () => {
      const r = await cp.kubectl(['get', 'configmaps', '-n', 'default', '-o', 'name'], { kubeconfig });
      return r.code === 0 ? r : undefined;
    });
    expect(allowed.stdout).toContain('configmap/visible');
  });

  it('runs kube-controller-manager: service accounts, tokens, namespace deletion and garbage collection', async () => {
    expect((await cp.kubectl(['create', 'namespace', 'gc-test'])).code).toBe(0);
    // serviceaccount controller: every namespace gets `default`.
    await eventually('default service account', async () =>
      (await cp.kubectl(['get', 'sa', 'default', '-n', 'gc-test'])).code === 0 ? true : undefined,
    );
    // A token for a service account authenticates as that account.
    expect((await cp.kubectl(['create', 'sa', 'robot', '-n', 'gc-test'])).code).toBe(0);
    const token = (await cp.kubectl(['create', 'token', 'robot', '-n', 'gc-test'])).stdout.trim();
    const asRobot = await cp.kubeconfigForToken('robot', token);
    const who = await cp.kubectl(['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}'], {
      kubeconfig: asRobot,
    });
    expect(who.stdout).toBe('system:serviceaccount:gc-test:robot');

    // garbagecollector: a dependent with an ownerReference goes when its owner goes.
    const owner = await cp.kubectl(['create', 'configmap', 'owner', '-n', 'gc-test', '-o', 'jsonpath={.metadata.uid}']);
    const dependent = `apiVersion: v1
kind: ConfigMap
metadata:
  name: dependent
  namespace: gc-test
  ownerReferences: [{ apiVersion: v1, kind: ConfigMap, name: owner, uid: "${owner.stdout}" }]
`;
    expect((await cp.kubectl(['create', '-f', '-'], { input: dependent })).code).toBe(0);
    expect((await cp.kubectl(['delete', 'configmap', 'owner', '-n', 'gc-test'])).code).toBe(0);
    await eventually('dependent collected', async () =>
      (await cp.kubectl(['get', 'configmap', 'dependent', '-n', 'gc-test'])).code !== 0 ? true : undefined,
    );

    // namespace controller: a deleted namespace is emptied and finalized.
    expect((await cp.kubectl(['delete', 'namespace', 'gc-test', '--wait=false'])).code).toBe(0);
    await eventually('namespace finalized', async () => {
      const r = await cp.kubectl(['get', 'namespace', 'gc-test']);
      return r.code !== 0 && r.stderr.includes('NotFound') ? true : undefined;
    });
  });

  it('restarts etcd and kube-apiserver after a SIGKILL, keeping the data; writes audit events; runs without watch cache', async () => {
    const audited = await startControlPlane({
      name: 'restarts',
      controllerManager: false,
      watchCache: false,
      auditPolicy: [
        'apiVersion: audit.k8s.io/v1',
        'kind: Policy',
        'omitStages: [RequestReceived]',
        'rules:',
        '- level: Metadata',
        '  resources: [{ group: "", resources: [configmaps] }]',
        '  verbs: [create]',
        '  namespaces: [default]',
        '- level: None',
      ].join('\n'),
    });
    try {
      expect((await audited.kubectl(['create', 'configmap', 'kept', '--from-literal=k=v'])).code).toBe(0);
      const before = audited.processes.map((p) => p.pid);
      await audited.restartEtcd('kill');
      await audited.restartApiserver('kill');
      const after = audited.processes.map((p) => p.pid);
      expect(before.filter(processExists)).toEqual([]);
      expect(after.every((pid) => !before.includes(pid))).toBe(true);
      // The apiserver waits for etcd to come back; the ConfigMap written before both crashes is there.
      const { value: kept } = await eventually('the ConfigMap after the restarts', async () => {
        const r = await audited.kubectl(['get', 'configmap', 'kept', '-o', 'jsonpath={.data.k}']);
        return r.code === 0 ? r.stdout : undefined;
      });
      expect(kept).toBe('v');
      const args = (await readFile(`/proc/${after[1]}/cmdline`, 'utf8')).split('\0');
      expect(args).toContain('--watch-cache=false');
      const events = (await readFile(audited.auditLogPath!, 'utf8'))
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { verb: string; objectRef: { resource: string; name: string } });
      expect(events.map((e) => `${e.verb} ${e.objectRef.resource}/${e.objectRef.name}`)).toEqual([
        'create configmaps/kept',
      ]);
    } finally {
      await audited.stop();
    }
  });

  it('runs several control planes side by side', async () => {
    const other = await startControlPlane({ name: 'second', controllerManager: false });
    try {
      expect(other.port).not.toBe(cp.port);
      expect(other.dir).not.toBe(cp.dir);
      expect((await other.kubectl(['create', 'namespace', 'only-in-second'])).code).toBe(0);
      expect((await cp.kubectl(['get', 'namespace', 'only-in-second'])).code).not.toBe(0);
    } finally {
      const otherPids = other.processes.map((p) => p.pid);
      await other.stop();
      expect(otherPids.filter(processExists)).toEqual([]);
    }
  });
});
