import { describe, expect, it } from 'vitest';
import { conflistObject, renderConflist } from './conflist.js';
import { parseNetConf } from './config.js';

describe('10-tabby.conflist', () => {
  it("is shaped like Calico's 10-calico.conflist: tabby first, portmap and bandwidth chained after it", () => {
    expect(conflistObject({ nodeName: 'controlplane', mtu: 1440 })).toEqual({
      name: 'k8s-pod-network',
      cniVersion: '1.0.0',
      plugins: [
        {
          type: 'tabby-cni',
          log_level: 'info',
          nodename: 'controlplane',
          mtu: 1440,
          ipam: { type: 'tabby-ipam' },
          agent_socket: '/var/run/tabby/ipam.sock',
        },
        { type: 'portmap', snat: true, capabilities: { portMappings: true } },
        { type: 'bandwidth', capabilities: { bandwidth: true } },
      ],
    });
  });

  it('leaves the MTU to the agent unless given, and can turn on IPv6 / drop the chained plugins', () => {
    const c = conflistObject({
      assignIPv6: true,
      portmap: false,
      bandwidth: false,
      cniVersions: ['0.4.0', '1.0.0', '1.1.0'],
    });
    expect(c.plugins).toEqual([
      {
        type: 'tabby-cni',
        log_level: 'info',
        ipam: { type: 'tabby-ipam', assign_ipv6: 'true' },
        agent_socket: '/var/run/tabby/ipam.sock',
      },
    ]);
    expect(c.cniVersions).toEqual(['0.4.0', '1.0.0', '1.1.0']);
  });

  it('renders stable text that the plugin itself accepts', async () => {
    const text = renderConflist({ nodeName: 'n1' });
    expect(text).toBe(renderConflist({ nodeName: 'n1' }));
    expect(text.endsWith('}\n')).toBe(true);
    const list = JSON.parse(text) as { name: string; cniVersion: string; plugins: Record<string, unknown>[] };
    // What a runtime passes to the first plugin: its entry plus the list's name and version.
    const conf = await parseNetConf({ ...list.plugins[0], name: list.name, cniVersion: list.cniVersion });
    expect(conf).toMatchObject({
      name: 'k8s-pod-network',
      nodename: 'n1',
      mtu: 0,
      assignIPv4: true,
      assignIPv6: false,
    });
  });
});
