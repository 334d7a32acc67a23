/**
 * The end of a grace period: a suspended server whose subscription ended
 * (cancelled, or unpaid after Stripe's retries) more than BILLING_GRACE_DAYS
 * ago is deprovisioned, and an unpaid subscription is cancelled at Stripe so it
 * stops invoicing. Run by the `billing.grace_sweep` schedule; every check is
 * made again under the rows' locks, so a payment that reinstated the server a
 * moment before wins, and two sweeps deprovision once.
 */
import { and, eq, inArray, isNotNull, lte } from 'drizzle-orm';
import { SYSTEM_ACTOR } from '../audit.ts';
import type { Database } from '../db/client.ts';
import { servers, subscriptions } from '../db/schema/index.ts';
import type { JobQueue } from '../jobs/queue.ts';
import type { Logger } from '../log.ts';
import type { BillingProvider } from '../providers/billing/interface.ts';
import { startDeprovision } from '../servers/lifecycle.ts';
import type { Clock } from '../clock.ts';

export interface GraceDeps {
  database: Database;
  queue: JobQueue;
  billing: BillingProvider;
  log: Logger;
  /** A grace period is over when this clock passes its end. */
  clock: Clock;
}

const ACTOR = { ...SYSTEM_ACTOR, id: 'billing-grace' };
const ENDED = ['unpaid', 'canceled', 'incomplete_expired'] as const;

/** Returns the ids of the servers whose deprovisioning it started. */
export async function endGracePeriods(deps: GraceDeps): Promise<string[]> {
  const now = new Date(deps.clock.now());
  const due = await deps.database.db
    .select({ id: subscriptions.id, stripeId: subscriptions.stripeSubscriptionId, status: subscriptions.status })
    .from(subscriptions)
    .innerJoin(servers, eq(servers.subscriptionId, subscriptions.id))
    .where(
      and(
        isNotNull(subscriptions.graceEndsAt),
        lte(subscriptions.graceEndsAt, now),
        inArray(subscriptions.status, [...ENDED]),
        eq(servers.status, 'suspended'),
      ),
    )
    .limit(100);
  const started: string[] = [];
  for (const candidate of due) {
    // Unpaid is still a live subscription at Stripe: cancelled first, so it stops invoicing for a server
    // that is going away (idempotent; a failure leaves the server for the next sweep).
    if (candidate.status === 'unpaid' && candidate.stripeId) {
      try {
        await deps.billing.cancelSubscription(candidate.stripeId);
      } catch (err) {
        // This one waits for the next sweep; the others go on.
        deps.log.warn(
          { err: err instanceof Error ? err.message : String(err), subscriptionId: candidate.id },
          'grace period over, but Stripe could not cancel: next sweep',
        );
        continue;
      }
    }
    const serverId = await deps.database.db.transaction(async (tx) => {
      const [sub] = await tx.select().from(subscriptions).where(eq(subscriptions.id, candidate.id)).for('update');
      if (!sub?.graceEndsAt || sub.graceEndsAt > now || !(ENDED as readonly string[]).includes(sub.status)) return null;
      const [server] = await tx
        .select()
        .from(servers)
        .where(and(eq(servers.subscriptionId, sub.id), eq(servers.status, 'suspended')))
        .for('update');
      if (!server) return null;
      await startDeprovision(deps, tx, server, ACTOR, 'Grace period over: the subscription ended and was not paid', {
        graceEndsAt: sub.graceEndsAt,
      });
      return server.id;
    });
    if (serverId) {
      deps.log.info({ serverId, subscriptionId: candidate.id }, 'grace period over: deprovisioning');
      started.push(serverId);
    }
  }
  return started;
}
