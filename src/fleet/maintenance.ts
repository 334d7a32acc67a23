/**
 * Maintenance windows: when a customer accepts disruptive changes (service restarts by a
 * rollout, a reboot for a new kernel or library). A server's own window, else its workspace's,
 * else the installation's default (MAINTENANCE_DEFAULT_WINDOW, every day). Times are UTC.
 */
import { eq } from 'drizzle-orm';
import type { DbOrTx } from '../db/client.ts';
import { serverStacks, workspaceMaintenance, type MaintenanceWindow } from '../db/schema/index.ts';
import { ValidationError } from '../errors.ts';

const DAY = 1440;
export const EVERY_DAY = [0, 1, 2, 3, 4, 5, 6];

export function validateWindow(w: MaintenanceWindow): MaintenanceWindow {
  const days = [...new Set(w.days)].sort();
  if (days.length === 0 || days.some((d) => !Number.isInteger(d) || d < 0 || d > 6)) throw new ValidationError('days: one or more weekdays, 0 (Sunday) to 6');
  if (!Number.isInteger(w.startMinute) || w.startMinute < 0 || w.startMinute >= DAY)
    throw new ValidationError('startMinute: 0 to 1439 (minutes after midnight, UTC)');
  if (!Number.isInteger(w.durationMinutes) || w.durationMinutes < 30 || w.durationMinutes > DAY) throw new ValidationError('durationMinutes: 30 to 1440');
  return { days, startMinute: w.startMinute, durationMinutes: w.durationMinutes };
}

/** The window opening at or before `at` that still covers it, if any. */
export function isOpen(w: MaintenanceWindow, at: Date): boolean {
  const minute = Math.floor(at.getTime() / 60_000);
  // A window that started yesterday may still be open after midnight.
  for (const back of [0, 1]) {
    const dayStart = (Math.floor(minute / DAY) - back) * DAY;
    const weekday = new Date(dayStart * 60_000).getUTCDay();
    if (!w.days.includes(weekday)) continue;
    const opens = dayStart + w.startMinute;
    if (minute >= opens && minute < opens + w.durationMinutes) return true;
  }
  return false;
}

/** The next opening at or after `from` (now, when the window is open). */
export function nextOpening(w: MaintenanceWindow, from: Date): Date {
  if (isOpen(w, from)) return from;
  const minute = Math.floor(from.getTime() / 60_000);
  for (let d = 0; d <= 7; d++) {
    const dayStart = (Math.floor(minute / DAY) + d) * DAY;
    const opens = dayStart + w.startMinute;
    if (opens >= minute && w.days.includes(new Date(dayStart * 60_000).getUTCDay())) return new Date(opens * 60_000);
  }
  return from;
}

export interface EffectiveWindow {
  window: MaintenanceWindow;
  source: 'server' | 'workspace' | 'default';
}

export async function windowOf(
  db: DbOrTx,
  server: { id: string; workspaceId: string },
  fallback: { startMinute: number; durationMinutes: number },
): Promise<EffectiveWindow> {
  const [own] = await db.select({ w: serverStacks.maintenanceWindow }).from(serverStacks).where(eq(serverStacks.serverId, server.id));
  if (own?.w) return { window: own.w, source: 'server' };
  const [ws] = await db.select({ w: workspaceMaintenance.window }).from(workspaceMaintenance).where(eq(workspaceMaintenance.workspaceId, server.workspaceId));
  if (ws) return { window: ws.w, source: 'workspace' };
  return { window: { days: EVERY_DAY, ...fallback }, source: 'default' };
}

export const describeWindow = (w: MaintenanceWindow) => {
  const hm = (m: number) => `${String(Math.floor(m / 60) % 24).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
  const names = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const days = w.days.length === 7 ? 'every day' : w.days.map((d) => names[d]).join(', ');
  return `${days} ${hm(w.startMinute)}–${hm(w.startMinute + w.durationMinutes)} UTC`;
};
