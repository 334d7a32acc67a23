/**
 * Cancelling one server and changing its plan, through the API, the real Stripe SDK and the
 * Stripe emulator (its POST /v1/subscriptions/:id and its test clock ending a period): a
 * cancellation is Stripe's cancel_at_period_end (the server serves until the period ends, then
 * the grace period applies), it can be undone before, and out-of-order deliveries leave what
 * Stripe says now. A plan change is prorated at Stripe, applied when Stripe confirms, and an
 * upgrade rebuilds the server onto the larger instance type and disk; a downgrade the server does
 * not fit in is refused and changes nothing.
 */
import { and, desc, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog, mailboxes, provisioningRuns, servers, subscriptions } from '../../../src/db/schema/index.ts';
import { startHarness, type Harness } from '../../support/provisioning.ts';
import { until } from '../../support/until.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

async function readyCustomer(name: string) {
  const email = `${name}@example.org`;
  const { token, workspaceId } = await h.customer(email);
  const domain = `${name}-mail.example`;
  const { serverId } = await h.readyServer(token, workspaceId, domain);
  const [row] = await h.database.db
    .select({ sub: subscriptions })
    .from(servers)
    .innerJoin(subscriptions, eq(subscriptions.id, servers.subscriptionId))
    .where(eq(servers.id, serverId));
  return {
    token,
    workspaceId,
    serverId,
    domain,
    email,
    sub: row!.sub,
    stripeId: row!.sub.stripeSubscriptionId!,
    base: `/v1/workspaces/${workspaceId}/servers/${serverId}`,
  };
}

const serverRow = async (id: string) => (await h.database.db.select().from(servers).where(eq(servers.id, id)))[0]!;
const subRow = async (id: string) => (await h.database.db.select().from(subscriptions).where(eq(subscriptions.id, id)))[0]!;
const atStripe = (id: string) => h.sandbox.stripe!.subscriptions().find((s) => s.id === id)!;
const mailTo = (email: string, subject: string) =>
  until(`a mail "${subject}" to ${email}`, async () => (await h.ctx.outbox!.list()).find((m) => m.to.includes(email) && m.subject.includes(subject)));

/** A person with this role in the workspace. */
async function memberToken(workspaceId: string, email: string, role: 'admin' | 'member') {
  const { token, userId } = await h.signup(email);
  await h.database.sql`insert into memberships (workspace_id, user_id, role) values (${workspaceId}, ${userId}, ${role})`;
  return token;
}

