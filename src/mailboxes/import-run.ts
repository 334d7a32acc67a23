/**
 * The `mailboxes.import` job: one run of import-mailbox.sh on the mailbox's server, fed the
 * request and the old password on stdin (never an argument, never a file left behind), its
 * progress lines kept on the row as they come, its per-folder counts and dsync state stored
 * when it ends. The password leaves the vault when the run ends, succeeded or failed; a run
 * that failed is not retried with it (the customer starts another, giving it again).
 */
import { and, desc, eq, inArray, isNotNull, lt, ne } from 'drizzle-orm';
import { readFileSync } from 'node:fs';
import { mailboxImports, servers, type ImportFolderCount } from '../db/schema/index.ts';
import { AppError } from '../errors.ts';
import { renderTemplate, TEMPLATES_DIR } from '../mailstack/render.ts';
import type { ProvisioningDeps } from '../../provisioning/context.ts';
import { SCRIPT_DIR, withSession } from '../../provisioning/remote.ts';
import { importPasswordOwner, type ImportRow } from './imports.ts';

/** A big mailbox over a slow old server takes hours; the job's own expiry is longer (jobs/catalog.ts). */
export const IMPORT_TIMEOUT_MS = 6 * 3600_000;

interface ScriptResult {
  folders: { name: string; before: number; after: number }[];
  state: string;
  simulated?: boolean;
}

function parseResult(stdout: string): ScriptResult {
  const line = stdout.trim().split('\n').at(-1) ?? '';
  try {
    const out = JSON.parse(line) as ScriptResult;
    if (
      Array.isArray(out.folders) &&
      typeof out.state === 'string' &&
      out.folders.every((f) => typeof f.name === 'string' && Number.isInteger(f.before) && Number.isInteger(f.after))
    )
      return out;
  } catch {
    /* reported below */
  }
  throw new AppError({ code: 'import_output_invalid', status: 502, title: 'Import output unreadable', detail: 'import-mailbox.sh printed no result' });
}

/** The state of the latest successful run from the same old mailbox: this run copies what came after it. */
async function previousState(deps: ProvisioningDeps, row: ImportRow): Promise<string | null> {
  const [prev] = await deps.database.db
    .select({ state: mailboxImports.syncState })
    .from(mailboxImports)
    .where(
      and(
        eq(mailboxImports.mailboxId, row.mailboxId),
        eq(mailboxImports.sourceHost, row.sourceHost),
        eq(mailboxImports.sourceUser, row.sourceUser),
        eq(mailboxImports.status, 'succeeded'),
        isNotNull(mailboxImports.syncState),
        ne(mailboxImports.id, row.id),
      ),
    )
    .orderBy(desc(mailboxImports.finishedAt))
    .limit(1);
  return prev?.state || null;
}

