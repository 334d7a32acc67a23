/** Which domains a customer may buy a server for: reserved names, suffixes, subdomains, mailbox providers, look-alikes. */
import { domainToASCII } from 'node:url';
import { describe, expect, it } from 'vitest';
import { domainSkeleton } from '../../../src/billing/confusable-domains.ts';
import { domainRefusal } from '../../../src/billing/domain-policy.ts';
import { loadConfig } from '../../../src/config.ts';

const production = { testDomainsAllowed: false };
const sandbox = { testDomainsAllowed: true };

describe('domainRefusal', () => {
  it.each([
    ['example.com', 'special_use'],
    ['mail.example.org', 'special_use'],
    ['example.net', 'special_use'],
    ['shop.test', 'special_use'],
    ['acme.example', 'special_use'],
    ['x.invalid', 'special_use'],
    ['box.localhost', 'special_use'],
    ['printer.local', 'special_use'],
    ['hidden.onion', 'special_use'],
    ['router.home.arpa', 'special_use'],
    ['thing.alt', 'special_use'],
    ['in-addr.arpa', 'special_use'],
    ['10.in-addr.arpa', 'special_use'],
    ['1.0.0.2.ip6.arpa', 'special_use'],
    ['corp.internal', 'special_use'],
    ['gmail.com', 'mailbox_provider'],
    ['outlook.com', 'mailbox_provider'],
    ['mail.yahoo.fr', 'mailbox_provider'],
    ['proton.me', 'mailbox_provider'],
    ['co.uk', 'public_suffix'],
    ['gov.uk', 'public_suffix'],
    ['sub.acme.com', 'subdomain'],
    ['mail.acme.co.uk', 'subdomain'],
    ['blog.someone.github.io', 'subdomain'],
    ['a.b.c.acme.fr', 'subdomain'],
  ])('refuses %s (%s)', (domain, reason) => {
    const refusal = domainRefusal(domain, production);
    expect(refusal?.reason).toBe(reason);
    expect(refusal?.message).toContain(domain);
  });

  it('names the registrable domain to use instead of a subdomain', () => {
    expect(domainRefusal('mail.acme.co.uk', production)?.message).toMatch(/acme\.co\.uk/);
  });

  it.each(['acme.com', 'acme.co.uk', 'acme.fr', 'xn--bcher-kva.de', 'acme-mail.eu'])('accepts %s', (domain) => {
    expect(domainRefusal(domain, production)).toBeNull();
  });

  it('allows .test and .example on the sandbox only, and never subdomains of them or example.com', () => {
    expect(domainRefusal('alpha-mail.test', sandbox)).toBeNull();
    expect(domainRefusal('harbour-mail.example', sandbox)).toBeNull();
    expect(domainRefusal('alpha-mail.test', production)?.reason).toBe('special_use');
    expect(domainRefusal('mail.alpha-mail.test', sandbox)?.reason).toBe('subdomain');
    expect(domainRefusal('example.com', sandbox)?.reason).toBe('special_use');
    expect(domainRefusal('x.localhost', sandbox)?.reason).toBe('special_use');
  });
});

describe('testDomainsAllowed', () => {
  const base = { SESSION_SECRET: 'x'.repeat(40) };
  it('is on for the sandbox (no Cloudflare credentials, or its API on loopback), off for a real Cloudflare and in production', () => {
    expect(loadConfig({ ...base, NODE_ENV: 'development' }).product.testDomainsAllowed).toBe(true);
    expect(
      loadConfig({ ...base, NODE_ENV: 'test', CLOUDFLARE_API_TOKEN: 't', CLOUDFLARE_ACCOUNT_ID: 'a', CLOUDFLARE_API_URL: 'http://127.0.0.1:4000' }).product
        .testDomainsAllowed,
    ).toBe(true);
    expect(loadConfig({ ...base, NODE_ENV: 'development', CLOUDFLARE_API_TOKEN: 't', CLOUDFLARE_ACCOUNT_ID: 'a' }).product.testDomainsAllowed).toBe(false);
  });
});

describe('domainSkeleton', () => {
  it('folds Cyrillic and Greek look-alikes of a punycode name onto the ASCII name it imitates', () => {
    expect(domainSkeleton(domainToASCII('аpple-mail.com'))).toBe('apple-mail.com');
    expect(domainSkeleton(domainToASCII('pаypаl.com'))).toBe('paypal.com');
    expect(domainSkeleton(domainToASCII('gοοgle.fr'))).toBe('google.fr');
    expect(domainSkeleton(domainToASCII('bücher.de'))).toBe('bucher.de');
  });

  it('leaves different names different', () => {
    expect(domainSkeleton('apple-mail.com')).not.toBe(domainSkeleton('apples-mail.com'));
  });
});
