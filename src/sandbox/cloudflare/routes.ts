/**
 * The v4 endpoints mailplane's Cloudflare adapter calls, mounted under
 * `/client/v4` (the SDK appends resource paths to its baseURL, whose default
 * is https://api.cloudflare.com/client/v4).
 */
import type { Context, Hono } from 'hono';
import { reviewScan, scanAndAdd, scannedRecords, triggerScan } from './scan.ts';
import type { CloudflareState } from './state.ts';
import { CfApiError, matchesStringFilter, ok, paginate, type CfDnssecStatus } from './wire.ts';

export const API_PREFIX = '/client/v4';
/** A Free zone's activation check may be asked for once an hour (paid plans: every 5 minutes). */
const ACTIVATION_CHECK_INTERVAL_MS = 3600_000;

async function jsonBody(c: Context): Promise<unknown> {
  try {
    return await c.req.json();
  } catch {
    throw CfApiError.invalid(6007, 'Malformed JSON in request body');
  }
}

export function registerCloudflareRoutes(app: Hono, state: CloudflareState): void {
  const p = API_PREFIX;

  app.get(`${p}/zones`, (c) => {
    const q = (key: string) => c.req.query(key);
    const status = q('status');
    const account = q('account.id');
    const zones = [...state.zones.values()].filter(
      (z) => matchesStringFilter(z.name, q, 'name') && (!status || z.status === status) && (!account || z.account.id === account),
    );
    const { items, info } = paginate(zones, { page: q('page'), per_page: q('per_page') }, { defaultSize: 20, min: 5, max: 50 });
    return ok(c, items, info);
  });
  app.post(`${p}/zones`, async (c) => ok(c, state.createZone(await jsonBody(c))));
  app.get(`${p}/zones/:zoneId`, (c) => ok(c, state.zone(c.req.param('zoneId'))));
  // "Re-check now": Cloudflare looks at the delegation again; in manual mode only a person moves it.
  // Documented: for a pending zone only, once an hour on a Free zone. What a refused check answers
  // is not: the emulator answers 400, the harsher case, so no caller may count on a retryable refusal.
  app.put(`${p}/zones/:zoneId/activation_check`, (c) => {
    const zone = state.zone(c.req.param('zoneId'));
    if (zone.status !== 'pending') throw CfApiError.invalid(1001, 'An activation check is only available for a pending zone.');
    const last = state.activationChecks.get(zone.id);
    if (last !== undefined && Date.now() - last < ACTIVATION_CHECK_INTERVAL_MS) {
      throw CfApiError.invalid(1001, 'An activation check was requested for this zone less than an hour ago.');
    }
    state.activationChecks.set(zone.id, Date.now());
    if (state.zoneActivation === 'immediate') {
      zone.status = 'active';
      zone.activated_on = new Date().toISOString();
    }
    return ok(c, { id: zone.id });
  });
  app.delete(`${p}/zones/:zoneId`, (c) => {
    const id = c.req.param('zoneId');
    state.deleteZone(id);
    return ok(c, { id });
  });

  app.get(`${p}/zones/:zoneId/dns_records`, (c) => {
    const zoneId = c.req.param('zoneId');
    state.zone(zoneId);
    const q = (key: string) => c.req.query(key);
    const type = q('type')?.toUpperCase();
    const records = state
      .zoneRecords(zoneId)
      .filter((r) => (!type || r.type === type) && matchesStringFilter(r.name, q, 'name') && matchesStringFilter(r.content, q, 'content'));
    const { items, info } = paginate(records, { page: q('page'), per_page: q('per_page') }, { defaultSize: 100, min: 5, max: 5_000_000 });
    return ok(c, items, info);
  });
  // The scan routes come before `:recordId` so "scan" is never taken for a record id.
  app.post(`${p}/zones/:zoneId/dns_records/scan/trigger`, (c) => {
    triggerScan(state, c.req.param('zoneId'));
    return c.json({ success: true, errors: [], messages: [] });
  });
  app.get(`${p}/zones/:zoneId/dns_records/scan/review`, (c) => ok(c, scannedRecords(state, c.req.param('zoneId'))));
  app.post(`${p}/zones/:zoneId/dns_records/scan/review`, async (c) => ok(c, reviewScan(state, c.req.param('zoneId'), await jsonBody(c))));
  app.post(`${p}/zones/:zoneId/dns_records/scan`, (c) => ok(c, scanAndAdd(state, c.req.param('zoneId'))));
  app.post(`${p}/zones/:zoneId/dns_records`, async (c) => ok(c, state.createRecord(c.req.param('zoneId'), await jsonBody(c))));
  app.get(`${p}/zones/:zoneId/dns_records/:recordId`, (c) => ok(c, state.record(c.req.param('zoneId'), c.req.param('recordId'))));
  app.put(`${p}/zones/:zoneId/dns_records/:recordId`, async (c) =>
    ok(c, state.updateRecord(c.req.param('zoneId'), c.req.param('recordId'), await jsonBody(c))),
  );
  app.patch(`${p}/zones/:zoneId/dns_records/:recordId`, async (c) =>
    ok(c, state.updateRecord(c.req.param('zoneId'), c.req.param('recordId'), await jsonBody(c), true)),
  );
  app.delete(`${p}/zones/:zoneId/dns_records/:recordId`, (c) => {
    const id = c.req.param('recordId');
    state.deleteRecord(c.req.param('zoneId'), id);
    return ok(c, { id });
  });

  app.get(`${p}/zones/:zoneId/dnssec`, (c) => ok(c, state.getDnssec(c.req.param('zoneId'))));
  app.patch(`${p}/zones/:zoneId/dnssec`, async (c) => {
    const zoneId = c.req.param('zoneId');
    const body = (await jsonBody(c)) as { status?: unknown };
    const current = state.getDnssec(zoneId);
    if (body.status === undefined) return ok(c, current);
    if (body.status !== 'active' && body.status !== 'disabled') throw CfApiError.invalid(1004, 'status must be "active" or "disabled"');
    let next: CfDnssecStatus;
    // Switching off a signing zone is not immediate: Cloudflare keeps signing (pending-disabled)
    // until the DS is gone from the parent, or resolvers would see a bogus zone.
    if (body.status === 'disabled') next = current.status === 'active' ? 'pending-disabled' : 'disabled';
    else if (current.status === 'active' || current.status === 'pending') next = current.status;
    // Cloudflare signs at once but calls it `pending` until the DS is at the registrar.
    else next = state.dnssecActivation === 'immediate' ? 'active' : 'pending';
    return ok(c, state.setDnssec(zoneId, next));
  });
  app.delete(`${p}/zones/:zoneId/dnssec`, (c) => {
    state.setDnssec(c.req.param('zoneId'), 'disabled');
    return ok(c, '');
  });
}
