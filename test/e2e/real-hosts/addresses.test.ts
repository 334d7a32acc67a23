/**
 * Addresses, forwarding and the vacation reply on two real Debian 12 servers
 * (issue 23, proofs 1–3), provisioned in parallel once and judged by swaks,
 * curl's IMAP client, OpenSSL's ManageSieve client and mailauth:
 * an alias and a catch-all deliver into the right mailbox, an unknown address
 * is refused at RCPT once the catch-all is off, a mailbox sends as its alias
 * and only as its own; A forwards to B with an SRS sender that passes SPF and
 * the original DKIM signature intact, and never forwards what Rspamd rejects;
 * the vacation reply goes once to a sender who writes twice, never to a list
 * nor to an empty return path; ManageSieve takes a login only after STARTTLS.
 */
import { Resolver } from 'node:dns/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authenticate } from 'mailauth';
import type { Harness } from '../../support/provisioning.ts';
import { until as waitUntil } from '../../support/until.ts';
import { inInternet, replies, swaks } from './support/internet.ts';
import { mailbox, missingForRealHosts, startRealHostProduct, type Mailbox } from './support/product.ts';

const missing = missingForRealHosts();
if (missing.length > 0 && process.env['MAILPLANE_REQUIRE_TOOLS'] === '1') throw new Error(`real-host e2e needs: ${missing.join(', ')}`);
if (missing.length > 0) console.warn(`real-host e2e skipped, missing: ${missing.join(', ')} (.ci/run installs them)`);

const until = <T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 180_000) => waitUntil(what, probe, timeoutMs, 1_000);
const GTUBE = 'XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X';

interface Site {
  domain: string;
  token: string;
  workspaceId: string;
  serverId: string;
  ipv4: string;
  hostname: string;
  providerId: string;
}

