/**
 * Every workspace route against every kind of caller. The expected table is
 * written here from the issue (owner > admin > member; API keys: read/write
 * scopes, never people or credentials), independently of src/auth/permissions.ts,
 * so a wrong entry there fails a row here.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApi, type TestApi } from '../../support/api.ts';
import { createApiKey, createInvitation, createWorkspace, person, workspaceWithRoles, type RoleWorkspace } from '../../support/workspace.ts';

type Caller = 'owner' | 'admin' | 'member' | 'outsider' | 'readKey' | 'writeKey' | 'foreignKey';
const CALLERS: Caller[] = ['owner', 'admin', 'member', 'outsider', 'readKey', 'writeKey', 'foreignKey'];

interface Request {
  method: string;
  path: string;
  body?: unknown;
}
interface RouteCase {
  route: string;
  allowed: Caller[];
  ok: number;
  /** Builds the request; may create what the call consumes (a target member, key, invitation). */
  request(w: RoleWorkspace): Promise<Request>;
}

const MANAGERS: Caller[] = ['owner', 'admin'];
const READERS: Caller[] = ['owner', 'admin', 'member', 'readKey', 'writeKey'];

let api: TestApi;
let w: RoleWorkspace;
let other: { workspaceId: string; ownerToken: string };
const tokens = {} as Record<Caller, string>;

const freshMember = async (ws: RoleWorkspace) => {
  const p = await person(api, 'target');
  await api.database.sql`insert into memberships (workspace_id, user_id, role) values (${ws.workspaceId}, ${p.userId}, 'member')`;
  return p.userId;
};

const ROUTES: RouteCase[] = [
  { route: 'GET /v1/workspaces/{ws}', allowed: READERS, ok: 200, request: async (ws) => ({ method: 'GET', path: `/v1/workspaces/${ws.workspaceId}` }) },
  {
    route: 'PATCH /v1/workspaces/{ws}',
    allowed: MANAGERS,
    ok: 200,
    request: async (ws) => ({ method: 'PATCH', path: `/v1/workspaces/${ws.workspaceId}`, body: { name: 'Renamed' } }),
  },
  {
    route: 'GET /v1/workspaces/{ws}/members',
    allowed: READERS,
    ok: 200,
    request: async (ws) => ({ method: 'GET', path: `/v1/workspaces/${ws.workspaceId}/members` }),
  },
  {
    route: 'PATCH /v1/workspaces/{ws}/members/{userId}',
    allowed: MANAGERS,
    ok: 200,
    request: async (ws) => ({ method: 'PATCH', path: `/v1/workspaces/${ws.workspaceId}/members/${await freshMember(ws)}`, body: { role: 'admin' } }),
  },
  {
    route: 'DELETE /v1/workspaces/{ws}/members/{userId}',
    allowed: MANAGERS,
    ok: 204,
    request: async (ws) => ({ method: 'DELETE', path: `/v1/workspaces/${ws.workspaceId}/members/${await freshMember(ws)}` }),
  },
  {
    route: 'POST /v1/workspaces/{ws}/invitations',
    allowed: MANAGERS,
    ok: 201,
    request: async (ws) => ({ method: 'POST', path: `/v1/workspaces/${ws.workspaceId}/invitations`, body: { email: 'invitee@example.com', role: 'member' } }),
  },
  {
    route: 'GET /v1/workspaces/{ws}/invitations',
    allowed: MANAGERS,
    ok: 200,
    request: async (ws) => ({ method: 'GET', path: `/v1/workspaces/${ws.workspaceId}/invitations` }),
  },
  {
    route: 'DELETE /v1/workspaces/{ws}/invitations/{id}',
    allowed: MANAGERS,
    ok: 204,
    request: async (ws) => ({
      method: 'DELETE',
      path: `/v1/workspaces/${ws.workspaceId}/invitations/${(await createInvitation(api, ws.owner.token, ws.workspaceId, 'x@example.com')).id}`,
    }),
  },
  {
    route: 'POST /v1/workspaces/{ws}/api-keys',
    allowed: MANAGERS,
    ok: 201,
    request: async (ws) => ({ method: 'POST', path: `/v1/workspaces/${ws.workspaceId}/api-keys`, body: { name: 'k', scopes: ['read'] } }),
  },
  {
    route: 'GET /v1/workspaces/{ws}/api-keys',
    allowed: MANAGERS,
    ok: 200,
    request: async (ws) => ({ method: 'GET', path: `/v1/workspaces/${ws.workspaceId}/api-keys` }),
  },
  {
    route: 'DELETE /v1/workspaces/{ws}/api-keys/{keyId}',
    allowed: MANAGERS,
    ok: 204,
    request: async (ws) => ({
      method: 'DELETE',
      path: `/v1/workspaces/${ws.workspaceId}/api-keys/${(await createApiKey(api, ws.owner.token, ws.workspaceId, ['read'], 'victim')).id}`,
    }),
  },
  {
    route: 'POST /v1/workspaces/{ws}/api-keys/{keyId}/rotate',
    allowed: MANAGERS,
    ok: 201,
    request: async (ws) => ({
      method: 'POST',
      path: `/v1/workspaces/${ws.workspaceId}/api-keys/${(await createApiKey(api, ws.owner.token, ws.workspaceId, ['read'], 'victim')).id}/rotate`,
    }),
  },
];

