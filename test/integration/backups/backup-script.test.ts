/**
 * templates/scripts/backup.sh run for real by bash with Debian's restic, against a
 * local repository: its paths are rewritten to this test's temp dir (as the
 * validators do), so nothing of this machine is read or written. The manifest it
 * prints is then compared, the way a drill does, with a real restore of its snapshot.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareManifests, scanMailRoot } from '../../../src/backups/manifest.ts';
import { restic, restoreSnapshot, type ResticTarget } from '../../../src/backups/restic.ts';
import { renderServerTree } from '../../../src/mailstack/render.ts';
import { sampleServer } from '../../unit/mailstack/sample-server.ts';
import { requireProgram, requireRoot, run } from '../../support/real-tools.ts';

let tmp: string;
let script: string;
let restoreScript: string;
let firstSnapshot: string;
let target: ResticTarget;
const paths = () => ({
  env: join(tmp, 'backup.env'),
  mail: join(tmp, 'vmail'),
  state: join(tmp, 'state'),
  tool: join(tmp, 'backup-manifest.py'),
  roundcube: join(tmp, 'roundcube.db'),
});

function message(dir: string, name: string, body: string) {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, name), `From: a@example.org\r\nSubject: ${name}\r\n\r\n${body}\r\n`);
}

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'mailplane-backup-'));
  const p = paths();
  const files = renderServerTree(sampleServer());
  const file = (path: string) => files.find((f) => f.path === path)!.content;
  script = join(tmp, 'backup.sh');
  writeFileSync(
    script,
    file('/opt/mailplane/bin/backup.sh')
      .replace('readonly ENV_FILE=/etc/mailplane/backup.env', `readonly ENV_FILE=${p.env}`)
      .replace('readonly MAIL_ROOT=/var/vmail', `readonly MAIL_ROOT=${p.mail}`)
      .replace('readonly STATE_DIR=/var/lib/mailplane-backup', `readonly STATE_DIR=${p.state}`)
      .replace('readonly MANIFEST_TOOL=/opt/mailplane/libexec/backup-manifest.py', `readonly MANIFEST_TOOL=${p.tool}`)
      .replace('readonly ROUNDCUBE_DB=/var/lib/dbconfig-common/sqlite3/roundcube/roundcube', `readonly ROUNDCUBE_DB=${p.roundcube}`),
  );
  writeFileSync(p.tool, file('/opt/mailplane/libexec/backup-manifest.py'));
  // The restore runs as on a server but owns files as root (this machine has no vmail user), and
  // a stand-in doveadm records what Dovecot would be asked (real Dovecot: test/e2e/real-hosts/backups.test.ts).
  restoreScript = join(tmp, 'restore-mailbox.sh');
  writeFileSync(
    restoreScript,
    file('/opt/mailplane/bin/restore-mailbox.sh')
      .replace('readonly ENV_FILE=/etc/mailplane/backup.env', `readonly ENV_FILE=${p.env}`)
      .replace('readonly MAIL_ROOT=/var/vmail', `readonly MAIL_ROOT=${p.mail}`)
      .replaceAll('-o vmail -g vmail', '-o root -g root')
      .replace('chown vmail:vmail', 'chown root:root'),
  );
  mkdirSync(join(tmp, 'bin'));
  writeFileSync(join(tmp, 'bin', 'doveadm'), `#!/bin/sh\necho "$@" >> ${join(tmp, 'doveadm.log')}\n`, { mode: 0o755 });
  target = { repository: join(tmp, 'repo'), password: 'correct horse battery staple' };
  writeFileSync(p.env, `RESTIC_REPOSITORY='${target.repository}'\nRESTIC_PASSWORD='${target.password}'\n`, { mode: 0o600 });
  const inbox = join(p.mail, 'example.com', 'alice', 'Maildir');
  message(join(inbox, 'cur'), '1733570000.M1P1.mail,S=60,W=62:2,S', 'read message');
  message(join(inbox, 'new'), '1733570001.M2P1.mail,S=60,W=62', 'unread message');
  message(join(inbox, '.Sent', 'cur'), '1733570002.M3P1.mail,S=60,W=62:2,S', 'sent message');
  mkdirSync(join(inbox, '.Archive', 'cur'), { recursive: true });
  message(join(p.mail, 'example.com', 'bob', 'Maildir', 'cur'), '1733570003.M4P1.mail,S=60,W=62:2,', 'bob');
  mkdirSync(join(p.mail, 'example.com', 'alice', 'sieve'), { recursive: true });
  writeFileSync(join(p.mail, 'example.com', 'alice', 'sieve', 'main.sieve'), 'require "fileinto";\n');
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

function backup(ctx: Parameters<typeof requireProgram>[0]) {
  requireRoot(ctx, 'backup.sh makes its state directory owned by root');
  requireProgram(ctx, 'restic', 'restic');
  requireProgram(ctx, 'python3', 'python3');
  const res = run(requireProgram(ctx, 'bash', 'bash'), [script]);
  expect(res.status, res.stderr).toBe(0);
  return {
    out: JSON.parse(res.stdout) as {
      snapshotId: string;
      summary: Record<string, number>;
      manifest: Parameters<typeof compareManifests>[0];
      passes: number;
      vanished: number;
    },
    log: res.stderr,
  };
}

describe('backup.sh', () => {
  it("initialises the repository, backs up mail, Sieve and Roundcube, and prints a manifest equal to the control plane's scan", async (ctx) => {
    const python = requireProgram(ctx, 'python3', 'python3');
    run(python, [
      '-c',
      'import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute("create table contacts (name text)"); c.execute("insert into contacts values (\'carol\')"); c.commit()',
      paths().roundcube,
    ]);
    const { out, log } = backup(ctx);
    expect(log).toContain('initialising the repository');
    expect(out.passes).toBe(1);
    expect(out.snapshotId).toMatch(/^[0-9a-f]{8,64}$/);
    expect(out.summary['total_files_processed']).toBeGreaterThanOrEqual(6);
    const live = await scanMailRoot(paths().mail, new Date());
    expect(out.manifest.mailboxes).toEqual(live.mailboxes);
    expect(Object.keys(out.manifest.mailboxes['alice@example.com']!)).toEqual(['INBOX', 'Archive', 'Sent']);
    expect(out.manifest.mailboxes['alice@example.com']!['INBOX']!.count).toBe(2);
    // The flags are not part of the key: a message read after the backup is still the same message.
    expect(Object.keys(out.manifest.mailboxes['alice@example.com']!['INBOX']!.messages)).toEqual([
      '1733570000.M1P1.mail,S=60,W=62',
      '1733570001.M2P1.mail,S=60,W=62',
    ]);

    firstSnapshot = out.snapshotId;
    const scratch = join(tmp, 'restore-1');
    await restoreSnapshot(target, out.snapshotId, scratch, []);
    const restored = await scanMailRoot(join(scratch, paths().mail), new Date());
    const comparison = compareManifests(out.manifest, restored);
    expect(comparison).toMatchObject({ passed: true, messagesCompared: 4 });
    expect(readFileSync(join(scratch, paths().mail, 'example.com', 'alice', 'sieve', 'main.sieve'), 'utf8')).toContain('fileinto');
    const contacts = run(python, [
      '-c',
      'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute("select name from contacts").fetchone()[0])',
      join(scratch, paths().state, 'roundcube.sqlite3'),
    ]);
    expect(contacts.stdout.trim()).toBe('carol');
  });

  it('backs up again into the same repository, and a drill catches a message whose content differs', async (ctx) => {
    const inbox = join(paths().mail, 'example.com', 'alice', 'Maildir');
    rmSync(join(inbox, 'new', '1733570001.M2P1.mail,S=60,W=62'));
    message(join(inbox, 'cur'), '1733570001.M2P1.mail,S=60,W=62:2,S', 'unread message');
    message(join(inbox, 'cur'), '1733570009.M9P1.mail,S=60,W=62:2,', 'new arrival');
    const { out, log } = backup(ctx);
    expect(log).not.toContain('initialising');
    expect(out.manifest.mailboxes['alice@example.com']!['INBOX']!.count).toBe(3);
    const snapshots = JSON.parse(await restic(target, ['snapshots', '--json'])) as unknown[];
    expect(snapshots).toHaveLength(2);

    const scratch = join(tmp, 'restore-2');
    await restoreSnapshot(target, out.snapshotId, scratch, [paths().mail]);
    writeFileSync(join(scratch, paths().mail, 'example.com', 'bob', 'Maildir', 'cur', '1733570003.M4P1.mail,S=60,W=62:2,'), 'tampered');
    rmSync(join(scratch, paths().mail, 'example.com', 'alice', 'Maildir', '.Sent', 'cur', '1733570002.M3P1.mail,S=60,W=62:2,S'));
    const comparison = compareManifests(out.manifest, await scanMailRoot(join(scratch, paths().mail), new Date()));
    expect(comparison.passed).toBe(false);
    expect(comparison.folders).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ mailbox: 'bob@example.com', folder: 'INBOX', differing: ['1733570003.M4P1.mail,S=60,W=62'] }),
        expect.objectContaining({ mailbox: 'alice@example.com', folder: 'Sent', missing: ['1733570002.M3P1.mail,S=60,W=62'] }),
      ]),
    );
  });

  it('restores a deleted message into "Restored <date>" beside the current mail, once however often it runs', (ctx) => {
    const bash = requireProgram(ctx, 'bash', 'bash');
    const inbox = join(paths().mail, 'example.com', 'alice', 'Maildir');
    rmSync(join(inbox, 'cur', '1733570000.M1P1.mail,S=60,W=62:2,S'));
    const env = { ...process.env, PATH: `${join(tmp, 'bin')}:${process.env['PATH']}` };
    const first = run(bash, [restoreScript], { input: `${firstSnapshot} alice@example.com 2026-12-07\n`, env });
    expect(first.status, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout)).toEqual({ restored: 3, skipped: 0, folder: 'Restored 2026-12-07' });
    const restored = join(inbox, '.Restored 2026-12-07');
    expect(readFileSync(join(restored, 'cur', '1733570000.M1P1.mail,S=60,W=62:2,S'), 'utf8')).toContain('read message');
    expect(readFileSync(join(inbox, '.Restored 2026-12-07.Sent', 'cur', '1733570002.M3P1.mail,S=60,W=62:2,S'), 'utf8')).toContain('sent message');
    // The current mail is untouched: the deleted message stays deleted there, the new arrival stays.
    expect(() => readFileSync(join(inbox, 'cur', '1733570000.M1P1.mail,S=60,W=62:2,S'))).toThrow();
    expect(readFileSync(join(inbox, 'cur', '1733570009.M9P1.mail,S=60,W=62:2,'), 'utf8')).toContain('new arrival');
    expect(readFileSync(join(tmp, 'doveadm.log'), 'utf8')).toContain('force-resync -u alice@example.com Restored 2026-12-07*');

    const again = run(bash, [restoreScript], { input: `${firstSnapshot} alice@example.com 2026-12-07\n`, env });
    expect(JSON.parse(again.stdout)).toEqual({ restored: 0, skipped: 3, folder: 'Restored 2026-12-07' });

    const refused = run(bash, [restoreScript], { input: `${firstSnapshot} ../../etc@example.com 2026-12-07\n`, env });
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain('bad address');
  });
});
