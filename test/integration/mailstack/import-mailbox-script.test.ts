/**
 * The rendered import-mailbox.sh run on this machine against two real Dovecots: an "old
 * provider" serving IMAPS with a certificate for old.example.test (a name no DNS knows: only
 * the pinned address the script gives doveadm can make it connect), and the "new server"
 * whose mailbox receives the copy. The script's paths are moved into a temporary directory;
 * everything else (unshare, doveadm sync over imapc, the dsync state) is as on a server.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderServerTree } from '../../../src/mailstack/render.ts';
import { sampleServer } from '../../unit/mailstack/sample-server.ts';
import { freePort } from '../../support/free-port.ts';
import { findProgram, run, toolsRequired } from '../../support/real-tools.ts';

const PASSWORD = 'Old "pass" \\ %u $mail_uid <x';
const NOBODY = 65534;
const usable = process.getuid?.() === 0 && !!findProgram('dovecot') && !!findProgram('unshare') && !!findProgram('openssl');
if (!usable && toolsRequired()) throw new Error('needs root, dovecot-core, util-linux (unshare) and openssl (MAILPLANE_REQUIRE_TOOLS=1)');

let tmp: string;
let port: number;
let script: string;
const started: string[] = [];
const conf = (side: 'src' | 'dst') => join(tmp, side, 'dovecot.conf');
const doveadm = (side: 'src' | 'dst', args: string[], input?: string) => {
  const res = run('doveadm', ['-c', conf(side), ...args], input === undefined ? {} : { input });
  if (res.status !== 0) throw new Error(`doveadm ${args.join(' ')}: ${res.stderr}`);
  return res.stdout;
};
const deliver = (side: 'src' | 'dst', user: string, folder: string, id: string) =>
  doveadm(
    side,
    ['save', '-u', user, '-m', folder],
    `From: a@example.net\nSubject: ${id}\nMessage-ID: <${id}@example.net>\nDate: Mon, 7 Dec 2026 10:00:00 +0000\n\n${id}\n`,
  );
/** Folder → sorted Message-IDs of the new server's mailbox. */
const messageIds = (side: 'src' | 'dst', user: string) => {
  const out: Record<string, string[]> = {};
  for (const folder of doveadm(side, ['mailbox', 'list', '-u', user]).split('\n').filter(Boolean)) {
    out[folder.replace(/\./g, '/')] = doveadm(side, ['fetch', '-u', user, 'hdr.message-id', 'mailbox', folder])
      .split('\n')
      .map((l) => /<([^@>]+)@/.exec(l)?.[1])
      .filter((x): x is string => !!x)
      .sort();
  }
  return out;
};
const importRun = (o: { host?: string; password?: string; state?: string }) => {
  const input = [
    'new@new.example',
    o.host ?? 'old.example.test',
    '127.0.0.1',
    String(port),
    'imaps',
    'old@old.example.test',
    o.state ?? '-',
    o.password ?? PASSWORD,
    '',
  ].join('\n');
  const res = spawnSync('bash', [script], { input, encoding: 'utf8', timeout: 60_000 });
  const result =
    res.status === 0
      ? (JSON.parse(res.stdout.trim().split('\n').at(-1)!) as { folders: { name: string; before: number; after: number }[]; state: string })
      : null;
  return { status: res.status, stderr: res.stderr, result };
};

