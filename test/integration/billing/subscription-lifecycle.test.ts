/**
 * A subscription that stops being paid, against the Stripe emulator: events are
 * applied by the subscription's current state at Stripe (the emulator delivers
 * out of order and retries failed deliveries), a failing payment suspends and
 * mails, an ended subscription keeps the server for the grace period, paying in
 * the customer portal reinstates it, and only the grace sweep deprovisions.
 */
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { endGracePeriods } from '../../../src/billing/grace.ts';
import { applySubscriptionState, PAST_DUE_REASON } from '../../../src/billing/subscription-state.ts';
import { SYSTEM_ACTOR } from '../../../src/audit.ts';
import { manualClock } from '../../support/clock.ts';
import { auditLog, provisioningRuns, servers, subscriptions } from '../../../src/db/schema/index.ts';
import { startHarness, type Harness } from '../../support/provisioning.ts';

const DAY = 24 * 3600_000;
let h: Harness;
beforeAll(async () => {
  h = await startHarness();
  // Stripe retries a failed delivery over three days; here within milliseconds.
  h.sandbox.stripe!.setRetrySchedule([20, 40, 80, 160]);
});
afterAll(async () => {
  await h?.close();
});

async function readyCustomer(name: string) {
  const { token, workspaceId } = await h.customer(`${name}@example.org`);
  const { serverId } = await h.readyServer(token, workspaceId, `${name}-mail.example`);
  const [row] = await h.database.db
    .select({ sub: subscriptions })
    .from(servers)
    .innerJoin(subscriptions, eq(subscriptions.id, servers.subscriptionId))
    .where(eq(servers.id, serverId));
  return { token, workspaceId, serverId, sub: row!.sub, stripeId: row!.sub.stripeSubscriptionId!, email: `${name}@example.org` };
}

const serverRow = async (id: string) => (await h.database.db.select().from(servers).where(eq(servers.id, id)))[0]!;
const subRow = async (id: string) => (await h.database.db.select().from(subscriptions).where(eq(subscriptions.id, id)))[0]!;
const sweep = (at: number) =>
  endGracePeriods({ database: h.ctx.database, queue: h.ctx.queue, billing: h.ctx.providers.billing, log: h.ctx.log, clock: manualClock(at) });

/** Waits for a billing mail to this address whose subject contains `subject` (the notify job runs on the workers). */
async function mailTo(email: string, subject: string) {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const found = (await h.ctx.outbox!.list()).find((m) => m.to.includes(email) && m.subject.includes(subject));
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`no mail "${subject}" to ${email}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("Stripe events applied by the subscription's current state", () => {
  it('a past_due delivered after the card was fixed does not suspend the active server', async () => {
    const c = await readyCustomer('late-past-due');
    const stripe = h.sandbox.stripe!;
    stripe.holdDeliveries();
    void stripe.failPayment(c.stripeId);
    void stripe.payLatestInvoice(c.stripeId);
    // Newest first: "active" arrives, then the stale "past_due".
    const delivered = await stripe.releaseDeliveries('reverse');
    expect(delivered.map((d) => [JSON.parse(d.body).data.object.status, d.status])).toEqual([
      ['active', 200],
      ['past_due', 200],
    ]);
    expect((await serverRow(c.serverId)).status).toBe('ready');
    expect((await subRow(c.sub.id)).status).toBe('active');
  });

  it('a stale active delivered after the cancellation does not reinstate the server', async () => {
    const c = await readyCustomer('stale-active');
    const stripe = h.sandbox.stripe!;
    stripe.holdDeliveries();
    void stripe.cancelAtPeriodEnd(c.stripeId); // customer.subscription.updated, status active
    void stripe.cancelSubscription(c.stripeId); // customer.subscription.deleted
    const delivered = await stripe.releaseDeliveries('reverse');
    expect(delivered.map((d) => d.type)).toEqual(['customer.subscription.deleted', 'customer.subscription.updated']);
    const server = await serverRow(c.serverId);
    expect([server.status, (await subRow(c.sub.id)).status]).toEqual(['suspended', 'canceled']);
  });

  it('a delivery that fails (Stripe unreachable from the handler) is retried by Stripe and then applied', async () => {
    const c = await readyCustomer('retried');
    const stripe = h.sandbox.stripe!;
    // Both tries of the SDK (it retries once) fail: the handler answers 5xx, nothing is recorded.
    stripe.faults.failNext({ method: 'GET', path: new RegExp(`^/v1/subscriptions/${c.stripeId}$`), times: 2, status: 503 });
    const first = await stripe.failPayment(c.stripeId);
    expect(first.status).toBeGreaterThanOrEqual(500);
    expect((await serverRow(c.serverId)).status).toBe('ready');
    const final = await stripe.finalDelivery(first.eventId);
    expect([final.status, final.attempt]).toEqual([200, 2]);
    expect((await serverRow(c.serverId)).status).toBe('suspended');
  });

  it('cancels the Stripe subscription when the first payment (a bank debit) fails', async () => {
    const { token, workspaceId } = await h.customer('debit-bounce@example.org');
    const res = await h.call('POST', `/v1/workspaces/${workspaceId}/checkout`, {
      token,
      body: { plan: 'starter', region: 'fr-par-1', domain: 'debit-bounce.example' },
    });
    const stripe = h.sandbox.stripe!;
    await stripe.completeCheckout(res.body.sessionId, 'sepa_debit');
    expect((await stripe.settlePayment(res.body.sessionId, 'failed')).status).toBe(200);
    const subId = stripe.sessions().find((s) => s.id === res.body.sessionId)!.subscription!;
    const deadline = Date.now() + 20_000;
    while (stripe.subscriptions().find((s) => s.id === subId)?.status !== 'canceled') {
      if (Date.now() > deadline) throw new Error('the subscription of a failed first payment was not cancelled');
      await new Promise((r) => setTimeout(r, 50));
    }
  });
});

describe('suspension', () => {
  it('is not lifted by a provisioning step that support re-runs on the server', async () => {
    const c = await readyCustomer('rerun-suspended');
    await h.sandbox.stripe!.failPayment(c.stripeId);
    expect((await serverRow(c.serverId)).status).toBe('suspended');
    const staff = await h.staff('rerun-support@example.org');
    const rerun = await h.call('POST', `/v1/admin/servers/${c.serverId}/steps/verify/rerun`, { token: staff });
    expect(rerun.status, JSON.stringify(rerun.body)).toBeLessThan(300);
    const deadline = Date.now() + 30_000;
    for (;;) {
      const [run] = await h.database.db.select().from(provisioningRuns).where(eq(provisioningRuns.id, rerun.body.runId));
      if (run?.status === 'succeeded') break;
      if (Date.now() > deadline) throw new Error(`re-run is ${run?.status}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const server = await serverRow(c.serverId);
    expect([server.status, server.statusReason]).toEqual(['suspended', PAST_DUE_REASON]);
  });
});

