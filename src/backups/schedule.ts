/**
 * When each server's backup work happens. Every server has a minute of the day
 * derived from its id (a hash, as the blacklist monitor's slots): its daily
 * backup runs then, retention and `restic check` three hours later, and its
 * weekly drill on its own day of the week four hours later. No schedule is
 * stored: a per-minute sweep enqueues what is due, spread evenly over the fleet,
 * and a singleton key per server and day makes a doubled sweep harmless. A minute
 * missed while no worker ran is not made up (the health check says when the last
 * backup is too old).
 */
import { createHash } from 'node:crypto';
import { and, inArray, isNotNull, isNull, lte } from 'drizzle-orm';
import { backupRepositories, servers } from '../db/schema/index.ts';
import type { BackupDeps } from './deps.ts';

const DAY_MINUTES = 1440;
export const MAINTENANCE_OFFSET_MINUTES = 180;
export const DRILL_OFFSET_MINUTES = 240;
/** Servers that hold mail worth keeping. */
export const BACKED_UP_STATUSES = ['ready', 'suspended'] as const;

function hash(serverId: string): Buffer {
  return createHash('sha256').update(`backup:${serverId}`).digest();
}

/** 0 … 1439: the minute of the day (UTC) of the server's daily backup. */
export const backupMinuteOfDay = (serverId: string) => hash(serverId).readUInt32BE(0) % DAY_MINUTES;
/** 0 … 6: the day (days since the epoch, modulo 7) of the server's weekly drill. */
export const drillDay = (serverId: string) => hash(serverId).readUInt32BE(4) % 7;

/** The next daily backup at or after `now`. */
export function nextScheduledBackup(serverId: string, now: number): Date {
  const dayStart = Math.floor(now / 86_400_000) * 86_400_000;
  const at = dayStart + backupMinuteOfDay(serverId) * 60_000;
  return new Date(at >= now ? at : at + 86_400_000);
}

export interface DueWork {
  backups: string[];
  maintenance: string[];
  drills: string[];
  expired: string[];
}

export async function sweepBackups(deps: BackupDeps): Promise<DueWork> {
  const due: DueWork = { backups: [], maintenance: [], drills: [], expired: [] };
  if (!deps.storage) return due;
  const { db } = deps.database;
  const minute = Math.floor(deps.clock.now() / 60_000);
  const day = Math.floor(minute / DAY_MINUTES);
  const minuteOfDay = minute % DAY_MINUTES;
  const live = await db
    .select({ id: servers.id })
    .from(servers)
    .where(inArray(servers.status, [...BACKED_UP_STATUSES]));
  for (const { id } of live) {
    const slot = backupMinuteOfDay(id);
    if (slot === minuteOfDay) {
      due.backups.push(id);
      await deps.queue.send('backups.run', { serverId: id, reason: 'daily' }, { singletonKey: `${id}:${day}` });
    }
    if ((slot + MAINTENANCE_OFFSET_MINUTES) % DAY_MINUTES === minuteOfDay) {
      due.maintenance.push(id);
      await deps.queue.send('backups.maintain', { serverId: id }, { singletonKey: `${id}:${day}` });
    }
    if ((slot + DRILL_OFFSET_MINUTES) % DAY_MINUTES === minuteOfDay && day % 7 === drillDay(id)) {
      due.drills.push(id);
      await deps.queue.send('backups.drill', { serverId: id }, { singletonKey: `${id}:${day}` });
    }
  }
  // Final backups of deprovisioned servers whose grace period is over.
  const expired = await db
    .select({ serverId: backupRepositories.serverId })
    .from(backupRepositories)
    .where(
      and(isNotNull(backupRepositories.deleteAfter), lte(backupRepositories.deleteAfter, new Date(deps.clock.now())), isNull(backupRepositories.deletedAt)),
    );
  for (const { serverId } of expired) {
    due.expired.push(serverId);
    await deps.queue.send('backups.expire', { serverId }, { singletonKey: serverId });
  }
  return due;
}
