/**
 * The mailbox import page of the dashboard on a ready sandbox server: the owner starts an
 * import with the form (the same service as the API: a row, a run, the password gone after
 * it), a non-public server re-renders the page with a 400 naming the refusal and stores
 * nothing, and the page never shows the password back.
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mailboxes, mailboxImports, vaultSecrets } from '../../../src/db/schema/index.ts';
import { startHarness, type Harness } from '../../support/provisioning.ts';
import { until } from '../../support/until.ts';

const OLD_PASSWORD = 'old-provider-secret-7';
let h: Harness;
let owner: { token: string; workspaceId: string };
let serverId: string;
let mailboxId: string;

beforeAll(async () => {
  h = await startHarness();
  owner = await h.customer('import-web@example.com');
  ({ serverId } = await h.readyServer(owner.token, owner.workspaceId, 'web-import.example'));
  const res = await h.call('POST', `/v1/workspaces/${owner.workspaceId}/servers/${serverId}/mailboxes`, { token: owner.token, body: { localPart: 'alice' } });
  mailboxId = res.body.mailbox.id;
  await until(
    'the mailbox on the server',
    async () => (await h.database.db.select().from(mailboxes).where(eq(mailboxes.id, mailboxId)))[0]?.appliedAt ?? false,
    30_000,
    50,
  );
}, 180_000);
afterAll(() => h?.close());

const path = () => `/w/${owner.workspaceId}/servers/${serverId}/mailboxes/${mailboxId}/import`;
const page = (o: { form?: Record<string, string> } = {}) =>
  fetch(`${h.baseUrl}${path()}`, {
    method: o.form ? 'POST' : 'GET',
    redirect: 'manual',
    headers: { cookie: `mailplane_session=${owner.token}`, ...(o.form ? { 'content-type': 'application/x-www-form-urlencoded', origin: h.baseUrl } : {}) },
    ...(o.form ? { body: new URLSearchParams(o.form).toString() } : {}),
  });

describe('the mailbox import page', () => {
  it('is linked from the mailboxes page and asks for the old server, user and password', async () => {
    const list = await (
      await fetch(`${h.baseUrl}/w/${owner.workspaceId}/servers/${serverId}/mailboxes`, { headers: { cookie: `mailplane_session=${owner.token}` } })
    ).text();
    expect(list).toContain(`href="${path()}"`);
    const html = await (await page()).text();
    expect(html).toContain('No import yet.');
    for (const name of ['host', 'port', 'security', 'username', 'password']) expect(html).toContain(`name="${name}"`);
  });

  it('refuses a private address with a 400 page saying why, and stores nothing', async () => {
    const res = await page({ form: { host: '192.168.1.20', port: '993', security: 'imaps', username: 'alice@old.example.net', password: OLD_PASSWORD } });
    expect(res.status).toBe(400);
    const html = await res.text();
    expect(html).toContain('not a public address');
    expect(html).not.toContain(OLD_PASSWORD);
    expect(html).toContain('value="alice@old.example.net"');
    expect(await h.database.db.select().from(mailboxImports)).toEqual([]);
  });

  it('starts an import; the page shows the run, and the password is gone once it ended', async () => {
    const res = await page({ form: { host: '9.9.9.9', port: '993', security: 'imaps', username: 'alice@old.example.net', password: OLD_PASSWORD } });
    expect(res.status, await res.clone().text()).toBe(303);
    expect(res.headers.get('location')).toBe(path());
    const row = await until(
      'the run ended',
      async () => {
        const [r] = await h.database.db.select().from(mailboxImports).where(eq(mailboxImports.mailboxId, mailboxId));
        return r && (r.status === 'succeeded' || r.status === 'failed') ? r : false;
      },
      30_000,
      50,
    );
    expect(row.status).toBe('succeeded');
    expect(await h.database.db.select().from(vaultSecrets).where(eq(vaultSecrets.purpose, 'import_password'))).toEqual([]);
    const html = await (await page()).text();
    expect(html).toContain('0 message(s) copied (simulated by the sandbox)');
    expect(html).toContain('Import again');
    expect(html).not.toContain(OLD_PASSWORD);
  });
});
