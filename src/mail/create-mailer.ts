/** Picks the product mailer: SMTP when MAIL_SMTP_URL is set, else the sandbox outbox. */
import type { Config } from '../config.ts';
import type { Db } from '../db/client.ts';
import type { Mailer } from './mailer.ts';
import { SandboxOutbox } from './sandbox-outbox.ts';
import { SmtpMailer } from './smtp-mailer.ts';

export function createMailer(config: Config, db: Db): { mailer: Mailer; outbox: SandboxOutbox | null; close(): void } {
  if (config.mail.smtpUrl) {
    const smtp = new SmtpMailer({ url: config.mail.smtpUrl, from: config.mail.from });
    return { mailer: smtp, outbox: null, close: () => smtp.close() };
  }
  const outbox = new SandboxOutbox({ db, from: config.mail.from });
  return { mailer: outbox, outbox, close: () => {} };
}
