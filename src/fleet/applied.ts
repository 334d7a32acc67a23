/**
 * What a server was given: recorded when install_mail_stack applies a tree (the version, its
 * release, each file's digest), and the trees of a version rendered for one server (the one it
 * runs, the one mailplane would give it now). Versions are stored whole the first time they are
 * applied, so the previous one can always be rendered again.
 */
import { createHash } from 'node:crypto';
import { eq } from 'drizzle-orm';
import type { ProvisioningDeps, ServerRow } from '../../provisioning/context.ts';
import { mailstackInput } from '../../provisioning/mailstack-input.ts';
import type { DbOrTx } from '../db/client.ts';
import { serverStacks, type AppliedFiles } from '../db/schema/index.ts';
import { renderServerTree, type RenderedFile } from '../mailstack/render.ts';
import { loadStackVersion, saveStackVersion, templateSetOf, type StackSnapshot } from '../mailstack/stack.ts';

export const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

export function appliedFilesOf(files: readonly RenderedFile[]): AppliedFiles {
  return Object.fromEntries(files.map((f) => [f.path, { sha256: sha256(f.content), secret: f.secret ?? false }]));
}

/** The stack a run applies: the version its params name (a rollout, a rollback), else the current one. */
export async function stackForRun(deps: ProvisioningDeps, params: Record<string, unknown>): Promise<StackSnapshot> {
  const wanted = typeof params['stackVersion'] === 'string' ? params['stackVersion'] : null;
  if (!wanted) return deps.stack.current();
  const current = deps.stack.current();
  if (current.version === wanted) return current;
  const stored = await loadStackVersion(deps.database.db, wanted);
  if (!stored) throw new Error(`stack version ${wanted} is not stored: it cannot be rendered again`);
  return stored;
}

export async function renderStack(deps: ProvisioningDeps, server: ServerRow, stack: StackSnapshot): Promise<RenderedFile[]> {
  return renderServerTree(await mailstackInput(deps, server), templateSetOf(stack));
}

/** Records that `files` of `stack` are now on the server (called once the installer succeeded). */
export async function recordApplied(db: DbOrTx, serverId: string, stack: StackSnapshot, files: readonly RenderedFile[], at: Date): Promise<void> {
  await saveStackVersion(db, stack);
  const [before] = await db
    .select({ version: serverStacks.version, previousVersion: serverStacks.previousVersion })
    .from(serverStacks)
    .where(eq(serverStacks.serverId, serverId));
  const previousVersion = before?.version && before.version !== stack.version ? before.version : (before?.previousVersion ?? null);
  const values = { version: stack.version, release: stack.release, appliedAt: at, files: appliedFilesOf(files), previousVersion };
  await db
    .insert(serverStacks)
    .values({ serverId, ...values })
    .onConflictDoUpdate({ target: serverStacks.serverId, set: values });
}

export async function recordAppliedPackages(db: DbOrTx, serverId: string, packages: Record<string, string | null>): Promise<void> {
  await db.update(serverStacks).set({ packages }).where(eq(serverStacks.serverId, serverId));
}
