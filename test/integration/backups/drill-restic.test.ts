/**
 * The control plane's side of backups with the real restic against the Object
 * Storage emulator and the real adapter: backup.sh (paths rewritten to a temp dir,
 * as in backup-script.test.ts) backs up with the env file the service writes (the
 * server's own key), then the drill restores with the admin key and compares with
 * the manifest, and `restic check` runs. A damaged pack fails both and opens alerts.
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createWriteStream, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { join } from 'node:path';
import { ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { and, eq, isNull } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAlertStore } from '../../../provisioning/alerts.ts';
import type { BackupDeps } from '../../../src/backups/deps.ts';
import { claimMailboxDownload, DOWNLOAD_TTL_MS, requestMailboxDownload, streamMailboxArchive } from '../../../src/backups/download-mailbox.ts';
import { MAIL_ROOT, runDrill } from '../../../src/backups/drill.ts';
import { compareManifests, scanMailRoot } from '../../../src/backups/manifest.ts';
import { maintainRepository } from '../../../src/backups/maintenance.ts';
import { backupEnvFile, ensureRepository } from '../../../src/backups/repository.ts';
import { parseBackupOutput } from '../../../src/backups/run-backup.ts';
import { systemClock } from '../../../src/clock.ts';
import { loadConfig } from '../../../src/config.ts';
import { alerts, backupRepositories, backupRuns, mailboxDownloads, servers, workspaces } from '../../../src/db/schema/index.ts';
import { createLogger } from '../../../src/log.ts';
import { renderServerTree } from '../../../src/mailstack/render.ts';
import { parseMasterKeys } from '../../../src/vault/master-keys.ts';
import { Vault } from '../../../src/vault/vault.ts';
import { sampleServer } from '../../unit/mailstack/sample-server.ts';
import { createTestDatabase, type TestDatabase } from '../../support/db.ts';
import { s3With, startObjectStorage, type ObjectStorageWorld } from '../../support/object-storage.ts';
import { TEST_VAULT_KEYS } from '../../support/provisioning.ts';
import { until } from '../../support/until.ts';
import { manualClock } from '../../support/clock.ts';
import { findProgram, requireProgram, requireRoot, toolsRequired } from '../../support/real-tools.ts';

let world: ObjectStorageWorld;
let database: TestDatabase;
let deps: BackupDeps;
let serverId: string;
let dir: string;

/** backup.sh as the server runs it, but under `dir` and asynchronously (the emulator answers from this process). */
function runBackupScript(): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [join(dir, 'backup.sh')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    child.on('error', reject);
    child.on('exit', (status) => resolve({ status, stdout, stderr }));
  });
}

