/**
 * The rendered authentication chain (dovecot.conf's passdbs, then mailplane-guard.conf's app
 * password slots and Lua passdbs) run by a real Dovecot on this machine and asked by
 * `doveadm auth test` as Postfix (service smtp) and imap-login (service imap) would ask it,
 * with the client address each would pass. Then the failure lines it logged go through
 * fail2ban-regex with the rendered filter, and sievec compiles the rendered Sieve scripts.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dovecotPasswordHash } from '../../../src/mailboxes/credentials.ts';
import { renderAppPasswordFiles, renderSpamSettings } from '../../../src/mailstack/mail-guard-files.ts';
import { renderMailboxFiles } from '../../../src/mailstack/mailboxes.ts';
import { renderServerTree } from '../../../src/mailstack/render.ts';
import { sampleServer } from '../../unit/mailstack/sample-server.ts';
import { findProgram, requireProgram, requireRoot, run, toolsRequired } from '../../support/real-tools.ts';

const OUTSIDE = '203.0.113.5';
const IMAP_ONLY = '0f3c2b8e-4d3a-4c55-9e1f-0a7b3c9d2e11';
const BOTH = '0f3c2b8e-4d3a-4c55-9e1f-0a7b3c9d2e12';
const PW = {
  alice: 'alice-main-password',
  bob: 'bob-main-password',
  bobImap: 'bob-imap-app-password',
  bobBoth: 'bob-both-app-password',
  master: 'master-password',
};

let tmp: string;
let conf: string;
let doveadm: string;
let started = false;

const rendered = (path: string) => renderServerTree(sampleServer()).find((f) => f.path === path)!.content;
/** The passdb and userdb blocks of a rendered file (none of them nests braces). */
const authBlocks = (text: string) => [...text.matchAll(/^(passdb|userdb) \{\n[\s\S]*?^\}\n/gm)].map((m) => m[0]).join('\n');
const local = (text: string) =>
  text
    .replaceAll('/etc/dovecot/', `${tmp}/etc/dovecot/`)
    .replaceAll('/var/lib/mailplane-guard/', `${tmp}/state-guard/`)
    .replace('uid=vmail gid=vmail', 'uid=nobody gid=nogroup');

