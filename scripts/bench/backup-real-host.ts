/**
 * The backup figures on a real Debian 12 server (issue 19): restic on the server
 * backing up a generated mail store to the Object Storage emulator, first in full,
 * then after 1 % new mail; then the store grown to the rebuild size, the machine
 * destroyed with its disk, and the time from "server lost" to the mail being
 * readable over IMAP again, with each rebuild step's share.
 *
 * The mail is written straight into the Maildir (random base64 bodies, ~50 KB a
 * message: restic can neither deduplicate nor compress much of it, so this is the
 * costly end) and Dovecot's index is rebuilt, so generating 1 GB does not take an
 * hour of SMTP. Readable over IMAP is judged by curl's IMAP client on the server
 * itself (the bench process is outside the sandbox's network namespaces).
 */
import { asc, desc, eq } from 'drizzle-orm';
import { withSession } from '../../provisioning/remote.ts';
import { backupRuns, provisioningRuns, provisioningSteps, servers } from '../../src/db/schema/index.ts';
import { ZERO } from './profile.ts';
import { startProduct, type Product } from './product.ts';
import { realHostsMissing, stepShares } from './real-host.ts';
import { round, sleep } from './stats.ts';

export interface BackupFigure {
  reason: string;
  seconds: number;
  sizeMb: number;
  addedMb: number;
  files: number;
}
export type BackupBenchResult =
  | { skipped: string }
  | {
      first: BackupFigure;
      incremental: BackupFigure;
      beforeRebuild: BackupFigure;
      rebuild: {
        mailMb: number;
        messages: number;
        lostToReadableSeconds: number;
        runSeconds: number;
        steps: { name: string; seconds: number; share: number }[];
      };
    };

const MESSAGE_KB = 50;
const mb = (bytes: number | null) => round((bytes ?? 0) / 1024 / 1024, 1);

