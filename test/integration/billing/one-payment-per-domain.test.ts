/**
 * Paying twice for one domain: refused before payment while another checkout
 * for it can still be paid (any workspace); the same workspace starting over
 * expires its own earlier session at Stripe; and a payment that still arrives
 * for a server that cannot exist provisions nothing, marks the checkout
 * refused and alerts ops to refund it.
 */
import { and, eq, isNull } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alerts, checkouts, servers } from '../../../src/db/schema/index.ts';
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

  it('provisions nothing for a payment that still arrives for a served domain: refused, and ops are told to refund', async () => {
    const a = await h.customer('race-a@example.org');
    const b = await h.customer('race-b@example.org');
    const first = await startCheckout(a.token, a.workspaceId, 'race.example');
    // The second checkout started before the first existed (a race the API cannot see): inserted directly.
    const [late] = await h.database.db.insert(checkouts).values({ workspaceId: b.workspaceId, planId: 'starter', zone: 'fr-par-1', domain: 'race.example' }).returning();
    expect((await h.sandbox.stripe!.completeCheckout(first.body.sessionId)).status).toBe(200);
    const session = await h.ctx.providers.billing.createCheckoutSession({
      priceId: 'price_mailplane_starter', customerEmail: 'race-b@example.org', clientReferenceId: late!.id,
      metadata: {}, successUrl: 'https://x.test/ok', cancelUrl: 'https://x.test/no',
    });
    const delivery = await h.sandbox.stripe!.completeCheckout(session.id);
    expect(delivery.status).toBe(200);
    expect(await h.database.db.select().from(servers).where(eq(servers.domain, 'race.example'))).toHaveLength(1);
    const [row] = await h.database.db.select().from(checkouts).where(eq(checkouts.id, late!.id));
    expect(row?.status).toBe('refused');
    const [alert] = await h.database.db.select().from(alerts).where(and(eq(alerts.kind, 'duplicate_payment'), isNull(alerts.resolvedAt)));
    expect(alert?.message).toContain('refund');
    expect(alert?.details).toMatchObject({ checkoutId: late!.id, stripeSubscriptionId: delivery.subscriptionId });
  });
});
