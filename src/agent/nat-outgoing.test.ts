import { describe, expect, it } from 'vitest';
import { type NatProblem, natOutgoingTarget, renderNatScript } from './nat-outgoing.js';

describe('natOutgoingTarget', () => {
  it.each([
    { name: 'no natOutgoing pool: no table', sources: [], pools: ['10.244.0.0/16'], want: undefined },
    {
      name: 'v4 pool',
      sources: ['10.244.0.0/16'],
      pools: ['10.244.0.0/16', '10.250.0.0/16'],
      want: { v4: { sources: ['10.244.0.0/16'], pools: ['10.244.0.0/16', '10.250.0.0/16'] } },
    },
    {
      name: 'a natOutgoing pool missing from allPoolCidrs still counts as a pool',
      sources: ['10.244.0.0/16', 'fd00::/48'],
      pools: [],
      want: {
        v4: { sources: ['10.244.0.0/16'], pools: ['10.244.0.0/16'] },
        v6: { sources: ['fd00::/48'], pools: ['fd00::/48'] },
      },
    },
  ])('$name', ({ sources, pools, want }) => {
    const problems: NatProblem[] = [];
    expect(natOutgoingTarget({ sourceCidrs: sources, allPoolCidrs: pools }, problems)).toEqual(want);
    expect(problems).toEqual([]);
  });

  it('reports bad fields and keeps going', () => {
    const problems: NatProblem[] = [];
    const t = natOutgoingTarget(
      { sourceCidrs: ['10.244.0.0/16', 'nope'], allPoolCidrs: [], outgoingAddress: '1.2.3', portRange: '9:1' },
      problems,
    );
    expect(t).toEqual({ v4: { sources: ['10.244.0.0/16'], pools: ['10.244.0.0/16'] } });
    expect(problems.map((p) => p.path.join('.'))).toEqual([
      'natOutgoing.sourceCidrs.1',
      'natOutgoing.outgoingAddress',
      'natOutgoing.portRange',
    ]);
  });
});

describe('renderNatScript', () => {
  it('replaces the table atomically: create-if-missing, delete, recreate, in one nft transaction', () => {
    expect(renderNatScript({ v4: { sources: ['10.244.0.0/16'], pools: ['10.244.0.0/16', '10.250.0.0/16'] } })).toBe(
      [
        'table inet tabby-nat',
        'delete table inet tabby-nat',
        'table inet tabby-nat {',
        '\tset nat4-sources {',
        '\t\ttype ipv4_addr',
        '\t\tflags interval',
        '\t\tauto-merge',
        '\t\telements = { 10.244.0.0/16 }',
        '\t}',
        '\tset nat4-pools {',
        '\t\ttype ipv4_addr',
        '\t\tflags interval',
        '\t\tauto-merge',
        '\t\telements = { 10.244.0.0/16, 10.250.0.0/16 }',
        '\t}',
        '\tchain postrouting {',
        '\t\ttype nat hook postrouting priority srcnat; policy accept;',
        '\t\tip saddr @nat4-sources ip daddr != @nat4-pools counter masquerade fully-random',
        '\t}',
        '}',
        '',
      ].join('\n'),
    );
  });

  it('uses SNAT to natOutgoingAddress and the port range when given', () => {
    const s = renderNatScript({
      v4: { sources: ['10.244.0.0/16'], pools: ['10.244.0.0/16'] },
      outgoingAddress: '192.168.0.11',
      portRange: '32768-65535',
    });
    expect(s).toContain(
      'ip saddr @nat4-sources ip daddr != @nat4-pools counter snat ip to 192.168.0.11:32768-65535 fully-random',
    );
  });

  it('only deletes when nothing masquerades', () => {
    expect(renderNatScript(undefined)).toBe('table inet tabby-nat\ndelete table inet tabby-nat\n');
  });
});