describe.skipIf(missing.length > 0)('addresses, forwarding and vacation on real hosts', () => {
  let h: Harness;
  let resolver: Resolver;
  const sites = {} as Record<'a' | 'b', Site>;
  // A: alice (aliases, catch-all), fwd (forwards to bob on B), away (vacation). B: bob.
  let alice: Mailbox;
  let fwd: Mailbox;
  let away: Mailbox;
  let bob: Mailbox;
  const run = Date.now().toString(36);
  const vacationSubject = `Away until Monday ${run}`;

  const api = (s: Site) => `/v1/workspaces/${s.workspaceId}/servers/${s.serverId}`;
  const call = async (s: Site, method: string, path: string, body?: unknown) => {
    const res = await h.call(method, `${api(s)}${path}`, { token: s.token, body });
    if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  };
  /** Until every alias, catch-all, forward and vacation of the server is on it (apply-addresses.sh ran). */
  const addressesApplied = (s: Site) =>
    until('the addresses on the server', async () => {
      const body = await call(s, 'GET', '/addresses');
      const rows = [...body.aliases, ...body.forwards, ...body.vacations, ...(body.catchAll ? [body.catchAll] : [])];
      return rows.every((r: { sync: { status: string } }) => r.sync.status === 'applied') ? body : null;
    });
  const imap = (_s: Site, mb: Mailbox, args: string[]) =>
    inInternet(['curl', '-sS', '--insecure', '--user', `${mb.address}:${mb.password}`, ...args], { timeoutMs: 30_000 });
  const search = async (s: Site, mb: Mailbox, criteria: string): Promise<string[]> =>
    /SEARCH ([0-9 ]+)/
      .exec((await imap(s, mb, [`imaps://${s.ipv4}/INBOX`, '-X', `SEARCH ${criteria}`])).stdout)?.[1]
      ?.trim()
      .split(' ') ?? [];
  const fetchMessage = async (s: Site, mb: Mailbox, criteria: string, timeoutMs = 180_000): Promise<string> => {
    const n = await until(`${criteria} in ${mb.address}`, async () => (await search(s, mb, criteria))[0], timeoutMs).catch(async (err: Error) => {
      throw new Error(`${err.message}\n${await diagnostics()}`);
    });
    return (await imap(s, mb, [`imaps://${s.ipv4}/INBOX;MAILINDEX=${n}`])).stdout;
  };
  const submit = (s: Site, mb: Mailbox, o: { from?: string; to: string; subject: string; header?: Record<string, string>; body?: string }) =>
    swaks({
      server: s.ipv4,
      port: 587,
      tls: 'starttls',
      auth: { user: mb.address, password: mb.password },
      from: o.from ?? mb.address,
      to: o.to,
      header: { Subject: o.subject, ...o.header },
      ...(o.body ? { body: o.body } : {}),
    });
  const inMachine = (s: Site, argv: string[]) => h.sandbox.realHosts!.lifecycle.inMachine(s.providerId, argv);
  const diagnostics = async () => {
    const out: string[] = [];
    for (const s of Object.values(sites)) {
      out.push(
        `--- ${s.hostname}\n${await inMachine(s, ['sh', '-c', 'postqueue -p | tail -n 15; journalctl -q --no-pager -n 80 -t postfix/smtp -t postfix/smtpd -t postfix/cleanup -t postfix/srscleanup -t postfix/pickup -t postfix/qmgr -t postfix/lmtp -t postsrsd -t dovecot; true']).catch(String)}`,
      );
    }
    return out.join('\n');
  };

  beforeAll(async () => {
    h = await startRealHostProduct();
    resolver = new Resolver();
    resolver.setServers([h.sandbox.dns!.address]);
    const order = [
      ['a', 'alpha-addr.test'],
      ['b', 'beta-addr.test'],
    ] as const;
    await Promise.all(
      order.map(async ([key, domain]) => {
        const { token, workspaceId } = await h.customer(`owner@${domain}`);
        const { serverId } = await h.subscribe(token, workspaceId, domain);
        const row = await h.waitForServer(serverId, ['ready'], 25 * 60_000);
        sites[key] = { domain, token, workspaceId, serverId, ipv4: row.ipv4!, hostname: row.hostname, providerId: row.providerServerId! };
      }),
    );
    const a = sites.a;
    [alice, fwd, away, bob] = await Promise.all([
      mailbox(h, a.token, a.workspaceId, a.serverId, 'alice'),
      mailbox(h, a.token, a.workspaceId, a.serverId, 'fwd'),
      mailbox(h, a.token, a.workspaceId, a.serverId, 'away'),
      mailbox(h, sites.b.token, sites.b.workspaceId, sites.b.serverId, 'bob'),
    ]);
    const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
    await call(a, 'POST', '/aliases', { localPart: 'sales', mailboxId: alice.id });
    await call(a, 'PUT', '/catch-all', { mailboxId: alice.id });
    await call(a, 'PUT', `/mailboxes/${fwd.id}/forward`, { target: bob.address, keepCopy: true });
    await call(a, 'PUT', `/mailboxes/${away.id}/vacation`, {
      startsOn: day(-1),
      endsOn: day(1),
      subject: vacationSubject,
      message: 'I am away.\nBack on Monday: "quotes" and \\ kept.',
      days: 3,
    });
    await addressesApplied(a);
  });

  afterAll(async () => {
    await h?.close();
  });

  it('an alias and (with the catch-all on) an unknown address arrive in the mailbox; with it off the unknown address is refused at RCPT', async () => {
    const a = sites.a;
    const toAlias = `to the alias ${run}`;
    const toUnknown = `to anyone ${run}`;
    // From another server, as mail from outside arrives: bob on B, signed and sent by B.
    expect((await submit(sites.b, bob, { to: `sales@${a.domain}`, subject: toAlias })).code).toBe(0);
    expect((await submit(sites.b, bob, { to: `nobody-${run}@${a.domain}`, subject: toUnknown })).code).toBe(0);
    expect(await fetchMessage(a, alice, `SUBJECT "${toAlias}"`)).toContain(toAlias);
    expect(await fetchMessage(a, alice, `SUBJECT "${toUnknown}"`)).toContain(toUnknown);
    // A mailbox's own mail stays its own with a catch-all on (identity lines before @domain).
    const own = `to fwd itself ${run}`;
    expect((await submit(sites.b, bob, { to: fwd.address, subject: own })).code).toBe(0);
    expect(await fetchMessage(a, fwd, `SUBJECT "${own}"`)).toContain(own);
    expect(await search(a, alice, `SUBJECT "${own}"`)).toEqual([]);

    await call(a, 'PUT', '/catch-all', { mailboxId: null });
    await addressesApplied(a);
    const refused = await swaks({ server: a.ipv4, from: bob.address, to: `nobody-else-${run}@${a.domain}`, quitAfter: 'RCPT' });
    expect(replies(refused.output).join('\n')).toMatch(/^550 5\.1\.1 /m);
    const alias = await swaks({ server: a.ipv4, from: bob.address, to: `sales@${a.domain}`, quitAfter: 'RCPT' });
    expect(replies(alias.output).at(-2), alias.output).toMatch(/^250 /); // the RCPT, before QUIT's 221
  });

  it('a mailbox sends as its alias, and not as an alias of another mailbox', async () => {
    const a = sites.a;
    const own = await submit(a, alice, { from: `sales@${a.domain}`, to: bob.address, subject: `as sales ${run}` });
    expect(own.code, own.output).toBe(0);
    const foreign = await swaks({
      server: a.ipv4,
      port: 587,
      tls: 'starttls',
      auth: { user: fwd.address, password: fwd.password },
      from: `sales@${a.domain}`,
      to: bob.address,
      quitAfter: 'RCPT',
    });
    expect(replies(foreign.output).join('\n')).toMatch(/^553 5\.7\.1 .*not owned by user/m);
    expect(await fetchMessage(sites.b, bob, `SUBJECT "as sales ${run}"`)).toMatch(new RegExp(`^From: .*sales@${a.domain.replace(/\./g, '\\.')}`, 'mi'));
  });

  it('forwards A → B with an SRS sender that passes SPF, the original DKIM signature intact, a copy kept; GTUBE is refused, not forwarded', async () => {
    const a = sites.a;
    const b = sites.b;
    const subject = `forwarded ${run}`;
    const spam = `gtube ${run}`;
    // GTUBE from the internet to the forwarding mailbox: Rspamd's reject ends it at DATA.
    const gtube = await swaks({ server: a.ipv4, from: `someone@${b.domain}`, to: fwd.address, header: { Subject: spam }, body: `${GTUBE}\n` });
    expect(replies(gtube.output).join('\n'), gtube.output).toMatch(/^354 [\s\S]*^5\d\d /m);
    // Written on B (DKIM-signed by B), sent to A, forwarded by A back to B.
    expect((await submit(b, bob, { to: fwd.address, subject, body: 'Forward me, untouched.' })).code).toBe(0);
    const message = await fetchMessage(b, bob, `SUBJECT "${subject}" FROM "${bob.address}"`);
    const returnPath = /^Return-Path: <([^>]*)>/im.exec(message)?.[1] ?? '';
    expect(returnPath).toMatch(new RegExp(`^SRS0=[^@]+=${b.domain.replace(/\./g, '\\.')}=bob@${a.domain.replace(/\./g, '\\.')}$`, 'i'));
    const result = await authenticate(Buffer.from(message.replace(/\r?\n/g, '\r\n')), {
      ip: a.ipv4,
      helo: a.hostname,
      sender: returnPath,
      mta: b.hostname,
      resolver: (name: string, type: string) => resolver.resolve(name, type as 'TXT') as Promise<never>,
    });
    expect(result.spf).toMatchObject({ status: { result: 'pass' } });
    expect(result.dkim.results.map((r: { status: { result: string }; signingDomain: string }) => [r.signingDomain, r.status.result])).toContainEqual([
      b.domain,
      'pass',
    ]);
    expect(await fetchMessage(a, fwd, `SUBJECT "${subject}"`)).toContain(subject);
    // The forward came after the GTUBE attempt: had A taken it, it would be in both places by now.
    expect(await search(b, bob, `SUBJECT "${spam}"`)).toEqual([]);
    expect(await search(a, fwd, `SUBJECT "${spam}"`)).toEqual([]);
  });

  it('the vacation reply goes once to a sender who writes twice, never to a list nor to an empty return path', async () => {
    const a = sites.a;
    const b = sites.b;
    const sent = [`first ${run}`, `second ${run}`, `list ${run}`, `no return path ${run}`];
    expect((await submit(b, bob, { to: away.address, subject: sent[0]! })).code).toBe(0);
    expect((await submit(b, bob, { to: away.address, subject: sent[1]! })).code).toBe(0);
    expect((await submit(b, bob, { to: away.address, subject: sent[2]!, header: { Precedence: 'list', 'List-Id': `<news.${b.domain}>` } })).code).toBe(0);
    // An empty envelope sender, as a bounce has, with bob in From: (sendmail on B, as a local program sends it).
    await inMachine(b, [
      'sh',
      '-c',
      'printf "From: <%s>\\nTo: <%s>\\nSubject: %s\\n\\nNo return path.\\n" "$1" "$2" "$3" | /usr/sbin/sendmail -i -f "<>" "$2"',
      'sh',
      bob.address,
      away.address,
      sent[3]!,
    ]);
    const first = await fetchMessage(a, away, `SUBJECT "${sent[0]}"`);
    for (const subject of sent.slice(1)) await fetchMessage(a, away, `SUBJECT "${subject}"`);
    // Every reply Sieve made was handed to A's Postfix during those deliveries: once A's queue is empty
    // and a message sent after them has reached bob, every reply has too.
    await until("A's queue empty", async () => (await inMachine(a, ['postqueue', '-j'])).trim() === '');
    const marker = `after the replies ${run}`;
    expect((await submit(a, alice, { to: bob.address, subject: marker })).code).toBe(0);
    await fetchMessage(b, bob, `SUBJECT "${marker}"`);
    const reply = await fetchMessage(b, bob, `SUBJECT "${vacationSubject}"`);
    expect(await search(b, bob, `SUBJECT "${vacationSubject}"`)).toHaveLength(1);
    expect(reply).toMatch(/^Auto-Submitted: auto-replied/im);
    expect(reply).toMatch(/I am away\.\r?\nBack on Monday: "quotes" and \\ kept\./);
    const messageId = /^Message-ID: (<[^>]+>)/im.exec(first)?.[1];
    expect(reply).toContain(`In-Reply-To: ${messageId}`);
  });

  it('ManageSieve answers on 4190 and takes a login only after STARTTLS', async () => {
    const a = sites.a;
    const plain = await inInternet(['python3', '-c', MANAGESIEVE_PLAIN, a.ipv4, alice.address, alice.password], { timeoutMs: 60_000 });
    expect(plain.stdout).toMatch(/"STARTTLS"/);
    expect(plain.stdout).toMatch(/^AUTHENTICATE: NO/m);
    const auth = Buffer.from(`\0${alice.address}\0${alice.password}`).toString('base64');
    const tls = await inInternet(
      [
        'sh',
        '-c',
        `printf 'AUTHENTICATE "PLAIN" "%s"\\r\\nLISTSCRIPTS\\r\\nLOGOUT\\r\\n' "$1" | openssl s_client -quiet -starttls sieve -connect "$2:4190" 2>/dev/null`,
        'sh',
        auth,
        a.ipv4,
      ],
      { timeoutMs: 60_000 },
    );
    expect(tls.stdout).toMatch(/^OK "Logged in\."/m);
    expect(tls.stdout).toMatch(/^OK "Listscripts completed\."/m);
  });
});

/** ManageSieve without TLS: the capabilities, then a login attempt, which must be refused. */
const MANAGESIEVE_PLAIN = String.raw`
import base64, socket, sys
host, user, password = sys.argv[1:4]
s = socket.create_connection((host, 4190), timeout=30)
f = s.makefile('rb')
def until_ok():
    lines = []
    while True:
        line = f.readline().decode('utf-8', 'replace').rstrip('\r\n')
        lines.append(line)
        if line.startswith(('OK', 'NO', 'BYE')) or not line:
            return lines
print('\n'.join(until_ok()))
token = base64.b64encode(b'\0' + user.encode() + b'\0' + password.encode()).decode()
s.sendall(('AUTHENTICATE "PLAIN" "%s"\r\n' % token).encode())
print('AUTHENTICATE: ' + until_ok()[-1])
`;
