// The agent's Kubernetes source against a real kube-apiserver: BGP passwords follow their Secrets. A Secret that
// does not exist when the plan names it is read as soon as it is created, a changed one is re-read and a deleted one
// is dropped — without an agent restart, as calico-node's secret watcher does (confd: one watch per referenced
// Secret, by name, in the node agent's namespace).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgentKubeSource, type AgentKubeSource } from '../../src/agent/kube-source.js';
import type { SyncInput } from '../../src/agent/agent-syncer.js';
import { buildNodeDesired } from '../../src/agent/test-support/desired-builder.js';
import { NodeDataplaneKind, TABBY_API_VERSION } from '../../src/api/index.js';
import { createKubeClient, type KubeClient } from '../../src/kube/index.js';
import { startControlPlane, type ControlPlane } from '../harness/index.js';
import { eventually, fileLogger, installCrds, logFile } from './operator-support.js';

const NS = 'kube-system';
const NODE = 'node-a';
const MESH_KEY = '/bgp-secrets/mesh'; // secretRefKey of a reference without a namespace
const PEER_KEY = 'other-ns/peer-secret/password';

const secret = (name: string, data: Record<string, string>, namespace = NS) => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name, namespace },
  data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
});

describe('agent source: BGP password Secrets are watched, not read once', () => {
  let cp: ControlPlane;
  let client: KubeClient;
  let source: AgentKubeSource;
  const snapshots: SyncInput[] = [];
  let consuming: Promise<void> | undefined;
  const log = logFile('agent-bgp-passwords');
  const passwordNow = (key: string) => snapshots.at(-1)?.passwords?.get(key);

  beforeAll(async () => {
    cp = await startControlPlane({ name: 'agent-bgp-passwords', controllerManager: false });
    await installCrds(cp);
    client = createKubeClient({ source: { kubeconfigPath: cp.kubeconfigPath }, fieldManager: 'test' });
    const ndp = client.kind(NodeDataplaneKind);
    await ndp.create({
      apiVersion: TABBY_API_VERSION,
      kind: 'NodeDataplane',
      metadata: { name: NODE },
      spec: { nodeName: NODE },
    });
    const desired = buildNodeDesired({
      bgp: {
        asNumber: 64512,
        routerID: '10.0.0.11',
        ipv4Address: '10.0.0.11/24',
        nodeToNodeMesh: true,
        meshPasswordSecretRef: { name: 'bgp-secrets', key: 'mesh' },
        peers: [
          {
            name: 'Global_10_0_0_99',
            peerIP: '10.0.0.99',
            asNumber: 64513,
            type: 'global',
            passwordSecretRef: { name: 'peer-secret', key: 'password', namespace: 'other-ns' },
          },
        ],
        exportPrefixes: [],
      },
    });
    await ndp.patchStatus(NODE, { desired });
    await cp.kubectl(['create', 'namespace', 'other-ns']);
    source = createAgentKubeSource({ client, nodeName: NODE, namespace: NS, logger: fileLogger(log) });
    source.start();
    consuming = (async () => {
      for await (const s of source.snapshots) snapshots.push(s);
    })();
  });

  afterAll(async () => {
    console.log(`log: ${log}`);
    await source?.stop();
    await consuming;
    client?.close();
    await cp?.stop();
  });

  it('a Secret that does not exist yet gives no password, and is read as soon as it is created', async () => {
    await eventually('the first snapshot', () => snapshots.length > 0);
    expect(snapshots[0]?.desired.bgp?.meshPasswordSecretRef).toEqual({ name: 'bgp-secrets', key: 'mesh' });
    expect(passwordNow(MESH_KEY)).toBeUndefined();
    await client.secrets().create(secret('bgp-secrets', { mesh: 'first-pw' }));
    await eventually('the mesh password in a snapshot', () => passwordNow(MESH_KEY) === 'first-pw', {
      timeoutMs: 60_000,
      describe: () => [...(snapshots.at(-1)?.passwords ?? [])],
    });
  });

  it('a Secret in the namespace a reference names is read too', async () => {
    expect(passwordNow(PEER_KEY)).toBeUndefined();
    await client.secrets().create(secret('peer-secret', { password: 'peer-pw' }, 'other-ns'));
    await eventually('the peer password in a snapshot', () => passwordNow(PEER_KEY) === 'peer-pw', {
      timeoutMs: 60_000,
    });
  });

  it('a changed password is re-read, and a deleted Secret takes its password away', async () => {
    await client
      .secrets()
      .mergePatch('bgp-secrets', { data: { mesh: Buffer.from('second-pw').toString('base64') } }, { namespace: NS });
    await eventually('the changed password', () => passwordNow(MESH_KEY) === 'second-pw', { timeoutMs: 60_000 });
    await client.secrets().delete('bgp-secrets', { namespace: NS });
    await eventually('the password gone', () => !snapshots.at(-1)?.passwords?.has(MESH_KEY), { timeoutMs: 60_000 });
    expect(passwordNow(PEER_KEY)).toBe('peer-pw');
  });
});
