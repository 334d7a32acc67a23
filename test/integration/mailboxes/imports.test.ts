/**
 * Importing a mailbox from another provider, through the API on a provisioned sandbox server:
 * the request is judged before anything is stored (not public → 422), the old password reaches
 * the server on the script's stdin only and leaves the vault when the run ends, succeeded or
 * failed, and is in no answer, audit entry, row or log line; one import at a time per mailbox;
 * members only for the mailbox assigned to them.
 */
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog, mailboxes, mailboxImports, vaultSecrets } from '../../../src/db/schema/index.ts';
import { startHarness, type Harness } from '../../support/provisioning.ts';

const OLD_PASSWORD = 'Old-Provider "pass" %u $x \\ 42';
let h: Harness;
const logLines: string[] = [];
let owner: { token: string; workspaceId: string };
let base: string;
let hostId: string;
let aliceId: string;

beforeAll(async () => {
  h = await startHarness({ logLines });
  owner = await h.customer('import-owner@example.com');
  const { serverId } = await h.readyServer(owner.token, owner.workspaceId, 'imports.example');
  const [server] = await h.database.sql<{ provider_server_id: string }[]>`select provider_server_id from servers where id = ${serverId}`;
  hostId = server!.provider_server_id;
  base = `/v1/workspaces/${owner.workspaceId}/servers/${serverId}`;
  aliceId = await appliedMailbox('alice');
}, 180_000);

afterAll(async () => {
  await h?.close();
});

