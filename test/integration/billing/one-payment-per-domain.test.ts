/**
 * Paying twice for one domain: refused before payment while another checkout
 * for it can still be paid (any workspace); the same workspace starting over
 * expires its own earlier session at Stripe; and a payment that still arrives
 * for a server that cannot exist provisions nothing: the subscription is
 * cancelled at Stripe, the payment refunded and the customer mailed, once,
 * whatever is replayed or retried.
 */
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { refundRefusedPayment, type RefundDeps } from '../../../src/billing/refund-refused-payment.ts';
import { registerBillingWorkers } from '../../../src/billing/workers.ts';
import { alerts, auditLog, checkouts, servers, subscriptions } from '../../../src/db/schema/index.ts';
import { isRetryable } from '../../../src/errors.ts';
import { startHarness, type Harness } from '../../support/provisioning.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ workers: false });
});
afterAll(async () => {
  await h?.close();
});

const startCheckout = (token: string, workspaceId: string, domain: string) =>
  h.call('POST', `/v1/workspaces/${workspaceId}/checkout`, { token, body: { plan: 'starter', region: 'fr-par-1', domain } });

/** Workspace A pays for `domain`; then B's checkout, started before A's existed, is paid too (`method`) → B's checkout and that delivery. */
async function payTwice(domain: string, method: 'card' | 'none' | 'sepa_debit' = 'card', opts: { expired?: boolean } = {}) {
  const a = await h.customer(`first@${domain}`);
  const b = await h.customer(`second@${domain}`);
  const first = await startCheckout(a.token, a.workspaceId, domain);
  // The second checkout started before the first existed (a race the API cannot see): inserted directly.
  const [late] = await h.database.db
    .insert(checkouts)
    .values({ workspaceId: b.workspaceId, planId: 'starter', zone: 'fr-par-1', domain, ...(opts.expired ? { status: 'expired' as const } : {}) })
    .returning();
  expect((await h.sandbox.stripe!.completeCheckout(first.body.sessionId)).status).toBe(200);
  const session = await h.ctx.providers.billing.createCheckoutSession({
    priceId: 'price_mailplane_starter',
    customerEmail: `second@${domain}`,
    clientReferenceId: late!.id,
    metadata: {},
    successUrl: 'https://x.test/ok',
    cancelUrl: 'https://x.test/no',
    tax: { automaticTax: true, taxIdCollection: true, billingAddressCollection: 'required' },
  });
  const delivery = await h.sandbox.stripe!.completeCheckout(session.id, method);
  expect(delivery.status).toBe(200);
  return { checkout: late!, delivery, email: `second@${domain}`, sessionId: session.id };
}

async function checkoutStatus(id: string): Promise<string | undefined> {
  return (await h.database.db.select().from(checkouts).where(eq(checkouts.id, id)))[0]?.status;
}

/** The refund notices to `email` (a new account is also mailed its verification link). */
const mailsTo = async (email: string) => (await h.ctx.outbox!.list()).filter((m) => m.to.includes(email) && /cancelled and refunded/.test(m.subject));

