/**
 * The rendered tree of a sample server, checked by the programs that will read
 * it on the server. Configs name /etc/... paths; each validator reads a copy
 * rewritten to point at this test's temp dir (throwaway TLS certificate and SSH
 * host key, log files), so nothing on this machine is read or written instead.
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderServerTree, type RenderedFile } from '../../../src/mailstack/render.ts';
import { writeRenderedTree } from '../../../src/mailstack/write-tree.ts';
import { sampleServer } from '../../unit/mailstack/sample-server.ts';
import { requireProgram, requireRoot, run } from '../../support/real-tools.ts';
import { freePort } from '../../support/free-port.ts';
import { DEPLOY_USER } from '../../../provisioning/deploy-user.ts';

let tmp: string;
let tree: string;
let files: RenderedFile[];

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'mailplane-mailstack-'));
  tree = join(tmp, 'tree');
  files = renderServerTree(sampleServer());
  await writeRenderedTree(files, tree);
  mkdirSync(join(tmp, 'log'));
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const rendered = (path: string) => readFileSync(join(tree, path), 'utf8');

/** A throwaway self-signed certificate where the configs expect /etc/mailplane/tls/. */
function tlsDir(ctx: Parameters<typeof requireProgram>[0]): string {
  const dir = join(tmp, 'tls');
  if (!existsSync(join(dir, 'fullchain.pem'))) {
    const openssl = requireProgram(ctx, 'openssl', 'openssl');
    mkdirSync(dir, { recursive: true });
    const res = run(openssl, [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '2',
      '-subj',
      '/CN=mail.example.com',
      '-keyout',
      join(dir, 'privkey.pem'),
      '-out',
      join(dir, 'fullchain.pem'),
    ]);
    expect(res.status, res.stderr).toBe(0);
  }
  return dir;
}

/** A TCP port nobody listens on right now (the daemon under test binds it next). */

/** Writes a copy of a rendered file with server paths replaced by local ones. */
function localCopy(path: string, replacements: Record<string, string>): string {
  let text = rendered(path);
  for (const [from, to] of Object.entries(replacements)) text = text.replaceAll(from, to);
  const target = join(tmp, 'local', path);
  mkdirSync(join(target, '..'), { recursive: true });
  writeFileSync(target, text);
  return target;
}