beforeAll(async () => {
  if (!usable) return;
  tmp = await mkdtemp(join(tmpdir(), 'mailplane-import-'));
  chmodSync(tmp, 0o755);
  port = await freePort();
  for (const dir of ['src/run', 'src/mail', 'dst/run', 'dst/mail', 'ca', 'work']) mkdirSync(join(tmp, dir), { recursive: true });
  for (const dir of ['src/mail', 'dst/mail']) chownSync(join(tmp, dir), NOBODY, NOBODY);
  const ssl = (args: string[]) => {
    const r = run('openssl', args);
    if (r.status !== 0) throw new Error(r.stderr);
  };
  ssl([
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    join(tmp, 'ca.key'),
    '-out',
    join(tmp, 'ca/ca.pem'),
    '-days',
    '2',
    '-subj',
    '/CN=Import test CA',
  ]);
  ssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(tmp, 'srv.key'), '-out', join(tmp, 'srv.csr'), '-subj', '/CN=old.example.test']);
  writeFileSync(join(tmp, 'ext'), 'subjectAltName=DNS:old.example.test\n');
  ssl([
    'x509',
    '-req',
    '-in',
    join(tmp, 'srv.csr'),
    '-CA',
    join(tmp, 'ca/ca.pem'),
    '-CAkey',
    join(tmp, 'ca.key'),
    '-CAcreateserial',
    '-out',
    join(tmp, 'srv.pem'),
    '-days',
    '2',
    '-extfile',
    join(tmp, 'ext'),
  ]);
  ssl(['rehash', join(tmp, 'ca')]);
  const hash = run('doveadm', ['pw', '-s', 'SHA512-CRYPT', '-p', PASSWORD]).stdout.trim();
  writeFileSync(join(tmp, 'src/users'), `old@old.example.test:${hash}\n`);
  const common = (side: string) => [
    `base_dir = ${tmp}/${side}/run`,
    `instance_name = mailplane-import-${side}-${process.pid}`,
    `log_path = ${tmp}/${side}/log`,
    'mail_uid = nobody',
    'mail_gid = nogroup',
    'first_valid_uid = 100',
    'service anvil {\n  chroot =\n}',
  ];
  writeFileSync(
    conf('src'),
    [
      ...common('src'),
      'protocols = imap',
      'listen = 127.0.0.1',
      'ssl = required',
      `ssl_cert = <${tmp}/srv.pem`,
      `ssl_key = <${tmp}/srv.key`,
      `mail_location = maildir:${tmp}/src/mail/%n/Maildir`,
      'namespace inbox {\n  inbox = yes\n  separator = .\n}',
      `passdb {\n  driver = passwd-file\n  args = ${tmp}/src/users\n}`,
      `userdb {\n  driver = static\n  args = uid=nobody gid=nogroup home=${tmp}/src/mail/%n\n}`,
      `service imap-login {\n  chroot =\n  inet_listener imap {\n    port = 0\n  }\n  inet_listener imaps {\n    port = ${port}\n    ssl = yes\n  }\n}`,
    ].join('\n') + '\n',
  );
  // The new server: as rendered for a real one where it matters here (Maildir, "/" separator, the auto folders).
  writeFileSync(
    conf('dst'),
    [
      ...common('dst'),
      'protocols =',
      'ssl = no',
      `mail_home = ${tmp}/dst/mail/%d/%n`,
      'mail_location = maildir:~/Maildir',
      'namespace inbox {\n  inbox = yes\n  separator = /\n  mailbox Sent {\n    special_use = \\Sent\n    auto = subscribe\n  }\n  mailbox Junk {\n    special_use = \\Junk\n    auto = subscribe\n  }\n}',
      'passdb {\n  driver = static\n  args = nopassword=y\n}',
      `userdb {\n  driver = static\n  args = uid=nobody gid=nogroup home=${tmp}/dst/mail/%d/%n\n}`,
    ].join('\n') + '\n',
  );
  for (const side of ['src', 'dst'] as const) {
    // The master daemonizes and would keep a pipe of ours open: its complaints go to its log.
    const res = spawnSync(findProgram('dovecot')!, ['-c', conf(side)], { stdio: 'ignore', timeout: 30_000 });
    if (res.status !== 0) throw new Error(`dovecot (${side}) did not start: ${run('cat', [join(tmp, side, 'log')]).stdout}`);
    started.push(side);
  }
  const rendered = renderServerTree(sampleServer()).find((f) => f.path === '/opt/mailplane/bin/import-mailbox.sh')!.content;
  script = join(tmp, 'import-mailbox.sh');
  writeFileSync(
    script,
    rendered
      .replaceAll('/etc/dovecot/dovecot.conf', conf('dst'))
      .replaceAll('/run/dovecot/auth-userdb', `${tmp}/dst/run/auth-userdb`)
      .replaceAll('/etc/ssl/certs', `${tmp}/ca`)
      .replaceAll('/run/mailplane-import.', `${tmp}/work/mailplane-import.`)
      .replaceAll('doveadm user ', `doveadm -c ${conf('dst')} user `)
      .replaceAll('doveadm -f tab ', `doveadm -c ${conf('dst')} -f tab `),
  );
  for (const id of ['in-1', 'in-2', 'in-3']) deliver('src', 'old@old.example.test', 'INBOX', id);
  doveadm('src', ['mailbox', 'create', '-u', 'old@old.example.test', 'Sent Items', 'Projects.2026']);
  deliver('src', 'old@old.example.test', 'Sent Items', 'sent-1');
  deliver('src', 'old@old.example.test', 'Projects.2026', 'project-1');
}, 60_000);

