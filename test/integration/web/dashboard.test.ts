/**
 * The dashboard's guards, over plain HTTP: posts from another origin are
 * refused, pages need a session, a workspace you are not in is not found,
 * a member is refused what the API refuses, and sign-in cannot be turned
 * into an open redirect. (The journeys themselves run in chromium: test/e2e/dashboard.)
 */
import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkify } from '../../../src/web/pages/sandbox-mail-pages.ts';
import { STRONG_PASSWORD } from '../../support/api.ts';
import { startHarness, type Harness } from '../../support/provisioning.ts';

let h: Harness;
let owner: { token: string; workspaceId: string };
let member: { token: string; workspaceId: string };
let outsider: { token: string; workspaceId: string };

beforeAll(async () => {
  h = await startHarness({ workers: false });
  owner = await h.customer('owner@web.example');
  member = await h.customer('member@web.example');
  outsider = await h.customer('outsider@web.example');
  const [row] = await h.database.sql`select id from users where email = 'member@web.example'`;
  await h.database.sql`insert into memberships (workspace_id, user_id, role) values (${owner.workspaceId}, ${row!['id']}, 'member')`;
}, 60_000);
afterAll(() => h?.close());

const page = (path: string, o: { token?: string; method?: string; form?: Record<string, string>; headers?: Record<string, string> } = {}) =>
  fetch(`${h.baseUrl}${path}`, {
    method: o.method ?? (o.form ? 'POST' : 'GET'),
    redirect: 'manual',
    headers: {
      ...(o.token ? { cookie: `mailplane_session=${o.token}` } : {}),
      ...(o.form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      ...o.headers,
    },
    ...(o.form ? { body: new URLSearchParams(o.form).toString() } : {}),
  });

describe('dashboard guards', () => {
  it('refuses a form post from another origin, or with no origin at all, and changes nothing', async () => {
    const before = await h.database.sql`select count(*)::int as n from workspaces`;
    const evil = await page('/workspaces', { token: owner.token, form: { name: 'Evil' }, headers: { origin: 'http://evil.test' } });
    expect(evil.status).toBe(403);
    expect(evil.headers.get('content-type')).toMatch(/text\/html/);
    expect(await evil.text()).toContain('not sent from the mailplane dashboard');
    expect((await page('/workspaces', { token: owner.token, form: { name: 'Blind' } })).status).toBe(403);
    // A sandboxed or no-referrer page sends "Origin: null": only Sec-Fetch-Site: same-origin makes it ours.
    expect(
      (await page('/workspaces', { token: owner.token, form: { name: 'Null' }, headers: { origin: 'null', 'sec-fetch-site': 'cross-site' } })).status,
    ).toBe(403);
    const after = await h.database.sql`select count(*)::int as n from workspaces`;
    expect(after[0]!['n']).toBe(before[0]!['n']);
    const ok = await page('/workspaces', { token: owner.token, form: { name: 'Ours' }, headers: { origin: h.baseUrl } });
    expect(ok.status).toBe(303);
  });

  it('sends a visitor without a session to sign in, keeping where they were going', async () => {
    const res = await page(`/w/${owner.workspaceId}/team?tab=1`);
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(`/login?next=${encodeURIComponent(`/w/${owner.workspaceId}/team?tab=1`)}`);
  });

  it('lets a cross-site arrival (back from Stripe, a mail link) continue from our own site, where the Strict cookie is sent', async () => {
    const res = await page('/checkout/done?checkout=00000000-0000-4000-8000-000000000000', { headers: { 'sec-fetch-site': 'cross-site' } });
    expect(res.status).toBe(200);
    const body = await res.text();
    expect(body).toContain('data-refresh="0"');
    expect(body).toContain('href="/checkout/done?checkout=00000000-0000-4000-8000-000000000000"');
    const same = await page('/checkout/done?checkout=00000000-0000-4000-8000-000000000000', { headers: { 'sec-fetch-site': 'same-origin' } });
    expect(same.status).toBe(303);
  });

  it('answers a workspace you are not in with a not-found page, and a member with a refusal where the API refuses', async () => {
    const stranger = await page(`/w/${owner.workspaceId}`, { token: outsider.token });
    expect(stranger.status).toBe(404);
    expect(await stranger.text()).not.toContain('owner@web.example');
    expect((await page(`/w/${owner.workspaceId}/api-keys`, { token: member.token })).status).toBe(403);
    expect((await page(`/w/${owner.workspaceId}/subscribe`, { token: member.token })).status).toBe(403);
    const team = await (await page(`/w/${owner.workspaceId}/team`, { token: member.token })).text();
    expect(team).not.toContain('Send invitation');
    expect(team).toContain('owner@web.example');
  });

  it('signs in with the form, answers a wrong password and an unknown email alike, and never redirects off-site', async () => {
    const wrong = await (
      await page('/login', { form: { email: 'owner@web.example', password: 'not-the-password-at-all' }, headers: { origin: h.baseUrl } })
    ).text();
    const unknown = await (
      await page('/login', { form: { email: 'nobody@web.example', password: 'not-the-password-at-all' }, headers: { origin: h.baseUrl } })
    ).text();
    const message = (html: string) => /role="alert">([^<]*)</.exec(html)?.[1];
    expect(message(wrong)).toBe('Email or password is incorrect');
    expect(message(unknown)).toBe(message(wrong));
    const ok = await page('/login?next=//evil.test/x', { form: { email: 'owner@web.example', password: STRONG_PASSWORD }, headers: { origin: h.baseUrl } });
    expect(ok.status).toBe(303);
    expect(ok.headers.get('location')).toBe('/');
    expect(ok.headers.get('set-cookie')).toMatch(/mailplane_session=.*HttpOnly.*SameSite=Strict/i);
  });

  it('serves pages under a script-src self policy while the API keeps default-src none', async () => {
    const login = await page('/login');
    expect(login.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(login.headers.get('content-security-policy')).not.toContain('unsafe-inline');
    const api = await fetch(`${h.baseUrl}/v1/plans`);
    expect(api.headers.get('content-security-policy')).toBe("default-src 'none'; frame-ancestors 'none'");
    expect((await page('/assets/app.js')).headers.get('content-type')).toMatch(/javascript/);
  });

  it('has an icon: named by every page, and the conventional /favicon.ico leads to it', async () => {
    expect(await (await page('/login')).text()).toContain('<link rel="icon" href="/assets/icon.svg"');
    const ico = await page('/favicon.ico');
    expect([ico.status, ico.headers.get('location')]).toEqual([301, '/assets/icon.svg']);
    const icon = await page('/assets/icon.svg');
    expect([icon.status, icon.headers.get('content-type')]).toEqual([200, 'image/svg+xml']);
    expect(await icon.text()).toMatch(/^<svg /);
  });

  it('erases an account only with its password, mails the owner once, signs out and shows the progress', async () => {
    const leaving = await h.customer('leaving@web.example');
    const wrong = await page('/account/erase', { token: leaving.token, form: { password: 'not-my-password-at-all' }, headers: { origin: h.baseUrl } });
    expect(wrong.status).toBe(400);
    expect(await wrong.text()).toContain('The password confirmation does not match');
    const res = await page('/account/erase', { token: leaving.token, form: { password: STRONG_PASSWORD }, headers: { origin: h.baseUrl } });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toMatch(/^\/goodbye\?u=[0-9a-f-]{36}$/);
    expect(res.headers.get('set-cookie')).toMatch(/mailplane_session=;/);
    const progress = await (await page(res.headers.get('location')!)).text();
    expect(progress).toContain('Erasure under way');
    // The goodbye is the last message; mailplane's copy of it (the sandbox outbox) no longer names the address.
    const mails = await h.database.sql`select subject, "to" from sandbox_mail where subject = 'Your mailplane account is being erased'`;
    expect(mails.map((m) => m['to'])).toEqual([['[erased]']]);
    expect(await h.database.sql`select 1 from sandbox_mail where 'leaving@web.example' = any("to")`).toHaveLength(0);
    expect((await page('/account', { token: leaving.token })).status).toBe(303);
  });

  it('erases a workspace only for its owner, only when its name is typed back, and after a grace period an owner can end', async () => {
    const ws = await h.call('POST', '/v1/workspaces', { token: owner.token, body: { name: 'Short Lived' } });
    const id = ws.body.id as string;
    expect((await page(`/w/${id}/erase`, { token: member.token, form: { confirm: 'Short Lived' }, headers: { origin: h.baseUrl } })).status).toBe(404);
    const mistyped = await page(`/w/${id}/erase`, { token: owner.token, form: { confirm: 'short lived' }, headers: { origin: h.baseUrl } });
    expect(mistyped.status).toBe(400);
    const res = await page(`/w/${id}/erase`, { token: owner.token, form: { confirm: 'Short Lived' }, headers: { origin: h.baseUrl } });
    expect(res.headers.get('location')).toBe(`/w/${id}?notice=erasure_scheduled`);
    // The grace period: the page says when, offers to keep the workspace, and no longer offers to subscribe or erase.
    const waiting = await (await page(`/w/${id}`, { token: owner.token })).text();
    expect(waiting).toMatch(/This workspace will be erased at \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC/);
    expect(waiting).toContain('Keep this workspace');
    expect(waiting).not.toContain('Subscribe to a new mail server');
    expect(waiting).not.toContain('Erase workspace');
    const kept = await page(`/w/${id}/erasure/cancel`, { token: owner.token, form: {}, headers: { origin: h.baseUrl } });
    expect(kept.headers.get('location')).toBe(`/w/${id}?notice=erasure_cancelled`);
    expect(await (await page(`/w/${id}`, { token: owner.token })).text()).toContain('Erase workspace');
    expect(await h.afterErasureGrace()).toEqual([]);

    await page(`/w/${id}/erase`, { token: owner.token, form: { confirm: 'Short Lived' }, headers: { origin: h.baseUrl } });
    expect(await h.afterErasureGrace()).toEqual([id]);
    expect((await page(`/w/${id}`, { token: owner.token })).status).toBe(404);
  });

  it('keeps /openapi.json a valid OpenAPI 3.1 document with the product routes in it', async () => {
    const doc = (await (await fetch(`${h.baseUrl}/openapi.json`)).json()) as { paths: Record<string, unknown> };
    const result = await new Validator().validate(structuredClone(doc) as Parameters<Validator['validate']>[0]);
    expect(result.errors ?? []).toEqual([]);
    for (const path of [
      '/v1/auth/password/forgot',
      '/v1/auth/password/reset',
      '/v1/auth/email/verify',
      '/v1/me/email/verification',
      '/v1/workspaces/{ws}/servers/{id}/checks',
    ]) {
      expect(doc.paths[path], path).toBeDefined();
    }
    // Pages are not API operations.
    expect(Object.keys(doc.paths).filter((p) => !p.startsWith('/v1/') && !['/healthz', '/readyz', '/metrics'].includes(p))).toEqual([]);
  });

  it('shows stored mail with its links clickable and everything else escaped', () => {
    expect(linkify('Hi <b>"you"</b>: http://127.0.0.1:3000/verify-email?token=a.b&x=1 ok')).toBe(
      'Hi &lt;b&gt;&quot;you&quot;&lt;/b&gt;: <a href="http://127.0.0.1:3000/verify-email?token=a.b&amp;x=1">http://127.0.0.1:3000/verify-email?token=a.b&amp;x=1</a> ok',
    );
  });
});

describe('a throttled sign-in on the dashboard', () => {
  it('answers 429 with Retry-After and the sentence, as the API does, once the account has had its free attempts', async () => {
    const email = 'throttled@web.example';
    await h.customer(email);
    const attempt = () => page('/login', { form: { email, password: 'not-the-password-at-all' }, headers: { origin: h.baseUrl } });
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await attempt()).status);
    expect(statuses.slice(0, 5)).toEqual([400, 400, 400, 400, 400]);
    const throttled = await attempt();
    expect(throttled.status).toBe(429);
    expect(Number(throttled.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(throttled.headers.get('content-type')).toMatch(/text\/html/);
  });
});

describe('signing up through the API', () => {
  it('mails the new account its verification link, as the sign-up page does', async () => {
    const email = 'api-signup@web.example';
    await h.customer(email, { verified: false });
    const mail = (await h.ctx.outbox!.list()).find((m) => m.to.includes(email) && m.text.includes('/verify-email?token='));
    expect(mail, 'no verification mail').toBeDefined();
    const token = new URL(/https?:\/\/\S+verify-email\S+/.exec(mail!.text)![0]).searchParams.get('token')!;
    expect((await h.call('POST', '/v1/auth/email/verify', { body: { token } })).status).toBe(200);
    const [row] = await h.database.sql`select email_verified_at from users where email = ${email}`;
    expect(row!['email_verified_at']).not.toBeNull();
  });
});

describe('signing up through the dashboard', () => {
  it('answers a new and a taken address alike, and the mailed link signs in and continues where the sign-up was going', async () => {
    const signup = (email: string) =>
      page(`/signup?next=${encodeURIComponent('/account')}`, { form: { name: 'Nia', email, password: STRONG_PASSWORD }, headers: { origin: h.baseUrl } });
    const fresh = await signup('nia@web.example');
    const taken = await signup('owner@web.example');
    for (const res of [fresh, taken]) {
      expect([res.status, res.headers.get('location'), res.headers.get('set-cookie')]).toEqual([303, '/signup/check-mail', null]);
    }
    const check = await (await page('/signup/check-mail')).text();
    expect(check).toContain('Check your mail');
    expect(check).toContain('href="/sandbox/mail"');

    const mails = await h.ctx.outbox!.list();
    expect(mails.filter((m) => m.to.includes('owner@web.example')).map((m) => m.subject)).toContain(
      'Someone tried to create a mailplane account with your address',
    );
    const mail = mails.find((m) => m.to.includes('nia@web.example') && m.text.includes('/verify-email?token='));
    const link = new URL(/https?:\/\/\S+verify-email\S+/.exec(mail!.text)![0]);
    expect(link.searchParams.get('next')).toBe('/account');
    const form = await (await page(`${link.pathname}${link.search}`)).text();
    expect(form).toContain(`action="/verify-email?next=${encodeURIComponent('/account')}"`);
    // A link edited to lead off-site keeps the visitor here.
    expect(await (await page(`/verify-email?token=x&next=${encodeURIComponent('//evil.test/x')}`)).text()).toContain('action="/verify-email?next=%2F"');

    const confirmed = await page('/verify-email?next=%2Faccount', { form: { token: link.searchParams.get('token')! }, headers: { origin: h.baseUrl } });
    expect([confirmed.status, confirmed.headers.get('location')]).toEqual([303, '/account']);
    const session = /mailplane_session=([^;]+)/.exec(confirmed.headers.get('set-cookie') ?? '')?.[1];
    expect(session).toBeDefined();
    const account = await page('/account', { token: session! });
    expect(account.status).toBe(200);
    expect(await account.text()).toContain('nia@web.example');
  });
});
