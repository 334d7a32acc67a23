/**
 * DNSBL query names, and the emulator's reading of them back to an address:
 * a wrong nibble order asks the list about somebody else's address.
 */
import { describe, expect, it } from 'vitest';
import { dnsblQueryName } from '../../../src/providers/lookup/dnsbl.ts';
import { canonicalIp, expandIpv6 } from '../../../src/providers/lookup/ip-address.ts';
import { addressFromDnsblName, characterStrings } from '../../../src/sandbox/dns/responder.ts';

const V6_NAME = '1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.zen.spamhaus.org';

describe('dnsblQueryName', () => {
  it('reverses the octets of an IPv4 address', () => {
    expect(dnsblQueryName('192.0.2.10', 'zen.spamhaus.org')).toBe('10.2.0.192.zen.spamhaus.org');
  });

  it('writes an IPv6 address as the 32 nibbles of its expanded form, reversed', () => {
    expect(dnsblQueryName('2001:db8::1', 'zen.spamhaus.org')).toBe(V6_NAME);
  });

  it('gives every spelling of one IPv6 address the same name', () => {
    for (const spelling of ['2001:DB8::1', '2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8:0:0::0:1']) {
      expect(dnsblQueryName(spelling, 'zen.spamhaus.org.')).toBe(V6_NAME);
    }
  });

  it('expands an IPv6 address with an embedded IPv4 tail', () => {
    expect(expandIpv6('::ffff:192.0.2.1')).toBe('0000:0000:0000:0000:0000:ffff:c000:0201');
    expect(expandIpv6('fe80::')).toBe('fe80:0000:0000:0000:0000:0000:0000:0000');
  });

  it('refuses something that is not an address', () => {
    expect(() => dnsblQueryName('mail.example.com', 'zen.spamhaus.org')).toThrow(/not an IP address/);
    expect(canonicalIp('192.0.2.256')).toBeNull();
  });
});

describe('the emulator reading a query name back', () => {
  it('recovers the address a query name was made from', () => {
    expect(addressFromDnsblName('10.2.0.192')).toBe('192.0.2.10');
    expect(addressFromDnsblName(V6_NAME.slice(0, -'.zen.spamhaus.org'.length))).toBe('2001:db8::1');
  });

  it('finds no address in labels of the wrong shape', () => {
    expect(addressFromDnsblName('2.0.192')).toBeNull();
    expect(addressFromDnsblName('300.2.0.192')).toBeNull();
    expect(addressFromDnsblName('www')).toBeNull();
  });
});

describe('TXT character-strings', () => {
  it('cuts a long value into 255-byte strings that join back to it', () => {
    const value = 'p='.padEnd(600, 'A');
    const chunks = characterStrings(value);
    expect(chunks.map((c) => c.length)).toEqual([255, 255, 90]);
    expect(Buffer.concat(chunks).toString('utf8')).toBe(value);
  });

  it('never cuts inside a UTF-8 character', () => {
    const chunks = characterStrings('é'.repeat(200));
    expect(chunks.map((c) => c.length)).toEqual([254, 146]);
    expect(chunks.map((c) => c.toString('utf8')).join('')).toBe('é'.repeat(200));
  });
});
