/**
 * The files of issue 23's mail guard that the control plane pushes with the mailbox set
 * (src/mailboxes/sync.ts), next to renderMailboxFiles:
 *
 *   /etc/dovecot/app-passwords/<service>.<slot>   user@domain:{ARGON2ID}hash::::::mailplane_app=<id>
 *   /etc/rspamd/local.d/settings.conf              the domain's junk score (add_header action)
 *
 * Dovecot's passwd-file holds one password per user, so a mailbox's app passwords are spread
 * over APP_PASSWORD_SLOTS files per service, one passdb each (templates/dovecot/mailplane-guard.conf);
 * a password scoped to both services is in both. Every slot file is written on every sync, empty
 * when unused, so a revoked password disappears from the server with the next push.
 */
import type { RenderedFile } from './render.ts';
import { dovecotPasswordField } from './mailboxes.ts';
import { assertDnsName, assertLocalPart, TemplateInputError } from './validate.ts';

/** How many app passwords a mailbox may have; mailplane-guard.conf has one passdb per slot. */
export const APP_PASSWORD_SLOTS = 10;
export const APP_PASSWORD_SERVICES = ['imap', 'smtp'] as const;
export const APP_PASSWORD_DIR = '/etc/dovecot/app-passwords';
export const RSPAMD_SETTINGS_PATH = '/etc/rspamd/local.d/settings.conf';
/** Rspamd rejects from 15 (templates/rspamd/actions.conf): filing into Junk must start below. */
export const JUNK_SCORE_RANGE = { min: 1, max: 14 } as const;
/** templates/rspamd/actions.conf's greylist threshold. */
const GREYLIST_SCORE = 4;

export interface AppPasswordEntry {
  id: string;
  localPart: string;
  scopes: readonly (typeof APP_PASSWORD_SERVICES)[number][];
  passwordHash: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function renderAppPasswordFiles(domain: string, entries: readonly AppPasswordEntry[]): RenderedFile[] {
  assertDnsName('domain', domain);
  const lines = new Map<string, string[]>();
  for (const service of APP_PASSWORD_SERVICES) for (let slot = 1; slot <= APP_PASSWORD_SLOTS; slot++) lines.set(`${service}.${slot}`, []);
  // Slot = rank among the mailbox's passwords (the caller's order), per service.
  const rank = new Map<string, number>();
  for (const entry of entries) {
    if (!UUID.test(entry.id)) throw new TemplateInputError('appPassword.id', `not a uuid: ${JSON.stringify(entry.id)}`);
    const address = `${assertLocalPart('appPassword.localPart', entry.localPart)}@${domain}`;
    const slot = (rank.get(address) ?? 0) + 1;
    if (slot > APP_PASSWORD_SLOTS) throw new TemplateInputError('appPassword', `${address} has more than ${APP_PASSWORD_SLOTS} app passwords`);
    rank.set(address, slot);
    if (entry.scopes.length === 0) throw new TemplateInputError('appPassword.scopes', `empty for ${entry.id}`);
    for (const service of entry.scopes) {
      if (!APP_PASSWORD_SERVICES.includes(service)) throw new TemplateInputError('appPassword.scopes', `unknown service ${JSON.stringify(service)}`);
      lines.get(`${service}.${slot}`)!.push(`${address}:${dovecotPasswordField(entry.passwordHash)}::::::mailplane_app=${entry.id}`);
    }
  }
  return [...lines].map(([name, content]) => ({ path: `${APP_PASSWORD_DIR}/${name}`, content: content.map((l) => `${l}\n`).join(''), mode: 0o640 }));
}

/**
 * Rspamd's settings module applies the domain's junk score to mail for its recipients: from
 * that score the milter adds "X-Spam: Yes" and Sieve files the message into Junk.
 */
export function renderSpamSettings(domain: string, junkScore: number): RenderedFile {
  assertDnsName('domain', domain);
  if (!Number.isFinite(junkScore) || junkScore < JUNK_SCORE_RANGE.min || junkScore > JUNK_SCORE_RANGE.max) {
    throw new TemplateInputError('junkScore', `must be between ${JUNK_SCORE_RANGE.min} and ${JUNK_SCORE_RANGE.max}`);
  }
  const rounded = Math.round(junkScore * 10) / 10;
  // Rspamd takes the action with the highest threshold a score reaches: below the greylisting
  // threshold, mail scoring past it would be delayed instead of filed. Filing wins there.
  const greylist = rounded <= GREYLIST_SCORE ? '      greylist = null;\n' : '';
  return {
    path: RSPAMD_SETTINGS_PATH,
    mode: 0o644,
    content:
      `# ${RSPAMD_SETTINGS_PATH}, rendered by mailplane: the junk score of ${domain} (dashboard/API).\n` +
      `mailplane_junk_score {\n  priority = high;\n  rcpt = "@${domain}";\n  apply {\n    actions {\n      add_header = ${rounded.toFixed(1)};\n${greylist}    }\n  }\n}\n`,
  };
}
