/**
 * Issue 23's mail guard on one real Debian 12 server, judged from the sandbox internet by real
 * clients (swaks, curl's IMAP and HTTP clients) and by the server's own tools (rspamc, fail2ban):
 * spam is filed into Junk at the domain's junk score; moving a message out of Junk teaches Rspamd;
 * guessing webmail passwords gets the guesser banned; an app password scoped to IMAP logs in over
 * IMAPS and is refused for SMTP AUTH; with the main password off for clients it is refused on both.
 * Each client that may be refused or banned has an address of its own in the sandbox internet.
 * Also issue 20's SSH proofs on the same server: port 22 dropped from the internet on both families,
 * root refused, the deploy user in (root only through sudo), no other account let in.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEPLOY_USER } from '../../../provisioning/remote.ts';
import { readSecret } from '../../../provisioning/server-keys.ts';
import { mailboxAppPasswords, mailboxes, servers } from '../../../src/db/schema/index.ts';
import type { Harness } from '../../support/provisioning.ts';
import { until as waitUntil } from '../../support/until.ts';
import { extraClientAddress, inInternet, replies, swaks } from './support/internet.ts';
import { mailbox, missingForRealHosts, startRealHostProduct, type Mailbox } from './support/product.ts';

const missing = missingForRealHosts();
if (missing.length > 0 && process.env['MAILPLANE_REQUIRE_TOOLS'] === '1') throw new Error(`real-host e2e needs: ${missing.join(', ')}`);

const until = <T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 180_000) => waitUntil(what, probe, timeoutMs, 1_000);

describe.skipIf(missing.length > 0)('mail guard on a real mail server', () => {
  let h: Harness;
  let owner: { token: string; workspaceId: string };
  let serverId: string;
  let providerId: string;
  let ipv4: string;
  let domain: string;
  let alice: Mailbox;
  let bob: Mailbox;
  const api = () => `/v1/workspaces/${owner.workspaceId}/servers/${serverId}`;
  const machine = (script: string) => h.sandbox.realHosts!.lifecycle.inMachine(providerId, ['sh', '-c', `${script}; true`]);
  const imap = (user: string, password: string, args: string[], from?: string) =>
    inInternet(['curl', '-sS', '--insecure', '--max-time', '60', ...(from ? ['--interface', from] : []), '--user', `${user}:${password}`, ...args], {
      timeoutMs: 90_000,
    });
  const search = async (mb: Mailbox, folder: string, subject: string) =>
    /SEARCH ([0-9 ]+)/
      .exec((await imap(mb.address, mb.password, [`imaps://${ipv4}/${folder}`, '-X', `SEARCH SUBJECT "${subject}"`])).stdout)?.[1]
      ?.trim()
      .split(' ')[0] ?? '';
  /** Waits until the mailbox's sync reached the server (every credential change goes through it). */
  const applied = (mb: Mailbox) =>
    until(`${mb.address} applied`, async () => {
      const [row] = await h.database.db.select().from(mailboxes).where(eq(mailboxes.id, mb.id));
      if (row?.syncStatus === 'failed') throw new Error(`sync failed: ${row.syncError}`);
      return row?.syncStatus === 'applied' && row.appliedVersion === row.version;
    });

  beforeAll(async () => {
    h = await startRealHostProduct();
    owner = await h.customer('owner@guard-e2e.test');
    domain = 'guard-e2e.test';
    ({ serverId } = await h.subscribe(owner.token, owner.workspaceId, domain));
    const row = await h.waitForServer(serverId, ['ready'], 25 * 60_000);
    ipv4 = row.ipv4!;
    providerId = row.providerServerId!;
    alice = await mailbox(h, owner.token, owner.workspaceId, serverId, 'alice');
    bob = await mailbox(h, owner.token, owner.workspaceId, serverId, 'bob');
  });

  afterAll(async () => {
    await h?.close();
  });

  describe('spam where people look', () => {
    // No Message-ID, which Rspamd scores higher (MISSING_MID) than an ordinary message, yet below its reject threshold.
    const spam = (subject: string) =>
      [
        `Date: ${new Date().toUTCString().replace('GMT', '+0000')}`,
        `From: "Prize Office" <${alice.address}>`,
        `To: <${alice.address}>`,
        `Subject: ${subject}`,
        'MIME-Version: 1.0',
        'Content-Type: text/plain; charset=utf-8',
        '',
        ...Array.from({ length: 12 }, (_, i) => `Dear winner, claim your prize number ${i} today by sending your bank details to our office quickly.`),
        '',
      ].join('\r\n');
    // Submitted by the mailbox itself (587, AUTH): mail from the sandbox internet's bare client addresses
    // (no reverse DNS) already scores past Rspamd's greylisting threshold and is delayed, not filed.
    const send = (subject: string) =>
      inInternet(
        [
          'swaks',
          '--server',
          ipv4,
          '--port',
          '587',
          '--tls',
          '--auth',
          'PLAIN',
          '--auth-user',
          alice.address,
          '--auth-password',
          alice.password,
          '--from',
          alice.address,
          '--to',
          alice.address,
          '--data',
          '-',
        ],
        { input: spam(subject), timeoutMs: 120_000 },
      );
    let junked = '';

    it("files mail into Junk from the domain's junk score, set by the customer, and not below it", async () => {
      // An ordinary message (swaks adds Message-ID and Date) at the default junk score (6): the inbox.
      const plain = `guard e2e hello ${Date.now()}`;
      const ordinary = await swaks({
        server: ipv4,
        port: 587,
        tls: 'starttls',
        auth: { user: alice.address, password: alice.password },
        from: alice.address,
        to: alice.address,
        header: { Subject: plain },
        body: 'Lunch on Friday?',
      });
      expect(ordinary.code, ordinary.output).toBe(0);
      const uid = await until(`"${plain}" in INBOX`, async () => (await search(alice, 'INBOX', plain)) || null);
      expect((await imap(alice.address, alice.password, [`imaps://${ipv4}/INBOX;UID=${uid}`])).stdout).not.toMatch(/^X-Spam: Yes/im);
      // What Rspamd on the server scores the spam-like message (no Message-ID) for this domain.
      const probe = spam('probe').replace(/'/g, '');
      const scan = () =>
        machine(
          `printf '%s' '${probe}' | rspamc --connect 127.0.0.1:11334 --user ${alice.address} --from ${alice.address} --rcpt ${alice.address} --ip 198.51.100.99 --helo judge.example.net symbols`,
        );
      const first = await scan();
      const score = Number(/Score: (-?[\d.]+) \//.exec(first)?.[1] ?? NaN);
      expect(score, first).toBeGreaterThanOrEqual(2);
      expect(/Action: add header/.test(first), first).toBe(false);
      // The customer lowers the domain's junk score a point below it.
      const junkScore = Math.max(1, Math.floor(score) - 1);
      const put = await h.call('PUT', `${api()}/spam-settings`, { token: owner.token, body: { junkScore } });
      expect(put.status, JSON.stringify(put.body)).toBe(200);
      expect((await h.call('GET', `${api()}/spam-settings`, { token: owner.token })).body).toMatchObject({ junkScore, isDefault: false });
      // Rspamd has the new setting once it answers "add header" for the same message.
      await until('Rspamd applying the junk score', async () => /Action: add header/.test(await scan()));
      const second = `guard e2e offer ${Date.now()}`;
      const sent = await send(second);
      expect(sent.code, sent.output).toBe(0);
      junked = await until(`"${second}" in Junk`, async () => (await search(alice, 'Junk', second)) || null);
      expect(await search(alice, 'INBOX', second)).toBe('');
      const filed = (await imap(alice.address, alice.password, [`imaps://${ipv4}/Junk;UID=${junked}`])).stdout;
      expect(filed).toMatch(/^X-Spam: Yes/im);
    });

    it('teaches Rspamd: moving a message out of Junk raises its ham learn count, into Junk its spam count', async () => {
      expect(junked).not.toBe('');
      const learned = async (statfile: 'BAYES_HAM' | 'BAYES_SPAM') =>
        Number(new RegExp(`Statfile: ${statfile}[^\\n]*learned: (\\d+)`).exec(await machine('rspamc --connect 127.0.0.1:11334 stat'))?.[1] ?? 0);
      const hamBefore = await learned('BAYES_HAM');
      expect(Number.isFinite(hamBefore)).toBe(true);
      const moved = await imap(alice.address, alice.password, [`imaps://${ipv4}/Junk`, '-X', `UID MOVE ${junked} INBOX`]);
      expect(moved.code, moved.output).toBe(0);
      await until('BAYES_HAM learned count to rise', async () => (await learned('BAYES_HAM')) > hamBefore);
      // And back: the user decides it was spam after all.
      const spamBefore = await learned('BAYES_SPAM');
      const uid = await until('the message in INBOX', async () => (await search(alice, 'INBOX', 'guard e2e offer')) || null);
      expect((await imap(alice.address, alice.password, [`imaps://${ipv4}/INBOX`, '-X', `UID MOVE ${uid} Junk`])).code).toBe(0);
      await until('BAYES_SPAM learned count to rise', async () => (await learned('BAYES_SPAM')) > spamBefore);
    });
  });

  describe('app passwords and the main password', () => {
    let appPassword = '';
    it('takes an IMAP-scoped app password over IMAPS and refuses it for SMTP AUTH', async () => {
      const client = await extraClientAddress('198.18.0.81');
      const created = await h.call('POST', `${api()}/mailboxes/${bob.id}/app-passwords`, { token: owner.token, body: { name: 'Phone', scopes: ['imap'] } });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      appPassword = created.body.password as string;
      // Shown once: the list never has it, and the database keeps only a hash.
      const list = await h.call('GET', `${api()}/mailboxes/${bob.id}/app-passwords`, { token: owner.token });
      expect(JSON.stringify(list.body)).not.toContain(appPassword);
      const [row] = await h.database.db.select().from(mailboxAppPasswords).where(eq(mailboxAppPasswords.id, created.body.appPassword.id));
      expect(row!.passwordHash).toMatch(/^\{ARGON2ID\}\$argon2id\$/);
      await applied(bob);
      const login = await imap(bob.address, appPassword, [`imaps://${ipv4}/INBOX`, '-X', 'EXAMINE INBOX'], client);
      expect(login.code, login.output).toBe(0);
      const smtp = await swaks({
        server: ipv4,
        port: 587,
        tls: 'starttls',
        auth: { user: bob.address, password: appPassword },
        quitAfter: 'AUTH',
        localAddress: client,
      });
      expect(replies(smtp.output).join('\n')).toMatch(/^535 /m);
    });

    it('with the main password off for clients, refuses it on IMAP and SMTP; the app password still works', async () => {
      const client = await extraClientAddress('198.18.0.82');
      expect(appPassword).not.toBe('');
      // Before: the main password works on both.
      expect((await imap(bob.address, bob.password, [`imaps://${ipv4}/INBOX`, '-X', 'EXAMINE INBOX'], client)).code).toBe(0);
      const off = await h.call('PUT', `${api()}/mailboxes/${bob.id}/main-password-for-clients`, { token: owner.token, body: { enabled: false } });
      expect(off.status, JSON.stringify(off.body)).toBe(200);
      expect(off.body.mailbox.mainPasswordForClients).toBe(false);
      await applied(bob);
      const refusedImap = await imap(bob.address, bob.password, [`imaps://${ipv4}/INBOX`, '-X', 'EXAMINE INBOX'], client);
      expect(refusedImap.code, refusedImap.output).not.toBe(0);
      expect(refusedImap.output).toMatch(/Login denied|login failed|67/i);
      const refusedSmtp = await swaks({
        server: ipv4,
        port: 465,
        tls: 'wrapper',
        auth: { user: bob.address, password: bob.password },
        quitAfter: 'AUTH',
        localAddress: client,
      });
      expect(replies(refusedSmtp.output).join('\n')).toMatch(/^535 /m);
      expect((await imap(bob.address, appPassword, [`imaps://${ipv4}/INBOX`, '-X', 'EXAMINE INBOX'], client)).code).toBe(0);
    });
  });

  describe('webmail guessing', () => {
    it('bans a client after wrong webmail logins (twenty at most) on its own address, and serves everyone else', async () => {
      const guesser = await extraClientAddress('198.18.0.80');
      const site = `webmail.${domain}`;
      const curl = (args: string[]) => [
        'curl',
        '-sk',
        '--interface',
        guesser,
        '--connect-timeout',
        '5',
        '--max-time',
        '20',
        '--resolve',
        `${site}:443:${ipv4}`,
        ...args,
      ];
      // One wrong login as a browser makes it: the login page (session cookie, request token), then the form.
      const attempt = (i: number) =>
        inInternet(
          [
            'sh',
            '-c',
            [
              'jar=$(mktemp)',
              `tok=$(${curl(['-c', '"$jar"', `https://${site}/`]).join(' ')} | sed -n 's/.*name="_token" value="\\([^"]*\\)".*/\\1/p' | head -n 1)`,
              `${curl(['-b', '"$jar"', '-c', '"$jar"', '-o', '/dev/null', '-w', '%{http_code}', '--data', `"_task=login&_action=login&_timezone=UTC&_token=$tok&_user=guess-target@${domain}&_pass=wrong-${i}"`, `"https://${site}/?_task=login"`]).join(' ')}`,
              'rm -f "$jar"',
            ].join('; '),
          ],
          { timeoutMs: 60_000 },
        );
      const reachable = async () =>
        (await inInternet(curl(['-o', '/dev/null', '-w', '%{http_code}', `https://${site}/`]), { timeoutMs: 30_000 })).stdout === '200';
      expect(await reachable()).toBe(true);
      let banned = false;
      const answers: string[] = [];
      for (let i = 0; i < 20 && !banned; i++) {
        const res = await attempt(i);
        answers.push(`${i}: ${res.code} ${res.output.slice(-60)}`);
        banned = !(await reachable());
      }
      const status = await machine('fail2ban-client status roundcube-auth; tail -n 5 /var/log/roundcube/errors.log');
      expect(banned, `${answers.join('\n')}\n${status}`).toBe(true);
      expect(status).toContain(guesser);
      // Everyone else (the judges' own address) still gets the webmail.
      const other = await inInternet(['curl', '-sk', '-o', '/dev/null', '-w', '%{http_code}', '--resolve', `${site}:443:${ipv4}`, `https://${site}/`]);
      expect(other.stdout).toBe('200');
    });
  });

  // Issue 20, item 17: SSH answers the control plane only, and only as the deploy user.
  describe('SSH', () => {
    let server: typeof servers.$inferSelect;
    let dir: string;
    /** The real OpenSSH client, from the control plane's namespace, with the server's deploy key and pinned host key. */
    const ssh = (user: string, address: string, command: string) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        execFile(
          'ssh',
          [
            '-F',
            '/dev/null',
            '-i',
            join(dir, 'deploy_key'),
            '-o',
            'IdentitiesOnly=yes',
            '-o',
            'BatchMode=yes',
            '-o',
            `UserKnownHostsFile=${join(dir, 'known_hosts')}`,
            '-o',
            'StrictHostKeyChecking=yes',
            '-o',
            'ConnectTimeout=30',
            `${user}@${address}`,
            command,
          ],
          { timeout: 60_000 },
          (err, stdout, stderr) => {
            resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout: String(stdout), stderr: String(stderr) });
          },
        );
      });

    beforeAll(async () => {
      const [row] = await h.database.db.select().from(servers).where(eq(servers.id, serverId));
      server = row!;
      dir = await mkdtemp(join(tmpdir(), 'mailplane-ssh-e2e-'));
      const key = await readSecret(h.ctx.provisioning.vault, h.ctx.provisioning, server, 'deploy_key');
      await writeFile(join(dir, 'deploy_key'), key.endsWith('\n') ? key : `${key}\n`, { mode: 0o600 });
      const [type, body] = server.sshHostPublicKey!.split(' ');
      await writeFile(join(dir, 'known_hosts'), [server.ipv4, server.ipv6].map((a) => `${a} ${type} ${body}\n`).join(''));
    });
    afterAll(async () => {
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it("drops port 22 from anywhere else on the internet, on both families; the control plane gets sshd's banner", async () => {
      for (const address of [server.ipv4!, server.ipv6!]) {
        // The sandbox internet is not one of CONTROL_PLANE_ADDRESSES: nftables drops (no RST, no ICMP), so
        // only the clock ends the attempt (timeout's 124), where a refusal would end it at once with 1.
        const probe = await inInternet(['timeout', '5', 'bash', '-c', `exec 3<>/dev/tcp/${address}/22 && head -c 8 <&3`], { timeoutMs: 30_000 });
        expect(probe.code, `${address}: ${probe.output}`).toBe(124);
        expect(probe.stdout).toBe('');
        expect(await sshBanner(address)).toMatch(/^SSH-2\.0-OpenSSH/);
      }
    });

    it("refuses root with the control plane's key and lets the deploy user in, which is root only through sudo", async () => {
      expect(server.sshUser).toBe(DEPLOY_USER);
      for (const address of [server.ipv4!, server.ipv6!]) {
        const root = await ssh('root', address, 'id -un');
        expect(root.code, root.stderr).toBe(255);
        expect(root.stderr).toMatch(/Permission denied \(publickey\)/);
        const deploy = await ssh(DEPLOY_USER, address, 'id -un');
        expect(deploy, deploy.stderr).toMatchObject({ code: 0, stdout: `${DEPLOY_USER}\n` });
      }
      const unprivileged = await ssh(DEPLOY_USER, server.ipv4!, 'cat /etc/shadow');
      expect(unprivileged.code).not.toBe(0);
      expect(unprivileged.stderr).toMatch(/Permission denied/);
      expect((await ssh(DEPLOY_USER, server.ipv4!, 'sudo -n id -u')).stdout).toBe('0\n');
      // The one sudo rule on the server, and root's password locked (no console login either).
      expect(await machine(`sudo -l -U ${DEPLOY_USER}`)).toMatch(/\(root\) NOPASSWD: ALL/);
      expect((await machine('passwd -S root')).split(' ')[1]).toBe('L');
      // The server's sshd as it runs now: what sshd -T reports for a root login and the deploy user's.
      expect(await machine('sshd -T -C user=root,host=cp,addr=198.18.255.1')).toMatch(/^permitrootlogin no$/m);
    });

    it('lets no other account in, even one holding the deploy key (AllowUsers)', async () => {
      await machine(
        `useradd -m intruder && install -d -m 0700 -o intruder -g intruder /home/intruder/.ssh && install -m 0600 -o intruder -g intruder /home/${DEPLOY_USER}/.ssh/authorized_keys /home/intruder/.ssh/authorized_keys`,
      );
      try {
        expect(await machine('id -u intruder')).toMatch(/^\d+$/m);
        const intruder = await ssh('intruder', server.ipv4!, 'true');
        expect(intruder.code, intruder.stderr).toBe(255);
        expect(intruder.stderr).toMatch(/Permission denied \(publickey\)/);
      } finally {
        await machine('userdel -r intruder');
      }
    });
  });
});

/** The first line sshd sends, read from this process (the control plane's namespace). */
function sshBanner(address: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect({ host: address, port: 22, timeout: 10_000 });
    socket.setEncoding('utf8');
    socket.once('data', (line: string) => {
      socket.destroy();
      resolve(line);
    });
    socket.once('timeout', () => {
      socket.destroy();
      reject(new Error(`no SSH banner from ${address}`));
    });
    socket.once('error', reject);
  });
}
