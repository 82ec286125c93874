// BIRD 2 driven by the agent on this machine: two node namespaces, one BIRD each with the config the agent renders
// (node-to-node mesh), sessions Established, blocks learned over BGP, nothing of the pools in the kernel from BIRD,
// reloads without session loss. Every rendered variant of the table tests is also checked by `bird -p`.
// Needs root and bird2 (scripts/setup.sh installs it); without them the suite fails (in beforeAll) rather than
// skipping. BIRDs started here are stopped by pid.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../harness/index.js';
import type { PlannedBgp, PlannedBgpPeer } from '../../src/api/node-dataplane.js';
import type { ViewNode } from '../../src/api/route-table.js';
import {
  type AgentSyncer,
  type BirdControl,
  type SyncInput,
  createAgentSyncer,
  createBirdControl,
  createLinuxDataplane,
  createProcessRunner,
  formatNodeStatus,
  renderBirdConfig,
  secretRefKey,
} from '../../src/agent/index.js';
import { buildNodeDesired, buildShard } from '../../src/agent/test-support/desired-builder.js';
import { type Lab, createLab } from '../../src/agent/linux/netns-lab.js';

const runner = createProcessRunner();
const missing =
  process.getuid?.() !== 0
    ? 'needs root (network namespaces, BIRD sockets)'
    : (await runner.run(['sh', '-c', 'command -v bird && command -v birdc'])).code !== 0
      ? 'bird and birdc (BIRD 2) not on PATH; run scripts/setup.sh'
      : undefined;

const POOL = '10.214.0.0/16';
const nodes = [
  { name: 'node-a', ip: '192.168.214.11', block: '10.214.1.0/26' },
  { name: 'node-b', ip: '192.168.214.12', block: '10.214.2.0/26' },
];
const viewNodes: ViewNode[] = nodes.map((n) => ({ name: n.name, ipv4: n.ip }));

function input(i: number, extraExports: string[] = []): SyncInput {
  const self = nodes[i]!;
  const bgp: PlannedBgp = {
    asNumber: 64512,
    routerID: self.ip,
    ipv4Address: `${self.ip}/24`,
    nodeToNodeMesh: true,
    peers: [],
    exportPrefixes: [
      { cidr: self.block, origin: 'block' },
      ...extraExports.map((cidr) => ({ cidr, origin: 'borrowed' as const })),
    ],
  };
  return {
    desired: buildNodeDesired({
      revision: `bgp-${extraExports.length}`,
      blocks: [{ cidr: self.block, pool: 'p' }],
      natOutgoing: { sourceCidrs: [], allPoolCidrs: [POOL] },
      bgp,
    }),
    shards: [
      buildShard(
        'cluster-0',
        nodes.map((n) => ({
          cidr: n.block,
          node: n.name,
          nodeIP: n.ip,
          via: n.ip,
          kind: 'direct' as const,
          pool: 'p',
        })),
        viewNodes,
      ),
    ],
  };
}