beforeAll(async () => {
  if (process.getuid?.() !== 0 || !findProgram('dovecot') || !existsSync('/usr/lib/dovecot/modules/auth/libauthdb_lua.so')) {
    if (toolsRequired()) throw new Error('needs root, dovecot-core and dovecot-auth-lua (MAILPLANE_REQUIRE_TOOLS=1)');
    return;
  }
  tmp = await mkdtemp(join(tmpdir(), 'mailplane-guard-auth-'));
  for (const dir of ['etc/dovecot', 'run', 'state', 'state-guard/app-password-use']) mkdirSync(join(tmp, dir), { recursive: true });
  chmodSync(tmp, 0o755);
  const files = [
    ...renderMailboxFiles('example.com', [
      { localPart: 'alice', passwordHash: await dovecotPasswordHash(PW.alice), quotaMb: 100 },
      { localPart: 'bob', passwordHash: await dovecotPasswordHash(PW.bob), quotaMb: 100, mainPasswordForClients: false },
    ]),
    ...renderAppPasswordFiles('example.com', [
      { id: IMAP_ONLY, localPart: 'bob', scopes: ['imap'], passwordHash: await dovecotPasswordHash(PW.bobImap) },
      { id: BOTH, localPart: 'bob', scopes: ['imap', 'smtp'], passwordHash: await dovecotPasswordHash(PW.bobBoth) },
    ]),
  ].filter((f) => f.path.startsWith('/etc/dovecot/'));
  for (const file of files) {
    mkdirSync(join(tmp, file.path, '..'), { recursive: true });
    writeFileSync(join(tmp, file.path), file.content);
  }
  // What install-mail-stack.sh makes on the server: the webmail's master user, from the loopback only.
  const master = spawnSync(findProgram('doveadm')!, ['pw', '-s', 'ARGON2ID', '-p', PW.master], { encoding: 'utf8' }).stdout.trim();
  writeFileSync(join(tmp, 'etc/dovecot/master-users'), `webmail-autologin:${master}::::::allow_nets=127.0.0.0/8,::1\n`);
  for (const lua of ['mailplane-auth-used.lua', 'mailplane-auth-failed.lua'])
    writeFileSync(join(tmp, 'etc/dovecot', lua), local(rendered(`/etc/dovecot/${lua}`)));
  conf = join(tmp, 'dovecot.conf');
  writeFileSync(
    conf,
    [
      `base_dir = ${tmp}/run`,
      `state_dir = ${tmp}/state`,
      `log_path = ${tmp}/dovecot.log`,
      'protocols =',
      'auth_mechanisms = plain login',
      'disable_plaintext_auth = no',
      // Test harness only: lets doveadm ask for a master login as "user*master"; no 2 s wait per failure.
      'auth_master_user_separator = *',
      'auth_failure_delay = 0',
      local(authBlocks(rendered('/etc/dovecot/dovecot.conf'))),
      local(authBlocks(rendered('/etc/dovecot/mailplane-guard.conf'))),
    ].join('\n'),
  );
  // The master daemonizes and keeps no pipe of ours open (spawnSync would wait for it).
  const res = spawnSync(findProgram('dovecot')!, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', timeout: 30_000 });
  if (res.status !== 0) throw new Error(`dovecot did not start: ${res.stderr}`);
  started = true;
  doveadm = findProgram('doveadm')!;
  for (let i = 0; i < 50 && !existsSync(join(tmp, 'run/auth-client')); i++) await new Promise((r) => setTimeout(r, 100));
});

afterAll(async () => {
  if (started) run(doveadm, ['-c', conf, 'stop']);
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

/** Dovecot's answer to one login, as Postfix (smtp) or imap-login (imap) would ask from `rip`. */
function login(service: 'imap' | 'smtp', user: string, password: string, rip = OUTSIDE): boolean {
  const res = run(doveadm, ['-c', conf, 'auth', 'test', '-x', `service=${service}`, '-x', `rip=${rip}`, user, password]);
  return /auth succeeded/.test(res.stdout);
}

describe.skipIf(process.getuid?.() !== 0 && !toolsRequired())('Dovecot authentication with app passwords (real dovecot)', () => {
  it('takes the main password of a mailbox that keeps it for clients, on IMAP and SMTP', () => {
    expect(login('imap', 'alice@example.com', PW.alice)).toBe(true);
    expect(login('smtp', 'alice@example.com', PW.alice)).toBe(true);
    expect(login('imap', 'alice@example.com', 'wrong')).toBe(false);
  });

  it('refuses the main password for clients once it is turned off, but not to the webmail on the loopback', () => {
    expect(login('imap', 'bob@example.com', PW.bob)).toBe(false);
    expect(login('smtp', 'bob@example.com', PW.bob)).toBe(false);
    expect(login('imap', 'bob@example.com', PW.bob, '127.0.0.1')).toBe(true);
    // The webmail's single-use link logs in as the master user for the mailbox.
    expect(login('imap', 'bob@example.com*webmail-autologin', PW.master, '127.0.0.1')).toBe(true);
    expect(login('imap', 'bob@example.com*webmail-autologin', PW.master)).toBe(false);
  });

  it('takes an app password only for the services it is scoped to, and records its last use', () => {
    expect(login('imap', 'bob@example.com', PW.bobImap)).toBe(true);
    expect(login('smtp', 'bob@example.com', PW.bobImap)).toBe(false);
    expect(login('smtp', 'bob@example.com', PW.bobBoth)).toBe(true);
    expect(login('imap', 'alice@example.com', PW.bobBoth)).toBe(false);
    const used = readFileSync(join(tmp, 'state-guard/app-password-use', IMAP_ONLY), 'utf8')
      .trim()
      .split(' ');
    expect(used.slice(1)).toEqual([OUTSIDE, 'imap']);
    expect(Math.abs(Number(used[0]) - Date.now() / 1000)).toBeLessThan(600);
    expect(readFileSync(join(tmp, 'state-guard/app-password-use', BOTH), 'utf8')).toMatch(new RegExp(` ${OUTSIDE.replaceAll('.', '\\.')} smtp\\n$`));
    // Main-password logins leave no app-password record behind.
    expect(readdirSync(join(tmp, 'state-guard/app-password-use')).sort()).toEqual([IMAP_ONLY, BOTH].sort());
  });

  it('logs one line per failed login, which the rendered fail2ban filter reads with the client address', async (ctx) => {
    const regex = requireProgram(ctx, 'fail2ban-regex', 'fail2ban');
    const rip = '198.51.100.23';
    for (const [service, user] of [
      ['imap', 'alice@example.com'],
      ['smtp', 'alice@example.com'],
      ['imap', 'bob@example.com'],
      ['smtp', 'nobody@example.com'],
    ] as const) {
      expect(login(service, user, 'guess', rip)).toBe(false);
    }
    // The log process writes after Dovecot answered: wait for the fourth line (or give up after 10 s).
    const failures = () =>
      readFileSync(join(tmp, 'dovecot.log'), 'utf8')
        .split('\n')
        .filter((l) => l.includes(`rip=${rip} `));
    for (const deadline = Date.now() + 10_000; failures().length < 4 && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 50));
    const lines = failures();
    expect(lines).toHaveLength(4);
    // As the journal hands it to fail2ban's systemd backend: "host dovecot[pid]: message".
    const journal = join(tmp, 'journal.log');
    writeFileSync(journal, lines.map((l) => `2026-01-01 10:00:00 mail dovecot[42]: ${l.replace(/^\w{3} \d{2} [\d:]+ /, '')}\n`).join(''));
    const filter = join(tmp, 'mailplane-auth.conf');
    writeFileSync(filter, rendered('/etc/fail2ban/filter.d/mailplane-auth.conf'));
    const res = run(regex, ['--print-all-matched', journal, filter]);
    expect(res.stdout, res.stderr).toMatch(/Lines: 4 lines, 0 ignored, 4 matched, 0 missed/);
    expect(res.stdout.match(new RegExp(rip.replaceAll('.', '\\.'), 'g'))?.length ?? 0).toBeGreaterThanOrEqual(4);
  });
});

describe('Sieve and Rspamd files of the mail guard', () => {
  it('sievec compiles spam-to-junk and the imapsieve learning scripts with the rendered settings', (ctx) => {
    const sievec = requireProgram(ctx, 'sievec', 'dovecot-sieve');
    const dir = join(tmpdir(), `mailplane-guard-sieve-${process.pid}`);
    mkdirSync(dir, { recursive: true });
    const plugin = [...rendered('/etc/dovecot/mailplane-guard.conf').matchAll(/^plugin \{\n[\s\S]*?^\}\n/gm)].map((m) => m[0]).join('\n');
    const sieveConf = join(dir, 'dovecot.conf');
    writeFileSync(sieveConf, `base_dir = ${dir}/run\nprotocols =\n${plugin}`);
    for (const name of ['spam-to-junk', 'learn-spam', 'learn-ham']) {
      const script = join(dir, `${name}.sieve`);
      writeFileSync(script, rendered(`/etc/dovecot/sieve/${name}.sieve`));
      const res = run(sievec, ['-c', sieveConf, script]);
      expect(res.status, `${name}: ${res.stderr}`).toBe(0);
      expect(existsSync(join(dir, `${name}.svbin`))).toBe(true);
    }
    // The scripts the learning ones pipe to exist under sieve_pipe_bin_dir.
    const pipeDir = /sieve_pipe_bin_dir = (\S+)/.exec(plugin)![1]!;
    const tree = renderServerTree(sampleServer()).map((f) => f.path);
    for (const name of ['rspamd-learn-spam.sh', 'rspamd-learn-ham.sh']) expect(tree).toContain(`${pipeDir}/${name}`);
  });

  it('rspamadm configtest accepts the domain junk score settings', (ctx) => {
    const rspamadm = requireProgram(ctx, 'rspamadm', 'rspamd');
    requireRoot(ctx, 'rspamadm reads /etc/rspamd');
    const dir = join(tmpdir(), `mailplane-guard-rspamd-${process.pid}/local.d`);
    mkdirSync(dir, { recursive: true });
    for (const [score, greylisting] of [
      [4.5, true],
      [2, false],
    ] as const) {
      writeFileSync(join(dir, 'settings.conf'), renderSpamSettings('example.com', score).content);
      const res = run(rspamadm, [`--var=LOCAL_CONFDIR=${join(dir, '..')}`, 'configtest', '-c', '/etc/rspamd/rspamd.conf']);
      expect(res.status, res.stderr).toBe(0);
      // The rule is there and applies to the domain's recipients; below greylisting, greylisting is off for them.
      const dump = run(rspamadm, [`--var=LOCAL_CONFDIR=${join(dir, '..')}`, 'configdump', '-c', '/etc/rspamd/rspamd.conf', 'settings']);
      expect(dump.stdout).toMatch(/mailplane_junk_score/);
      expect(dump.stdout).toContain(`add_header = ${score}`);
      expect(/greylist = null/.test(dump.stdout), dump.stdout).toBe(!greylisting);
    }
  });
});

describe('apply-mailboxes.sh checks', () => {
  /** The script's validation part (everything before it changes the system), run by bash on files in a temp dir. */
  async function checkWith(files: { path: string; content: string }[]) {
    const dir = join(tmpdir(), `mailplane-guard-apply-${process.pid}-${Math.random().toString(36).slice(2)}`);
    const script = rendered('/opt/mailplane/bin/apply-mailboxes.sh');
    const checks = script.slice(0, script.indexOf('chown root:dovecot')).replace(/readonly (\w+)=\/(etc\/\S+)/g, `readonly $1=${dir}/$2`);
    for (const f of files) {
      mkdirSync(join(dir, f.path, '..'), { recursive: true });
      writeFileSync(join(dir, f.path), f.content);
    }
    const res = spawnSync('bash', ['-c', checks], { encoding: 'utf8' });
    await rm(dir, { recursive: true, force: true });
    return res;
  }

  it('accepts the rendered mailbox set with app passwords, a main password off and the junk score, and refuses a tampered line', async () => {
    const hash = await dovecotPasswordHash('x');
    const files = [
      ...renderMailboxFiles('example.com', [{ localPart: 'bob', passwordHash: hash, quotaMb: 100, mainPasswordForClients: false }]),
      ...renderAppPasswordFiles('example.com', [{ id: IMAP_ONLY, localPart: 'bob', scopes: ['imap', 'smtp'], passwordHash: hash }]),
      renderSpamSettings('example.com', 2),
    ];
    const ok = await checkWith(files);
    expect(ok.status, ok.stderr).toBe(0);
    const tampered = files.map((f) => (f.path.endsWith('/imap.1') ? { ...f, content: f.content.replace('mailplane_app=', 'nopassword=y mailplane_app=') } : f));
    const refused = await checkWith(tampered);
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toMatch(/imap\.1 has malformed lines/);
  });
});
