/**
 * DNSBL checks through node:dns against the sandbox DNS emulator over UDP,
 * with listings kept by DnsblListings the way the sandbox wires them.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createDnsblChecker, dnsblQueryName } from '../../../src/providers/lookup/dnsbl.ts';
import { DEFAULT_DNSBL_ZONES } from '../../../src/providers/lookup/dnsbl-zones.ts';
import type { BlacklistChecker } from '../../../src/providers/lookup/interface.ts';
import { DnsEmulator } from '../../../src/sandbox/dns/emulator.ts';
import { DnsblListings } from '../../../src/sandbox/dns/listings.ts';

const ZONES = DEFAULT_DNSBL_ZONES;

describe('DNSBL checks against the DNS emulator', () => {
  const listings = new DnsblListings();
  const emulator = new DnsEmulator({
    answer: () => null,
    dnsbl: { zones: ZONES, listedCodes: (ip, zone) => listings.listedCodes(ip, zone) },
  });
  let dnsbl: BlacklistChecker;
  const verdictOn = async (ip: string, zone: string) => (await dnsbl.check(ip)).find((v) => v.zone === zone);

  beforeAll(async () => {
    await emulator.start();
    dnsbl = createDnsblChecker({ servers: [emulator.address], zones: ZONES, timeoutMs: 300, tries: 1 });
  });
  afterEach(() => {
    for (const zone of ZONES) {
      emulator.setFailure(zone, null);
      emulator.setLatency(0, zone);
    }
    for (const { ip } of listings.all()) listings.delist(ip);
  });
  afterAll(() => emulator.stop());

  it('calls an address that no zone lists clean on every zone (NXDOMAIN)', async () => {
    const verdicts = await dnsbl.check('192.0.2.1');
    expect(verdicts).toEqual(ZONES.map((zone) => ({ zone, status: 'clean' })));
  });

  it('reports a listing with its codes and what they mean', async () => {
    listings.list('192.0.2.2', { zones: ['zen.spamhaus.org'], codes: ['127.0.0.4', '127.0.0.2'] });
    listings.list('192.0.2.3', { zones: ['bl.spamcop.net'] });
    expect(await verdictOn('192.0.2.2', 'zen.spamhaus.org')).toEqual({
      zone: 'zen.spamhaus.org',
      status: 'listed',
      codes: ['127.0.0.2', '127.0.0.4'],
      meaning: ['Spamhaus SBL: direct spam source', 'Spamhaus XBL: exploited or infected host'],
    });
    const spamcop = await dnsbl.check('192.0.2.3');
    expect(spamcop.find((v) => v.zone === 'bl.spamcop.net')).toMatchObject({ status: 'listed', codes: ['127.0.0.2'] });
    expect(spamcop.filter((v) => v.status === 'clean').map((v) => v.zone)).toEqual(ZONES.filter((z) => z !== 'bl.spamcop.net'));
  });

  it('sees a delisting at once', async () => {
    listings.list('192.0.2.4');
    expect((await dnsbl.check('192.0.2.4')).every((v) => v.status === 'listed')).toBe(true);
    listings.delist('192.0.2.4');
    expect((await dnsbl.check('192.0.2.4')).every((v) => v.status === 'clean')).toBe(true);
  });

  it.each(['127.255.255.252', '127.255.255.254', '127.255.255.255'])('treats the query-error answer %s as unknown, never listed', async (code) => {
    listings.list('192.0.2.5', { zones: ['zen.spamhaus.org'], codes: [code] });
    const verdict = await verdictOn('192.0.2.5', 'zen.spamhaus.org');
    expect(verdict).toMatchObject({ status: 'unknown', error: expect.stringContaining('query error') });
  });

  it('treats the emulated Spamhaus public-resolver refusal as unknown', async () => {
    emulator.setFailure('zen.spamhaus.org', 'query-error');
    expect(await verdictOn('192.0.2.6', 'zen.spamhaus.org')).toEqual({
      zone: 'zen.spamhaus.org',
      status: 'unknown',
      error: 'query error: queried through a public or open resolver',
    });
  });

  it('treats an answer outside 127.0.0.0/8 (a resolver rewriting NXDOMAIN) as unknown', async () => {
    listings.list('192.0.2.7', { zones: ['psbl.surriel.com'], codes: ['198.51.100.80'] });
    expect(await verdictOn('192.0.2.7', 'psbl.surriel.com')).toMatchObject({ status: 'unknown', error: expect.stringContaining('198.51.100.80') });
  });

  it('treats a zone that does not answer as unknown, not clean, and still answers for the others', async () => {
    emulator.setFailure('bl.mailspike.net', 'timeout');
    const verdicts = await dnsbl.check('192.0.2.8');
    expect(verdicts.find((v) => v.zone === 'bl.mailspike.net')).toEqual({ zone: 'bl.mailspike.net', status: 'unknown', error: 'ETIMEOUT' });
    expect(verdicts.filter((v) => v.status === 'clean')).toHaveLength(ZONES.length - 1);
  });

  it('treats a zone slower than the timeout as unknown while the others answer in time', async () => {
    // 60 s against a 300 ms client timeout: the outcome does not depend on how busy the machine is.
    emulator.setLatency(60_000, 'ix.dnsbl.manitu.net');
    const verdicts = await dnsbl.check('192.0.2.11');
    expect(verdicts.find((v) => v.zone === 'ix.dnsbl.manitu.net')).toEqual({ zone: 'ix.dnsbl.manitu.net', status: 'unknown', error: 'ETIMEOUT' });
    expect(verdicts.filter((v) => v.status === 'clean')).toHaveLength(ZONES.length - 1);
  });

  it('keeps its configured timeout after a run of fast answers', async () => {
    // c-ares shrinks a long-lived channel's timeout towards the round-trip
    // times it has seen (under 1 ms here); a 1 s answer must still count.
    const checker = createDnsblChecker({ servers: [emulator.address], zones: ZONES, timeoutMs: 10_000, tries: 1 });
    for (let i = 0; i < 10; i++) await checker.check(`198.51.100.${i}`);
    emulator.setLatency(1000, 'zen.spamhaus.org');
    expect(await checker.check('198.51.100.99')).toEqual(ZONES.map((zone) => ({ zone, status: 'clean' })));
  });

  it('treats SERVFAIL and REFUSED as unknown', async () => {
    emulator.setFailure('bl.spamcop.net', 'servfail');
    emulator.setFailure('psbl.surriel.com', 'refused');
    const verdicts = await dnsbl.check('192.0.2.9');
    expect(verdicts.find((v) => v.zone === 'bl.spamcop.net')).toEqual({ zone: 'bl.spamcop.net', status: 'unknown', error: 'ESERVFAIL' });
    expect(verdicts.find((v) => v.zone === 'psbl.surriel.com')).toEqual({ zone: 'psbl.surriel.com', status: 'unknown', error: 'EREFUSED' });
  });

  it('asks for an IPv6 address by its 32 reversed nibbles and finds it however it was spelled', async () => {
    listings.list('2001:DB8:0:0:0::1', { zones: ['psbl.surriel.com'], codes: ['127.0.0.2'] });
    const verdicts = await dnsbl.check('2001:db8::1');
    const asked = '1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.psbl.surriel.com';
    expect(dnsblQueryName('2001:db8::1', 'psbl.surriel.com')).toBe(asked);
    expect(emulator.queries.some((q) => q.name === asked && q.type === 'A')).toBe(true);
    expect(verdicts.find((v) => v.zone === 'psbl.surriel.com')).toMatchObject({ status: 'listed', codes: ['127.0.0.2'] });
    expect(verdicts.filter((v) => v.status === 'clean')).toHaveLength(ZONES.length - 1);
  });

  it('sends every zone its query before any answer has come back', async () => {
    // Answers are parked: a checker that waited for one zone before asking the
    // next would send one query and never reach the others (the test times out).
    const patient = createDnsblChecker({ servers: [emulator.address], zones: ZONES, timeoutMs: 60_000, tries: 1 });
    const names = ZONES.map((zone) => dnsblQueryName('192.0.2.10', zone));
    const release = emulator.hold();
    const pending = patient.check('192.0.2.10');
    try {
      await emulator.waitForQueries((qs) => names.every((n) => qs.some((q) => q.name === n)));
      const ours = emulator.queries.filter((q) => names.includes(q.name));
      expect(ours.every((q) => q.outcome === null)).toBe(true);
    } finally {
      release();
    }
    expect((await pending).map((v) => v.status)).toEqual(ZONES.map(() => 'clean'));
  });
});
