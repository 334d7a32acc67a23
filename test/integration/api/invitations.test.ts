import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApi, type TestApi } from '../../support/api.ts';
import { createApiKey, createInvitation, person, workspaceWithRoles, type Person } from '../../support/workspace.ts';

let api: TestApi;
beforeAll(async () => {
  api = await createTestApi({ env: { TRUST_PROXY: 'true', RATE_LIMIT_AUTH_PER_MINUTE: '10000' } });
});
afterAll(() => api.close());

const accept = (who: Person | string, token: string) =>
  api.call('POST', '/v1/invitations/accept', { token: typeof who === 'string' ? who : who.token, body: { token } });

const roleIn = async (workspaceId: string, userId: string) => {
  const [row] = await api.database.sql`select role from memberships where workspace_id = ${workspaceId} and user_id = ${userId}`;
  return (row?.['role'] as string | undefined) ?? null;
};

describe('invitations', () => {
  it('creates an invitation whose token is shown once and stored only as a hash, expiring in 7 days by default', async () => {
    const w = await workspaceWithRoles(api, 'inv-create');
    const res = await api.call('POST', `/v1/workspaces/${w.workspaceId}/invitations`, {
      token: w.owner.token,
      body: { email: 'New.Person@Example.com', role: 'admin' },
    });
    expect(res.status).toBe(201);
    expect(res.body.invitation).toMatchObject({ email: 'new.person@example.com', role: 'admin', status: 'pending', usedAt: null, revokedAt: null });
    const token: string = res.body.token;
    expect(token).toMatch(/^mpi_[\w-]+\.[\w-]+$/);
    const days = (Date.parse(res.body.invitation.expiresAt) - Date.parse(res.body.invitation.createdAt)) / 86_400_000;
    expect(days).toBeCloseTo(7, 3);

    const [row] = await api.database.sql`select * from invitations where id = ${res.body.invitation.id}`;
    expect(row!['token_hash']).toBe(createHash('sha256').update(token).digest('hex'));
    expect(JSON.stringify(row)).not.toContain(token);

    const list = await api.call('GET', `/v1/workspaces/${w.workspaceId}/invitations`, { token: w.admin.token });
    expect(list.body.invitations).toHaveLength(1);
    expect(JSON.stringify(list.body)).not.toContain(token);
    const [audit] = await api.database.sql`select actor_id, target from audit_log where action = 'invitation.create' and workspace_id = ${w.workspaceId}`;
    expect(audit).toMatchObject({ actor_id: w.owner.userId, target: res.body.invitation.id });
  });

  it('refuses to invite yourself or someone already in the workspace with 409, storing and mailing nothing', async () => {
    const w = await workspaceWithRoles(api, 'inv-twice');
    const count = async () => Number((await api.database.sql`select count(*)::int as n from invitations where workspace_id = ${w.workspaceId}`)[0]!['n']);
    const self = await api.call('POST', `/v1/workspaces/${w.workspaceId}/invitations`, {
      token: w.owner.token,
      body: { email: w.owner.email.toUpperCase(), role: 'member' },
    });
    expect(self.status).toBe(409);
    expect(self.headers.get('content-type')).toBe('application/problem+json');
    expect(self.body.code).toBe('invitation_self');
    const member = await api.call('POST', `/v1/workspaces/${w.workspaceId}/invitations`, {
      token: w.admin.token,
      body: { email: w.member.email, role: 'admin' },
    });
    expect(member.status).toBe(409);
    expect(member.body.code).toBe('already_member');
    expect(await count()).toBe(0);
    // Someone who is a member elsewhere only can still be invited here.
    expect(
      (await api.call('POST', `/v1/workspaces/${w.workspaceId}/invitations`, { token: w.owner.token, body: { email: w.outsider.email, role: 'member' } }))
        .status,
    ).toBe(201);
  });

  it('lets the invited email accept, joining with the invited role', async () => {
    const w = await workspaceWithRoles(api, 'inv-accept');
    const invitee = await person(api, 'invitee');
    const inv = await createInvitation(api, w.admin.token, w.workspaceId, invitee.email.toUpperCase(), 'admin');
    const res = await accept(invitee, inv.token);
    expect(res.status).toBe(200);
    expect(res.body.workspace).toMatchObject({ id: w.workspaceId, role: 'admin' });
    expect(await roleIn(w.workspaceId, invitee.userId)).toBe('admin');
    expect((await api.call('GET', `/v1/workspaces/${w.workspaceId}`, { token: invitee.token })).status).toBe(200);
    const list = await api.call('GET', `/v1/workspaces/${w.workspaceId}/invitations`, { token: w.owner.token });
    expect(list.body.invitations[0]).toMatchObject({ status: 'used' });
    const [audit] = await api.database.sql`select actor_id from audit_log where action = 'invitation.accept' and target = ${inv.id}`;
    expect(audit?.['actor_id']).toBe(invitee.userId);
  });

  it('refuses a signed-in user whose email is not the invited one, and leaves the invitation usable', async () => {
    const w = await workspaceWithRoles(api, 'inv-wrong');
    const invitee = await person(api, 'rightful');
    const inv = await createInvitation(api, w.owner.token, w.workspaceId, invitee.email);
    const wrong = await accept(w.outsider, inv.token);
    expect(wrong.status).toBe(400);
    expect(wrong.body.code).toBe('invitation_invalid');
    expect(await roleIn(w.workspaceId, w.outsider.userId)).toBeNull();
    expect((await accept(invitee, inv.token)).status).toBe(200);
  });

  it("answers someone else's valid, used or revoked invitation exactly as a forged one, so the token's state is not confirmed", async () => {
    const w = await workspaceWithRoles(api, 'inv-oracle');
    const invitee = await person(api, 'oracle');
    const forged = await accept(w.outsider, `mpi_${'x'.repeat(32)}.${'A'.repeat(22)}`);
    const strip = (b: any) => ({ ...b, requestId: undefined });
    const live = await createInvitation(api, w.owner.token, w.workspaceId, invitee.email);
    expect(strip((await accept(w.outsider, live.token)).body)).toEqual(strip(forged.body));
    const revoked = await createInvitation(api, w.owner.token, w.workspaceId, invitee.email);
    await api.call('DELETE', `/v1/workspaces/${w.workspaceId}/invitations/${revoked.id}`, { token: w.owner.token });
    expect(strip((await accept(w.outsider, revoked.token)).body)).toEqual(strip(forged.body));
    expect((await accept(invitee, live.token)).status).toBe(200);
    expect(strip((await accept(w.outsider, live.token)).body)).toEqual(strip(forged.body));
  });

  it('rejects a second use of the same token', async () => {
    const w = await workspaceWithRoles(api, 'inv-reuse');
    const invitee = await person(api, 'once');
    const inv = await createInvitation(api, w.owner.token, w.workspaceId, invitee.email);
    expect((await accept(invitee, inv.token)).status).toBe(200);
    // Leave, then try to come back with the same token.
    expect((await api.call('DELETE', `/v1/workspaces/${w.workspaceId}/members/${invitee.userId}`, { token: invitee.token })).status).toBe(204);
    const again = await accept(invitee, inv.token);
    expect(again.status).toBe(400);
    expect(again.body.detail).toMatch(/already used/);
    expect(await roleIn(w.workspaceId, invitee.userId)).toBeNull();
  });

  it('rejects concurrent accepts of one token except one', async () => {
    const w = await workspaceWithRoles(api, 'inv-race');
    const invitee = await person(api, 'racer');
    const inv = await createInvitation(api, w.owner.token, w.workspaceId, invitee.email);
    const results = await Promise.all([1, 2, 3, 4].map(() => accept(invitee, inv.token)));
    expect(results.map((r) => r.status).sort()).toEqual([200, 400, 400, 400]);
    const [row] = await api.database.sql`select count(*)::int as n from audit_log where action = 'invitation.accept' and target = ${inv.id}`;
    expect(row!['n']).toBe(1);
  });

  it('rejects an expired invitation', async () => {
    const w = await workspaceWithRoles(api, 'inv-expired');
    const invitee = await person(api, 'late');
    const inv = await createInvitation(api, w.owner.token, w.workspaceId, invitee.email);
    await api.database.sql`update invitations set expires_at = now() - interval '1 second' where id = ${inv.id}`;
    const res = await accept(invitee, inv.token);
    expect(res.status).toBe(400);
    expect(res.body.detail).toMatch(/expired/);
    expect(await roleIn(w.workspaceId, invitee.userId)).toBeNull();
    const list = await api.call('GET', `/v1/workspaces/${w.workspaceId}/invitations`, { token: w.owner.token });
    expect(list.body.invitations[0].status).toBe('expired');
  });

  it('rejects a revoked invitation, and revoking twice answers 404', async () => {
    const w = await workspaceWithRoles(api, 'inv-revoked');
    const invitee = await person(api, 'revokee');
    const inv = await createInvitation(api, w.owner.token, w.workspaceId, invitee.email);
    expect((await api.call('DELETE', `/v1/workspaces/${w.workspaceId}/invitations/${inv.id}`, { token: w.admin.token })).status).toBe(204);
    const res = await accept(invitee, inv.token);
    expect(res.status).toBe(400);
    expect(res.body.detail).toMatch(/revoked/);
    expect(await roleIn(w.workspaceId, invitee.userId)).toBeNull();
    expect((await api.call('DELETE', `/v1/workspaces/${w.workspaceId}/invitations/${inv.id}`, { token: w.admin.token })).status).toBe(404);
  });

  it('cannot revoke an invitation that was already used', async () => {
    const w = await workspaceWithRoles(api, 'inv-used-revoke');
    const invitee = await person(api, 'usedrev');
    const inv = await createInvitation(api, w.owner.token, w.workspaceId, invitee.email);
    expect((await accept(invitee, inv.token)).status).toBe(200);
    expect((await api.call('DELETE', `/v1/workspaces/${w.workspaceId}/invitations/${inv.id}`, { token: w.owner.token })).status).toBe(404);
  });

  it('rejects forged and malformed tokens', async () => {
    const w = await workspaceWithRoles(api, 'inv-forged');
    const invitee = await person(api, 'forger');
    const inv = await createInvitation(api, w.owner.token, w.workspaceId, invitee.email);
    const body = inv.token.slice(0, inv.token.lastIndexOf('.'));
    for (const token of [`${body}.${'A'.repeat(22)}`, `mpi_${'x'.repeat(32)}.${inv.token.split('.')[1]}`, 'mpk_not-an-invitation-token']) {
      const res = await accept(invitee, token);
      expect(res.status, token).toBe(400);
      expect(res.body.code).toBe('invitation_invalid');
    }
    expect((await accept(invitee, 'short')).body.code).toBe('validation_failed');
    expect(await roleIn(w.workspaceId, invitee.userId)).toBeNull();
  });

  it('does not let an admin invite an owner; an owner may', async () => {
    const w = await workspaceWithRoles(api, 'inv-owner');
    const byAdmin = await api.call('POST', `/v1/workspaces/${w.workspaceId}/invitations`, {
      token: w.admin.token,
      body: { email: 'boss@example.com', role: 'owner' },
    });
    expect(byAdmin.status).toBe(403);
    const byOwner = await api.call('POST', `/v1/workspaces/${w.workspaceId}/invitations`, {
      token: w.owner.token,
      body: { email: 'boss@example.com', role: 'owner' },
    });
    expect(byOwner.status).toBe(201);
    const [row] = await api.database.sql`select count(*)::int as n from invitations where workspace_id = ${w.workspaceId}`;
    expect(row!['n']).toBe(1);
  });

  it('needs a signed-in person to accept: no credential is 401, an API key is 403', async () => {
    const w = await workspaceWithRoles(api, 'inv-auth');
    const inv = await createInvitation(api, w.owner.token, w.workspaceId, 'someone@example.com');
    expect((await api.call('POST', '/v1/invitations/accept', { body: { token: inv.token } })).status).toBe(401);
    const key = await createApiKey(api, w.owner.token, w.workspaceId, ['read', 'write']);
    expect((await accept(key.key, inv.token)).status).toBe(403);
    const [row] = await api.database.sql`select used_at from invitations where id = ${inv.id}`;
    expect(row!['used_at']).toBeNull();
  });

  it('never lowers the role of someone who became a member between the invitation and its acceptance', async () => {
    const w = await workspaceWithRoles(api, 'inv-existing');
    const inv = await createInvitation(api, w.owner.token, w.workspaceId, w.outsider.email, 'member');
    await api.database.sql`insert into memberships (workspace_id, user_id, role) values (${w.workspaceId}, ${w.outsider.userId}, 'admin')`;
    const res = await accept(w.outsider, inv.token);
    expect(res.status).toBe(200);
    expect(res.body.workspace.role).toBe('admin');
    expect(await roleIn(w.workspaceId, w.outsider.userId)).toBe('admin');
  });
});
