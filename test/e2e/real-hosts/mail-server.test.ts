/**
 * Two subscriptions, two real Debian 12 servers, provisioned through the
 * product and judged from the sandbox internet by programs nobody here wrote:
 * swaks, openssl, curl's IMAP client, testssl.sh, Chromium, and mailauth for
 * DKIM and SPF. Each describe block is one promise the product makes.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { Resolver } from 'node:dns/promises';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authenticate } from 'mailauth';
import type { Browser } from 'playwright-core';
import { and, eq } from 'drizzle-orm';
import { backupRuns, provisioningRuns, provisioningSteps, servers } from '../../../src/db/schema/index.ts';
import { CHECK_NAMES } from '../../../src/health/check-types.ts';
import { runServerChecks } from '../../../src/health/run-checks.ts';
import type { Harness } from '../../support/provisioning.ts';
import { extraClientAddress, inInternet, replies, swaks } from './support/internet.ts';
import { trySmtpSmuggling, waitForImapMessage, WEBMAIL_SUBMIT } from './support/mail-probes.ts';
import type { BakedImage } from './support/baked-image.ts';
import { launchChromium, mailbox, missingForRealHosts, startRealHostProduct, subscribeAndPay, type Mailbox } from './support/product.ts';

const missing = missingForRealHosts();
const required = process.env['MAILPLANE_REQUIRE_TOOLS'] === '1';
if (missing.length > 0 && required) throw new Error(`real-host e2e needs: ${missing.join(', ')}`);
if (missing.length > 0) console.warn(`real-host e2e skipped, missing: ${missing.join(', ')} (.ci/run installs them)`);

interface Site {
  domain: string;
  token: string;
  workspaceId: string;
  serverId: string;
  ipv4: string;
  ipv6: string;
  hostname: string;
  mailbox: Mailbox;
  providerId: string;
  zone: string;
}

describe.skipIf(missing.length > 0)('a paid subscription becomes a working mail server on a real Debian 12 host', () => {
  let h: Harness & { image: BakedImage | null };
  let browser: Browser;
  const sites: Record<'a' | 'b', Site> = {} as never;
  let resolver: Resolver;
  let crashed = false;

  beforeAll(async () => {
    // The sandbox's servers live in documentation ranges, which mailbox imports refuse unless told (the import proof below).
    h = await startRealHostProduct({ MAILBOX_IMPORT_ALLOWED_RANGES: '198.51.100.0/24,192.0.2.0/24,2001:db8::/32' });
    browser = await launchChromium();
    resolver = new Resolver();
    resolver.setServers([h.sandbox.dns!.address]);
    // A in fr-par-1, which has the pre-baked image; B in nl-ams-1, which has none: the stock image,
    // every package installed by install_mail_stack (and the fault below hits that installation).
    const order = [
      ['a', 'alpha-mail.test', 'fr-par-1'],
      ['b', 'beta-mail.test', 'nl-ams-1'],
    ] as const;
    const started = await Promise.all(
      order.map(async ([key, domain, region]) => {
        const { token, workspaceId } = await h.customer(`owner@${domain}`);
        const serverId = await subscribeAndPay(h, browser, token, workspaceId, domain, region);
        return { key, domain, region, token, workspaceId, serverId };
      }),
    );
    // Fault: B's machine dies in the middle of its package installation and comes back.
    const crash = crashMidInstall(h, started.find((s) => s.key === 'b')!.serverId);
    await Promise.all(
      started.map(async (s) => {
        const row = await h.waitForServer(s.serverId, ['ready'], 25 * 60_000);
        const mb = await mailbox(h, s.token, s.workspaceId, s.serverId, s.key === 'a' ? 'alice' : 'bob');
        sites[s.key] = {
          domain: s.domain,
          token: s.token,
          workspaceId: s.workspaceId,
          serverId: s.serverId,
          ipv4: row.ipv4!,
          ipv6: row.ipv6!,
          hostname: row.hostname,
          mailbox: mb,
          providerId: row.providerServerId!,
          zone: s.region,
        };
      }),
    );
    crashed = await crash;
  });

  afterAll(async () => {
    await browser?.close();
    await h?.close();
  });

  it('reaches ready with no manual step, each step logging the real script output', async () => {
    for (const site of Object.values(sites)) {
      const [run] = await h.database.db
        .select()
        .from(provisioningRuns)
        .where(and(eq(provisioningRuns.serverId, site.serverId), eq(provisioningRuns.kind, 'provision')));
      expect(run?.status).toBe('succeeded');
      const steps = await h.database.db.select().from(provisioningSteps).where(eq(provisioningSteps.runId, run!.id));
      const log = (name: string) => JSON.stringify(steps.find((s) => s.name === name)?.log ?? '');
      // Lines only the real programs print: dpkg configuring packages (the stock image's server only:
      // the baked image has them all, so nothing is fetched), certbot's success.
      if (site === sites.b || !h.image) expect(log('install_mail_stack')).toMatch(/Setting up [a-z0-9.+-]+ \(/);
      else expect(log('install_mail_stack')).not.toMatch(/install-mail-stack: installing /);
      expect(log('install_mail_stack')).toMatch(/install-mail-stack: mail stack installed/);
      expect(log('harden')).toMatch(/harden: host hardened/);
      expect(log('issue_tls')).toMatch(/Successfully received certificate/);
      expect(log('verify')).toMatch(/all services answer/);
      expect(log('wait_ssh')).toContain(site.hostname.split('.')[0]);
    }
  });

  describe('port 25', () => {
    it('greets with its name and offers STARTTLS with the certificate the TLSA record pins', async () => {
      const { ipv4, hostname, domain } = sites.a;
      const ehlo = await swaks({ server: ipv4, quitAfter: 'EHLO' });
      // postscreen greets with a multi-line 220- first (its pregreet test), then smtpd's 220.
      expect(replies(ehlo.output)[0]).toMatch(new RegExp(`^220[ -]${hostname.replace(/\./g, '\\.')} ESMTP`));
      expect(ehlo.output).toMatch(/250[- ]STARTTLS/);
      expect(ehlo.output).not.toMatch(/250[- ]AUTH/);
      const s = await inInternet([
        'sh',
        '-c',
        `openssl s_client -connect ${ipv4}:25 -starttls smtp -servername ${hostname} </dev/null 2>/dev/null | openssl x509`,
      ]);
      const spki = createHash('sha256')
        .update(new X509Certificate(s.stdout).publicKey.export({ type: 'spki', format: 'der' }))
        .digest('hex');
      // The published record, as a resolver answers it (the sandbox's DNS serves the Cloudflare zone).
      const tlsa = await resolver.resolveTlsa(`_25._tcp.${hostname}`);
      expect(tlsa.map((r) => [r.certUsage, r.selector, r.match, Buffer.from(r.data).toString('hex')])).toContainEqual([3, 1, 1, spki]);
      expect(domain).toBe('alpha-mail.test');
    });

    it('is no open relay, refuses hosted senders without login and unknown recipients', async () => {
      const { ipv4, domain } = sites.a;
      // A sender whose domain resolves (an unresolvable one is deferred with 450 before relaying is even considered).
      const stranger = `someone@${sites.b.domain}`;
      const relay = await swaks({ server: ipv4, from: stranger, to: 'victim@example.net', quitAfter: 'RCPT' });
      expect(replies(relay.output).join('\n')).toMatch(/^554 5\.7\.1 .*Relay access denied/m);
      const forged = await swaks({ server: ipv4, from: `alice@${domain}`, to: `alice@${domain}`, quitAfter: 'RCPT' });
      expect(replies(forged.output).join('\n')).toMatch(/^5\d\d 5\.7\.1 .*hosted domain/m);
      const unknown = await swaks({ server: ipv4, from: stranger, to: `nobody-here@${domain}`, quitAfter: 'RCPT' });
      expect(replies(unknown.output).join('\n')).toMatch(/^550 5\.1\.1 /m);
    });
  });

  describe('submission', () => {
    it('offers AUTH only after TLS, refuses a wrong password, sends with the vault password, refuses a foreign sender', async () => {
      const { ipv4, mailbox: mb } = sites.a;
      const plain = await swaks({ server: ipv4, port: 587, quitAfter: 'EHLO' });
      expect(plain.output).toMatch(/250[- ]STARTTLS/);
      expect(plain.output).not.toMatch(/250[- ]AUTH/);
      const wrong = await swaks({ server: ipv4, port: 587, tls: 'starttls', auth: { user: mb.address, password: 'not-the-password' }, quitAfter: 'AUTH' });
      expect(replies(wrong.output).join('\n')).toMatch(/^535 /m);
      for (const [port, tls] of [
        [587, 'starttls'],
        [465, 'wrapper'],
      ] as const) {
        const ok = await swaks({
          server: ipv4,
          port,
          tls,
          auth: { user: mb.address, password: mb.password },
          from: mb.address,
          to: mb.address,
          header: { Subject: `self test ${port}` },
        });
        expect(ok.code, ok.output).toBe(0);
        const foreign = await swaks({
          server: ipv4,
          port,
          tls,
          auth: { user: mb.address, password: mb.password },
          from: `ceo@${sites.b.domain}`,
          to: mb.address,
          quitAfter: 'RCPT',
        });
        expect(replies(foreign.output).join('\n')).toMatch(/^553 5\.7\.1 .*not owned by user/m);
      }
    });
  });

  describe('mail between two servers', () => {
    it('arrives within 2 minutes, reads back over IMAPS, and its DKIM signature and SPF pass by mailauth', async () => {
      const a = sites.a;
      const b = sites.b;
      const subject = `e2e ${Date.now()}`;
      const sent = await swaks({
        server: a.ipv4,
        port: 587,
        tls: 'starttls',
        auth: { user: a.mailbox.address, password: a.mailbox.password },
        from: a.mailbox.address,
        to: b.mailbox.address,
        header: { Subject: subject },
        body: 'Hello from alpha to beta.',
      });
      expect(sent.code, sent.output).toBe(0);
      const sentAt = Date.now();
      let message = '';
      const imap = (cmd: string[]) =>
        inInternet(['curl', '-sS', '--insecure', '--user', `${b.mailbox.address}:${b.mailbox.password}`, ...cmd], { timeoutMs: 30_000 });
      while (Date.now() - sentAt < 120_000) {
        const search = await imap([`imaps://${b.ipv4}/INBOX`, '-X', `SEARCH SUBJECT "${subject}"`]);
        const uid = /SEARCH ([0-9 ]+)/.exec(search.stdout)?.[1]?.trim().split(' ')[0];
        if (uid) {
          message = (await imap([`imaps://${b.ipv4}/INBOX;MAILINDEX=${uid}`])).stdout;
          break;
        }
        await new Promise((r) => setTimeout(r, 2_000));
      }
      expect(message, `message did not arrive within 2 minutes\n${await mailDiagnostics(h, [a, b])}`).toContain(subject);
      const result = await authenticate(Buffer.from(message.replace(/\r?\n/g, '\r\n')), {
        ip: a.ipv4,
        helo: a.hostname,
        sender: a.mailbox.address,
        mta: b.hostname,
        resolver: (name: string, type: string) => resolver.resolve(name, type as 'TXT') as Promise<never>,
      });
      expect(result.dkim.results.map((r: { status: { result: string }; signingDomain: string }) => [r.signingDomain, r.status.result])).toContainEqual([
        a.domain,
        'pass',
      ]);
      expect(result.spf).toMatchObject({ status: { result: 'pass' } });
    });
  });

  describe('SMTP smuggling (CVE-2023-51764)', () => {
    it('a bare <LF>.<CR><LF> does not end DATA on port 25: no second message can be smuggled behind it', async () => {
      const a = sites.a;
      const token = `smuggle-${Date.now()}`;
      const outcome = await trySmtpSmuggling(a.ipv4, `someone@${sites.b.domain}`, a.mailbox.address, token);
      const transcript = JSON.stringify(outcome, null, 1);
      expect(outcome.data.at(-1), transcript).toMatch(/^354 /);
      // Protected: the whole input is one message, answered once (accepted with its bare <LF> taken as
      // <CR><LF>, or refused). Vulnerable: 250 queued, then 250 MAIL, 250 RCPT, 354 and 250 for the smuggled one.
      expect(outcome.after, transcript).toHaveLength(1);
      expect(outcome.after[0], transcript).toMatch(/^[245]\d\d /);
      expect(outcome.quit.at(-1), transcript).toMatch(/^221 /);
    });
  });

  describe('webmail users each have their own budget', () => {
    it('ten mailboxes submitting as Roundcube does (127.0.0.1 → 465 with AUTH) can each send in the same hour', async () => {
      const a = sites.a;
      // The plan's ten mailboxes: alice and nine more.
      const users: Mailbox[] = [a.mailbox];
      for (let i = 1; users.length < 10; i++) users.push(await mailbox(h, a.token, a.workspaceId, a.serverId, `webmail${i}`));
      // 7 logins and 21 messages each: 70 AUTH and 210 messages from one address in all, above what
      // one client address may do in an hour (60 AUTH, the plan's 200 messages), each user well within their own.
      const sessions = 7;
      const perSession = 3;
      expect(sessions * users.length).toBeGreaterThan(60);
      const outcomes: Record<string, { sent: number; errors: string[] }> = {};
      // One session per call, users taking turns as webmail users would in the same hour.
      for (let n = 0; n < sessions; n++) {
        for (const u of users) {
          const out = await h.sandbox.realHosts!.lifecycle.inMachine(a.providerId, [
            'python3',
            '-c',
            WEBMAIL_SUBMIT,
            u.address,
            u.password,
            '1',
            String(perSession),
          ]);
          const line = out
            .split('\n')
            .filter((l) => l.startsWith('{'))
            .at(-1);
          const got = JSON.parse(line ?? '{"sent":0,"errors":["no output"]}') as { sent: number; errors: string[] };
          const sum = outcomes[u.address] ?? { sent: 0, errors: [] };
          outcomes[u.address] = { sent: sum.sent + got.sent, errors: [...sum.errors, ...got.errors] };
        }
      }
      expect(outcomes, JSON.stringify(outcomes, null, 1)).toEqual(
        Object.fromEntries(users.map((u) => [u.address, { sent: sessions * perSession, errors: [] }])),
      );
    });
  });

  describe("the server's own mail aligns with DMARC", () => {
    it('a bounce from A to an outside sender on B passes SPF and DMARC by mailauth', async () => {
      const a = sites.a;
      const b = sites.b;
      const token = `bounce-${Date.now()}`;
      // A takes a message from B's user (as from a web form or a list) for an address B does not
      // have; B refuses it (a stranger using B's own domain, an unknown recipient), so A's
      // MAILER-DAEMON returns it to the sender, across to B, with an empty envelope sender.
      await h.sandbox.realHosts!.lifecycle.inMachine(a.providerId, [
        'sh',
        '-c',
        'printf "From: <%s>\\nSubject: probe %s\\n\\nTo an address that does not exist.\\n" "$1" "$2" | /usr/sbin/sendmail -i -f "$1" "$3"',
        'sh',
        b.mailbox.address,
        token,
        `nobody-${token}@${b.domain}`,
      ]);
      const message = await waitForImapMessage(b.ipv4, b.mailbox.address, b.mailbox.password, `FROM "MAILER-DAEMON" TEXT "${token}"`, 180_000);
      expect(message, `no bounce within 3 minutes\n${await mailDiagnostics(h, [a, b])}`).toContain(token);
      expect(message).toMatch(new RegExp(`^From: .*<MAILER-DAEMON@${a.hostname.replace(/\./g, '\\.')}>`, 'mi'));
      expect(message).toMatch(/^Return-Path: <>/m);
      const result = await authenticate(Buffer.from(message.replace(/\r?\n/g, '\r\n')), {
        ip: a.ipv4,
        helo: a.hostname,
        sender: '',
        mta: b.hostname,
        resolver: (name: string, type: string) => resolver.resolve(name, type as 'TXT') as Promise<never>,
      });
      expect(result.spf).toMatchObject({ status: { result: 'pass' } });
      expect(result.dmarc, JSON.stringify(result.dmarc)).toMatchObject({ status: { result: 'pass' } });
    });
  });

  describe('outbound MTA-STS', () => {
    it("the resolver runs and answers B's enforce policy to A's Postfix, and mail to B goes out under it", async () => {
      const a = sites.a;
      const b = sites.b;
      const hosts = h.sandbox.realHosts!.lifecycle;
      expect((await hosts.inMachine(a.providerId, ['systemctl', 'is-active', 'postfix-mta-sts-resolver'])).trim()).toBe('active');
      // The world trusts Let's Encrypt; in the sandbox that is pebble, whose root is new at every start.
      await writeFile(
        join(hosts.rootOf(a.providerId), 'usr/local/share/ca-certificates/sandbox-acme-root.crt'),
        await readFile(h.sandbox.realHosts!.acmeRootFile, 'utf8'),
      );
      await hosts.inMachine(a.providerId, ['update-ca-certificates']);
      // Both read the trust store once (the resolver's HTTP client, Postfix's smtp processes at start).
      await hosts.inMachine(a.providerId, ['sh', '-c', 'systemctl restart postfix-mta-sts-resolver && postfix reload']);
      const policy = await hosts.inMachine(a.providerId, ['sh', '-c', `postmap -q ${b.domain} socketmap:inet:127.0.0.1:8461:postfix; true`]);
      expect(policy.trim()).toBe(`secure match=${b.hostname} servername=hostname`);
      // A domain without a policy keeps the default (DANE, else opportunistic TLS).
      expect(
        (await hosts.inMachine(a.providerId, ['sh', '-c', 'postmap -q no-policy.invalid socketmap:inet:127.0.0.1:8461:postfix; echo "exit $?"'])).trim(),
      ).toBe('exit 1');
      // "secure" verifies B's certificate against the trust store (smtp_tls_CAfile): without one, this would wait in the queue.
      const subject = `mta-sts ${Date.now()}`;
      const sent = await swaks({
        server: a.ipv4,
        port: 587,
        tls: 'starttls',
        auth: { user: a.mailbox.address, password: a.mailbox.password },
        from: a.mailbox.address,
        to: b.mailbox.address,
        header: { Subject: subject },
      });
      expect(sent.code, sent.output).toBe(0);
      const message = await waitForImapMessage(b.ipv4, b.mailbox.address, b.mailbox.password, `SUBJECT "${subject}"`, 120_000);
      expect(message, `not delivered under the MTA-STS policy\n${await mailDiagnostics(h, [a])}`).toContain(subject);
    });
  });

  describe('logs', () => {
    it('the journal runs with the retention limits of the drop-in', async () => {
      const hosts = h.sandbox.realHosts!.lifecycle;
      const config = await hosts.inMachine(sites.a.providerId, ['systemd-analyze', 'cat-config', 'systemd/journald.conf']);
      expect(config).toMatch(/^MaxRetentionSec=14day$/m);
      // journald says at start what it applies: "System Journal (/var/log/journal/…) is 8.0M, max 1.0G, …".
      const said = await hosts.inMachine(sites.a.providerId, ['sh', '-c', 'journalctl -q --no-pager -b -t systemd-journald -g "System Journal" | tail -n 1']);
      const max = /System Journal \(\/var\/log\/journal\/[^)]*\) is .*max ([0-9.]+)([KMG])/.exec(said);
      expect(max, said).not.toBeNull();
      const bytes = Number(max![1]) * { K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[max![2] as 'K' | 'M' | 'G'];
      expect(bytes).toBeLessThanOrEqual(1024 ** 3);
    });
  });

  describe('brute force', () => {
    it('bans a client that keeps guessing passwords over SMTP AUTH and IMAP (fail2ban matches on Debian 12)', async () => {
      const { ipv4, mailbox: mb } = sites.b;
      // Each failed guess must be answered within Postfix's fixed 10 s wait for Dovecot, or it ends as
      // "Connection lost to authentication server", which no jail counts. With Dovecot's growing
      // per-address penalty (2, 4, 8, 15 s) a steady guesser was never banned; the product turns it
      // off and leaves banning to fail2ban, so the ban comes a few guesses past maxretry (5).
      // Guess on until the server stops answering, as a real guesser would (or give up at 40).
      const smtpGuesser = await extraClientAddress('198.18.0.66');
      const smtp = await guessUntilBanned(
        (i) =>
          swaks({
            server: ipv4,
            port: 587,
            tls: 'starttls',
            auth: { user: mb.address, password: `guess-${i}` },
            quitAfter: 'AUTH',
            localAddress: smtpGuesser,
            timeoutSeconds: 20,
          }),
        () => swaks({ server: ipv4, port: 587, quitAfter: 'CONNECT', localAddress: smtpGuesser, timeoutSeconds: 5 }),
      );
      expect(smtp.banned, `${smtp.answers.join('\n')}\n${await mailDiagnostics(h, [sites.b])}`).toBe(true);
      expect(smtp.answers.length, smtp.answers.join('\n')).toBeLessThanOrEqual(10);
      const imapGuesser = await extraClientAddress('198.18.0.67');
      const imap = await guessUntilBanned(
        (i) =>
          inInternet(
            ['curl', '-sS', '--insecure', '--max-time', '60', '--interface', imapGuesser, '--user', `${mb.address}:guess-${i}`, `imaps://${ipv4}/INBOX`],
            { timeoutMs: 90_000 },
          ),
        () =>
          inInternet(['curl', '-sS', '--insecure', '--connect-timeout', '5', '--max-time', '10', '--interface', imapGuesser, `imaps://${ipv4}/`], {
            timeoutMs: 30_000,
          }),
      );
      expect(imap.banned, `${imap.answers.join('\n')}\n${await mailDiagnostics(h, [sites.b])}`).toBe(true);
      expect(imap.answers.length, imap.answers.join('\n')).toBeLessThanOrEqual(10);
      // Everyone else is still served.
      expect((await swaks({ server: ipv4, port: 587, quitAfter: 'CONNECT' })).code).toBe(0);
    });
  });

  describe('faults and idempotence', () => {
    it('finished the run although its machine died mid-install', () => {
      expect(crashed).toBe(true);
    });

    it('runs install and harden again on a provisioned host without changing it', async () => {
      const a = sites.a;
      const root = h.sandbox.realHosts!.lifecycle.rootOf(a.providerId);
      const before = await treeDigest(root);
      const support = await h.staff('support@mailplane.test');
      const rerunAt = Date.now();
      for (const step of ['install_mail_stack', 'harden']) {
        const rerun = await h.call('POST', `/v1/admin/servers/${a.serverId}/steps/${step}/rerun`, { token: support });
        expect(rerun.status, JSON.stringify(rerun.body)).toBeLessThan(300);
        await waitForRerun(h, a.serverId, step);
      }
      const after = await treeDigest(root);
      // The re-run on a live server first backs it up (restic, with the credential file it pushes): that
      // file is the one intended change; the mail stack's configuration stays as it was.
      const changed = [...new Set([...before.keys(), ...after.keys()])].filter((f) => before.get(f) !== after.get(f) && f !== '/etc/mailplane/backup.env');
      expect(changed).toEqual([]);
      // The backup before the change (backupBeforeChange): taken for it, or one that had succeeded within
      // BACKUP_FRESH_MINUTES before it (the server's scheduled backup can land there), which is enough.
      const freshMs = h.ctx.config.backups.freshMinutes * 60_000;
      const runs = await h.database.db
        .select()
        .from(backupRuns)
        .where(and(eq(backupRuns.serverId, a.serverId), eq(backupRuns.status, 'succeeded')));
      const backup = runs.find(
        (r) =>
          r.reason === 'before:install_mail_stack' ||
          (r.finishedAt !== null && r.finishedAt.getTime() <= rerunAt && r.finishedAt.getTime() >= rerunAt - freshMs),
      );
      expect(backup, `a backup before the re-run (${runs.map((r) => `${r.reason} ${r.finishedAt?.toISOString()}`).join(', ')})`).toMatchObject({
        status: 'succeeded',
        simulated: false,
      });
    });

    it('comes back from a reboot with every service active', async () => {
      const b = sites.b;
      const url = `${h.sandbox.scaleway!.url}/instance/v1/zones/${b.zone}/servers/${b.providerId}/action`;
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'x-auth-token': h.env['SCW_SECRET_KEY']!, 'content-type': 'application/json' },
        body: JSON.stringify({ action: 'reboot' }),
      });
      expect(res.status).toBeLessThan(300);
      const deadline = Date.now() + 120_000;
      let banner = '';
      while (Date.now() < deadline) {
        banner = (await swaks({ server: b.ipv4, quitAfter: 'CONNECT' })).output;
        if (/220 /.test(banner)) break;
        await new Promise((r) => setTimeout(r, 2_000));
      }
      expect(banner).toMatch(/220 /);
      const support = await h.staff('support-reboot@mailplane.test');
      const rerun = await h.call('POST', `/v1/admin/servers/${b.serverId}/steps/verify/rerun`, { token: support });
      expect(rerun.status).toBeLessThan(300);
      await waitForRerun(h, b.serverId, 'verify');
    });
  });

  describe('TLS, judged by testssl.sh', () => {
    const targets = [
      ['25', ['-t', 'smtp']],
      ['587', ['-t', 'smtp']],
      ['465', []],
      ['993', []],
      ['443', []],
    ] as const;
    // The five scans are independent and mostly wait on handshakes: run together, not one after another.
    it.concurrent.each(targets)(
      'port %s: no NULL, aNULL, EXPORT, RC4 or 3DES; AEAD only where TLS is required; no known vulnerability',
      async (port, starttls) => {
        const { ipv4, hostname } = sites.a;
        const out = `/tmp/testssl-${process.pid}-${port}.json`;
        await inInternet(
          [
            'testssl',
            '--quiet',
            '--color',
            '0',
            '--warnings',
            'off',
            '--fast',
            '--sneaky',
            '--ip',
            ipv4,
            '--jsonfile',
            out,
            '-s',
            '-P',
            '-U',
            ...starttls,
            `${hostname}:${port}`,
          ],
          { timeoutMs: 10 * 60_000 },
        );
        const findings = JSON.parse(await readFile(out, 'utf8')) as { id: string; severity: string; finding: string }[];
        await rm(out, { force: true });
        const by = (id: string) => findings.find((f) => f.id === id)?.finding ?? 'missing';
        for (const id of ['cipherlist_NULL', 'cipherlist_aNULL', 'cipherlist_EXPORT', 'cipherlist_LOW', 'cipherlist_3DES_IDEA']) {
          expect(by(id), id).toMatch(/^not offered/);
        }
        // testssl.sh 3.0 files the CBC (non-AEAD) suites under AVERAGE.
        if (port !== '25') expect(by('cipherlist_AVERAGE'), 'CBC suites').toMatch(/^not offered/);
        expect(by('cipherlist_STRONG')).toMatch(/^offered/);
        const vulnerable = findings.filter((f) => ['MEDIUM', 'HIGH', 'CRITICAL'].includes(f.severity));
        expect(vulnerable.map((f) => `${f.id}: ${f.finding}`)).toEqual([]);
      },
    );
  });

  describe('health checks', () => {
    it('pass against the real host: its ports, the certificate (chain, name, dates), TLSA against port 25 after STARTTLS, the served MTA-STS policy', async () => {
      for (const s of [sites.a, sites.b]) {
        const path = `/v1/workspaces/${s.workspaceId}/servers/${s.serverId}/checks`;
        const before = (await h.call('GET', path, { token: s.token })).body.checkedAt as string | null;
        expect((await h.call('POST', `${path}/run`, { token: s.token })).status).toBe(202);
        let body:
          | { checks: { name: string; status: string; summary: string; details: Record<string, unknown> }[]; checkedAt: string | null; simulated: boolean }
          | undefined;
        for (let i = 0; i < 240; i++) {
          body = (await h.call('GET', path, { token: s.token })).body;
          if (body?.checkedAt && body.checkedAt !== before) break;
          await new Promise((r) => setTimeout(r, 250));
        }
        expect(body?.checkedAt, 'a run finished').not.toBe(before);
        expect(body!.simulated).toBe(false);
        expect(body!.checks.filter((c) => c.status !== 'pass').map((c) => `${s.domain} ${c.name}: ${c.summary}`)).toEqual([]);
        expect(body!.checks).toHaveLength(CHECK_NAMES.length);
        // Disk: GNU df on the Debian host itself, over SSH (a container's root is an overlay on this machine's disk).
        expect(body!.checks.find((c) => c.name === 'disk')?.details['sizeBytes']).toBeGreaterThan(0);
        // The pin the TLSA check compared is the key openssl reads on port 25 (the first describe's judge).
        const tlsa = body!.checks.find((c) => c.name === 'tlsa')!;
        expect(tlsa.details['seen']).toContain(tlsa.details['expected']);
      }
    });

    it('fail with what to do when the host stops serving: a stopped nginx takes the MTA-STS policy and port 443 with it', async () => {
      const b = sites.b;
      await h.sandbox.realHosts!.lifecycle.inMachine(b.providerId, ['systemctl', 'stop', 'nginx']);
      try {
        const { results } = await runServerChecks(h.ctx.health, b.serverId);
        const failing = Object.fromEntries(results.filter((r) => r.status !== 'pass').map((r) => [r.name, r]));
        expect(Object.keys(failing).sort()).toEqual(['mta_sts', 'ports']);
        expect(failing['ports']!.details['closed']).toEqual([443]);
        expect(failing['ports']!.details['closedOn']).toEqual([`${b.ipv4}:443`, `[${b.ipv6}]:443`]);
        expect(failing['mta_sts']!.action).toMatch(/\.$/);
      } finally {
        await h.sandbox.realHosts!.lifecycle.inMachine(b.providerId, ['systemctl', 'start', 'nginx']);
      }
      const again = await runServerChecks(h.ctx.health, b.serverId);
      expect(again.results.filter((r) => r.status !== 'pass').map((r) => r.name)).toEqual([]);
    });
  });

  describe('webmail', () => {
    it('a link from the API opens the Roundcube inbox with no login form, once', async () => {
      const a = sites.a;
      const link = await h.call('POST', `/v1/workspaces/${a.workspaceId}/servers/${a.serverId}/mailboxes/${a.mailbox.id}/webmail-login`, { token: a.token });
      expect(link.status).toBe(200);
      const url = new URL(link.body.url);
      // The browser stands outside; the webmail name resolves to the server as public DNS would say.
      const outside = await launchChromium([`--host-resolver-rules=MAP ${url.hostname} ${a.ipv4}`]);
      try {
        const open = async () => {
          // A fresh profile each time: the second visit must not ride on the first one's session.
          const context = await outside.newContext({ ignoreHTTPSErrors: true });
          const page = await context.newPage();
          await page.goto(url.toString(), { waitUntil: 'load' });
          await page.waitForLoadState('networkidle').catch(() => {});
          const state = { inbox: await page.locator('#messagelist').count(), loginForm: await page.locator('#rcmloginuser').count(), url: page.url() };
          await context.close();
          return state;
        };
        const first = await open();
        expect(first, JSON.stringify(first)).toMatchObject({ loginForm: 0 });
        expect(first.inbox).toBeGreaterThan(0);
        const second = await open();
        expect(second.inbox, JSON.stringify(second)).toBe(0);
      } finally {
        await outside.close();
      }
    });
  });

  describe('mailbox import from another provider (issue 23)', () => {
    it('copies every message of a mailbox on A into one on B with doveadm, then on a second run only the new one', async () => {
      const a = sites.a;
      const b = sites.b;
      const hosts = h.sandbox.realHosts!.lifecycle;
      // The world trusts Let's Encrypt; in the sandbox that is pebble: B verifies A's IMAP certificate against it.
      await writeFile(
        join(hosts.rootOf(b.providerId), 'usr/local/share/ca-certificates/sandbox-acme-root.crt'),
        await readFile(h.sandbox.realHosts!.acmeRootFile, 'utf8'),
      );
      await hosts.inMachine(b.providerId, ['update-ca-certificates']);
      // The old mailbox: alice on A, with what earlier tests delivered (once A's queue is empty) and a folder of her own.
      await waitForEmptyQueue(h, a.providerId);
      const imapA = imapAs(a.ipv4, a.mailbox);
      await imapA([`imaps://${a.ipv4}/`, '-X', 'CREATE Projects']);
      // Sent is one of the folders Dovecot creates when first used; made now (it may answer that it exists).
      await imapA([`imaps://${a.ipv4}/`, '-X', 'CREATE Sent']);
      for (const [folder, subject] of [
        ['Projects', 'plans'],
        ['Projects', 'budget'],
        ['Sent', 'sent note'],
      ] as const) {
        // curl APPENDs a file (it must know the size): the message as a mail client would upload it.
        const file = `/tmp/import-e2e-${process.pid}.eml`;
        await writeFile(
          file,
          `From: ${a.mailbox.address}\r\nTo: someone@example.net\r\nSubject: ${subject}\r\nMessage-ID: <${subject.replace(' ', '-')}-${Date.now()}@e2e.test>\r\nDate: ${new Date().toUTCString()}\r\n\r\n${subject}, kept in ${folder}.\r\n`,
        );
        const appended = await inInternet([
          'curl',
          '-sS',
          '--insecure',
          '--user',
          `${a.mailbox.address}:${a.mailbox.password}`,
          '-T',
          file,
          `imaps://${a.ipv4}/${folder}`,
        ]);
        await rm(file, { force: true });
        expect(appended.code, appended.output).toBe(0);
      }
      const first = `import one ${Date.now()}`;
      const sent = await swaks({
        server: a.ipv4,
        port: 587,
        tls: 'starttls',
        auth: { user: a.mailbox.address, password: a.mailbox.password },
        from: a.mailbox.address,
        to: a.mailbox.address,
        header: { Subject: first },
      });
      expect(sent.code, sent.output).toBe(0);
      expect(await waitForImapMessage(a.ipv4, a.mailbox.address, a.mailbox.password, `SUBJECT "${first}"`, 120_000)).toContain(first);
      const source = await folderHashes(a.ipv4, a.mailbox);
      expect(source['Projects']).toHaveLength(2);

      const target = await mailbox(h, b.token, b.workspaceId, b.serverId, 'imported');
      const started = Date.now();
      const run1 = await importAndWait(h, b, target.id, { host: a.hostname, username: a.mailbox.address, password: a.mailbox.password });
      console.info(`import of ${Object.values(source).flat().length} messages took ${Date.now() - started} ms`);
      expect(run1, JSON.stringify(run1)).toMatchObject({
        status: 'succeeded',
        simulated: false,
        error: null,
        source: { host: a.hostname, address: a.ipv4, port: 993, security: 'imaps' },
      });
      expect(run1.messagesCopied).toBe(Object.values(source).flat().length);
      // Every folder, every message, byte for byte (sha256 of each as IMAP serves it), read back by curl.
      expect(await folderHashes(b.ipv4, target)).toEqual(source);

      // Mail keeps arriving at the old provider until the DNS moves: a second run copies only that.
      const second = `import two ${Date.now()}`;
      const again = await swaks({
        server: a.ipv4,
        port: 587,
        tls: 'starttls',
        auth: { user: a.mailbox.address, password: a.mailbox.password },
        from: a.mailbox.address,
        to: a.mailbox.address,
        header: { Subject: second },
      });
      expect(again.code, again.output).toBe(0);
      expect(await waitForImapMessage(a.ipv4, a.mailbox.address, a.mailbox.password, `SUBJECT "${second}"`, 120_000)).toContain(second);
      const run2 = await importAndWait(h, b, target.id, { host: a.hostname, username: a.mailbox.address, password: a.mailbox.password });
      expect(run2, JSON.stringify(run2)).toMatchObject({ status: 'succeeded', messagesCopied: 1 });
      expect(run2.folders.filter((f: { copied: number }) => f.copied > 0)).toEqual([{ name: 'INBOX', messages: source['INBOX']!.length + 1, copied: 1 }]);
      const after = await folderHashes(a.ipv4, a.mailbox);
      expect(await folderHashes(b.ipv4, target)).toEqual(after);

      // The old password is gone from the vault, and B kept no copy of it: no file, no journal line.
      expect(await h.database.sql`select id from vault_secrets where purpose = 'import_password'`).toHaveLength(0);
      const leftovers = await hosts.inMachine(b.providerId, [
        'sh',
        '-c',
        'ls -d /run/mailplane-import.* 2>/dev/null; grep -rslF -D skip -e "$1" /etc /run /tmp /var/tmp /root /opt /var/lib/dovecot /var/log 2>/dev/null; journalctl -q --no-pager | grep -cF -e "$1"; true',
        'sh',
        a.mailbox.password,
      ]);
      expect(leftovers.trim()).toBe('0');
    });
  });
});

/** curl against one IMAPS server as one mailbox. */
function imapAs(_ip: string, mb: Mailbox) {
  return (args: string[]) => inInternet(['curl', '-sS', '--insecure', '--user', `${mb.address}:${mb.password}`, ...args], { timeoutMs: 60_000 });
}

