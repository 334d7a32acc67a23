import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApi, type TestApi } from '../../support/api.ts';
import { createWorkspace, person, workspaceWithRoles, type RoleWorkspace } from '../../support/workspace.ts';

let api: TestApi;
beforeAll(async () => {
  api = await createTestApi({ env: { TRUST_PROXY: 'true', RATE_LIMIT_AUTH_PER_MINUTE: '1000' } });
});
afterAll(() => api.close());

describe('workspaces', () => {
  it('creates a workspace whose creator is its owner, and lists it', async () => {
    const ada = await person(api, 'ada');
    const res = await api.call('POST', '/v1/workspaces', { token: ada.token, body: { name: '  Ada Ltd  ' } });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ name: 'Ada Ltd', role: 'owner' });
    const list = await api.call('GET', '/v1/workspaces', { token: ada.token });
    expect(list.body.workspaces).toEqual([res.body]);
    const members = await api.call('GET', `/v1/workspaces/${res.body.id}/members`, { token: ada.token });
    expect(members.body.members).toEqual([expect.objectContaining({ userId: ada.userId, email: ada.email, role: 'owner' })]);
  });

  it("lists only the workspaces the caller belongs to, with the caller's role", async () => {
    const w = await workspaceWithRoles(api, 'list');
    const own = await createWorkspace(api, w.member.token, 'member-own');
    const list = await api.call('GET', '/v1/workspaces', { token: w.member.token });
    expect(list.body.workspaces.map((x: any) => [x.id, x.role]).sort()).toEqual(
      [
        [own, 'owner'],
        [w.workspaceId, 'member'],
      ].sort(),
    );
    const outsider = await api.call('GET', '/v1/workspaces', { token: w.outsider.token });
    expect(outsider.body.workspaces).toEqual([]);
  });

  it('reads and renames a workspace', async () => {
    const w = await workspaceWithRoles(api, 'rename');
    const renamed = await api.call('PATCH', `/v1/workspaces/${w.workspaceId}`, { token: w.admin.token, body: { name: 'Renamed' } });
    expect(renamed.status).toBe(200);
    expect(renamed.body).toMatchObject({ id: w.workspaceId, name: 'Renamed', role: 'admin' });
    const read = await api.call('GET', `/v1/workspaces/${w.workspaceId}`, { token: w.member.token });
    expect(read.body).toMatchObject({ name: 'Renamed', role: 'member' });
  });

  it('refuses an empty name or unknown fields with 400 and creates nothing', async () => {
    const u = await person(api, 'badname');
    for (const body of [{ name: '   ' }, { name: 'ok', plan: 'gold' }, { name: 42 }, {}]) {
      const res = await api.call('POST', '/v1/workspaces', { token: u.token, body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.code).toBe('validation_failed');
    }
    expect((await api.call('GET', '/v1/workspaces', { token: u.token })).body.workspaces).toEqual([]);
  });

  it('requires authentication', async () => {
    const res = await api.call('GET', '/v1/workspaces');
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
  });
});