/** Polls until the customer's mail is there: the refund job's last effect (the worker runs it). */
async function waitForMail(email: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await mailsTo(email)).length === 0) {
    if (Date.now() > deadline) throw new Error(`no mail to ${email} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('one paid subscription per domain', () => {
  it('refuses a second checkout for a domain another workspace is paying for, before any payment', async () => {
    const a = await h.customer('first@example.org');
    const b = await h.customer('second@example.org');
    expect((await startCheckout(a.token, a.workspaceId, 'contested.example')).status).toBe(201);
    const second = await startCheckout(b.token, b.workspaceId, 'contested.example');
    expect(second.status).toBe(409);
    expect(second.headers.get('content-type')).toBe('application/problem+json');
  });

  it('lets the same workspace start over: its earlier session is expired at Stripe and can no longer be paid', async () => {
    const a = await h.customer('again@example.org');
    const first = await startCheckout(a.token, a.workspaceId, 'again.example');
    const second = await startCheckout(a.token, a.workspaceId, 'again.example');
    expect(second.status).toBe(201);
    expect(h.sandbox.stripe!.sessions().find((s) => s.id === first.body.sessionId)?.status).toBe('expired');
    await expect(h.sandbox.stripe!.completeCheckout(first.body.sessionId)).rejects.toBeTruthy();
    const [row] = await h.database.db.select().from(checkouts).where(eq(checkouts.id, first.body.checkoutId));
    expect(row?.status).toBe('expired');
  });

  describe('a payment that still arrives for a served domain', () => {
    let deps: RefundDeps;
    beforeAll(() => {
      deps = {
        database: h.database,
        queue: h.ctx.queue,
        settlingRecheckSeconds: 3600,
        billing: h.ctx.providers.billing,
        alerts: h.ctx.alerts,
        mailer: h.ctx.mailer,
        log: h.ctx.log,
        publicUrl: h.ctx.config.http.publicUrl,
        clock: h.ctx.clock,
      };
    });

    it('provisions nothing, cancels the subscription at Stripe, refunds it in full and mails the customer, once', async () => {
      await registerBillingWorkers({
        ...deps,
        queue: h.ctx.queue,
        plans: h.ctx.config.product.plans,
        placements: h.ctx.placements,
        graceMs: h.ctx.config.billing.graceMs,
      });
      // The later tests run the job by hand: the worker must not outlive this one, pass or fail.
      try {
        const { checkout, delivery, email } = await payTwice('race.example');
        expect(await h.database.db.select().from(servers).where(eq(servers.domain, 'race.example'))).toHaveLength(1);
        const [alert] = await h.database.db
          .select()
          .from(alerts)
          .where(eq(alerts.dedupeKey, `duplicate_payment:${checkout.id}`));
        expect(alert?.details).toMatchObject({ checkoutId: checkout.id, stripeSubscriptionId: delivery.subscriptionId });

        await waitForMail(email);
        expect(await checkoutStatus(checkout.id)).toBe('refunded');
        const stripe = h.sandbox.stripe!;
        expect(stripe.subscriptions().find((s) => s.id === delivery.subscriptionId)?.status).toBe('canceled');
        const invoice = stripe.invoices().find((i) => i.parent.subscription_details.subscription === delivery.subscriptionId)!;
        const intent = invoice.payments!.data[0]!.payment.payment_intent;
        const refunds = stripe.refunds().filter((r) => r.payment_intent === intent);
        expect(refunds).toHaveLength(1);
        expect(refunds[0]).toMatchObject({ amount: 1900, currency: 'eur', status: 'succeeded', reason: 'duplicate' });
        expect(stripe.charges().find((c) => c.payment_intent === intent)).toMatchObject({ refunded: true, amount_refunded: 1900 });
        const mails = await mailsTo(email);
        expect(mails).toHaveLength(1);
        expect(mails[0]!.text).toContain('refunded your payment of €19.00');
        const [sub] = await h.database.db.select().from(subscriptions).where(eq(subscriptions.checkoutId, checkout.id));
        expect(sub?.status).toBe('canceled');
        const [done] = await h.database.db
          .select()
          .from(alerts)
          .where(eq(alerts.dedupeKey, `duplicate_payment:${checkout.id}`));
        expect(done?.resolvedAt).not.toBeNull();
        expect(done?.message).toContain('19.00 EUR refunded');
        expect(
          await h.database.db
            .select()
            .from(auditLog)
            .where(and(eq(auditLog.action, 'checkout.refunded'), eq(auditLog.target, checkout.id))),
        ).toHaveLength(1);

        // Stripe redelivers the event, pg-boss runs the job again, the adapter refunds again: nothing more happens.
        expect((await stripe.resend(delivery.eventId)).status).toBe(200);
        expect(await refundRefusedPayment(deps, { checkoutId: checkout.id, stripeSubscriptionId: delivery.subscriptionId!, why: 'again' })).toBe(
          'already done',
        );
        expect(await h.ctx.providers.billing.refundLatestInvoice(delivery.subscriptionId!, { checkoutId: checkout.id, why: 'duplicate_domain' })).toMatchObject(
          { amountRefunded: 1900, paymentSettling: false },
        );
        expect(stripe.refunds().filter((r) => r.payment_intent === intent)).toHaveLength(1);
        expect(await mailsTo(email)).toHaveLength(1);
        expect(await checkoutStatus(checkout.id)).toBe('refunded');
      } finally {
        await h.ctx.queue.boss.offWork('billing.refund_refused_payment');
      }
    });

    it('leaves a retryable state when Stripe fails after the cancel: nothing refunded, nobody mailed, the next attempt finishes', async () => {
      const { checkout, delivery, email } = await payTwice('flaky.example');
      const stripe = h.sandbox.stripe!;
      const job = { checkoutId: checkout.id, stripeSubscriptionId: delivery.subscriptionId!, why: 'flaky.example is already served by another server' };
      const flaky: RefundDeps = {
        ...deps,
        billing: {
          ...deps.billing,
          // Stripe starts answering 5xx between the cancel and the refund.
          refundLatestInvoice: async (...args) => {
            stripe.faults.set({ errorRate: 1 });
            try {
              return await deps.billing.refundLatestInvoice(...args);
            } finally {
              stripe.faults.set({});
            }
          },
        },
      };
      const err = await refundRefusedPayment(flaky, job).catch((e: unknown) => e);
      expect(isRetryable(err)).toBe(true);
      expect(stripe.subscriptions().find((s) => s.id === delivery.subscriptionId)?.status).toBe('canceled');
      expect(stripe.refunds().filter((r) => r.metadata['checkoutId'] === checkout.id)).toHaveLength(0);
      expect(await checkoutStatus(checkout.id)).toBe('refused');
      expect(await mailsTo(email)).toHaveLength(0);

      expect(await refundRefusedPayment(deps, job)).toBe('refunded');
      expect(stripe.refunds().filter((r) => r.metadata['checkoutId'] === checkout.id)).toHaveLength(1);
      expect(await mailsTo(email)).toHaveLength(1);
    });

    it('waits for a bank debit still settling (it can be neither cancelled nor refunded), then refunds it once it has settled', async () => {
      // An expired checkout paid by SEPA debit: refused at once, while the money is still on its way.
      const { checkout, delivery, email, sessionId } = await payTwice('debit.example', 'sepa_debit', { expired: true });
      expect(await checkoutStatus(checkout.id)).toBe('refused');
      const stripe = h.sandbox.stripe!;
      const job = { checkoutId: checkout.id, stripeSubscriptionId: delivery.subscriptionId!, why: 'the checkout was replaced or had expired' };
      expect(await refundRefusedPayment(deps, job)).toBe('waiting for the debit');
      expect(stripe.subscriptions().find((s) => s.id === delivery.subscriptionId)?.status).toBe('canceled');
      expect(stripe.refunds().filter((r) => r.metadata['checkoutId'] === checkout.id)).toHaveLength(0);
      expect(await mailsTo(email)).toHaveLength(0);
      expect(await checkoutStatus(checkout.id)).toBe('refused');
      const [alert] = await h.database.db
        .select()
        .from(alerts)
        .where(eq(alerts.dedupeKey, `duplicate_payment:${checkout.id}`));
      expect(alert).toMatchObject({ resolvedAt: null });
      expect(alert!.message).toContain('still settling: mailplane looks again every 1 h');
      const queued = await h.database.sql`select data, start_after > now() + interval '50 minutes' as later from pgboss.job
        where name = 'billing.refund_refused_payment' and data->>'checkoutId' = ${checkout.id} and data ? 'settlingChecks'`;
      expect(queued.map((j) => [j['data']['settlingChecks'], j['later']])).toEqual([[1, true]]);

      // Days later the debit settles (Stripe's event for a refused checkout changes nothing); the next look refunds it.
      expect((await stripe.settlePayment(sessionId, 'succeeded')).status).toBe(200);
      expect(await refundRefusedPayment(deps, { ...job, settlingChecks: 1 })).toBe('refunded');
      expect(
        stripe
          .refunds()
          .filter((r) => r.metadata['checkoutId'] === checkout.id)
          .map((r) => r.amount),
      ).toEqual([1900]);
      const mails = await mailsTo(email);
      expect(mails).toHaveLength(1);
      expect(mails[0]!.text).toContain('refunded your payment of €19.00');
    });

    it('leaves a debit that never settles to ops after the last look', async () => {
      const { checkout, delivery } = await payTwice('slow-debit.example', 'sepa_debit', { expired: true });
      const job = {
        checkoutId: checkout.id,
        stripeSubscriptionId: delivery.subscriptionId!,
        why: 'the checkout was replaced or had expired',
        settlingChecks: 79,
      };
      expect(await refundRefusedPayment(deps, job)).toBe('left to ops');
      const [alert] = await h.database.db
        .select()
        .from(alerts)
        .where(eq(alerts.dedupeKey, `duplicate_payment:${checkout.id}`));
      expect(alert!.message).toContain('refund it by hand once it has settled');
      // Only the webhook's own job (not run here) is queued: no further look.
      expect(
        await h.database
          .sql`select 1 from pgboss.job where name = 'billing.refund_refused_payment' and data->>'checkoutId' = ${checkout.id} and data ? 'settlingChecks'`,
      ).toHaveLength(0);
    });

    it('only cancels a subscription that cost nothing (no_payment_required), and says so', async () => {
      const { checkout, delivery, email } = await payTwice('free.example', 'none');
      expect(await checkoutStatus(checkout.id)).toBe('refused');
      const job = { checkoutId: checkout.id, stripeSubscriptionId: delivery.subscriptionId!, why: 'free.example is already served by another server' };
      expect(await refundRefusedPayment(deps, job)).toBe('refunded');
      expect(h.sandbox.stripe!.subscriptions().find((s) => s.id === delivery.subscriptionId)?.status).toBe('canceled');
      expect(h.sandbox.stripe!.refunds().filter((r) => r.metadata['checkoutId'] === checkout.id)).toHaveLength(0);
      const mails = await mailsTo(email);
      expect(mails).toHaveLength(1);
      expect(mails[0]!.text).toContain('You were not charged');
    });
  });

  it('refuses, at the emulator, to refund a charge twice (charge_already_refunded), as Stripe does', async () => {
    const { delivery } = await payTwice('twice.example');
    const stripe = h.sandbox.stripe!;
    const invoice = stripe.invoices().find((i) => i.parent.subscription_details.subscription === delivery.subscriptionId)!;
    const intent = invoice.payments!.data[0]!.payment.payment_intent;
    const refund = (body: string) =>
      fetch(`${stripe.url}/v1/refunds`, {
        method: 'POST',
        body,
        headers: { authorization: 'Bearer sk_test_emulator', 'content-type': 'application/x-www-form-urlencoded' },
      });
    expect((await refund(`payment_intent=${intent}&amount=500`)).status).toBe(200);
    const tooMuch = await refund(`payment_intent=${intent}&amount=1500`);
    expect(tooMuch.status).toBe(400);
    expect((await refund(`payment_intent=${intent}`)).status).toBe(200);
    const again = await refund(`payment_intent=${intent}`);
    expect(again.status).toBe(400);
    expect(((await again.json()) as { error: { code: string } }).error.code).toBe('charge_already_refunded');
  });
});
