/**
 * Aliases, catch-all, forwarding and vacation replies on a provisioned sandbox
 * server, through the API: each change reaches the server's files (the Postfix
 * maps and the mailbox's Sieve script) with the next sync, is audited, and is
 * bounded by the plan; bad input is a 400 that changes nothing, another
 * mailbox's address a 409, a foreign or unknown id a 404.
 */
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog, mailAliases, mailForwards, vacations } from '../../../src/db/schema/index.ts';
import { startHarness, type Harness } from '../../support/provisioning.ts';
import { until } from '../../support/until.ts';
import { markAddressesApplied, renderServerAddresses } from '../../../src/addresses/sync.ts';
import { resyncStaleMailboxes } from '../../../src/mailboxes/sync.ts';

let h: Harness;
let owner: { token: string; workspaceId: string };
let serverId: string;
let hostId: string;
let base: string;
const ids = {} as Record<'alice' | 'bob', string>;

// A plan small enough to reach its limits: 2 aliases, 1 forwarding mailbox.
const PLANS = JSON.stringify([
  {
    id: 'starter',
    name: 'Starter',
    stripePriceId: 'price_mailplane_starter',
    commercialType: 'DEV1-S',
    mailboxes: 10,
    storageGb: 20,
    messagesPerHour: 200,
    aliases: 2,
    forwards: 1,
  },
]);

beforeAll(async () => {
  h = await startHarness({ env: { PLANS } });
  owner = await h.customer('addr-owner@example.com');
  ({ serverId } = await h.subscribe(owner.token, owner.workspaceId, 'addresses.example'));
  const server = await h.waitForServer(serverId, ['ready', 'failed'], 120_000);
  expect(server.status).toBe('ready');
  hostId = server.providerServerId!;
  base = `/v1/workspaces/${owner.workspaceId}/servers/${serverId}`;
  for (const name of ['alice', 'bob'] as const) {
    const res = await h.call('POST', `${base}/mailboxes`, { token: owner.token, body: { localPart: name } });
    expect(res.status).toBe(201);
    ids[name] = res.body.mailbox.id;
  }
}, 180_000);

afterAll(async () => {
  await h?.close();
});

const call = (method: string, path: string, body?: unknown) => h.call(method, `${base}${path}`, { token: owner.token, body });
const file = async (path: string) => (await h.sandbox.ssh!.file(hostId, path))?.content.toString('utf8') ?? '';
/** Until the server holds every address row as the database has it. */
const applied = () =>
  until(
    'addresses applied',
    async () => {
      const body = (await call('GET', '/addresses')).body;
      const rows = [...body.aliases, ...body.forwards, ...body.vacations, ...(body.catchAll ? [body.catchAll] : [])];
      return rows.every((r: { sync: { status: string } }) => r.sync.status === 'applied') ? body : null;
    },
    30_000,
    50,
  );

