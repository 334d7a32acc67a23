/**
 * Changing a server's plan (Starter ↔ Business), asked by an owner. Everything is checked before
 * Stripe is called; then Stripe moves the subscription's item to the new price, prorated
 * (`create_prorations`: the difference for the rest of the period is on the next invoice). The
 * plan's limits change only when Stripe confirms it (the `customer.subscription.updated` that
 * follows, applied by plan-change-apply.ts from the subscription's state at Stripe), so what the
 * server allows never runs ahead of what is paid for.
 *
 * A smaller plan is refused while the server uses more than it allows: more mailboxes, aliases or
 * forwards than it includes, more storage than it sells, or a mailbox holding more than its
 * per-mailbox quota. The customer frees the space first; nothing is deleted for them.
 */
import { and, count, eq, max, sum } from 'drizzle-orm';
import { audit, type Actor } from '../audit.ts';
import { mailboxQuotaMb, type Plan } from '../config.ts';
import { mailAliases, mailForwards, mailboxes, provisioningRuns } from '../db/schema/index.ts';
import type { Db } from '../db/client.ts';
import { ConflictError, ValidationError } from '../errors.ts';
import { refusalText, type Placements } from '../servers/placement.ts';
import type { ServerRow } from '../servers/views.ts';
import type { WorkspaceAccess } from '../workspaces/access.ts';
import { serverSubscription, type ServerBillingDeps } from './server-subscription.ts';

export interface ChangePlanDeps extends ServerBillingDeps {
  plans: readonly Plan[];
  placements: Placements;
}

const GB = 1024 ** 3;

/** What the server uses beyond `plan`, in words; empty when it fits. */
export async function overLimits(db: Db, server: Pick<ServerRow, 'id'>, plan: Plan): Promise<string[]> {
  const [boxes] = await db
    .select({ n: count(), used: sum(mailboxes.usedBytes), biggest: max(mailboxes.usedBytes) })
    .from(mailboxes)
    .where(eq(mailboxes.serverId, server.id));
  const [aliases] = await db.select({ n: count() }).from(mailAliases).where(eq(mailAliases.serverId, server.id));
  const [forwards] = await db.select({ n: count() }).from(mailForwards).where(eq(mailForwards.serverId, server.id));
  const over: string[] = [];
  const n = Number(boxes?.n ?? 0);
  if (n > plan.mailboxes) over.push(`${n} mailboxes (the ${plan.name} plan includes ${plan.mailboxes})`);
  const used = Number(boxes?.used ?? 0);
  if (used > plan.storageGb * GB) over.push(`${(used / GB).toFixed(1)} GB of mail (the ${plan.name} plan has ${plan.storageGb} GB)`);
  const biggest = Number(boxes?.biggest ?? 0);
  const quota = mailboxQuotaMb(plan) * 1024 * 1024;
  if (biggest > quota)
    over.push(`a mailbox holding ${(biggest / GB).toFixed(1)} GB (the ${plan.name} plan allows ${mailboxQuotaMb(plan) / 1024} GB per mailbox)`);
  if (Number(aliases?.n ?? 0) > plan.aliases) over.push(`${Number(aliases!.n)} aliases (the ${plan.name} plan includes ${plan.aliases})`);
  if (Number(forwards?.n ?? 0) > plan.forwards) over.push(`${Number(forwards!.n)} forwarding mailboxes (the ${plan.name} plan includes ${plan.forwards})`);
  return over;
}

export async function changePlan(
  deps: ChangePlanDeps,
  actor: Actor,
  access: WorkspaceAccess,
  serverId: string,
  planId: string,
): Promise<{ serverId: string; fromPlan: string; toPlan: string; status: 'pending' }> {
  const { db } = deps.database;
  const plan = deps.plans.find((p) => p.id === planId);
  if (!plan)
    throw new ValidationError(`Unknown plan "${planId}"`, { errors: [{ path: 'json.plan', message: `one of ${deps.plans.map((p) => p.id).join(', ')}` }] });
  const { server, sub, stripeId } = await serverSubscription(db, access.workspaceId, serverId);
  if (sub.planId === plan.id) throw new ConflictError(`The server is already on the ${plan.name} plan`, 'same_plan');
  if (sub.status !== 'active' && sub.status !== 'trialing') {
    throw new ConflictError(
      `The subscription is ${sub.status.replaceAll('_', ' ')}: pay the open invoice in Billing before changing the plan`,
      'subscription_not_active',
    );
  }
  if (sub.cancelAtPeriodEnd)
    throw new ConflictError('The server is cancelled at the end of its period: undo the cancellation before changing the plan', 'cancelled');
  // A plan change may rebuild the server: only one that serves, with nothing else running on it.
  if (server.status !== 'ready') throw new ConflictError(`The server is ${server.status}; the plan can be changed once it is ready`, 'server_not_ready');
  const [running] = await db
    .select({ kind: provisioningRuns.kind })
    .from(provisioningRuns)
    .where(and(eq(provisioningRuns.serverId, server.id), eq(provisioningRuns.status, 'running')))
    .limit(1);
  if (running) throw new ConflictError(`A ${running.kind} run is in progress on this server: change the plan when it has finished`, 'run_in_progress');
  // The new plan's server type must be sold in the server's zone, or the rebuild could not make it.
  const placed = await deps.placements.typeFor(plan, server.zone);
  if ('refused' in placed) throw new ConflictError(refusalText(plan, server.zone, placed.refused), 'plan_not_sold_here');
  const over = await overLimits(db, server, plan);
  if (over.length > 0) {
    throw new ConflictError(`The server uses more than the ${plan.name} plan allows: ${over.join('; ')}. Remove what is over first.`, 'plan_too_small');
  }
  await deps.billing.changePrice(stripeId, plan.stripePriceId, 'create_prorations');
  await audit(db, actor, {
    action: 'subscription.plan_change_requested',
    workspaceId: server.workspaceId,
    target: server.id,
    details: { subscriptionId: sub.id, from: sub.planId, to: plan.id },
  });
  return { serverId: server.id, fromPlan: sub.planId, toPlan: plan.id, status: 'pending' };
}
