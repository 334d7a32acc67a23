import { isIPv4 } from 'node:net';
import { describe, expect, it } from 'vitest';
import { AddressPool } from '../../../src/sandbox/scaleway/addresses.ts';

const inRange = (address: string, prefix: string, bits: number) => {
  const n = (a: string) => a.split('.').reduce((v, o) => v * 256 + Number(o), 0);
  const size = 2 ** (32 - bits);
  return Math.floor(n(address) / size) === Math.floor(n(prefix) / size);
};

describe('the Scaleway emulator address pool', () => {
  it('hands out a thousand distinct IPv4 addresses that no internet route reaches, documentation ranges first', () => {
    const pool = new AddressPool();
    const addresses = Array.from({ length: 1_200 }, () => pool.ipv4());
    expect(new Set(addresses).size).toBe(1_200);
    expect(addresses.every((a) => isIPv4(a))).toBe(true);
    expect(addresses.slice(0, 254).every((a) => inRange(a, '198.51.100.0', 24))).toBe(true);
    expect(addresses.slice(254, 508).every((a) => inRange(a, '192.0.2.0', 24))).toBe(true);
    // Past the 508 documentation addresses: RFC 6598 shared space, never a .0 or .255.
    expect(addresses.slice(508).every((a) => inRange(a, '100.64.0.0', 10) && !/\.(0|255)$/.test(a))).toBe(true);
  });
});