beforeAll(async () => {
  if (!findProgram('restic') || process.getuid?.() !== 0) {
    if (toolsRequired()) throw new Error('restic and root are required (MAILPLANE_REQUIRE_TOOLS=1)');
    return;
  }
  world = await startObjectStorage();
  database = await createTestDatabase();
  dir = join(world.dir, 'server');
  const config = loadConfig({ NODE_ENV: 'test', SESSION_SECRET: 'x'.repeat(40), VAULT_MASTER_KEYS: TEST_VAULT_KEYS });
  deps = {
    database,
    queue: null as never,
    vault: new Vault(parseMasterKeys(TEST_VAULT_KEYS)),
    storage: world.storage,
    alerts: createAlertStore(),
    clock: systemClock,
    log: createLogger({ level: 'warn', pretty: false, destination: { write: () => {} } }),
    settings: config.backups,
    provisioning: null as never,
    simulatedHosts: false,
  };
  const [ws] = await database.db.insert(workspaces).values({ name: 'drill' }).returning();
  const [server] = await database.db
    .insert(servers)
    .values({
      workspaceId: ws!.id,
      planId: 'starter',
      zone: 'nl-ams-1',
      domain: 'drill.example',
      hostname: 'mail.drill.example',
      status: 'ready',
    })
    .returning();
  serverId = server!.id;

  // The server's side: its tree, its env file (written by the service), its scripts.
  const repo = await ensureRepository(deps, serverId);
  writeFileSync(join(world.dir, 'backup.env'), await backupEnvFile(deps, server!, repo), { mode: 0o600 });
  const files = renderServerTree(sampleServer());
  const file = (path: string) => files.find((f) => f.path === path)!.content;
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'backup-manifest.py'), file('/opt/mailplane/libexec/backup-manifest.py'));
  writeFileSync(
    join(dir, 'backup.sh'),
    file('/opt/mailplane/bin/backup.sh')
      .replace('readonly ENV_FILE=/etc/mailplane/backup.env', `readonly ENV_FILE=${join(world.dir, 'backup.env')}`)
      .replace('readonly MAIL_ROOT=/var/vmail', `readonly MAIL_ROOT=${join(dir, 'root')}${MAIL_ROOT}`)
      .replace('readonly STATE_DIR=/var/lib/mailplane-backup', `readonly STATE_DIR=${join(dir, 'state')}`)
      .replace('readonly MANIFEST_TOOL=/opt/mailplane/libexec/backup-manifest.py', `readonly MANIFEST_TOOL=${join(dir, 'backup-manifest.py')}`),
  );
  for (const [user, folder, n] of [
    ['alice', '', 12],
    ['alice', '.Sent', 3],
    ['bob', '', 5],
  ] as const) {
    const cur = join(dir, 'root', MAIL_ROOT, 'drill.example', user, 'Maildir', folder, 'cur');
    mkdirSync(cur, { recursive: true });
    for (let i = 0; i < n; i++)
      writeFileSync(join(cur, `17335700${i}.M${i}P${n}.mail,S=99:2,S`), `Subject: ${user} ${folder} ${i}\r\n\r\n${'x'.repeat(1000 * i)}\r\n`);
  }
}, 120_000);

afterAll(async () => {
  await database?.close();
  await world?.close();
});