describe('cancelling one server', () => {
  it('ends the subscription at the period end: the server serves until then, then the grace period applies', async () => {
    const c = await readyCustomer('cancel-one');
    const admin = await memberToken(c.workspaceId, 'cancel-one-admin@example.org', 'admin');
    expect((await h.call('POST', `${c.base}/subscription/cancel`, { token: admin, body: { confirmDomain: c.domain } })).status).toBe(403);
    const wrong = await h.call('POST', `${c.base}/subscription/cancel`, { token: c.token, body: { confirmDomain: 'other.example' } });
    expect(wrong.status).toBe(400);
    expect(wrong.headers.get('content-type')).toBe('application/problem+json');
    expect(atStripe(c.stripeId).cancel_at_period_end).toBe(false);

    const res = await h.call('POST', `${c.base}/subscription/cancel`, { token: c.token, body: { confirmDomain: c.domain.toUpperCase() } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const stripeSub = atStripe(c.stripeId);
    expect([stripeSub.status, stripeSub.cancel_at_period_end, stripeSub.cancel_at]).toEqual(['active', true, stripeSub.items.data[0]!.current_period_end]);
    expect(res.body).toMatchObject({ cancelAtPeriodEnd: true, periodEndsAt: new Date(stripeSub.cancel_at! * 1000).toISOString() });
    expect((await h.call('POST', `${c.base}/subscription/cancel`, { token: c.token, body: { confirmDomain: c.domain } })).status).toBe(409);
    // Stripe's customer.subscription.updated arrives and changes nothing more: the server serves on.
    await until('the update event', async () =>
      h.sandbox.stripe!.deliveries().find((d) => d.subscriptionId === c.stripeId && d.type === 'customer.subscription.updated' && d.status === 200),
    );
    expect((await serverRow(c.serverId)).status).toBe('ready');
    const billing = await h.call('GET', `/v1/workspaces/${c.workspaceId}/billing`, { token: c.token });
    expect(billing.body.subscriptions[0]).toMatchObject({ serverId: c.serverId, cancelAtPeriodEnd: true, nextInvoiceAt: null, status: 'active' });
    const mail = await mailTo(c.email, 'is cancelled');
    expect(mail.text).toContain(new Date(stripeSub.cancel_at! * 1000).toISOString().slice(0, 10));
    expect(
      await h.database.db
        .select()
        .from(auditLog)
        .where(and(eq(auditLog.action, 'subscription.cancel_scheduled'), eq(auditLog.target, c.serverId))),
    ).toHaveLength(1);

    // The period ends (the emulator's test clock): Stripe cancels and says so; the grace period starts.
    const ended = await h.sandbox.stripe!.advanceToPeriodEnd(c.stripeId);
    expect([ended.type, ended.status]).toEqual(['customer.subscription.deleted', 200]);
    const sub = await subRow(c.sub.id);
    expect([(await serverRow(c.serverId)).status, sub.status]).toEqual(['suspended', 'canceled']);
    expect(sub.graceEndsAt).not.toBeNull();
    await mailTo(c.email, 'is suspended');
    await h.afterGracePeriod();
    expect(['deprovisioning', 'deleted']).toContain((await serverRow(c.serverId)).status);
  });

  it('can be undone before the period ends: the subscription renews and the server stays', async () => {
    const c = await readyCustomer('cancel-undo');
    expect((await h.call('POST', `${c.base}/subscription/resume`, { token: c.token })).status).toBe(409);
    expect((await h.call('POST', `${c.base}/subscription/cancel`, { token: c.token, body: { confirmDomain: c.domain } })).status).toBe(200);
    const undone = await h.call('POST', `${c.base}/subscription/resume`, { token: c.token });
    expect(undone.status, JSON.stringify(undone.body)).toBe(200);
    expect(undone.body.cancelAtPeriodEnd).toBe(false);
    expect([atStripe(c.stripeId).cancel_at_period_end, atStripe(c.stripeId).cancel_at]).toEqual([false, null]);
    await mailTo(c.email, 'will renew');
    const renewed = await h.sandbox.stripe!.advanceToPeriodEnd(c.stripeId);
    expect([renewed.type, renewed.status]).toEqual(['customer.subscription.updated', 200]);
    expect([(await serverRow(c.serverId)).status, (await subRow(c.sub.id)).status, (await subRow(c.sub.id)).cancelAtPeriodEnd]).toEqual([
      'ready',
      'active',
      false,
    ]);
  });

  it("shows and mails a cancellation made in Stripe's customer portal", async () => {
    const c = await readyCustomer('cancel-portal');
    expect((await h.sandbox.stripe!.cancelAtPeriodEnd(c.stripeId)).status).toBe(200);
    expect((await subRow(c.sub.id)).cancelAtPeriodEnd).toBe(true);
    await mailTo(c.email, 'is cancelled');
    expect((await h.sandbox.stripe!.renewSubscription(c.stripeId)).status).toBe(200);
    expect((await subRow(c.sub.id)).cancelAtPeriodEnd).toBe(false);
    await mailTo(c.email, 'will renew');
  });

  it('applies what Stripe says now when the cancel and undo events arrive in reverse', async () => {
    const c = await readyCustomer('cancel-reorder');
    const stripe = h.sandbox.stripe!;
    stripe.holdDeliveries();
    expect((await h.call('POST', `${c.base}/subscription/cancel`, { token: c.token, body: { confirmDomain: c.domain } })).status).toBe(200);
    expect((await h.call('POST', `${c.base}/subscription/resume`, { token: c.token })).status).toBe(200);
    const delivered = await stripe.releaseDeliveries('reverse');
    expect(delivered.filter((d) => d.subscriptionId === c.stripeId).map((d) => [JSON.parse(d.body).data.object.cancel_at_period_end, d.status])).toEqual([
      [false, 200],
      [true, 200],
    ]);
    expect((await subRow(c.sub.id)).cancelAtPeriodEnd).toBe(false);
  });
});

describe('changing the plan', () => {
  it("upgrades with Stripe's proration and, once Stripe confirms, rebuilds onto the larger instance and disk", async () => {
    const c = await readyCustomer('upgrade');
    const created = await h.call('POST', `${c.base}/mailboxes`, { token: c.token, body: { localPart: 'alice' } });
    expect(created.status).toBe(201);
    const before = await serverRow(c.serverId);
    const member = await memberToken(c.workspaceId, 'upgrade-member@example.org', 'member');
    expect((await h.call('POST', `${c.base}/subscription/plan`, { token: member, body: { plan: 'business' } })).status).toBe(403);
    expect((await h.call('POST', `${c.base}/subscription/plan`, { token: c.token, body: { plan: 'gold' } })).status).toBe(400);

    const res = await h.call('POST', `${c.base}/subscription/plan`, { token: c.token, body: { plan: 'business' } });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    expect(res.body).toMatchObject({ fromPlan: 'starter', toPlan: 'business', status: 'pending' });
    // Stripe: the same item on the new price, and the rest of the period prorated onto the next invoice.
    const item = atStripe(c.stripeId).items.data;
    expect(item.map((i) => i.price.id)).toEqual(['price_mailplane_business']);
    const prorations = h.sandbox.stripe!.pendingInvoiceItems().filter((i) => i.subscription === c.stripeId);
    expect(prorations.map((p) => Math.sign(p.amount))).toEqual([-1, 1]);
    expect(prorations.reduce((sum, p) => sum + p.amount, 0)).toBeGreaterThan(0);

    // Applied when Stripe's event arrives: limits, quotas, and the rebuild onto DEV1-M with a 50 GB volume.
    await until('the plan change applied', async () => (await serverRow(c.serverId)).planId === 'business');
    expect((await subRow(c.sub.id)).planId).toBe('business');
    const [box] = await h.database.db.select().from(mailboxes).where(eq(mailboxes.serverId, c.serverId));
    expect(box!.quotaMb).toBe(20 * 1024);
    await mailTo(c.email, 'now on the Business plan');
    const run = await until(
      'the rebuild run',
      async () =>
        (
          await h.database.db
            .select()
            .from(provisioningRuns)
            .where(and(eq(provisioningRuns.serverId, c.serverId), eq(provisioningRuns.kind, 'rebuild')))
            .orderBy(desc(provisioningRuns.createdAt))
            .limit(1)
        )[0],
    );
    expect(run.params).toMatchObject({ reason: expect.stringContaining('DEV1-M, 50 GB disk') });
    const after = await h.waitForServer(c.serverId, ['ready', 'failed'], 120_000);
    expect(after.status, after.statusReason ?? '').toBe('ready');
    expect(after.providerServerId).not.toBe(before.providerServerId);
    expect([after.ipv4, after.ipv6]).toEqual([before.ipv4, before.ipv6]);
    const instance = (await (
      await fetch(`${h.sandbox.scaleway!.url}/instance/v1/zones/fr-par-1/servers/${after.providerServerId}`, {
        headers: { 'x-auth-token': h.env['SCW_SECRET_KEY']! },
      })
    ).json()) as { server: { commercial_type: string } };
    expect(instance.server.commercial_type).toBe('DEV1-M');
    expect(
      h.sandbox
        .scaleway!.listVolumes()
        .filter((v) => v.serverId === after.providerServerId)
        .map((v) => v.sizeBytes),
    ).toEqual([50_000_000_000]);
    expect(
      await h.database.db
        .select()
        .from(auditLog)
        .where(and(eq(auditLog.action, 'subscription.plan_changed'), eq(auditLog.target, c.serverId))),
    ).toHaveLength(1);

    // A late or repeated delivery of the same event changes nothing more: no second rebuild.
    const event = h.sandbox.stripe!.deliveries().find((d) => d.subscriptionId === c.stripeId && d.type === 'customer.subscription.updated')!;
    expect((await h.sandbox.stripe!.resend(event.eventId)).status).toBe(200);
    expect(
      await h.database.db
        .select()
        .from(provisioningRuns)
        .where(and(eq(provisioningRuns.serverId, c.serverId), eq(provisioningRuns.kind, 'rebuild'))),
    ).toHaveLength(1);

    // Back to Starter while it holds more than Starter allows: refused with the reasons, nothing changes.
    await h.database.db
      .update(mailboxes)
      .set({ usedBytes: 12 * 1024 ** 3, usageCollectedAt: new Date() })
      .where(eq(mailboxes.serverId, c.serverId));
    const down = await h.call('POST', `${c.base}/subscription/plan`, { token: c.token, body: { plan: 'starter' } });
    expect(down.status).toBe(409);
    expect(down.headers.get('content-type')).toBe('application/problem+json');
    expect(down.body.detail).toContain('10 GB per mailbox');
    expect(atStripe(c.stripeId).items.data.map((i) => i.price.id)).toEqual(['price_mailplane_business']);
    expect((await serverRow(c.serverId)).planId).toBe('business');
  });

  it('refuses a downgrade to a plan with fewer mailboxes than the server has', async () => {
    const c = await readyCustomer('downgrade');
    // Straight to Business at Stripe (as the portal would) to start from there.
    await h.database.db.update(subscriptions).set({ planId: 'business' }).where(eq(subscriptions.id, c.sub.id));
    await h.database.db.update(servers).set({ planId: 'business' }).where(eq(servers.id, c.serverId));
    for (let i = 0; i < 11; i++) expect((await h.call('POST', `${c.base}/mailboxes`, { token: c.token, body: { localPart: `user${i}` } })).status).toBe(201);
    const down = await h.call('POST', `${c.base}/subscription/plan`, { token: c.token, body: { plan: 'starter' } });
    expect(down.status).toBe(409);
    expect(down.body).toMatchObject({ code: 'plan_too_small' });
    expect(down.body.detail).toContain('11 mailboxes (the Starter plan includes 10)');
  });
});

describe('on the dashboard', () => {
  const page = (path: string, token: string, form?: Record<string, string>) =>
    fetch(`${h.baseUrl}${path}`, {
      method: form ? 'POST' : 'GET',
      redirect: 'manual',
      headers: { cookie: `mailplane_session=${token}`, ...(form ? { 'content-type': 'application/x-www-form-urlencoded', origin: h.baseUrl } : {}) },
      ...(form ? { body: new URLSearchParams(form).toString() } : {}),
    });

  it('lets an owner cancel a server with its domain name, shows it on the billing and server pages, and undo it; an admin sees neither', async () => {
    const c = await readyCustomer('web-cancel');
    const billing = `/w/${c.workspaceId}/billing`;
    const cancelUrl = `${billing}/servers/${c.serverId}/cancel`;
    expect(await (await page(billing, c.token)).text()).toContain(cancelUrl);
    const admin = await memberToken(c.workspaceId, 'web-cancel-admin@example.org', 'admin');
    expect(await (await page(billing, admin)).text()).not.toContain(cancelUrl);
    expect((await page(cancelUrl, admin)).status).toBe(403);

    const form = await page(cancelUrl, c.token);
    expect(await form.text()).toContain(`Type ${c.domain} to confirm`);
    const wrong = await page(cancelUrl, c.token, { confirmDomain: 'typo.example' });
    expect(wrong.status).toBe(400);
    expect(await wrong.text()).toContain('does not match');
    expect(atStripe(c.stripeId).cancel_at_period_end).toBe(false);

    const done = await page(cancelUrl, c.token, { confirmDomain: c.domain });
    expect([done.status, done.headers.get('location')]).toEqual([303, `${billing}?notice=server_cancelled`]);
    const after = await (await page(`${billing}?notice=server_cancelled`, c.token)).text();
    expect(after).toContain('Undo the cancellation');
    expect(after).toContain('The server is cancelled');
    expect(await (await page(`/w/${c.workspaceId}/servers/${c.serverId}`, c.token)).text()).toContain('id="server-cancelled"');

    const undone = await page(`${billing}/servers/${c.serverId}/resume`, c.token, {});
    expect(undone.headers.get('location')).toBe(`${billing}?notice=cancel_undone`);
    expect(atStripe(c.stripeId).cancel_at_period_end).toBe(false);
    expect(await (await page(`/w/${c.workspaceId}/servers/${c.serverId}`, c.token)).text()).not.toContain('id="server-cancelled"');
  });

  it('lets an owner change the plan, and shows a refusal on the plan page', async () => {
    const c = await readyCustomer('web-plan');
    const planUrl = `/w/${c.workspaceId}/billing/servers/${c.serverId}/plan`;
    const same = await page(planUrl, c.token, { plan: 'starter' });
    expect(same.status).toBe(409);
    expect(await same.text()).toContain('already on the Starter plan');
    const changed = await page(planUrl, c.token, { plan: 'business' });
    expect(changed.headers.get('location')).toBe(`/w/${c.workspaceId}/billing?notice=plan_change_requested`);
    expect(atStripe(c.stripeId).items.data[0]!.price.id).toBe('price_mailplane_business');
    await until('the plan change applied', async () => (await serverRow(c.serverId)).planId === 'business');
    // The rebuild onto the Business instance runs to its end before the harness stops.
    await until(
      'the rebuild to finish',
      async () =>
        (
          await h.database.db
            .select()
            .from(provisioningRuns)
            .where(and(eq(provisioningRuns.serverId, c.serverId), eq(provisioningRuns.kind, 'rebuild'), eq(provisioningRuns.status, 'succeeded')))
        )[0],
      120_000,
    );
  });
});
