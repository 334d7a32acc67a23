import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SandboxOutbox } from '../../../src/mail/sandbox-outbox.ts';
import { createTestApi, type TestApi } from '../../support/api.ts';
import { createWorkspace, person } from '../../support/workspace.ts';
import { manualClock } from '../../support/clock.ts';

let api: TestApi;
let outbox: SandboxOutbox;
// Three days behind the wall clock: a limit that counted the database's stamps against this clock's window would hold for days.
const clock = manualClock(Date.now() - 3 * 24 * 3600_000);
beforeAll(async () => {
  api = await createTestApi({
    clock,
    env: { RATE_LIMIT_AUTH_PER_MINUTE: '1000', PUBLIC_URL: 'http://dash.test', INVITATIONS_PER_WORKSPACE_PER_DAY: '3' },
    extra: (deps) => {
      outbox = new SandboxOutbox({ db: deps.db, from: 'mailplane <no-reply@test>' });
      deps.mailer = outbox;
      return [];
    },
  });
});
afterAll(() => api.close());

describe('invitations by email', () => {
  it("mails the invitee a link to accept, with the inviter's words quoted as theirs and none of them in the subject", async () => {
    const owner = await person(api, 'inviter');
    const ws = await createWorkspace(api, owner.token, 'Lighthouse Ltd');
    const res = await api.call('POST', `/v1/workspaces/${ws}/invitations`, { token: owner.token, body: { email: 'guest@example.com', role: 'admin' } });
    expect(res.status).toBe(201);
    const [mail] = (await outbox.list()).filter((m) => m.to.includes('guest@example.com'));
    expect(mail!.subject).toBe('You are invited to a workspace on mailplane');
    expect(mail!.text).toContain('as admin');
    expect(mail!.text).toMatch(/What the inviter wrote \(mailplane has not checked it/);
    expect(mail!.text).toContain(`Their name:     "inviter person" <${owner.email}>`);
    expect(mail!.text).toContain('Workspace name: "Lighthouse Ltd"');
    expect(mail!.text).toContain(`http://dash.test/invitations/accept?token=${encodeURIComponent(res.body.token)}`);

    const guest = await api.signup('guest@example.com');
    const accepted = await api.call('POST', '/v1/invitations/accept', { token: guest.token, body: { token: res.body.token } });
    expect(accepted.status).toBe(200);
  });

  const mailsTo = async (email: string) => (await outbox.list()).filter((m) => m.to.includes(email));
  const invitationCount = async (ws: string) =>
    Number((await api.database.sql`select count(*)::int as n from invitations where workspace_id = ${ws}`)[0]!['n']);

  it.each([
    ['a header and a forged body', 'Billing\r\nBcc: x@y.test\r\n\r\nURGENT: verify at http://evil.example/login', /control characters/],
    ['a tab', 'Acme\tLtd', /control characters/],
    ['a C1 control', 'Acme\u0085Ltd', /control characters/],
    ['a bidirectional override', 'Acme \u202emoc.live', /bidirectional/],
    ['only a zero-width space', '\u200b', /visible character/],
    ['only invisible characters', '\u200b\u200d\ufeff\u3164', /visible character/],
  ])('refuses a workspace name with %s (create and rename), so it never reaches a mail', async (_what, name, message) => {
    const owner = await person(api, 'namer');
    const created = await api.call('POST', '/v1/workspaces', { token: owner.token, body: { name } });
    expect(created.status).toBe(400);
    expect(created.headers.get('content-type')).toBe('application/problem+json');
    expect(created.body.detail).toMatch(message);
    const ws = await createWorkspace(api, owner.token, 'Plain Name');
    const renamed = await api.call('PATCH', `/v1/workspaces/${ws}`, { token: owner.token, body: { name } });
    expect(renamed.status).toBe(400);
    const [row] = await api.database.sql`select name from workspaces where id = ${ws}`;
    expect(row!['name']).toBe('Plain Name');
  });

  it("refuses a person's name with a line break at sign-up (it is quoted in the invitations they send)", async () => {
    const res = await api.call('POST', '/v1/auth/signup', {
      body: { email: 'crlf-name@example.com', password: 'Plum-Harbour-Lantern-42', name: 'Eve\r\nSubject: hi' },
    });
    expect(res.status).toBe(400);
    expect(await api.database.sql`select 1 from users where email = 'crlf-name@example.com'`).toHaveLength(0);
  });

  it('refuses invitations from an account whose address is not confirmed: 403, nothing stored, nothing mailed', async () => {
    const owner = await person(api, 'unconfirmed-inviter', { verified: false });
    const ws = await createWorkspace(api, owner.token, 'Fresh Account');
    const res = await api.call('POST', `/v1/workspaces/${ws}/invitations`, { token: owner.token, body: { email: 'stranger1@example.com', role: 'member' } });
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('email_unverified');
    expect(await invitationCount(ws)).toBe(0);
    expect(await mailsTo('stranger1@example.com')).toHaveLength(0);
  });

  it('limits the invitations of one workspace per 24 hours with a 429 saying when to try again; other workspaces are not held back', async () => {
    const owner = await person(api, 'bulk-inviter');
    const ws = await createWorkspace(api, owner.token, 'Bulk');
    for (let i = 0; i < 3; i++) {
      const ok = await api.call('POST', `/v1/workspaces/${ws}/invitations`, { token: owner.token, body: { email: `bulk${i}@example.com`, role: 'member' } });
      expect(ok.status).toBe(201);
    }
    const refused = await api.call('POST', `/v1/workspaces/${ws}/invitations`, { token: owner.token, body: { email: 'bulk3@example.com', role: 'member' } });
    expect(refused.status).toBe(429);
    expect(refused.headers.get('content-type')).toBe('application/problem+json');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(23 * 3600);
    expect(refused.body.detail).toMatch(/limit is 3/);
    expect(await invitationCount(ws)).toBe(3);
    expect(await mailsTo('bulk3@example.com')).toHaveLength(0);
    const other = await createWorkspace(api, owner.token, 'Other');
    expect(
      (await api.call('POST', `/v1/workspaces/${other}/invitations`, { token: owner.token, body: { email: 'bulk3@example.com', role: 'member' } })).status,
    ).toBe(201);
  });

  it('counts the 24 hours on the injected clock: a day later by that clock, the workspace may invite again', async () => {
    const owner = await person(api, 'clock-inviter');
    const ws = await createWorkspace(api, owner.token, 'Clockwork');
    const invite = (i: number) =>
      api.call('POST', `/v1/workspaces/${ws}/invitations`, { token: owner.token, body: { email: `tick${i}@example.com`, role: 'member' } });
    for (let i = 0; i < 3; i++) expect((await invite(i)).status).toBe(201);
    expect((await invite(3)).status).toBe(429);
    clock.advance(24 * 3600_000 - 60_000);
    expect((await invite(3)).status).toBe(429);
    clock.advance(61_000);
    expect((await invite(3)).status).toBe(201);
  });
});
