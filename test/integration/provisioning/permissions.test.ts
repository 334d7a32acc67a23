/**
 * The permission table for the routes that work on servers: every route
 * against every kind of caller, on a ready sandbox server. Written from the
 * issues (members read and open webmail; owners and admins change mailboxes
 * and export passwords; API keys act by scope and never export or open
 * webmail; strangers get 404), independently of src/auth/permissions.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STRONG_PASSWORD } from '../../support/api.ts';
import { startHarness, type Harness } from '../../support/provisioning.ts';

type Caller = 'owner' | 'admin' | 'member' | 'outsider' | 'readKey' | 'writeKey' | 'foreignKey';
const CALLERS: Caller[] = ['owner', 'admin', 'member', 'outsider', 'readKey', 'writeKey', 'foreignKey'];
const READERS: Caller[] = ['owner', 'admin', 'member', 'readKey', 'writeKey'];
const MANAGERS: Caller[] = ['owner', 'admin'];
const MAILBOX_WRITERS: Caller[] = ['owner', 'admin', 'writeKey'];
const PEOPLE: Caller[] = ['owner', 'admin', 'member'];

interface RouteCase { route: string; allowed: Caller[]; ok: number; request(): Promise<{ method: string; path: string; body?: unknown }> }

let h: Harness;
let ws: string;
let serverId: string;
let appliedMailbox: string;
const tokens = {} as Record<Caller, string>;
let counter = 0;

const base = () => `/v1/workspaces/${ws}/servers/${serverId}`;
/** A fresh mailbox for a call that consumes one. */
const mailbox = async () => {
  const res = await h.call('POST', `${base()}/mailboxes`, { token: tokens.owner, body: { localPart: `target${++counter}` } });
  if (res.status !== 201) throw new Error(`mailbox: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.mailbox.id as string;
};

const ROUTES: RouteCase[] = [
  { route: 'GET servers', allowed: READERS, ok: 200, request: async () => ({ method: 'GET', path: `/v1/workspaces/${ws}/servers` }) },
  { route: 'GET server', allowed: READERS, ok: 200, request: async () => ({ method: 'GET', path: base() }) },
  { route: 'GET server dns', allowed: READERS, ok: 200, request: async () => ({ method: 'GET', path: `${base()}/dns` }) },
  { route: 'POST checkout', allowed: MANAGERS, ok: 201,
    request: async () => ({ method: 'POST', path: `/v1/workspaces/${ws}/checkout`, body: { plan: 'starter', region: 'pl-waw-1', domain: `perm${++counter}.example` } }) },
  { route: 'GET mailboxes', allowed: READERS, ok: 200, request: async () => ({ method: 'GET', path: `${base()}/mailboxes` }) },
  { route: 'POST mailboxes', allowed: MAILBOX_WRITERS, ok: 201, request: async () => ({ method: 'POST', path: `${base()}/mailboxes`, body: { localPart: `new${++counter}` } }) },
  { route: 'DELETE mailbox', allowed: MAILBOX_WRITERS, ok: 202, request: async () => ({ method: 'DELETE', path: `${base()}/mailboxes/${await mailbox()}` }) },
  { route: 'POST password reset', allowed: MAILBOX_WRITERS, ok: 200, request: async () => ({ method: 'POST', path: `${base()}/mailboxes/${await mailbox()}/password/reset` }) },
  { route: 'POST password export', allowed: MANAGERS, ok: 200,
    request: async () => ({ method: 'POST', path: `${base()}/mailboxes/${appliedMailbox}/password/export`, body: { reason: 'permission table' } }) },
  { route: 'POST webmail-login', allowed: PEOPLE, ok: 200, request: async () => ({ method: 'POST', path: `${base()}/mailboxes/${appliedMailbox}/webmail-login` }) },
];

function expected(c: RouteCase, caller: Caller): number {
  if (c.allowed.includes(caller)) return c.ok;
  return caller === 'outsider' || caller === 'foreignKey' ? 404 : 403;
}

beforeAll(async () => {
  // Room for every mailbox the table creates.
  const plans = JSON.stringify([{ id: 'starter', name: 'Starter', stripePriceId: 'price_mailplane_starter', commercialType: 'DEV1-S', mailboxes: 500, storageGb: 50, messagesPerHour: 200 }]);
  h = await startHarness({ env: { PLANS: plans } });
  const owner = await h.customer('perm-owner@example.com');
  ws = owner.workspaceId;
  tokens.owner = owner.token;
  ({ serverId } = await h.subscribe(owner.token, ws, 'perm-table.example'));
  expect((await h.waitForServer(serverId, ['ready', 'failed'], 120_000)).status).toBe('ready');
  for (const role of ['admin', 'member'] as const) {
    const res = await h.call('POST', '/v1/auth/signup', { body: { email: `perm-${role}@example.com`, password: STRONG_PASSWORD, name: role } });
    tokens[role] = res.body.token;
    await h.database.sql`insert into memberships (workspace_id, user_id, role) values (${ws}, ${res.body.user.id}, ${role})`;
  }
  const outsider = await h.customer('perm-outsider@example.com');
  tokens.outsider = outsider.token;
  const key = async (token: string, workspaceId: string, scopes: string[]) =>
    (await h.call('POST', `/v1/workspaces/${workspaceId}/api-keys`, { token, body: { name: scopes.join('+'), scopes } })).body.key as string;
  tokens.readKey = await key(owner.token, ws, ['read']);
  tokens.writeKey = await key(owner.token, ws, ['write']);
  tokens.foreignKey = await key(outsider.token, outsider.workspaceId, ['read', 'write']);
  appliedMailbox = await mailbox();
  const deadline = Date.now() + 30_000;
  for (;;) {
    const list = await h.call('GET', `${base()}/mailboxes`, { token: tokens.owner });
    if (list.body.mailboxes.find((m: { id: string }) => m.id === appliedMailbox)?.sync.status === 'applied') break;
    if (Date.now() > deadline) throw new Error('the mailbox never reached the server');
    await new Promise((r) => setTimeout(r, 50));
  }
}, 180_000);

afterAll(async () => {
  await h?.close();
});

describe('server, mailbox and billing routes by caller', () => {
  const rows = ROUTES.flatMap((c) => CALLERS.map((caller) => ({ c, caller, status: expected(c, caller) })));
  it.each(rows.map((r) => [`${r.c.route} as ${r.caller} → ${r.status}`, r] as const))('%s', async (_name, { c, caller, status }) => {
    const req = await c.request();
    const res = await h.call(req.method, req.path, { token: tokens[caller], ...(req.body !== undefined ? { body: req.body } : {}) });
    expect(res.status, JSON.stringify(res.body)).toBe(status);
    if (status >= 400) {
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      expect(JSON.stringify(res.body)).not.toContain('perm-table.example');
    }
  });

  it.each(CALLERS.map((caller) => [caller]))('the live event stream as %s', async (caller) => {
    const abort = new AbortController();
    const res = await fetch(`${h.baseUrl}${base()}/events`, { headers: { authorization: `Bearer ${tokens[caller]}` }, signal: abort.signal });
    abort.abort();
    expect(res.status).toBe(READERS.includes(caller) ? 200 : caller === 'outsider' || caller === 'foreignKey' ? 404 : 403);
  });
});