describe('aliases and the catch-all', () => {
  it('an alias reaches the Postfix maps: mail to it goes to the mailbox, which may send as it', async () => {
    const res = await call('POST', '/aliases', { localPart: 'Sales', mailboxId: ids.alice });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.address).toBe('sales@addresses.example');
    await applied();
    expect(await file('/etc/postfix/address_aliases')).toBe('sales@addresses.example alice@addresses.example\n');
    expect(await file('/etc/postfix/alias_senders')).toBe('sales@addresses.example alice@addresses.example\n');
    const [entry] = await h.database.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.action, 'alias.create'), eq(auditLog.target, res.body.id)));
    expect(entry?.details).toEqual({ address: 'sales@addresses.example', mailbox: 'alice@addresses.example' });
  });

  it("refuses an address that exists (alias or mailbox, both ways), a mailbox of nobody, and the plan's limit", async () => {
    expect((await call('POST', '/aliases', { localPart: 'sales', mailboxId: ids.bob })).status).toBe(409);
    expect((await call('POST', '/aliases', { localPart: 'bob', mailboxId: ids.alice })).status).toBe(409);
    expect((await call('POST', '/mailboxes', { localPart: 'sales' })).status).toBe(409);
    const stranger = await call('POST', '/aliases', { localPart: 'info', mailboxId: '00000000-0000-4000-8000-000000000000' });
    expect(stranger.status).toBe(400);
    expect(stranger.body.errors).toEqual([{ path: 'json.mailboxId', message: 'is not a mailbox of this server' }]);
    for (const bad of ['a b', 'root', '.x', 'x@y', '']) expect((await call('POST', '/aliases', { localPart: bad, mailboxId: ids.alice })).status).toBe(400);
    expect((await call('POST', '/aliases', { localPart: 'info', mailboxId: ids.bob })).status).toBe(201);
    const over = await call('POST', '/aliases', { localPart: 'third', mailboxId: ids.bob });
    expect(over.status).toBe(409);
    expect(over.body.detail).toMatch(/2 aliases/);
    expect(await h.database.db.select().from(mailAliases).where(eq(mailAliases.serverId, serverId))).toHaveLength(2);
  });

  it('the catch-all is off by default; on, each mailbox keeps its own mail before @domain; off again, it is gone', async () => {
    expect((await call('GET', '/addresses')).body.catchAll).toBeNull();
    expect((await call('PUT', '/catch-all', { mailboxId: ids.bob })).status).toBe(202);
    await applied();
    expect((await file('/etc/postfix/address_aliases')).split('\n')).toEqual([
      'info@addresses.example bob@addresses.example',
      'sales@addresses.example alice@addresses.example',
      'alice@addresses.example alice@addresses.example',
      'bob@addresses.example bob@addresses.example',
      '@addresses.example bob@addresses.example',
      '',
    ]);
    expect((await call('PUT', '/catch-all', { mailboxId: null })).status).toBe(202);
    // A removal leaves no row to watch: wait on the server's file.
    await until('catch-all off', async () => !/^@addresses\.example /m.test(await file('/etc/postfix/address_aliases')), 30_000, 50);
    expect(await file('/etc/postfix/address_aliases')).not.toMatch(/^alice@addresses\.example alice/m);
    expect(await h.database.db.select({ action: auditLog.action }).from(auditLog).where(eq(auditLog.target, serverId))).toEqual(
      expect.arrayContaining([{ action: 'catch_all.set' }, { action: 'catch_all.off' }]),
    );
  });

  it('deleting an alias takes it off the server', async () => {
    const { aliases } = (await call('GET', '/addresses')).body;
    const info = aliases.find((a: { localPart: string }) => a.localPart === 'info');
    expect((await call('DELETE', `/aliases/${info.id}`)).status).toBe(202);
    expect((await call('DELETE', `/aliases/${info.id}`)).status).toBe(404);
    // Both maps (the upload writes one file after the other).
    const only = 'sales@addresses.example alice@addresses.example\n';
    await until(
      'info@ gone',
      async () => (await file('/etc/postfix/address_aliases')) === only && (await file('/etc/postfix/alias_senders')) === only,
      30_000,
      50,
    );
  });
});

