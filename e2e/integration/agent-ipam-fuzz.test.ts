// Hostile input at the agent's IPAM socket, end to end: the agent's real pod IPAM (createPodIpam: the address
// assigner over the Kubernetes block store, the operator's block pre-claim, pod annotations) against a real
// kube-apiserver, fed over its unix socket with seeded, bounded, reproducible input — malformed text, truncated and
// over-long lines, requests with a broken field, lines cut off by a half-close, pipelined lines, hundreds of
// connections at once, and connections dropped mid-line. Counted: every input that can be answered gets exactly one
// answer, a refusal naming what is wrong; the agent keeps serving; it writes nothing to the apiserver (every request
// of its own client is recorded) and holds no address. A valid assign at the end proves the recorder sees writes.
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildNodeDesired } from '../../src/agent/test-support/desired-builder.js';
import { createPodIpam, type PodIpam } from '../../src/agent/pod-ipam.js';
import { ErrorResponseSchema, MAX_MESSAGE_BYTES, PROTOCOL_VERSION } from '../../src/api/agent-ipam-protocol.js';
import { IPAMHandleKind } from '../../src/api/index.js';
import { createKubeClient, kindResource, type KubeClient } from '../../src/kube/index.js';
import { createTransport, type Transport } from '../../src/kube/transport.js';
import { startControlPlane, type ControlPlane } from '../harness/index.js';
import {
  eventually,
  fileLogger,
  inProcessOperator,
  installCrds,
  logFile,
  nodeObject,
  poolObject,
  rawClients,
} from './operator-support.js';

const SEED = 19_005;
const NODE = 'fuzz-node';
const POOL_CIDR = '10.77.0.0/16';

interface Talk {
  answers: unknown[];
  /** The server closed the connection (after answering, or after refusing an over-long line). */
  closed: boolean;
}

/** One connection: writes `payload`, then half-closes (or drops the connection), and reads until the server closes. */
function talk(path: string, payload: string, how: 'end' | 'drop' = 'end'): Promise<Talk> {
  return new Promise((resolve) => {
    const c = createConnection(path);
    let buf = '';
    c.setEncoding('utf8');
    c.on('connect', () => {
      if (how === 'drop') {
        c.write(payload, () => c.destroy());
        return;
      }
      c.end(payload);
    });
    c.on('data', (d: string) => (buf += d));
    // EPIPE / ECONNRESET while we were still writing an over-long line that the server had already refused.
    c.on('error', () => undefined);
    c.on('close', () =>
      resolve({
        answers: buf
          .split('\n')
          .filter((l) => l !== '')
          .map((l) => JSON.parse(l) as unknown),
        closed: true,
      }),
    );
  });
}

/** Runs `fn` over `items`, `width` at a time. */
async function inBatches<T>(items: readonly T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += width) await Promise.all(items.slice(i, i + width).map(fn));
}

const handle = fc.stringMatching(/^k8s-pod-network\.[0-9a-f]{8,64}$/);
const assign = fc.record({
  v: fc.constant(PROTOCOL_VERSION),
  op: fc.constant('assign'),
  handleId: handle,
  containerId: fc.stringMatching(/^[0-9a-f]{8,64}$/),
  attrs: fc.record({ namespace: fc.constant('default'), pod: fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/) }),
  families: fc.constant([4]),
});
/** Values the protocol's rules refuse, per field (agent-ipam-protocol.ts header). */
const BAD: Record<string, unknown[]> = {
  handleId: [null, '', 'x'.repeat(254), 'a\nb', 7],
  containerId: [null, '', 'c'.repeat(254)],
  attrs: [null, [], 'default/p'],
  families: [[], [5], [4, 4], null],
  ipv4Pools: ['10.0.0.0/16', [''], null],
  ipAddrs: [[], ['not-an-ip'], ['10.0.0.1', '10.0.0.2']],
};
const sample = <T>(arb: fc.Arbitrary<T>, numRuns: number, seedOffset: number): T[] =>
  fc.sample(arb, { seed: SEED + seedOffset, numRuns });

