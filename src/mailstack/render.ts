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
import { AUTOCONFIG_PATH, AUTODISCOVER_PATH, autoconfigXml, autodiscoverXml } from './mail-client-setup.ts';
import { TEMPLATE_MANIFEST, type TemplateEntry } from './manifest.ts';
import { packageTemplateValues } from './packages.ts';
import { validateServerInput } from './validate.ts';
import { rspamdEd25519Key } from './dkim-key-format.ts';
import type { ServerTemplateInput } from './server-input.ts';

export type { ServerTemplateInput } from './server-input.ts';

export interface RenderedFile {
  /** Absolute path on the server. */
  path: string;
  content: string;
  mode: number;
  /** A key or other secret: its content is never shown (drift diffs), only its digest compared. */
  secret?: boolean;
}

/** The templates a tree is rendered from: the bundled ones, or a stored stack version's (src/mailstack/stack.ts). */
export interface TemplateSet {
  manifest: readonly TemplateEntry[];
  /** Template path (relative to templates/) → its text. */
  text(template: string): string;
}

export const bundledTemplates = (dir: URL = TEMPLATES_DIR): TemplateSet => ({
  manifest: TEMPLATE_MANIFEST,
  text: (template) => readFileSync(new URL(template, dir), 'utf8'),
});

export const TEMPLATES_DIR = new URL('../../templates/', import.meta.url);
export const LETS_ENCRYPT_DIRECTORY = 'https://acme-v02.api.letsencrypt.org/directory';

/** Secrets the install script chowns to their service user (upload leaves them root-owned 0600). */
export const DKIM_KEY_DIR = '/var/lib/rspamd/dkim';
export const DKIM_SIGNING_CONF = '/etc/rspamd/local.d/dkim_signing.conf';
export const dkimKeyPath = (domain: string, selector: string) => `${DKIM_KEY_DIR}/${domain}.${selector}.key`;
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

/**
 * Rspamd's `selectors` list for the domain: the RSA key, then the Ed25519 one. Rspamd adds one
 * DKIM-Signature per entry (RSA first, so a receiver that only looks at the first signature sees the one it knows).
 */
function dkimSigningSelectors(input: ServerTemplateInput): string {
  const entry = (selector: string) => `      { selector = "${selector}"; path = "${dkimKeyPath(input.domain, selector)}"; }`;
  return [entry(input.dkimSelector), ...(input.dkimEd25519 ? [entry(input.dkimEd25519.selector)] : [])].join(',\n');
}

/** The DKIM files of a tree (the signing configuration and the keys): what a DKIM rotation uploads. */
export function dkimFiles(files: readonly RenderedFile[]): RenderedFile[] {
  return files.filter((f) => f.path === DKIM_SIGNING_CONF || f.path.startsWith(`${DKIM_KEY_DIR}/`));
}

/** nftables rules accepting SSH from the control plane only, one per family that has sources. */
export function sshAcceptRules(sources: string[]): string {
  const v4 = sources.filter((s) => !s.includes(':'));
  const v6 = sources.filter((s) => s.includes(':'));
  return [
    ...(v4.length ? [`tcp dport 22 ip saddr { ${v4.join(', ')} } accept`] : []),
    ...(v6.length ? [`tcp dport 22 ip6 saddr { ${v6.join(', ')} } accept`] : []),
  ].join('\n    ');
}

export function renderServerTree(input: ServerTemplateInput, templates: TemplateSet = bundledTemplates()): RenderedFile[] {
  validateServerInput(input);
  const values: Record<string, string> = {
    hostname: input.hostname,
    domain: input.domain,
    ipv4: input.ipv4,
    ipv6: input.ipv6,
    sshAccept: sshAcceptRules(input.sshSources),
    dkimSelector: input.dkimSelector,
    adminEmail: input.adminEmail,
    acmeDirectoryUrl: input.acmeDirectoryUrl ?? LETS_ENCRYPT_DIRECTORY,
    messagesPerHourPerSender: String(input.limits.messagesPerHourPerSender),
    recipientsPerMessage: String(input.limits.recipientsPerMessage),
    quotaMb: String(input.limits.quotaMb),
    dkimKeyPath: dkimKeyPath(input.domain, input.dkimSelector),
    dkimSigningSelectors: dkimSigningSelectors(input),
    ...packageTemplateValues(),
  };
  const files: RenderedFile[] = templates.manifest.map((entry) => ({
    path: entry.path,
    content: renderTemplate(templates.text(entry.template), values, entry.template),
    mode: entry.mode,
    ...(entry.secret ? { secret: true } : {}),
  }));
  const pem = input.dkimPrivateKeyPem.trim();
  files.push(
    {
      path: dkimKeyPath(input.domain, input.dkimSelector),
      content: `${pem}
`,
      mode: 0o600,
      secret: true,
    },
    ...(input.dkimEd25519
      ? [
          {
            path: dkimKeyPath(input.domain, input.dkimEd25519.selector),
            content: `${rspamdEd25519Key(input.dkimEd25519.privateKeyPem)}
`,
            mode: 0o600,
            secret: true,
          },
        ]
      : []),
    {
      path: WEBMAIL_HMAC_KEY_PATH,
      content: `${input.webmailHmacKey}
`,
      mode: 0o600,
      secret: true,
    },
    { path: MTA_STS_POLICY_PATH, content: renderMtaStsPolicy(input.mtaStsPolicy), mode: 0o644 },
    { path: AUTOCONFIG_PATH, content: autoconfigXml(input.domain, input.hostname), mode: 0o644 },
    { path: AUTODISCOVER_PATH, content: autodiscoverXml(input.hostname), mode: 0o644 },
  );
  return files.sort((a, b) => a.path.localeCompare(b.path));
}
