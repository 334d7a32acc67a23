/**
 * Plans are sold only where their instance types exist (Scaleway's recorded
 * catalogue: no DEV1 in fr-par-3, nl-ams-3 or pl-waw-3), and a server's disk is
 * sized to what its plan sells. The plans here: Starter prefers DEV1-S, falls
 * back to PLAY2-PICO then PRO2-XXS; Business has DEV1-M and nothing else.
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkouts } from '../../../src/db/schema/index.ts';
import { startHarness, type Harness } from '../../support/provisioning.ts';

const PLANS = [
  {
    id: 'starter',
    name: 'Starter',
    stripePriceId: 'price_mailplane_starter',
    commercialType: 'DEV1-S',
    fallbackTypes: ['PLAY2-PICO', 'PRO2-XXS'],
    mailboxes: 10,
    storageGb: 20,
    messagesPerHour: 200,
  },
  {
    id: 'business',
    name: 'Business',
    stripePriceId: 'price_mailplane_business',
    commercialType: 'DEV1-M',
    mailboxes: 50,
    storageGb: 40,
    messagesPerHour: 1000,
  },
];

let h: Harness;
beforeAll(async () => {
  // Catalogue read afresh at every use here (the adapter's cache has its own test).
  h = await startHarness({ env: { PLANS: JSON.stringify(PLANS), SCW_CATALOGUE_TTL_SECONDS: '0' } });
}, 60_000);
afterAll(async () => {
  await h?.close();
});

describe('plans and the zones that sell them', () => {
  it('offers each plan only in the zones that sell one of its types, with the type it gets there', async () => {
    const plans = (await h.call('GET', '/v1/plans')).body.plans as { id: string; zones: { zone: string; commercialType: string }[] }[];
    const zonesOf = (id: string) => Object.fromEntries(plans.find((p) => p.id === id)!.zones.map((z) => [z.zone, z.commercialType]));
    expect(zonesOf('starter')).toMatchObject({ 'fr-par-1': 'DEV1-S', 'fr-par-3': 'PRO2-XXS', 'nl-ams-3': 'PLAY2-PICO', 'pl-waw-3': 'PLAY2-PICO' });
    expect(Object.keys(zonesOf('business')).sort()).toEqual(['fr-par-1', 'fr-par-2', 'nl-ams-1', 'nl-ams-2', 'pl-waw-1', 'pl-waw-2']);
    const regions = (await h.call('GET', '/v1/regions')).body.regions as { zone: string; plans: string[] }[];
    expect(regions.find((r) => r.zone === 'fr-par-3')?.plans).toEqual(['starter']);
    expect(regions.find((r) => r.zone === 'fr-par-1')?.plans).toEqual(['starter', 'business']);
  });

  it('refuses a checkout for a plan in a zone that does not sell its type, before Stripe, and changes nothing', async () => {
    const { token, workspaceId } = await h.customer('nowhere@example.com');
    const res = await h.call('POST', `/v1/workspaces/${workspaceId}/checkout`, {
      token,
      body: { plan: 'business', region: 'nl-ams-3', domain: 'nowhere-mail.example' },
    });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(res.body.detail).toContain('not sold in nl-ams-3');
    expect(res.body.errors).toEqual([expect.objectContaining({ path: 'json.region', message: expect.stringContaining('fr-par-1') })]);
    expect(await h.database.db.select().from(checkouts).where(eq(checkouts.domain, 'nowhere-mail.example'))).toEqual([]);
  });

  it('refuses a zone whose only type of the plan is out of stock, and sells it again once stock is back', async () => {
    const { token, workspaceId } = await h.customer('stock@example.com');
    const scaleway = h.sandbox.scaleway!;
    scaleway.catalogue.setAvailability('pl-waw-2', 'DEV1-M', 'shortage');
    const body = { plan: 'business', region: 'pl-waw-2', domain: 'stock-mail.example' };
    const refused = await h.call('POST', `/v1/workspaces/${workspaceId}/checkout`, { token, body });
    expect(refused.status).toBe(400);
    expect(refused.body.detail).toContain('out of stock in pl-waw-2');
    expect(((await h.call('GET', '/v1/regions')).body.regions as { zone: string; plans: string[] }[]).find((r) => r.zone === 'pl-waw-2')?.plans).toEqual([
      'starter',
    ]);
    scaleway.catalogue.setAvailability('pl-waw-2', 'DEV1-M', 'scarce');
    expect((await h.call('POST', `/v1/workspaces/${workspaceId}/checkout`, { token, body })).status).toBe(201);
  });

  it('builds a Starter server in fr-par-3 on the type sold there, with a disk of the storage sold plus 10 GB', async () => {
    const { token, workspaceId } = await h.customer('par3@example.com');
    const { serverId } = await h.subscribe(token, workspaceId, 'par3-mail.example', 'fr-par-3');
    const row = await h.waitForServer(serverId, ['ready', 'failed'], 120_000);
    expect(row.status, row.statusReason ?? '').toBe('ready');
    const instance = h.sandbox.scaleway!.listServers().find((s) => s.id === row.providerServerId)!;
    expect(instance.zone).toBe('fr-par-3');
    const raw = await fetch(`${h.sandbox.scaleway!.url}/instance/v1/zones/fr-par-3/servers/${instance.id}`, { headers: { 'X-Auth-Token': 'x' } });
    expect(((await raw.json()) as { server: { commercial_type: string } }).server.commercial_type).toBe('PRO2-XXS');
    const disk = h.sandbox.scaleway!.listVolumes().find((v) => v.serverId === instance.id)!;
    expect(disk).toMatchObject({ type: 'sbs_volume', sizeBytes: 30_000_000_000 });
  }, 150_000);
});