export async function runMailboxImport(deps: ProvisioningDeps, importId: string): Promise<ImportRow | null> {
  const { db } = deps.database;
  const owner = importPasswordOwner({ id: importId, workspaceId: null });
  const [row] = await db.select().from(mailboxImports).where(eq(mailboxImports.id, importId));
  if (!row || row.status === 'succeeded' || row.status === 'failed') {
    await deps.vault.remove(db, owner);
    return row ?? null;
  }
  const now = () => new Date(deps.clock.now());
  let password: string | null = null;
  // Progress lines are written in order, one at a time; the last one wins (and the outcome after them).
  let writes = Promise.resolve();
  try {
    const [server] = await db.select().from(servers).where(eq(servers.id, row.serverId));
    if (server?.status !== 'ready')
      throw new AppError({ code: 'server_not_ready', status: 409, title: 'Server not ready', detail: `the server is ${server?.status ?? 'gone'}` });
    password = await deps.vault.get(db, importPasswordOwner(row)).catch(() => {
      throw new AppError({
        code: 'import_password_gone',
        status: 409,
        title: 'Password no longer held',
        detail: 'the old password is no longer held; start the import again',
      });
    });
    await db.update(mailboxImports).set({ status: 'running', startedAt: now(), progress: 'connecting', error: null }).where(eq(mailboxImports.id, row.id));
    const state = await previousState(deps, row);
    const stdin = `${[row.address, row.sourceHost, row.sourceAddress, String(row.sourcePort), row.sourceSecurity, row.sourceUser, state ?? '-', password].join('\n')}\n`;
    const onLine = (line: string) => {
      const m = /^import-mailbox: (.{1,300})$/.exec(line.trim());
      if (!m) return;
      deps.log.info({ serverId: row.serverId, importId }, m[0]);
      writes = writes
        .then(async () => {
          await db.update(mailboxImports).set({ progress: m[1]! }).where(eq(mailboxImports.id, row.id));
        })
        .catch(() => {});
    };
    const stdout = await withSession(deps, server, async (session) => {
      const template = 'scripts/import-mailbox.sh';
      // Uploaded each time: a server installed before imports existed gets the script too.
      const content = renderTemplate(readFileSync(new URL(template, TEMPLATES_DIR), 'utf8'), { hostname: server.hostname }, template);
      await session.upload([{ path: `${SCRIPT_DIR}/import-mailbox.sh`, content, mode: 0o755 }]);
      const result = await session.exec(`bash ${SCRIPT_DIR}/import-mailbox.sh`, {
        stdin,
        timeoutMs: IMPORT_TIMEOUT_MS,
        onOutput: (chunk, stream) => {
          if (stream === 'stderr') for (const line of chunk.split('\n')) onLine(line);
        },
      });
      return result.stdout;
    });
    await writes;
    const out = parseResult(stdout);
    const folders: ImportFolderCount[] = out.folders.map((f) => ({ name: f.name, before: f.before, after: f.after, copied: Math.max(0, f.after - f.before) }));
    // The password leaves the vault in the transaction that records the end: nobody reads "succeeded"
    // while it is still there.
    const [done] = await db.transaction(async (tx) => {
      await deps.vault.remove(tx, owner);
      return tx
        .update(mailboxImports)
        .set({
          status: 'succeeded',
          folders,
          messagesCopied: folders.reduce((n, f) => n + f.copied, 0),
          syncState: out.state || null,
          simulated: out.simulated === true,
          progress: 'done',
          finishedAt: now(),
          error: null,
        })
        .where(eq(mailboxImports.id, row.id))
        .returning();
    });
    return done!;
  } catch (err) {
    await writes;
    const raw = err instanceof Error ? err.message : String(err);
    // The script never prints the password; this is the belt to those braces.
    const message = password ? raw.split(password).join('[password]') : raw;
    deps.log.warn({ serverId: row.serverId, importId, code: err instanceof AppError ? err.code : undefined }, 'mailbox import failed');
    const [failed] = await db.transaction(async (tx) => {
      await deps.vault.remove(tx, owner);
      return tx
        .update(mailboxImports)
        .set({ status: 'failed', error: importError(message), finishedAt: now(), progress: 'failed' })
        .where(eq(mailboxImports.id, row.id))
        .returning();
    });
    return failed ?? null;
  } finally {
    password = null;
    // Again for a run that ended before either write (or whose write failed): removing twice is harmless.
    await deps.vault.remove(db, owner);
  }
}

/** What the customer reads: the script's own last words when it said why, else the error. */
function importError(message: string): string {
  const said = [...message.matchAll(/import-mailbox: ([^\n]+)/g)].map((m) => m[1]!).filter((l) => !/^(connecting|copying)/.test(l));
  return (said.at(-1) ?? message).slice(0, 2000);
}

/**
 * Part of the `mailboxes.resync` sweep: an import whose job is gone for good (its workers died
 * past the job's retries and expiry) would keep the old password in the vault; it is marked
 * failed and the password deleted.
 */
export async function failAbandonedImports(deps: Pick<ProvisioningDeps, 'database' | 'vault' | 'clock'>): Promise<number> {
  const { db } = deps.database;
  const cutoff = new Date(deps.clock.now() - IMPORT_TIMEOUT_MS - 3600_000);
  const stale = await db
    .update(mailboxImports)
    .set({ status: 'failed', progress: 'failed', error: 'the import stopped without finishing; start it again', finishedAt: new Date(deps.clock.now()) })
    .where(and(inArray(mailboxImports.status, ['queued', 'running']), lt(mailboxImports.requestedAt, cutoff)))
    .returning({ id: mailboxImports.id });
  for (const { id } of stale) await deps.vault.remove(db, importPasswordOwner({ id, workspaceId: null }));
  return stale.length;
}