describe('forwarding and vacation', () => {
  it("a forward becomes the mailbox's Sieve redirect (spam excluded), within the plan's limit, never to the own domain", async () => {
    expect((await call('PUT', `/mailboxes/${ids.alice}/forward`, { target: 'Alice.Elsewhere@Example.NET', keepCopy: false })).status).toBe(202);
    await applied();
    const script = await file('/var/lib/dovecot/mailplane-sieve/alice@addresses.example.sieve');
    expect(script).toContain('if not header :is "X-Spam" "Yes" {');
    expect(script).toContain('  redirect "Alice.Elsewhere@example.net";');
    expect(await file('/etc/mailplane/sieve-scripts')).toBe('alice@addresses.example\nbob@addresses.example\n');
    expect((await call('PUT', `/mailboxes/${ids.bob}/forward`, { target: 'bob@example.net' })).status).toBe(409);
    expect((await call('PUT', `/mailboxes/${ids.alice}/forward`, { target: 'bob@addresses.example' })).status).toBe(400);
    for (const target of ['"x"@example.net', 'x@y', 'a\nb@example.net', 'x@example.net\r\nBcc: y@example.net']) {
      expect((await call('PUT', `/mailboxes/${ids.alice}/forward`, { target })).status).toBe(400);
    }
    const [row] = await h.database.db.select().from(mailForwards).where(eq(mailForwards.mailboxId, ids.alice));
    expect(row).toMatchObject({ target: 'Alice.Elsewhere@example.net', keepCopy: false });
    // The customer's data export has it (an outside address is personal data).
    const exported = JSON.stringify((await h.call('GET', '/v1/me/export', { token: owner.token })).body);
    expect(exported).toContain('{"mailbox":"alice@addresses.example","target":"Alice.Elsewhere@example.net","keepCopy":false}');
  });

  it('a vacation reply becomes a Sieve vacation between its dates, quoted so its text cannot become Sieve', async () => {
    const body = {
      startsOn: '2026-12-20',
      endsOn: '2026-12-31',
      subject: 'Away "now"; redirect "x@evil.example";',
      message: 'Back in January.\r\nA backslash \\ stays.',
      days: 3,
    };
    expect((await call('PUT', `/mailboxes/${ids.alice}/vacation`, body)).status).toBe(202);
    await applied();
    const script = await file('/var/lib/dovecot/mailplane-sieve/alice@addresses.example.sieve');
    expect(script).toContain('currentdate :value "ge" "date" "2026-12-20", currentdate :value "le" "date" "2026-12-31"');
    expect(script).toContain(
      ':subject "Away \\"now\\"; redirect \\"x@evil.example\\";" :addresses ["sales@addresses.example"] "Back in January.\nA backslash \\\\ stays.";',
    );
    expect(await h.database.db.select().from(vacations).where(eq(vacations.mailboxId, ids.alice))).toHaveLength(1);
  });

  it('refuses dates out of order, a subject over two lines, control characters, and days out of range', async () => {
    const ok = { startsOn: '2026-12-20', endsOn: '2026-12-31', subject: 'Away', message: 'Back soon.' };
    for (const bad of [
      { endsOn: '2026-12-19' },
      { subject: 'Away\r\nBcc: x@example.net' },
      { message: 'a\u0000b' },
      { days: 0 },
      { days: 31 },
      { startsOn: '2026-13-01' },
    ]) {
      const res = await call('PUT', `/mailboxes/${ids.bob}/vacation`, { ...ok, ...bad });
      expect(res.status, JSON.stringify(bad)).toBe(400);
    }
    expect(await h.database.db.select().from(vacations).where(eq(vacations.mailboxId, ids.bob))).toHaveLength(0);
  });

  it('turning both off leaves the mailbox a script without actions', async () => {
    expect((await call('DELETE', `/mailboxes/${ids.alice}/forward`)).status).toBe(202);
    expect((await call('DELETE', `/mailboxes/${ids.alice}/vacation`)).status).toBe(202);
    expect((await call('DELETE', `/mailboxes/${ids.alice}/vacation`)).status).toBe(404);
    const script = await until(
      'no actions left',
      async () => {
        const text = await file('/var/lib/dovecot/mailplane-sieve/alice@addresses.example.sieve');
        return /Nothing set/.test(text) && text;
      },
      30_000,
      50,
    );
    expect(script).not.toMatch(/^\s*(redirect|vacation|require)/m);
    const actions = await h.database.db.select({ action: auditLog.action }).from(auditLog).where(eq(auditLog.target, ids.alice));
    expect(actions.map((a) => a.action)).toEqual(expect.arrayContaining(['forward.set', 'vacation.set', 'forward.remove', 'vacation.remove']));
  });

  it('a deleted mailbox takes its aliases and its script with it', async () => {
    expect((await call('DELETE', `/mailboxes/${ids.alice}`)).status).toBe(202);
    await until('alice gone', async () => !(await file('/etc/mailplane/sieve-scripts')).includes('alice@'), 30_000, 50);
    expect(await file('/etc/postfix/address_aliases')).toBe('');
    // The rows go with the mailbox's row, once the server no longer has it.
    await until(
      'alias rows gone',
      async () => (await h.database.db.select().from(mailAliases).where(eq(mailAliases.serverId, serverId))).length === 0,
      30_000,
      50,
    );
  });
});

describe('whether a change is on the server', () => {
  it("is decided on the database's clock alone: a push marks what it read, a change after the read or after the mark stays pending", async () => {
    await applied();
    // From here the worker's syncs fail after the addresses went up, before marking them: only this test marks rows.
    h.sandbox.ssh!.setBehaviour(hostId, { failScript: 'apply-mailboxes.sh' });
    const server = { id: serverId, domain: 'addresses.example' };
    const push = async () => (await renderServerAddresses(h.database.db, server, ['bob'])).seen;
    const status = async () => (await call('GET', '/addresses')).body.vacations.find((v: { mailboxId: string }) => v.mailboxId === ids.bob).sync.status;
    const reply = (days: number) =>
      call('PUT', `/mailboxes/${ids.bob}/vacation`, { startsOn: '2027-01-01', endsOn: '2027-01-09', subject: 'Away', message: 'Back.', days });
    try {
      expect((await reply(1)).status).toBe(202);
      expect(await status()).toBe('pending');
      await markAddressesApplied(h.database.db, await push());
      expect(await status()).toBe('applied');
      // Changed after the push read it: that push's mark leaves it pending.
      const read = await push();
      expect((await reply(2)).status).toBe(202);
      await markAddressesApplied(h.database.db, read);
      expect(await status()).toBe('pending');
      // Changed right after a mark: pending, however close the two are.
      await markAddressesApplied(h.database.db, await push());
      expect(await status()).toBe('applied');
      expect((await reply(3)).status).toBe(202);
      expect(await status()).toBe('pending');
    } finally {
      h.sandbox.ssh!.setBehaviour(hostId, {});
    }
    await resyncStaleMailboxes(h.ctx.provisioning, { olderThanMs: 0 });
    await applied();
  });
});
