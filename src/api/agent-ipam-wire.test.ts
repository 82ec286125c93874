// The plugin's zod-free response check must accept exactly what the protocol's schemas accept (STYLE.md §5).
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { type AgentOp, responseSchemaFor } from './agent-ipam-protocol.js';
import { encodeMessage, isResponseFor, podHandleId } from './agent-ipam-wire.js';

const OPS: AgentOp[] = ['assign', 'release', 'addresses', 'status'];

const anyJson = fc.jsonValue({ maxDepth: 2 });
const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });
const address = fc.record(
  {
    address: fc.oneof(fc.constantFrom('10.0.0.5', 'fd00::5', '::ffff:10.0.0.1', '0.0.0.0'), fc.ipV4(), fc.ipV6()),
    family: fc.constantFrom(4, 6),
    block: opt(fc.constantFrom('10.0.0.0/26', 'fd00::/122')),
  },
  { requiredKeys: ['address', 'family'] },
);
const valid = fc.oneof(
  fc.record(
    {
      ok: fc.constant(true),
      op: fc.constant('assign'),
      addresses: fc.array(address, { minLength: 1, maxLength: 2 }),
      mtu: fc.integer({ min: 68, max: 65535 }),
      deviceRouteProtocol: opt(fc.integer({ min: 0, max: 255 })),
      node: fc.constantFrom('node-a', 'n'),
    },
    { requiredKeys: ['ok', 'op', 'addresses', 'mtu', 'node'] },
  ),
  fc.record({ ok: fc.constant(true), op: fc.constant('release') }),
  fc.record({ ok: fc.constant(true), op: fc.constant('addresses'), addresses: fc.array(address, { maxLength: 3 }) }),
  fc.record({
    ok: fc.constant(true),
    op: fc.constant('status'),
    node: fc.constant('node-a'),
    mtu: fc.integer({ min: 68, max: 65535 }),
  }),
  fc.record({
    ok: fc.constant(false),
    error: fc.record({
      code: fc.constantFrom('badRequest', 'invalid', 'exhausted', 'unavailable', 'internal'),
      message: fc.string({ maxLength: 20 }),
    }),
  }),
);
const nearMiss = fc.oneof(
  anyJson,
  fc.constantFrom<unknown>(null, '', 'x', 0, 67, 65536, 256, -1, 1.5, 5, '4', [], {}, [{}], 'oops', '10.0.0.300', true),
);
const mutated = fc
  .tuple(
    valid,
    fc.constantFrom('ok', 'op', 'addresses', 'mtu', 'node', 'deviceRouteProtocol', 'error', 'extra'),
    nearMiss,
    fc.nat(3),
    fc.constantFrom('address', 'family', 'block', 'code', 'message', 'x'),
    nearMiss,
  )
  .map(([v, key, val, which, inner, innerVal]) => {
    const out: Record<string, unknown> = structuredClone(v);
    if (which === 0 && Array.isArray(out.addresses) && out.addresses.length > 0) {
      (out.addresses[0] as Record<string, unknown>)[inner] = innerVal;
    } else if (which === 1 && typeof out.error === 'object' && out.error !== null) {
      (out.error as Record<string, unknown>)[inner] = innerVal;
    } else {
      out[key] = val;
    }
    return out;
  });
const response = fc.oneof(valid, mutated, mutated);
/** Mostly the op the response answers (errors: any op), sometimes another one. */
const pair = fc.tuple(response, fc.constantFrom(...OPS), fc.nat(4)).map(([r, other, n]): [AgentOp, unknown] => {
  const own = (r as { op?: unknown }).op;
  return [n > 0 && OPS.includes(own as AgentOp) ? (own as AgentOp) : other, r];
});

describe('isResponseFor (differential against the schemas)', () => {
  it('samples both sides of the boundary', () => {
    const sample = fc.sample(pair, { numRuns: 2000, seed: 3 });
    const accepted = sample.filter(([op, r]) => responseSchemaFor(op).safeParse(r).success).length / sample.length;
    expect(accepted).toBeGreaterThan(0.15);
    expect(accepted).toBeLessThan(0.85);
  });

  it('accepts exactly what responseSchemaFor(op) accepts', () => {
    fc.assert(
      fc.property(fc.oneof(pair, fc.tuple(fc.constantFrom(...OPS), anyJson)), ([op, r]) => {
        expect(isResponseFor(op, r)).toBe(responseSchemaFor(op).safeParse(r).success);
      }),
      { numRuns: 5000 },
    );
  });
});

describe('wire constants', () => {
  it('frames one message per line and builds Calico handles', () => {
    expect(encodeMessage({ ok: true, op: 'release' })).toBe('{"ok":true,"op":"release"}\n');
    expect(podHandleId('k8s-pod-network', 'abc')).toBe('k8s-pod-network.abc');
  });
});
