import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApi, type TestApi } from '../../support/api.ts';
import { createApiKey, person, workspaceWithRoles } from '../../support/workspace.ts';

let api: TestApi;
beforeAll(async () => {
  api = await createTestApi({ env: { TRUST_PROXY: 'true', RATE_LIMIT_AUTH_PER_MINUTE: '10000' } });
});
afterAll(() => api.close());

describe('API keys', () => {
  it('shows the key once, stores only its hash, and keeps a visible prefix', async () => {
    const w = await workspaceWithRoles(api, 'key-create');
    const res = await api.call('POST', `/v1/workspaces/${w.workspaceId}/api-keys`, {
      token: w.admin.token,
      body: { name: 'deploy bot', scopes: ['write', 'read', 'read'] },
    });
    expect(res.status).toBe(201);
    const key: string = res.body.key;
    expect(key).toMatch(/^mpk_[\w-]{43}$/);
    expect(res.body.apiKey).toMatchObject({ name: 'deploy bot', prefix: key.slice(0, 12), scopes: ['read', 'write'], lastUsedAt: null, revokedAt: null });

    const list = await api.call('GET', `/v1/workspaces/${w.workspaceId}/api-keys`, { token: w.owner.token });
    expect(list.body.apiKeys).toEqual([res.body.apiKey]);
    expect(JSON.stringify(list.body)).not.toContain(key);

    const [row] = await api.database.sql`select * from api_keys where id = ${res.body.apiKey.id}`;
    expect(row!['key_hash']).toBe(createHash('sha256').update(key).digest('hex'));
    expect(JSON.stringify(row)).not.toContain(key);
    const [audit] = await api.database.sql`select actor_id from audit_log where action = 'api_key.create' and target = ${res.body.apiKey.id}`;
    expect(audit?.['actor_id']).toBe(w.admin.userId);
  });

  it('rejects empty or unknown scopes', async () => {
    const w = await workspaceWithRoles(api, 'key-scopes');
    for (const scopes of [[], ['admin'], 'read']) {
      const res = await api.call('POST', `/v1/workspaces/${w.workspaceId}/api-keys`, { token: w.owner.token, body: { name: 'x', scopes } });
      expect(res.status, JSON.stringify(scopes)).toBe(400);
    }
    const [row] = await api.database.sql`select count(*)::int as n from api_keys where workspace_id = ${w.workspaceId}`;
    expect(row!['n']).toBe(0);
  });

  it('works as a Bearer credential within its workspace only, and records last_used_at', async () => {
    const w = await workspaceWithRoles(api, 'key-use');
    const { id, key } = await createApiKey(api, w.owner.token, w.workspaceId, ['read']);
    const one = await api.call('GET', `/v1/workspaces/${w.workspaceId}`, { token: key });
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({ id: w.workspaceId, role: null });
    const list = await api.call('GET', '/v1/workspaces', { token: key });
    expect(list.body.workspaces.map((x: any) => x.id)).toEqual([w.workspaceId]);
    const listed = await api.call('GET', `/v1/workspaces/${w.workspaceId}/api-keys`, { token: w.owner.token });
    expect(listed.body.apiKeys.find((k: any) => k.id === id).lastUsedAt).not.toBeNull();
    const [audit] = await api.database.sql`select count(*)::int as n from audit_log where action = 'api_key.create' and workspace_id = ${w.workspaceId}`;
    expect(audit!['n']).toBe(1);
  });

  it('cannot act as a person: no /v1/me, no new workspaces, no logout', async () => {
    const w = await workspaceWithRoles(api, 'key-person');
    const { key } = await createApiKey(api, w.owner.token, w.workspaceId, ['read', 'write']);
    expect((await api.call('GET', '/v1/me', { token: key })).status).toBe(403);
    expect((await api.call('POST', '/v1/workspaces', { token: key, body: { name: 'by key' } })).status).toBe(403);
    expect((await api.call('POST', '/v1/auth/logout', { token: key })).status).toBe(403);
    const [row] = await api.database.sql`select count(*)::int as n from workspaces where name = 'by key'`;
    expect(row!['n']).toBe(0);
  });

  it('stops working once revoked', async () => {
    const w = await workspaceWithRoles(api, 'key-revoke');
    const { id, key } = await createApiKey(api, w.owner.token, w.workspaceId, ['read']);
    expect((await api.call('GET', `/v1/workspaces/${w.workspaceId}`, { token: key })).status).toBe(200);
    expect((await api.call('DELETE', `/v1/workspaces/${w.workspaceId}/api-keys/${id}`, { token: w.owner.token })).status).toBe(204);
    const after = await api.call('GET', `/v1/workspaces/${w.workspaceId}`, { token: key });
    expect(after.status).toBe(401);
    expect(after.headers.get('content-type')).toBe('application/problem+json');
    const list = await api.call('GET', `/v1/workspaces/${w.workspaceId}/api-keys`, { token: w.owner.token });
    expect(list.body.apiKeys[0].revokedAt).not.toBeNull();
    expect((await api.call('DELETE', `/v1/workspaces/${w.workspaceId}/api-keys/${id}`, { token: w.owner.token })).status).toBe(404);
    const [audit] = await api.database.sql`select actor_id from audit_log where action = 'api_key.revoke' and target = ${id}`;
    expect(audit?.['actor_id']).toBe(w.owner.userId);
  });

  it('rotates: a new secret with the same name and scopes, the old one revoked', async () => {
    const w = await workspaceWithRoles(api, 'key-rotate');
    const old = await createApiKey(api, w.owner.token, w.workspaceId, ['read', 'write'], 'rotating');
    const res = await api.call('POST', `/v1/workspaces/${w.workspaceId}/api-keys/${old.id}/rotate`, { token: w.admin.token });
    expect(res.status).toBe(201);
    expect(res.body.apiKey).toMatchObject({ name: 'rotating', scopes: ['read', 'write'], revokedAt: null });
    expect(res.body.key).not.toBe(old.key);
    expect((await api.call('GET', `/v1/workspaces/${w.workspaceId}`, { token: old.key })).status).toBe(401);
    expect((await api.call('GET', `/v1/workspaces/${w.workspaceId}`, { token: res.body.key })).status).toBe(200);
    // A revoked key cannot be rotated back to life.
    expect((await api.call('POST', `/v1/workspaces/${w.workspaceId}/api-keys/${old.id}/rotate`, { token: w.owner.token })).status).toBe(404);
  });

  it('rejects a made-up key and a malformed Authorization header with 401', async () => {
    const w = await workspaceWithRoles(api, 'key-bogus');
    expect((await api.call('GET', `/v1/workspaces/${w.workspaceId}`, { token: `mpk_${'a'.repeat(43)}` })).status).toBe(401);
    expect((await api.call('GET', `/v1/workspaces/${w.workspaceId}`, { headers: { authorization: 'Basic Zm9vOmJhcg==' } })).status).toBe(401);
  });

  it("keeps a workspace's keys working after another member leaves", async () => {
    const w = await workspaceWithRoles(api, 'key-leave');
    const { key } = await createApiKey(api, w.admin.token, w.workspaceId, ['read']);
    expect((await api.call('DELETE', `/v1/workspaces/${w.workspaceId}/members/${w.admin.userId}`, { token: w.admin.token })).status).toBe(204);
    expect((await api.call('GET', `/v1/workspaces/${w.workspaceId}`, { token: key })).status).toBe(200);
  });
});

