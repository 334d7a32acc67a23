/**
 * When a zone's image is (re)baked: ops ask for it (API, CLI); a worker that
 * starts checks at once (a deploy may bring a new package set) and the daily
 * `images.refresh` job checks again. A zone gets a bake when its newest image
 * holds another package digest, is a week old (security updates), or is
 * missing in a zone listed in MAIL_IMAGE_ZONES. One bake at a time per zone
 * (a partial unique index); a bake row whose job was lost is enqueued again.
 */
import { and, desc, eq, inArray } from 'drizzle-orm';
import { audit, type Actor } from '../src/audit.ts';
import type { Database } from '../src/db/client.ts';
import { mailImages, type BakeReason } from '../src/db/schema/index.ts';
import type { JobQueue } from '../src/jobs/queue.ts';
import { packageDigest } from '../src/mailstack/packages.ts';
import type { Clock } from '../src/clock.ts';

export const IMAGE_MAX_AGE_MS = 7 * 24 * 3600_000;
export const IMAGE_REFRESH_CRON = '41 3 * * *';

export interface ImageRefreshDeps {
  database: Database;
  queue: JobQueue;
  clock: Clock;
  /** Zones that must always have an image (MAIL_IMAGE_ZONES); others keep one once ops baked it. */
  imageZones: readonly string[];
}

export type BakeRow = typeof mailImages.$inferSelect;

/** Starts a bake in `zone` unless one is under way (then that one is answered). */
export async function startBake(deps: ImageRefreshDeps, zone: string, reason: BakeReason, actor?: Actor): Promise<{ bake: BakeRow; started: boolean }> {
  const db = deps.database.db;
  const [inserted] = await db.insert(mailImages).values({ zone, reason, packageDigest: packageDigest() }).onConflictDoNothing().returning();
  const bake =
    inserted ??
    (
      await db
        .select()
        .from(mailImages)
        .where(and(eq(mailImages.zone, zone), eq(mailImages.status, 'baking')))
    )[0];
  if (!bake) throw new Error(`no bake row for ${zone}`);
  // Sent after the row commits: a lost send leaves a `baking` row that the next refresh enqueues again.
  await deps.queue.send('images.bake', { bakeId: bake.id }, { singletonKey: bake.id });
  if (inserted && actor) await audit(db, actor, { action: 'images.bake', target: zone, details: { bakeId: bake.id, reason } });
  return { bake, started: Boolean(inserted) };
}

/** What is due now; returns the zones a bake was started in (with why). */
export async function refreshImages(deps: ImageRefreshDeps): Promise<{ zone: string; reason: BakeReason }[]> {
  const db = deps.database.db;
  const digest = packageDigest();
  const rows = await db
    .select()
    .from(mailImages)
    .where(inArray(mailImages.status, ['available', 'baking']))
    .orderBy(desc(mailImages.createdAt));
  for (const baking of rows.filter((r) => r.status === 'baking')) await deps.queue.send('images.bake', { bakeId: baking.id }, { singletonKey: baking.id });
  const zones = new Set([...deps.imageZones, ...rows.map((r) => r.zone)]);
  const started: { zone: string; reason: BakeReason }[] = [];
  for (const zone of [...zones].sort()) {
    if (rows.some((r) => r.zone === zone && r.status === 'baking')) continue;
    const newest = rows.find((r) => r.zone === zone && r.status === 'available');
    const reason: BakeReason | null = !newest
      ? 'missing'
      : newest.packageDigest !== digest
        ? 'package_change'
        : deps.clock.now() - (newest.finishedAt ?? newest.createdAt).getTime() > IMAGE_MAX_AGE_MS
          ? 'weekly'
          : null;
    if (!reason) continue;
    await startBake(deps, zone, reason);
    started.push({ zone, reason });
  }
  return started;
}

export async function listImages(database: Database, limit = 100): Promise<BakeRow[]> {
  return database.db.select().from(mailImages).orderBy(desc(mailImages.createdAt)).limit(limit);
}
