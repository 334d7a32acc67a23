/** Values that could break out of a config line or a shell word are refused before anything is rendered. */
import { describe, expect, it } from 'vitest';
import { renderServerTree, type ServerTemplateInput } from '../../../src/mailstack/render.ts';
import { TemplateInputError } from '../../../src/mailstack/validate.ts';
import { sampleServer } from './sample-server.ts';

const hostile = ['\n', '\r', '"', "'", '$', '`', ';', ' ', '{', '}', '\\', '#', '%', '*', '/', '\0'];

function rejects(overrides: Partial<ServerTemplateInput>, field: string) {
  expect(() => renderServerTree(sampleServer(overrides))).toThrow(TemplateInputError);
  expect(() => renderServerTree(sampleServer(overrides))).toThrow(new RegExp(`^${field.replace('.', '\\.')}:`));
}

describe('hostile template input', () => {
  for (const ch of hostile) {
    const shown = JSON.stringify(ch);
    it(`rejects ${shown} in the hostname, domain, selector and admin email`, () => {
      rejects({ hostname: `mail${ch}.example.com` }, 'hostname');
      rejects({ hostname: `mail.example.com${ch}` }, 'hostname');
      rejects({ domain: `exa${ch}mple.com` }, 'domain');
      rejects({ domain: `example.com${ch}` }, 'domain');
      rejects({ dkimSelector: `mp${ch}1` }, 'dkimSelector');
      rejects({ adminEmail: `post${ch}master@example.com` }, 'adminEmail');
      rejects({ mtaStsPolicy: { mode: 'enforce', mx: [`mail.example.com${ch}`], maxAge: 604800 } }, 'mtaStsPolicy.mx');
    });
  }

  it('takes only a plain https ACME directory, and renders it into issue-tls.sh', () => {
    for (const url of [
      'http://acme.example/dir',
      "https://acme.example/dir'; rm -rf /",
      'https://acme.example/$(id)',
      'https://acme.example/a b',
      'ftp://acme.example',
    ]) {
      rejects({ acmeDirectoryUrl: url }, 'acmeDirectoryUrl');
    }
    const staging = 'https://acme-staging-v02.api.letsencrypt.org/directory';
    const script = renderServerTree(sampleServer({ acmeDirectoryUrl: staging })).find((f) => f.path.endsWith('/issue-tls.sh'))!;
    expect(script.content).toContain(`--server '${staging}'`);
  });

  it('takes only addresses and CIDRs as SSH sources, never an empty list, and renders them into nftables', () => {
    for (const sources of [
      [],
      ['198.51.100.7 } accept; tcp dport 22 accept #'],
      ['0.0.0.0/0 accept'],
      ['example.com'],
      ['198.51.100.0/33'],
      ['fe80::1%eth0'],
    ]) {
      rejects({ sshSources: sources }, 'sshSources');
    }
    const nft = renderServerTree(sampleServer({ sshSources: ['198.51.100.7', '2001:db8:7::/48'] })).find((f) => f.path === '/etc/nftables.conf')!.content;
    expect(nft).toContain('tcp dport 22 ip saddr { 198.51.100.7 } accept');
    expect(nft).toContain('tcp dport 22 ip6 saddr { 2001:db8:7::/48 } accept');
    expect(nft).not.toMatch(/^\s*tcp dport 22 accept$/m);
  });

  it('rejects a newline followed by a directive (config injection)', () => {
    rejects({ domain: 'example.com\nmynetworks = 0.0.0.0/0' }, 'domain');
    rejects({ hostname: 'mail.example.com\n  -o smtpd_relay_restrictions=permit' }, 'hostname');
    rejects({ dkimSelector: 'x";\nenabled = false;' }, 'dkimSelector');
  });

  it('rejects shell expansion in names', () => {
    rejects({ hostname: '$(reboot).example.com' }, 'hostname');
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell expansion as hostile input, on purpose.
    rejects({ domain: '${IFS}example.com' }, 'domain');
  });

  it('rejects uppercase, empty and oversized names, and a hostname equal to the domain', () => {
    rejects({ hostname: 'Mail.Example.com' }, 'hostname');
    rejects({ domain: '' }, 'domain');
    rejects({ dkimSelector: 'a'.repeat(64) }, 'dkimSelector');
    rejects({ hostname: 'example.com', domain: 'example.com' }, 'hostname');
  });

  it('rejects addresses that are not plain IPv4/IPv6', () => {
    rejects({ ipv4: '203.0.113.10\n' }, 'ipv4');
    rejects({ ipv4: '2001:db8::10' }, 'ipv4');
    rejects({ ipv6: 'fe80::1%eth0' }, 'ipv6');
    rejects({ ipv6: '203.0.113.10' }, 'ipv6');
  });

  it('rejects keys and limits that are not what they claim to be', () => {
    rejects({ dkimPrivateKeyPem: 'not a key' }, 'dkimPrivateKeyPem');
    rejects({ webmailHmacKey: Buffer.alloc(16).toString('base64') }, 'webmailHmacKey');
    rejects({ webmailHmacKey: 'AAAA\nAAAA' }, 'webmailHmacKey');
    rejects({ limits: { messagesPerHourPerSender: 1.5, recipientsPerMessage: 100, quotaMb: 100 } }, 'limits.messagesPerHourPerSender');
    rejects({ limits: { messagesPerHourPerSender: 100, recipientsPerMessage: 0, quotaMb: 100 } }, 'limits.recipientsPerMessage');
    rejects({ limits: { messagesPerHourPerSender: 100, recipientsPerMessage: 100, quotaMb: Number.NaN } }, 'limits.quotaMb');
    rejects({ mtaStsPolicy: { mode: 'none' as 'enforce', mx: ['mail.example.com'], maxAge: 604800 } }, 'mtaStsPolicy.mode');
  });

  it('accepts a wildcard MTA-STS mx pattern', () => {
    expect(() => renderServerTree(sampleServer({ mtaStsPolicy: { mode: 'testing', mx: ['*.example.com'], maxAge: 86400 } }))).not.toThrow();
  });
});
