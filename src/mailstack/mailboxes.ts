/**
 * The mailbox files the control plane uploads to a server, defined once here
 * (the mailbox feature renders them; apply-mailboxes.sh checks the same shapes):
 *
 *   /etc/dovecot/users                 user@domain:{SCHEME}hash::::::userdb_quota_rule=*:storage=<quotaMb>M[ allow_nets=…]
 *   /etc/postfix/virtual_mailboxes     user@domain OK
 *   /etc/postfix/sender_login_maps     user@domain user@domain   (a login may send only as itself)
 *   /etc/postfix/virtual_aliases       postmaster@domain user@domain (role addresses, see below)
 *
 * RFC 5321 and RFC 2142 want postmaster@ (and abuse@) to reach a person, and the
 * TLS-RPT reports default to postmaster@, DMARC aggregate reports to
 * dmarc-reports@ (kept apart for the reports to be read): unless the customer made those
 * mailboxes themselves, they are aliases of the first mailbox (the caller's order).
 *
 * The Dovecot line is a passwd-file entry: user, password, then empty uid, gid,
 * gecos, home and shell (Dovecot's default_fields fill them), then extra fields.
 * Hashes are argon2id (PHC string, as @node-rs/argon2 writes it) or SHA512-CRYPT;
 * either may come with or without Dovecot's {SCHEME} prefix.
 */
import type { RenderedFile } from './render.ts';
import { assertDnsName, assertLocalPart, TemplateInputError } from './validate.ts';

export interface MailboxEntry {
  localPart: string;
  passwordHash: string;
  quotaMb: number;
  /** false: the main password works only from the server itself (the webmail), not for mail clients. */
  mainPasswordForClients?: boolean | undefined;
}

/**
 * The main password of a mailbox with mainPasswordForClients off: accepted from the loopback
 * only (Roundcube's IMAP and SMTP logins), refused to every client outside, where the mailbox's
 * app passwords (the passdbs after this one) still work. The webmail's auto-login link
 * authenticates as the master user from the loopback, so it keeps working too.
 */
export const LOOPBACK_ONLY = 'allow_nets=127.0.0.1/32,::1/128';

export const DOVECOT_USERS_PATH = '/etc/dovecot/users';
export const VIRTUAL_MAILBOXES_PATH = '/etc/postfix/virtual_mailboxes';
export const SENDER_LOGIN_MAPS_PATH = '/etc/postfix/sender_login_maps';
export const VIRTUAL_ALIASES_PATH = '/etc/postfix/virtual_aliases';
/** dmarc-reports@: where the DMARC record sends aggregate reports by default (provisioning/dns-records.ts). */
export const ROLE_ADDRESSES = ['postmaster', 'abuse', 'dmarc-reports'] as const;

const ARGON2ID = /^\$argon2id\$v=19\$m=\d{1,10},t=\d{1,10},p=\d{1,3}\$[A-Za-z0-9+/]{8,}\$[A-Za-z0-9+/]{16,}$/;
const SHA512_CRYPT = /^\$6\$(rounds=\d{1,9}\$)?[A-Za-z0-9./]{1,16}\$[A-Za-z0-9./]{86}$/;

/** The hash with its Dovecot scheme prefix; anything else (including a plaintext password) is refused. */
export function dovecotPasswordField(hash: string): string {
  const bare = hash.replace(/^\{(ARGON2ID|SHA512-CRYPT)\}/, '');
  const prefix = hash.startsWith('{') ? hash.slice(0, hash.indexOf('}') + 1) : '';
  if (ARGON2ID.test(bare) && (prefix === '' || prefix === '{ARGON2ID}')) return `{ARGON2ID}${bare}`;
  if (SHA512_CRYPT.test(bare) && (prefix === '' || prefix === '{SHA512-CRYPT}')) return `{SHA512-CRYPT}${bare}`;
  throw new TemplateInputError('passwordHash', 'must be an argon2id or SHA512-CRYPT hash');
}

export function renderMailboxFiles(domain: string, mailboxes: readonly MailboxEntry[]): RenderedFile[] {
  assertDnsName('domain', domain);
  const seen = new Set<string>();
  const users: string[] = [];
  const addresses: string[] = [];
  for (const mailbox of [...mailboxes].sort((a, b) => a.localPart.localeCompare(b.localPart))) {
    const address = `${assertLocalPart('localPart', mailbox.localPart)}@${domain}`;
    if (seen.has(address)) throw new TemplateInputError('localPart', `duplicate mailbox ${address}`);
    seen.add(address);
    if (!Number.isSafeInteger(mailbox.quotaMb) || mailbox.quotaMb < 1) throw new TemplateInputError('quotaMb', `must be a positive integer for ${address}`);
    const loopbackOnly = mailbox.mainPasswordForClients === false ? ` ${LOOPBACK_ONLY}` : '';
    users.push(`${address}:${dovecotPasswordField(mailbox.passwordHash)}::::::userdb_quota_rule=*:storage=${mailbox.quotaMb}M${loopbackOnly}`);
    addresses.push(address);
  }
  const file = (lines: string[]) => lines.map((l) => `${l}\n`).join('');
  const first = mailboxes[0] ? `${mailboxes[0].localPart}@${domain}` : null;
  const aliases = first
    ? ROLE_ADDRESSES.map((role) => `${role}@${domain}`)
        .filter((a) => !seen.has(a))
        .map((a) => `${a} ${first}`)
    : [];
  return [
    { path: DOVECOT_USERS_PATH, content: file(users), mode: 0o640 },
    { path: VIRTUAL_MAILBOXES_PATH, content: file(addresses.map((a) => `${a} OK`)), mode: 0o644 },
    { path: SENDER_LOGIN_MAPS_PATH, content: file(addresses.map((a) => `${a} ${a}`)), mode: 0o644 },
    { path: VIRTUAL_ALIASES_PATH, content: file(aliases), mode: 0o644 },
  ];
}
