/**
 * Billing mail to a workspace's owners and admins: a failed payment, a
 * suspension with the date the data goes, a reinstatement. Sent by the
 * `billing.notify` job, enqueued in the transaction that made the change, so a
 * change is mailed once and a mail failure is retried without redoing it.
 * The link goes to the Billing page, whose button opens Stripe's customer
 * portal: a portal session URL lives minutes, too short for a mail.
 */
import { eq } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { servers, subscriptions } from '../db/schema/index.ts';
import type { JobData } from '../jobs/catalog.ts';
import type { MailMessage, Mailer } from '../mail/mailer.ts';
import { managers } from '../mail/server-notices.ts';

export interface NoticeDeps {
  db: Db;
  mailer: Mailer;
  publicUrl: string;
}

const SIGNATURE = '\n-- \nmailplane: your dedicated mail server\n';
const day = (d: Date) => d.toISOString().slice(0, 10);

export function billingMessage(to: string[], kind: JobData<'billing.notify'>['kind'], o: { domain: string; link: string; graceEndsAt: Date | null }): MailMessage {
  switch (kind) {
    case 'payment_failed':
      return {
        to, subject: `Payment failed for your mail server ${o.domain}`,
        text: `We could not take the payment for your mail server ${o.domain}. Stripe will try again over the next days.\n\n`
          + `Mail keeps arriving, but mailboxes and webmail are on hold until the payment goes through. Update your card or pay the open invoice here (Billing, then "Manage billing"):\n\n${o.link}${SIGNATURE}`,
      };
    case 'suspended':
      return {
        to, subject: `Your mail server ${o.domain} is suspended`,
        text: `The subscription for ${o.domain} has ended because it was not paid or was cancelled. The server and all its mail are kept until ${o.graceEndsAt ? day(o.graceEndsAt) : 'the end of the grace period'}; after that date they are deleted for good.\n\n`
          + `To keep them, pay the open invoice in Billing ("Manage billing" opens Stripe's customer portal):\n\n${o.link}${SIGNATURE}`,
      };
    case 'reinstated':
      return {
        to, subject: `Your mail server ${o.domain} is active again`,
        text: `Thank you: the payment for ${o.domain} went through and the server is active again, with all its mail.\n\n${o.link}${SIGNATURE}`,
      };
  }
}

/** The job: throws when the mail cannot be sent, so pg-boss retries it with backoff. */
export async function sendBillingNotice(deps: NoticeDeps, job: JobData<'billing.notify'>): Promise<'sent' | 'nobody to tell'> {
  const [row] = await deps.db.select({ sub: subscriptions, domain: servers.domain }).from(subscriptions)
    .leftJoin(servers, eq(servers.subscriptionId, subscriptions.id)).where(eq(subscriptions.id, job.subscriptionId));
  if (!row) return 'nobody to tell';
  const to = await managers(deps.db, row.sub.workspaceId);
  if (to.length === 0) return 'nobody to tell';
  const link = `${deps.publicUrl}/w/${row.sub.workspaceId}/billing`;
  await deps.mailer.send(billingMessage(to, job.kind, { domain: row.domain ?? 'your domain', link, graceEndsAt: row.sub.graceEndsAt }));
  return 'sent';
}
