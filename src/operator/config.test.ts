// The operator's configuration from its environment: Calico's CALICO_IPV4POOL_* variables and the chart's TABBY_*,
// every bad value refused at start-up naming the variable it came from.
import { describe, expect, it } from 'vitest';
import { settingsFromEnv } from './config.js';

describe('settingsFromEnv', () => {
  it("reads Calico's defaults when nothing is set (calico/node: 192.168.0.0/16, /26 blocks, IPIP Always, NAT on)", () => {
    expect(settingsFromEnv({})).toEqual({
      defaultPool: {
        create: true,
        name: 'default-ipv4-ippool',
        cidr: '192.168.0.0/16',
        blockSize: 26,
        ipipMode: 'Always',
        vxlanMode: 'Never',
        natOutgoing: true,
        nodeSelector: 'all()',
      },
    });
  });

  it.each([
    ['CALICO_IPV4POOL_CIDR', '10.0.0.0/99', /CALICO_IPV4POOL_CIDR \(spec\.cidr\): /],
    ['CALICO_IPV4POOL_CIDR', 'not-a-cidr', /CALICO_IPV4POOL_CIDR \(spec\.cidr\): /],
    ['CALICO_IPV4POOL_CIDR', 'fd00::/48', /CALICO_IPV4POOL_CIDR \(spec\.cidr\)|CALICO_IPV4POOL_BLOCK_SIZE/],
    ['CALICO_IPV4POOL_NODE_SELECTOR', 'has(zone', /CALICO_IPV4POOL_NODE_SELECTOR \(spec\.nodeSelector\): /],
    ['CALICO_IPV4POOL_NAME', 'Not_A_Name', /CALICO_IPV4POOL_NAME \(metadata\.name\): /],
    ['CALICO_IPV4POOL_BLOCK_SIZE', '33', /CALICO_IPV4POOL_BLOCK_SIZE must be an integer 20\.\.32/],
    ['CALICO_IPV4POOL_IPIP', 'sometimes', /CALICO_IPV4POOL_IPIP must be Always, CrossSubnet or Never/],
    ['TABBY_MTU', 'big', /TABBY_MTU must be an integer/],
  ])('refuses %s=%s at start-up, naming the variable', (name, value, message) => {
    expect(() => settingsFromEnv({ [name]: value })).toThrow(message);
  });

  it('does not check the pool it will not create', () => {
    expect(
      settingsFromEnv({ CALICO_IPV4POOL_CREATE: 'false', CALICO_IPV4POOL_CIDR: 'nonsense' }).defaultPool.create,
    ).toBe(false);
  });

  it('refuses IPIP and VXLAN together, as calico/node does', () => {
    expect(() => settingsFromEnv({ CALICO_IPV4POOL_IPIP: 'Always', CALICO_IPV4POOL_VXLAN: 'Always' })).toThrow(
      /cannot both be enabled/,
    );
  });
});