/** What a caller outside the rule gets: a stranger sees nothing (404), a member or key of the workspace is refused (403). */
function expected(c: RouteCase, caller: Caller): number {
  if (c.allowed.includes(caller)) return c.ok;
  return caller === 'outsider' || caller === 'foreignKey' ? 404 : 403;
}

beforeAll(async () => {
  api = await createTestApi({ env: { TRUST_PROXY: 'true', RATE_LIMIT_AUTH_PER_MINUTE: '10000', RATE_LIMIT_API_PER_MINUTE: '10000' } });
  w = await workspaceWithRoles(api, 'perm');
  const stranger = await person(api, 'stranger');
  other = { workspaceId: await createWorkspace(api, stranger.token, 'Other'), ownerToken: stranger.token };
  tokens.owner = w.owner.token;
  tokens.admin = w.admin.token;
  tokens.member = w.member.token;
  tokens.outsider = w.outsider.token;
  tokens.readKey = (await createApiKey(api, w.owner.token, w.workspaceId, ['read'])).key;
  tokens.writeKey = (await createApiKey(api, w.owner.token, w.workspaceId, ['write'])).key;
  tokens.foreignKey = (await createApiKey(api, other.ownerToken, other.workspaceId, ['read', 'write'])).key;
});
afterAll(() => api.close());

describe('the permission table, route by route', () => {
  const rows = ROUTES.flatMap((c) => CALLERS.map((caller) => ({ c, caller, status: expected(c, caller) })));
  it.each(rows.map((r) => [`${r.c.route} as ${r.caller} → ${r.status}`, r] as const))('%s', async (_name, { c, caller, status }) => {
    const req = await c.request(w);
    const res = await api.call(req.method, req.path, { token: tokens[caller], ...(req.body !== undefined ? { body: req.body } : {}) });
    expect(res.status, JSON.stringify(res.body)).toBe(status);
    if (status >= 400) {
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      expect(res.body.code).toBe(status === 404 ? 'not_found' : 'forbidden');
      // A refusal names no data of the workspace.
      expect(JSON.stringify(res.body)).not.toContain('perm workspace');
    }
  });
});

