import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SandboxOutbox } from '../../../src/mail/sandbox-outbox.ts';
import { createTestApi, type TestApi } from '../../support/api.ts';
import { createWorkspace, person } from '../../support/workspace.ts';

let api: TestApi;
let outbox: SandboxOutbox;
beforeAll(async () => {
  api = await createTestApi({
    env: { RATE_LIMIT_AUTH_PER_MINUTE: '1000', PUBLIC_URL: 'http://dash.test' },
    extra: (deps) => {
      outbox = new SandboxOutbox({ db: deps.db, from: 'mailplane <no-reply@test>' });
      deps.mailer = outbox;
      return [];
    },
  });
});
afterAll(() => api.close());

describe('invitations by email', () => {
  it('mails the invitee a link to accept, naming the workspace, the inviter and the role', async () => {
    const owner = await person(api, 'inviter');
    const ws = await createWorkspace(api, owner.token, 'Lighthouse Ltd');
    const res = await api.call('POST', `/v1/workspaces/${ws}/invitations`, { token: owner.token, body: { email: 'guest@example.com', role: 'admin' } });
    expect(res.status).toBe(201);
    const [mail] = (await outbox.list()).filter((m) => m.to.includes('guest@example.com'));
    expect(mail!.subject).toBe('inviter person invited you to Lighthouse Ltd on mailplane');
    expect(mail!.text).toContain('as admin');
    expect(mail!.text).toContain(`http://dash.test/invitations/accept?token=${encodeURIComponent(res.body.token)}`);

    const guest = await api.signup('guest@example.com');
    const accepted = await api.call('POST', '/v1/invitations/accept', { token: guest.token, body: { token: res.body.token } });
    expect(accepted.status).toBe(200);
  });
});