async function appliedMailbox(localPart: string): Promise<string> {
  const res = await h.call('POST', `${base}/mailboxes`, { token: owner.token, body: { localPart } });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  const id = res.body.mailbox.id as string;
  const deadline = Date.now() + 30_000;
  for (;;) {
    const [row] = await h.database.db.select().from(mailboxes).where(eq(mailboxes.id, id));
    if (row?.appliedAt) return id;
    if (Date.now() > deadline) throw new Error(`mailbox ${localPart} never reached the server`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function waitForImport(id: string) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const [row] = await h.database.db.select().from(mailboxImports).where(eq(mailboxImports.id, id));
    if (row && (row.status === 'succeeded' || row.status === 'failed')) return row;
    if (Date.now() > deadline) throw new Error(`import ${id} is ${row?.status}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const importSecrets = () => h.database.db.select().from(vaultSecrets).where(eq(vaultSecrets.purpose, 'import_password'));
const start = (mailboxId: string, body: Record<string, unknown>, token = owner.token) =>
  h.call('POST', `${base}/mailboxes/${mailboxId}/imports`, { token, body: { username: 'alice@old-provider.net', password: OLD_PASSWORD, ...body } });

describe('the old server must be public', () => {
  it.each(['10.0.0.5', '127.0.0.1', '169.254.169.254', '100.64.0.1', '::1', 'fd00::5', '::ffff:192.168.1.1', '198.51.100.7', 'nowhere.invalid.example'])(
    'refuses %s with 422 and stores nothing',
    async (host) => {
      const res = await start(aliceId, { host });
      expect(res.status, JSON.stringify(res.body)).toBe(422);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      expect(res.body.code).toBe('import_source_refused');
      expect(JSON.stringify(res.body)).not.toContain(OLD_PASSWORD);
      expect(await h.database.db.select().from(mailboxImports)).toEqual([]);
      expect(await importSecrets()).toEqual([]);
    },
  );

  it('refuses a body with an unknown field, a control character or no password (400)', async () => {
    for (const body of [
      { host: '9.9.9.9', extra: 1 },
      { host: '9.9.9.9', username: 'a\nb' },
      { host: '9.9.9.9', password: '' },
      { host: '9.9.9.9', security: 'none' },
    ]) {
      expect((await start(aliceId, body)).status, JSON.stringify(body)).toBe(400);
    }
    expect(await h.database.db.select().from(mailboxImports)).toEqual([]);
  });
});

describe('a run', () => {
  it('passes the password on stdin only, records the run, and deletes the password when it ends', async () => {
    const res = await start(aliceId, { host: '9.9.9.9' });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    expect(res.body.import).toMatchObject({
      status: 'queued',
      source: { host: '9.9.9.9', address: '9.9.9.9', port: 993, security: 'imaps', username: 'alice@old-provider.net' },
    });
    const done = await waitForImport(res.body.import.id);
    expect(done).toMatchObject({ status: 'succeeded', simulated: true, messagesCopied: 0, error: null });
    expect(done.folders).toEqual([{ name: 'INBOX', before: 0, after: 0, copied: 0 }]);
    expect(done.startedAt).not.toBeNull();
    expect(done.finishedAt).not.toBeNull();
    expect(await importSecrets()).toEqual([]);
    // On the server: the request on stdin, nothing of it in the command line a process list shows.
    const run = h.sandbox
      .ssh!.commands(hostId)
      .filter((c) => c.command.includes('import-mailbox.sh'))
      .at(-1)!;
    expect(run.command).toBe('bash /opt/mailplane/bin/import-mailbox.sh');
    expect(run.stdin.split('\n')).toEqual(['alice@imports.example', '9.9.9.9', '9.9.9.9', '993', 'imaps', 'alice@old-provider.net', '-', OLD_PASSWORD, '']);
    // Nowhere else: not in the answer, the list, the row, the audit log or the product's log.
    const list = await h.call('GET', `${base}/mailboxes/${aliceId}/imports`, { token: owner.token });
    expect(list.status).toBe(200);
    expect(list.body.imports.map((i: { id: string; status: string }) => [i.id, i.status])).toEqual([[done.id, 'succeeded']]);
    const [entry] = await h.database.db.select().from(auditLog).where(eq(auditLog.action, 'mailbox.import_requested'));
    expect(entry).toMatchObject({ target: aliceId });
    for (const text of [JSON.stringify(res.body), JSON.stringify(list.body), JSON.stringify(done), JSON.stringify(entry), logLines.join('\n')]) {
      expect(text).not.toContain(OLD_PASSWORD);
    }
  });

  it('deletes the password of a run that failed too, and says why', async () => {
    const bob = await appliedMailbox('bob');
    h.sandbox.ssh!.setBehaviour(hostId, { failScript: 'import-mailbox.sh' });
    try {
      const res = await start(bob, { host: '9.9.9.9', port: 143, security: 'starttls' });
      expect(res.status).toBe(202);
      const done = await waitForImport(res.body.import.id);
      expect(done.status).toBe('failed');
      expect(done.error).toBeTruthy();
      expect(done.error).not.toContain(OLD_PASSWORD);
      expect(await importSecrets()).toEqual([]);
    } finally {
      h.sandbox.ssh!.setBehaviour(hostId, {});
    }
  });

  it('runs one import at a time per mailbox', async () => {
    const carol = await appliedMailbox('carol');
    await h.database.db.insert(mailboxImports).values({
      workspaceId: owner.workspaceId,
      serverId: (await h.database.db.select().from(mailboxes).where(eq(mailboxes.id, carol)))[0]!.serverId,
      mailboxId: carol,
      address: 'carol@imports.example',
      sourceHost: '9.9.9.9',
      sourceAddress: '9.9.9.9',
      sourcePort: 993,
      sourceSecurity: 'imaps',
      sourceUser: 'c',
      status: 'running',
      requestedBy: 'test',
    });
    const res = await start(carol, { host: '9.9.9.9' });
    expect(res.status, JSON.stringify(res.body)).toBe(409);
    expect(res.body.code).toBe('import_running');
    expect(
      await h.database.db
        .select()
        .from(mailboxImports)
        .where(and(eq(mailboxImports.mailboxId, carol))),
    ).toHaveLength(1);
  });

  it('a member imports into the mailbox assigned to them only', async () => {
    const member = await h.signup('import-member@example.com', { name: 'Member' });
    await h.database.sql`insert into memberships (workspace_id, user_id, role) values (${owner.workspaceId}, ${member.userId}, 'member')`;
    const dave = await appliedMailbox('dave');
    expect((await start(dave, { host: '9.9.9.9' }, member.token)).status).toBe(403);
    expect((await h.call('GET', `${base}/mailboxes/${dave}/imports`, { token: member.token })).status).toBe(403);
    await h.database.db.update(mailboxes).set({ assigneeUserId: member.userId }).where(eq(mailboxes.id, dave));
    const res = await start(dave, { host: '9.9.9.9' }, member.token);
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    expect((await waitForImport(res.body.import.id)).status).toBe('succeeded');
  });
});
