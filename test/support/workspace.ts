/**
 * A workspace with one user per role plus an outsider, for permission and
 * isolation tests. Memberships beyond the owner are inserted directly so these
 * tests do not depend on the invitation flow (which has its own tests).
 */
import type { TestApi } from './api.ts';

export type Role = 'owner' | 'admin' | 'member';

export interface Person {
  token: string;
  userId: string;
  email: string;
}

export interface RoleWorkspace {
  workspaceId: string;
  owner: Person;
  admin: Person;
  member: Person;
  /** Signed in, but not a member of this workspace. */
  outsider: Person;
}

let counter = 0;

/**
 * A signed-up person whose address is confirmed (paying and inviting need it; the confirmation
 * link itself has its own tests), unless `verified: false`.
 */
export async function person(api: TestApi, label: string, opts: { verified?: boolean } = {}): Promise<Person> {
  const email = `${label}-${++counter}@example.com`;
  const { token, userId } = await api.signup(email, `${label} person`);
  if (opts.verified ?? true) await api.database.sql`update users set email_verified_at = now() where id = ${userId}`;
  return { token, userId, email };
}

export async function addMember(api: TestApi, workspaceId: string, userId: string, role: Role): Promise<void> {
  await api.database.sql`insert into memberships (workspace_id, user_id, role) values (${workspaceId}, ${userId}, ${role})`;
}

export async function createWorkspace(api: TestApi, token: string, name = 'Acme'): Promise<string> {
  const res = await api.call('POST', '/v1/workspaces', { token, body: { name } });
  if (res.status !== 201) throw new Error(`workspace create failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.id as string;
}

export async function workspaceWithRoles(api: TestApi, label = 'ws'): Promise<RoleWorkspace> {
  const [owner, admin, member, outsider] = await Promise.all(['owner', 'admin', 'member', 'outsider'].map((r) => person(api, `${label}-${r}`)));
  const workspaceId = await createWorkspace(api, owner!.token, `${label} workspace`);
  await addMember(api, workspaceId, admin!.userId, 'admin');
  await addMember(api, workspaceId, member!.userId, 'member');
  return { workspaceId, owner: owner!, admin: admin!, member: member!, outsider: outsider! };
}

export async function createApiKey(api: TestApi, token: string, workspaceId: string, scopes: string[], name = 'ci'): Promise<{ id: string; key: string }> {
  const res = await api.call('POST', `/v1/workspaces/${workspaceId}/api-keys`, { token, body: { name, scopes } });
  if (res.status !== 201) throw new Error(`api key create failed: ${res.status} ${JSON.stringify(res.body)}`);
  return { id: res.body.apiKey.id, key: res.body.key };
}

export async function createInvitation(
  api: TestApi,
  token: string,
  workspaceId: string,
  email: string,
  role: Role = 'member',
): Promise<{ id: string; token: string }> {
  const res = await api.call('POST', `/v1/workspaces/${workspaceId}/invitations`, { token, body: { email, role } });
  if (res.status !== 201) throw new Error(`invitation create failed: ${res.status} ${JSON.stringify(res.body)}`);
  return { id: res.body.invitation.id, token: res.body.token };
}
