/**
 * The server's own mail (a bounce: envelope sender <>, From MAILER-DAEMON@<hostname>) judged by
 * mailauth's SPF and DMARC against exactly the records publish_dns would publish: a resolver that
 * answers from desiredRecords() and nothing else.
 */
import { describe, expect, it } from 'vitest';
import { authenticate } from 'mailauth';
import { desiredRecords, type RecordFacts } from '../../../provisioning/dns-records.ts';

const facts: RecordFacts = {
  domain: 'example.com',
  hostname: 'mail.example.com',
  ipv4: '198.51.100.7',
  ipv6: '2001:db8::7',
  dkim: { selector: 'mp2024', publicKeyBase64: 'MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA' },
  sshfpSha256Hex: null,
  dmarcRua: null,
  tlsRptRua: null,
};

/** A DNS that holds only the desired records (TXT answers as node:dns gives them: chunks per record). */
function resolverOf(f: RecordFacts) {
  const records = desiredRecords(f);
  return async (name: string, type: string) => {
    const found = records.filter((r) => r.name === name.toLowerCase().replace(/\.$/, '') && r.type === type);
    if (found.length === 0) throw Object.assign(new Error(`no ${type} for ${name}`), { code: 'ENOTFOUND' });
    return found.map((r) => (type === 'TXT' ? [r.content] : r.content)) as never;
  };
}

const bounce = (hostname: string) =>
  Buffer.from(
    [
      `From: MAILER-DAEMON@${hostname} (Mail Delivery System)`,
      'To: someone@elsewhere.example',
      'Subject: Undelivered Mail Returned to Sender',
      'Date: Mon, 7 Dec 2026 10:00:00 +0000',
      `Message-Id: <20261207100000.1@${hostname}>`,
      '',
      'This is the mail system at host mail.example.com.',
      '',
    ].join('\r\n'),
  );

describe('system mail of the server', () => {
  it('a bounce from the server (empty envelope sender, HELO = hostname) passes SPF and DMARC', async () => {
    const result = await authenticate(bounce(facts.hostname), {
      ip: facts.ipv4!,
      helo: facts.hostname,
      sender: '',
      mta: 'mx.elsewhere.example',
      resolver: resolverOf(facts),
    });
    expect(result.spf).toMatchObject({ status: { result: 'pass' } });
    expect(result.dmarc).toMatchObject({ status: { result: 'pass' } });
  });

  it('from an address the SPF record does not list, the same bounce fails DMARC (the judge can fail)', async () => {
    const result = await authenticate(bounce(facts.hostname), {
      ip: '203.0.113.9',
      helo: facts.hostname,
      sender: '',
      mta: 'mx.elsewhere.example',
      resolver: resolverOf(facts),
    });
    expect(result.spf).toMatchObject({ status: { result: 'fail' } });
    expect(result.dmarc).toMatchObject({ status: { result: 'fail' } });
  });

  it('publishes the hostname SPF from the same addresses as the domain, replacing only an SPF record', () => {
    const records = desiredRecords(facts);
    const domainSpf = records.find((r) => r.purpose === 'spf')!;
    const hostSpf = records.find((r) => r.purpose === 'spf_mail')!;
    expect(hostSpf).toMatchObject({ type: 'TXT', name: facts.hostname, content: domainSpf.content });
    expect(hostSpf.sameSlot({ id: 'x', type: 'TXT', name: facts.hostname, content: 'v=spf1 a -all', ttl: 1 } as never)).toBe(true);
    expect(hostSpf.sameSlot({ id: 'x', type: 'TXT', name: facts.hostname, content: 'google-site-verification=abc', ttl: 1 } as never)).toBe(false);
  });
});
