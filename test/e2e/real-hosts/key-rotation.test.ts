/**
 * Keys rotate on real Debian 12 servers without a message failing on the way: two servers (A sends,
 * B receives). DKIM: a forced rotation of A's keys through the API, mailauth as the receiver's judge.
 * A message signed before the rotation still verifies during the overlap; mail sent after it
 * verifies with the new selectors (RSA and Ed25519); once the retire transition has run, the old
 * selectors answer an empty key and the old message no longer verifies. TLSA: B's TLS key rolls
 * over; while both keys' records are published port 25 still presents the old key (openssl), then
 * the new one, and only its record is left; A's Postfix delivers to B at every stage.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { Resolver } from 'node:dns/promises';
import { and, eq } from 'drizzle-orm';
import { authenticate } from 'mailauth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../../../src/audit.ts';
import { dkimKeys, provisioningRuns, servers } from '../../../src/db/schema/index.ts';
import { advanceDkimKey } from '../../../src/servers/dkim-sweep.ts';
import type { Harness } from '../../support/provisioning.ts';
import { until } from '../../support/until.ts';
import { inInternet, swaks } from './support/internet.ts';
import { waitForImapMessage } from './support/mail-probes.ts';
import { mailbox, missingForRealHosts, startRealHostProduct, type Mailbox } from './support/product.ts';

const missing = missingForRealHosts();
if (missing.length > 0 && process.env['MAILPLANE_REQUIRE_TOOLS'] === '1') throw new Error(`real-host e2e needs: ${missing.join(', ')}`);

interface Site {
  domain: string;
  token: string;
  workspaceId: string;
  serverId: string;
  ipv4: string;
  hostname: string;
  mailbox: Mailbox;
}
type DkimResult = { status: { result: string }; signingDomain: string; selector: string; algo: string };

describe.skipIf(missing.length > 0)('DKIM keys rotate on real servers while mail keeps verifying', () => {
  let h: Harness;
  let resolver: Resolver;
  const sites: Record<'a' | 'b', Site> = {} as never;
  let before: { selector: string; ed25519Selector: string | null; message: string };

  const send = async (subject: string) => {
    const { a, b } = sites;
    const sent = await swaks({
      server: a.ipv4,
      port: 587,
      tls: 'starttls',
      auth: { user: a.mailbox.address, password: a.mailbox.password },
      from: a.mailbox.address,
      to: b.mailbox.address,
      header: { Subject: subject },
      body: `${subject}\n`,
    });
    expect(sent.code, sent.output).toBe(0);
    const message = await waitForImapMessage(b.ipv4, b.mailbox.address, b.mailbox.password, `SUBJECT "${subject}"`, 120_000);
    expect(message, 'the message did not reach B within 2 minutes').toContain(subject);
    return message;
  };
  /** mailauth, as B's receiving side would judge the message now (DNS as the sandbox internet answers it). */
  const judge = async (message: string): Promise<DkimResult[]> => {
    const { a, b } = sites;
    const result = await authenticate(Buffer.from(message.replace(/\r?\n/g, '\r\n')), {
      ip: a.ipv4,
      helo: a.hostname,
      sender: a.mailbox.address,
      mta: b.hostname,
      resolver: (name: string, type: string) => resolver.resolve(name, type as 'TXT') as Promise<never>,
    });
    return result.dkim.results as unknown as DkimResult[];
  };
  const verdicts = (results: DkimResult[]) => results.map((r) => [r.selector, r.status.result]);
  const txt = async (name: string) => (await resolver.resolveTxt(name)).map((chunks) => chunks.join(''));
  const portSpki = async (site: Site) => {
    const s = await inInternet([
      'sh',
      '-c',
      `openssl s_client -connect ${site.ipv4}:25 -starttls smtp -servername ${site.hostname} </dev/null 2>/dev/null | openssl x509`,
    ]);
    return createHash('sha256')
      .update(new X509Certificate(s.stdout).publicKey.export({ type: 'spki', format: 'der' }))
      .digest('hex');
  };
  const tlsaRecords = async (site: Site) => (await resolver.resolveTlsa(`_25._tcp.${site.hostname}`)).map((r) => Buffer.from(r.data).toString('hex')).sort();
  const runOf = (runId: string) =>
    until(
      'the run to finish',
      async () => {
        const [row] = await h.database.db.select().from(provisioningRuns).where(eq(provisioningRuns.id, runId));
        return row && row.status !== 'running' ? row : null;
      },
      10 * 60_000,
      1_000,
    );
  const activeKey = async () =>
    (
      await h.database.db
        .select()
        .from(dkimKeys)
        .where(and(eq(dkimKeys.serverId, sites.a.serverId), eq(dkimKeys.state, 'active')))
    )[0]!;

  beforeAll(async () => {
    h = await startRealHostProduct();
    resolver = new Resolver();
    resolver.setServers([h.sandbox.dns!.address]);
    await Promise.all(
      (
        [
          ['a', 'rotate-a.test', 'alice'],
          ['b', 'rotate-b.test', 'bob'],
        ] as const
      ).map(async ([key, domain, local]) => {
        const { token, workspaceId } = await h.customer(`owner@${domain}`);
        const { serverId } = await h.subscribe(token, workspaceId, domain);
        const row = await h.waitForServer(serverId, ['ready'], 25 * 60_000);
        sites[key] = {
          domain,
          token,
          workspaceId,
          serverId,
          ipv4: row.ipv4!,
          hostname: row.hostname,
          mailbox: await mailbox(h, token, workspaceId, serverId, local),
        };
      }),
    );
  });

  afterAll(async () => {
    await h?.close();
  });

  it('signs with RSA and Ed25519 from the start: both signatures pass by mailauth', async () => {
    const key = await activeKey();
    const message = await send(`before the rotation ${Date.now()}`);
    const results = await judge(message);
    expect(verdicts(results)).toContainEqual([key.selector, 'pass']);
    expect(key.ed25519Selector).toBeTruthy();
    expect(verdicts(results)).toContainEqual([key.ed25519Selector, 'pass']);
    expect(results.find((r) => r.selector === key.ed25519Selector)?.algo).toBe('ed25519-sha256');
    before = { selector: key.selector, ed25519Selector: key.ed25519Selector, message };
  });

  it('after a forced rotation, mail verifies with the new selectors and the old message still verifies', async () => {
    const { a } = sites;
    const started = await h.call('POST', `/v1/workspaces/${a.workspaceId}/servers/${a.serverId}/dkim/rotate`, {
      token: a.token,
      body: { reason: 'e2e: rotate now' },
    });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    const run = await runOf(started.body.runId);
    expect(run.status, run.error ?? '').toBe('succeeded');
    const key = await activeKey();
    expect(key.selector).not.toBe(before.selector);

    const results = await judge(await send(`after the rotation ${Date.now()}`));
    expect(verdicts(results)).toContainEqual([key.selector, 'pass']);
    expect(verdicts(results)).toContainEqual([key.ed25519Selector, 'pass']);
    // Rspamd no longer signs with the previous keys.
    expect(results.map((r) => r.selector)).not.toContain(before.selector);

    // Overlap: the message signed before the rotation is still verifiable (its records are still published).
    expect(verdicts(await judge(before.message))).toContainEqual([before.selector, 'pass']);

    const dns = await h.call('GET', `/v1/workspaces/${a.workspaceId}/servers/${a.serverId}/dns`, { token: a.token });
    const states = Object.fromEntries(dns.body.dkimKeys.map((k: { selector: string; state: string }) => [k.selector, k.state]));
    expect(states).toMatchObject({ [before.selector]: 'retiring', [key.selector]: 'active' });
  });

  it('after the retire step, the old selectors answer an empty key and the old message fails', async () => {
    const [old] = await h.database.db
      .select()
      .from(dkimKeys)
      .where(and(eq(dkimKeys.serverId, sites.a.serverId), eq(dkimKeys.selector, before.selector)));
    // The overlap has passed: the transition runs as the sweep runs it, with the clock past next_transition_at.
    const later = { ...h.ctx.provisioning, clock: { ...h.ctx.clock, now: () => old!.nextTransitionAt!.getTime() + 60_000 } };
    expect(await advanceDkimKey(later, { keyId: old!.id })).toBe('revoked');

    expect(await txt(`${before.selector}._domainkey.${sites.a.domain}`)).toEqual(['v=DKIM1; k=rsa; p=']);
    expect(await txt(`${before.ed25519Selector}._domainkey.${sites.a.domain}`)).toEqual(['v=DKIM1; k=ed25519; p=']);
    const results = await judge(before.message);
    expect(results.find((r) => r.selector === before.selector)?.status.result).not.toBe('pass');
    expect(results.find((r) => r.selector === before.ed25519Selector)?.status.result).not.toBe('pass');
  });

  it("rolls B's TLS key over: both TLSA records before the switch, the new key served after it, then only its record", async () => {
    const { b } = sites;
    const old = await portSpki(b);
    expect(await tlsaRecords(b)).toEqual([old]);
    const started = await h.call('POST', `/v1/admin/servers/${b.serverId}/tls/rollover`, {
      token: await h.staff('tls-ops@rotate-b.test', 'ops'),
      body: { reason: 'e2e: the key must change' },
    });
    expect(started.status, JSON.stringify(started.body)).toBe(202);

    // Published, waiting for the TTL (TLSA_ROLLOVER_WAIT_SECONDS, 15 minutes): both records answer,
    // port 25 still presents the current key, and mail from A (Postfix with DANE) still gets through.
    await h.waitForStep(b.serverId, 'switch_tls_key', 'waiting', 5 * 60_000);
    const [waiting] = await h.database.db.select().from(servers).where(eq(servers.id, b.serverId));
    const next = waiting!.tlsNextSpkiSha256!;
    expect(await tlsaRecords(b)).toEqual([old, next].sort());
    expect(await portSpki(b)).toBe(old);
    await send(`during the TLSA rollover ${Date.now()}`);

    // The wait is over as if its 15 minutes had passed: the check that was parked runs now.
    await h.database.db
      .update(servers)
      .set({ tlsNextTlsaAt: new Date(Date.now() - 16 * 60_000) })
      .where(eq(servers.id, b.serverId));
    await h.ctx.engine.recheckWaiting(SYSTEM_ACTOR, b.serverId);
    const run = await runOf(started.body.runId);
    expect(run.status, run.error ?? '').toBe('succeeded');
    expect(await portSpki(b)).toBe(next);
    expect(await tlsaRecords(b)).toEqual([next]);
    await send(`after the TLSA rollover ${Date.now()}`);
  });
});
