/**
 * The Addresses page of the dashboard on a ready sandbox server: the owner adds
 * an alias, turns the catch-all on, forwards and sets a vacation reply with
 * forms (the same services as the API, so the rows and the server's files
 * follow); a bad value re-renders the page with a 400 and changes nothing; a
 * member sees the page without forms and is refused the posts.
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { catchAlls, mailAliases, mailForwards, vacations } from '../../../src/db/schema/index.ts';
import { startHarness, type Harness } from '../../support/provisioning.ts';
import { until } from '../../support/until.ts';

let h: Harness;
let owner: { token: string; workspaceId: string };
let memberToken: string;
let serverId: string;
let hostId: string;
let mailboxId: string;

beforeAll(async () => {
  h = await startHarness();
  owner = await h.customer('addr-web@example.com');
  ({ serverId } = await h.subscribe(owner.token, owner.workspaceId, 'web-addresses.example'));
  const server = await h.waitForServer(serverId, ['ready', 'failed'], 120_000);
  expect(server.status).toBe('ready');
  hostId = server.providerServerId!;
  const res = await h.call('POST', `/v1/workspaces/${owner.workspaceId}/servers/${serverId}/mailboxes`, { token: owner.token, body: { localPart: 'alice' } });
  mailboxId = res.body.mailbox.id;
  const member = await h.signup('addr-web-member@example.com', { name: 'Member' });
  memberToken = member.token;
  await h.database.sql`insert into memberships (workspace_id, user_id, role) values (${owner.workspaceId}, ${member.userId}, 'member')`;
}, 180_000);
afterAll(() => h?.close());

const path = () => `/w/${owner.workspaceId}/servers/${serverId}/addresses`;
const page = (url: string, o: { token: string; form?: Record<string, string> }) =>
  fetch(`${h.baseUrl}${url}`, {
    method: o.form ? 'POST' : 'GET',
    redirect: 'manual',
    headers: { cookie: `mailplane_session=${o.token}`, ...(o.form ? { 'content-type': 'application/x-www-form-urlencoded', origin: h.baseUrl } : {}) },
    ...(o.form ? { body: new URLSearchParams(o.form).toString() } : {}),
  });

describe('the Addresses page', () => {
  it('the owner adds an alias, a catch-all, a forward and a vacation reply, and the server gets them', async () => {
    for (const [suffix, form] of [
      ['/aliases', { localPart: 'sales', mailboxId }],
      ['/catch-all', { mailboxId }],
      [`/${mailboxId}/forward`, { target: 'alice@elsewhere.example.net', keepCopy: 'yes' }],
      [`/${mailboxId}/vacation`, { startsOn: '2026-12-20', endsOn: '2026-12-31', days: '5', subject: 'Away', message: 'Back in January.\r\nAlice' }],
    ] as const) {
      const res = await page(`${path()}${suffix}`, { token: owner.token, form });
      expect(res.status, `${suffix}: ${await res.clone().text()}`).toBe(303);
      expect(res.headers.get('location')).toBe(`${path()}?notice=addresses_saved`);
    }
    expect(await h.database.db.select().from(mailAliases).where(eq(mailAliases.serverId, serverId))).toHaveLength(1);
    expect(await h.database.db.select().from(catchAlls).where(eq(catchAlls.serverId, serverId))).toHaveLength(1);
    expect((await h.database.db.select().from(mailForwards).where(eq(mailForwards.mailboxId, mailboxId)))[0]).toMatchObject({ keepCopy: true });
    expect((await h.database.db.select().from(vacations).where(eq(vacations.mailboxId, mailboxId)))[0]).toMatchObject({
      days: 5,
      message: 'Back in January.\nAlice',
    });
    const script = await until(
      'the script on the server',
      async () => {
        const text = (await h.sandbox.ssh!.file(hostId, '/var/lib/dovecot/mailplane-sieve/alice@web-addresses.example.sieve'))?.content.toString('utf8') ?? '';
        return text.includes('vacation :days 5') && text;
      },
      30_000,
      50,
    );
    expect(script).toContain('redirect :copy "alice@elsewhere.example.net";');
    const html = await (await page(path(), { token: owner.token })).text();
    expect(html).toContain('sales@web-addresses.example');
    expect(html).toContain('Forwarded to <strong>alice@elsewhere.example.net</strong>');
  });

  it('a bad value is a 400 page naming the problem, and changes nothing', async () => {
    const res = await page(`${path()}/${mailboxId}/vacation`, {
      token: owner.token,
      form: { startsOn: '2026-12-20', endsOn: '2026-12-31', days: '5', subject: 'Away\r\nBcc: x@example.net', message: 'x' },
    });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('a subject on one line');
    expect((await h.database.db.select().from(vacations).where(eq(vacations.mailboxId, mailboxId)))[0]?.subject).toBe('Away');
    expect((await page(`${path()}/aliases`, { token: owner.token, form: { localPart: 'sales', mailboxId } })).status).toBe(400);
  });

  it('a member sees the addresses without forms and is refused the posts', async () => {
    const html = await (await page(path(), { token: memberToken })).text();
    expect(html).toContain('sales@web-addresses.example');
    expect(html).not.toContain('Add alias');
    const res = await page(`${path()}/catch-all`, { token: memberToken, form: { mailboxId: '' } });
    expect(res.status).toBe(403);
    expect(await h.database.db.select().from(catchAlls).where(eq(catchAlls.serverId, serverId))).toHaveLength(1);
  });
});
