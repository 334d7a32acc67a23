/**
 * The workspace's Stripe customer, if it has paid before: a new checkout puts its subscription on
 * the same customer, so one portal session shows every server and the address and VAT number
 * entered once are kept (the adapter falls back to a new customer if this one was removed at Stripe).
 */
import { and, desc, eq, isNotNull } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { subscriptions } from '../db/schema/index.ts';

export async function workspaceCustomer(db: Db, workspaceId: string): Promise<string | undefined> {
  const [earlier] = await db.select({ customerId: subscriptions.stripeCustomerId }).from(subscriptions)
    .where(and(eq(subscriptions.workspaceId, workspaceId), isNotNull(subscriptions.stripeCustomerId))).orderBy(desc(subscriptions.createdAt)).limit(1);
  return earlier?.customerId ?? undefined;
}
