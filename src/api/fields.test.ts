import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { durationSeconds, DURATION, ipOrCidrFamily, splitIPPort } from './fields.js';

describe('splitIPPort (Calico processIPPort forms)', () => {
  it.each([
    ['IPv4', '10.0.0.1', { ip: '10.0.0.1' }],
    ['IPv4 with port', '10.0.0.1:179', { ip: '10.0.0.1', port: 179 }],
    ['IPv6', 'fd00::1', { ip: 'fd00::1' }],
    ['IPv6 ending in digits is an address, not a port', 'fd00::1:179', { ip: 'fd00::1:179' }],
    ['bracketed IPv6 with port', '[fd00::1]:1790', { ip: 'fd00::1', port: 1790 }],
    ['port 65535', '10.0.0.1:65535', { ip: '10.0.0.1', port: 65535 }],
    // Calico's processIPPort takes any address in brackets (its IPv6PortFormat matches dotted quads too).
    ['IPv4 in brackets', '[10.0.0.1]:179', { ip: '10.0.0.1', port: 179 }],
  ] as const)('accepts %s', (_name, text, expected) => {
    expect(splitIPPort(text)).toEqual(expected);
  });

  it.each([
    ['port 0', '10.0.0.1:0'],
    ['port 65536', '10.0.0.1:65536'],
    ['bracketed IPv6 without port', '[fd00::1]'],
    ['hostname', 'router.example'],
    ['empty', ''],
    ['octet 256', '10.0.0.256'],
  ] as const)('refuses %s', (_name, text) => {
    expect(splitIPPort(text)).toBeUndefined();
  });

  it('round-trips every IPv4 address and port', () => {
    fc.assert(
      fc.property(fc.ipV4(), fc.integer({ min: 1, max: 65535 }), (ip, port) => {
        expect(splitIPPort(`${ip}:${port}`)).toEqual({ ip, port });
        expect(splitIPPort(ip)).toEqual({ ip });
      }),
    );
  });
});

describe('durations', () => {
  it.each([
    ['0', 0],
    ['0s', 0],
    ['90s', 90],
    ['1m30s', 90],
    ['1.5h', 5400],
    ['250ms', 0.25],
    ['2h45m', 9900],
    ['.5s', 0.5],
    ['1.s', 1],
    ['+90s', 90],
    ['1μs', 0.000001],
    ['1µs', 0.000001],
  ] as const)('%s is %d seconds', (text, seconds) => {
    expect(DURATION.test(text)).toBe(true);
    expect(durationSeconds(text)).toBeCloseTo(seconds, 9);
  });

  it.each(['10', '2 minutes', 's', '-5s', '1d', '.s', '', '1.5'])('refuses %s', (text) => {
    expect(DURATION.test(text)).toBe(false);
  });
});

describe('ipOrCidrFamily', () => {
  it.each([
    ['10.0.0.1', 4],
    ['10.0.0.1/8', 4],
    ['fd00::1', 6],
    ['fd00::/8', 6],
    ['nonsense', undefined],
    ['10.0.0.0/33', undefined],
  ] as const)('%s', (text, family) => {
    expect(ipOrCidrFamily(text)).toBe(family);
  });
});