export async function benchBackups(databaseUrl: string, log: (line: string) => void, o: { firstMb: number; rebuildMb: number }): Promise<BackupBenchResult> {
  const missing = realHostsMissing('BENCH_BACKUPS');
  if (missing) return { skipped: missing };
  const product = await startProduct({
    databaseUrl,
    profile: ZERO,
    productRoutes: true,
    realHosts: {
      cacheDir: process.env['SANDBOX_HOSTS_CACHE_DIR'] ?? '/var/cache/mailplane',
      mirror: process.env['SANDBOX_DEBIAN_MIRROR'] ?? 'http://deb.debian.org/debian',
    },
    settings: { retry: { baseMs: 1_000, maxMs: 10_000, maxAttempts: 10 }, pollIntervalMs: 500, serverBootTimeoutMs: 180_000 },
  });
  try {
    const domain = 'backup-bench-mailplane.eu';
    const { token, workspaceId } = await product.customer(`owner@${domain}`);
    const serverId = await product.pay(await product.checkout(token, workspaceId, domain), domain);
    log('backups: provisioning one server on a Debian 12 container');
    const ready = await product.waitForServers([serverId], 30 * 60_000, 1_000);
    if (ready.statuses.get(serverId) !== 'ready') return { skipped: `the server ended ${ready.statuses.get(serverId)}, not ready` };
    const api = `/v1/workspaces/${workspaceId}/servers/${serverId}`;
    const box = await mailbox(product, token, api, 'bench');
    const onServer = async (script: string, timeoutMs = 1_800_000) => {
      const [server] = await product.ctx.database.db.select().from(servers).where(eq(servers.id, serverId));
      const out = await withSession(product.ctx.provisioning, server!, (s) => s.exec('bash -s', { stdin: script, check: false, timeoutMs }));
      if (out.code !== 0) throw new Error(`on the server: ${out.stderr.slice(-2000)}`);
      return out.stdout.trim();
    };
    const addMail = (count: number, tag: string) => onServer(generateMail(box.address, count, tag));
    const backup = async (): Promise<BackupFigure> => {
      const since = new Date();
      const post = await product.call('POST', `${api}/backups`, { token });
      if (post.status !== 202) throw new Error(`backup: ${post.status} ${JSON.stringify(post.body)}`);
      for (;;) {
        const [run] = await product.ctx.database.db
          .select()
          .from(backupRuns)
          .where(eq(backupRuns.serverId, serverId))
          .orderBy(desc(backupRuns.startedAt))
          .limit(1);
        if (run && run.startedAt >= new Date(since.getTime() - 1_000) && run.status !== 'running') {
          if (run.status !== 'succeeded' || run.simulated) throw new Error(`backup ${run.status}: ${run.error ?? 'simulated'}`);
          return {
            reason: run.reason,
            seconds: round((run.durationMs ?? 0) / 1000, 1),
            sizeMb: mb(run.sizeBytes),
            addedMb: mb(run.dataAddedBytes),
            files: run.files ?? 0,
          };
        }
        await sleep(500);
      }
    };

    const firstCount = Math.round((o.firstMb * 1024) / MESSAGE_KB);
    log(`backups: ${firstCount} messages (${o.firstMb} MB) into the Maildir, then the first backup`);
    await addMail(firstCount, 'first');
    const first = await backup();
    const onePercent = Math.max(1, Math.round(firstCount / 100));
    log(`backups: ${onePercent} new messages (1 %), then the incremental backup`);
    await addMail(onePercent, 'new');
    const incremental = await backup();

    const rebuildCount = Math.round((o.rebuildMb * 1024) / MESSAGE_KB);
    const more = Math.max(0, rebuildCount - firstCount - onePercent);
    log(`backups: ${more} more messages (to ${o.rebuildMb} MB), a backup, then the machine is destroyed and rebuilt`);
    await addMail(more, 'grow');
    const beforeRebuild = await backup();
    const messages = firstCount + onePercent + more;
    const imapCount = `curl -sS --insecure --user '${box.address}:${box.password}' imaps://127.0.0.1/ -X 'STATUS INBOX (MESSAGES)' | sed -n 's/.*MESSAGES \\([0-9]*\\).*/\\1/p'`;
    if (Number(await onServer(imapCount, 60_000)) !== messages) throw new Error('the server does not list every generated message before the rebuild');

    const [server] = await product.ctx.database.db.select().from(servers).where(eq(servers.id, serverId));
    const lostAt = Date.now();
    await destroyMachine(product, server!.providerServerId!);
    const started = await product.call('POST', `${api}/rebuild`, { token, body: { reason: 'bench: the server was lost' } });
    if (started.status !== 202) throw new Error(`rebuild: ${started.status} ${JSON.stringify(started.body)}`);
    const rebuilt = await product.waitForServers([serverId], 30 * 60_000, 1_000);
    if (rebuilt.statuses.get(serverId) !== 'ready') return { skipped: `the rebuild ended ${rebuilt.statuses.get(serverId)}` };
    for (;;) {
      if (Number(await onServer(imapCount, 60_000).catch(() => '0')) === messages) break;
      await sleep(500);
    }
    const readableAt = Date.now();
    const [run] = await product.ctx.database.db
      .select()
      .from(provisioningRuns)
      .where(eq(provisioningRuns.serverId, serverId))
      .orderBy(desc(provisioningRuns.createdAt))
      .limit(1);
    const rows = await product.ctx.database.db
      .select()
      .from(provisioningSteps)
      .where(eq(provisioningSteps.runId, run!.id))
      .orderBy(asc(provisioningSteps.startedAt));
    const wall = (readableAt - lostAt) / 1000;
    const steps = stepShares(rows, wall).map((s) => ({ name: s.name, seconds: s.seconds, share: s.shareOfWall }));
    const runSeconds = round(((run!.finishedAt ?? new Date()).getTime() - run!.createdAt.getTime()) / 1000, 1);
    return { first, incremental, beforeRebuild, rebuild: { mailMb: beforeRebuild.sizeMb, messages, lostToReadableSeconds: round(wall, 1), runSeconds, steps } };
  } finally {
    await product.close();
  }
}