afterAll(async () => {
  for (const side of started) run('doveadm', ['-c', conf(side as 'src' | 'dst'), 'stop']);
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe.skipIf(!usable)('import-mailbox.sh against real Dovecots', () => {
  let state = '';

  it('copies every folder and message, from a name only the pinned address makes reachable, and leaves nothing behind', () => {
    const res = importRun({});
    expect(res.status, res.stderr).toBe(0);
    expect(res.stderr).not.toContain(PASSWORD);
    const copied = Object.fromEntries(res.result!.folders.map((f) => [f.name, f.after - f.before]));
    expect(copied).toMatchObject({ INBOX: 3, 'Sent Items': 1, 'Projects/2026': 1 });
    const source = messageIds('src', 'old@old.example.test');
    const target = messageIds('dst', 'new@new.example');
    for (const [folder, ids] of Object.entries(source)) expect(target[folder], folder).toEqual(ids);
    expect(readdirSync(join(tmp, 'work'))).toEqual([]);
    state = res.result!.state;
  });

  it('a second run copies only what is new, although mail arrived on the new server meanwhile', () => {
    deliver('dst', 'new@new.example', 'INBOX', 'here-only');
    deliver('src', 'old@old.example.test', 'INBOX', 'in-4');
    const res = importRun({ state });
    expect(res.status, res.stderr).toBe(0);
    expect(res.result!.folders.find((f) => f.name === 'INBOX')).toMatchObject({ before: 4, after: 5 });
    state = res.result!.state;
    const again = importRun({ state });
    expect(again.status, again.stderr).toBe(0);
    expect(again.result!.folders.every((f) => f.before === f.after)).toBe(true);
    // Nothing twice, nothing lost, the new server's own mail kept, the old server untouched.
    expect(messageIds('dst', 'new@new.example')['INBOX']).toEqual(['here-only', 'in-1', 'in-2', 'in-3', 'in-4']);
    expect(messageIds('src', 'old@old.example.test')['INBOX']).toEqual(['in-1', 'in-2', 'in-3', 'in-4']);
  });

  it('says why a wrong password or a certificate for another name fails, without the password, and leaves nothing behind', () => {
    const wrong = importRun({ password: 'not-the-password' });
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toMatch(/import-mailbox: the copy failed: .*Authentication failed/);
    expect(wrong.stderr).not.toContain('not-the-password');
    const otherName = importRun({ host: 'imap.elsewhere.test' });
    expect(otherName.status).toBe(1);
    expect(otherName.stderr).toMatch(/certificate doesn't match expected host name imap\.elsewhere\.test/);
    expect(otherName.stderr).not.toContain(PASSWORD);
    expect(readdirSync(join(tmp, 'work'))).toEqual([]);
    expect(existsSync('/etc/hosts') ? run('grep', ['-c', 'old.example.test', '/etc/hosts']).stdout.trim() : '0').toBe('0');
  });

  it('refuses a malformed request before connecting', () => {
    const res = spawnSync('bash', [script], { input: 'new@new.example\nold.example.test\n127.0.0.1\n99999\nimaps\nold\n-\nx\n', encoding: 'utf8' });
    expect(res.status).toBe(1);
    expect(res.stderr).toContain('bad port');
    const plain = spawnSync('bash', [script], { input: `new@new.example\nold.example.test\n127.0.0.1\n${port}\nnone\nold\n-\nx\n`, encoding: 'utf8' });
    expect(plain.stderr).toContain('bad security');
  });
});
