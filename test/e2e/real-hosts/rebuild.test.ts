/**
 * A real Debian 12 mail server destroyed with its disk comes back whole. Mail is
 * delivered into two folders (one message while a backup runs), backed up by
 * restic on the server to the Object Storage emulator, the machine is deleted
 * behind mailplane's back, and the owner's rebuild brings it back on the same
 * IPv4 and IPv6 (AAAA unchanged, the new host answering on it): curl's IMAP client then finds the same messages, byte for byte, in every
 * folder; the certificate port 25 presents still matches the published TLSA
 * record; and mail sent after the rebuild passes DKIM and SPF by mailauth.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { Resolver } from 'node:dns/promises';
import { and, eq } from 'drizzle-orm';
import { authenticate } from 'mailauth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backupRuns } from '../../../src/db/schema/index.ts';
import type { Harness } from '../../support/provisioning.ts';
import { until } from '../../support/until.ts';
import { inInternet, swaks } from './support/internet.ts';
import { mailbox, missingForRealHosts, startRealHostProduct, type Mailbox } from './support/product.ts';

const missing = missingForRealHosts();
if (missing.length > 0 && process.env['MAILPLANE_REQUIRE_TOOLS'] === '1') throw new Error(`real-host e2e needs: ${missing.join(', ')}`);

describe.skipIf(missing.length > 0)('a real mail server destroyed with its disk comes back with every message', () => {
  let h: Harness;
  let owner: { token: string; workspaceId: string };
  let serverId: string;
  let ipv4: string;
  let hostname: string;
  const domain = 'rebuild-e2e.test';
  let mb: Mailbox;
  let resolver: Resolver;
  const api = () => `/v1/workspaces/${owner.workspaceId}/servers/${serverId}`;
  const imap = (url: string, cmd: string[] = []) =>
    inInternet(['curl', '-sS', '--insecure', '--user', `${mb.address}:${mb.password}`, `imaps://${ipv4}/${url}`, ...cmd], { timeoutMs: 30_000 });
  const send = (subject: string) =>
    swaks({
      server: ipv4,
      port: 587,
      tls: 'starttls',
      auth: { user: mb.address, password: mb.password },
      from: mb.address,
      to: mb.address,
      header: { Subject: subject },
      body: `${subject}\n${'a line of mail worth keeping\n'.repeat(40)}`,
    });
  const countOverIpv6 = async (address: string) =>
    Number(
      /\* (\d+) EXISTS/.exec(
        (
          await inInternet(['curl', '-sS', '--insecure', '--user', `${mb.address}:${mb.password}`, `imaps://[${address}]/INBOX`, '-X', 'EXAMINE INBOX'], {
            timeoutMs: 30_000,
          })
        ).stdout,
      )?.[1] ?? -1,
    );
  const count = async (folder: string) =>
    Number(/\* (\d+) EXISTS/.exec((await imap(encodeURIComponent(folder), ['-X', `EXAMINE "${folder}"`])).stdout)?.[1] ?? -1);

  /** sha256 of every message of a folder, sorted: the folder's content as a client reads it. */
  async function folderDigests(folder: string): Promise<string[]> {
    const n = await count(folder);
    const digests: string[] = [];
    for (let i = 1; i <= n; i++) {
      const message = (await imap(`${encodeURIComponent(folder)};MAILINDEX=${i}`)).stdout;
      digests.push(createHash('sha256').update(message).digest('hex'));
    }
    return digests.sort();
  }

  async function backupNow(): Promise<string> {
    const started = await h.call('POST', `${api()}/backups`, { token: owner.token });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    const before = Date.now();
    const run = await until(
      'a backup to finish',
      async () => {
        const [latest] = (await h.database.db.select().from(backupRuns).where(eq(backupRuns.serverId, serverId))).filter(
          (r) => r.startedAt.getTime() >= before - 5_000 && r.status !== 'running',
        );
        return latest;
      },
      600_000,
      1_000,
    );
    expect(run.status, run.error ?? '').toBe('succeeded');
    expect(run.simulated).toBe(false);
    return run.resticSnapshotId!;
  }

  const portSpki = async () => {
    const s = await inInternet([
      'sh',
      '-c',
      `openssl s_client -connect ${ipv4}:25 -starttls smtp -servername ${hostname} </dev/null 2>/dev/null | openssl x509`,
    ]);
    return createHash('sha256')
      .update(new X509Certificate(s.stdout).publicKey.export({ type: 'spki', format: 'der' }))
      .digest('hex');
  };
  const tlsaRecords = async () => (await resolver.resolveTlsa(`_25._tcp.${hostname}`)).map((r) => Buffer.from(r.data).toString('hex'));

  let before: { digests: Record<string, string[]>; spki: string; providerId: string; ipv6: string };

  beforeAll(async () => {
    h = await startRealHostProduct();
    resolver = new Resolver();
    resolver.setServers([h.sandbox.dns!.address]);
    owner = await h.customer(`owner@${domain}`);
    ({ serverId } = await h.subscribe(owner.token, owner.workspaceId, domain));
    const row = await h.waitForServer(serverId, ['ready'], 25 * 60_000);
    ipv4 = row.ipv4!;
    hostname = row.hostname;
    mb = await mailbox(h, owner.token, owner.workspaceId, serverId, 'alice');
  });

  afterAll(async () => {
    await h?.close();
  });

  it('backs up mail in every folder, including a message that arrives during the backup', async () => {
    const subjects = [1, 2, 3].map((i) => `rebuild e2e #${i}`);
    for (const subject of subjects) expect((await send(subject)).code).toBe(0);
    await until('three messages in INBOX', async () => (await count('INBOX')) === 3, 120_000, 1_000);
    // A second folder, as a client makes one: created and filled over IMAP.
    expect((await imap('', ['-X', 'CREATE Archive'])).code).toBe(0);
    expect((await imap('INBOX', ['-X', 'COPY 1:2 Archive'])).code).toBe(0);

    // One more message while the first backup runs; a second backup (the next daily one) has it for sure.
    const first = backupNow();
    expect((await send('rebuild e2e during the backup')).code).toBe(0);
    await first;
    await until('the fourth message', async () => (await count('INBOX')) === 4, 120_000, 1_000);
    await backupNow();

    const row = await h.waitForServer(serverId, ['ready']);
    before = {
      digests: { INBOX: await folderDigests('INBOX'), Archive: await folderDigests('Archive') },
      spki: await portSpki(),
      providerId: row.providerServerId!,
      ipv6: row.ipv6!,
    };
    expect(before.digests['INBOX']).toHaveLength(4);
    expect(before.digests['Archive']).toHaveLength(2);
    expect(await tlsaRecords()).toContain(before.spki);
    // The IPv6 DNS names is the one the host answers on.
    expect(await resolver.resolve6(hostname)).toEqual([before.ipv6]);
    expect(await countOverIpv6(before.ipv6)).toBe(4);
  });

  it('is rebuilt after its machine and disk are destroyed: same IPv4, every message, same TLS key', async () => {
    // The machine is lost: terminated behind mailplane's back, its disk with it.
    const url = `${h.sandbox.scaleway!.url}/instance/v1/zones/fr-par-1/servers/${before.providerId}`;
    const headers = { 'x-auth-token': h.env['SCW_SECRET_KEY']!, 'content-type': 'application/json' };
    expect((await fetch(`${url}/action`, { method: 'POST', headers, body: JSON.stringify({ action: 'terminate' }) })).status).toBeLessThan(300);
    await until('the instance to be gone', async () => (await fetch(url, { headers })).status === 404, 180_000, 1_000);
    expect((await inInternet(['curl', '-sS', '--max-time', '5', '--insecure', `imaps://${ipv4}/`])).code).not.toBe(0);

    const started = await h.call('POST', `${api()}/rebuild`, { token: owner.token, body: { reason: 'the server was lost' } });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    const row = await h.waitForServer(serverId, ['ready', 'failed'], 25 * 60_000);
    expect(row.status, row.statusReason ?? '').toBe('ready');
    expect(row.providerServerId).not.toBe(before.providerId);
    expect(row.ipv4).toBe(ipv4);
    // The same IPv6 too, in DNS and on the new host: mailplane fixes it in the routed prefix that
    // moved with the flexible IP, so the new instance's SLAAC address (another MAC) changes nothing.
    expect(row.ipv6).toBe(before.ipv6);
    expect(await resolver.resolve6(hostname)).toEqual([before.ipv6]);
    expect(await countOverIpv6(before.ipv6)).toBe(4);

    expect(await folderDigests('INBOX')).toEqual(before.digests['INBOX']);
    expect(await folderDigests('Archive')).toEqual(before.digests['Archive']);
    // The same key behind the certificate, so the TLSA record DANE senders check still matches.
    expect(await portSpki()).toBe(before.spki);
    expect(await tlsaRecords()).toContain(before.spki);
  });

  it('sends mail after the rebuild that passes DKIM and SPF by mailauth', async () => {
    const subject = `after the rebuild ${Date.now()}`;
    expect((await send(subject)).code).toBe(0);
    let message = '';
    await until(
      'the message to arrive',
      async () => {
        const uid = /SEARCH ([0-9 ]+)/
          .exec((await imap('INBOX', ['-X', `SEARCH SUBJECT "${subject}"`])).stdout)?.[1]
          ?.trim()
          .split(' ')[0];
        if (uid) message = (await imap(`INBOX;MAILINDEX=${uid}`)).stdout;
        return message.includes(subject);
      },
      120_000,
      1_000,
    );
    const [row] = await h.database.db
      .select()
      .from(backupRuns)
      .where(and(eq(backupRuns.serverId, serverId), eq(backupRuns.status, 'succeeded')));
    expect(row).toBeDefined();
    const result = await authenticate(Buffer.from(message.replace(/\r?\n/g, '\r\n')), {
      ip: ipv4,
      helo: hostname,
      sender: mb.address,
      mta: 'judge.example.net',
      resolver: (name: string, type: string) => resolver.resolve(name, type as 'TXT') as Promise<never>,
    });
    expect(result.dkim.results.map((r: { status: { result: string }; signingDomain: string }) => [r.signingDomain, r.status.result])).toContainEqual([
      domain,
      'pass',
    ]);
    expect(result.spf).toMatchObject({ status: { result: 'pass' } });
    // SPF's ip6: still names the address the server sends from over IPv6.
    const v6 = await authenticate(Buffer.from(message.replace(/\r?\n/g, '\r\n')), {
      ip: before.ipv6,
      helo: hostname,
      sender: mb.address,
      mta: 'judge.example.net',
      resolver: (name: string, type: string) => resolver.resolve(name, type as 'TXT') as Promise<never>,
    });
    expect(v6.spf).toMatchObject({ status: { result: 'pass' } });
  });
});