describe("fuzz: the agent's IPAM socket, against the real pod IPAM and apiserver", () => {
  let cp: ControlPlane;
  let op: ReturnType<typeof inProcessOperator>;
  let agentClient: KubeClient;
  let ipam: PodIpam;
  let dir: string;
  let socket: string;
  const log = logFile('agent-ipam-fuzz');
  /** Every request the agent's own client sent that was not a read. */
  const writes: string[] = [];
  const counts = new Map<string, number>();
  const count = (cls: string, n = 1) => counts.set(cls, (counts.get(cls) ?? 0) + n);

  // Untyped: every handle the agent wrote counts, even one our schema would refuse.
  const handles = async () =>
    (await agentClient.resource(kindResource(IPAMHandleKind)).list()).items.map((h) => h.metadata.name);

  beforeAll(async () => {
    cp = await startControlPlane({ name: 'agent-ipam-fuzz' });
    await installCrds(cp);
    op = inProcessOperator(cp, log);
    await op.client.nodes().create(nodeObject({ name: NODE, ipv4: '10.0.0.11/24' }));
    await rawClients(op.client).pools.create(poolObject('fuzz-pool', POOL_CIDR));
    await op.operator.start();
    const inner: Transport = createTransport({ kubeconfigPath: cp.kubeconfigPath });
    const recording: Transport = {
      get server() {
        return inner.server;
      },
      get namespace() {
        return inner.namespace;
      },
      request: (req) => {
        if (req.method !== 'GET') writes.push(`${req.method} ${req.path}`);
        return inner.request(req);
      },
      stream: (req, onLine) => inner.stream(req, onLine),
      close: () => inner.close(),
    };
    agentClient = createKubeClient({ transport: recording, fieldManager: 'tabby-agent' });
    dir = mkdtempSync(join(tmpdir(), 'tabby-ipam-fuzz-'));
    socket = join(dir, 'ipam.sock');
    ipam = createPodIpam({
      client: agentClient,
      nodeName: NODE,
      socketPath: socket,
      logger: fileLogger(log),
      desired: () => buildNodeDesired(),
      hostMtu: () => 1500,
    });
    await ipam.start();
    // The operator pre-claims the node's first block; the valid assign at the end then needs no request.
    await eventually(
      'a block affine to the node',
      async () =>
        (await cp.kubectl(['get', 'ipamblocks.projectcalico.org', '-o', 'jsonpath={.items[*].spec.affinity}'])).stdout
          .split(' ')
          .includes(`host:${NODE}`),
      { timeoutMs: 60_000 },
    );
  });

  afterAll(async () => {
    const total = [...counts.values()].reduce((a, b) => a + b, 0);
    console.log(
      `fuzz: agent IPAM socket: ${total} inputs (${[...counts].map(([k, n]) => `${k} ${n}`).join(', ')}); log: ${log}`,
    );
    await ipam?.stop();
    agentClient?.close();
    await op?.stop();
    await cp?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** The one answer to a line that must be refused: an error of `code`, its message matching `message`. */
  const refused = (t: Talk, code: string, message?: string | RegExp) => {
    expect(t.answers).toHaveLength(1);
    const a = ErrorResponseSchema.parse(t.answers[0]);
    expect(a.error.code).toBe(code);
    if (message !== undefined) expect(a.error.message).toMatch(message);
  };

  it('malformed text, one line per connection: badRequest each', async () => {
    const lines = sample(
      fc
        .oneof(
          fc.string({ unit: 'binary', maxLength: 200 }),
          fc.string({ unit: fc.constantFrom('{', '}', '[', ']', '"', ':', ',', '1', 'v', ' '), maxLength: 60 }),
        )
        .filter((s) => !s.includes('\n') && s.trim() !== ''),
      400,
      1,
    );
    await inBatches(lines, 50, async (line) => {
      refused(await talk(socket, `${line}\n`), 'badRequest');
      count('malformed text');
    });
  });

  it('truncated requests, with their newline or cut off by a half-close: badRequest, not JSON', async () => {
    const cuts = sample(
      assign.chain((r) => {
        const line = JSON.stringify(r);
        return fc.tuple(fc.integer({ min: 1, max: line.length - 1 }), fc.boolean()).map(([cut, nl]) => ({
          text: line.slice(0, cut) + (nl ? '\n' : ''),
        }));
      }),
      400,
      2,
    );
    await inBatches(cuts, 50, async ({ text }) => {
      refused(await talk(socket, text), 'badRequest', /^request is not JSON \(.+\)$/);
      count('truncated');
    });
  });

  it('a request with one field broken: badRequest naming the field', async () => {
    const broken = sample(
      fc
        .tuple(assign, fc.constantFrom(...Object.keys(BAD)))
        .chain(([r, field]) => fc.constantFrom(...BAD[field]!).map((value) => ({ r, field, value }))),
      300,
      3,
    );
    await inBatches(broken, 50, async ({ r, field, value }) => {
      refused(await talk(socket, `${JSON.stringify({ ...r, [field]: value })}\n`), 'badRequest', field);
      count('one field broken');
    });
  });

  it('an unknown key, another protocol version, another op, or another node: refused naming it', async () => {
    const cases = sample(
      fc
        .tuple(assign, fc.integer({ min: 2, max: 1e6 }))
        .chain(([r, n]) =>
          fc.constantFrom(
            { line: { ...r, [`k${n}`]: n }, code: 'badRequest', want: `k${n}` },
            { line: { ...r, v: n }, code: 'badRequest', want: `protocol version ${n} is not supported` },
            { line: { ...r, op: `op${n}` }, code: 'badRequest', want: 'op' },
            { line: { ...r, attrs: { ...r.attrs, node: `other-${n}` } }, code: 'invalid', want: `other-${n}` },
          ),
        ),
      300,
      4,
    );
    await inBatches(cases, 50, async ({ line, code, want }) => {
      refused(await talk(socket, `${JSON.stringify(line)}\n`), code, want);
      count('key, version, op, node');
    });
  });

  it('over-long lines (whole, or without an end): refused, and the connection closed', async () => {
    const status = JSON.stringify({ v: PROTOCOL_VERSION, op: 'status' });
    const sizes = [MAX_MESSAGE_BYTES + 1, 70_000, 200_000, 1 << 20];
    for (const size of sizes) {
      // Valid JSON padded with spaces: it would be a request if the limit were not enforced.
      const padded = `${status.slice(0, -1)}${' '.repeat(size - status.length)}}`;
      for (const text of [`${padded}\n`, padded, 'z'.repeat(size)]) {
        const t = await talk(socket, text);
        expect(t.closed).toBe(true);
        refused(t, 'badRequest', `request longer than ${MAX_MESSAGE_BYTES} bytes`);
        count('over-long');
      }
    }
  });

  it('pipelined: 25 connections × 40 bad lines, each answered in order', async () => {
    const conns = sample(
      fc.array(
        fc.oneof(
          fc.string({ unit: 'binary', maxLength: 80 }).filter((s) => !s.includes('\n') && s.trim() !== ''),
          assign.map((r) => JSON.stringify({ ...r, families: [] })),
        ),
        { minLength: 40, maxLength: 40 },
      ),
      25,
      5,
    );
    await Promise.all(
      conns.map(async (lines) => {
        const t = await talk(socket, lines.map((l) => `${l}\n`).join(''));
        expect(t.answers).toHaveLength(lines.length);
        for (const a of t.answers) expect(ErrorResponseSchema.parse(a).error.code).toBe('badRequest');
        count('pipelined', lines.length);
      }),
    );
  });

  it('300 connections at once, each with a bad line: every one answered', async () => {
    const lines = sample(
      fc.oneof(
        assign.map((r) => JSON.stringify({ ...r, handleId: '' })),
        assign.map((r) => JSON.stringify(r).slice(0, 30)),
        fc.string({ unit: 'binary', maxLength: 60 }).filter((s) => !s.includes('\n') && s.trim() !== ''),
      ),
      300,
      6,
    );
    const talks = await Promise.all(lines.map((l) => talk(socket, `${l}\n`)));
    for (const t of talks) refused(t, 'badRequest');
    count('concurrent', talks.length);
  });

  it('connections dropped mid-line do not hurt: the agent still answers, wrote nothing and holds nothing', async () => {
    const partial = sample(
      assign
        .map((r) => JSON.stringify(r))
        .chain((l) => fc.integer({ min: 1, max: l.length }).map((c) => l.slice(0, c))),
      50,
      7,
    );
    await Promise.all(partial.map((p) => talk(socket, p, 'drop')));
    const status = await talk(socket, `${JSON.stringify({ v: PROTOCOL_VERSION, op: 'status' })}\n`);
    expect(status.answers).toEqual([{ ok: true, op: 'status', node: NODE, mtu: 1500 }]);
    console.log(`fuzz: agent IPAM socket: ${partial.length} connections dropped mid-line (no answer possible)`);
    // Nothing written by the agent, no handle anywhere: no address was taken by any of the inputs.
    expect(writes).toEqual([]);
    expect(await handles()).toEqual([]);
  });

  it('a valid assign afterwards succeeds, and the recorder sees its writes (the check above could fail)', async () => {
    const line = JSON.stringify({
      v: PROTOCOL_VERSION,
      op: 'assign',
      handleId: 'k8s-pod-network.f00d',
      containerId: 'f00d',
      attrs: { namespace: 'default', pod: 'control' },
      families: [4],
    });
    const t = await talk(socket, `${line}\n`);
    expect(t.answers).toHaveLength(1);
    expect(t.answers[0]).toMatchObject({ ok: true, op: 'assign', mtu: 1500, node: NODE });
    expect(writes.length).toBeGreaterThan(0);
    expect(await handles()).toEqual(['k8s-pod-network.f00d']);
    const rel = await talk(
      socket,
      `${JSON.stringify({ v: PROTOCOL_VERSION, op: 'release', handleId: 'k8s-pod-network.f00d' })}\n`,
    );
    expect(rel.answers).toEqual([{ ok: true, op: 'release' }]);
    expect(await handles()).toEqual([]);
  });
});