describe('per-credential rate limit', () => {
  // 15 s into a minute window, on a clock only this test moves.
  let now = 1_699_999_980_000 + 15_000;
  let limited: TestApi;
  beforeAll(async () => {
    limited = await createTestApi({ env: { TRUST_PROXY: 'true', RATE_LIMIT_AUTH_PER_MINUTE: '1000', RATE_LIMIT_API_PER_MINUTE: '3' }, limiterNow: () => now });
  });
  afterAll(() => limited.close());

  it('answers 429 with Retry-After once one key exceeds its budget, without affecting other credentials', async () => {
    const owner = await person(limited, 'limited-owner');
    const ws = (await limited.call('POST', '/v1/workspaces', { token: owner.token, body: { name: 'Limited' } })).body.id as string; // owner: 1
    const a = await createApiKey(limited, owner.token, ws, ['read'], 'a'); // owner: 2
    const b = await createApiKey(limited, owner.token, ws, ['read'], 'b'); // owner: 3
    for (let i = 0; i < 3; i++) expect((await limited.call('GET', `/v1/workspaces/${ws}`, { token: a.key })).status).toBe(200);
    const over = await limited.call('GET', `/v1/workspaces/${ws}`, { token: a.key });
    expect(over.status).toBe(429);
    expect(over.headers.get('retry-after')).toBe('45');
    expect(over.headers.get('content-type')).toBe('application/problem+json');
    expect(over.body).toMatchObject({ code: 'rate_limited', status: 429 });
    expect(typeof over.body.requestId).toBe('string');

    expect((await limited.call('GET', `/v1/workspaces/${ws}`, { token: b.key })).status).toBe(200);
    const ownerOver = await limited.call('GET', `/v1/workspaces/${ws}`, { token: owner.token });
    expect(ownerOver.status).toBe(429);

    now += 45_000;
    expect((await limited.call('GET', `/v1/workspaces/${ws}`, { token: a.key })).status).toBe(200);
  });
});