describe('members and roles', () => {
  const roleOf = async (w: RoleWorkspace, userId: string) => {
    const res = await api.call('GET', `/v1/workspaces/${w.workspaceId}/members`, { token: w.owner.token });
    return res.body.members.find((m: any) => m.userId === userId)?.role ?? null;
  };

  it('lets an owner promote a member to admin and records it in the audit log with the client IP', async () => {
    const w = await workspaceWithRoles(api, 'promote');
    const res = await api.call('PATCH', `/v1/workspaces/${w.workspaceId}/members/${w.member.userId}`, {
      token: w.owner.token,
      body: { role: 'admin' },
      headers: { 'x-forwarded-for': '203.0.113.9' },
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ userId: w.member.userId, role: 'admin' });
    expect(await roleOf(w, w.member.userId)).toBe('admin');
    const [row] = await api.database
      .sql`select actor_id, ip::text as ip, target, details from audit_log where action = 'member.role_change' and workspace_id = ${w.workspaceId}`;
    expect(row).toMatchObject({ actor_id: w.owner.userId, target: w.member.userId, details: { from: 'member', to: 'admin' } });
    expect(String(row!['ip'])).toMatch(/^203\.0\.113\.9/);
  });

  it('does not let an admin make anyone owner, nor demote or remove an owner', async () => {
    const w = await workspaceWithRoles(api, 'adminlimits');
    const promote = await api.call('PATCH', `/v1/workspaces/${w.workspaceId}/members/${w.member.userId}`, { token: w.admin.token, body: { role: 'owner' } });
    expect(promote.status).toBe(403);
    const self = await api.call('PATCH', `/v1/workspaces/${w.workspaceId}/members/${w.admin.userId}`, { token: w.admin.token, body: { role: 'owner' } });
    expect(self.status).toBe(403);
    const demote = await api.call('PATCH', `/v1/workspaces/${w.workspaceId}/members/${w.owner.userId}`, { token: w.admin.token, body: { role: 'member' } });
    expect(demote.status).toBe(403);
    const remove = await api.call('DELETE', `/v1/workspaces/${w.workspaceId}/members/${w.owner.userId}`, { token: w.admin.token });
    expect(remove.status).toBe(403);
    expect(await roleOf(w, w.owner.userId)).toBe('owner');
    expect(await roleOf(w, w.member.userId)).toBe('member');
    expect(await roleOf(w, w.admin.userId)).toBe('admin');
  });

  it('does not let the last owner be demoted, removed, or leave', async () => {
    const w = await workspaceWithRoles(api, 'lastowner');
    const demote = await api.call('PATCH', `/v1/workspaces/${w.workspaceId}/members/${w.owner.userId}`, { token: w.owner.token, body: { role: 'admin' } });
    expect(demote.status).toBe(409);
    expect(demote.body.code).toBe('last_owner');
    const leave = await api.call('DELETE', `/v1/workspaces/${w.workspaceId}/members/${w.owner.userId}`, { token: w.owner.token });
    expect(leave.status).toBe(409);
    expect(leave.body.code).toBe('last_owner');
    expect(await roleOf(w, w.owner.userId)).toBe('owner');
  });

  it('lets an owner step down once there is a second owner', async () => {
    const w = await workspaceWithRoles(api, 'twoowners');
    expect(
      (await api.call('PATCH', `/v1/workspaces/${w.workspaceId}/members/${w.admin.userId}`, { token: w.owner.token, body: { role: 'owner' } })).status,
    ).toBe(200);
    expect(
      (await api.call('PATCH', `/v1/workspaces/${w.workspaceId}/members/${w.owner.userId}`, { token: w.owner.token, body: { role: 'member' } })).status,
    ).toBe(200);
    expect(await roleOf(w, w.owner.userId)).toBe('member');
    // The remaining owner is now the last one.
    const demote = await api.call('PATCH', `/v1/workspaces/${w.workspaceId}/members/${w.admin.userId}`, { token: w.admin.token, body: { role: 'admin' } });
    expect(demote.status).toBe(409);
  });

  it('lets a member leave, after which the workspace is not found for them', async () => {
    const w = await workspaceWithRoles(api, 'leave');
    expect((await api.call('DELETE', `/v1/workspaces/${w.workspaceId}/members/${w.member.userId}`, { token: w.member.token })).status).toBe(204);
    expect((await api.call('GET', `/v1/workspaces/${w.workspaceId}`, { token: w.member.token })).status).toBe(404);
    expect(await roleOf(w, w.member.userId)).toBeNull();
  });

  it('does not let a member remove someone else', async () => {
    const w = await workspaceWithRoles(api, 'memberremove');
    const res = await api.call('DELETE', `/v1/workspaces/${w.workspaceId}/members/${w.admin.userId}`, { token: w.member.token });
    expect(res.status).toBe(403);
    expect(await roleOf(w, w.admin.userId)).toBe('admin');
  });

  it('answers 404 for changing or removing someone who is not a member', async () => {
    const w = await workspaceWithRoles(api, 'notmember');
    const change = await api.call('PATCH', `/v1/workspaces/${w.workspaceId}/members/${w.outsider.userId}`, { token: w.owner.token, body: { role: 'admin' } });
    expect(change.status).toBe(404);
    const remove = await api.call('DELETE', `/v1/workspaces/${w.workspaceId}/members/${w.outsider.userId}`, { token: w.owner.token });
    expect(remove.status).toBe(404);
    const garbage = await api.call('DELETE', `/v1/workspaces/${w.workspaceId}/members/not-a-uuid`, { token: w.owner.token });
    expect([400, 404]).toContain(garbage.status);
    expect(garbage.headers.get('content-type')).toBe('application/problem+json');
  });

  it('rejects an unknown role with 400', async () => {
    const w = await workspaceWithRoles(api, 'badrole');
    const res = await api.call('PATCH', `/v1/workspaces/${w.workspaceId}/members/${w.member.userId}`, { token: w.owner.token, body: { role: 'superuser' } });
    expect(res.status).toBe(400);
    expect(await roleOf(w, w.member.userId)).toBe('member');
  });
});