describe('Postfix', () => {
  it('postconf reads main.cf and master.cf without warnings (no unused parameter)', (ctx) => {
    const postconf = requireProgram(ctx, 'postconf', 'postfix');
    const res = run(postconf, ['-c', join(tree, 'etc/postfix'), '-n']);
    expect(res.status, res.stderr).toBe(0);
    expect(res.stderr).toBe('');
    expect(res.stdout).toContain('smtp_tls_security_level = dane');
    expect(res.stdout).toContain('smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination');
    expect(run(postconf, ['-c', join(tree, 'etc/postfix'), '-M', 'submission/inet']).stdout).toContain('smtpd_tls_security_level=encrypt');
  });

  it('postconf does report an unused parameter (the check above can fail)', (ctx) => {
    const postconf = requireProgram(ctx, 'postconf', 'postfix');
    const dir = join(tmp, 'postfix-unused');
    cpSync(join(tree, 'etc/postfix'), dir, { recursive: true });
    writeFileSync(join(dir, 'main.cf'), `${rendered('etc/postfix/main.cf')}mua_typo_restrictions = reject\n`);
    expect(run(postconf, ['-c', dir, '-n']).stderr).toMatch(/unused parameter: mua_typo_restrictions/);
  });

  it('refuses SMTP smuggling: only <CR><LF>.<CR><LF> ends DATA, except for local programs', (ctx) => {
    const postconf = requireProgram(ctx, 'postconf', 'postfix');
    const value = (name: string) => run(postconf, ['-c', join(tree, 'etc/postfix'), '-h', name]).stdout.trim();
    // Postfix < 3.9 defaults to "no"; 3.7.11 knows normalize|yes|reject (postconf -n would warn about an unknown name).
    expect(value('smtpd_forbid_bare_newline')).toBe('normalize');
    expect(value('smtpd_forbid_bare_newline_exclusions')).toBe('$mynetworks');
    expect(run(postconf, ['-d', 'smtpd_forbid_bare_newline']).stdout).toMatch(/= no$/m);
  });

  it('limits the submission services per client address outside, not on the loopback every webmail user comes from', (ctx) => {
    const postconf = requireProgram(ctx, 'postconf', 'postfix');
    const dir = join(tree, 'etc/postfix');
    for (const service of ['submission', 'submissions']) {
      const param = (name: string) => run(postconf, ['-c', dir, '-Ph', `${service}/inet/${name}`]).stdout.trim();
      expect(param('smtpd_client_event_limit_exceptions'), service).toBe('$mynetworks');
      expect(Number(param('smtpd_client_message_rate_limit')), service).toBeGreaterThan(0);
    }
    expect(run(postconf, ['-c', dir, '-h', 'mynetworks']).stdout.trim()).toBe('127.0.0.0/8 [::1]/128');
    // Per login instead: Rspamd's ratelimit keyed by the authenticated user.
    expect(rendered('etc/rspamd/local.d/ratelimit.conf')).toMatch(/selector = "user\.lower";/);
  });

  it('asks the MTA-STS resolver for outbound TLS policy, over its socketmap, and keeps DANE as the default', async (ctx) => {
    const postconf = requireProgram(ctx, 'postconf', 'postfix');
    const postmap = requireProgram(ctx, 'postmap', 'postfix');
    const daemon = requireProgram(ctx, 'mta-sts-daemon', 'postfix-mta-sts-resolver');
    const dir = join(tree, 'etc/postfix');
    const value = (name: string) => run(postconf, ['-c', dir, '-h', name]).stdout.trim();
    expect(value('smtp_tls_security_level')).toBe('dane');
    expect(value('smtp_dns_support_level')).toBe('dnssec');
    // A "secure" policy verifies the certificate, which needs a trust store (Postfix has none by default),
    // loaded before the chroot (smtp runs chrooted in master.cf).
    expect(value('smtp_tls_CAfile')).toBe('/etc/ssl/certs/ca-certificates.crt');
    expect(run(postconf, ['-c', dir, '-M', 'smtp/unix']).stdout.trim().split(/\s+/)[4]).toBe('y');
    const map = value('smtp_tls_policy_maps');
    expect(map).toBe('socketmap:inet:127.0.0.1:8461:postfix');
    // The packaged daemon on the rendered configuration, on a free port and a temporary cache.
    const port = await freePort();
    const conf = localCopy('etc/mta-sts-daemon.yml', { 'port: 8461': `port: ${port}`, '/var/lib/mta-sts/cache.db': join(tmp, 'mta-sts-cache.db') });
    const child = spawn(daemon, ['-c', conf, '-v', 'info'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    child.stdout.on('data', (c: Buffer) => {
      log += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      log += c.toString();
    });
    try {
      await new Promise<void>((resolve, reject) => {
        const check = () => {
          if (/Server started/.test(log)) resolve();
        };
        child.stdout.on('data', check);
        child.stderr.on('data', check);
        child.on('exit', (code) => reject(new Error(`mta-sts-daemon exited ${code}: ${log}`)));
      });
      // Postfix's own client speaks the socketmap protocol to it: a domain without a policy is "not
      // found" (exit 1, nothing printed, no warning), so the default (DANE) applies to it.
      const local = map.replace(':8461:', `:${port}:`);
      const res = run(postmap, ['-c', dir, '-q', 'mailplane-test.invalid', local]);
      expect(res.status, res.stderr).toBe(1);
      expect(res.stdout).toBe('');
      expect(res.stderr).toBe('');
      // Nobody on the port: the same lookup is an error Postfix defers on, not "not found".
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      expect(run(postmap, ['-c', dir, '-q', 'mailplane-test.invalid', local]).stderr).toMatch(/lookup error|query error/);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it('postfix check accepts the configuration', (ctx) => {
    const postfix = requireProgram(ctx, 'postfix', 'postfix');
    requireRoot(ctx, 'postfix check inspects the system queue directory');
    const res = run(postfix, ['-c', join(tree, 'etc/postfix'), 'check']);
    expect(res.status, res.stderr).toBe(0);
    expect(res.stderr).not.toMatch(/fatal|error/i);
  });
});

describe('Dovecot', () => {
  it('doveconf parses dovecot.conf: IMAPS only, TLS required', (ctx) => {
    const doveconf = requireProgram(ctx, 'doveconf', 'dovecot-core');
    const tls = tlsDir(ctx);
    // Its include (Sieve, ManageSieve) is read from beside the copy, as on the server.
    localCopy('etc/dovecot/conf.d/mailplane-addresses.conf', {});
    const conf = localCopy('etc/dovecot/dovecot.conf', {
      '/etc/mailplane/tls': tls,
      '/etc/dovecot/mailplane-guard.conf': join(tree, 'etc/dovecot/mailplane-guard.conf'),
    });
    const res = run(doveconf, ['-c', conf, '-n']);
    expect(res.status, res.stderr).toBe(0);
    expect(res.stderr).toBe('');
    expect(res.stdout).toMatch(/^ssl = required$/m);
    expect(res.stdout).toMatch(/inet_listener imap \{\n\s+port = 0\n/);
    // disable_plaintext_auth = yes is Dovecot's default, so -n (non-defaults) must not show it overridden.
    expect(res.stdout).not.toMatch(/^disable_plaintext_auth = no$/m);
  });
});

describe('nginx', () => {
  it('nginx -t accepts nginx.conf', (ctx) => {
    const nginx = requireProgram(ctx, 'nginx', 'nginx');
    const tls = tlsDir(ctx);
    const conf = localCopy('etc/nginx/nginx.conf', { '/etc/mailplane/tls': tls, '/var/log/nginx': join(tmp, 'log'), '/run/nginx.pid': join(tmp, 'nginx.pid') });
    const res = run(nginx, ['-t', '-q', '-e', join(tmp, 'log', 'nginx-error.log'), '-p', tmp, '-c', conf]);
    expect(res.status, `${res.stderr}${readFileSync(join(tmp, 'log', 'nginx-error.log'), 'utf8')}`).toBe(0);
  });
});

describe('nginx with the longest names a customer can order', () => {
  it('nginx -t accepts nginx.conf when every served name is near the 253-byte limit', async (ctx) => {
    const nginx = requireProgram(ctx, 'nginx', 'nginx');
    const tls = tlsDir(ctx);
    // Four 60-character labels: the longest served name (mta-sts., autoconfig., …) stays a valid DNS name.
    const domain = `${['a', 'b', 'c'].map((c) => c.repeat(60)).join('.')}.${'d'.repeat(40)}.eu`;
    const dir = join(tmp, 'long');
    await writeRenderedTree(renderServerTree(sampleServer({ domain, hostname: `mail.${domain}`, adminEmail: `postmaster@${domain}` })), dir);
    let text = readFileSync(join(dir, 'etc/nginx/nginx.conf'), 'utf8');
    for (const [from, to] of Object.entries({ '/etc/mailplane/tls': tls, '/var/log/nginx': join(tmp, 'log'), '/run/nginx.pid': join(tmp, 'nginx-long.pid') }))
      text = text.replaceAll(from, to);
    const conf = join(dir, 'nginx-local.conf');
    writeFileSync(conf, text);
    const res = run(nginx, ['-t', '-q', '-e', join(tmp, 'log', 'nginx-error.log'), '-p', tmp, '-c', conf]);
    expect(res.status, `${res.stderr}${readFileSync(join(tmp, 'log', 'nginx-error.log'), 'utf8')}`).toBe(0);
  });
});

describe('OpenSSH', () => {
  it('sshd -t accepts sshd_config', (ctx) => {
    const sshd = requireProgram(ctx, 'sshd', 'openssh-server');
    const keygen = requireProgram(ctx, 'ssh-keygen', 'openssh-client');
    // sshd -t insists on its privilege-separation directory.
    if (!existsSync('/run/sshd')) {
      requireRoot(ctx, 'sshd -t needs /run/sshd');
      mkdirSync('/run/sshd', { mode: 0o755 });
    }
    const hostKey = join(tmp, 'ssh_host_ed25519_key');
    if (!existsSync(hostKey)) expect(run(keygen, ['-q', '-t', 'ed25519', '-N', '', '-f', hostKey]).status).toBe(0);
    const conf = localCopy('etc/ssh/sshd_config', { '/etc/ssh/ssh_host_ed25519_key': hostKey });
    const res = run(sshd, ['-t', '-f', conf]);
    expect(res.status, res.stderr).toBe(0);
    const effective = run(sshd, ['-T', '-f', conf, '-C', 'user=root,host=client.example,addr=198.51.100.7']);
    expect(effective.stdout).toMatch(/^passwordauthentication no$/m);
    expect(effective.stdout).toMatch(/^allowtcpforwarding no$/m);
    // No root over SSH, and no account but the deploy user; uploads through sudo's sftp-server.
    expect(effective.stdout).toMatch(/^permitrootlogin no$/m);
    expect(effective.stdout).toMatch(new RegExp(`^allowusers ${DEPLOY_USER}$`, 'm'));
    expect(effective.stdout).toMatch(/^subsystem sftp \/usr\/bin\/sudo -n \/usr\/lib\/openssh\/sftp-server$/m);
  });
});

describe('unbound', () => {
  it('unbound-checkconf accepts the validating resolver, which listens on the loopback only', (ctx) => {
    const checkconf = requireProgram(ctx, 'unbound-checkconf', 'unbound');
    const conf = join(tree, 'etc/unbound/unbound.conf.d/mailplane.conf');
    const res = run(checkconf, [conf]);
    expect(res.status, `${res.stdout}${res.stderr}`).toBe(0);
    for (const option of ['interface', 'do-not-query-localhost', 'harden-dnssec-stripped']) {
      expect(run(checkconf, ['-o', option, conf]).stdout.trim().length, option).toBeGreaterThan(0);
    }
    expect(run(checkconf, ['-o', 'interface', conf]).stdout.trim().split(/\s+/).sort()).toEqual(['127.0.0.1', '::1']);
  });
});

describe('nftables', () => {
  it('nft -c accepts the ruleset', (ctx) => {
    const nft = requireProgram(ctx, 'nft', 'nftables');
    const res = run(nft, ['-c', '-f', join(tree, 'etc/nftables.conf')]);
    // nft -c still opens a netlink socket; without CAP_NET_ADMIN it cannot check anything.
    if (res.status !== 0 && /Operation not permitted/.test(res.stderr)) ctx.skip('nft -c needs CAP_NET_ADMIN here');
    expect(res.status, res.stderr).toBe(0);
  });
});

describe('Rspamd', () => {
  it('rspamadm configtest accepts the local.d overrides', (ctx) => {
    const rspamadm = requireProgram(ctx, 'rspamadm', 'rspamd');
    const res = run(rspamadm, [`--var=LOCAL_CONFDIR=${join(tree, 'etc/rspamd')}`, 'configtest', '-c', '/etc/rspamd/rspamd.conf']);
    expect(res.status, res.stderr).toBe(0);
    expect(res.stdout).toContain('syntax OK');
  });
});

describe('fail2ban', () => {
  it('fail2ban-client -t accepts the jails', (ctx) => {
    const client = requireProgram(ctx, 'fail2ban-client', 'fail2ban');
    const dir = join(tmp, 'fail2ban');
    cpSync('/etc/fail2ban', dir, { recursive: true });
    cpSync(join(tree, 'etc/fail2ban/jail.d/mailplane.local'), join(dir, 'jail.d/mailplane.local'));
    cpSync(join(tree, 'etc/fail2ban/fail2ban.d/mailplane.local'), join(dir, 'fail2ban.d/mailplane.local'));
    cpSync(join(tree, 'etc/fail2ban/filter.d/mailplane-auth.conf'), join(dir, 'filter.d/mailplane-auth.conf'));
    // The roundcube-auth jail needs its log file to exist (install-mail-stack.sh creates it).
    writeFileSync(join(tmp, 'log', 'roundcube-errors.log'), '');
    const jails = join(dir, 'jail.d/mailplane.local');
    writeFileSync(jails, readFileSync(jails, 'utf8').replace('/var/log/roundcube/errors.log', join(tmp, 'log', 'roundcube-errors.log')));
    const res = run(client, ['-c', dir, '-t']);
    expect(res.status, res.stderr).toBe(0);
    const dump = run(client, ['-c', dir, '-d']).stdout;
    // IMAP and SMTP AUTH share the mailplane-auth jail (one budget); webmail guessing has roundcube-auth.
    for (const jail of ['sshd', 'mailplane-auth', 'roundcube-auth', 'nginx-limit-req']) expect(dump).toContain(`['add', '${jail}'`);
    // Its own log (banned addresses) goes to the journal, under the journal's retention.
    expect(dump).toContain(`['set', 'logtarget', 'SYSTEMD-JOURNAL']`);
  });
});

describe('journald', () => {
  it('keeps the journal 14 days and at most 1 GB, in settings systemd-journald itself knows', (ctx) => {
    const analyze = requireProgram(ctx, 'systemd-analyze', 'systemd');
    const journald = '/lib/systemd/systemd-journald';
    if (!existsSync(journald)) ctx.skip('no systemd-journald here');
    const text = rendered('etc/systemd/journald.conf.d/mailplane.conf');
    const settings = Object.fromEntries(
      text
        .split('\n')
        .filter((l) => /^[A-Z]\w*=/.test(l))
        .map((l) => l.split('=', 2) as [string, string]),
    );
    expect(text).toMatch(/^\[Journal\]$/m);
    // journald's parser table holds "Journal.<Key>" for every key it accepts: a typo is ignored at
    // runtime with a warning, so it is caught here.
    const known = new Set(
      [
        ...readFileSync(journald)
          .toString('latin1')
          .matchAll(/Journal\.([A-Za-z]+)/g),
      ].map((m) => m[1]),
    );
    expect(known.has('MaxRetentionSec')).toBe(true);
    for (const key of Object.keys(settings)) expect(known.has(key), key).toBe(true);
    const seconds = (span: string) => {
      const res = run(analyze, ['timespan', span]);
      expect(res.status, res.stderr).toBe(0);
      return Number(/μs: (\d+)/.exec(res.stdout)![1]) / 1e6;
    };
    expect(seconds(settings['MaxRetentionSec']!)).toBe(14 * 86_400);
    expect(seconds(settings['MaxFileSec']!)).toBeLessThanOrEqual(86_400);
    expect(settings['SystemMaxUse']).toBe('1G');
    expect(settings['Storage']).toBe('persistent');
  });
});

describe('scripts', () => {
  const scripts = () => files.filter((f) => f.content.startsWith('#!/usr/bin/env bash')).map((f) => join(tree, f.path));

  it('every script passes bash -n', (ctx) => {
    const bash = requireProgram(ctx, 'bash', 'bash');
    expect(scripts().length).toBeGreaterThanOrEqual(7);
    for (const script of scripts()) {
      const res = run(bash, ['-n', script]);
      expect(res.status, `${script}: ${res.stderr}`).toBe(0);
    }
  });

  it('every script is shellcheck clean', (ctx) => {
    const shellcheck = requireProgram(ctx, 'shellcheck', 'shellcheck');
    const res = run(shellcheck, ['--shell=bash', ...scripts()]);
    expect(res.status, res.stdout).toBe(0);
  });

  it('the Roundcube plugin and settings parse with php -l', (ctx) => {
    const php = requireProgram(ctx, 'php', 'php-cli');
    const sources = files.filter((f) => f.path.endsWith('.php')).map((f) => join(tree, f.path));
    expect(sources.length).toBeGreaterThanOrEqual(2);
    for (const source of sources) {
      const res = run(php, ['-l', source]);
      expect(res.status, `${source}: ${res.stdout}${res.stderr}`).toBe(0);
    }
  });

  it('the webmail verifier compiles with python3', (ctx) => {
    const python = requireProgram(ctx, 'python3', 'python3');
    const res = run(python, ['-c', 'import ast,sys; ast.parse(open(sys.argv[1]).read())', join(tree, 'opt/mailplane/libexec/webmail-login.py')]);
    expect(res.status, res.stderr).toBe(0);
  });
});
