/**
 * The drift check of one server: what its host holds (host-state.sh: every managed file's
 * digest, the packages and their versions, the services, pending updates, reboot and kernel)
 * against what mailplane last applied and what it would render now. Stored on server_stacks;
 * the health checks (src/health/host-checks.ts) read it. A file changed on the host since the
 * apply is drift; for a file that is not a secret (decided by the manifest) support gets a diff
 * against what was applied; a secret is only named.
 */
import { eq, sql } from 'drizzle-orm';
import type { ProvisioningDeps, ServerRow } from '../../provisioning/context.ts';
import { runScript, withSession } from '../../provisioning/remote.ts';
import type { RemoteSession } from '../providers/ssh/interface.ts';
import { serverStacks, type HostObservation } from '../db/schema/index.ts';
import { MAIL_STACK_PACKAGES, MAIL_STACK_SERVICES } from '../mailstack/packages.ts';
import type { RenderedFile } from '../mailstack/render.ts';
import { loadStackVersion } from '../mailstack/stack.ts';
import { renderStack, sha256 } from './applied.ts';
import { unifiedDiff } from './line-diff.ts';

interface HostAnswer {
  files: Record<string, string | null>;
  contents: Record<string, string | null>;
  packages: Record<string, string | null>;
  services: Record<string, { enabled: string; active: string }>;
  updates: { pending: string[]; security: string[] };
  rebootRequired: boolean;
  rebootPackages: string[];
  kernel: { running: string; installed: string | null };
  bootId: string;
}

/** host-state.sh on an open session (one session serves both questions of a drift check). */
async function askHost(session: RemoteSession, request: Record<string, unknown>): Promise<HostAnswer> {
  const res = await session.exec('bash /opt/mailplane/bin/host-state.sh', { stdin: JSON.stringify(request), timeoutMs: 120_000, check: false });
  if (res.code !== 0) {
    const why =
      res.code === 127
        ? 'host-state.sh is not on the server (it has a stack older than drift checks: roll the current one out)'
        : (res.stderr || res.stdout).trim().slice(0, 300);
    throw new Error(`host-state.sh answered ${res.code}: ${why}`);
  }
  return JSON.parse(res.stdout.trim().split('\n').at(-1) ?? '{}') as HostAnswer;
}

/** Runs host-state.sh with no file question: the packages as installed right after an apply. */
export async function packagesOnHost(deps: ProvisioningDeps, server: ServerRow, log: (line: string) => void): Promise<Record<string, string | null>> {
  return withSession(deps, server, (session) => packagesVia(session, log));
}

/** The same question in a session the caller already has open (harden asks it in its own). */
export async function packagesVia(session: RemoteSession, log: (line: string) => void): Promise<Record<string, string | null>> {
  const out = await runScript(session, 'host-state.sh', log, JSON.stringify({ packages: MAIL_STACK_PACKAGES }));
  return (JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as HostAnswer).packages ?? {};
}

export async function observeHost(deps: ProvisioningDeps, server: ServerRow): Promise<HostObservation> {
  // The session first: a host that does not answer fails the check before any rendering, and one
  // session serves both questions instead of a connection each.
  return withSession(deps, server, (session) => observeWith(deps, server, session));
}

async function observeWith(deps: ProvisioningDeps, server: ServerRow, session: RemoteSession): Promise<HostObservation> {
  const { db } = deps.database;
  const [applied] = await db.select().from(serverStacks).where(eq(serverStacks.serverId, server.id));
  const appliedFiles = applied?.files ?? {};
  // What mailplane would render now, and the applied version rendered again (the "before" of a diff).
  const byPath = (files: RenderedFile[]) => new Map(files.map((f) => [f.path, f]));
  const current = byPath(await renderStack(deps, server, deps.stack.current()));
  const appliedStack = applied?.version ? await loadStackVersion(db, applied.version) : null;
  const appliedTree = appliedStack ? byPath(await renderStack(deps, server, appliedStack)) : new Map<string, RenderedFile>();
  const paths = [...new Set([...Object.keys(appliedFiles), ...current.keys()])].sort();
  // The observation is of the host as it was at this moment or later: a check that started
  // before a change (a hand edit, a reboot) must not pass for one made after it.
  const askedAt = new Date(deps.clock.now());
  const answer = await askHost(session, { files: paths, packages: MAIL_STACK_PACKAGES, services: MAIL_STACK_SERVICES });
  const drifted = Object.entries(appliedFiles)
    .sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))
    .filter(([path, f]) => answer.files[path] !== f.sha256)
    .map(([path, f]) => ({ path, secret: f.secret, missing: answer.files[path] == null }));
  // Only what is not a secret is ever read back, and only to show how it differs.
  const readable = drifted.filter((d) => !d.secret && !d.missing && appliedTree.get(d.path)?.secret !== true).map((d) => d.path);
  const contents = readable.length > 0 ? (await askHost(session, { read: readable })).contents : {};
  const observation: HostObservation = {
    checkedAt: askedAt.toISOString(),
    bootId: answer.bootId ?? null,
    drifted: drifted.map((d) => {
      const before = appliedTree.get(d.path);
      const now = contents[d.path];
      const diff =
        d.secret || d.missing || now == null || !before
          ? null
          : unifiedDiff(before.content, now, { before: `${d.path} (applied, version ${applied?.version})`, after: `${d.path} (on the host)` });
      return { ...d, diff };
    }),
    outdated: paths.filter((p) => {
      const want = current.get(p);
      return want ? appliedFiles[p]?.sha256 !== sha256(want.content) : true;
    }),
    packages: answer.packages,
    packagesChanged: MAIL_STACK_PACKAGES.filter((p) => applied?.packages && (applied.packages[p] ?? null) !== (answer.packages[p] ?? null)).map((name) => ({
      name,
      applied: applied?.packages[name] ?? null,
      now: answer.packages[name] ?? null,
    })),
    services: answer.services,
    updates: answer.updates,
    rebootRequired: answer.rebootRequired,
    rebootPackages: answer.rebootPackages,
    kernel: answer.kernel,
  };
  // Two looks can overlap (the drift job, a reboot, a rollout): the later look wins, not the later answer.
  await db
    .insert(serverStacks)
    .values({ serverId: server.id, observed: observation, observedAt: askedAt })
    .onConflictDoUpdate({
      target: serverStacks.serverId,
      set: { observed: observation, observedAt: askedAt },
      setWhere: sql`${serverStacks.observedAt} is null or ${serverStacks.observedAt} <= ${askedAt.toISOString()}::timestamptz`,
    });
  return observation;
}