/** Bash for the server: `count` messages of ~MESSAGE_KB into the mailbox's INBOX, then Dovecot's index rebuilt. */
function generateMail(address: string, count: number, tag: string): string {
  const [local, domain] = address.split('@') as [string, string];
  const dir = `/var/vmail/${domain}/${local}/Maildir`;
  const bodyBytes = Math.round((MESSAGE_KB * 1024 * 3) / 4);
  return `set -euo pipefail
install -d -o vmail -g vmail -m 0700 ${dir}/cur ${dir}/new ${dir}/tmp
cd ${dir}/cur
for i in $(seq 1 ${count}); do
  f="$(date +%s).M$RANDOM$RANDOM.${tag}$i.bench,S=0:2,S"
  { printf 'From: bench@example.net\\r\\nTo: ${address}\\r\\nSubject: bench ${tag} %s\\r\\nMessage-ID: <${tag}-%s-%s@bench>\\r\\n\\r\\n' "$i" "$i" "$RANDOM"; head -c ${bodyBytes} /dev/urandom | base64 -w 76; } > "$f"
done
chown -R vmail:vmail /var/vmail/${domain}
doveadm force-resync -u ${address} INBOX
`;
}

async function mailbox(product: Product, token: string, api: string, localPart: string): Promise<{ address: string; password: string }> {
  const created = await product.call('POST', `${api}/mailboxes`, { token, body: { localPart } });
  if (created.status !== 201) throw new Error(`mailbox: ${created.status} ${JSON.stringify(created.body)}`);
  const id = created.body.mailbox.id as string;
  for (;;) {
    const row = (await product.call('GET', `${api}/mailboxes`, { token })).body.mailboxes.find((m: { id: string }) => m.id === id);
    if (row?.sync.status === 'applied') break;
    if (row?.sync.status === 'failed') throw new Error(`mailbox sync: ${JSON.stringify(row.sync)}`);
    await sleep(300);
  }
  const exported = await product.call('POST', `${api}/mailboxes/${id}/password/export`, { token, body: { reason: 'bench: read the mail back over IMAP' } });
  if (exported.status !== 200) throw new Error(`export: ${exported.status} ${JSON.stringify(exported.body)}`);
  return { address: exported.body.address, password: exported.body.password };
}

/** The machine is lost: terminated behind mailplane's back through the Scaleway API, its disk with it. */
async function destroyMachine(product: Product, providerServerId: string): Promise<void> {
  const url = `${product.sandbox.env['SCW_API_URL']}/instance/v1/zones/fr-par-1/servers/${providerServerId}`;
  const headers = { 'x-auth-token': product.sandbox.env['SCW_SECRET_KEY']!, 'content-type': 'application/json' };
  const res = await fetch(`${url}/action`, { method: 'POST', headers, body: JSON.stringify({ action: 'terminate' }) });
  if (res.status >= 300) throw new Error(`terminate: ${res.status} ${await res.text()}`);
  while ((await fetch(url, { headers })).status !== 404) await sleep(1_000);
}

export function renderBackups(r: BackupBenchResult): string {
  const out = ['## Real host: backups and the rebuild of a lost server', ''];
  if ('skipped' in r) return [...out, `Not measured in this run: ${r.skipped}.`, ''].join('\n');
  const row = (label: string, f: BackupFigure) => `| ${label} | ${f.seconds} | ${f.sizeMb} | ${f.addedMb} | ${f.files} |`;
  out.push(
    "restic on a real Debian 12 server (SANDBOX_HOSTS=container) backing up to the Object Storage emulator on the same machine, so the network costs nothing here: in production the upload to the region's Object Storage adds to the first backup, far less to an incremental one. Messages are ~50 KB of random base64 (little to compress or deduplicate).",
    '',
    '| backup | seconds | snapshot MB | new data MB | files |',
    '| --- | --- | --- | --- | --- |',
    row('first (full)', r.first),
    row('incremental, after 1 % new mail', r.incremental),
    row('before the rebuild', r.beforeRebuild),
    '',
    `**Rebuild of a server with ${r.rebuild.mailMb} MB of mail (${r.rebuild.messages} messages): ${r.rebuild.lostToReadableSeconds} s from "server lost" to every message readable over IMAP** (the rebuild run itself: ${r.rebuild.runSeconds} s). Target: incremental ≤ 30 s; rebuild of 1 GB ≤ 5 minutes. Steps overlap, so shares add up to more than 100 %.`,
    '',
    '| rebuild step | seconds | share of lost → readable |',
    '| --- | --- | --- |',
    ...r.rebuild.steps.map((s) => `| ${s.name} | ${s.seconds} | ${Math.round(s.share * 100)} % |`),
    '',
  );
  return out.join('\n');
}
