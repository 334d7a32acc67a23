/**
 * The sandbox outbox: with no SMTP configured, product mail is stored in
 * PostgreSQL and listed on /sandbox/mail (like Mailpit), so the links in it
 * (verify, reset, invitation) can be clicked on a machine with no mail server.
 */
import { desc, eq } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { sandboxMail } from '../db/schema/index.ts';
import type { Mailer, MailMessage } from './mailer.ts';

export type StoredMail = typeof sandboxMail.$inferSelect;

export class SandboxOutbox implements Mailer {
  readonly kind = 'sandbox' as const;
  private readonly db: Db;
  private readonly from: string;

  constructor(opts: { db: Db; from: string }) {
    this.db = opts.db;
    this.from = opts.from;
  }

  async send(message: MailMessage): Promise<void> {
    const to = message.recipientErased ? message.to.map(() => '[erased]') : message.to;
    await this.db.insert(sandboxMail).values({ from: this.from, to, subject: message.subject, text: message.text, html: message.html ?? null });
  }

  async list(limit = 200): Promise<StoredMail[]> {
    return this.db.select().from(sandboxMail).orderBy(desc(sandboxMail.createdAt)).limit(limit);
  }

  async get(id: string): Promise<StoredMail | null> {
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)) return null;
    const [row] = await this.db.select().from(sandboxMail).where(eq(sandboxMail.id, id));
    return row ?? null;
  }

  async clear(): Promise<void> {
    await this.db.delete(sandboxMail);
  }
}