/** Every folder of the mailbox → the sorted sha256 of each of its messages, as IMAP serves them. */
async function folderHashes(ip: string, mb: Mailbox): Promise<Record<string, string[]>> {
  const imap = imapAs(ip, mb);
  const list = await imap([`imaps://${ip}/`]);
  const folders = [...list.stdout.matchAll(/^\* LIST \([^)]*\) (?:"[^"]*"|NIL) (?:"([^"]+)"|(\S+))\r?$/gm)].map((m) => m[1] ?? m[2]!);
  expect(folders, list.output).toContain('INBOX');
  const out: Record<string, string[]> = {};
  for (const folder of folders) {
    const url = `imaps://${ip}/${encodeURIComponent(folder)}`;
    const search = await imap([url, '-X', 'UID SEARCH ALL']);
    const uids = /^\* SEARCH([0-9 ]*)/m.exec(search.stdout)?.[1]?.trim().split(/\s+/).filter(Boolean) ?? [];
    const hashes: string[] = [];
    for (const uid of uids)
      hashes.push(
        createHash('sha256')
          .update((await imap([`${url};UID=${uid}`])).stdout)
          .digest('hex'),
      );
    out[folder] = hashes.sort();
  }
  return out;
}

/** Starts an import through the API as B's owner and waits for it to end → the import as the API lists it. */
async function importAndWait(h: Harness, site: { token: string; workspaceId: string; serverId: string }, mailboxId: string, body: Record<string, unknown>) {
  const path = `/v1/workspaces/${site.workspaceId}/servers/${site.serverId}/mailboxes/${mailboxId}/imports`;
  const res = await h.call('POST', path, { token: site.token, body });
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  const id = res.body.import.id as string;
  const deadline = Date.now() + 10 * 60_000;
  for (;;) {
    const list = await h.call('GET', path, { token: site.token });
    const row = list.body.imports.find((i: { id: string }) => i.id === id);
    if (row && (row.status === 'succeeded' || row.status === 'failed')) return row;
    if (Date.now() > deadline) throw new Error(`import still ${row?.status}: ${row?.progress}`);
    await new Promise((r) => setTimeout(r, 1_000));
  }
}

