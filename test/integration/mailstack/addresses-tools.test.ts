/**
 * The address files (src/mailstack/addresses.ts) and the config that uses them,
 * judged by the programs that read them on a server: Pigeonhole's sievec
 * compiles every script and sieve-test runs them on sample messages (spam is
 * neither forwarded nor answered, a copy is kept or not as asked, the vacation
 * text stays text); postmap answers the lookups Postfix makes for a catch-all
 * (a mailbox keeps its own mail); postconf shows SRS only on re-injected mail;
 * doveconf has Sieve at delivery and ManageSieve on 4190; apply-addresses.sh
 * takes the rendered files.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderAddressFiles, sievePath, type AddressSet } from '../../../src/mailstack/addresses.ts';
import { renderServerTree } from '../../../src/mailstack/render.ts';
import { writeRenderedTree } from '../../../src/mailstack/write-tree.ts';
import { sampleServer } from '../../unit/mailstack/sample-server.ts';
import { requireProgram, run } from '../../support/real-tools.ts';

const DOMAIN = 'example.com';
const today = new Date().toISOString().slice(0, 10);
const SET: AddressSet = {
  mailboxes: ['alice', 'bob', 'carol'],
  aliases: [{ localPart: 'sales', mailbox: 'alice' }],
  catchAll: 'bob',
  forwards: [
    { mailbox: 'alice', target: 'alice@elsewhere.example.net', keepCopy: true },
    { mailbox: 'bob', target: 'bob@elsewhere.example.net', keepCopy: false },
  ],
  vacations: [
    {
      mailbox: 'alice',
      startsOn: today,
      endsOn: today,
      subject: 'Away "now"; redirect "x@evil.example";',
      message: 'Back soon.\n"Quoted" \\ text;\n}',
      days: 3,
    },
  ],
};

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'mailplane-addresses-'));
  await writeRenderedTree(renderAddressFiles(DOMAIN, SET), join(tmp, 'tree'));
  await writeRenderedTree(renderServerTree(sampleServer()), join(tmp, 'server'));
  // dovecot.conf includes the mail guard's file by its path on the server: read this copy instead.
  const dovecotConf = join(tmp, 'server/etc/dovecot/dovecot.conf');
  writeFileSync(
    dovecotConf,
    readFileSync(dovecotConf, 'utf8').replace('!include /etc/dovecot/mailplane-guard.conf', `!include ${join(tmp, 'server/etc/dovecot/mailplane-guard.conf')}`),
  );
  // sieve-test, run as root, reads the scripts as the mail user it switches to.
  run('chmod', ['-R', 'a+rX', tmp]);
  // sieve-test's mail user: an unprivileged uid and a throwaway Maildir (no system config read).
  writeFileSync(join(tmp, 'dovecot.conf'), `mail_uid = nobody\nmail_gid = nogroup\nmail_location = maildir:${join(tmp, 'mail')}\n`);
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const script = (address: string) => join(tmp, 'tree', sievePath(address));
function sieveTest(ctx: Parameters<typeof requireProgram>[0], address: string, headers: string): string {
  const sieveTestBin = requireProgram(ctx, 'sieve-test', 'dovecot-sieve');
  const message = join(tmp, `message-${Math.random().toString(36).slice(2)}.eml`);
  writeFileSync(message, `From: carol@example.org\nTo: ${address}\nMessage-ID: <1@example.org>\nSubject: hello\n${headers}\nbody\n`);
  const res = run(sieveTestBin, ['-c', join(tmp, 'dovecot.conf'), '-f', 'carol@example.org', '-a', address, script(address), message]);
  expect(res.status, res.stderr).toBe(0);
  return res.stdout;
}

describe('Sieve scripts (Pigeonhole)', () => {
  it('sievec compiles every rendered script', (ctx) => {
    const sievec = requireProgram(ctx, 'sievec', 'dovecot-sieve');
    for (const m of SET.mailboxes) {
      const res = run(sievec, [script(`${m}@${DOMAIN}`), join(tmp, `${m}.svbin`)]);
      expect(res.status, res.stderr).toBe(0);
    }
  });

  it("forwards with a kept copy and answers once per :days; the subject's quotes stay text", (ctx) => {
    const out = sieveTest(ctx, `alice@${DOMAIN}`, '');
    expect(out).toMatch(/\* send vacation message:\n\s+=> seconds : 259200\n\s+=> subject : Away "now"; redirect "x@evil\.example";/);
    // Line breaks come out as CRLF, as Sieve strings are read (RFC 5228 §2.4.2).
    expect(out).toMatch(/START MESSAGE\nBack soon\.\r\n"Quoted" \\ text;\r\n}\nEND MESSAGE/);
    expect(out).toContain('* redirect message to: <alice@elsewhere.example.net>');
    expect(out.match(/redirect message to/g)).toHaveLength(1);
    expect(out).toMatch(/Implicit keep:\n\n \* store message in folder: INBOX/);
  });

  it('forwards without a copy when asked', (ctx) => {
    const out = sieveTest(ctx, `bob@${DOMAIN}`, '');
    expect(out).toContain('* redirect message to: <bob@elsewhere.example.net>');
    expect(out).not.toMatch(/Implicit keep:\n\n \* store message/);
  });

  it('neither forwards nor answers what Rspamd marked as spam: it stays in the mailbox', (ctx) => {
    for (const m of ['alice', 'bob']) {
      const out = sieveTest(ctx, `${m}@${DOMAIN}`, 'X-Spam: Yes\n');
      expect(out).toMatch(/Performed actions:\n\n\s+\(none\)/);
      expect(out).toMatch(/Implicit keep:\n\n \* store message in folder: INBOX/);
    }
  });

  it("a mailbox with nothing set keeps its mail for the user's own filters", (ctx) => {
    expect(sieveTest(ctx, `carol@${DOMAIN}`, '')).toMatch(/Performed actions:\n\n\s+\(none\)[\s\S]*store message in folder: INBOX/);
  });
});

describe('Postfix and Dovecot', () => {
  it('postmap answers a catch-all as Postfix asks: the mailbox first, the alias, then @domain', (ctx) => {
    const postmap = requireProgram(ctx, 'postmap', 'postfix');
    const map = join(tmp, 'tree/etc/postfix/address_aliases');
    const conf = ['-c', join(tmp, 'server/etc/postfix')];
    const made = run(postmap, [...conf, `hash:${map}`]);
    expect(made.status, made.stderr).toBe(0);
    const q = (key: string) => run(postmap, [...conf, '-q', key, `hash:${map}`]).stdout.trim();
    expect(q(`carol@${DOMAIN}`)).toBe(`carol@${DOMAIN}`);
    expect(q(`sales@${DOMAIN}`)).toBe(`alice@${DOMAIN}`);
    expect(q(`nobody@${DOMAIN}`)).toBe('');
    expect(q(`@${DOMAIN}`)).toBe(`bob@${DOMAIN}`);
  });

  it('rewrites senders with SRS only on re-injected mail (pickup), reverses SRS for every recipient', (ctx) => {
    const postconf = requireProgram(ctx, 'postconf', 'postfix');
    const conf = join(tmp, 'server/etc/postfix');
    expect(run(postconf, ['-c', conf, '-n']).stderr).toBe('');
    expect(run(postconf, ['-c', conf, '-h', 'sender_canonical_maps']).stdout.trim()).toBe('');
    expect(run(postconf, ['-c', conf, '-Ph', 'pickup/unix/cleanup_service_name']).stdout.trim()).toBe('srscleanup');
    expect(run(postconf, ['-c', conf, '-Ph', 'srscleanup/unix/sender_canonical_maps']).stdout.trim()).toBe('tcp:127.0.0.1:10001');
    expect(run(postconf, ['-c', conf, '-h', 'recipient_canonical_maps']).stdout.trim()).toBe('tcp:127.0.0.1:10002');
    expect(run(postconf, ['-c', conf, '-h', 'virtual_alias_maps']).stdout.trim()).toBe('hash:/etc/postfix/address_aliases, hash:/etc/postfix/virtual_aliases');
    expect(run(postconf, ['-c', conf, '-h', 'smtpd_sender_login_maps']).stdout.trim()).toBe(
      'hash:/etc/postfix/sender_login_maps, hash:/etc/postfix/alias_senders',
    );
  });

  it("doveconf: Sieve at delivery before the user's own filters, ManageSieve on 4190", (ctx) => {
    const doveconf = requireProgram(ctx, 'doveconf', 'dovecot-core');
    const out = run(doveconf, ['-c', join(tmp, 'server/etc/dovecot/dovecot.conf'), '-n']);
    expect(out.stderr).toBe('');
    expect(out.stdout).toMatch(/^protocols = imap lmtp sieve$/m);
    expect(out.stdout).toMatch(/protocol lmtp \{\n\s+mail_plugins = " ?quota sieve"/);
    expect(out.stdout).toMatch(/sieve_before = \/var\/lib\/dovecot\/mailplane-sieve\/%u\.sieve/);
    expect(out.stdout).toMatch(/service managesieve-login \{\n\s+inet_listener sieve \{\n\s+port = 4190/);
    expect(out.stdout).toMatch(/^ssl = required$/m);
  });
});

describe('apply-addresses.sh', () => {
  it('refuses a malformed line before anything changes', (ctx) => {
    const bash = requireProgram(ctx, 'bash', 'bash');
    const dir = join(tmp, 'apply');
    mkdirSync(join(dir, 'etc/postfix'), { recursive: true });
    const text = renderServerTree(sampleServer())
      .find((f) => f.path.endsWith('/apply-addresses.sh'))!
      .content.replaceAll('/etc/postfix/', `${dir}/etc/postfix/`);
    writeFileSync(join(dir, 'etc/postfix/address_aliases'), 'sales@example.com alice@evil.example\n');
    const res = run(bash, ['-c', text]);
    expect(res.status).toBe(1);
    expect(res.stderr).toMatch(/address_aliases has malformed lines: 1/);
  });
});
