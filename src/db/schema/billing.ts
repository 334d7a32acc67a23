/** Checkouts, subscriptions and processed Stripe events. */
import { sql } from 'drizzle-orm';
import { boolean, index, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { users, workspaces } from './accounts.ts';

export const checkouts = pgTable(
  'checkouts',
  {
    id: uuid('id').primaryKey().default(sql`gen_random_uuid()`),
    workspaceId: uuid('workspace_id')
      .notNull()
      .references(() => workspaces.id, { onDelete: 'cascade' }),
    planId: text('plan_id').notNull(),
    zone: text('zone').notNull(),
    domain: text('domain').notNull(),
    stripeSessionId: text('stripe_session_id'),
    /**
     * awaiting_payment: completed at Stripe by a delayed method (SEPA) whose money has not settled.
     * refused: paid for a server that cannot exist; refunded: that subscription cancelled, the money returned, the customer told.
     */
    status: text('status', { enum: ['pending', 'awaiting_payment', 'completed', 'payment_failed', 'expired', 'refused', 'refunded'] })
      .notNull()
      .default('pending'),
    createdBy: uuid('created_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('checkouts_session_key').on(t.stripeSessionId), index('checkouts_workspace_idx').on(t.workspaceId)],
);

export const SUBSCRIPTION_STATUSES = ['incomplete', 'incomplete_expired', 'trialing', 'active', 'past_due', 'canceled', 'unpaid', 'paused'] as const;

export const subscriptions = pgTable(
  'subscriptions',
  {
    id: uuid('id').primaryKey().default(sql`gen_random_uuid()`),
    workspaceId: uuid('workspace_id')
      .notNull()
      .references(() => workspaces.id, { onDelete: 'cascade' }),
    checkoutId: uuid('checkout_id')
      .notNull()
      .references(() => checkouts.id),
    stripeSubscriptionId: text('stripe_subscription_id'),
    stripeCustomerId: text('stripe_customer_id'),
    planId: text('plan_id').notNull(),
    status: text('status', { enum: SUBSCRIPTION_STATUSES }).notNull(),
    /** As Stripe last said (retrieved, not taken from an event): the next renewal, and whether it will not renew. */
    currentPeriodEnd: timestamp('current_period_end', { withTimezone: true }),
    cancelAtPeriodEnd: boolean('cancel_at_period_end').notNull().default(false),
    /**
     * Set when the subscription ended (cancelled, or unpaid after Stripe's retries) with a live
     * server: the server stays suspended with its data until then, and is deprovisioned after.
     */
    graceEndsAt: timestamp('grace_ends_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('subscriptions_checkout_key').on(t.checkoutId), uniqueIndex('subscriptions_stripe_key').on(t.stripeSubscriptionId)],
);

/** One row per Stripe event id: the primary key makes processing exactly-once. */
export const stripeEvents = pgTable('stripe_events', {
  id: text('id').primaryKey(),
  type: text('type').notNull(),
  outcome: text('outcome').notNull(),
  receivedAt: timestamp('received_at', { withTimezone: true }).notNull().defaultNow(),
});