/** Waits (up to 3 minutes) until Postfix on the machine has nothing queued: what was sent has been delivered. */
async function waitForEmptyQueue(h: Harness, providerId: string): Promise<void> {
  const deadline = Date.now() + 180_000;
  for (;;) {
    const queued = await h.sandbox.realHosts!.lifecycle.inMachine(providerId, ['sh', '-c', 'postqueue -j | wc -l']);
    if (queued.trim() === '0') return;
    if (Date.now() > deadline) throw new Error(`mail still queued: ${queued}`);
    await new Promise((r) => setTimeout(r, 2_000));
  }
}

/**
 * Waits until dpkg is at work on the machine during install_mail_stack (its own log
 * says it has unpacked Postfix), then pulls the plug and powers it on again.
 */
async function crashMidInstall(h: Harness, serverId: string): Promise<boolean> {
  const hosts = h.sandbox.realHosts!.lifecycle;
  const deadline = Date.now() + 20 * 60_000;
  while (Date.now() < deadline) {
    const [server] = await h.database.db.select().from(servers).where(eq(servers.id, serverId));
    const id = server?.providerServerId;
    const dpkgLog = id ? await readFile(join(hosts.rootOf(id), 'var/log/dpkg.log'), 'utf8').catch(() => '') : '';
    if (id && / status unpacked postfix:/.test(dpkgLog)) {
      await hosts.crashAndRestart(id);
      return true;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}

/** What the servers themselves say (mail queue, mail log, fail2ban), for a failure message. */
async function mailDiagnostics(h: Harness, sites: { providerId: string; hostname: string }[]): Promise<string> {
  const out: string[] = [];
  for (const site of sites) {
    const report = await h.sandbox
      .realHosts!.lifecycle.inMachine(site.providerId, [
        'sh',
        '-c',
        'postqueue -p | tail -n 15; journalctl -q --no-pager -n 40 -t postfix/smtp -t postfix/smtpd -t postfix/postscreen -t postfix/submission/smtpd -t postfix/qmgr -t postfix/lmtp; ' +
          'echo "--- authentication (postfix, dovecot) and fail2ban, last 15 minutes"; journalctl -q --no-pager --since -15min -g "SASL|auth|[Ff]ound|Ban" -o short-precise | tail -n 60; ' +
          'fail2ban-client status mailplane-auth; true',
      ])
      .catch((err: unknown) => String(err));
    out.push(`--- ${site.hostname}\n${report}`);
  }
  return out.join('\n');
}

/** Waits for the re-run of one step (its attempt counter moves and it succeeds). */
async function waitForRerun(h: Harness, serverId: string, name: string): Promise<void> {
  const deadline = Date.now() + 10 * 60_000;
  await new Promise((r) => setTimeout(r, 1_000));
  for (;;) {
    const rows = await h.database.db
      .select({ status: provisioningSteps.status, error: provisioningSteps.error })
      .from(provisioningSteps)
      .innerJoin(provisioningRuns, eq(provisioningRuns.id, provisioningSteps.runId))
      .where(and(eq(provisioningRuns.serverId, serverId), eq(provisioningSteps.name, name)));
    const row = rows.at(-1);
    if (row?.status === 'succeeded') return;
    if (row?.status === 'failed') throw new Error(`${name} re-run failed: ${row.error}`);
    if (Date.now() > deadline) throw new Error(`${name} re-run still ${row?.status}`);
    await new Promise((r) => setTimeout(r, 1_000));
  }
}

/** sha256 of every regular file under the machine's /etc and its package database (postmap's .db files are rebuilt byte-wise differently). */
async function treeDigest(root: string): Promise<Map<string, string>> {
  const digests = new Map<string, string>();
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile() && !path.endsWith('.db'))
        digests.set(
          path.slice(root.length),
          createHash('sha256')
            .update(await readFile(path))
            .digest('hex'),
        );
    }
  };
  await walk(join(root, 'etc'));
  digests.set(
    '/var/lib/dpkg/status',
    createHash('sha256')
      .update(await readFile(join(root, 'var/lib/dpkg/status')))
      .digest('hex'),
  );
  return digests;
}

/**
 * Guesses (each with a new password) until a plain connection from the guesser is refused or
 * no longer answered, at most 40 times: fail2ban bans within seconds of the failure that reaches maxretry.
 */
async function guessUntilBanned(
  guess: (i: number) => Promise<{ code: number; output: string }>,
  connect: () => Promise<{ code: number; output: string }>,
): Promise<{ banned: boolean; answers: string[] }> {
  const answers: string[] = [];
  for (let i = 0; i < 40; i++) {
    const outcome = await guess(i);
    answers.push(
      `guess ${i}: exit ${outcome.code}: ${outcome.output
        .split('\n')
        .filter((l) => /^(<|\*\*\*|curl:)/.test(l))
        .slice(-2)
        .join(' | ')}`,
    );
    await new Promise((r) => setTimeout(r, 2_000));
    // Refused or unanswered at connect: swaks says "Error connecting", curl "Failed to connect" / "Connection timed out".
    if (/Error connecting|Failed to connect|Couldn't connect|Connection (refused|timed out)/i.test((await connect()).output)) return { banned: true, answers };
  }
  return { banned: false, answers };
}
