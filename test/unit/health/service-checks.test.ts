import { describe, expect, it } from 'vitest';
import type { DnsFacts } from '../../../src/health/dns-checks.ts';
import type { CertificateInfo, ServiceProbe } from '../../../src/health/probe.ts';
import { certificateCheck, portsCheck } from '../../../src/health/service-checks.ts';

const now = new Date('2026-12-02T00:00:00Z');
const facts = { server: { ipv4: '192.0.2.10', ipv6: '2001:db8::10', hostname: 'mx1.example.com' }, records: [], dkim: null, ips: [] } as unknown as DnsFacts;
const probeServing = (cert: Partial<CertificateInfo> | null): ServiceProbe => ({
  simulated: false,
  portState: async () => 'open',
  certificate: async () =>
    cert ? { validTo: new Date('2027-02-01T00:00:00Z'), spkiSha256: 'ab', names: ['mx1.example.com'], untrusted: null, ...cert } : null,
  mtaStsPolicy: async () => null,
});

describe('the certificate check', () => {
  it('passes a trusted certificate naming the server with more than 14 days left', async () => {
    expect((await certificateCheck(probeServing({}), facts, now)).status).toBe('pass');
  });

  it('fails a certificate mail clients would refuse, naming the reason, whatever its dates', async () => {
    const r = await certificateCheck(probeServing({ untrusted: 'SELF_SIGNED_CERT_IN_CHAIN' }), facts, now);
    expect(r).toMatchObject({ status: 'fail', details: { untrusted: 'SELF_SIGNED_CERT_IN_CHAIN' } });
    expect(r.summary).toContain('SELF_SIGNED_CERT_IN_CHAIN');
    expect(r.action).toMatch(/issue_tls/);
  });

  it('fails one that expires within 14 days, one for another name, and none at all', async () => {
    expect((await certificateCheck(probeServing({ validTo: new Date('2026-12-10T00:00:00Z') }), facts, now)).status).toBe('fail');
    expect((await certificateCheck(probeServing({ names: ['other.example.com'] }), facts, now)).status).toBe('fail');
    expect((await certificateCheck(probeServing(null), facts, now)).status).toBe('fail');
  });
});

describe('the ports check', () => {
  const probeWith = (shut: string[], noRoute: string[] = []): ServiceProbe => ({
    ...probeServing({}),
    portState: async (host, port) => (noRoute.includes(host) ? 'no-route' : shut.includes(`${host} ${port}`) ? 'closed' : 'open'),
  });

  it('asks every mail port on both addresses', async () => {
    const asked: string[] = [];
    const r = await portsCheck(
      {
        ...probeServing({}),
        portState: async (host, port) => {
          asked.push(`${host} ${port}`);
          return 'open';
        },
      },
      facts,
    );
    expect(r.status).toBe('pass');
    expect(asked.sort()).toEqual(['192.0.2.10', '2001:db8::10'].flatMap((h) => [25, 465, 587, 993, 443].map((p) => `${h} ${p}`)).sort());
  });

  it('fails a port closed on one family only, naming the address', async () => {
    const r = await portsCheck(probeWith(['2001:db8::10 25']), facts);
    expect(r).toMatchObject({ status: 'fail', details: { closed: [25], closedOn: ['[2001:db8::10]:25'] } });
    expect(r.summary).toBe('Port 25 (on 2001:db8::10) does not answer.');
  });

  it('names a port closed everywhere once', async () => {
    const r = await portsCheck(probeWith(['192.0.2.10 443', '2001:db8::10 443']), facts);
    expect(r.summary).toBe('Port 443 does not answer.');
  });

  it('calls an address family mailplane cannot reach "could not check", never a failure, unless a port is shut', async () => {
    const blind = await portsCheck(probeWith([], ['2001:db8::10']), facts);
    expect(blind).toMatchObject({ status: 'unknown', details: { notChecked: ['2001:db8::10'], closed: [] } });
    expect(blind.summary).toContain('answer on 192.0.2.10');
    expect((await portsCheck(probeWith(['192.0.2.10 25'], ['2001:db8::10']), facts)).status).toBe('fail');
  });
});