describe('agent with BIRD 2 (network namespaces)', () => {
  let lab: Lab;
  let dir: string;
  const ns: string[] = [];
  const controls: BirdControl[] = [];
  const agents: AgentSyncer[] = [];
  const birds: ChildProcess[] = [];

  beforeAll(async () => {
    if (missing !== undefined) throw new Error(`agent BIRD integration tests: ${missing}`);
    lab = await createLab();
    dir = await mkdtemp(join(tmpdir(), 'tabby-bird-'));
    ns.push(await lab.namespace('bgp-a'), await lab.namespace('bgp-b'));
    await lab.linkNodes({ ns: ns[0]!, address: `${nodes[0]!.ip}/24` }, { ns: ns[1]!, address: `${nodes[1]!.ip}/24` });
    for (let i = 0; i < 2; i++) {
      const control = createBirdControl({
        configPath: join(dir, `bird-${i}.cfg`),
        socketPath: join(dir, `bird-${i}.ctl`),
      });
      controls.push(control);
      agents.push(
        createAgentSyncer({
          nodeName: nodes[i]!.name,
          dataplane: createLinuxDataplane({ namespace: { kind: 'netns', name: ns[i]! } }),
          bird: control,
        }),
      );
    }
  });

  afterAll(async () => {
    await Promise.all(
      birds.map(
        (b) =>
          new Promise<void>((resolve) => {
            if (b.exitCode !== null || b.signalCode !== null) return resolve();
            b.once('exit', () => resolve());
            b.kill('SIGTERM');
          }),
      ),
    );
    await lab?.cleanup();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('mesh sessions reach Established, blocks are learned over BGP, BIRD puts no pool route in the kernel', async () => {
    // The agent writes the config before BIRD runs (as after a node boot): not an error, just not reloaded.
    for (let i = 0; i < 2; i++) {
      const r = await agents[i]!.syncOnce(input(i));
      expect(r.errors).toEqual([]);
      expect(r.operations.birdReloaded).toBe(false);
      expect(r.warnings.map((w) => w.message)).toContain('BIRD is not running; the config is in place for its start');
    }
    for (let i = 0; i < 2; i++) {
      // In the foreground (-f) as our child: we stop exactly the processes we started, by handle.
      const argv = [
        'netns',
        'exec',
        ns[i]!,
        'bird',
        '-f',
        '-c',
        join(dir, `bird-${i}.cfg`),
        '-s',
        join(dir, `bird-${i}.ctl`),
      ];
      birds.push(spawn('ip', argv, { stdio: 'ignore' }));
    }
    const { value: sessions } = await eventually('mesh Established on both nodes', async () => {
      const all = await Promise.all(agents.map((a) => a.bgpSessions()));
      return all.every((s) => s.sessions.length === 1 && s.sessions[0]?.info === 'Established') ? all : undefined;
    });
    expect(sessions[0]?.sessions[0]).toMatchObject({
      name: 'Mesh_192_168_214_12',
      peerAddress: '192.168.214.12',
      peerType: 'node-to-node mesh',
      state: 'up',
    });
    expect(formatNodeStatus(sessions[0]!.sessions, { running: true })).toMatch(
      /\| 192\.168\.214\.12 \| node-to-node mesh \| up +\| .+ \| Established \|/,
    );

    const { value: learned } = await eventually('block of node-b learned on node-a', async () => {
      const r = await runner.run([
        'birdc',
        '-s',
        join(dir, 'bird-0.ctl'),
        'show',
        'route',
        'protocol',
        'Mesh_192_168_214_12',
      ]);
      return r.stdout.includes('10.214.2.0/26') ? r.stdout : undefined;
    });
    expect(learned).toMatch(/10\.214\.2\.0\/26\s+unicast \[Mesh_192_168_214_12 /);
    // The agent programmed that route (proto 80); BIRD programmed nothing of the pool.
    expect((await lab.exec(ns[0]!, ['ip', 'route', 'show', 'proto', '80'])).stdout).toContain(
      '10.214.2.0/26 via 192.168.214.12 dev eth0',
    );
    expect((await lab.exec(ns[0]!, ['ip', 'route', 'show', 'proto', 'bird'])).stdout).not.toContain('10.214.');
  });

  it('a config change reloads BIRD without dropping the session, and the new prefix is learned', async () => {
    const before = (await agents[0]!.bgpSessions()).sessions[0];
    const r = await agents[1]!.syncOnce(input(1, ['10.214.1.9/32']));
    expect(r.errors).toEqual([]);
    expect(r.operations.birdReloaded).toBe(true);
    await eventually('borrowed /32 learned on node-a', async () => {
      const out = await runner.run(['birdc', '-s', join(dir, 'bird-0.ctl'), 'show', 'route', 'for', '10.214.1.9/32']);
      return out.stdout.includes('Mesh_192_168_214_12') ? true : undefined;
    });
    const after = (await agents[0]!.bgpSessions()).sessions[0];
    expect(after).toMatchObject({ info: 'Established', since: before?.since });
    const same = await agents[1]!.syncOnce(input(1, ['10.214.1.9/32']));
    expect(same.changed).toBe(false);
  });

  it('every rendered variant is valid BIRD 2 (bird -p)', async () => {
    const base: PlannedBgp = {
      asNumber: 64512,
      routerID: '10.192.0.2',
      ipv4Address: '10.192.0.2/16',
      nodeToNodeMesh: true,
      peers: [],
      exportPrefixes: [{ cidr: '192.168.221.64/26', origin: 'block', communities: ['65001:300', '65001:100:20'] }],
    };
    const peer = (p: Partial<PlannedBgpPeer> & Pick<PlannedBgpPeer, 'name' | 'peerIP'>): PlannedBgpPeer => ({
      asNumber: 64512,
      type: 'node',
      ...p,
    });
    const ref = { name: 's', key: 'k' };
    const variants: [string, PlannedBgp][] = [
      ['mesh', base],
      [
        'mesh with password, restart time, listen port, bind',
        { ...base, meshPasswordSecretRef: ref, meshMaxRestartTimeSeconds: 90, listenPort: 1790, bindMode: 'NodeIP' },
      ],
      [
        'route reflector with clients and an external peer',
        {
          ...base,
          routeReflectorClusterID: '10.0.0.1',
          peers: [
            peer({
              name: 'Node_10_192_0_3',
              peerIP: '10.192.0.3',
              routeReflectorClient: true,
              sourceAddress: '10.192.0.2',
            }),
            peer({ name: 'Node_172_19_4_87', peerIP: '172.19.4.87', asNumber: 64533, nextHopMode: 'Keep' }),
          ],
        },
      ],
      [
        'explicit peers with every option',
        {
          ...base,
          nodeToNodeMesh: false,
          logSeverityScreen: 'Debug',
          ignoredInterfaces: ['eth9*'],
          rejectPrefixes: ['10.250.0.0/16'],
          peers: [
            peer({
              name: 'Global_10_192_0_5_port_1790',
              peerIP: '10.192.0.5',
              port: 1790,
              asNumber: 64567,
              localASNumber: 65001,
              type: 'global',
              maxRestartTimeSeconds: 100,
              keepaliveTimeSeconds: 10,
              numAllowedLocalASNumbers: 2,
              passwordSecretRef: ref,
            }),
            peer({
              name: 'Node_10_192_0_9',
              peerIP: '10.192.0.9',
              asNumber: 65000,
              ttlSecurity: 2,
              nextHopMode: 'Self',
              passive: true,
              reachableBy: '10.192.0.1',
            }),
          ],
        },
      ],
      [
        'dual stack',
        {
          ...base,
          ipv6Address: 'fd5f:1801::2/64',
          peers: [peer({ name: 'Global_fd5f_1801__9', peerIP: 'fd5f:1801::9', type: 'global' })],
          exportPrefixes: [...base.exportPrefixes, { cidr: 'fd5f:1801:abcd::/122', origin: 'block' }],
        },
      ],
    ];
    for (const [name, bgp] of variants) {
      const cfg = renderBirdConfig({
        nodeName: 'kube-master',
        desired: buildNodeDesired({
          blocks: [{ cidr: '192.168.221.64/26', pool: 'p' }],
          natOutgoing: { sourceCidrs: [], allPoolCidrs: ['192.168.0.0/16', '10.250.0.0/16', 'fd5f:1801:abcd::/48'] },
          bgp,
        }),
        viewNodes: [
          { name: 'kube-master', ipv4: '10.192.0.2', ipv6: 'fd5f:1801::2' },
          { name: 'kube-node-1', ipv4: '10.192.0.3', ipv6: 'fd5f:1801::3' },
        ],
        passwords: new Map([[secretRefKey(ref), 'sekret']]),
      });
      expect(cfg.issues, name).toEqual([]);
      const file = join(dir, `variant.cfg`);
      await writeFile(file, cfg.text);
      const p = await runner.run(['bird', '-p', '-c', file]);
      expect({ name, code: p.code, out: p.stdout + p.stderr }).toEqual({ name, code: 0, out: '' });
    }
  });
});