describe('refused calls change nothing', () => {
  it('leaves members, keys and invitations untouched after refused writes', async () => {
    const target = await freshMember(w);
    const key = await createApiKey(api, w.owner.token, w.workspaceId, ['read'], 'keep');
    const inv = await createInvitation(api, w.owner.token, w.workspaceId, 'keep@example.com');
    for (const caller of ['member', 'outsider', 'writeKey', 'foreignKey'] as const) {
      const t = tokens[caller];
      await api.call('PATCH', `/v1/workspaces/${w.workspaceId}/members/${target}`, { token: t, body: { role: 'admin' } });
      await api.call('DELETE', `/v1/workspaces/${w.workspaceId}/members/${target}`, { token: t });
      await api.call('DELETE', `/v1/workspaces/${w.workspaceId}/api-keys/${key.id}`, { token: t });
      await api.call('DELETE', `/v1/workspaces/${w.workspaceId}/invitations/${inv.id}`, { token: t });
      await api.call('PATCH', `/v1/workspaces/${w.workspaceId}`, { token: t, body: { name: `hijacked by ${caller}` } });
    }
    const [m] = await api.database.sql`select role from memberships where workspace_id = ${w.workspaceId} and user_id = ${target}`;
    expect(m?.['role']).toBe('member');
    const [k] = await api.database.sql`select revoked_at from api_keys where id = ${key.id}`;
    expect(k?.['revoked_at']).toBeNull();
    const [i] = await api.database.sql`select revoked_at from invitations where id = ${inv.id}`;
    expect(i?.['revoked_at']).toBeNull();
    const [ws] = await api.database.sql`select name from workspaces where id = ${w.workspaceId}`;
    expect(ws?.['name']).not.toMatch(/hijacked/);
  });
});

describe('workspace isolation', () => {
  it('answers 404 — not 403 — for an unknown or malformed workspace id', async () => {
    for (const id of ['00000000-0000-4000-8000-000000000000', 'not-a-uuid', other.workspaceId]) {
      const res = await api.call('GET', `/v1/workspaces/${id}`, { token: w.owner.token });
      expect(res.status, id).toBe(404);
    }
  });

  it("answers 404 for another workspace's members, keys and invitations addressed through your own workspace", async () => {
    const otherKey = await createApiKey(api, other.ownerToken, other.workspaceId, ['read'], 'theirs');
    const otherInv = await createInvitation(api, other.ownerToken, other.workspaceId, 'theirs@example.com');
    const [otherOwner] = await api.database.sql`select user_id from memberships where workspace_id = ${other.workspaceId}`;
    const base = `/v1/workspaces/${w.workspaceId}`;
    const calls: Array<[string, string, unknown?]> = [
      ['DELETE', `${base}/api-keys/${otherKey.id}`],
      ['POST', `${base}/api-keys/${otherKey.id}/rotate`],
      ['DELETE', `${base}/invitations/${otherInv.id}`],
      ['PATCH', `${base}/members/${otherOwner!['user_id']}`, { role: 'member' }],
      ['DELETE', `${base}/members/${otherOwner!['user_id']}`],
    ];
    for (const [method, path, body] of calls) {
      const res = await api.call(method, path, { token: w.owner.token, ...(body ? { body } : {}) });
      expect(res.status, `${method} ${path}`).toBe(404);
    }
    // Nothing of the other workspace changed: its key still works and its invitation is pending.
    expect((await api.call('GET', `/v1/workspaces/${other.workspaceId}`, { token: otherKey.key })).status).toBe(200);
    const invs = await api.call('GET', `/v1/workspaces/${other.workspaceId}/invitations`, { token: other.ownerToken });
    expect(invs.body.invitations.find((i: any) => i.id === otherInv.id).status).toBe('pending');
    const [still] = await api.database.sql`select role from memberships where workspace_id = ${other.workspaceId} and user_id = ${otherOwner!['user_id']}`;
    expect(still?.['role']).toBe('owner');
  });

  it("never lists another workspace's keys or invitations", async () => {
    await createApiKey(api, other.ownerToken, other.workspaceId, ['read'], 'theirs');
    await createInvitation(api, other.ownerToken, other.workspaceId, 'theirs@example.com');
    const keys = await api.call('GET', `/v1/workspaces/${w.workspaceId}/api-keys`, { token: w.owner.token });
    expect(keys.body.apiKeys.map((k: any) => k.name)).not.toContain('theirs');
    const invs = await api.call('GET', `/v1/workspaces/${w.workspaceId}/invitations`, { token: w.owner.token });
    expect(invs.body.invitations.map((i: any) => i.email)).not.toContain('theirs@example.com');
  });
});
