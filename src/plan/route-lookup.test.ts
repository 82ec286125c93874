import { describe, expect, it } from 'vitest';
import { parseCidr } from '../net/index.js';
import type { RouteLine } from './materialise.js';
import { routesFor } from './route-lookup.js';

const route = (dst: string, line: string): RouteLine => ({ dst, line, explain: { rule: 'no-encap', node: 'x' } });

// One node's table, as materialise writes it: two remote blocks, its own block and a pod inside it, a borrowed /32
// inside a remote block.
const table = [
  route('10.0.0.0/26', 'blackhole 10.0.0.0/26'),
  route('10.0.0.5', '10.0.0.5 dev cali0123456789a scope link'),
  route('10.0.0.64/26', '10.0.0.64/26 via 192.168.0.2'),
  route('10.0.0.70', '10.0.0.70 via 192.168.0.3'),
  route('10.0.1.0/26', '10.0.1.0/26 via 192.168.0.3'),
  route('fd00::/122', 'fd00::/122 via fd01::2'),
];
const lines = (target: string) => routesFor(table, parseCidr(target)).map((r) => r.line);

describe('the routes that decide traffic to a target (longest prefix, and what is more specific inside it)', () => {
  it.each([
    ['10.0.0.5/32', ['10.0.0.5 dev cali0123456789a scope link']],
    ['10.0.0.6/32', ['blackhole 10.0.0.0/26']],
    ['10.0.0.70/32', ['10.0.0.70 via 192.168.0.3']],
    ['10.0.0.71/32', ['10.0.0.64/26 via 192.168.0.2']],
    ['10.0.0.0/26', ['blackhole 10.0.0.0/26', '10.0.0.5 dev cali0123456789a scope link']],
    [
      '10.0.0.0/24',
      [
        'blackhole 10.0.0.0/26',
        '10.0.0.5 dev cali0123456789a scope link',
        '10.0.0.64/26 via 192.168.0.2',
        '10.0.0.70 via 192.168.0.3',
      ],
    ],
    ['10.0.0.128/25', []],
    ['10.9.0.1/32', []],
    ['fd00::7/128', ['fd00::/122 via fd01::2']],
  ])('%s → %j', (target, want) => {
    expect(lines(target)).toEqual(want);
  });
});
