// Hostile input at the agent's IPAM socket, at the parser: bounded, seeded (reproducible) fuzzing of
// parseRequestLine with arbitrary text, arbitrary JSON, truncated and over-long lines, and valid requests with one
// field broken. Every input gets an answer — never an exception — and a refusal names what is wrong: the field path
// for a request with a bad field, the version for another protocol, the parser's reason for text that is not JSON.
// The bad values per field come from the protocol's documented rules (agent-ipam-protocol.ts header), not from the
// schema. The counts of inputs tried are printed (grep "fuzz:").
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import {
  AgentRequestSchema,
  MAX_MESSAGE_BYTES,
  PROTOCOL_VERSION,
  encodeMessage,
  parseRequestLine,
  type AgentRequest,
} from './agent-ipam-protocol.js';

const SEED = 19_003;
const tried = new Map<string, number>();
afterAll(() => {
  const total = [...tried.values()].reduce((a, b) => a + b, 0);
  console.log(`fuzz: agent request parser: ${total} inputs (${[...tried].map(([k, n]) => `${k} ${n}`).join(', ')})`);
});

/** Runs `property` `numRuns` times from the fixed seed, and counts the inputs it saw. */
function fuzz<T>(name: string, arb: fc.Arbitrary<T>, numRuns: number, property: (v: T) => void): void {
  let n = 0;
  fc.assert(
    fc.property(arb, (v) => {
      n++;
      property(v);
    }),
    { seed: SEED, numRuns },
  );
  tried.set(name, n);
  expect(n).toBe(numRuns);
}

/** The answer to one line: never thrown, and a refusal always says something, within the message bound. */
function answerOf(line: string) {
  const r = parseRequestLine(line);
  if (!r.ok) {
    expect(r.message.length).toBeGreaterThan(0);
    expect(r.message.length).toBeLessThanOrEqual(MAX_MESSAGE_BYTES);
  }
  return r;
}

const handle = fc.stringMatching(/^k8s-pod-network\.[0-9a-f]{1,64}$/);
const validRequest: fc.Arbitrary<AgentRequest> = fc.oneof(
  fc.record(
    {
      v: fc.constant(PROTOCOL_VERSION),
      op: fc.constant('assign' as const),
      handleId: handle,
      containerId: fc.stringMatching(/^[0-9a-f]{1,64}$/),
      attrs: fc.record(
        {
          namespace: fc.stringMatching(/^[a-z][a-z0-9-]{0,30}$/),
          pod: fc.stringMatching(/^[a-z][a-z0-9-]{0,40}$/),
          node: fc.stringMatching(/^[a-z][a-z0-9.-]{0,40}$/),
        },
        { requiredKeys: [] },
      ),
      families: fc.constantFrom<(4 | 6)[]>([4], [6], [4, 6], [6, 4]),
      ipv4Pools: fc.array(fc.constantFrom<string>('10.244.0.0/16', 'default-pool'), { minLength: 0, maxLength: 3 }),
      ipAddrs: fc.constantFrom<string[]>(['10.244.1.7'], ['fd00::7'], ['10.244.1.7', 'fd00::7']),
    },
    { requiredKeys: ['v', 'op', 'handleId', 'containerId', 'attrs', 'families'] },
  ),
  fc.record({ v: fc.constant(PROTOCOL_VERSION), op: fc.constant('release' as const), handleId: handle }),
  fc.record({ v: fc.constant(PROTOCOL_VERSION), op: fc.constant('addresses' as const), handleId: handle }),
  fc.record({ v: fc.constant(PROTOCOL_VERSION), op: fc.constant('status' as const) }),
);

/**
 * Values each field must refuse, from the protocol's rules: strings 1-253 characters (a handle without line
 * breaks), families 4 and/or 6 once each, at most 64 pools, at most one address per family, attrs a closed object.
 */
const BAD: Record<string, unknown[]> = {
  handleId: [null, 42, '', 'x'.repeat(254), 'a\nb', ['k8s-pod-network.x'], {}],
  containerId: [null, 7, '', 'c'.repeat(254), false],
  attrs: [null, 'default/p', [], 5],
  'attrs.namespace': ['', 'n'.repeat(254), 3, null],
  'attrs.pod': ['', 'p'.repeat(254), {}, null],
  'attrs.node': ['', 'n'.repeat(254), true],
  families: [[], [5], [4, 4], [4, 6, 4], '4', null, [4.5]],
  ipv4Pools: ['10.0.0.0/16', [''], [7], Array.from({ length: 65 }, (_, i) => `p${i}`), null],
  ipAddrs: [[], ['not-an-ip'], ['10.0.0.1', '10.0.0.2'], '10.0.0.1', [null], null],
};