describe('drills and checks with restic on the control plane', () => {
  it("backs up with the server's key, then the drill restores with the admin key and compares every message", async (ctx) => {
    requireRoot(ctx, 'backup.sh makes its state directory owned by root');
    requireProgram(ctx, 'restic', 'restic');
    const res = await runBackupScript();
    expect(res.status, res.stderr).toBe(0);
    const out = parseBackupOutput(res.stdout);
    // The manifest names the tree it describes; the drill restores that path of the snapshot.
    expect(out.manifest.root).toBe(join(dir, 'root', MAIL_ROOT));
    await database.db.insert(backupRuns).values({
      serverId,
      reason: 'daily',
      status: 'succeeded',
      finishedAt: new Date(),
      resticSnapshotId: out.snapshotId,
      manifest: out.manifest,
      sizeBytes: out.summary.total_bytes_processed ?? null,
      files: out.summary.total_files_processed ?? null,
    });
    expect(Object.keys(out.manifest.mailboxes)).toEqual(['alice@drill.example', 'bob@drill.example']);
    const drill = await runDrill(deps, serverId);
    expect(drill, JSON.stringify(drill)).toMatchObject({ status: 'passed', messagesCompared: 20 });
    const check = await maintainRepository(deps, serverId, { readAll: true });
    expect(check).toEqual({ outcome: 'checked', passed: true, error: null });
    const [repo] = await database.db.select().from(backupRepositories).where(eq(backupRepositories.serverId, serverId));
    expect(repo!.lastCheckStatus).toBe('passed');
  }, 120_000);

  it('downloads one mailbox from the snapshot as a Maildir tar.gz, once: every message byte for byte, no other mailbox', async (ctx) => {
    requireRoot(ctx, 'see above');
    requireProgram(ctx, 'restic', 'restic');
    const [run] = await database.db.select().from(backupRuns).where(eq(backupRuns.serverId, serverId));
    const [server] = await database.db.select().from(servers).where(eq(servers.id, serverId));
    const actor = { id: 'user:test', kind: 'user' as const, ip: null };
    const alice = { id: randomUUID(), address: 'alice@drill.example' };
    const row = await requestMailboxDownload({ database, clock: systemClock }, actor, { server: server!, mailbox: alice, backupId: run!.id });
    const claimed = await claimMailboxDownload(database.db, serverId, row.id, Date.now());
    const archive = join(world.dir, 'alice.tar.gz');
    await pipeline(await streamMailboxArchive(deps, server!, claimed), createWriteStream(archive));
    const out = join(world.dir, 'alice-extracted');
    mkdirSync(out);
    execFileSync('tar', ['-xzf', archive, '-C', out]);
    const scanned = await scanMailRoot(join(out, run!.manifest!.root!), new Date());
    expect(Object.keys(scanned.mailboxes)).toEqual(['alice@drill.example']);
    const onlyAlice = { ...run!.manifest!, mailboxes: { 'alice@drill.example': run!.manifest!.mailboxes['alice@drill.example']! } };
    expect(compareManifests(onlyAlice, scanned)).toMatchObject({ passed: true, messagesCompared: 15 });
    const done = await until(
      'the download recorded',
      async () =>
        (await database.db.select().from(mailboxDownloads).where(eq(mailboxDownloads.id, row.id)))[0]?.finishedAt &&
        (await database.db.select().from(mailboxDownloads).where(eq(mailboxDownloads.id, row.id)))[0],
    );
    expect(done).toMatchObject({ error: null, bytes: statSync(archive).size });

    // The link works once, and not after its 15 minutes.
    await expect(claimMailboxDownload(database.db, serverId, row.id, Date.now())).rejects.toMatchObject({
      status: 410,
      detail: expect.stringMatching(/already used/),
    });
    const old = await requestMailboxDownload({ database, clock: manualClock(Date.now() - DOWNLOAD_TTL_MS - 1000) }, actor, {
      server: server!,
      mailbox: alice,
      backupId: run!.id,
    });
    await expect(claimMailboxDownload(database.db, serverId, old.id, Date.now())).rejects.toMatchObject({
      status: 410,
      detail: expect.stringMatching(/expired/),
    });
    // A mailbox the backup does not hold, and a path restic cannot dump: clear refusals, not an empty archive.
    await expect(
      requestMailboxDownload({ database, clock: systemClock }, actor, {
        server: server!,
        mailbox: { id: randomUUID(), address: 'carol@drill.example' },
        backupId: run!.id,
      }),
    ).rejects.toMatchObject({ status: 404 });
    const [missing] = await database.db
      .insert(mailboxDownloads)
      .values({ ...claimed, id: undefined, snapshotPath: '/nowhere/Maildir', usedAt: new Date() } as never)
      .returning();
    await expect(streamMailboxArchive(deps, server!, missing!)).rejects.toMatchObject({ status: 502, code: 'restic_failed' });
    expect((await database.db.select().from(mailboxDownloads).where(eq(mailboxDownloads.id, missing!.id)))[0]!.error).toMatch(/restic dump exited/);
  }, 120_000);

  it('fails the drill and the check on a damaged pack, and opens an ops alert for each', async (ctx) => {
    requireRoot(ctx, 'see above');
    requireProgram(ctx, 'restic', 'restic');
    const admin = s3With(await world.storage.adminAccess({ serverId, region: 'nl-ams' }));
    const [repo] = await database.db.select().from(backupRepositories).where(eq(backupRepositories.serverId, serverId));
    const packs = (await admin.send(new ListObjectsV2Command({ Bucket: repo!.bucket, Prefix: 'data/' }))).Contents ?? [];
    expect(packs.length).toBeGreaterThan(0);
    for (const pack of packs) await admin.send(new PutObjectCommand({ Bucket: repo!.bucket, Key: pack.Key!, Body: Buffer.alloc(pack.Size ?? 64, 0x41) }));

    const drill = await runDrill(deps, serverId);
    expect(drill!.status).toBe('failed');
    expect(drill!.error).toBeTruthy();
    const check = await maintainRepository(deps, serverId, { readAll: true });
    expect(check).toMatchObject({ outcome: 'checked', passed: false });
    const open = await database.db
      .select({ kind: alerts.kind })
      .from(alerts)
      .where(and(eq(alerts.serverId, serverId), isNull(alerts.resolvedAt)));
    expect(open.map((a) => a.kind).sort()).toEqual(['backup_check_failed', 'backup_drill_failed']);
  }, 120_000);
});
