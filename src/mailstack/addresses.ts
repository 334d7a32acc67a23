/**
 * The address files the control plane uploads beside the mailbox set
 * (mailboxes.ts), defined once here; apply-addresses.sh checks the same shapes:
 *
 *   /etc/postfix/address_aliases   alias@domain owner@domain; with a catch-all also
 *                                  owner@domain owner@domain per mailbox, then @domain target@domain
 *   /etc/postfix/alias_senders     alias@domain owner@domain   (the owner's login may send as the alias)
 *   /etc/mailplane/sieve-scripts   one mailbox address per line: the scripts below that must exist
 *   /var/lib/dovecot/mailplane-sieve/<address>.sieve
 *                                  forwarding and vacation, run before the user's own filters
 *
 * A catch-all (`@domain`) in virtual_alias_maps would otherwise take the mail of
 * every mailbox too: Postfix looks up user@domain before @domain, so an identity
 * line per mailbox keeps their mail where it is (postconf(5), virtual_alias_maps).
 *
 * Sieve strings are quoted here (RFC 5228 §2.4.2: only `"` and `\` need escaping);
 * the API has already refused control characters, so a script cannot be broken out of.
 */
import type { RenderedFile } from './render.ts';
import { assertDnsName, assertLocalPart, TemplateInputError } from './validate.ts';

export const ADDRESS_ALIASES_PATH = '/etc/postfix/address_aliases';
export const ALIAS_SENDERS_PATH = '/etc/postfix/alias_senders';
export const SIEVE_LIST_PATH = '/etc/mailplane/sieve-scripts';
export const SIEVE_DIR = '/var/lib/dovecot/mailplane-sieve';

export interface AddressSet {
  /** Local parts of the server's active mailboxes. */
  mailboxes: readonly string[];
  aliases: readonly { localPart: string; mailbox: string }[];
  catchAll: string | null;
  forwards: readonly { mailbox: string; target: string; keepCopy: boolean }[];
  vacations: readonly { mailbox: string; startsOn: string; endsOn: string; subject: string; message: string; days: number }[];
}

const TARGET = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}@(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f]/;

export function sieveString(value: string): string {
  if (CONTROL.test(value)) throw new TemplateInputError('sieve', 'control characters are not allowed');
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

export function sievePath(address: string): string {
  return `${SIEVE_DIR}/${address}.sieve`;
}

/** The script of one mailbox; empty of actions (only comments) when nothing is set, so Dovecot's implicit keep applies. */
export function renderSieveScript(domain: string, mailbox: string, set: AddressSet): string {
  const forward = set.forwards.find((f) => f.mailbox === mailbox);
  const vacation = set.vacations.find((v) => v.mailbox === mailbox);
  const lines = [`# ${mailbox}@${domain}: forwarding and vacation as set in mailplane (rendered; local edits are overwritten).`];
  if (!forward && !vacation) return `${lines[0]}\n# Nothing set: the message goes on to the user's own filters.\n`;
  lines.push(`require [${['copy', 'date', 'relational', 'vacation'].map((x) => `"${x}"`).join(', ')}];`);
  lines.push('# Rspamd marks spam "X-Spam: Yes" (its add_header action): spam is neither answered nor forwarded, it stays here.');
  lines.push('if not header :is "X-Spam" "Yes" {');
  if (vacation) {
    if (!DATE.test(vacation.startsOn) || !DATE.test(vacation.endsOn)) throw new TemplateInputError('vacation', 'dates must be YYYY-MM-DD');
    if (!Number.isSafeInteger(vacation.days) || vacation.days < 1 || vacation.days > 30) throw new TemplateInputError('vacation', 'days must be 1 to 30');
    const addresses = set.aliases.filter((a) => a.mailbox === mailbox).map((a) => sieveString(`${a.localPart}@${domain}`));
    lines.push(
      `  if allof (currentdate :value "ge" "date" ${sieveString(vacation.startsOn)}, currentdate :value "le" "date" ${sieveString(vacation.endsOn)}) {`,
    );
    // RFC 5230: at most one reply per sender per :days; Pigeonhole never answers lists, bulk mail or an empty return path.
    lines.push(
      `    vacation :days ${vacation.days} :subject ${sieveString(vacation.subject)}${addresses.length ? ` :addresses [${addresses.join(', ')}]` : ''} ${sieveString(vacation.message)};`,
    );
    lines.push('  }');
  }
  if (forward) {
    if (!TARGET.test(forward.target)) throw new TemplateInputError('forward', `not an address: ${JSON.stringify(forward.target)}`);
    lines.push(`  redirect${forward.keepCopy ? ' :copy' : ''} ${sieveString(forward.target)};`);
  }
  lines.push('}');
  return `${lines.join('\n')}\n`;
}

export function renderAddressFiles(domain: string, set: AddressSet): RenderedFile[] {
  assertDnsName('domain', domain);
  const mailboxes = new Set(set.mailboxes.map((m) => assertLocalPart('mailbox', m)));
  const owned = (field: string, localPart: string) => {
    if (!mailboxes.has(localPart)) throw new TemplateInputError(field, `${localPart}@${domain} is not a mailbox of the server`);
    return `${localPart}@${domain}`;
  };
  const aliasLines: string[] = [];
  const senderLines: string[] = [];
  for (const alias of [...set.aliases].sort((a, b) => a.localPart.localeCompare(b.localPart))) {
    const address = `${assertLocalPart('alias', alias.localPart)}@${domain}`;
    if (mailboxes.has(alias.localPart)) throw new TemplateInputError('alias', `${address} is a mailbox`);
    const owner = owned('alias', alias.mailbox);
    aliasLines.push(`${address} ${owner}`);
    senderLines.push(`${address} ${owner}`);
  }
  if (set.catchAll) {
    const target = owned('catchAll', set.catchAll);
    for (const m of [...mailboxes].sort()) aliasLines.push(`${m}@${domain} ${m}@${domain}`);
    aliasLines.push(`@${domain} ${target}`);
  }
  for (const f of [...set.forwards, ...set.vacations]) owned('mailbox', f.mailbox);
  const file = (lines: string[]) => lines.map((l) => `${l}\n`).join('');
  const scripts = [...mailboxes].sort().map((m) => ({ path: sievePath(`${m}@${domain}`), content: renderSieveScript(domain, m, set), mode: 0o640 }));
  return [
    { path: ADDRESS_ALIASES_PATH, content: file(aliasLines), mode: 0o644 },
    { path: ALIAS_SENDERS_PATH, content: file(senderLines), mode: 0o644 },
    { path: SIEVE_LIST_PATH, content: file([...mailboxes].sort().map((m) => `${m}@${domain}`)), mode: 0o644 },
    ...scripts,
  ];
}