function withField(req: Record<string, unknown>, field: string, value: unknown): Record<string, unknown> {
  const [head, sub] = field.split('.') as [string, string | undefined];
  if (sub === undefined) return { ...req, [head]: value };
  return { ...req, [head]: { ...(req[head] as Record<string, unknown>), [sub]: value } };
}

describe('fuzz: the agent request line parser', () => {
  it('arbitrary text (binary, unicode, JSON-ish punctuation) is answered, never thrown', () => {
    const text = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 300 }),
      fc.string({ unit: 'grapheme', maxLength: 300 }),
      fc.string({ unit: fc.constantFrom('{', '}', '[', ']', '"', ':', ',', '\\', '1', 'v', 'op', ' '), maxLength: 80 }),
    );
    fuzz('text', text, 3000, (line) => {
      const r = answerOf(line);
      if (r.ok) expect(AgentRequestSchema.parse(JSON.parse(line))).toEqual(r.request);
    });
  });

  it('arbitrary JSON values are refused naming the version or the field, unless they are a valid request', () => {
    fuzz('json', fc.jsonValue({ maxDepth: 4 }), 3000, (value) => {
      const r = answerOf(JSON.stringify(value));
      const isV1 = typeof value === 'object' && value !== null && (value as { v?: unknown }).v === PROTOCOL_VERSION;
      if (!r.ok && !isV1) expect(r.message).toMatch(/^protocol version .* is not supported \(this agent speaks 1\)/);
      if (!r.ok && isV1) expect(r.message).toMatch(/^[^:]+: /);
    });
  });

  it('every truncation of a valid request line is refused as not JSON, with the reason', () => {
    const truncated = validRequest.chain((req) => {
      const line = encodeMessage(req).trimEnd();
      return fc.integer({ min: 0, max: line.length - 1 }).map((cut) => line.slice(0, cut));
    });
    fuzz('truncated', truncated, 3000, (line) => {
      const r = answerOf(line);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.message).toMatch(/^request is not JSON \(.+\)$/);
    });
  });

  it('a valid request with one field broken is refused naming that field', () => {
    const assigns = validRequest.filter((r) => r.op === 'assign');
    const broken = fc
      .tuple(assigns, fc.constantFrom(...Object.keys(BAD)))
      .chain(([req, field]) => fc.constantFrom(...BAD[field]!).map((value) => ({ req, field, value })));
    fuzz('one field broken', broken, 3000, ({ req, field, value }) => {
      const r = answerOf(JSON.stringify(withField(req as Record<string, unknown>, field, value)));
      expect(r.ok, `${field} = ${JSON.stringify(value)}`).toBe(false);
      if (!r.ok) expect(r.message).toContain(field);
    });
  });

  it('an unknown key, another version or another op is refused naming it', () => {
    const cases = fc
      .tuple(validRequest, fc.stringMatching(/^[a-z][a-zA-Z]{0,12}$/), fc.integer())
      .chain(([req, key, n]) =>
        fc.constantFrom(
          { line: { ...req, [`x${key}`]: n }, want: `x${key}` },
          { line: { ...req, v: n === PROTOCOL_VERSION ? 2 : n }, want: 'protocol version' },
          { line: { ...req, op: `op-${key}` }, want: 'op' },
        ),
      );
    fuzz('key, version, op', cases, 3000, ({ line, want }) => {
      const r = answerOf(JSON.stringify(line));
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.message).toContain(want);
    });
  });

  it('valid requests are read back exactly', () => {
    fuzz('valid', validRequest, 1000, (req) => {
      expect(answerOf(encodeMessage(req))).toEqual({ ok: true, request: req });
    });
  });

  it('a line of hundreds of kilobytes is parsed in one piece and answered (the server bounds lines before this)', () => {
    const huge = JSON.stringify({ v: 1, op: 'release', handleId: 'h'.repeat(300_000) });
    const r = answerOf(huge);
    expect(r).toMatchObject({ ok: false, message: expect.stringContaining('handleId') });
    tried.set('huge', 1);
  });
});
