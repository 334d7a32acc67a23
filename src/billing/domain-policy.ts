/**
 * Which syntactically valid domains a customer may buy a mail server for. A refusal names the
 * rule, so the customer knows what to enter instead:
 *
 * - Special-use and reserved names (RFC 2606, RFC 6761 and the IANA special-use registry:
 *   `example.*`, `.test`, `.invalid`, `.localhost`, `.local`, `.onion`, `.alt`, `.internal`) and
 *   everything under `.arpa` (reverse zones `in-addr.arpa` and `ip6.arpa`, `home.arpa`): nobody
 *   can own them. `.test` and `.example` are allowed only while DNS is the sandbox's emulator and
 *   not in production (`config.product.testDomainsAllowed`), because that is what they are for.
 * - A domain must be registrable: a public suffix (`co.uk`) is nobody's, and a subdomain
 *   (`mail.example.com`) cannot be a Cloudflare zone outside Enterprise plans, so a paid order
 *   would fail at `publish_dns`. The Public Suffix List's ICANN section decides (tldts).
 * - Well-known mailbox providers (gmail.com, outlook.com, …): their users cannot move the
 *   nameservers, and a look-alike server there would be a phishing kit.
 */
import { getDomain, getPublicSuffix } from 'tldts';
import type { Config } from '../config.ts';
import { ValidationError } from '../errors.ts';

/** Top-level labels that are special-use or reserved, never delegated to anyone. */
const SPECIAL_USE_TLDS = new Set([
  'test',
  'example',
  'invalid',
  'localhost',
  'local',
  'onion',
  'alt',
  'internal',
  'arpa',
  'home',
  'corp',
  'lan',
  'localdomain',
]);
const SANDBOX_TLDS = new Set(['test', 'example']);
/** RFC 2606 second-level names. */
const RESERVED_DOMAINS = ['example.com', 'example.net', 'example.org', 'example.edu'];

/** Mailbox providers whose domains no customer runs a mail server for. */
export const MAILBOX_PROVIDERS = [
  'gmail.com',
  'googlemail.com',
  'google.com',
  'outlook.com',
  'outlook.fr',
  'outlook.de',
  'hotmail.com',
  'hotmail.fr',
  'hotmail.de',
  'hotmail.co.uk',
  'hotmail.it',
  'hotmail.es',
  'live.com',
  'live.fr',
  'live.de',
  'live.co.uk',
  'msn.com',
  'microsoft.com',
  'yahoo.com',
  'yahoo.fr',
  'yahoo.de',
  'yahoo.co.uk',
  'yahoo.it',
  'yahoo.es',
  'ymail.com',
  'rocketmail.com',
  'aol.com',
  'icloud.com',
  'me.com',
  'mac.com',
  'apple.com',
  'proton.me',
  'protonmail.com',
  'protonmail.ch',
  'pm.me',
  'tutanota.com',
  'tutanota.de',
  'tuta.io',
  'tuta.com',
  'gmx.com',
  'gmx.de',
  'gmx.net',
  'gmx.fr',
  'gmx.at',
  'gmx.ch',
  'web.de',
  'mail.com',
  'fastmail.com',
  'fastmail.fm',
  'zoho.com',
  'zohomail.com',
  'yandex.com',
  'yandex.ru',
  'mail.ru',
  'qq.com',
  '163.com',
  '126.com',
  'orange.fr',
  'wanadoo.fr',
  'free.fr',
  'sfr.fr',
  'laposte.net',
  't-online.de',
  'freenet.de',
  'libero.it',
  'virgilio.it',
  'seznam.cz',
  'wp.pl',
  'o2.pl',
  'onet.pl',
  'interia.pl',
  'posteo.de',
  'mailbox.org',
  'hey.com',
  'skynet.be',
  'telenet.be',
  'ziggo.nl',
  'kpnmail.nl',
];
const PROVIDERS = new Set(MAILBOX_PROVIDERS);

export type DomainRefusalReason = 'special_use' | 'public_suffix' | 'subdomain' | 'mailbox_provider';

export interface DomainRefusal {
  reason: DomainRefusalReason;
  message: string;
}

/** null when the domain may be bought; otherwise why not, in a sentence for the customer. */
export function domainRefusal(domain: string, opts: { testDomainsAllowed: boolean }): DomainRefusal | null {
  const tld = domain.split('.').at(-1)!;
  const sandboxName = opts.testDomainsAllowed && SANDBOX_TLDS.has(tld);
  if (!sandboxName && (SPECIAL_USE_TLDS.has(tld) || RESERVED_DOMAINS.some((r) => domain === r || domain.endsWith(`.${r}`)))) {
    return { reason: 'special_use', message: `${domain} is a reserved or special-use name (RFC 2606/6761) that nobody can register; enter a domain you own` };
  }
  if (PROVIDERS.has(domain) || MAILBOX_PROVIDERS.some((p) => domain.endsWith(`.${p}`))) {
    return { reason: 'mailbox_provider', message: `${domain} belongs to a mailbox provider; enter a domain you own` };
  }
  // ICANN section only: a name under a private suffix (github.io) cannot be a zone of its own either.
  const registrable = getDomain(domain, { allowPrivateDomains: false });
  if (registrable === null || getPublicSuffix(domain, { allowPrivateDomains: false }) === domain) {
    return { reason: 'public_suffix', message: `${domain} is a public suffix (like co.uk), not a domain anyone owns; enter your domain under it` };
  }
  if (registrable !== domain) {
    return {
      reason: 'subdomain',
      message: `${domain} is a subdomain; a mail server is set up for a registered domain (${registrable}), whose nameservers you can move`,
    };
  }
  return null;
}

export function assertDomainAllowed(config: Config, domain: string): void {
  const refusal = domainRefusal(domain, { testDomainsAllowed: config.product.testDomainsAllowed });
  if (refusal) throw new ValidationError(refusal.message, { reason: refusal.reason, errors: [{ path: 'json.domain', message: refusal.message }] });
}
