/**
 * Renders the file tree installed on one mail server from `templates/`.
 * Contract used by the provisioning steps and `mailplane templates render`.
 *
 * Templates use `{{name}}` placeholders. Every value is validated first
 * (validate.ts) to a character set that is inert in every config language the
 * templates are written in, so substitution needs no per-language escaping; a
 * placeholder without a value is an error, never an empty string.
 */
import { readFileSync } from 'node:fs';
import { TEMPLATE_MANIFEST } from './manifest.ts';
import { packageTemplateValues } from './packages.ts';
import { validateServerInput } from './validate.ts';
import type { ServerTemplateInput } from './server-input.ts';

export type { ServerTemplateInput } from './server-input.ts';

export interface RenderedFile {
  /** Absolute path on the server. */
  path: string;
  content: string;
  mode: number;
}

export const TEMPLATES_DIR = new URL('../../templates/', import.meta.url);
export const LETS_ENCRYPT_DIRECTORY = 'https://acme-v02.api.letsencrypt.org/directory';

/** Secrets the install script chowns to their service user (upload leaves them root-owned 0600). */
export const dkimKeyPath = (domain: string, selector: string) => `/var/lib/rspamd/dkim/${domain}.${selector}.key`;
export const WEBMAIL_HMAC_KEY_PATH = '/etc/mailplane/webmail/hmac.key';
export const MTA_STS_POLICY_PATH = '/var/www/mta-sts/mta-sts.txt';

export function renderTemplate(text: string, values: Readonly<Record<string, string>>, name = 'template'): string {
  return text.replace(/\{\{\s*([A-Za-z0-9_]*)\s*\}\}/g, (_match, key: string) => {
    const value = values[key];
    if (value === undefined) throw new Error(`${name}: no value for placeholder {{${key}}}`);
    return value;
  });
}

/** The policy served at https://mta-sts.<domain>/.well-known/mta-sts.txt (RFC 8461 §3.2). */
export function renderMtaStsPolicy(policy: ServerTemplateInput['mtaStsPolicy']): string {
  return ['version: STSv1', `mode: ${policy.mode}`, ...policy.mx.map((mx) => `mx: ${mx}`), `max_age: ${policy.maxAge}`, ''].join('\n');
}

export function renderServerTree(input: ServerTemplateInput): RenderedFile[] {
  validateServerInput(input);
  const values: Record<string, string> = {
    hostname: input.hostname,
    domain: input.domain,
    ipv4: input.ipv4,
    ipv6: input.ipv6,
    dkimSelector: input.dkimSelector,
    adminEmail: input.adminEmail,
    acmeDirectoryUrl: input.acmeDirectoryUrl ?? LETS_ENCRYPT_DIRECTORY,
    messagesPerHourPerSender: String(input.limits.messagesPerHourPerSender),
    recipientsPerMessage: String(input.limits.recipientsPerMessage),
    quotaMb: String(input.limits.quotaMb),
    dkimKeyPath: dkimKeyPath(input.domain, input.dkimSelector),
    ...packageTemplateValues(),
  };
  const files: RenderedFile[] = TEMPLATE_MANIFEST.map((entry) => ({
    path: entry.path,
    content: renderTemplate(readFileSync(new URL(entry.template, TEMPLATES_DIR), 'utf8'), values, entry.template),
    mode: entry.mode,
  }));
  const pem = input.dkimPrivateKeyPem.trim();
  files.push(
    { path: dkimKeyPath(input.domain, input.dkimSelector), content: `${pem}\n`, mode: 0o600 },
    { path: WEBMAIL_HMAC_KEY_PATH, content: `${input.webmailHmacKey}\n`, mode: 0o600 },
    { path: MTA_STS_POLICY_PATH, content: renderMtaStsPolicy(input.mtaStsPolicy), mode: 0o644 },
  );
  return files.sort((a, b) => a.path.localeCompare(b.path));
}
