/**
 * Billing mail to a workspace's owners and admins: a failed payment, a
 * suspension with the date the data goes, a reinstatement; and to its owners
 * (who alone can make them): a server's cancellation, its undoing, a plan change. Sent by the
 * `billing.notify` job, enqueued in the transaction that made the change, so a
 * change is mailed once and a mail failure is retried without redoing it.
 * The link goes to the Billing page, whose button opens Stripe's customer
 * portal: a portal session URL lives minutes, too short for a mail.
 */
import { and, eq } from 'drizzle-orm';
import { mailboxQuotaMb, type Plan } from '../config.ts';
import type { Db } from '../db/client.ts';
import { memberships, servers, subscriptions, users } from '../db/schema/index.ts';
import type { JobData } from '../jobs/catalog.ts';
import type { MailMessage, Mailer } from '../mail/mailer.ts';
import { managers } from '../mail/server-notices.ts';

export interface NoticeDeps {
  db: Db;
  mailer: Mailer;
  publicUrl: string;
  /** The plans, for their names in a plan change's mail. */
  plans?: readonly Pick<Plan, 'id' | 'name' | 'mailboxes' | 'storageGb' | 'mailboxQuotaGb'>[];
  /** How long an ended subscription's server is kept (BILLING_GRACE_DAYS), said in the cancellation mail. */
  graceDays?: number;
}

/** Mail about a change only an owner can make (cancel, plan) goes to the owners, who made or can undo it. */
const OWNER_KINDS = new Set(['cancellation_scheduled', 'cancellation_undone', 'plan_changed']);

export async function owners(db: Db, workspaceId: string): Promise<string[]> {
  const rows = await db
    .select({ email: users.email })
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(and(eq(memberships.workspaceId, workspaceId), eq(memberships.role, 'owner')));
  return rows.map((r) => r.email);
}

const SIGNATURE = '\n-- \nmailplane: your dedicated mail server\n';
const day = (d: Date) => d.toISOString().slice(0, 10);

export interface NoticeFacts {
  domain: string;
  link: string;
  graceEndsAt: Date | null;
  periodEnd?: Date | null;
  graceDays?: number;
  plan?: Pick<Plan, 'name' | 'mailboxes' | 'storageGb' | 'mailboxQuotaGb'> | null;
}

export function billingMessage(to: string[], kind: JobData<'billing.notify'>['kind'], o: NoticeFacts): MailMessage {
  switch (kind) {
    case 'cancellation_scheduled':
      return {
        to,
        subject: `Your mail server ${o.domain} is cancelled`,
        text:
          `The subscription for ${o.domain} was cancelled. The server keeps running, with all its mail, until the end of the period you paid for${o.periodEnd ? ` (${day(o.periodEnd)})` : ''}. ` +
          `It is then suspended and kept ${o.graceDays ?? 'some'} more days with a final backup, and deleted for good after that.\n\n` +
          `Changed your mind? Undo the cancellation before the period ends, in Billing:\n\n${o.link}${SIGNATURE}`,
      };
    case 'cancellation_undone':
      return {
        to,
        subject: `Your mail server ${o.domain} will renew`,
        text: `The cancellation of ${o.domain} is undone: the subscription renews${o.periodEnd ? ` on ${day(o.periodEnd)}` : ''} and the server stays as it is.\n\n${o.link}${SIGNATURE}`,
      };
    case 'plan_changed':
      return {
        to,
        subject: `Your mail server ${o.domain} is now on the ${o.plan?.name ?? 'new'} plan`,
        text:
          `Stripe confirmed the change: ${o.domain} is now on the ${o.plan?.name ?? 'new'} plan` +
          (o.plan ? ` (${o.plan.mailboxes} mailboxes sharing ${o.plan.storageGb} GB, up to ${mailboxQuotaMb(o.plan) / 1024} GB each)` : '') +
          `. The difference for the rest of this period is on your next invoice.\n\n` +
          `When the plan runs on a different server size, mailplane moves your server onto it: a backup is taken first, the server is rebuilt with the same addresses and keys, and its mail is restored. Mail sent meanwhile waits at the senders and arrives afterwards.\n\n${o.link}${SIGNATURE}`,
      };
    case 'payment_failed':
      return {
        to,
        subject: `Payment failed for your mail server ${o.domain}`,
        text:
          `We could not take the payment for your mail server ${o.domain}. Stripe will try again over the next days.\n\n` +
          `Mail keeps arriving, but mailboxes and webmail are on hold until the payment goes through. Update your card or pay the open invoice here (Billing, then "Manage billing"):\n\n${o.link}${SIGNATURE}`,
      };
    case 'suspended':
      return {
        to,
        subject: `Your mail server ${o.domain} is suspended`,
        text:
          `The subscription for ${o.domain} has ended because it was not paid or was cancelled. The server and all its mail are kept until ${o.graceEndsAt ? day(o.graceEndsAt) : 'the end of the grace period'}; after that date they are deleted for good.\n\n` +
          `To keep them, pay the open invoice in Billing ("Manage billing" opens Stripe's customer portal):\n\n${o.link}${SIGNATURE}`,
      };
    case 'reinstated':
      return {
        to,
        subject: `Your mail server ${o.domain} is active again`,
        text: `Thank you: the payment for ${o.domain} went through and the server is active again, with all its mail.\n\n${o.link}${SIGNATURE}`,
      };
  }
}

/** The job: throws when the mail cannot be sent, so pg-boss retries it with backoff. */
export async function sendBillingNotice(deps: NoticeDeps, job: JobData<'billing.notify'>): Promise<'sent' | 'nobody to tell'> {
  const [row] = await deps.db
    .select({ sub: subscriptions, domain: servers.domain })
    .from(subscriptions)
    .leftJoin(servers, eq(servers.subscriptionId, subscriptions.id))
    .where(eq(subscriptions.id, job.subscriptionId));
  if (!row) return 'nobody to tell';
  const to = OWNER_KINDS.has(job.kind) ? await owners(deps.db, row.sub.workspaceId) : await managers(deps.db, row.sub.workspaceId);
  if (to.length === 0) return 'nobody to tell';
  const link = `${deps.publicUrl}/w/${row.sub.workspaceId}/billing`;
  await deps.mailer.send(
    billingMessage(to, job.kind, {
      domain: row.domain ?? 'your domain',
      link,
      graceEndsAt: row.sub.graceEndsAt,
      periodEnd: row.sub.currentPeriodEnd,
      ...(deps.graceDays !== undefined ? { graceDays: deps.graceDays } : {}),
      plan: deps.plans?.find((p) => p.id === row.sub.planId) ?? null,
    }),
  );
  return 'sent';
}