describe('grace period', () => {
  it("suspends and mails on a failed payment, keeps the ended subscription's server for the grace period, then deprovisions", async () => {
    const c = await readyCustomer('grace');
    const stripe = h.sandbox.stripe!;
    expect((await stripe.failPayment(c.stripeId)).status).toBe(200);
    expect((await serverRow(c.serverId)).status).toBe('suspended');
    const failedMail = await mailTo(c.email, 'Payment failed');
    expect(failedMail.text).toContain(`/w/${c.workspaceId}/billing`);

    // Stripe gives up and cancels: the server stays, suspended, with its data.
    const before = Date.now();
    expect((await stripe.endRetries(c.stripeId, 'cancel')).status).toBe(200);
    const server = await serverRow(c.serverId);
    const sub = await subRow(c.sub.id);
    expect([server.status, sub.status]).toEqual(['suspended', 'canceled']);
    expect(sub.graceEndsAt!.getTime()).toBeGreaterThanOrEqual(before + 14 * DAY - 1000);
    expect(server.statusReason).toContain(sub.graceEndsAt!.toISOString().slice(0, 10));
    const suspendedMail = await mailTo(c.email, 'is suspended');
    expect(suspendedMail.text).toContain(sub.graceEndsAt!.toISOString().slice(0, 10));
    expect(h.sandbox.scaleway!.listServers().some((s: { id: string }) => s.id === server.providerServerId)).toBe(true);

    // Other tests' servers share the database: only this one is looked at.
    expect(await sweep(before + 13 * DAY)).not.toContain(c.serverId);
    expect((await serverRow(c.serverId)).status).toBe('suspended');
    expect(await sweep(before + 15 * DAY)).toContain(c.serverId);
    expect(await sweep(before + 15 * DAY)).toEqual([]);
    await h.waitForServer(c.serverId, ['deleted'], 30_000);
    expect(h.sandbox.scaleway!.listServers().some((s: { id: string }) => s.id === server.providerServerId)).toBe(false);
  });

  it('starts and ends the grace period by the injected clock, whatever the wall clock says', async () => {
    const c = await readyCustomer('grace-clock');
    // A month from now: a grace period read from the wall clock would end a month early.
    const clock = manualClock(Date.now() + 30 * DAY);
    const started = clock.now();
    const graceMs = h.ctx.config.billing.graceMs;
    await h.database.db.transaction(async (tx) => {
      const [sub] = await tx.select().from(subscriptions).where(eq(subscriptions.id, c.sub.id)).for('update');
      const ended = {
        id: c.stripeId,
        status: 'canceled' as const,
        customerId: sub!.stripeCustomerId!,
        currentPeriodEnd: null,
        cancelAtPeriodEnd: false,
        priceId: null,
      };
      await applySubscriptionState({ queue: h.ctx.queue, graceMs, clock }, tx, sub!, ended, SYSTEM_ACTOR, {});
    });
    const sub = await subRow(c.sub.id);
    expect([sub.graceEndsAt?.getTime(), sub.updatedAt.getTime()]).toEqual([started + graceMs, started]);
    const server = await serverRow(c.serverId);
    expect([server.status, server.updatedAt.getTime()]).toEqual(['suspended', started]);
    expect(server.statusReason).toContain(new Date(started + graceMs).toISOString().slice(0, 10));
    expect(await sweep(started + graceMs - 1)).not.toContain(c.serverId);
    expect(await sweep(started + graceMs)).toContain(c.serverId);
    await h.waitForServer(c.serverId, ['deleted'], 30_000);
  });

  it('reinstates a server whose unpaid subscription is paid in the customer portal during the grace period', async () => {
    const c = await readyCustomer('paid-in-grace');
    const stripe = h.sandbox.stripe!;
    await stripe.failPayment(c.stripeId);
    expect((await stripe.endRetries(c.stripeId, 'unpaid')).status).toBe(200);
    expect((await subRow(c.sub.id)).graceEndsAt).not.toBeNull();

    // The customer's view: the API and the Billing page say what happens and when.
    const before = await h.call('GET', `/v1/workspaces/${c.workspaceId}/billing`, { token: c.token });
    const grace = (await subRow(c.sub.id)).graceEndsAt!.toISOString();
    expect(before.body.subscriptions).toEqual([
      expect.objectContaining({
        subscriptionId: c.sub.id,
        serverId: c.serverId,
        status: 'unpaid',
        graceEndsAt: grace,
        nextInvoiceAt: null,
        plan: expect.objectContaining({ id: 'starter', monthlyPriceCents: 1900 }),
      }),
    ]);
    const web = (path: string, form?: Record<string, string>) =>
      fetch(`${h.baseUrl}${path}`, {
        method: form ? 'POST' : 'GET',
        redirect: 'manual',
        headers: { cookie: `mailplane_session=${c.token}`, ...(form ? { origin: h.baseUrl, 'content-type': 'application/x-www-form-urlencoded' } : {}) },
        ...(form ? { body: new URLSearchParams(form).toString() } : {}),
      });
    const billingPage = await (await web(`/w/${c.workspaceId}/billing`)).text();
    expect(billingPage).toContain(`kept until ${grace.slice(0, 10)}`);
    expect(billingPage).toContain('Manage billing');
    // "Manage billing" opens the Stripe portal (a fresh short-lived session), which returns to this page.
    const opened = await web(`/w/${c.workspaceId}/billing/portal`, { subscription: c.sub.id });
    expect(opened.status).toBe(303);
    const portalUrl = opened.headers.get('location')!;
    expect(portalUrl.startsWith(`${h.sandbox.stripe!.url}/p/session/bps_`)).toBe(true);
    const portal = { url: portalUrl };
    const page = await (await fetch(portal.url)).text();
    expect(page).toContain(`href="${h.ctx.config.http.publicUrl}/w/${c.workspaceId}/billing"`);
    expect(page).toContain('unpaid');
    expect(page).toContain('Update card and pay');
    const pay = page.match(/action="([^"]+\/pay)"/)![1]!;
    const paid = await fetch(new URL(pay, portal.url), { method: 'POST', body: new URLSearchParams({ card: '4242424242424242' }) });
    expect(paid.status).toBe(200);
    expect(await paid.text()).toContain('answered HTTP 200');

    const [server, sub] = [await serverRow(c.serverId), await subRow(c.sub.id)];
    expect([server.status, server.statusReason, sub.status, sub.graceEndsAt]).toEqual(['ready', null, 'active', null]);
    await mailTo(c.email, 'is active again');
    const after = await h.call('GET', `/v1/workspaces/${c.workspaceId}/billing`, { token: c.token });
    expect(after.body.subscriptions[0]).toMatchObject({ status: 'active', graceEndsAt: null, nextInvoiceAt: expect.stringMatching(/^\d{4}-/) });
    const api = await h.call('POST', `/v1/workspaces/${c.workspaceId}/billing/portal`, { token: c.token, body: {} });
    expect([api.status, api.body.url.startsWith(`${h.sandbox.stripe!.url}/p/session/`)]).toEqual([200, true]);
    expect(await sweep(Date.now() + 30 * DAY)).not.toContain(c.serverId);
    const audits = await h.database.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.target, c.serverId), eq(auditLog.action, 'server.reinstate')));
    expect(audits).toHaveLength(1);
  });
});
