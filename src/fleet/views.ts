/**
 * Read models of a server's stack for the API, the support page and the CLI: which version it
 * runs (and from which release), what the last drift check saw, and for support the diffs of
 * the drifted files that are not secrets. Customers see the version and their window, no diffs.
 */
import { eq } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { serverStacks, stackVersions } from '../db/schema/index.ts';
import type { ServerRow } from '../servers/views.ts';
import type { FleetDeps } from './deps.ts';
import { describeWindow, isOpen, nextOpening, windowOf } from './maintenance.ts';

export async function serverStackView(deps: FleetDeps, db: Db, server: ServerRow, opts: { withDiffs: boolean }) {
  const [st] = await db.select().from(serverStacks).where(eq(serverStacks.serverId, server.id));
  const [version] = st?.version
    ? await db.select({ release: stackVersions.release, createdAt: stackVersions.createdAt }).from(stackVersions).where(eq(stackVersions.id, st.version))
    : [];
  const current = deps.provisioning.stack.current();
  const o = st?.observed ?? null;
  const w = await windowOf(db, server, deps.settings.defaultWindow);
  const now = new Date(deps.provisioning.clock.now());
  return {
    serverId: server.id,
    version: st?.version ?? null,
    release: st?.release ?? version?.release ?? null,
    appliedAt: st?.appliedAt?.toISOString() ?? null,
    previousVersion: st?.previousVersion ?? null,
    current: { version: current.version, release: current.release, upToDate: st?.version === current.version },
    drift: o
      ? {
          checkedAt: o.checkedAt,
          nextCheckAt: st?.nextDriftCheckAt.toISOString() ?? null,
          files: o.drifted.map((d) => ({ path: d.path, secret: d.secret, missing: d.missing, ...(opts.withDiffs ? { diff: d.secret ? null : d.diff } : {}) })),
          outdated: o.outdated,
          packagesChanged: o.packagesChanged,
          servicesDown: Object.entries(o.services)
            .filter(([, s]) => s.active !== 'active')
            .map(([unit, s]) => ({ unit, ...s })),
          updates: {
            pending: o.updates.pending.length,
            security: o.updates.security,
            rebootRequired: o.rebootRequired,
            rebootPackages: o.rebootPackages,
            kernel: o.kernel,
          },
        }
      : null,
    maintenanceWindow: {
      ...w.window,
      source: w.source,
      text: describeWindow(w.window),
      open: isOpen(w.window, now),
      nextOpening: nextOpening(w.window, now).toISOString(),
    },
    lastRebootAt: st?.lastRebootAt?.toISOString() ?? null,
  };
}
export type ServerStackView = Awaited<ReturnType<typeof serverStackView>>;
