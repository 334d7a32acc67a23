/**
 * Backups on a real Debian 12 server: mail delivered over SMTP is backed up by
 * restic on the server (with its own key) to the Object Storage emulator, the
 * control plane's drill restores it and finds every message; a message the user
 * deletes comes back into "Restored <date>" by a one-mailbox restore while the
 * current mail stays as it is; the mailbox downloaded from the backup (a single-use
 * link) holds every message of the manifest byte for byte; the server's key cannot destroy its history; a
 * damaged pack fails the drill and `restic check` and opens ops alerts; erasure
 * leaves no object version behind. Judged by curl's IMAP client and restic.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { and, desc, eq, isNull } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withSession } from '../../../provisioning/remote.ts';
import { runDrill } from '../../../src/backups/drill.ts';
import { maintainRepository } from '../../../src/backups/maintenance.ts';
import { scanMailRoot } from '../../../src/backups/manifest.ts';
import { alerts, auditLog, backupRepositories, backupRestores, backupRuns, servers } from '../../../src/db/schema/index.ts';
import type { StorageRegion } from '../../../src/providers/storage/interface.ts';
import { s3With } from '../../support/object-storage.ts';
import type { Harness } from '../../support/provisioning.ts';
import { inInternet, swaks } from './support/internet.ts';
import { mailbox, missingForRealHosts, startRealHostProduct, type Mailbox } from './support/product.ts';
import { until as waitUntil } from '../../support/until.ts';

const missing = missingForRealHosts();
if (missing.length > 0 && process.env['MAILPLANE_REQUIRE_TOOLS'] === '1') throw new Error(`real-host e2e needs: ${missing.join(', ')}`);

const until = <T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 300_000) => waitUntil(what, probe, timeoutMs, 1_000);

describe.skipIf(missing.length > 0)('backups of a real mail server', () => {
  let h: Harness;
  let owner: { token: string; workspaceId: string };
  let serverId: string;
  let ipv4: string;
  let mb: Mailbox;
  let runId: string;
  const subjects = [1, 2, 3].map((i) => `backup e2e ${Date.now()} #${i}`);
  const api = () => `/v1/workspaces/${owner.workspaceId}/servers/${serverId}`;
  const imap = (cmd: string[]) => inInternet(['curl', '-sS', '--insecure', '--user', `${mb.address}:${mb.password}`, ...cmd], { timeoutMs: 30_000 });
  const search = async (folder: string, subject: string) =>
    /SEARCH ([0-9 ]+)/.exec((await imap([`imaps://${ipv4}/${encodeURIComponent(folder)}`, '-X', `SEARCH SUBJECT "${subject}"`])).stdout)?.[1]?.trim() ?? '';
  const send = (subject: string) =>
    swaks({
      server: ipv4,
      port: 587,
      tls: 'starttls',
      auth: { user: mb.address, password: mb.password },
      from: mb.address,
      to: mb.address,
      header: { Subject: subject },
      body: `${subject}\n${'line of mail\n'.repeat(50)}`,
    });

  beforeAll(async () => {
    h = await startRealHostProduct();
    owner = await h.customer('owner@backup-e2e.test');
    ({ serverId } = await h.subscribe(owner.token, owner.workspaceId, 'backup-e2e.test'));
    const row = await h.waitForServer(serverId, ['ready'], 25 * 60_000);
    ipv4 = row.ipv4!;
    mb = await mailbox(h, owner.token, owner.workspaceId, serverId, 'alice');
    for (const subject of subjects) expect((await send(subject)).code).toBe(0);
    for (const subject of subjects) await until(`"${subject}" in INBOX`, async () => (await search('INBOX', subject)) !== '', 120_000);
  });

  afterAll(async () => {
    await h?.close();
  });

  it('backs up the delivered mail with restic on the server, a message arriving meanwhile included, and the drill finds every message', async () => {
    const post = await h.call('POST', `${api()}/backups`, { token: owner.token });
    expect(post.status).toBe(202);
    // Mail keeps arriving while the backup runs: the backup must still restore into a working mailbox.
    expect((await send(`${subjects[0]} (during the backup)`)).code).toBe(0);
    const run = await until('the backup', async () => {
      const [r] = await h.database.db.select().from(backupRuns).where(eq(backupRuns.serverId, serverId)).orderBy(desc(backupRuns.startedAt)).limit(1);
      return r && r.status !== 'running' ? r : null;
    });
    expect(run, run.error ?? '').toMatchObject({ status: 'succeeded', simulated: false });
    runId = run.id;
    expect(run.manifest!.mailboxes[mb.address]!['INBOX']!.count).toBeGreaterThanOrEqual(3);
    const drill = await runDrill(h.ctx.backups, serverId);
    expect(drill, JSON.stringify(drill)).toMatchObject({ status: 'passed' });
    expect(drill!.messagesCompared).toBeGreaterThanOrEqual(3);
    const check = await maintainRepository(h.ctx.backups, serverId, { readAll: true });
    expect(check).toEqual({ outcome: 'checked', passed: true, error: null });
  });

  it('downloads the mailbox from that backup, once, as a Maildir tar.gz holding every message of the manifest byte for byte', async () => {
    const [run] = await h.database.db.select().from(backupRuns).where(eq(backupRuns.id, runId));
    const link = await h.call('POST', `${api()}/mailboxes/${mb.id}/download`, { token: owner.token, body: { backupId: runId } });
    expect(link.status, JSON.stringify(link.body)).toBe(201);
    const res = await fetch(`${h.baseUrl}${link.body.download.url}`, { headers: { authorization: `Bearer ${owner.token}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/gzip');
    const dir = mkdtempSync(join(tmpdir(), 'mailplane-download-'));
    try {
      writeFileSync(join(dir, 'mailbox.tar.gz'), Buffer.from(await res.arrayBuffer()));
      execFileSync('tar', ['-xzf', join(dir, 'mailbox.tar.gz'), '-C', dir]);
      const scanned = await scanMailRoot(join(dir, run!.manifest!.root!), new Date());
      expect(Object.keys(scanned.mailboxes)).toEqual([mb.address]);
      const expected = run!.manifest!.mailboxes[mb.address]!;
      for (const [folder, entry] of Object.entries(expected)) expect(scanned.mailboxes[mb.address]![folder]?.messages, folder).toEqual(entry.messages);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect((await fetch(`${h.baseUrl}${link.body.download.url}`, { headers: { authorization: `Bearer ${owner.token}` } })).status).toBe(410);
  });

  it("the server's own key cannot delete its snapshots: the storage refuses", async () => {
    const [server] = await h.database.db.select().from(servers).where(eq(servers.id, serverId));
    // As an intruder with root on the server would: its env file, restic, and every snapshot id.
    const script = [
      'set -a; . /etc/mailplane/backup.env; set +a',
      "for id in $(restic snapshots --json | python3 -c \"import json,sys; print(' '.join(s['id'] for s in json.load(sys.stdin)))\"); do",
      '  restic forget --prune "$id" >&2 || echo "refused $id" >&2',
      'done',
      'restic snapshots --json',
    ].join('\n');
    const out = await withSession(h.ctx.provisioning, server!, (s) => s.exec('bash -s', { stdin: script, check: false, timeoutMs: 180_000 }));
    const snapshots = JSON.parse(out.stdout.trim().split('\n').at(-1) ?? '[]') as unknown[];
    expect(snapshots.length, out.stderr).toBeGreaterThanOrEqual(1);
    expect(out.stderr).toMatch(/AccessDenied|Access Denied|refused/);
  });

  it('restores a deleted message into "Restored <date>" and leaves the current mail as it is', async () => {
    const victim = subjects[1]!;
    const seq = (await search('INBOX', victim)).split(' ')[0]!;
    await imap([`imaps://${ipv4}/INBOX`, '-X', `STORE ${seq} +FLAGS \\Deleted`]);
    await imap([`imaps://${ipv4}/INBOX`, '-X', 'EXPUNGE']);
    expect(await search('INBOX', victim)).toBe('');
    const res = await h.call('POST', `${api()}/mailboxes/${mb.id}/restore`, { token: owner.token, body: { backupId: runId, folder: 'INBOX' } });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    const done = await until('the restore', async () => {
      const [r] = await h.database.db.select().from(backupRestores).where(eq(backupRestores.id, res.body.restore.id));
      return r && (r.status === 'succeeded' || r.status === 'failed') ? r : null;
    });
    expect(done, done.error ?? '').toMatchObject({ status: 'succeeded' });
    expect(done.restoredMessages).toBeGreaterThanOrEqual(3);
    expect(await search(done.targetFolder, victim)).not.toBe('');
    expect(await search('INBOX', victim)).toBe('');
    expect(await search('INBOX', subjects[2]!)).not.toBe('');
  });

  it('fails the drill and restic check on a damaged pack, and opens ops alerts', async () => {
    const [repo] = await h.database.db.select().from(backupRepositories).where(eq(backupRepositories.serverId, serverId));
    const admin = s3With(await h.ctx.backups.storage!.adminAccess({ serverId, region: repo!.region as StorageRegion }));
    const packs = (await admin.send(new ListObjectsV2Command({ Bucket: repo!.bucket, Prefix: 'data/' }))).Contents ?? [];
    expect(packs.length).toBeGreaterThan(0);
    for (const pack of packs) await admin.send(new PutObjectCommand({ Bucket: repo!.bucket, Key: pack.Key!, Body: Buffer.alloc(pack.Size ?? 64, 0x41) }));
    expect(await runDrill(h.ctx.backups, serverId)).toMatchObject({ status: 'failed' });
    expect(await maintainRepository(h.ctx.backups, serverId, { readAll: true })).toMatchObject({ passed: false });
    const open = await h.database.db
      .select({ kind: alerts.kind })
      .from(alerts)
      .where(and(eq(alerts.serverId, serverId), isNull(alerts.resolvedAt)));
    expect(open.map((a) => a.kind)).toEqual(expect.arrayContaining(['backup_drill_failed', 'backup_check_failed']));
  });

  it('erasure of the workspace leaves no object of its backups in the storage', async () => {
    const [repo] = await h.database.db.select().from(backupRepositories).where(eq(backupRepositories.serverId, serverId));
    const region = repo!.region as StorageRegion;
    // Erasure is confirmed with the workspace's name, as the dashboard asks for it.
    const ws = await h.call('GET', `/v1/workspaces/${owner.workspaceId}`, { token: owner.token });
    expect((await h.call('DELETE', `/v1/workspaces/${owner.workspaceId}`, { token: owner.token, body: { confirm: ws.body.name } })).status).toBeLessThan(300);
    // The erasure waits out its grace period (owners may cancel); the sweep then starts it.
    expect(await h.afterErasureGrace()).toEqual([owner.workspaceId]);
    const entry = await until(
      'the erasure',
      async () => {
        const [e] = await h.database.db
          .select()
          .from(auditLog)
          .where(and(eq(auditLog.action, 'workspace.erased'), eq(auditLog.workspaceId, owner.workspaceId)));
        return e;
      },
      15 * 60_000,
    );
    expect(entry.details?.['backupsGoneAt']).toBeTruthy();
    expect(await h.ctx.backups.storage!.countObjectVersions({ serverId, region })).toBe(0);
  });
});
