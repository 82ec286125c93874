import { describe, expect, it } from 'vitest';
import { formatNodeStatus, parseShowProtocols, peerFromProtocolName } from './bird-status.js';

// BIRD 2.0.12 `birdc show protocols` with `timeformat protocol iso long`.
const SHOW = `BIRD 2.0.12 ready.
Name       Proto      Table      State  Since         Info
static4    Static     master4    up     2026-11-22 21:00:13  
kernel4    Kernel     master4    up     2026-11-22 21:00:13  
device1    Device     ---        up     2026-11-22 21:00:13  
Mesh_10_192_0_3 BGP        ---        up     2026-11-22 21:00:15  Established   
Node_10_192_0_4_port_180 BGP        ---        start  2026-11-22 21:00:13  Active        Socket: Connection refused
Global_fd00__1 BGP        ---        start  2026-11-21 08:01:02  Passive       
`;

describe('parseShowProtocols', () => {
  it('keeps BGP protocols with peer, type, state, since and info', () => {
    expect(parseShowProtocols(SHOW)).toEqual([
      {
        name: 'Mesh_10_192_0_3',
        peerAddress: '10.192.0.3',
        peerType: 'node-to-node mesh',
        family: 4,
        state: 'up',
        since: '2026-11-22 21:00:15',
        info: 'Established',
      },
      {
        name: 'Node_10_192_0_4_port_180',
        peerAddress: '10.192.0.4',
        peerType: 'node specific',
        family: 4,
        state: 'start',
        since: '2026-11-22 21:00:13',
        info: 'Active Socket: Connection refused',
      },
      {
        name: 'Global_fd00__1',
        peerAddress: 'fd00::1',
        peerType: 'global',
        family: 6,
        state: 'start',
        since: '2026-11-21 08:01:02',
        info: 'Passive',
      },
    ]);
  });

  it('prefers what the rendered config declared for a protocol', () => {
    const s = parseShowProtocols(SHOW, [
      { name: 'Node_10_192_0_4_port_180', peerIP: '10.192.0.4', port: 180, asNumber: 1, type: 'global', family: 4 },
    ]);
    expect(s[1]?.peerType).toBe('global');
  });

  it.each([
    ['Mesh_10_0_0_1', { address: '10.0.0.1', type: 'node-to-node mesh' }],
    ['Node_fd00_1__2_port_1790', { address: 'fd00:1::2', type: 'node specific' }],
    ['kernel1', undefined],
  ])('peerFromProtocolName(%s)', (name, want) => expect(peerFromProtocolName(name)).toEqual(want));
});

describe('formatNodeStatus', () => {
  it('prints the calicoctl node status layout', () => {
    expect(formatNodeStatus(parseShowProtocols(SHOW).slice(0, 1), { running: true, today: '2026-11-22' })).toBe(
      [
        'BIRD is running.',
        '',
        'IPv4 BGP status',
        '+--------------+-------------------+-------+----------+-------------+',
        '| PEER ADDRESS |     PEER TYPE     | STATE |  SINCE   |    INFO     |',
        '+--------------+-------------------+-------+----------+-------------+',
        '| 10.192.0.3   | node-to-node mesh | up    | 21:00:15 | Established |',
        '+--------------+-------------------+-------+----------+-------------+',
        '',
        'IPv6 BGP status',
        'No IPv6 peers found.',
        '',
      ].join('\n'),
    );
  });
  it('says when BIRD is not running', () => {
    expect(formatNodeStatus([], { running: false })).toBe('BIRD is not running.\n');
  });
});
